"""PSC.08 — the eIDAS level: the product asks Pro Santé Connect for the level the referential sets
(``acr_values``, ``eidas1`` by default), checks the level received in the ID token (``acr``) and refuses a
token of a lower level.

(1) The authorization request carries ``acr_values`` with the expected level (redirect chain, codes and
tokens masked). (2) The ID token received carries that level, which the product checked and shows.
(3) PSC's test platform issues the next ID token with a lower level: the product refuses it.
"""
from __future__ import annotations

import asyncio

from ..drivers.identity import query_params
from ..drivers.psc import PscSession
from ..proof import Proof, step
from ._identity_common import show_hops
from ._psc_common import (authorization_request, came_back_with_code, discovery, expected_acr, keep_session,
                          password, provider, request_summary)


@step(1, "Niveau eIDAS demandé à Pro Santé Connect dans la demande d'autorisation (acr_values)")
async def niveau_demande(proof: Proof) -> PscSession | None:
    doc = await discovery(proof)
    who = proof.data["professional"]
    start = await proof.driver.psc.start()
    shot = await proof.screenshot(start, "Page de Pro Santé Connect ouverte depuis le produit (niveau demandé affiché)")
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    chain = show_hops(proof, result.hops, "Chaîne de redirections suivie par le navigateur (codes et jetons masqués)")
    authorize = authorization_request(result.hops, doc)
    q = query_params(authorize.url) if authorize else {}
    acr = expected_acr(proof)
    supported = doc.get("acr_values_supported") or []
    proof.check("La demande d'autorisation envoyée à Pro Santé Connect porte le niveau eIDAS exigé (acr_values)",
                expected=f"acr_values={acr}" + (f" (niveaux annoncés par PSC : {', '.join(supported)})" if supported else ""),
                observed=request_summary(q) if q else "pas de demande d'autorisation vers Pro Santé Connect",
                passed=q.get("acr_values") == acr, evidence=[chain, shot])
    return result


@step(2, "Niveau reçu dans le jeton d'identité, contrôlé et affiché par le produit")
async def niveau_recu(proof: Proof, result: PscSession | None) -> None:
    if result is None:
        proof.check("Le niveau reçu est contrôlé", expected="session ouverte", observed="étape 1 non réalisée",
                    passed=False)
        return
    shot = await proof.screenshot(result, "Écran du produit au retour : niveau eIDAS reçu (acr) et moyen de connexion")
    keep_session(proof, result, "Éléments du jeton d'identité affichés par le produit")
    acr = expected_acr(proof)
    seen = result.claims.get("acr", "")
    proof.check("Le jeton d'identité reçu de Pro Santé Connect porte le niveau exigé (acr), et la session s'ouvre",
                expected=f"acr = {acr} ; session ouverte",
                observed=f"acr = {seen or 'non affiché'} ; " + ("session ouverte" if result.session_open
                                                                 else (result.reason or result.observed)),
                passed=result.session_open and seen.split()[0:1] == [acr], evidence=[shot])
    proof.check("Le produit affiche le niveau eIDAS de la connexion",
                expected=f"« Pro Santé Connect » et « {acr} » dans l'indication du moyen de connexion",
                observed=result.how or "aucune indication", passed=acr in result.how and "Pro Santé Connect" in result.how,
                evidence=[shot])


@step(3, "Un jeton d'identité d'un niveau inférieur à celui exigé est refusé")
async def niveau_inferieur(proof: Proof) -> None:
    lower = str(proof.data.get("lower_acr", "0"))
    who = proof.data["professional"]
    exchange = await asyncio.to_thread(provider(proof).issue_lower_acr, lower, str(who["username"]))
    proof.recorder.exchange(exchange["request"], exchange["response"],
                            f"Pro Santé Connect (plateforme de test) : prochain jeton d'identité au niveau « {lower} »")
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    shot = await proof.screenshot(result, f"Écran du produit quand le jeton d'identité porte acr « {lower} »")
    chain = show_hops(proof, result.hops, "Chaîne de redirections de la tentative au niveau inférieur")
    proof.check(f"Le produit refuse un jeton d'identité de niveau « {lower} », inférieur au niveau {expected_acr(proof)} exigé",
                expected="retour de Pro Santé Connect avec un code, puis connexion refusée par le produit",
                observed=(f"session ouverte : {result.observed}" if result.session_open
                          else (result.reason or result.observed)),
                passed=not result.session_open and result.refused and came_back_with_code(result),
                evidence=[shot, chain])

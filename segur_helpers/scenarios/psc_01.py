"""PSC.01 — identification by Pro Santé Connect in web mode, in addition to the product's own sign-in.

(1) The product's sign-in page offers both its own sign-in and « Se connecter avec Pro Santé Connect »;
PSC's discovery document is read. (2) A professional signs in through PSC in a real browser: the
redirect chain is kept (codes and tokens masked), the authorization request follows PSC's referential
(code flow, scopes, eIDAS level through ``acr_values``, state, nonce) and the return carries a code and
no token. (3) The national identifier received is matched to the product's account, and the product
shows who is signed in and how. (4) Logging out ends both the product's session and PSC's (end-session
endpoint). (5) An ID token issued for another application is refused. (6) A professional unknown to the
product is refused or sent to account reconciliation; the proof says which.
"""
from __future__ import annotations

import asyncio

from ..drivers.identity import mask_url
from ..drivers.psc import PscSession
from ..proof import Proof, step
from ._identity_common import show_hops
from ._psc_common import (came_back_with_code, check_code_return, check_request, discovery, expected_acr,
                          keep_session, password, provider)


@step(1, "Page de connexion du produit : sa connexion propre et « Se connecter avec Pro Santé Connect »")
async def page_de_connexion(proof: Proof) -> dict:
    doc = await discovery(proof)
    proof.recorder.observation({k: doc.get(k) for k in ("issuer", "authorization_endpoint", "token_endpoint",
                                                        "userinfo_endpoint", "end_session_endpoint",
                                                        "acr_values_supported", "scopes_supported")},
                               "Relevé des points d'accès de Pro Santé Connect")
    page = await proof.driver.psc.sign_in_page()
    shot = await proof.screenshot(page, "Page de connexion des professionnels : les deux moyens proposés")
    proof.check("La page de connexion propose la connexion propre au produit et la connexion par Pro Santé Connect",
                expected="connexion locale et bouton « Se connecter avec Pro Santé Connect »",
                observed=" ; ".join(page.means) or page.observed or "aucun moyen de connexion lu",
                passed=page.local_login and page.psc_button, evidence=[shot])
    return doc


@step(2, "Connexion par Pro Santé Connect : demande d'autorisation et chaîne de redirections")
async def connexion(proof: Proof, doc: dict) -> PscSession | None:
    who = proof.data["professional"]
    start = await proof.driver.psc.start()
    shot_psc = await proof.screenshot(start, "Page de Pro Santé Connect ouverte depuis le produit")
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    chain = show_hops(proof, result.hops, "Chaîne de redirections suivie par le navigateur (codes et jetons masqués)")
    proof.check("La page de Pro Santé Connect est présentée au professionnel pour s'authentifier",
                expected="formulaire d'authentification de Pro Santé Connect",
                observed=start.observed if start.at_provider else "aucune page de PSC", passed=start.at_provider,
                evidence=[shot_psc])
    check_request(proof, result.hops, doc or {}, chain)
    check_code_return(proof, result.hops, doc or {}, chain)
    return result


@step(3, "Identité reçue rattachée au compte du produit ; le produit montre qui est connecté et comment")
async def identite_et_session(proof: Proof, result: PscSession | None, doc: dict) -> None:
    if result is None:
        proof.check("Une session s'ouvre", expected="session ouverte", observed="étape 2 non réalisée", passed=False)
        return
    shot = await proof.screenshot(result, "Écran du produit au retour de Pro Santé Connect : identité et rapprochement")
    keep_session(proof, result, "Éléments de l'identité Pro Santé Connect affichés par le produit")
    idnat = str(proof.data["professional"]["idnat"])
    seen = result.claims.get("SubjectNameID", "")
    proof.check("Une session s'ouvre sur le compte du produit rattaché à l'identifiant national reçu (n° RPPS)",
                expected=f"session ouverte ; identifiant national {idnat} ; compte du n° RPPS {idnat[1:]}",
                observed=(f"session ouverte ; identifiant national {seen or '?'} ; compte n° {result.account or '?'} "
                          f"(n° RPPS {result.account_rpps or '?'})") if result.session_open
                else (result.reason or result.observed),
                passed=result.session_open and seen == idnat and result.account_rpps == idnat[1:], evidence=[shot])
    acr = expected_acr(proof)
    proof.check("Le produit affiche le professionnel connecté et le moyen utilisé (Pro Santé Connect, niveau eIDAS)",
                expected=f"nom du professionnel ; « Pro Santé Connect » et le niveau {acr}",
                observed=(result.who if result.how in result.who else f"{result.who} — {result.how}")
                if result.session_open else "aucune session",
                passed=result.session_open and bool(result.who) and "Pro Santé Connect" in result.how
                and acr in result.how, evidence=[shot])
    proof.check("Les situations d'exercice transmises par Pro Santé Connect sont reprises par le produit",
                expected="au moins une situation d'exercice (SubjectRefPro)",
                observed="; ".join(result.practice) or "aucune", passed=bool(result.practice), evidence=[shot])
    issuer = (doc or {}).get("issuer", "")
    signature = result.claims.get("signature", "")
    proof.check("La session repose sur un jeton d'identité signé, émis par Pro Santé Connect et vérifié",
                expected=f"signature vérifiée, émetteur {issuer}",
                observed=f"signature : {signature or 'non indiquée'} ; émetteur : {result.claims.get('iss') or 'non indiqué'}",
                passed=bool(signature) and bool(issuer) and result.claims.get("iss") == issuer, evidence=[shot])


@step(4, "Déconnexion : la session du produit et celle de Pro Santé Connect prennent fin")
async def deconnexion(proof: Proof, result: PscSession | None, doc: dict) -> None:
    if result is None or not result.session_open:
        proof.check("La déconnexion met fin aux deux sessions", expected="deux sessions terminées",
                    observed="aucune session ouverte à l'étape 3", passed=False)
        return
    out = await proof.driver.psc.logout()
    shot_out = await proof.screenshot(out, "Écran du produit après la déconnexion")
    chain = show_hops(proof, out.hops, "Chaîne de redirections de la déconnexion (jetons masqués)")
    end = (doc or {}).get("end_session_endpoint") or "\0"
    via = next((h for h in out.hops if h.url.startswith(end + "?")), None)
    proof.check("La déconnexion passe par le point de fin de session de Pro Santé Connect (id_token_hint)",
                expected=f"{mask_url(end)}?id_token_hint=[masqué]&post_logout_redirect_uri=…",
                observed=mask_url(via.url) if via else "aucune requête vers la fin de session de PSC",
                passed=via is not None and "id_token_hint=" in via.url, evidence=[chain, shot_out])
    state = await proof.driver.psc.protected_page()
    shot_state = await proof.screenshot(state, "Écran réservé aux professionnels, rouvert dans le même navigateur")
    proof.check("Après la déconnexion, la session du produit est terminée",
                expected="retour à la page de connexion",
                observed=(f"professionnel toujours connecté : {state.observed}" if state.session_open
                          else f"page de connexion : « {state.observed} »"),
                passed=not state.session_open, evidence=[shot_state])
    again = await proof.driver.psc.start(same_browser=True)
    shot_again = await proof.screenshot(again, "Nouvelle connexion par Pro Santé Connect dans le même navigateur")
    proof.check("Après la déconnexion, la session Pro Santé Connect est terminée : l'authentification est redemandée",
                expected="page d'authentification de Pro Santé Connect",
                observed=again.observed if again.at_provider else
                f"retour direct dans le produit sans authentification ({again.observed})",
                passed=again.at_provider, evidence=[shot_again])


@step(5, "Un jeton d'identité émis pour une autre application est refusé")
async def jeton_autre_audience(proof: Proof) -> None:
    audience = str(proof.data.get("wrong_audience", "autre-application"))
    who = proof.data["professional"]
    exchange = await asyncio.to_thread(provider(proof).issue_wrong_audience, audience, str(who["username"]))
    proof.recorder.exchange(exchange["request"], exchange["response"],
                            f"Pro Santé Connect (plateforme de test) : prochain jeton émis pour l'audience « {audience} »")
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    shot = await proof.screenshot(result, f"Écran du produit quand le jeton d'identité est destiné à « {audience} »")
    chain = show_hops(proof, result.hops, "Chaîne de redirections de la tentative avec le jeton d'une autre audience")
    proof.check("Le produit refuse un jeton d'identité dont l'audience est une autre application",
                expected="retour de Pro Santé Connect avec un code, puis connexion refusée par le produit",
                observed=(f"session ouverte : {result.observed}" if result.session_open
                          else (result.reason or result.observed)),
                passed=not result.session_open and result.refused and came_back_with_code(result),
                evidence=[shot, chain])


@step(6, "Professionnel inconnu du produit : refus ou renvoi vers le rapprochement des comptes")
async def professionnel_inconnu(proof: Proof) -> None:
    who = proof.data["unknown_professional"]
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "unknown_professional"))
    shot = await proof.screenshot(result, "Écran du produit pour un professionnel authentifié par PSC mais inconnu du produit")
    keep_session(proof, result, "Réponse du produit à un professionnel inconnu")
    if result.session_open:
        what = f"une session s'ouvre : {result.observed}"
    elif result.reconciliation_offered:
        what = f"renvoi vers le rapprochement des comptes : {result.observed}"
    elif result.refused:
        what = f"connexion refusée : {result.reason}"
    else:
        what = result.observed
    proof.check("Un professionnel inconnu du produit n'obtient pas de session : le produit refuse la connexion "
                "ou le renvoie vers le rapprochement des comptes",
                expected="refus ou renvoi vers le rapprochement, aucune session",
                observed=what, passed=not result.session_open and (result.refused or result.reconciliation_offered)
                and came_back_with_code(result), evidence=[shot])

"""PSC.02 — reconciliation of accounts: an existing local account is linked to a Pro Santé Connect identity,
once, by its RPPS number; a second PSC identity claiming the same account is refused; the administrator
sees the link.

(1) Initial state, as the administrator sees it: the local account holding the RPPS number exists and is
linked to no PSC identity (a link left by an earlier run is undone first, and shown). (2) The
professional's first sign-in with PSC: the product links the PSC identity to that account by its RPPS
number and opens a session on it. (3) A second sign-in of the same identity: no new link, the first one
is kept. (4) PSC's test platform issues a second identity (another subject) with the same national
identifier: the product refuses it and keeps the first link. (5) The administrator's screen shows the
link (account, RPPS, PSC identity, date) and the refusal.
"""
from __future__ import annotations

import asyncio

from ..drivers.psc import LinksView
from ..proof import Proof, step
from ._psc_common import came_back_with_code, keep_session, password, provider, show_table


def _rpps(proof: Proof) -> str:
    return str(proof.data["local_account"]["rpps"])


def _show_links(proof: Proof, view: LinksView, title: str):
    show_table(proof, title, ["Professionnel", "N° RPPS", "Identité PSC (sub)", "Identifiant national", "Rapproché le"],
               [[x.get("name", ""), x["rpps"], x["sub"], x["idnat"], x["linked_at"]] for x in view.links])
    return proof.recorder.observation({"compte_trouvé": view.account_found, "rapprochements": view.links,
                                       "refus": view.refusals}, title)


@step(1, "État initial : le compte local existe et n'est rapproché d'aucune identité Pro Santé Connect")
async def etat_initial(proof: Proof) -> None:
    rpps = _rpps(proof)
    view = await proof.driver.psc_reconciliation.links(rpps)
    if view.links:
        earlier = await proof.screenshot(view, f"Rapprochement laissé par un essai antérieur pour le n° RPPS {rpps}")
        _show_links(proof, view, "Rapprochements existants avant la preuve")
        view = await proof.driver.psc_reconciliation.undo(rpps)
        proof.recorder.observation({"défait": True, "capture": earlier.name}, "Rapprochement antérieur défait par l'administrateur")
    shot = await proof.screenshot(view, f"Écran de l'administrateur : rapprochements du compte n° RPPS {rpps}")
    _show_links(proof, view, "Rapprochements du compte au début de la preuve")
    account = proof.data["local_account"]
    proof.check("Le compte local du professionnel existe et n'est rapproché d'aucune identité Pro Santé Connect",
                expected=f"compte de {account.get('prenom', '')} {account.get('nom', '')} (n° RPPS {rpps}) ; aucun rapprochement",
                observed=("compte trouvé" if view.account_found else "aucun compte local pour ce n° RPPS")
                + f" ; {len(view.links)} rapprochement(s)", passed=view.account_found and not view.links,
                evidence=[shot])


@step(2, "Première connexion par Pro Santé Connect : rapprochement par le n° RPPS, une session s'ouvre")
async def premiere_connexion(proof: Proof) -> dict:
    who, rpps = proof.data["professional"], _rpps(proof)
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    if result.reconciliation:   # the outline on what the product says of the link, the caption quoting it
        result.highlight, result.observed = "[data-testid=reconciliation]", result.reconciliation
    shot = await proof.screenshot(result, "Écran du produit à la première connexion par Pro Santé Connect")
    keep_session(proof, result, "Identité et rapprochement affichés par le produit")
    sub = result.claims.get("sub", "")
    proof.check("À la première connexion, l'identité Pro Santé Connect est rapprochée du compte local par son n° RPPS "
                "et une session s'ouvre sur ce compte",
                expected=f"session ouverte sur le compte du n° RPPS {rpps} ; rapprochement annoncé",
                observed=(f"compte n° {result.account} (n° RPPS {result.account_rpps}) ; {result.reconciliation or 'aucun rapprochement annoncé'}"
                          if result.session_open else (result.reason or result.observed)),
                passed=result.session_open and result.account_rpps == rpps and bool(result.reconciliation),
                evidence=[shot])
    view = await proof.driver.psc_reconciliation.links(rpps)
    shot_admin = await proof.screenshot(view, "Écran de l'administrateur après la première connexion")
    _show_links(proof, view, "Rapprochements du compte après la première connexion")
    proof.check("Le compte est rapproché d'une seule identité : celle qui vient de se connecter",
                expected=f"1 rapprochement, identité {sub or '(celle de la connexion)'}",
                observed=f"{len(view.links)} rapprochement(s) : " + ", ".join(x["sub"] for x in view.links),
                passed=len(view.links) == 1 and bool(sub) and view.links[0]["sub"] == sub, evidence=[shot_admin])
    return {"sub": sub, "linked_at": view.links[0]["linked_at"] if view.links else ""}


@step(3, "Nouvelle connexion de la même identité : le rapprochement n'est fait qu'une fois")
async def seconde_connexion(proof: Proof, first: dict) -> None:
    who, rpps = proof.data["professional"], _rpps(proof)
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    shot = await proof.screenshot(result, "Écran du produit à une nouvelle connexion de la même identité")
    view = await proof.driver.psc_reconciliation.links(rpps)
    shot_admin = await proof.screenshot(view, "Écran de l'administrateur après la nouvelle connexion")
    _show_links(proof, view, "Rapprochements du compte après la nouvelle connexion")
    proof.check("La même identité se reconnecte sur le même compte sans nouveau rapprochement",
                expected=f"session ouverte ; toujours 1 rapprochement, daté du {first.get('linked_at') or '?'}",
                observed=("session ouverte" if result.session_open else (result.reason or result.observed))
                + f" ; {len(view.links)} rapprochement(s) " + ", ".join(x["linked_at"] for x in view.links),
                passed=result.session_open and len(view.links) == 1
                and view.links[0]["linked_at"] == first.get("linked_at") and view.links[0]["sub"] == first.get("sub"),
                evidence=[shot, shot_admin])


@step(4, "Une seconde identité Pro Santé Connect revendiquant le même compte est refusée")
async def seconde_identite(proof: Proof, first: dict) -> None:
    who, rpps = proof.data["professional"], _rpps(proof)
    other = str(proof.data.get("second_subject") or f"seconde-identite-{proof.uniq}")
    exchange = await asyncio.to_thread(provider(proof).issue_other_subject, other, str(who["username"]))
    proof.recorder.exchange(exchange["request"], exchange["response"],
                            f"Pro Santé Connect (plateforme de test) : prochaine identité émise sous le sujet « {other} »")
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    shot = await proof.screenshot(result, "Écran du produit quand une seconde identité revendique le compte")
    keep_session(proof, result, "Réponse du produit à la seconde identité")
    proof.check("Le produit refuse une seconde identité Pro Santé Connect pour un compte déjà rapproché",
                expected=f"connexion refusée pour l'identité {other}",
                observed=(f"session ouverte : {result.observed}" if result.session_open
                          else (result.reason or result.observed)),
                passed=not result.session_open and result.refused and came_back_with_code(result), evidence=[shot])
    view = await proof.driver.psc_reconciliation.links(rpps)
    shot_admin = await proof.screenshot(view, "Écran de l'administrateur après la tentative de la seconde identité")
    _show_links(proof, view, "Rapprochements du compte après la tentative de la seconde identité")
    proof.check("Le compte reste rapproché de la seule première identité",
                expected=f"1 rapprochement, identité {first.get('sub') or '?'}",
                observed=f"{len(view.links)} rapprochement(s) : " + ", ".join(x["sub"] for x in view.links),
                passed=len(view.links) == 1 and view.links[0]["sub"] == first.get("sub"), evidence=[shot_admin])


@step(5, "Le rapprochement et le refus sont visibles par l'administrateur")
async def vue_administrateur(proof: Proof, first: dict) -> None:
    rpps = _rpps(proof)
    other = str(proof.data.get("second_subject") or f"seconde-identite-{proof.uniq}")
    view = await proof.driver.psc_reconciliation.links(rpps)
    view.highlight = "main"
    shot = await proof.screenshot(view, "Écran de l'administrateur : rapprochements et journal Pro Santé Connect")
    _show_links(proof, view, "Rapprochements visibles par l'administrateur")
    link = view.links[0] if view.links else {}
    proof.check("L'administrateur voit le rapprochement : compte, n° RPPS, identité Pro Santé Connect et date",
                expected=f"n° RPPS {rpps}, identité {first.get('sub') or '?'}, date du rapprochement",
                observed=(f"{link.get('name')} — n° RPPS {link.get('rpps')} — {link.get('sub')} — "
                          f"identifiant national {link.get('idnat')} — le {link.get('linked_at')}") if link else "aucun",
                passed=bool(link) and link.get("rpps") == rpps and link.get("sub") == first.get("sub")
                and bool(link.get("linked_at")), evidence=[shot])
    refused = [r for r in view.refusals if r.get("sub") == other]
    proof.check("Le refus de la seconde identité est journalisé et visible par l'administrateur",
                expected=f"un refus pour l'identité {other}",
                observed="; ".join(f"{r['at']} {r['sub']} : {r['detail']}" for r in refused) or "aucun refus journalisé",
                passed=bool(refused), evidence=[shot])

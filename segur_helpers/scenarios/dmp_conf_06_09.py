"""DMP/CONF.06 (consultation) and DMP/CONF.09 (feeding) — the patient's information and non-opposition
are recorded per episode; while they are not, the target blocks every transaction with the DMP.

The proof watches both sides: the target's screens (refusals) and the DMP's own log of received
transactions (nothing arrived for the patient). A positive control then records the non-opposition
and shows the same transactions going through, so the block is not a broken DMP link.
"""
from __future__ import annotations

from .. import fr
from ..drivers.patients import PatientRef
from ..proof import Proof, step
from ..testpatients import ensure_test_patients
from ._dmp_common import keep_exchange


async def _dmp_log(proof: Proof, since: int, caption: str):
    x, rows = await proof.driver.dmp.transactions(since)
    ins = str(proof.data["patient"]["ins"])
    mine = [r for r in rows if r.get("patient") == ins]
    x.response = {"status": x.status, "body": {"transactions": mine}}
    x.body = x.response["body"]
    item = keep_exchange(proof, x, caption)
    return item, mine


@step(1, "Épisode ouvert sans non-opposition enregistrée : l'ouverture du dossier n'interroge pas le DMP")
async def episode_sans_non_opposition(proof: Proof) -> tuple[PatientRef, int] | None:
    ensure_test_patients(proof, "patient")
    pro = proof.data["professional"]
    patient = await proof.driver.patients.prepare(proof.data["patient"])
    _x, before = await proof.driver.dmp.transactions(0)
    since = max((r["seq"] for r in before), default=0)
    view = await proof.driver.patients.admit(patient, pro, "consultation", information=True, consent="")
    view = await proof.driver.patients.open_file(patient, pro)
    shot = await proof.screenshot(view, f"Dossier {fr.de(patient.label)} : consentement DMP non recueilli pour l'épisode")
    proof.check("Le consentement DMP de l'épisode est enregistrable et affiché comme non recueilli",
                expected="consentement « non recueilli » dans l'épisode", observed=view.episode or "aucun épisode affiché",
                passed="non recueilli" in view.episode.lower(), evidence=[shot])
    proof.check("À l'ouverture du dossier, l'accès au DMP est bloqué faute de non-opposition",
                expected="accès au DMP bloqué", observed=view.dmp_message or f"DMP interrogé ({view.dmp_state})",
                passed=view.dmp_state == "blocked", evidence=[shot])
    return patient, since


@step(2, "Tentative de consultation du DMP par l'utilisateur : refusée")
async def tentative_consultation(proof: Proof, ctx) -> None:
    if ctx is None:
        return
    patient, _since = ctx
    outcome = await proof.driver.patients.consult_dmp(patient, proof.data["professional"])
    shot = await proof.screenshot(outcome, "Réponse du système à la demande de consultation du DMP",
                                  names=outcome.observed)
    proof.check("La consultation du DMP est refusée tant que la non-opposition n'est pas enregistrée",
                expected="consultation refusée", observed=outcome.observed or "aucune réponse affichée",
                passed=not outcome.accepted, evidence=[shot])


@step(3, "Tentative d'alimentation du DMP avec un document du dossier : refusée")
async def tentative_alimentation(proof: Proof, ctx) -> str | None:
    if ctx is None:
        return None
    patient, _since = ctx
    pro, doc = proof.data["professional"], proof.data["document"]
    written = await proof.driver.patients.write_document(patient, pro, doc["title"], doc["text"])
    local_id = written.url.rstrip("/").rsplit("/", 1)[-1]
    outcome = await proof.driver.patients.send_to_dmp(patient, pro, local_id)
    shot = await proof.screenshot(outcome, f"Réponse du système à l'envoi au DMP du document « {doc['title']} »",
                                  names=outcome.observed)
    proof.check("L'envoi d'un document au DMP est refusé tant que la non-opposition n'est pas enregistrée",
                expected="envoi refusé", observed=outcome.observed or "aucune réponse affichée",
                passed=not outcome.accepted, evidence=[shot])
    return local_id


@step(4, "Journal du DMP : aucune transaction n'est parvenue pour ce patient")
async def journal_du_dmp(proof: Proof, ctx) -> None:
    if ctx is None:
        proof.check("Aucune transaction vers le DMP", expected="aucune", observed="étape 1 non réalisée", passed=False)
        return
    _patient, since = ctx
    item, mine = await _dmp_log(proof, since, "Transactions reçues par le DMP pour ce patient depuis le début de la preuve")
    reads = [r for r in mine if r["method"] == "GET"]
    writes = [r for r in mine if r["method"] == "POST"]
    proof.check("Aucune requête de consultation n'a atteint le DMP (DMP/CONF.06)", expected="0 requête",
                observed=f"{len(reads)} requête(s) : " + ", ".join(r["path"] for r in reads) if reads else "0 requête",
                passed=not reads, evidence=[item])
    proof.check("Aucune soumission de document n'a atteint le DMP (DMP/CONF.09)", expected="0 soumission",
                observed=f"{len(writes)} soumission(s)" if writes else "0 soumission", passed=not writes,
                evidence=[item])


@step(5, "Témoin : une fois la non-opposition enregistrée, consultation et alimentation aboutissent")
async def temoin_avec_non_opposition(proof: Proof, ctx, local_id: str | None) -> None:
    if ctx is None:
        return
    patient, _since = ctx
    pro = proof.data["professional"]
    _x, before = await proof.driver.dmp.transactions(0)
    since = max((r["seq"] for r in before), default=0)
    view = await proof.driver.patients.set_consent(patient, pro, "accord")
    view = await proof.driver.patients.open_file(patient, pro)
    view.focus("episode")
    shot = await proof.screenshot(view, "Dossier après enregistrement de la non-opposition du patient")
    proof.check("Avec la non-opposition enregistrée, le dossier affiche les informations du DMP",
                expected="DMP interrogé", observed=f"état {view.dmp_state}" + (f" : {view.dmp_message}" if view.dmp_message else ""),
                passed=view.dmp_state == "ok", evidence=[shot])
    sent = None
    if local_id:
        sent = await proof.driver.patients.send_to_dmp(patient, pro, local_id)
        shot = await proof.screenshot(sent, "Envoi au DMP du même document, non-opposition enregistrée")
    item, mine = await _dmp_log(proof, since, "Transactions reçues par le DMP après l'enregistrement de la non-opposition")
    proof.check("Les transactions avec le DMP aboutissent alors (témoin)",
                expected="au moins une consultation et une soumission reçues par le DMP",
                observed=", ".join(f"{r['method']} {r['path']} → {r['status']}" for r in mine) or "aucune transaction",
                passed=any(r["method"] == "GET" for r in mine) and any(r["method"] == "POST" and r["status"] == 201 for r in mine)
                and bool(sent and sent.accepted), evidence=[item])
    await proof.driver.patients.discharge(patient, pro)

"""DMP/ALI/PROG.01 — validated documents are sent to the DMP in the background, with the exceptions
and the waiting queue the requirement describes.

Five proof elements: (1) after validation the screen comes back at once, the send still pending, and
the document then reaches the DMP on its own; (2) sends are cancelled by the system on the patient's
opposition, an absent DMP or insufficient authorisation; (3) while the DMP is unreachable a validated
document waits in a queue, with no user action; (4) the user can cancel one pending send; (5) once
the DMP is back, the queued document leaves by itself and the cancelled one never does.
"""
from __future__ import annotations

from ..drivers.documents import DocumentRef, DocumentView
from ..proof import Proof, step
from ._dmp_common import keep_exchange
from ._documents import ensure_test_ins

INS_NIR_TEST = "1.2.250.1.213.1.4.10"
PENDING = ("scheduled", "queued")
DONE = ("sent", "cancelled", "failed")


def _oid(proof: Proof) -> str:
    return proof.data.get("ins_oid", INS_NIR_TEST)


def _wait(proof: Proof) -> float:
    return float(proof.data.get("dmp_wait_s", 30))


async def _new_validated(proof: Proof, patient: str, title: str) -> tuple[DocumentRef, DocumentView]:
    docs = proof.driver.documents
    document = dict(proof.data["document"], patient=patient, title=title)
    ref = await docs.save(await docs.open_new(document))
    return ref, await docs.validate(ref)


async def _in_dmp(proof: Proof, ref: DocumentRef, caption: str):
    """Search the DMP for the document (exchange kept whole, summarised for the reviewer)."""
    exchange, found = await proof.driver.dmp.search(ref.patient, _oid(proof), unique_id=ref.unique_id)
    return bool(found), keep_exchange(proof, exchange, caption)


@step(1, "Envoi en tâche de fond après la validation")
async def envoi_en_tache_de_fond(proof: Proof) -> None:
    ensure_test_ins(proof, proof.data["document"]["patient"],
                    *(case["patient"] for case in proof.data["cancelled_cases"]))
    docs = proof.driver.documents
    data = proof.data["document"]
    ref, view = await _new_validated(proof, data["patient"], f"{data['title']} (envoi en tâche de fond)")
    shot = await proof.screenshot(view, f"Écran rendu juste après la validation ({view.elapsed_ms or 0:.0f} ms)",
                                  names=view.dmp_text)
    proof.check("L'écran rend la main aussitôt, l'envoi se poursuivant en tâche de fond",
                expected="envoi programmé (pas encore terminé) quand l'écran s'affiche",
                observed=f"{view.dmp_text or 'aucun envoi'} — écran affiché en {view.elapsed_ms or 0:.0f} ms",
                passed=view.dmp_state in PENDING, evidence=[shot])
    view = await docs.wait_dmp_state(ref, DONE, timeout=_wait(proof))
    shot = await proof.screenshot(view, f"Document n° {ref.id} : envoi terminé, sans autre action",
                                  names=view.dmp_text)
    found, kept = await _in_dmp(proof, ref, f"Recherche du document {ref.unique_id} dans le DMP")
    proof.check("Le document part seul au DMP et y est présent", expected="« Envoyé au DMP » et présent dans le DMP",
                observed=f"{view.dmp_text} ; {'présent' if found else 'absent'} dans le DMP",
                passed=view.dmp_state == "sent" and found, evidence=[shot, kept])


@step(2, "Annulation automatique : opposition du patient, absence de DMP, autorisation insuffisante")
async def annulations_automatiques(proof: Proof) -> None:
    docs = proof.driver.documents
    # every case validated first, then each awaited: the system decides them in parallel
    validated = []
    for case in proof.data["cancelled_cases"]:
        ref, _ = await _new_validated(proof, case["patient"], f"{proof.data['document']['title']} ({case['label']})")
        validated.append((case, ref))
    for case, ref in validated:
        view = await docs.wait_dmp_state(ref, DONE, timeout=_wait(proof))
        shot = await proof.screenshot(view, f"{case['label']} : document n° {ref.id} validé",
                                      names=view.dmp_text)
        found, kept = await _in_dmp(proof, ref, f"{case['label']} : recherche du document dans le DMP")
        reason = str(case["reason_contains"])
        proof.check(f"Envoi annulé par le système — {case['label']}",
                    expected=f"« Envoi annulé », motif mentionnant « {reason} », document absent du DMP",
                    observed=f"{view.dmp_text or 'aucun état'} ; {'présent' if found else 'absent'} dans le DMP",
                    passed=(view.dmp_state == "cancelled" and reason.lower() in view.dmp_text.lower() and not found),
                    evidence=[shot, kept])


@step(3, "DMP injoignable : le document validé est mis en attente")
async def mise_en_attente(proof: Proof) -> tuple[DocumentRef, DocumentView, DocumentRef] | None:
    cut = await proof.driver.dmp_link.cut()
    keep_exchange(proof, cut, "Coupure du DMP (service du DMP arrêté)")
    try:
        title = proof.data["document"]["title"]
        queued, _ = await _new_validated(proof, proof.data["document"]["patient"], f"{title} (DMP coupé)")
        other, _ = await _new_validated(proof, proof.data["document"]["patient"], f"{title} (envoi à annuler)")
        view = await proof.driver.documents.wait_dmp_state(queued, ("queued",) + DONE, timeout=_wait(proof))
        shot = await proof.screenshot(view, f"DMP coupé : document n° {queued.id} validé", names=view.dmp_text)
        proof.check("DMP injoignable : le document est mis en attente, sans action de l'utilisateur",
                    expected="envoi « en attente », nouvelle tentative automatique",
                    observed=view.dmp_text or "aucun état", passed=view.dmp_state == "queued", evidence=[shot])
        return queued, view, other
    except BaseException:
        await proof.driver.dmp_link.restore()
        raise


@step(4, "Annulation de l'envoi d'un document par l'utilisateur")
async def annulation_par_l_utilisateur(proof: Proof, pending) -> None:
    if pending is None:
        proof.check("Annulation d'un envoi par l'utilisateur", expected="un envoi en attente",
                    observed="aucun document en attente à l'étape 3", passed=False)
        return
    _, _, other = pending
    try:
        docs = proof.driver.documents
        before = await docs.show(other, focus="dmp")
        view = await docs.cancel_dmp_send(other)
        shot = await proof.screenshot(view, f"Document n° {other.id} : l'utilisateur annule son envoi au DMP",
                                      names=view.dmp_text)
        proof.check("L'utilisateur annule l'envoi d'un document au cas par cas",
                    expected="envoi « annulé » à la demande de l'utilisateur",
                    observed=f"avant : {before.dmp_text} ; après : {view.dmp_text}",
                    passed=before.dmp_state in PENDING and view.dmp_state == "cancelled", evidence=[shot])
    except BaseException:
        await proof.driver.dmp_link.restore()
        raise


@step(5, "Retour du DMP : le document en attente part de lui-même")
async def retour_du_dmp(proof: Proof, pending) -> None:
    back = await proof.driver.dmp_link.restore()
    keep_exchange(proof, back, "Remise en service du DMP")
    if pending is None:
        proof.check("Envoi automatique au retour du DMP", expected="un document en attente",
                    observed="aucun document en attente à l'étape 3", passed=False)
        return
    queued, _, other = pending
    docs = proof.driver.documents
    view = await docs.wait_dmp_state(queued, DONE, timeout=_wait(proof))
    shot = await proof.screenshot(view, f"DMP revenu : document n° {queued.id}, sans action de l'utilisateur",
                                  names=view.dmp_text)
    found, kept = await _in_dmp(proof, queued, f"Recherche du document {queued.unique_id} dans le DMP")
    proof.check("Au retour du DMP, le document en attente est envoyé sans action de l'utilisateur",
                expected="« Envoyé au DMP » et présent dans le DMP",
                observed=f"{view.dmp_text} ; {'présent' if found else 'absent'} dans le DMP",
                passed=view.dmp_state == "sent" and found, evidence=[shot, kept])
    view = await docs.show(other, focus="dmp")
    found, kept = await _in_dmp(proof, other, f"Recherche du document annulé {other.unique_id} dans le DMP")
    proof.check("Le document dont l'envoi a été annulé n'est pas envoyé au retour du DMP",
                expected="toujours « annulé », absent du DMP",
                observed=f"{view.dmp_text} ; {'présent' if found else 'absent'} dans le DMP",
                passed=view.dmp_state == "cancelled" and not found, evidence=[kept])

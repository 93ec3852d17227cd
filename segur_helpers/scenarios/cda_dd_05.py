"""CDA/DD.05 (DMP/UX.40) — a document integrated from the DMP and later deleted there by the patient:
when the user opens it, the target checks the DMP by its uniqueId, says it was deleted and offers to
delete the local copy.
"""
from __future__ import annotations

from .. import fr
from ..drivers.patients import PatientRef
from ..proof import Proof, step
from ..testpatients import ensure_test_patients
from ._dmp_common import keep_exchange, now_iso, submit_third_party, unique_id


@step(1, "Un document versé au DMP par un tiers est intégré au dossier du patient")
async def integration(proof: Proof) -> tuple[PatientRef, str, str] | None:
    ensure_test_patients(proof, "patient")
    pro, doc = proof.data["professional"], proof.data["document"]
    patient = await proof.driver.patients.prepare(proof.data["patient"])
    await proof.driver.patients.admit(patient, pro, "consultation", information=True, consent="accord")
    uid = unique_id(proof, 1)
    await submit_third_party(proof, proof.data["patient"], doc, uid, now_iso(),
                             f"Versement au DMP par un tiers : {doc['title']} (identifiant unique {uid})")
    view = await proof.driver.patients.integrate(patient, pro, uid)
    shot = await proof.screenshot(view, f"Dossier {fr.de(patient.label)} après intégration du document {uid}")
    local_id = view.local_documents.get(uid, "")
    proof.check("Le document du DMP est intégré au dossier local",
                expected=f"le document {uid} dans les documents du dossier",
                observed=f"présent (n° {local_id})" if local_id else "absent", passed=bool(local_id), evidence=[shot])
    if not local_id:
        return None
    opened = await proof.driver.patients.open_document(patient, pro, local_id)
    shot = await proof.screenshot(opened, "Le document intégré, ouvert avant toute suppression")
    proof.check("Avant suppression, le document s'ouvre sans signalement de suppression",
                expected=f"origine DMP, identifiant {uid}, aucun signalement",
                observed=f"origine {opened.origin or '?'}, identifiant {opened.unique_id or '?'}"
                         + (f", signalement « {opened.deleted_notice} »" if opened.deleted_notice else ""),
                passed=opened.unique_id == uid and not opened.deleted_notice, evidence=[shot])
    return patient, uid, local_id


@step(2, "Le patient supprime ce document de son DMP (Mon espace santé)")
async def suppression_par_le_patient(proof: Proof, ctx: tuple[PatientRef, str, str] | None) -> None:
    if ctx is None:
        return
    _patient, uid, _local = ctx
    x = await proof.driver.dmp.delete_as_patient(uid)
    keep_exchange(proof, x, f"Suppression du document {uid} par le patient dans le DMP")
    x2, docs = await proof.driver.dmp.search(str(proof.data["patient"]["ins"]), str(proof.data["patient"]["ins_oid"]),
                                             unique_id=uid)
    item = keep_exchange(proof, x2, f"Recherche du document {uid} dans le DMP après suppression")
    status = docs[0].status if docs else "introuvable"
    proof.check("Le DMP indique le document comme supprimé", expected="statut entered-in-error",
                observed=f"statut {status}", passed=status == "entered-in-error", evidence=[item])


@step(3, "L'utilisateur ouvre la copie locale : le système signale la suppression dans le DMP")
async def ouverture_apres_suppression(proof: Proof, ctx: tuple[PatientRef, str, str] | None) -> None:
    if ctx is None:
        proof.check("Le système signale la suppression dans le DMP", expected="un signalement",
                    observed="aucun document intégré à l'étape 1", passed=False)
        return
    patient, uid, local_id = ctx
    pro = proof.data["professional"]
    opened = await proof.driver.patients.open_document(patient, pro, local_id)
    shot = await proof.screenshot(opened, f"Copie locale du document {uid} ouverte après sa suppression dans le DMP",
                                  names=opened.deleted_notice)
    proof.check("Le système informe l'utilisateur que le document a été supprimé du DMP",
                expected="un message de suppression dans le DMP", observed=opened.deleted_notice or "aucun message",
                passed="supprim" in opened.deleted_notice.lower() and "dmp" in opened.deleted_notice.lower(),
                evidence=[shot])
    proof.check("Le système propose de supprimer la copie locale", expected="une action « supprimer la copie locale »",
                observed="proposée" if opened.offers_local_delete else "non proposée",
                passed=opened.offers_local_delete, evidence=[shot])
    if not opened.offers_local_delete:
        return
    view = await proof.driver.patients.delete_local_copy(patient, pro, local_id)
    shot = await proof.screenshot(view, "Documents du dossier après acceptation de la suppression de la copie locale")
    proof.check("Après acceptation, la copie locale n'est plus dans le dossier", expected=f"document {uid} absent",
                observed="absent" if uid not in view.local_documents else "toujours présent",
                passed=uid not in view.local_documents, evidence=[shot])
    await proof.driver.patients.discharge(patient, pro)

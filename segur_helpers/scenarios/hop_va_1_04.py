"""HOP VA 1.04 — the physician runs the create → validate workflow of a document type that has no
review step, and the document leaves for the DMP on validation.

Two proof elements: (1) the new document's form has "send to DMP" ticked by default (feeding follows
non-opposition) and the draft can be validated at once, with no review step; (2) validation alone
sends the document: it arrives in the DMP with no other action of the user.
"""
from __future__ import annotations

import asyncio
import time

from ..drivers.documents import DocumentRef
from ..proof import Proof, step
from ._dmp_common import keep_exchange
from ._documents import ensure_test_ins

INS_NIR_TEST = "1.2.250.1.213.1.4.10"


@step(1, "Rédaction d'un document sans relecture : « Envoyer au DMP » coché par défaut")
async def rediger(proof: Proof) -> DocumentRef:
    ensure_test_ins(proof)
    docs = proof.driver.documents
    form = await docs.open_new(proof.data["document"])
    shot = await proof.screenshot(form, "Formulaire de rédaction, tel que le système le propose")
    proof.check("« Envoyer au DMP » est coché par défaut", expected="case cochée sans intervention de l'utilisateur",
                observed=form.observed, passed=form.send_to_dmp, evidence=[shot])
    ref = await docs.save(form)
    view = await docs.show(ref, focus="status")
    shot = await proof.screenshot(view, f"Brouillon n° {ref.id} enregistré : validation proposée directement")
    proof.check("Ce type de document se valide dès le brouillon, sans étape de relecture",
                expected="validation proposée au médecin dès le brouillon",
                observed=f"statut « {view.status} », validation {'proposée' if view.can_validate else 'non proposée'}",
                passed=view.can_validate, evidence=[shot])
    return ref


@step(2, "Validation par le médecin : le document arrive dans le DMP sans autre action")
async def valider_et_constater_envoi(proof: Proof, ref: DocumentRef | None) -> None:
    if ref is None:
        proof.check("Validation du document", expected="un brouillon à valider", observed="aucun document", passed=False)
        return
    docs = proof.driver.documents
    view = await docs.validate(ref)
    shot = await proof.screenshot(view, "Écran affiché juste après la validation (seule action de l'utilisateur)",
                                  names=view.dmp_text)
    proof.check("La validation déclenche l'envoi au DMP", expected="envoi programmé ou effectué dès la validation",
                observed=view.dmp_text or "aucun envoi indiqué",
                passed=view.dmp_state in ("scheduled", "queued", "sent"), evidence=[shot])
    # From here on the toolkit only observes: the DMP, then the document's screen.
    ins, oid = proof.data["document"]["patient"], proof.data.get("ins_oid", INS_NIR_TEST)
    wait = float(proof.data.get("dmp_wait_s", 30))
    deadline = time.monotonic() + wait
    while True:
        exchange, found = await proof.driver.dmp.search(ins, oid, unique_id=ref.unique_id)
        if found or time.monotonic() >= deadline:
            break
        await asyncio.sleep(0.5)
    kept = keep_exchange(proof, exchange, f"Recherche du document {ref.unique_id} dans le DMP du patient")
    proof.check("Le document est arrivé dans le DMP du patient, sans autre action de l'utilisateur",
                expected=f"document {ref.unique_id} présent dans le DMP",
                observed=(f"présent (statut {found[0].status}, type {found[0].type_display or found[0].type_code})"
                          if found else f"absent du DMP après {wait:.0f} s d'attente"),
                passed=bool(found) and found[0].status == "current", evidence=[kept])
    view = await docs.show(ref, focus="dmp")
    shot = await proof.screenshot(view, f"Fiche du document n° {ref.id} : état de l'envoi au DMP",
                                  names=view.dmp_text)
    proof.check("La fiche du document indique l'envoi au DMP", expected="« Envoyé au DMP »",
                observed=view.dmp_text or "aucun état", passed=view.dmp_state == "sent", evidence=[shot])

"""DMP/UX.15 — when the patient file opens, the documents added to the DMP by other structures since
the patient's last visit are announced without any click (with their counts by type).

Set-up: a first visit (episode opened then closed), then third parties add documents to the DMP;
two more documents must *not* be announced: one dated before the last visit, one produced by the
target's own structure. At the next visit the file is opened and read with no click.
"""
from __future__ import annotations

import asyncio
from collections import Counter

from .. import fr
from ..drivers.patients import PatientRef
from ..proof import Proof, step
from ..testpatients import ensure_test_patients
from ._dmp_common import now_iso, submit_third_party, unique_id


@step(1, "Première venue du patient de test (épisode ouvert puis clos)")
async def premiere_venue(proof: Proof) -> PatientRef:
    ensure_test_patients(proof, "patient")
    pro = proof.data["professional"]
    patient = await proof.driver.patients.prepare(proof.data["patient"])
    await proof.driver.patients.admit(patient, pro, "consultation", information=True, consent="accord")
    view = await proof.driver.patients.discharge(patient, pro)
    view.focus("last_visit")
    shot = await proof.screenshot(view, f"Dossier {fr.de(patient.label)} à la fin de la première venue",
                                  names=view.last_visit)
    last = view.last_visit
    proof.check("La première venue est close (date de dernière venue connue du système)",
                expected="aucun épisode en cours et une date de dernière venue",
                observed=f"dernière venue : {last or 'non affichée'}" + ("" if not view.episode else f" ; {view.episode}"),
                passed=not view.episode and last[:1].isdigit(), evidence=[shot])
    return patient


@step(2, "Des structures tierces versent des documents au DMP après cette venue")
async def versements_tiers(proof: Proof, patient: PatientRef | None) -> dict[str, int]:
    if patient is None:
        return {}
    await asyncio.sleep(1.2)  # documents strictly after the end of the visit (timestamps to the second)
    data, pdata = proof.data, proof.data["patient"]
    expected: Counter[str] = Counter()
    for n, doc in enumerate(data["new_documents"], 1):
        await submit_third_party(proof, pdata, doc, unique_id(proof, n), now_iso(),
                                 f"Versement au DMP par un tiers : {doc['title']} ({doc['custodian']})")
        expected[doc["type_display"]] += 1
    old = data["old_document"]
    await submit_third_party(proof, pdata, old, unique_id(proof, 90), old["date"],
                             f"Document antérieur à la dernière venue (daté du {old['date'][:10]}) : ne doit pas être signalé")
    own = data["own_document"]
    await submit_third_party(proof, pdata, own, unique_id(proof, 91), now_iso(),
                             f"Document produit par la structure elle-même ({own['custodian']}) : ne doit pas être signalé")
    return dict(expected)


@step(3, "Venue suivante : à l'ouverture du dossier, les nouveaux documents sont signalés sans clic")
async def ouverture_du_dossier(proof: Proof, patient: PatientRef | None, expected: dict[str, int] | None) -> None:
    if patient is None or not expected:
        proof.check("Les nouveaux documents du DMP sont signalés à l'ouverture du dossier", expected="un signalement",
                    observed="situation non préparée (étapes 1-2)", passed=False)
        return
    pro = proof.data["professional"]
    await proof.driver.patients.admit(patient, pro, "consultation", information=True, consent="accord")
    view = await proof.driver.patients.open_file(patient, pro)
    view.focus("new_documents")
    shot = await proof.screenshot(view, "Dossier tel qu'il s'affiche à l'ouverture, sans aucun clic",
                                  names=view.new_documents)
    proof.recorder.observation({"information_affichee": view.new_documents, "comptes_par_type": view.new_counts,
                                "attendu": expected}, "Information sur les nouveaux documents lue à l'écran")
    total = sum(expected.values())
    proof.check("Une information globale sur les nouveaux documents du DMP est visible sans clic",
                expected="une information visible dès l'ouverture du dossier",
                observed=view.new_documents or "aucune information visible sans clic",
                passed=bool(view.new_documents), evidence=[shot])
    proof.check("Le nombre de nouveaux documents annoncé ne compte que ceux des tiers depuis la dernière venue",
                expected=f"{total} document(s)", observed=f"{sum(view.new_counts.values())} document(s)",
                passed=sum(view.new_counts.values()) == total, evidence=[shot])
    shown = ", ".join(f"{k} : {v}" for k, v in sorted(view.new_counts.items())) or "aucun"
    proof.check("Les nouveaux documents sont détaillés par type de document",
                expected=", ".join(f"{k} : {v}" for k, v in sorted(expected.items())), observed=shown,
                passed=view.new_counts == expected, evidence=[shot])
    await proof.driver.patients.discharge(patient, pro)

"""DMP/CONF.16 (formerly DMP/CS.01) — connexion secrète of a minor, asked and kept per care episode.

At the admission of a minor the target asks whether the patient wants the secret connection to the
DMP; the answer is stored with the episode's consent and shown to every professional who opens the
file; it ends with the episode, so the question is asked again at the next one. Two episodes, two
professionals.
"""
from __future__ import annotations

from ..drivers.patients import PatientRef
from ..proof import Proof, step
from ..testpatients import ensure_test_patients


@step(1, "Admission d'un patient mineur : la connexion secrète est proposée puis enregistrée")
async def premiere_admission(proof: Proof) -> PatientRef:
    ensure_test_patients(proof, "patient")
    pro_a = proof.data["professional_a"]
    patient = await proof.driver.patients.prepare(proof.data["patient"])
    form = await proof.driver.patients.admission_form(patient, pro_a, "hospitalisation")
    shot = await proof.screenshot(form, f"Formulaire d'admission du patient mineur {patient.label} (épisode 1)")
    proof.check("À l'ouverture de l'épisode 1, le système propose la connexion secrète au patient mineur",
                expected="une question « connexion secrète » dans le formulaire d'admission",
                observed=form.observed or "aucune question de connexion secrète", passed=form.offers_secret_connection,
                evidence=[shot])
    view = await proof.driver.patients.admit(patient, pro_a, "hospitalisation", information=True, consent="accord",
                                             secret_connection=True)
    shot = await proof.screenshot(view, f"Dossier affiché au professionnel A ({pro_a['nom']}) après l'admission")
    proof.check("La connexion secrète choisie est affichée au professionnel qui a fait l'admission",
                expected="mention « connexion secrète » visible à l'ouverture du dossier",
                observed=view.secret_connection or "aucune mention visible", passed=bool(view.secret_connection),
                evidence=[shot])
    return patient


@step(2, "Un second professionnel ouvre le dossier pendant le même épisode")
async def second_professionnel(proof: Proof, patient: PatientRef | None) -> None:
    if patient is None:
        proof.check("La connexion secrète est visible du second professionnel", expected="mention visible",
                    observed="aucun patient admis à l'étape 1", passed=False)
        return
    pro_b = proof.data["professional_b"]
    view = await proof.driver.patients.open_file(patient, pro_b)
    shot = await proof.screenshot(view, f"Dossier ouvert par le professionnel B ({pro_b['nom']}), même épisode")
    proof.check("La connexion secrète est clairement visible d'un autre professionnel pendant tout l'épisode",
                expected="mention « connexion secrète » visible sans action",
                observed=view.secret_connection or "aucune mention visible", passed=bool(view.secret_connection),
                evidence=[shot])


@step(3, "Fin de l'épisode : l'information de connexion secrète est retirée")
async def fin_episode(proof: Proof, patient: PatientRef | None) -> None:
    if patient is None:
        proof.check("La connexion secrète est retirée à la fin de l'épisode", expected="plus de mention",
                    observed="aucun patient admis à l'étape 1", passed=False)
        return
    pro_a, pro_b = proof.data["professional_a"], proof.data["professional_b"]
    view = await proof.driver.patients.discharge(patient, pro_a)
    if not view.secret_connection:
        view.focus("episode")
    shot = await proof.screenshot(view, "Dossier juste après la sortie du patient (fin de l'épisode 1)")
    proof.check("Après la sortie, le dossier n'affiche plus la connexion secrète",
                expected="aucune mention de connexion secrète hors épisode",
                observed=view.secret_connection or "aucune mention", passed=not view.secret_connection,
                evidence=[shot])
    other = await proof.driver.patients.open_file(patient, pro_b)
    if not other.secret_connection:
        other.focus("episode")
    shot = await proof.screenshot(other, f"Dossier ouvert par le professionnel B ({pro_b['nom']}) après la sortie")
    proof.check("Après la sortie, l'autre professionnel ne voit plus la connexion secrète",
                expected="aucune mention", observed=other.secret_connection or "aucune mention",
                passed=not other.secret_connection, evidence=[shot])


@step(4, "Épisode suivant : la question de la connexion secrète est posée de nouveau")
async def episode_suivant(proof: Proof, patient: PatientRef | None) -> None:
    if patient is None:
        proof.check("La question est reposée au nouvel épisode", expected="question posée",
                    observed="aucun patient admis à l'étape 1", passed=False)
        return
    pro_a, pro_b = proof.data["professional_a"], proof.data["professional_b"]
    form = await proof.driver.patients.admission_form(patient, pro_b, "consultation")
    shot = await proof.screenshot(form, f"Formulaire d'admission de l'épisode 2, par le professionnel B ({pro_b['nom']})")
    proof.check("À l'ouverture de l'épisode 2, la connexion secrète est de nouveau proposée",
                expected="une question « connexion secrète » dans le formulaire",
                observed=form.observed or "aucune question de connexion secrète", passed=form.offers_secret_connection,
                evidence=[shot])
    view = await proof.driver.patients.admit(patient, pro_b, "consultation", information=True, consent="accord",
                                             secret_connection=False)
    seen_a = await proof.driver.patients.open_file(patient, pro_a)
    seen_a.focus("episode")
    shot = await proof.screenshot(seen_a, f"Épisode 2 (réponse « non ») vu par le professionnel A ({pro_a['nom']})")
    proof.check("La réponse de l'épisode 2 (pas de connexion secrète) remplace celle de l'épisode 1",
                expected="aucune mention de connexion secrète pendant l'épisode 2",
                observed=seen_a.secret_connection or f"aucune mention ; {seen_a.episode or view.episode}",
                passed=not seen_a.secret_connection, evidence=[shot])
    await proof.driver.patients.discharge(patient, pro_b)

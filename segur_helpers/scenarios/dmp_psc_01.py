"""DMP/PSC.01 — DMP consultation under a Pro Santé Connect session: the product uses the professional's PSC
identification to call the DMP, and the DMP receives the professional's identity with each request.

(1) A test patient is admitted with the DMP non-opposition recorded; the professional signs in to the
product with Pro Santé Connect. (2) Under that session the professional opens the patient's file and
asks for the DMP: the product consults it. (3) The DMP's own log of what it received: the product
exchanged the professional's PSC access token for a DMP token (OAuth 2.0 token exchange, as the CI-SIS
volume on securing REST APIs describes it; the DMP verified the PSC token with PSC), then sent every
request for the patient with that token, so each carries the professional's PSC identity. Tokens are
never reproduced: the log keeps only a fingerprint of the DMP token.
"""
from __future__ import annotations

from ..drivers.patients import PatientRef
from ..proof import Proof, step
from ..testpatients import ensure_test_patients
from ._dmp_common import keep_exchange
from ._psc_common import keep_session, password, show_table


@step(1, "Patient admis avec la non-opposition DMP ; le professionnel se connecte par Pro Santé Connect")
async def connexion_et_admission(proof: Proof) -> tuple[PatientRef, int] | None:
    ensure_test_patients(proof, "patient")
    patient = await proof.driver.patients.prepare(proof.data["patient"])
    await proof.driver.patients.admit(patient, proof.data["admitting_professional"], "consultation",
                                      information=True, consent="accord")
    _x, before = await proof.driver.dmp.transactions(0)
    since = max((r["seq"] for r in before), default=0)
    who = proof.data["professional"]
    await proof.driver.psc.start()
    result = await proof.driver.psc.sign_in(str(who["username"]), password(proof, "professional"))
    shot = await proof.screenshot(result, "Session ouverte dans le produit avec Pro Santé Connect")
    keep_session(proof, result, "Identité Pro Santé Connect du professionnel, affichée par le produit")
    idnat = str(who["idnat"])
    proof.check("Le professionnel est connecté au produit par Pro Santé Connect",
                expected=f"session ouverte via Pro Santé Connect ; identifiant national {idnat}",
                observed=(f"{result.how} ; identifiant national {result.claims.get('SubjectNameID', '?')}"
                          if result.session_open else (result.reason or result.observed)),
                passed=result.session_open and "Pro Santé Connect" in result.how
                and result.claims.get("SubjectNameID") == idnat, evidence=[shot])
    return (patient, since) if result.session_open else None


@step(2, "Sous la session Pro Santé Connect, le dossier du patient est ouvert et son DMP consulté")
async def consultation(proof: Proof, ctx) -> None:
    if ctx is None:
        proof.check("Le DMP est consulté sous la session Pro Santé Connect", expected="DMP consulté",
                    observed="pas de session Pro Santé Connect (étape 1)", passed=False)
        return
    patient, _since = ctx
    view = await proof.driver.psc.open_patient_file(patient)
    shot = await proof.screenshot(view, f"Dossier de {patient.label} ouvert sous la session Pro Santé Connect")
    proof.check("À l'ouverture du dossier, le produit interroge le DMP du patient",
                expected="documents du DMP affichés", observed=view.dmp_message or f"DMP interrogé ({view.dmp_state})",
                passed=view.dmp_state == "ok", evidence=[shot])
    outcome = await proof.driver.psc.consult_dmp(patient)
    shot2 = await proof.screenshot(outcome, "Consultation du DMP demandée par le professionnel")
    proof.check("La consultation du DMP demandée par le professionnel aboutit",
                expected="DMP consulté", observed=outcome.observed or "aucune réponse affichée",
                passed=outcome.accepted, evidence=[shot2])


@step(3, "Le DMP reçoit l'identité Pro Santé Connect du professionnel avec chaque requête")
async def identite_recue_par_le_dmp(proof: Proof, ctx) -> None:
    if ctx is None:
        proof.check("Le DMP reçoit l'identité du professionnel", expected="requêtes reçues",
                    observed="étape 1 non réalisée", passed=False)
        return
    _patient, since = ctx
    idnat = str(proof.data["professional"]["idnat"])
    ins = str(proof.data["patient"]["ins"])
    x, rows = await proof.driver.dmp.transactions(since)
    exchanges = [r for r in rows if r.get("path") == "/as/token" and r.get("psc_idnat") == idnat]
    mine = [r for r in rows if r.get("patient") == ins and str(r.get("path", "")).startswith("/fhir/")]
    kept = exchanges + mine
    x.response = {"status": x.status, "body": {"transactions": kept}}
    x.body = x.response["body"]
    item = keep_exchange(proof, x, "Journal du DMP : échange de jeton et requêtes reçues pour ce patient")
    show_table(proof, "Ce que le DMP a reçu (journal du DMP)",
               ["#", "Requête", "Statut", "Autorisation", "Identité PSC vérifiée (SubjectNameID)",
                "RPPS déclaré (en-tête X-PS-Identifier)", "Empreinte du jeton DMP"],
               [[r["seq"], f"{r['method']} {r['path']}", r["status"], r.get("auth") or "aucune",
                 r.get("psc_idnat") or "—", r.get("actor") or "—", r.get("token_fp") or "—"] for r in kept],
               "Les jetons ne sont jamais reproduits : le DMP n'en garde qu'une empreinte (SHA-256, 12 premiers chiffres).")
    ok_exchange = [r for r in exchanges if r.get("status") == 200]
    proof.check("Le produit échange le jeton d'accès Pro Santé Connect du professionnel contre un jeton du DMP, "
                "que le DMP a vérifié auprès de Pro Santé Connect",
                expected=f"POST /as/token accepté (200), identité {idnat}",
                observed="; ".join(f"{r['method']} {r['path']} → {r['status']} ({r.get('psc_idnat')})" for r in exchanges)
                or "aucun échange de jeton reçu par le DMP", passed=bool(ok_exchange), evidence=[item])
    carried = [r for r in mine if r.get("psc_idnat") == idnat and r.get("status") == 200]
    proof.check("Chaque requête reçue par le DMP pour ce patient porte l'identité Pro Santé Connect du professionnel",
                expected=f"au moins une requête, toutes autorisées par le jeton DMP de l'identité {idnat}",
                observed="; ".join([f"{len(carried)} requête(s) sur {len(mine)} avec cette identité"]
                                   + [f"{r['method']} {r['path']} → {r.get('auth') or 'aucune'}"
                                      for r in mine if r not in carried]),
                passed=bool(mine) and len(carried) == len(mine), evidence=[item])
    fps = {r.get("token_fp") for r in ok_exchange}
    proof.check("Les requêtes utilisent le jeton obtenu par l'échange (même empreinte)",
                expected="empreinte du jeton des requêtes = celle du jeton émis à l'échange",
                observed=", ".join(sorted({str(r.get('token_fp')) for r in mine})) or "aucune requête",
                passed=bool(mine) and bool(fps) and all(r.get("token_fp") in fps for r in mine), evidence=[item])

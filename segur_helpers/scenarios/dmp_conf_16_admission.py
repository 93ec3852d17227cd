"""DMP/CONF.16, scenario 2 — the minor's connexion secrète collected at admission, received through the
hospital's admission feed (IHE PAM: HL7 v2.5 ADT messages, MLLP for the demo).

ANS's webinar says the request may be collected upstream of the consultation, at admission, and reach the
DPI through the PAM feed. The toolkit plays the admission system: it sends the admission (A01) carrying
the request, in the field the campaign names (``pam.secret_field``; provisional until Interop'Santé
publishes the French PAM extension for it), then the discharge (A03). The proof keeps both messages and
the product's acknowledgements byte for byte (``.hl7``), shows the patient file as a professional sees it
on opening it, shows the DMP not consulted during the episode (the target's screens and the DMP's own
log), and after the discharge shows the indication gone and the question asked again for the next episode.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import fr
from ..drivers.admissions import Hl7Exchange
from ..drivers.patients import PatientRef
from ..evidence import esc
from ..hl7v2 import FeedSettings
from ..proof import Proof, step
from ..testpatients import ensure_test_patients
from ._dmp_common import keep_exchange


@dataclass
class Episode:
    patient: PatientRef
    visit: str
    since: int       # the DMP's last transaction before the admission


def _secret_field(proof: Proof) -> str:
    """The field carrying the connexion secrète, as ``SEG-N`` (for marking it in the message's card)."""
    try:
        where = FeedSettings.from_campaign(proof.campaign.section("pam")).secret_field
    except ValueError:
        return ""
    return f"{where.segment}-{where.field}"


def keep_messages(proof: Proof, x: Hl7Exchange, what: str, highlight: tuple[str, ...] = ()):
    """Keep the message sent and the acknowledgement received (raw ``.hl7``), each shown field by field."""
    sent = proof.recorder.hl7(x.message, f"{what} ({x.event}, MSH-10 {x.control_id}) envoyé à {x.address}",
                              title="Message HL7 v2 envoyé au système", highlight=("MSH-9", "PV1-19", *highlight))
    if not x.ack:
        proof.recorder.show(f'<div class="segur-card segur-error"><h4>Aucun acquittement reçu</h4>'
                            f'<p>Message {esc(x.control_id)} : {esc(x.error or "pas de réponse")}</p></div>')
        return sent, None
    ack = proof.recorder.hl7(x.ack, f"acquittement du message {x.control_id}", title="Acquittement reçu du système",
                             highlight=("MSA-1", "MSA-2", "MSA-3"))
    return sent, ack


def check_acknowledged(proof: Proof, x: Hl7Exchange, label: str, items) -> bool:
    ack = x.acknowledgement
    errors = "; ".join(f"{e.where} : {e.text}" for e in ack.errors)
    observed = (f"MSA-1 = {ack.code} (MSA-2 {ack.acknowledged_id}) : {ack.text}" + (f" — {errors}" if errors else "")
                if x.ack else f"aucun acquittement ({x.error or 'pas de réponse'})")
    return proof.check(label, expected=f"acquittement AA (message accepté) du message {x.control_id}",
                       observed=observed, passed=ack.code == "AA" and ack.acknowledged_id == x.control_id,
                       evidence=[i for i in items if i is not None])


async def _dmp_log(proof: Proof, since: int, caption: str):
    x, rows = await proof.driver.dmp.transactions(since)
    ins = str(proof.data["admission_patient"]["ins"])
    mine = [r for r in rows if r.get("patient") == ins]
    x.response = {"status": x.status, "body": {"transactions": mine}}
    x.body = x.response["body"]
    return keep_exchange(proof, x, caption), mine


@step(1, "Admission du patient mineur reçue du système d'admission (ADT^A01), avec sa demande de connexion secrète")
async def admission_recue(proof: Proof) -> Episode | None:
    ensure_test_patients(proof, "admission_patient")
    data, pro = proof.data["admission_patient"], proof.data["professional_a"]
    # the patient is known to the DPI (identity feed), with no episode open: a known starting point
    patient = await proof.driver.patients.prepare(data)
    _x, before = await proof.driver.dmp.transactions(0)
    since = max((r["seq"] for r in before), default=0)
    visit = f"V{proof.uniq.upper()}1"
    x = await proof.driver.admissions.admit(data, visit=visit, kind="hospitalisation", professional=pro,
                                            secret_connection=True)
    sent, ack = keep_messages(proof, x, "message d'admission", highlight=("PID-3", _secret_field(proof)))
    accepted = check_acknowledged(proof, x, "Le système acquitte le message d'admission portant la demande de "
                                            "connexion secrète (AA)", (ack, sent))
    return Episode(patient, visit, since) if accepted else None


@step(2, "À l'ouverture du dossier, le professionnel voit la connexion secrète de l'épisode")
async def dossier_a_l_ouverture(proof: Proof, ep: Episode | None) -> None:
    if ep is None:
        proof.check("La connexion secrète reçue à l'admission est affichée à l'ouverture du dossier",
                    expected="mention visible", observed="admission non acquittée à l'étape 1", passed=False)
        return
    pro = proof.data["professional_a"]
    view = await proof.driver.patients.open_file(ep.patient, pro)
    shot = await proof.screenshot(view, f"Dossier {fr.de(ep.patient.label)} ouvert par le professionnel A "
                                        f"({pro['nom']}), sans autre action", names=view.secret_connection)
    proof.check("La connexion secrète reçue à l'admission est affichée à l'ouverture du dossier",
                expected="mention « connexion secrète » visible sans action",
                observed=view.secret_connection or "aucune mention visible", passed=bool(view.secret_connection),
                evidence=[shot])
    view.focus("episode")
    shot = await proof.screenshot(view, f"Épisode en cours du dossier : venue {ep.visit} ouverte par le message "
                                        "d'admission", names=ep.visit)
    proof.check("L'épisode en cours est celui que le message d'admission a ouvert",
                expected=f"épisode de la venue {ep.visit}", observed=view.episode or "aucun épisode affiché",
                passed=ep.visit in view.episode, evidence=[shot])


@step(3, "Pendant l'épisode, la consultation du DMP est bloquée")
async def dmp_bloque(proof: Proof, ep: Episode | None) -> None:
    if ep is None:
        proof.check("La consultation du DMP est bloquée pendant l'épisode", expected="consultation bloquée",
                    observed="admission non acquittée à l'étape 1", passed=False)
        return
    pro = proof.data["professional_a"]
    # the non-opposition is recorded: only the connexion secrète can keep the DMP closed
    await proof.driver.patients.set_consent(ep.patient, pro, "accord")
    view = await proof.driver.patients.open_file(ep.patient, pro)
    view.focus("dmp_status")
    shot = await proof.screenshot(view, "Dossier après enregistrement de la non-opposition du patient : partie DMP",
                                  names=view.dmp_message or None)
    proof.check("À l'ouverture du dossier, le DMP n'est pas consulté pendant l'épisode en connexion secrète",
                expected="accès au DMP bloqué, motif : connexion secrète",
                observed=view.dmp_message or f"DMP interrogé (état {view.dmp_state or 'inconnu'})",
                passed=view.dmp_state == "blocked" and "secr" in view.dmp_message.lower(), evidence=[shot])
    outcome = await proof.driver.patients.consult_dmp(ep.patient, pro)
    shot = await proof.screenshot(outcome, "Réponse du système à la demande de consultation du DMP",
                                  names=outcome.observed or None)
    proof.check("La demande de consultation du DMP est refusée pendant l'épisode",
                expected="consultation refusée, motif : connexion secrète",
                observed=outcome.observed or "aucune réponse affichée",
                passed=not outcome.accepted and "secr" in outcome.observed.lower(), evidence=[shot])
    item, mine = await _dmp_log(proof, ep.since, "Transactions reçues par le DMP pour ce patient depuis l'admission")
    reads = [r for r in mine if r["method"] == "GET"]
    proof.check("Aucune requête de consultation de ce patient n'a atteint le DMP pendant l'épisode",
                expected="0 requête", passed=not reads, evidence=[item],
                observed=(f"{len(reads)} requête(s) : " + ", ".join(r["path"] for r in reads)) if reads else "0 requête")


@step(4, "Sortie du patient (ADT^A03) : l'indication disparaît, la question est posée de nouveau à l'épisode suivant")
async def sortie(proof: Proof, ep: Episode | None) -> None:
    if ep is None:
        proof.check("Après la sortie, le dossier n'affiche plus la connexion secrète", expected="plus de mention",
                    observed="admission non acquittée à l'étape 1", passed=False)
        return
    data, pro = proof.data["admission_patient"], proof.data["professional_a"]
    x = await proof.driver.admissions.discharge(data, visit=ep.visit)
    sent, ack = keep_messages(proof, x, "message de sortie")
    check_acknowledged(proof, x, "Le système acquitte le message de sortie (AA)", (ack, sent))
    view = await proof.driver.patients.open_file(ep.patient, pro)
    if not view.secret_connection:
        view.focus("episode")
    shot = await proof.screenshot(view, f"Dossier ouvert par le professionnel A ({pro['nom']}) après le message de sortie",
                                  names=view.secret_connection or None)
    proof.check("Après la sortie, le dossier n'affiche plus la connexion secrète",
                expected="aucune mention de connexion secrète hors épisode",
                observed=view.secret_connection or f"aucune mention ; {view.episode or 'aucun épisode en cours'}",
                passed=not view.secret_connection, evidence=[shot])
    form = await proof.driver.patients.admission_form(ep.patient, pro, "hospitalisation")
    shot = await proof.screenshot(form, "Formulaire d'admission de l'épisode suivant, avant toute réponse")
    proof.check("Pour l'épisode suivant, la question de la connexion secrète est posée de nouveau, sans réponse reprise",
                expected="question posée, aucune réponse pré-remplie",
                observed=(f"{form.observed} — réponse affichée : {form.secret_answer or 'aucune'}"
                          if form.offers_secret_connection else form.observed or "aucune question de connexion secrète"),
                passed=form.offers_secret_connection and not form.secret_answer, evidence=[shot])

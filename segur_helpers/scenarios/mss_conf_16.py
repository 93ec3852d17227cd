"""MSS/CONF.16 — every message the system sends through MSSanté carries the X-MSS-NIL header, valued
with the product's Ségur registration number.

Two proof elements: (1) the system sends a validated document to a correspondent through MSSanté;
(2) the raw message received (.eml) carries ``X-MSS-NIL`` with the registration number declared in
the campaign, as does every other message the product's MSSanté mailbox sent in the mailbox read.
"""
from __future__ import annotations

import email.utils

from .. import fr
from ..drivers import MailMessage
from ..drivers.documents import DocumentRef
from ..evidence import esc
from ..proof import Proof, step
from ._documents import ensure_test_ins, write_and_validate

HEADER = "X-MSS-NIL"


@step(1, "Envoi d'un document validé à un correspondant par MSSanté")
async def envoyer_par_mss(proof: Proof) -> DocumentRef | None:
    ensure_test_ins(proof)
    ref, view = await write_and_validate(proof, proof.data["document"], what="document à adresser")
    if not view.validated:
        return None
    to = proof.data["recipient"]
    sent = await proof.driver.documents.send_mss(ref, to)
    shot = await proof.screenshot(sent, f"Envoi par MSSanté à {to}", names=sent.observed)
    proof.check("Le système confirme l'envoi par MSSanté", expected=f"envoi à {to} confirmé",
                observed=sent.observed or "aucune confirmation", passed=to in (sent.observed or ""), evidence=[shot])
    return ref


def _show_headers(proof: Proof, message: MailMessage, item) -> None:
    mark = ' style="background:#ffe680"'
    rows = "".join(
        f"<tr{mark if k.lower() == HEADER.lower() else ''}><th>{esc(k)}</th>"
        f"<td>{esc(_shown(k, proof.secrets.redact(str(v))))}</td></tr>" for k, v in message.parsed.items())
    proof.recorder.show(f'<div class="segur-card"><h4>En-têtes SMTP du message brut ({esc(item.name)})</h4>'
                        f"<table>{rows}</table><div class='caption'>Date affichée en heure de Paris ; le message brut "
                        f"conserve l'en-tête tel qu'il a été reçu.</div></div>")


def _shown(header: str, value: str) -> str:
    return fr.mail_date(value) if header.lower() == "date" else value


@step(2, "En-tête X-MSS-NIL du message reçu et des autres messages MSSanté du système")
async def verifier_entete(proof: Proof, ref: DocumentRef | None) -> None:
    expected = str(proof.data["segur_nil"])
    if ref is None:
        proof.check(f"Message portant l'en-tête {HEADER}", expected=expected, observed="aucun envoi à l'étape 1",
                    passed=False)
        return
    to = proof.data["recipient"]
    timeout = proof.timeouts["mail_s"]
    message = await proof.driver.mailbox.wait_for(to, timeout=timeout)
    if message is None:
        proof.check("Message MSSanté reçu par le correspondant", expected=f"un message adressé à {to}",
                    observed=f"aucun message reçu en {timeout:.0f} s", passed=False)
        return
    kept = proof.email(message, f"Message MSSanté reçu par {to} (brut)")
    _show_headers(proof, message, kept)
    proof.check("Message MSSanté reçu par le correspondant", expected=f"un message adressé à {to}",
                observed=f"« {message.subject} », envoyé par {message.header('From')}", passed=True, evidence=[kept])
    values = message.parsed.get_all(HEADER) or []
    proof.check(f"Le message porte l'en-tête SMTP {HEADER}", expected=f"en-tête {HEADER} présent",
                observed=f"{len(values)} en-tête(s) {HEADER}" if values else f"en-tête {HEADER} absent",
                passed=len(values) == 1, evidence=[kept])
    proof.check(f"{HEADER} vaut le numéro d'identification Ségur du logiciel",
                expected=expected, observed=", ".join(str(v) for v in values) or "aucune valeur",
                passed=[str(v).strip() for v in values] == [expected], evidence=[kept])
    sender = email.utils.parseaddr(message.header("From"))[1].lower()
    same = [m for m in await proof.driver.mailbox.messages()
            if email.utils.parseaddr(m.header("From"))[1].lower() == sender]
    without = [m for m in same if [str(v).strip() for v in (m.parsed.get_all(HEADER) or [])] != [expected]]
    proof.check(f"Tous les messages envoyés par la BAL MSSanté du système portent {HEADER}",
                expected=f"{HEADER} = {expected} sur chaque message envoyé par {sender}",
                observed=(f"{len(same)} message(s) envoyé(s) par {sender}, tous conformes" if not without
                          else f"{len(without)} message(s) sur {len(same)} sans la bonne valeur"),
                passed=bool(same) and not without, evidence=[kept])

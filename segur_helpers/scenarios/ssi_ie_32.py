"""SSI/IE.32 — a professional's e-mail address changes only after re-verification; the change is notified.

Four proof elements: (1) the change is requested for an account whose first address was verified and
which has a mobile number, and the new address is not active yet (shown as awaiting verification);
(2) the new address receives a single-use code or link, as at registration; (3) the change is notified
to the old coordinate, the old address (kept as raw ``.eml``), and to the other coordinate, the
account's mobile number (an SMS, kept as the gateway stored it, read through the ``sms`` capability);
(4) once verified, the new address is the account's address, verified.
"""
from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass

from ..drivers import AccountRef, MailMessage
from ..proof import Proof, step
from ._identity_common import capability


@dataclass
class Change:
    account: AccountRef
    old_email: str
    new_email: str
    seen: set[str]       # mailbox keys present before the change was requested
    mobile: str = ""     # the account's other coordinate
    sms_seen: set[str] | None = None  # SMS keys present before the change (None: no SMS store configured)


async def wait_new_message(proof: Proof, to: str, seen: set[str], timeout: float) -> MailMessage | None:
    """The first message to ``to`` whose key is not in ``seen`` (arrived after a given moment)."""
    deadline = time.monotonic() + timeout
    while True:
        for msg in await proof.driver.mailbox.messages():
            addresses = [a.lower() for _, a in email.utils.getaddresses([msg.to, msg.header("Cc")])]
            if msg.key not in seen and to.lower() in addresses:
                return msg
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.25)


@step(1, "Demande de modification de l'adresse ; la nouvelle adresse n'est pas encore active")
async def demander_modification(proof: Proof) -> Change | None:
    changes = capability(proof, "contact_changes")
    prof = proof.data["professional"]
    # Precondition: an account whose first address was verified as at registration (SSI/IE.31's path).
    account = await proof.driver.accounts.create(prof)
    first = await proof.driver.mailbox.wait_for(account.email, timeout=proof.timeouts["mail_s"])
    if first is not None:
        await proof.driver.accounts.verify(account, proof.driver.accounts.extract_verification(first))
    before = await changes.show(account)
    shot = await proof.screenshot(before, f"Coordonnées du compte n° {account.id} avant la modification")
    proof.check("Avant la demande, le compte utilise l'adresse d'origine, vérifiée",
                expected=f"adresse active {account.email}, vérifiée", observed=before.observed,
                passed=before.active_email.lower() == account.email.lower() and before.active_verified,
                evidence=[shot])
    seen = {m.key for m in await proof.driver.mailbox.messages()}
    sms = getattr(proof.driver, "sms", None)
    sms_seen = {m.key for m in await sms.messages()} if sms is not None else None
    new_email = str(proof.data["new_email"])
    after = await changes.request_change(account, new_email)
    shot = await proof.screenshot(after, "Écran affiché juste après la demande de modification")
    proof.recorder.observation({"active_email": after.active_email, "pending_email": after.pending_email,
                                "observed": after.observed}, "Relevé de l'écran des coordonnées après la demande")
    still_old = after.active_email.lower() == account.email.lower()
    proof.check("La nouvelle adresse n'est pas active tant qu'elle n'a pas été vérifiée",
                expected=f"adresse active inchangée ({account.email}) et {new_email} en attente de vérification",
                observed=(f"adresse active : {after.active_email or '—'} ; en attente : "
                          f"{after.pending_email or 'aucune'}"),
                passed=still_old and after.pending_email.lower() == new_email.lower(), evidence=[shot])
    return Change(account=account, old_email=account.email, new_email=new_email, seen=seen,
                  mobile=str(prof.get("mobile") or ""), sms_seen=sms_seen)


@step(2, "Vérification de la nouvelle adresse, aussi fiable qu'à l'enregistrement")
async def message_a_la_nouvelle_adresse(proof: Proof, change: Change | None) -> MailMessage | None:
    if change is None:
        proof.check("Message de vérification reçu à la nouvelle adresse", expected="un message",
                    observed="aucune demande de modification (étape 1)", passed=False)
        return None
    changes = capability(proof, "contact_changes")
    timeout = proof.timeouts["mail_s"]
    message = await wait_new_message(proof, change.new_email, change.seen, timeout)
    if message is None:
        proof.check("Message de vérification reçu à la nouvelle adresse", expected=f"un message à {change.new_email}",
                    observed=f"aucun message reçu en {timeout:.0f} s", passed=False)
        return None
    verification = changes.extract_verification(message)
    kept = proof.email(message, f"Message reçu à la nouvelle adresse {change.new_email}",
                       highlight=[verification.code or "", verification.link or ""])
    proof.check("Message de vérification reçu à la nouvelle adresse", expected=f"un message à {change.new_email}",
                observed=f"« {message.subject} » reçu", passed=True, evidence=[kept])
    found = " et ".join(x for x in (f"code {verification.code}" if verification.code else "",
                                    "lien de vérification" if verification.link else "") if x)
    proof.check("Le message porte un code ou un lien de vérification à usage unique",
                expected="un code ou un lien", observed=found or "ni code ni lien trouvé",
                passed=bool(verification.secret), evidence=[kept])
    return message


NOTICE_WORDS = ("modification", "adresse")


def _mentions(text: str) -> list[str]:
    low = text.lower()
    return [w for w in NOTICE_WORDS if w in low]


@step(3, "Notification de la modification à l'ancienne adresse et à l'autre coordonnée (mobile)")
async def notifier_ancienne_et_autre_coordonnee(proof: Proof, change: Change | None) -> None:
    if change is None:
        for label in ("Notification reçue à l'ancienne adresse", "Notification reçue par SMS au n° de mobile"):
            proof.check(label, expected="une notification", observed="aucune demande de modification (étape 1)",
                        passed=False)
        return
    timeout = proof.timeouts["mail_s"]

    # the old coordinate: the address being replaced
    notice = await wait_new_message(proof, change.old_email, change.seen, timeout)
    if notice is None:
        proof.check("Notification reçue à l'ancienne adresse", expected=f"un message à {change.old_email}",
                    observed=f"aucun message reçu en {timeout:.0f} s après la demande", passed=False)
    else:
        words = _mentions(notice.subject + " " + notice.text)
        kept = proof.email(notice, f"Notification reçue à l'ancienne adresse {change.old_email}",
                           highlight=["modification"])
        proof.check("Notification reçue à l'ancienne adresse", expected=f"un message à {change.old_email}",
                    observed=f"« {notice.subject} » reçu", passed=True, evidence=[kept])
        proof.check("La notification à l'ancienne adresse annonce la modification de l'adresse de messagerie",
                    expected="un message qui parle de la modification de l'adresse",
                    observed=("mentionne " + " et ".join(f"« {w} »" for w in words)) if words else "aucune mention",
                    passed=len(words) == len(NOTICE_WORDS), evidence=[kept])

    # the other coordinate: the account's mobile number, told by SMS
    sms = capability(proof, "sms")  # the campaign's sms: section (the SMS gateway's store), else ERREUR
    received = await sms.wait_for(change.mobile, after=change.sms_seen or set(), timeout=timeout)
    if received is None:
        proof.check("Notification reçue par SMS au n° de mobile", expected=f"un SMS au {change.mobile}",
                    observed=f"aucun SMS reçu en {timeout:.0f} s après la demande", passed=False)
        return
    kept = proof.recorder.sms(received, f"Notification au n° de mobile {change.mobile}", highlight=["modification"])
    proof.check("Notification reçue par SMS au n° de mobile", expected=f"un SMS au {change.mobile}",
                observed=f"SMS reçu le {received.received_paris or '(heure non indiquée)'} de "
                         f"{received.sender or 'expéditeur non indiqué'}", passed=True, evidence=[kept])
    words = _mentions(received.text)
    proof.check("Le SMS annonce la modification de l'adresse de messagerie",
                expected="un SMS qui parle de la modification de l'adresse",
                observed=("mentionne " + " et ".join(f"« {w} »" for w in words)) if words else "aucune mention",
                passed=len(words) == len(NOTICE_WORDS), evidence=[kept])


@step(4, "Après vérification, la nouvelle adresse devient l'adresse du compte")
async def valider_nouvelle_adresse(proof: Proof, change: Change | None, message: MailMessage | None) -> None:
    if change is None or message is None:
        proof.check("La nouvelle adresse est vérifiée par le professionnel", expected="code ou lien accepté",
                    observed="aucun message de vérification reçu à la nouvelle adresse", passed=False)
        return
    changes = capability(proof, "contact_changes")
    outcome = await changes.verify(change.account, changes.extract_verification(message))
    shot = await proof.screenshot(outcome, "Page affichée au professionnel après usage du lien reçu")
    proof.check("Le système accepte le code ou lien reçu à la nouvelle adresse",
                expected="confirmation de la nouvelle adresse", observed=outcome.observed or "aucune confirmation",
                passed=outcome.accepted, evidence=[shot])
    view = await changes.show(change.account)
    shot = await proof.screenshot(view, f"Coordonnées du compte n° {change.account.id} après la vérification")
    proof.check("La nouvelle adresse est désormais l'adresse active du compte, vérifiée",
                expected=f"adresse active {change.new_email}, vérifiée, plus de modification en cours",
                observed=view.observed,
                passed=(view.active_email.lower() == change.new_email.lower() and not view.pending_email
                        and view.active_verified), evidence=[shot])

"""SSI/IE.32 — a professional's e-mail address changes only after re-verification; the old one is told.

Four proof elements: (1) the change is requested for an account whose first address was verified,
and the new address is not active yet (shown as awaiting verification); (2) the new address receives
a single-use code or link, as at registration; (3) the old address receives a notice of the change
(kept as raw ``.eml``); (4) once verified, the new address is the account's address, verified.
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
    return Change(account=account, old_email=account.email, new_email=new_email, seen=seen)


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


@step(3, "Avis de modification envoyé à l'ancienne adresse")
async def avis_a_l_ancienne_adresse(proof: Proof, change: Change | None) -> None:
    if change is None:
        proof.check("Avis de modification reçu à l'ancienne adresse", expected="un message",
                    observed="aucune demande de modification (étape 1)", passed=False)
        return
    timeout = proof.timeouts["mail_s"]
    notice = await wait_new_message(proof, change.old_email, change.seen, timeout)
    if notice is None:
        proof.check("Avis de modification reçu à l'ancienne adresse", expected=f"un message à {change.old_email}",
                    observed=f"aucun message reçu en {timeout:.0f} s après la demande", passed=False)
        return
    words = [w for w in ("modification", "adresse") if w in (notice.subject + " " + notice.text).lower()]
    kept = proof.email(notice, f"Avis reçu à l'ancienne adresse {change.old_email}", highlight=["modification"])
    proof.check("Avis de modification reçu à l'ancienne adresse", expected=f"un message à {change.old_email}",
                observed=f"« {notice.subject} » reçu", passed=True, evidence=[kept])
    proof.check("L'avis annonce la modification de l'adresse de messagerie",
                expected="un message qui parle de la modification de l'adresse",
                observed=("mentionne " + " et ".join(f"« {w} »" for w in words)) if words else "aucune mention",
                passed=len(words) == 2, evidence=[kept])


@step(4, "Après vérification, la nouvelle adresse devient l'adresse du compte")
async def valider_nouvelle_adresse(proof: Proof, change: Change | None, message: MailMessage | None) -> None:
    if change is None or message is None:
        proof.check("La nouvelle adresse est vérifiée par le professionnel", expected="code ou lien accepté",
                    observed="aucun message de vérification reçu à la nouvelle adresse", passed=False)
        return
    changes = capability(proof, "contact_changes")
    outcome = await changes.verify(change.account, changes.extract_verification(message))
    shot = await proof.screenshot(outcome, "Page affichée au professionnel après usage du lien reçu",
                                  names=outcome.observed)
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

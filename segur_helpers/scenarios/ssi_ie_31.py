"""SSI/IE.31 — the professional's e-mail address is verified when an account is declared.

Three proof elements: (1) the new account shows its address as awaiting verification; (2) the
professional's mailbox holds a verification message with a single-use code or link found in no other
message; (3) once the professional has used it, the account no longer shows the awaiting indication,
and the same link/code is refused if used again.
"""
from __future__ import annotations

from ..drivers import AccountRef, MailMessage
from ..proof import Proof, step


@step(1, "Déclaration du compte par l'administrateur ; adresse en attente de vérification")
async def declarer_compte(proof: Proof) -> AccountRef:
    account = await proof.driver.accounts.create(proof.data["professional"])
    view = await proof.driver.accounts.show(account)
    shot = await proof.screenshot(view, f"Fiche du compte n° {account.id} juste après sa création",
                                  names=view.observed)
    proof.check("Le compte créé indique que l'adresse de messagerie est en attente de vérification",
                expected="une mention « en attente de vérification » de l'adresse",
                observed=view.observed or "aucune mention de statut de l'adresse", passed=view.email_pending,
                evidence=[shot])
    return account


@step(2, "Message de vérification reçu par le professionnel, porteur d'un code ou lien unique")
async def message_de_verification(proof: Proof, account: AccountRef | None) -> MailMessage | None:
    if account is None:
        proof.check("Message de vérification reçu", expected="un message adressé au professionnel",
                    observed="aucun compte n'a été créé à l'étape 1", passed=False)
        return None
    if proof.manual_step(2):
        return await _message_fourni(proof, account)
    timeout = proof.timeouts["mail_s"]
    message = await proof.driver.mailbox.wait_for(account.email, timeout=timeout)
    if message is None:
        proof.check("Message de vérification reçu par le professionnel",
                    expected=f"un message adressé à {account.email}",
                    observed=f"aucun message reçu en {timeout:.0f} s", passed=False)
        proof.check("Le message porte un code ou un lien de vérification", expected="un code ou un lien",
                    observed="pas de message", passed=False)
        return None
    verification = proof.driver.accounts.extract_verification(message)
    kept = proof.email(message, f"Message reçu à l'adresse {account.email}",
                       highlight=[verification.code or "", verification.link or ""])
    proof.check("Message de vérification reçu par le professionnel", expected=f"un message adressé à {account.email}",
                observed=f"« {message.subject} » reçu", passed=True, evidence=[kept])
    found = " et ".join(x for x in (f"code {verification.code}" if verification.code else "",
                                    "lien d'activation" if verification.link else "") if x)
    proof.check("Le message porte un code ou un lien de vérification", expected="un code ou un lien",
                observed=found or "ni code ni lien trouvé", passed=bool(verification.secret), evidence=[kept])
    if verification.secret:
        control = proof.data.get("control_professional")
        if control:
            await _compare_with_control(proof, control, verification.secret, kept)
        others = [m for m in await proof.driver.mailbox.messages() if m.key != message.key]
        reused = [m for m in others if verification.secret in m.text]
        proof.check("Le code ou lien ne figure dans aucun autre message de la boîte",
                    expected="présent dans ce seul message",
                    observed=(f"absent des {len(others)} autres messages" if not reused
                              else f"présent aussi dans {len(reused)} autre(s) message(s)"),
                    passed=not reused, evidence=[kept])
    return message


async def _message_fourni(proof: Proof, account: AccountRef) -> MailMessage | None:
    """Manual mailbox: the operator read the message on the professional's side and supplies the .eml;
    the checks that can still apply to it do (addressee, code or link)."""
    def marks(msg: MailMessage) -> list[str]:
        ver = proof.driver.accounts.extract_verification(msg)
        return [ver.code or "", ver.link or ""]

    supplied = await proof.manual_evidence(2, "Message de vérification relevé par l'opérateur", highlight=marks)
    found = [e for e in supplied if e.message is not None]
    if not found:
        proof.check("Message de vérification fourni par l'opérateur", expected="un message au format .eml",
                    observed="fichiers fournis : " + ", ".join(e.path.name for e in supplied), passed=False,
                    evidence=[e.item for e in supplied])
        return None
    message, kept = found[0].message, found[0].item
    addressed = account.email.lower() in message.to.lower()
    proof.check("Message de vérification reçu par le professionnel (fourni par l'opérateur)",
                expected=f"un message adressé à {account.email}", observed=f"message adressé à {message.to or '—'}",
                passed=addressed, evidence=[kept])
    verification = proof.driver.accounts.extract_verification(message)
    found_text = " et ".join(x for x in (f"code {verification.code}" if verification.code else "",
                                         "lien d'activation" if verification.link else "") if x)
    proof.check("Le message porte un code ou un lien de vérification", expected="un code ou un lien",
                observed=found_text or "ni code ni lien trouvé", passed=bool(verification.secret), evidence=[kept])
    proof.recorder.observation(
        {"unicite": "non vérifiée automatiquement : la boîte du professionnel n'est pas accessible à l'outil "
                    "(étape manuelle) ; seul le message fourni est examiné"},
        "Contrôle d'unicité du code non applicable à un message fourni")
    return message


async def _compare_with_control(proof: Proof, control: dict, secret: str, kept) -> None:
    """Declare a second (control) account and show that its message carries a different code/link."""
    other = await proof.driver.accounts.create(control)
    other_msg = await proof.driver.mailbox.wait_for(other.email, timeout=proof.timeouts["mail_s"])
    if other_msg is None:
        proof.check("Le code ou lien diffère de celui d'un compte témoin", expected="un message au compte témoin",
                    observed=f"aucun message reçu par le compte témoin {other.email}", passed=False)
        return
    other_ver = proof.driver.accounts.extract_verification(other_msg)
    kept_other = proof.email(other_msg, f"Message reçu par le compte témoin {other.email}",
                             highlight=[other_ver.code or "", other_ver.link or ""])
    proof.check("Le code ou lien diffère de celui d'un compte témoin déclaré juste après",
                expected="deux codes ou liens différents",
                observed=("différents" if other_ver.secret and other_ver.secret != secret
                          else "identiques" if other_ver.secret else "aucun code dans le message témoin"),
                passed=bool(other_ver.secret) and other_ver.secret != secret, evidence=[kept, kept_other])


@step(3, "Validation par le professionnel ; le compte n'est plus en attente de vérification")
async def validation_et_compte_verifie(proof: Proof, account: AccountRef | None, message: MailMessage | None):
    if account is None or message is None:
        proof.check("Validation de l'adresse par le professionnel", expected="le code ou le lien reçu est accepté",
                    observed="validation impossible : aucun message de vérification reçu", passed=False)
        return
    verification = proof.driver.accounts.extract_verification(message)
    outcome = await proof.driver.accounts.verify(account, verification)
    shot = await proof.screenshot(outcome, "Page affichée au professionnel après usage du lien de vérification",
                                  names=outcome.observed)
    proof.check("Le système accepte le code ou lien reçu", expected="confirmation de l'adresse",
                observed=outcome.observed or "aucune confirmation affichée", passed=outcome.accepted, evidence=[shot])
    view = await proof.driver.accounts.show(account)
    shot = await proof.screenshot(view, f"Fiche du compte n° {account.id} après la validation", names=view.observed)
    proof.check("Le compte ne porte plus l'indication « en attente de vérification »",
                expected="adresse présentée comme vérifiée", observed=view.observed or "aucun statut affiché",
                passed=bool(view.observed) and not view.email_pending, evidence=[shot])
    again = await proof.driver.accounts.verify(account, verification)
    shot = await proof.screenshot(again, "Nouvel usage du même lien : il doit être refusé (usage unique)",
                                  names=again.observed)
    proof.check("Le code ou lien est à usage unique", expected="second usage refusé",
                observed=again.observed or "aucun message affiché", passed=not again.accepted, evidence=[shot])

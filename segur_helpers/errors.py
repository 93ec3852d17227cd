"""Errors the CLI turns into one clear line and exit code 2 (no traceback)."""
from __future__ import annotations


class UserError(Exception):
    """Bad input: names the file, the key and what was expected.

    ``str(err)`` is the single line shown to the user, e.g.
    ``params/demo.yaml: requirements.SSI/IE.31.data: expected a mapping, got a list``.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        parts = [p for p in (file, key) if p]
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class TargetUnreachable(Exception):
    """The system under test could not be reached; the proof is ERREUR with this cause."""


class PatientRefused(UserError):
    """A step would touch a patient whose INS is not under a test OID, and the campaign does not allow it."""


class ManualEvidenceMissing(Exception):
    """A step marked manual has no evidence file where the campaign says (batch run)."""


class InfrastructureError(Exception):
    """A piece of the referencing team's own test infrastructure cannot be used: the test mailbox, the
    directory, the SMS folder, the DMP test platform… The proof is ERREUR naming the piece (its fault is
    not the product's), never NON CONFORME.

    ``piece`` names it in French for the proof's cover (« boîte aux lettres de test »); ``str(err)`` is the
    French line shown as the cause."""

    def __init__(self, piece: str, detail: str):
        self.piece = piece
        self.detail = detail
        super().__init__(f"{piece} inutilisable : {detail}")

"""Capability ``account_review``: extract the account base (identities and permissions) for a review.

Used by SSI/IAM.87 (the hospital extracts it by itself) and SSI/IAM.94 (the hospital asks the third
party that runs the system, which sends the extract). The toolkit builds the review from the extract
with pandas (:mod:`segur_helpers.account_review`); the driver only says how to obtain the extract and
how its columns map onto the standard ones (:data:`STANDARD_COLUMNS`).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .base import Capability, MailMessage, View

if TYPE_CHECKING:  # pragma: no cover
    import pandas

# The standard columns of an extract, once mapped by the driver's ``to_frame``; a column the product's
# extract does not carry is simply absent from the frame (the proof then says so).
STANDARD_COLUMNS = {
    "identifiant": "identifiant du compte (login)", "nom": "nom", "prenom": "prénom", "email": "adresse de messagerie",
    "rpps": "n° RPPS ('' si aucun)", "profession": "profession", "actif": "compte actif (booléen)",
    "roles": "liste des rôles détenus", "privilegie": "détient un droit privilégié (booléen)",
    "derniere_connexion": "date de dernière connexion (UTC, NaT si jamais)",
}


@dataclass
class Extract:
    """An extract as obtained: raw bytes (kept as evidence), its file name and how it was obtained.
    ``composed``: the driver built the file itself (e.g. from a screen's table) instead of receiving the
    product's own file; the proof marks it « produit par le pilote »."""

    data: bytes
    filename: str
    how: str                          # "export" (by the hospital itself) or "request" (sent by the third party)
    message: MailMessage | None = None
    reference: str = ""
    composed: bool = False


@dataclass
class CountView(View):
    """A screen of the product that states how many accounts its base holds (``count``; None if not read)."""

    count: int | None = None


@dataclass
class RequestView(View):
    """The screen after an extract was requested; ``reference``: the request's reference ('' if none)."""

    reference: str = ""


class AccountReview(Capability):
    @abc.abstractmethod
    async def export(self) -> tuple[View, Extract | None]:
        """As the hospital's administrator, run the product's own export; return the screen it is run from
        (highlight the export control) and the extract (None when nothing was obtained)."""

    @abc.abstractmethod
    async def request_extract(self, requester: dict) -> RequestView:
        """File a request for an extract to the third party (requester: name, email, reason); return the
        acknowledgement screen with the request's reference."""

    @abc.abstractmethod
    async def receive_extract(self, request: RequestView, requester: dict, timeout: float) -> Extract | None:
        """Wait for the requested extract to reach the requester (e.g. a message with the file attached)."""

    @abc.abstractmethod
    async def account_count(self) -> CountView:
        """The product's own statement of how many accounts its base holds (to check the extract is whole)."""

    @abc.abstractmethod
    async def documentation(self, how: str) -> View:
        """The user documentation page describing the procedure (``how``: export or request); highlight the
        passage that describes it."""

    @abc.abstractmethod
    def to_frame(self, extract: Extract) -> "pandas.DataFrame":
        """The extract as a pandas DataFrame with the :data:`STANDARD_COLUMNS` it carries."""

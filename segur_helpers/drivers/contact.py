"""Capability ``contact_changes``: a professional's e-mail address changes only after re-verification.

Used by SSI/IE.32. It complements :class:`~segur_helpers.drivers.base.Accounts` (which declares the
account and verifies its first address): here the address of an existing account is changed, by the
administrator at the professional's request, and the product must (a) keep the old address active
until the new one is verified as reliably as at registration, (b) send a notice to the old address.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass

from .base import AccountRef, Capability, MailMessage, Verification, VerificationView, View


@dataclass
class ContactView(View):
    """The account's contact screen. ``active_email``: the address the account uses now;
    ``active_verified``: the screen says the active address is verified; ``pending_email``: a new
    address shown as awaiting verification ('' when none is shown)."""

    active_email: str = ""
    active_verified: bool = False
    pending_email: str = ""


class ContactChanges(Capability):
    """Change of a professional's e-mail address (administration side, at the professional's request)."""

    @abc.abstractmethod
    async def show(self, account: AccountRef) -> ContactView:
        """Open the screen showing the account's active address and any pending change; highlight the
        element that tells both. Evidence: the caller screenshots the view."""

    @abc.abstractmethod
    async def request_change(self, account: AccountRef, new_email: str) -> ContactView:
        """As the administrator, ask for ``new_email`` to become the account's address; return the screen
        shown right after (the product's confirmation, active address and pending change)."""

    @abc.abstractmethod
    def extract_verification(self, message: MailMessage) -> Verification:
        """The code and/or link the verification message sent to the new address carries."""

    @abc.abstractmethod
    async def verify(self, account: AccountRef, verification: Verification) -> VerificationView:
        """As the professional (own browser), use the code or link; show the outcome."""

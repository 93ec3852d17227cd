"""Capability ``directory_sync``: the product's synchronisation of identities and permissions from the
hospital's directory (SSI/IAM.83 identities, SSI/IAM.85 permissions), seen from the product's side.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

from .base import Capability, View


@dataclass
class SyncView(View):
    """The product's synchronisation screen. ``sync_id``: the last run's number (None if none shown);
    ``trigger``: how it started (e.g. périodique / manuel); ``running``: it is not over yet;
    ``succeeded``: it ended without error."""

    sync_id: int | None = None
    trigger: str = ""
    running: bool = False
    succeeded: bool = False


@dataclass
class AccessView(View):
    """An account's identity and permissions screen. ``identity``: nom, prenom, email, rpps, profession,
    login as shown; ``roles``: the product's role codes the account holds; ``found``: the account exists;
    ``roles_highlight``: selector of the element listing the roles (``highlight`` outlines the identity)."""

    found: bool = False
    roles_highlight: str | None = None
    identity: dict[str, str] = field(default_factory=dict)
    roles: list[str] = field(default_factory=list)


class DirectorySync(Capability):
    @abc.abstractmethod
    async def status(self) -> SyncView:
        """The synchronisation screen as it is (last run highlighted)."""

    @abc.abstractmethod
    async def trigger(self) -> SyncView:
        """As the administrator, start a synchronisation now; the screen once it is over."""

    @abc.abstractmethod
    async def wait_for_sync(self, after: SyncView, timeout: float) -> SyncView | None:
        """Wait for the next scheduled run after ``after`` (None if none ran within ``timeout`` s)."""

    @abc.abstractmethod
    async def account(self, login: str) -> AccessView:
        """The screen showing the account of directory user ``login``: identity and roles highlighted."""

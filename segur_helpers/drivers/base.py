"""The driver contract: how the toolkit reaches a target, one small class per capability.

Notebooks call capabilities (``proof.driver.accounts.create(...)``), never raw selectors, so a vendor
adapts the toolkit to its product by writing one driver module (see ``drivers/demo.py``) and naming
it in the campaign params (``driver: vendor_pkg.module:Driver``).

Each method says what it must leave for the evidence: a :class:`View` is what the screen shows (a
Playwright page and the selector of the element a reviewer must look at, plus the text observed
there); the recorder takes the screenshot and the checks read only what was captured.
"""
from __future__ import annotations

import abc
import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..params import Campaign, Secrets


@dataclass
class View:
    """A screen of the target as the user sees it.

    ``page``: the Playwright page showing it; ``highlight``: CSS selector of the element the proof is
    about (outlined on the screenshot); ``observed``: the text read in that element ('' if absent).
    """

    page: Any
    highlight: str | None
    observed: str
    url: str = ""


@dataclass
class AccountRef:
    """A professional's account in the target: its identifier there and its e-mail address."""

    id: str
    email: str
    label: str = ""


@dataclass
class AccountView(View):
    """An account's screen. ``email_pending``: the screen says the e-mail address awaits verification."""

    email_pending: bool = False


@dataclass
class VerificationView(View):
    """The screen shown after following a verification link / entering a code. ``accepted``: it worked."""

    accepted: bool = False


@dataclass
class Verification:
    """What a verification message carries: a code, a link, or both."""

    code: str | None = None
    link: str | None = None

    @property
    def secret(self) -> str | None:
        """The single-use element itself (the code, else the link's token or the link)."""
        if self.code:
            return self.code
        if self.link:
            m = re.search(r"[?&](?:token|code|key)=([^&#\s]+)", self.link)
            return m.group(1) if m else self.link
        return None


@dataclass
class MailMessage:
    """One received message: raw bytes (kept as ``.eml`` evidence) and its parsed form."""

    raw: bytes
    key: str = ""
    parsed: EmailMessage = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.parsed = email.message_from_bytes(self.raw, policy=email.policy.default)

    def header(self, name: str) -> str:
        return str(self.parsed.get(name, ""))

    @property
    def to(self) -> str:
        return self.header("To")

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def text(self) -> str:
        part = self.parsed.get_body(preferencelist=("plain", "html"))
        return part.get_content() if part is not None else ""


class Capability(abc.ABC):
    """Base of every capability; ``driver`` gives access to the shared context (browser, params)."""

    def __init__(self, driver: "Driver"):
        self.driver = driver


class Accounts(Capability):
    """Professionals' accounts (administration side)."""

    @abc.abstractmethod
    async def create(self, professional: dict[str, str]) -> AccountRef:
        """As an administrator, declare a new professional's account (nom, prenom, profession, rpps,
        email). Evidence: none itself; the caller shows the account with :meth:`show`."""

    @abc.abstractmethod
    async def show(self, account: AccountRef) -> AccountView:
        """Open the account's screen as an administrator; highlight its e-mail verification status."""

    @abc.abstractmethod
    def extract_verification(self, message: MailMessage) -> Verification:
        """Find the code and/or link that the product's verification message carries."""

    @abc.abstractmethod
    async def verify(self, account: AccountRef, verification: Verification) -> VerificationView:
        """As the professional (not the administrator), use the code or link; show the outcome."""


class Mailbox(Capability):
    """A professional's mailbox, as read by the toolkit (Maildir, IMAP, …)."""

    @abc.abstractmethod
    async def wait_for(self, to: str, *, subject_contains: str | None = None,
                       timeout: float = 30.0) -> MailMessage | None:
        """The first message to ``to`` (and with ``subject_contains``), waiting up to ``timeout`` s."""

    @abc.abstractmethod
    async def messages(self) -> list[MailMessage]:
        """Every message in the mailbox (for checks across messages, such as a code's uniqueness)."""


@dataclass
class DriverContext:
    """What a driver gets from the toolkit: the campaign, the resolved secrets, a running browser."""

    campaign: "Campaign"
    secrets: "Secrets"
    browser: Any
    settings: dict[str, Any]


class Driver:
    """A target's driver: holds one instance per capability it supports (``None`` = unsupported)."""

    name = "abstract"
    accounts: Accounts | None = None
    mailbox: Mailbox | None = None

    def __init__(self, ctx: DriverContext):
        self.ctx = ctx

    async def start(self) -> None:
        """Called once before the first step (log in, open contexts …)."""

    async def close(self) -> None:
        """Called once at the end, also after an error."""

    async def new_context(self):
        """A fresh browser context (its own cookies), with the toolkit's viewport and locale."""
        return await self.ctx.browser.new_context(viewport={"width": 1280, "height": 560}, locale="fr-FR",
                                                  timezone_id="Europe/Paris")

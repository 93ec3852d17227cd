"""The driver contract: how the toolkit reaches a target, one small class per capability.

Notebooks call capabilities (``proof.driver.accounts.create(...)``), never raw selectors, so a vendor
adapts the toolkit to its product by writing one driver module (the demo DPI's is ``demo_dpi/driver/``) and naming
it in the campaign params (``driver: vendor_pkg.module:Driver``).

Each method says what it must leave for the evidence: a :class:`View` is what the screen shows (a
Playwright page and the selector of the element a reviewer must look at, plus the text observed
there); the recorder takes the screenshot and the checks read only what was captured.

The convention every capability follows (``docs/drivers.md`` says it for vendors):

- one interface per capability, a subclass of :class:`Capability` in its own module
  ``segur_helpers/drivers/<capability>.py``, attached to a driver under the class name in snake case
  (``Accounts`` → ``driver.accounts``, ``ContactChanges`` → ``driver.contact_changes``; set
  ``attribute = "…"`` on the class to use another);
- typed ``async`` methods (plain ``def`` only for pure parsing, such as reading a received message),
  each marked ``@abc.abstractmethod``, whose docstring has a French paragraph ``FR:`` and an English
  paragraph ``EN:`` saying what the method does and **what evidence it must leave** (``Preuve :`` /
  ``Evidence:``): which screen a returned :class:`View` shows and which element it highlights, which
  raw message or document it returns for the recorder to keep;
- an optional ``async def smoke(self)`` without side effect (read a list, open a search page, log in)
  that ``segur driver check`` calls before any run; the default does nothing, the target's address
  being checked once for the whole driver;
- a capability that implements only some actions (the no-code YAML driver) says which are missing in
  :meth:`Capability.unsupported`, so the check reports them like missing methods.

Scenario modules call ``proof.driver.<capability>.<method>(…)`` literally: ``segur driver check``
finds the methods a requirement needs by reading those calls, so a new requirement needs no list.
"""
from __future__ import annotations

import abc
import email
import email.policy
import os
import re
import tempfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..params import Campaign, Secrets


async def download_bytes(download) -> bytes:
    """The content of a Playwright download. In a batch run the browser is remote (the run's shared
    Chromium behind Playwright's server), where ``download.path()`` is unavailable: ``save_as`` copies
    the file to this machine in both cases."""
    fd, tmp = tempfile.mkstemp(prefix="segur-download-")
    os.close(fd)
    try:
        await download.save_as(tmp)
        with open(tmp, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(tmp)


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
    """One received message: raw bytes (kept as ``.eml`` evidence) and its parsed form.

    ``composed``: the driver made this message itself (the product sent none it could read, e.g. an
    extract downloaded from a portal and wrapped as a message); the proof then marks it « produit par
    le pilote », never as a message received."""

    raw: bytes
    key: str = ""
    parsed: EmailMessage = field(init=False, repr=False)
    composed: bool = False

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
    """Base of every capability; ``driver`` gives access to the shared context (browser, params).

    ``attribute``: the driver attribute holding it (default: the interface class name in snake case,
    ``ContactChanges`` → ``contact_changes``).
    """

    attribute: str | None = None

    def __init__(self, driver: "Driver"):
        self.driver = driver

    async def smoke(self) -> None:
        """FR: appel de contrôle sans effet de bord (connexion, lecture d'une liste) lancé par
        ``segur driver check`` avant toute exécution ; lève une exception si la capacité ne répond pas.

        EN: a side-effect-free call (log in, read a list) made by ``segur driver check`` before any run;
        raises when the capability does not work. Default: nothing (the target's address is checked once).
        """

    def unsupported(self) -> set[str]:
        """Names of this capability's methods that this implementation cannot perform (default none)."""
        return set()

    def unsupported_reason(self, method: str) -> str:
        """Why ``method`` (one of :meth:`unsupported`) cannot be performed, for ``segur driver check``."""
        return "not mapped"

    @classmethod
    def interface(cls) -> type["Capability"]:
        """The documented interface this class implements (the first subclass of Capability in its MRO)."""
        for klass in reversed(cls.__mro__):
            if isinstance(klass, type) and issubclass(klass, Capability) and klass is not Capability:
                return klass
        return cls

    @classmethod
    def attribute_name(cls) -> str:
        iface = cls.interface()
        return iface.attribute or re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", iface.__name__).lower()


class Accounts(Capability):
    """Professionals' accounts (administration side)."""

    @abc.abstractmethod
    async def create(self, professional: dict[str, str]) -> AccountRef:
        """FR: en administrateur, déclarer le compte d'un nouveau professionnel (nom, prenom, profession,
        rpps, email). Preuve : aucune par elle-même ; l'appelant affiche ensuite le compte avec
        :meth:`show`. Lever une exception si le produit refuse la création (message affiché).

        EN: as an administrator, declare a new professional's account (nom, prenom, profession, rpps,
        email). Evidence: none itself; the caller then shows the account with :meth:`show`. Raise
        when the product refuses to create it (with the message it displayed)."""

    @abc.abstractmethod
    async def show(self, account: AccountRef) -> AccountView:
        """FR: ouvrir la fiche du compte en administrateur. Preuve : la vue de la fiche, l'élément qui
        porte le statut de l'adresse de messagerie surligné, son texte dans ``observed`` et
        ``email_pending`` vrai si l'écran indique une adresse en attente de vérification.

        EN: open the account's screen as an administrator. Evidence: the screen's view with the element
        carrying the e-mail address status highlighted, its text in ``observed``, and ``email_pending``
        true when the screen says the address awaits verification."""

    @abc.abstractmethod
    def extract_verification(self, message: MailMessage) -> Verification:
        """FR: trouver le code et/ou le lien que porte le message de vérification du produit (lecture
        seule du message ; le message brut est conservé en .eml par l'appelant).

        EN: find the code and/or link that the product's verification message carries (reads the
        message only; the caller keeps the raw message as .eml evidence)."""

    @abc.abstractmethod
    async def verify(self, account: AccountRef, verification: Verification) -> VerificationView:
        """FR: en tant que professionnel (contexte de navigation distinct de celui de l'administrateur),
        utiliser le code ou le lien. Preuve : la page de résultat, le message affiché surligné et
        ``accepted`` vrai si le produit confirme l'adresse.

        EN: as the professional (a browser context separate from the administrator's), use the code or
        link. Evidence: the outcome page with its message highlighted, and ``accepted`` true when the
        product confirms the address."""


class Mailbox(Capability):
    """A professional's mailbox, as read by the toolkit (Maildir, IMAP, …)."""

    @abc.abstractmethod
    async def wait_for(self, to: str, *, subject_contains: str | None = None,
                       timeout: float = 30.0) -> MailMessage | None:
        """FR: le premier message adressé à ``to`` (dont l'objet contient ``subject_contains``), en
        attendant au plus ``timeout`` s ; ``None`` s'il n'arrive pas. Preuve : le message brut (octets
        exacts reçus), que l'appelant conserve en .eml.

        EN: the first message to ``to`` (with ``subject_contains``), waiting up to ``timeout`` s;
        ``None`` when none arrives. Evidence: the raw message (exact bytes received), kept as .eml by
        the caller."""

    @abc.abstractmethod
    async def messages(self) -> list[MailMessage]:
        """FR: tous les messages de la boîte, sans en modifier l'état (lu/non lu), pour les contrôles
        entre messages (unicité d'un code). Preuve : aucune par elle-même.

        EN: every message in the mailbox, without changing their state (read/unread), for checks
        across messages (a code's uniqueness). Evidence: none itself."""

    async def smoke(self) -> None:
        """Read the mailbox once (no change to it)."""
        await self.messages()


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
    #: the browser sessions a guided proof's live capture may be taken in: role → who it is (French).
    #: ``anonymous`` (a fresh context, nobody signed in) is always offered, by the toolkit itself.
    session_roles: dict[str, str] = {}

    def __init__(self, ctx: DriverContext):
        self.ctx = ctx

    async def start(self) -> None:
        """Called once before the first step (log in, open contexts …)."""

    async def close(self) -> None:
        """Called once at the end, also after an error."""

    async def session_page(self, role: str):
        """FR: une page d'une session de navigation ouverte sous le rôle ``role`` (une clé de
        ``session_roles`` : ``administrator``, ``professional``…), connectée, réutilisée d'un appel à
        l'autre ; utilisée par les preuves guidées pour leurs captures en direct. Preuve : aucune par
        elle-même (la preuve guidée ouvre l'adresse demandée et prend la capture).

        EN: a page of a browser session opened as ``role`` (a key of ``session_roles``: ``administrator``,
        ``professional``…), signed in, reused from call to call; guided proofs take their live captures in
        it. Evidence: none itself (the guided proof opens the address asked and takes the capture)."""
        raise NotImplementedError(f"{type(self).__name__} offers no browser session {role!r}")

    async def new_context(self):
        """A fresh browser context (its own cookies), with the toolkit's viewport and locale."""
        return await self.ctx.browser.new_context(viewport={"width": 1280, "height": 560}, locale="fr-FR",
                                                  timezone_id="Europe/Paris")

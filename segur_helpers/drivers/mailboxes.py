"""Mailbox capabilities any driver can use: a Maildir folder or an IMAP account."""
from __future__ import annotations

import asyncio
import email.utils
import imaplib
import mailbox as mb
import ssl
import time
from pathlib import Path

from ..errors import InfrastructureError
from .base import Driver, MailMessage, Mailbox

PIECE = "boîte aux lettres de test"


def _matches(msg: MailMessage, to: str, subject_contains: str | None) -> bool:
    addresses = [a.lower() for _, a in email.utils.getaddresses([msg.to, msg.header("Cc")])]
    if to.lower() not in addresses:
        return False
    return subject_contains is None or subject_contains.lower() in msg.subject.lower()


class _Polling(Mailbox):
    poll_interval = 0.25

    async def wait_for(self, to, *, subject_contains=None, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            for msg in await self.messages():
                if _matches(msg, to, subject_contains):
                    return msg
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(self.poll_interval)


class MaildirMailbox(_Polling):
    """Messages delivered into a Maildir (``new/`` and ``cur/``), read without changing their flags."""

    def __init__(self, driver: Driver, path: Path):
        super().__init__(driver)
        self.path = Path(path)

    def _read(self) -> list[MailMessage]:
        """Every message; a Maildir that is not there (or cannot be read) is the test infrastructure's
        fault, said as such (ERREUR), never "no message received" (NON CONFORME)."""
        missing = [d for d in ("new", "cur") if not (self.path / d).is_dir()]
        if not self.path.is_dir() or missing:
            raise InfrastructureError(PIECE, f"dossier Maildir introuvable ou incomplet : {self.path}"
                                             + (f" (sans {', '.join(missing)}/)" if self.path.is_dir() else ""))
        try:
            box = mb.Maildir(str(self.path), create=False)
            keys = box.keys()
        except OSError as exc:
            raise InfrastructureError(PIECE, f"dossier Maildir illisible : {self.path} ({exc.strerror or exc})") from None
        out = []
        for key in keys:
            try:
                with box.get_file(key) as fh:
                    out.append(MailMessage(fh.read(), key=key))
            except FileNotFoundError:  # moved by another reader meanwhile
                continue
            except OSError as exc:
                raise InfrastructureError(PIECE, f"message illisible dans {self.path} ({exc.strerror or exc})") from None
        return out

    async def messages(self):
        return await asyncio.to_thread(self._read)


class ImapMailbox(_Polling):
    """Messages of an IMAP account (read-only ``EXAMINE`` of a folder, default INBOX)."""

    poll_interval = 1.0

    def __init__(self, driver: Driver, *, host: str, port: int | None, username: str, password: str,
                 ssl: bool = True, folder: str = "INBOX", ssl_context=None):
        super().__init__(driver)
        self.host, self.username, self.password = host, username, password
        self.ssl, self.folder, self.ssl_context = ssl, folder, ssl_context
        self.port = port or (993 if ssl else 143)

    def _read(self) -> list[MailMessage]:
        try:
            return self._fetch()
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
            raise InfrastructureError(PIECE, f"serveur IMAP {self.host}:{self.port} : {type(exc).__name__}: "
                                             f"{(str(exc).splitlines() or [''])[0][:200]}") from None

    def _fetch(self) -> list[MailMessage]:
        cls = imaplib.IMAP4_SSL if self.ssl else imaplib.IMAP4
        kwargs = {"ssl_context": self.ssl_context} if self.ssl else {}
        with cls(self.host, self.port, timeout=15, **kwargs) as imap:
            imap.login(self.username, self.password)
            typ, _ = imap.select(self.folder, readonly=True)
            if typ != "OK":
                raise imaplib.IMAP4.error(f"folder {self.folder} cannot be selected")
            typ, data = imap.uid("SEARCH", None, "ALL")
            out = []
            for uid in (data[0] or b"").split():
                typ, parts = imap.uid("FETCH", uid, "(BODY.PEEK[])")
                for part in parts:
                    if isinstance(part, tuple):
                        out.append(MailMessage(part[1], key=uid.decode()))
            return out

    async def messages(self):
        return await asyncio.to_thread(self._read)


def mailbox_from_params(driver: Driver) -> Mailbox | None:
    """The mailbox the campaign's ``mailbox:`` section describes (None when there is none)."""
    conf = driver.ctx.campaign.section("mailbox")
    if not conf:
        return None
    if conf["kind"] == "maildir":
        return MaildirMailbox(driver, driver.ctx.campaign.resolve_path(conf["path"], key="mailbox.path"))
    secrets = driver.ctx.secrets
    context = None
    if conf.get("ssl", True):
        # a hospital's internal CA (ca_file) or the system's trust store; certificates are always verified
        ca_file = conf.get("ca_file")
        context = ssl.create_default_context(
            cafile=str(driver.ctx.campaign.resolve_path(ca_file, key="mailbox.ca_file")) if ca_file else None)
    return ImapMailbox(driver, host=conf["host"], port=conf.get("port"), username=conf["username"],
                       password=secrets.resolve(conf["password"], "mailbox.password"),
                       ssl=conf.get("ssl", True), folder=conf.get("folder", "INBOX"), ssl_context=context)

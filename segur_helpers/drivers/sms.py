"""Capability ``sms``: the SMS a professional receives on a mobile number, as the toolkit reads them.

Used by SSI/IE.32 (a change of e-mail address is notified to the other coordinate, the mobile). The
generic reader here is :class:`FolderSmsInbox`: an SMS gateway (or its test stand-in, the demo's
``demo_dpi.smsgateway``) that keeps each message it accepted as one JSON file in a folder, named in the
campaign as ``sms: {kind: folder, path: PATH}`` (relative to the params file). Each file holds at least
``to``, ``text`` and ``received_at`` (ISO 8601), and ``from`` and ``id`` when known; a file that is not
such a JSON object is skipped, never an error. The file's exact bytes are the evidence, kept and hashed.
"""
from __future__ import annotations

import abc
import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..clock import PARIS
from ..errors import InfrastructureError
from .base import Capability, Driver


def phone_key(number: str) -> str:
    """A number's comparable form: digits only, a French ``0X…`` as ``33X…`` (``+33 6 39…`` = ``0639…``)."""
    digits = re.sub(r"\D", "", number or "")
    if len(digits) == 10 and digits.startswith("0"):
        digits = "33" + digits[1:]
    return digits


@dataclass
class SmsMessage:
    """One SMS as kept by the gateway: ``raw`` is the file's exact bytes (the evidence); ``key`` tells it
    apart from the others (the file name)."""

    raw: bytes
    key: str
    to: str
    text: str
    sender: str = ""
    received_at: str = ""
    message_id: str = ""

    @property
    def received_paris(self) -> str:
        """``received_at`` in Paris time with its offset (``04/12/2026 à 04:09:55 (UTC+01:00)``), else as kept."""
        try:
            when = datetime.fromisoformat(self.received_at.replace("Z", "+00:00"))
        except ValueError:
            return self.received_at
        if when.tzinfo is None:
            return self.received_at
        local = when.astimezone(PARIS)
        offset = local.strftime("%z")
        return f"{local:%d/%m/%Y à %H:%M:%S} (heure de Paris, UTC{offset[:3]}:{offset[3:]})"

    @classmethod
    def parse(cls, raw: bytes, key: str) -> "SmsMessage | None":
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("to"), str) or not isinstance(data.get("text"), str):
            return None
        return cls(raw=raw, key=key, to=data["to"], text=data["text"], sender=str(data.get("from") or ""),
                   received_at=str(data.get("received_at") or ""), message_id=str(data.get("id") or ""))


class Sms(Capability):
    """The SMS received at the professionals' mobile numbers (a gateway's store, a test phone's export…)."""

    attribute = "sms"

    @abc.abstractmethod
    async def messages(self) -> list[SmsMessage]:
        """FR: tous les SMS reçus, sans rien modifier. Preuve : aucune par elle-même ; l'appelant conserve
        le fichier brut du SMS qu'il examine.

        EN: every SMS received, changing nothing. Evidence: none itself; the caller keeps the raw file of
        the SMS it examines."""

    async def wait_for(self, to: str, *, after: set[str] = frozenset(), timeout: float = 30.0) -> SmsMessage | None:
        """FR: le premier SMS adressé au numéro ``to`` dont la clé n'est pas dans ``after`` (les SMS déjà
        là avant l'action), en attendant au plus ``timeout`` s ; ``None`` s'il n'arrive pas.

        EN: the first SMS to ``to`` whose key is not in ``after`` (those present before the action),
        waiting up to ``timeout`` s; ``None`` when none arrives."""
        deadline = time.monotonic() + timeout
        wanted = phone_key(to)
        while True:
            for msg in await self.messages():
                if msg.key not in after and phone_key(msg.to) == wanted:
                    return msg
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(0.25)

    async def smoke(self) -> None:
        """Read the SMS store once (no change to it)."""
        await self.messages()


class FolderSmsInbox(Sms):
    """SMS kept as one JSON file each in a folder (``*.json``; a ``tmp/`` sub-folder is ignored)."""

    def __init__(self, driver: Driver, path: Path):
        super().__init__(driver)
        self.path = Path(path)

    def _read(self) -> list[SmsMessage]:
        """Every SMS; a folder that is not there (or cannot be read) is the test infrastructure's fault,
        said as such (ERREUR), never "no SMS received" (NON CONFORME)."""
        if not self.path.is_dir():
            raise InfrastructureError("dossier SMS de test", f"dossier introuvable : {self.path}")
        try:
            files = sorted(self.path.glob("*.json"))
        except OSError as exc:
            raise InfrastructureError("dossier SMS de test", f"dossier illisible : {self.path} "
                                                             f"({exc.strerror or exc})") from None
        out = []
        for file in files:
            try:
                raw = file.read_bytes()
            except OSError:  # removed meanwhile
                continue
            msg = SmsMessage.parse(raw, file.name)
            if msg is not None:
                out.append(msg)
        return out

    async def messages(self) -> list[SmsMessage]:
        return await asyncio.to_thread(self._read)


def sms_from_params(driver: Driver) -> Sms | None:
    """The SMS store the campaign's ``sms:`` section describes (None when there is none)."""
    conf = driver.ctx.campaign.section("sms")
    if not conf:
        return None
    return FolderSmsInbox(driver, driver.ctx.campaign.resolve_path(conf["path"], key="sms.path"))

"""Demo implementation of the admissions capability: an MLLP client of demo_dpi's admission feed.

The messages are composed by :mod:`segur_helpers.hl7v2` from the campaign's ``pam`` section (``url:
mllp://HOST:PORT``, the sender and receiver names, the provisional field of the connexion secrète); each
is sent in its own MLLP connection with ``hl7.mllp.open_hl7_connection`` (the library the demo DPI's
listener uses too), and the acknowledgement is read back as bytes, kept whole for the evidence. A feed
that refuses the connection makes the proof ERREUR (« flux d'admission injoignable »); a message left
without acknowledgement is returned as such (``error``), for the scenario to judge.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from hl7.mllp import open_hl7_connection

from segur_helpers.drivers.admissions import Admissions, Hl7Exchange
from segur_helpers.errors import TargetUnreachable, UserError
from segur_helpers.hl7v2 import FeedSettings, compose
from segur_helpers.testpatients import allowed_non_test, check_patient


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DemoAdmissions(Admissions):
    def settings(self) -> FeedSettings:
        campaign = self.driver.ctx.campaign
        section = campaign.section("pam")
        if not section or not section.get("url"):
            raise UserError("the admission feed's address is missing; expected pam: {url: mllp://HOST:PORT}",
                            file=str(campaign.path), key="pam.url")
        try:
            settings = FeedSettings.from_campaign(section)
            settings.address  # noqa: B018 — checked here, once
        except ValueError as exc:
            raise UserError(str(exc), file=str(campaign.path), key="pam") from None
        return settings

    async def smoke(self) -> None:
        host, port = self.settings().address   # a connection opened and closed: nothing is sent
        _reader, writer = await asyncio.wait_for(open_hl7_connection(host, port), timeout=5)
        writer.close()
        await writer.wait_closed()

    def _check_patient(self, patient: dict) -> None:
        """A message carries the patient's INS: never one outside the test OIDs unless the campaign says so."""
        campaign = self.driver.ctx.campaign
        check_patient(patient, allow_non_test=allowed_non_test(campaign.raw, str(campaign.path)),
                      where="message d'admission non envoyé")

    async def _send(self, event: str, patient: dict, **kw) -> Hl7Exchange:
        self._check_patient(patient)
        settings = self.settings()
        message, control_id = compose(event, patient, settings=settings, **kw)
        host, port = settings.address
        x = Hl7Exchange(message=message, ack=b"", address=settings.url, event=event, control_id=control_id,
                        sent_at=_now())
        try:
            reader, writer = await asyncio.wait_for(open_hl7_connection(host, port), timeout=settings.timeout_s)
        except asyncio.TimeoutError:
            raise TargetUnreachable(f"flux d'admission injoignable : {settings.url} (délai de connexion dépassé)") from None
        except OSError as exc:
            raise TargetUnreachable(f"flux d'admission injoignable : {settings.url} ({exc.strerror or exc})") from None
        try:
            writer.writeblock(message)
            await writer.drain()
            x.ack = bytes(await asyncio.wait_for(reader.readblock(), timeout=settings.timeout_s))
            x.received_at = _now()
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as exc:
            x.error = f"{type(exc).__name__}: {exc}".strip(": ")
        finally:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
        return x

    async def admit(self, patient, *, visit, kind="hospitalisation", professional=None, secret_connection=None):
        event = "A01" if kind == "hospitalisation" else "A04"
        return await self._send(event, patient, visit=visit, kind=kind, professional=professional,
                                secret_connection=secret_connection)

    async def discharge(self, patient, *, visit):
        return await self._send("A03", patient, visit=visit)

    async def cancel_admission(self, patient, *, visit, kind="hospitalisation"):
        return await self._send("A11", patient, visit=visit, kind=kind,
                                original_event="A01" if kind == "hospitalisation" else "A04")

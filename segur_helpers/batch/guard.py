"""The run-level guard of the target's shared services: what a proof disrupts is restored by the batch.

A scenario that interrupts a shared service of the target says so in the catalogue (``disrupts: [dmp]``)
and how to restore it (``restores: {dmp: dmp_link.restore}``, a method of the campaign's driver). The proof
itself restores it at its end — but a kernel that is killed (proof timeout, out of memory), a run that is
interrupted or a CLI that is killed never gets there, and the rest of the run (and its ``--resume``) would
find the service down. So the guard, in the CLI process and outside every kernel:

- before such a proof starts, notes the service as disrupted in the run's private folder;
- once the proof has ended, however it ended (its kernel stopped first), calls the restore method through
  a driver of its own, and clears the note;
- at the end of a session (interrupt included), restores whatever is still noted;
- at the start of a session, restores what a crashed session left noted (:func:`.workdir.reap` hands it
  over).

A restore method must work without ``Driver.start()`` (no sign-in) and be harmless when the service is up.
"""
from __future__ import annotations

import asyncio
import sys

from ..drivers import DriverContext, load_driver_class
from ..params import Secrets
from .plan import Planned
from .state import _Run


class ServiceGuard:
    def __init__(self, run: _Run):
        self.run = run
        self._driver = None

    @staticmethod
    def entries(item: Planned) -> list[dict]:
        return [{"service": service, "restore": call, "scenario": item.scenario.id}
                for service, call in item.scenario.restores]

    def before(self, item: Planned) -> None:
        entries = self.entries(item)
        if entries and self.run.work is not None:
            self.run.work.mark_disrupted(entries)

    async def after(self, item: Planned) -> None:
        entries = self.entries(item)
        if entries:
            await self._restore(entries)

    async def pending(self) -> None:
        """Restore every service still noted as disrupted (this session's, or a crashed one's)."""
        if self.run.work is not None:
            left = self.run.work.disrupted()
            if left:
                await self._restore(left)

    async def _restore(self, entries: list[dict]) -> None:
        done = []
        for call in dict.fromkeys(e["restore"] for e in entries):
            capability, method = call.split(".", 1)
            try:
                driver = await self._get_driver()
                target = getattr(getattr(driver, capability), method)
                await asyncio.wait_for(target(), timeout=float(self.run.campaign.timeouts["step_s"]))
                done.extend(e for e in entries if e["restore"] == call)
            except Exception as exc:  # noqa: BLE001 — said, kept noted: the next session tries again
                services = ", ".join(sorted({e["service"] for e in entries if e["restore"] == call}))
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                print(f"warning: could not restore {services} ({call}): {type(exc).__name__}: "
                      f"{self.run.secrets.redact(first)}", file=sys.stderr, flush=True)
        if done and self.run.work is not None:
            try:
                self.run.work.clear_disrupted(done)
            except OSError:
                pass

    async def _get_driver(self):
        if self._driver is None:
            cls = load_driver_class(self.run.campaign.driver, file=str(self.run.campaign.path))
            browser = await self.run.browser.export() if self.run.browser is not None else None
            secrets = Secrets.for_campaign(self.run.campaign)
            self._driver = cls(DriverContext(campaign=self.run.campaign, secrets=secrets, browser=browser,
                                             settings=self.run.campaign.section("driver_settings")))
        return self._driver

    async def close(self) -> None:
        if self._driver is not None:
            try:
                await self._driver.close()
            except Exception:  # noqa: BLE001
                pass
            self._driver = None

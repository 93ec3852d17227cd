"""The run's one Chromium, restarted when it dies: a run goes on when its browser is killed mid-run.

:class:`RunBrowser` holds the Playwright browser server (:class:`..shared_browser.ChromiumServer`) and this
process's connection to it (the PDF export and the summary print through it). Before each proof starts and
before each PDF is printed, :meth:`RunBrowser.ensure` checks both are alive and, when they are not (the
browser was killed, out of memory…), starts a new server and connects again; each proof is given the
endpoint of the server alive when it starts (the warm kernels reconnect to it by themselves). Proofs that
were using the dead browser end ERREUR with its cause; ``rerun --failed`` runs them again.
"""
from __future__ import annotations

import asyncio
import sys


class RunBrowser:
    def __init__(self, pw, register=None):
        self.pw = pw
        self.server = None
        self.browser = None
        self.restarts = 0
        self._register = register or (lambda kind, pid: None)
        self._lock = asyncio.Lock()

    async def start(self) -> "RunBrowser":
        from ..shared_browser import ChromiumServer

        self.server = await asyncio.to_thread(ChromiumServer().start)
        self._register("browser-server", self.server.proc.pid if self.server.proc else None)
        for group in self.server.browser_groups:
            self._register("browser", group)
        self.browser = await self.pw.chromium.connect(self.server.endpoint)
        return self

    def alive(self) -> bool:
        return (self.server is not None and self.server.alive() and self.browser is not None
                and self.browser.is_connected())

    async def ensure(self) -> str:
        """The endpoint of a live server (restarted first when the browser died)."""
        async with self._lock:
            if not self.alive():
                await self._restart()
            return self.server.endpoint

    async def export(self):
        """The connected browser the PDFs are printed with (restarted first when it died)."""
        await self.ensure()
        return self.browser

    async def restart(self) -> None:
        """After a print failed because the browser went away meanwhile."""
        async with self._lock:
            if not self.alive():
                await self._restart()

    async def _restart(self) -> None:
        self.restarts += 1
        print(f"warning: the run's Chromium stopped; starting it again (restart {self.restarts})",
              file=sys.stderr, flush=True)
        await self._close()
        await self.start()

    async def _close(self) -> None:
        if self.browser is not None:
            try:
                await asyncio.wait_for(self.browser.close(), timeout=10)
            except Exception:  # noqa: BLE001 — already gone
                pass
            self.browser = None
        if self.server is not None:
            await asyncio.to_thread(self.server.stop)
            self.server = None

    async def close(self) -> None:
        async with self._lock:
            await self._close()


async def with_browser(run_browser: RunBrowser, action):
    """``await action(browser)``, once more on a restarted browser when the first one went away."""
    browser = await run_browser.export()
    try:
        return await action(browser)
    except Exception:
        if run_browser.alive():
            raise
        await run_browser.restart()
        return await action(await run_browser.export())

"""One session of a run (a run, a resume, a rerun): the proofs in schedule order, one Chromium, then the seal.

The session starts the run's one Chromium, for the proofs, their PDFs and the summary; runs the proofs on
the chosen executor (local warm kernels or Dask) until they are all done or a SIGINT/SIGTERM interrupts
them; and seals the run folder in either case.
"""
from __future__ import annotations

import asyncio
import os
import signal

from .dask_executor import _dask_workers
from .local import _local_workers
from .plan import Planned, measured_durations, schedule
from .seal import _seal
from .state import _Run


async def _workers(run: _Run, items: list[Planned], endpoint: str, export_browser) -> str:
    """Run ``items``; a SIGINT/SIGTERM cancels the work and returns ``interrupted``."""
    loop = asyncio.get_running_loop()
    stopped = {"signal": None}
    runner = _dask_workers if run.options.executor == "dask" else _local_workers
    task_main = asyncio.ensure_future(runner(run, items, endpoint, export_browser))

    def stop(signame: str) -> None:
        if stopped["signal"] is None:
            stopped["signal"] = signame
            task_main.cancel()

    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
            installed.append(sig)
        except (RuntimeError, ValueError):   # not the main thread
            pass
    try:
        await task_main
        return "complete"
    except asyncio.CancelledError:
        if stopped["signal"] is None:
            raise
        return "interrupted"
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _session(run: _Run, record: dict, planned: list[Planned], items: list[Planned]) -> str:
    """One Chromium for everything of this session: the proofs, their PDFs and the summary."""
    from playwright.async_api import async_playwright

    from ..shared_browser import ChromiumServer

    status = "interrupted"
    server = await asyncio.to_thread(ChromiumServer().start)
    try:
        async with async_playwright() as pw:
            export_browser = await pw.chromium.connect(server.endpoint)
            try:
                status = await _workers(run, items, server.endpoint, export_browser)
            finally:
                run.progress.close()
                await _seal(run, record, status, planned, export_browser)
                try:
                    await export_browser.close()
                except Exception:  # noqa: BLE001
                    pass
    finally:
        await asyncio.to_thread(server.stop)
    return status


def _execute_session(run: _Run, record: dict, planned: list[Planned], items: list[Planned]) -> str:
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    items = schedule(items, measured_durations(run.run_dir.parent))
    try:
        return asyncio.run(_session(run, record, planned, items))
    except KeyboardInterrupt:   # a second Ctrl-C while sealing: the record says what was written
        return "interrupted"

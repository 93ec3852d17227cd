"""One session of a run (a run, a resume, a rerun): the proofs in schedule order, one Chromium, then the seal.

The session holds the run's lock and works in the run's private folder (:mod:`.workdir`: temporary files,
kernels' connection files, the processes it starts), starts the run's Chromium (:mod:`.chromium`, restarted
if it dies), restores what a crashed session left disrupted (:mod:`.guard`), runs the proofs on the chosen
executor (local warm kernels or Dask) until they are all done, a SIGINT/SIGTERM interrupts them or the run
folder turns out unwritable, and seals the run folder in every case.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys

from ..errors import UserError
from .chromium import RunBrowser
from .dask_executor import _dask_workers
from .guard import ServiceGuard
from .local import _local_workers
from .plan import Planned, measured_durations, schedule
from .seal import _seal
from .state import _Run
from .workdir import reap


async def _workers(run: _Run, items: list[Planned]) -> str:
    """Run ``items``; a SIGINT/SIGTERM (or a run folder that cannot be written) cancels the work and
    returns ``interrupted``."""
    loop = asyncio.get_running_loop()
    stopped = {"signal": None}
    runner = _dask_workers if run.options.executor == "dask" else _local_workers
    task_main = asyncio.ensure_future(runner(run, items))

    def stop(signame: str) -> None:
        if stopped["signal"] is None:
            stopped["signal"] = signame
            task_main.cancel()

    run.stop = lambda: stop("unwritable")
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
            installed.append(sig)
        except (RuntimeError, ValueError):   # not the main thread
            pass
    try:
        await task_main
        return "complete" if run.fatal is None else "interrupted"
    except asyncio.CancelledError:
        if stopped["signal"] is None:
            raise
        if not task_main.done():          # the workers are still ending (kernels, services): wait for them
            await asyncio.wait({task_main})
        return "interrupted"
    finally:
        run.stop = None
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _session(run: _Run, record: dict, planned: list[Planned], items: list[Planned]) -> str:
    """One Chromium for everything of this session: the proofs, their PDFs and the summary."""
    from playwright.async_api import async_playwright

    status = "interrupted"
    register = run.work.register if run.work is not None else None
    async with async_playwright() as pw:
        run.browser = RunBrowser(pw, register)
        run.guard = ServiceGuard(run)
        try:
            await run.browser.start()
            await run.guard.pending()          # what a crashed session of the campaign left disrupted
            try:
                status = await _workers(run, items)
            finally:
                run.progress.close()
                await run.guard.pending()      # interrupted: whatever is still disrupted
                await _seal(run, record, status, planned)
        finally:
            await run.guard.close()
            await run.browser.close()
    return status


def _execute_session(run: _Run, record: dict, planned: list[Planned], items: list[Planned]) -> str:
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    items = schedule(items, measured_durations(run.run_dir.parent))
    run.record = record
    try:
        if run.work is not None:
            run.work.enter()
            for line in run.work.notes + reap(run.run_dir.parent, into=run.work):
                print(f"note: {line}", file=sys.stderr, flush=True)
        try:
            return asyncio.run(_session(run, record, planned, items))
        except KeyboardInterrupt:   # a second Ctrl-C while sealing: the record says what was written
            return "interrupted"
    finally:
        if run.work is not None:
            run.work.release()
        if run.fatal is not None:
            exc = run.fatal
            raise UserError(f"cannot write the run folder ({exc.strerror or exc}); expected free space and a "
                            f"writable folder — nothing finished is lost: segur run --resume {run.run_dir}",
                            key=str(run.run_dir)) from None

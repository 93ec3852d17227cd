"""The local executor: ``workers`` warm kernels on this machine, each reused from proof to proof.

Each worker takes its next proof from the gate, runs its notebook (or files its justification), frees the
gate, and finishes the proof (:func:`.one_proof._finish`) in the background, so its PDF is exported while
the worker runs the next one. A proof whose kernel fails is ERREUR; the others go on. Each proof is given
the endpoint of the run's browser alive when it starts (restarted if it died); a proof that disrupts a
shared service has it restored by the run's guard once its kernel has stopped, however it ended. A run
folder that cannot be written (full disk, read-only) stops the session: the run stays resumable.
"""
from __future__ import annotations

import asyncio
import time

import nbformat

from ..proof import TOOLKIT_ROOT, error_result, now_paris
from ..shared_browser import ENDPOINT_ENV
from .gate import Gate
from .one_proof import _finish, _guided, _kernel_env, _not_applicable, _params, _result_after, unwritable
from .plan import Planned
from .proofdir import NOTEBOOK_NAME, _prepare_proof_dir
from .state import _Run


async def _local_workers(run: _Run, items: list[Planned]) -> None:
    from ..kernels import WarmKernel, parameterize

    gate = Gate(items)
    env = _kernel_env(await run.browser.ensure())
    finishing: set[asyncio.Task] = set()
    exports = asyncio.Semaphore(max(1, run.options.workers))
    # guided proofs cost no kernel work and their making leaves the cores to Chromium: their PDFs get a
    # limit of their own, twice the workers (bench.dossier measures it)
    guided_exports = asyncio.Semaphore(2 * max(1, run.options.workers))
    timeout = float(run.campaign.timeouts["proof_s"])
    register = (lambda pid: run.work.register("kernel", pid)) if run.work is not None else None

    async def finish(item, proof_dir, result, t0, attempt, execute_s):
        async with (guided_exports if item.guided else exports):
            await _finish(run, item, proof_dir, result, t0, attempt, execute_s)

    async def worker(n: int) -> None:
        kernel = WarmKernel(env, TOOLKIT_ROOT / "notebooks", on_start=register)
        try:
            while run.fatal is None:
                item = await gate.take()
                if item is None:
                    return
                t0 = time.monotonic()
                run.in_flight.add(item.scenario.id)
                run.progress.start(item.scenario.id)
                started = now_paris()
                proof_dir, attempt = run.proof_dir(item.scenario.id), 1
                try:
                    proof_dir, attempt = _prepare_proof_dir(run, item)
                    if item.guided:   # made here, as justifications are: no kernel work but its captures
                        result = await _guided(item, run.campaign, proof_dir, run.run_id, run.browser)
                    elif item.condition_met:
                        nb = parameterize(item.scenario.notebook_path,
                                          _params(item, run.campaign, proof_dir, run.run_id))
                        endpoint = await run.browser.ensure()
                        run.guard.before(item)
                        try:
                            execution = await kernel.execute(nb, item.scenario.notebook_path.parent, timeout,
                                                             env={ENDPOINT_ENV: endpoint})
                        except BaseException:           # interrupted: the kernel first, then the service
                            if item.scenario.restores:
                                await kernel.stop(now=True)
                                await run.guard.after(item)
                            raise
                        if item.scenario.restores:      # ended, failed, killed or timed out (kernel stopped)
                            await run.guard.after(item)
                        await asyncio.to_thread(nbformat.write, execution.nb, str(proof_dir / NOTEBOOK_NAME))
                        result = _result_after(item, run.campaign, proof_dir, run.run_id, started,
                                               execution.failure)
                    else:
                        result = await _not_applicable(item, run.campaign, proof_dir, run.run_id, run.browser)
                except OSError as exc:
                    if unwritable(exc):      # the run folder itself: stop, the run stays resumable
                        run.unwritable(exc)
                        return
                    result = error_result(run.campaign, item.requirement, item.scenario, run.run_id,
                                          kind="write_error", started=started, finished=now_paris(),
                                          message=f"écriture impossible dans le dossier de la preuve : "
                                                  f"{exc.strerror or exc} ({exc.filename or proof_dir})")
                except Exception as exc:  # noqa: BLE001 — e.g. a kernel that will not start: ERREUR, go on
                    first = (str(exc).strip().splitlines() or [""])[0]
                    result = error_result(run.campaign, item.requirement, item.scenario, run.run_id,
                                          kind="kernel_error", started=started, finished=now_paris(),
                                          message=f"exécution impossible : {type(exc).__name__}: {first}"[:400])
                    await kernel.stop(now=True)
                finally:
                    await gate.release(item)   # the target is free again; the PDF is made meanwhile
                task = asyncio.create_task(finish(item, proof_dir, result, t0, attempt, time.monotonic() - t0))
                finishing.add(task)
                task.add_done_callback(finishing.discard)
        finally:
            await kernel.stop(now=True)

    n = max(1, min(run.options.workers, len(items)))
    workers = [asyncio.ensure_future(worker(i)) for i in range(n)]
    try:
        await asyncio.gather(*workers)
        if finishing:
            await asyncio.gather(*list(finishing))
    finally:
        # interrupted: each worker first ends its own way (kernel stopped, disrupted service restored)
        for task in workers:
            task.cancel()
        await asyncio.wait(workers)
        for task in list(finishing):
            task.cancel()
        if finishing:
            await asyncio.wait(list(finishing))

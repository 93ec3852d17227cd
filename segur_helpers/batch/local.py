"""The local executor: ``workers`` warm kernels on this machine, each reused from proof to proof.

Each worker takes its next proof from the gate, runs its notebook (or files its justification), frees the
gate, and finishes the proof (:func:`.one_proof._finish`) in the background, so its PDF is exported while
the worker runs the next one. A proof that cannot be written or whose kernel fails is ERREUR; the others
go on.
"""
from __future__ import annotations

import asyncio
import time

import nbformat

from ..proof import TOOLKIT_ROOT, error_result, now_paris
from .gate import Gate
from .one_proof import _finish, _guided, _kernel_env, _not_applicable, _params, _result_after
from .plan import Planned
from .proofdir import NOTEBOOK_NAME, _prepare_proof_dir
from .state import _Run


async def _local_workers(run: _Run, items: list[Planned], endpoint: str, export_browser) -> None:
    from ..kernels import WarmKernel, parameterize

    gate = Gate(items)
    env = _kernel_env(endpoint)
    finishing: set[asyncio.Task] = set()
    exports = asyncio.Semaphore(max(1, run.options.workers))
    # guided proofs cost no kernel work and their making leaves the cores to Chromium: their PDFs get a
    # limit of their own, twice the workers (bench.dossier measures it)
    guided_exports = asyncio.Semaphore(2 * max(1, run.options.workers))
    timeout = float(run.campaign.timeouts["proof_s"])

    async def finish(item, proof_dir, result, t0, attempt, execute_s):
        async with (guided_exports if item.guided else exports):
            await _finish(run, item, proof_dir, result, export_browser, t0, attempt, execute_s)

    async def worker(n: int) -> None:
        kernel = WarmKernel(env, TOOLKIT_ROOT / "notebooks")
        try:
            while True:
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
                        result = await _guided(item, run.campaign, proof_dir, run.run_id, export_browser)
                    elif item.condition_met:
                        nb = parameterize(item.scenario.notebook_path,
                                          _params(item, run.campaign, proof_dir, run.run_id))
                        execution = await kernel.execute(nb, item.scenario.notebook_path.parent, timeout)
                        await asyncio.to_thread(nbformat.write, execution.nb, str(proof_dir / NOTEBOOK_NAME))
                        result = _result_after(item, run.campaign, proof_dir, run.run_id, started,
                                               execution.failure)
                    else:
                        result = await _not_applicable(item, run.campaign, proof_dir, run.run_id,
                                                       export_browser)
                except OSError as exc:   # full disk, read-only folder: this proof is ERREUR, the run goes on
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
    try:
        await asyncio.gather(*(worker(i) for i in range(n)))
        if finishing:
            await asyncio.gather(*list(finishing))
    finally:
        for task in list(finishing):
            task.cancel()

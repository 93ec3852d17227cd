"""The Dask executor: the proofs' notebooks run on the workers of a Dask cluster (shared file system).

``distributed`` is imported only when this executor is chosen (:func:`check_scheduler`, before the run
folder exists, then :func:`_dask_workers`), so the toolkit imports without it. The gate still decides which
proof starts next; each proof's notebook runs in a kernel of a Dask worker (:func:`_dask_execute`), and
its PDF is made here, through the run's Chromium; the kernels get that Chromium's address only when the
scheduler is on this machine (it listens on 127.0.0.1).
"""
from __future__ import annotations

import asyncio
import inspect
import os
import time
from pathlib import Path

import nbformat

from ..errors import UserError
from ..ids import safe_name
from ..proof import error_result, now_paris
from .gate import Gate
from .one_proof import _finish, _guided, _kernel_env, _not_applicable, _params, _result_after, unwritable
from .plan import Planned
from .proofdir import NOTEBOOK_NAME, _prepare_proof_dir
from .state import _Run


def _local_scheduler(address: str | None) -> bool:
    from urllib.parse import urlparse

    host = urlparse(address if "://" in (address or "") else f"tcp://{address}").hostname or ""
    return host in ("127.0.0.1", "localhost", "::1")


def check_scheduler(address: str) -> None:
    """Before the run folder exists: the Dask scheduler answers (one line otherwise)."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise UserError("dask distributed is not installed; expected pip install distributed",
                        key="--executor dask") from None
    try:
        client = Client(address, timeout="10s")
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"no Dask scheduler answers at {address} ({type(exc).__name__}); expected the address of "
                        "a running scheduler (tcp://host:8786)", key="--scheduler") from None
    client.close()


def _dask_execute(spec: dict) -> dict:
    """Runs on a Dask worker: one proof's notebook in a kernel of that worker (shared file system)."""
    from ..kernels import WarmKernel, parameterize

    async def one():
        env = os.environ.copy()
        env.update(spec["env"])
        kernel = WarmKernel(env, Path(spec["cwd"]))
        try:
            nb = parameterize(Path(spec["notebook"]), spec["params"])
            execution = await kernel.execute(nb, Path(spec["cwd"]), spec["timeout"])
            nbformat.write(execution.nb, str(Path(spec["proof_dir"]) / NOTEBOOK_NAME))
            return {"failure": list(execution.failure) if execution.failure else None}
        finally:
            await kernel.stop(now=True)

    return asyncio.run(one())


async def _dask_workers(run: _Run, items: list[Planned]) -> None:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise UserError("dask distributed is not installed; expected pip install distributed",
                        key="--executor dask") from None
    client = await Client(run.options.scheduler, asynchronous=True, timeout="20s")
    # the run's Chromium listens on 127.0.0.1: only workers on this machine can use it
    local = _local_scheduler(run.options.scheduler)
    keep = ("PYTHONPATH", "PYDEVD_DISABLE_FILE_VALIDATION", "SEGUR_BROWSER_ENDPOINT", "SEGUR_CATALOG_EXTRA")
    gate = Gate(items)
    try:
        async def one(item: Planned):
            t0 = time.monotonic()
            run.in_flight.add(item.scenario.id)
            run.progress.start(item.scenario.id)
            started = now_paris()
            try:
                proof_dir, attempt = _prepare_proof_dir(run, item)
            except OSError as exc:
                await gate.release(item)
                if unwritable(exc):
                    run.unwritable(exc)
                    return
                proof_dir, attempt = run.proof_dir(item.scenario.id), 1
                result = error_result(run.campaign, item.requirement, item.scenario, run.run_id,
                                      kind="write_error", started=started, finished=now_paris(),
                                      message=f"écriture impossible dans le dossier de la preuve : "
                                              f"{exc.strerror or exc} ({exc.filename or proof_dir})")
                await _finish(run, item, proof_dir, result, t0, attempt)
                return
            try:
                result = await execute(item, proof_dir, attempt, started)
            except OSError as exc:
                if not unwritable(exc):
                    raise
                run.unwritable(exc)
                return
            finally:
                await gate.release(item)   # the target is free again; the PDF is made meanwhile
            await _finish(run, item, proof_dir, result, t0, attempt)

        async def execute(item: Planned, proof_dir: Path, attempt: int, started) -> dict:
            if item.guided:   # made in this process, as justifications are (the run's Chromium)
                return await _guided(item, run.campaign, proof_dir, run.run_id, run.browser)
            if item.condition_met:
                endpoint = await run.browser.ensure()
                env = {k: v for k, v in _kernel_env(endpoint if local else None).items() if k in keep}
                spec = {"env": env, "cwd": str(item.scenario.notebook_path.parent),
                        "notebook": str(item.scenario.notebook_path), "proof_dir": str(proof_dir),
                        "params": _params(item, run.campaign, proof_dir, run.run_id),
                        "timeout": float(run.campaign.timeouts["proof_s"])}
                run.guard.before(item)
                try:
                    answer = await client.submit(_dask_execute, spec, pure=False,
                                                 key=f"segur-{run.run_id}-{safe_name(item.scenario.id)}-{attempt}")
                    failure = tuple(answer["failure"]) if answer["failure"] else None
                except Exception as exc:  # noqa: BLE001 — a lost worker: ERREUR with its cause
                    failure = ("dask_error", f"exécution impossible sur le cluster Dask : {type(exc).__name__}: "
                                             f"{(str(exc).splitlines() or [''])[0]}"[:400])
                finally:
                    if item.scenario.restores:   # the task's kernel has stopped (or its worker is gone)
                        await run.guard.after(item)
                return _result_after(item, run.campaign, proof_dir, run.run_id, started, failure)
            return await _not_applicable(item, run.campaign, proof_dir, run.run_id, run.browser)

        async def lane() -> None:
            while run.fatal is None and (item := await gate.take()) is not None:
                await one(item)

        # as many lanes as the cluster has worker threads: the gate, not the scheduler's queue, decides
        # which proof starts next (longest first, never beside a proof it conflicts with)
        threads = client.nthreads()
        if inspect.isawaitable(threads):
            threads = await threads
        lanes = max(1, min(len(items), sum((threads or {}).values()) or 1))
        await asyncio.gather(*(lane() for _ in range(lanes)))
    finally:
        await client.close()

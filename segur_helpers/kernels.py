"""Warm kernels: one IPython kernel per batch worker, reused from proof to proof.

Starting a kernel and importing Playwright, nbconvert and the toolkit costs seconds; a campaign of
hundreds of proofs pays it once per worker instead. Between proofs the kernel's namespace is reset
(``%reset -f``) and its working directory set back, so a notebook sees the same fresh names as under
papermill. Parameters are injected exactly as papermill does (``parameterize_notebook``: an
``injected-parameters`` cell after the ``parameters`` cell). A kernel that died, hung or timed out is
killed and replaced before the next proof.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

KERNEL_NAME = "python3"


@dataclass
class Execution:
    """What happened to one notebook: the executed notebook (possibly partial) and the failure."""
    nb: nbformat.NotebookNode
    failure: tuple[str, str] | None   # (kind, French message) or None


def parameterize(nb_path: Path, params: dict) -> nbformat.NotebookNode:
    """The notebook with papermill's injected-parameters cell (same semantics as ``papermill``)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(nb_path))
    nb = parameterize_notebook(nb, params, kernel_name=KERNEL_NAME, language="python")
    return nb


class WarmKernel:
    def __init__(self, env: dict[str, str], cwd: Path, on_start=None):
        self.env = env
        self.cwd = cwd
        self.km: AsyncKernelManager | None = None
        self.kc = None
        self.used = 0
        self.on_start = on_start or (lambda pid: None)   # e.g. the run's private folder records the pid

    @property
    def pid(self) -> int | None:
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    async def start(self, tries: int = 3) -> None:
        """Start a kernel; a start that fails (e.g. a port taken between choice and bind by another
        process on a busy machine) is tried again before the proof is given up as ERREUR."""
        for attempt in range(1, tries + 1):
            try:
                await self._start_once()
                return
            except Exception:  # noqa: BLE001
                await self.stop(now=True)
                if attempt == tries:
                    raise
                await asyncio.sleep(0.5 * attempt)

    async def _start_once(self) -> None:
        self.km = AsyncKernelManager(kernel_name=KERNEL_NAME)
        # the kernel's own console chatter (TCP warnings) is not for the user: errors reach the proof
        await self.km.start_kernel(cwd=str(self.cwd), env=self.env, stderr=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL)
        self.on_start(self.pid)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=120)
        self.used = 0

    async def stop(self, now: bool = False) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:  # noqa: BLE001
                pass
        if self.km is not None:
            try:
                await self.km.shutdown_kernel(now=now)
            except Exception:  # noqa: BLE001 — already dead
                try:
                    await self.km.kill_kernel()
                except Exception:  # noqa: BLE001
                    pass
        self.km = self.kc = None

    async def alive(self) -> bool:
        return self.km is not None and await self.km.is_alive()

    async def _silent(self, code: str, timeout: float = 30) -> None:
        msg_id = self.kc.execute(code, silent=True, store_history=False)
        while True:
            reply = await self.kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                return

    async def reset(self, cwd: Path, env: dict[str, str] | None = None) -> None:
        """A fresh namespace (modules stay imported: that is the point), the notebook's folder, and the
        environment variables of this proof (e.g. the endpoint of the run's browser, restarted meanwhile)."""
        await self._silent(f"%reset -f\nimport os as _o; _o.chdir({str(cwd)!r}); "
                           f"_o.environ.update({dict(env or {})!r}); del _o")

    async def execute(self, nb: nbformat.NotebookNode, cwd: Path, timeout: float,
                      env: dict[str, str] | None = None) -> Execution:
        """Run every cell; ``timeout`` for the whole notebook. Never raises for a notebook's failure."""
        if self.km is None or not await self.alive():
            await self.stop(now=True)
            await self.start()
        await self.reset(cwd, env)
        self.used += 1
        client = NotebookClient(nb, km=self.km, kernel_name=KERNEL_NAME, timeout=None, allow_errors=False,
                                record_timing=True, shutdown_kernel="graceful")
        client.kc = self.kc
        client.reset_execution_trackers()

        async def cells():
            count = 0
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                count += 1
                await client.async_execute_cell(cell, index, execution_count=count)

        failure = None
        t0 = time.monotonic()
        timed_out = lambda: time.monotonic() - t0 >= timeout - 0.5  # noqa: E731 — cancelling nbclient may
        # surface as DeadKernelError rather than TimeoutError: the clock says which it was
        inner = asyncio.ensure_future(cells())
        # once cancelled (timeout, interrupt) nbclient may still end with DeadKernelError: retrieve it
        inner.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await asyncio.wait_for(inner, timeout=timeout)
        except CellExecutionError as exc:
            failure = ("notebook_error", f"le carnet s'est arrêté sur une erreur : {exc.ename}: {exc.evalue}"[:400])
        except asyncio.TimeoutError:
            failure = ("proof_timeout", f"délai de la preuve dépassé ({timeout:.0f} s)")
            await self.stop(now=True)   # a hung kernel is killed; the next proof gets a new one
        except DeadKernelError:
            if timed_out():
                failure = ("proof_timeout", f"délai de la preuve dépassé ({timeout:.0f} s)")
            else:
                failure = ("kernel_died", "le noyau d'exécution s'est arrêté brutalement (processus tué)")
            await self.stop(now=True)
        except Exception as exc:  # noqa: BLE001 — any other failure: ERREUR with its cause, fresh kernel
            first = (str(exc).strip().splitlines() or [""])[0]
            failure = ("kernel_error", f"exécution impossible : {type(exc).__name__}: {first}"[:400])
            if timed_out():
                failure = ("proof_timeout", f"délai de la preuve dépassé ({timeout:.0f} s)")
            await self.stop(now=True)
        if failure is None and not await self.alive():
            await self.stop(now=True)
        return Execution(nb, failure)


def kernel_env(extra: dict[str, str]) -> dict[str, str]:
    env = os.environ.copy()
    env.update(extra)
    return env

"""Batch runs: a campaign's proofs in parallel, one proof folder each, PDFs, summary, manifest, run record.

Everything that can be wrong with the input is checked before the run folder exists (params, secret
variables, driver import, notebooks, Chromium, signing key), so bad input never leaves a half-written
run folder. A run folder is ``outputs/<campaign>/<run-id>/`` and a new run never reuses an existing one.

How a run spends its time (fixed costs once per run, not once per proof):

* one system Chromium for the whole run (:mod:`.shared_browser`), each proof in its own contexts;
  the PDF export prints through the same browser;
* ``workers`` warm kernels (:mod:`.kernels`), each reused from proof to proof with a reset namespace,
  parameters injected as papermill does; a proof's PDF is exported while its worker runs the next one;
* a per-proof timeout kills a hung kernel: the proof is ERREUR naming the step it hung in
  (``progress.json``), and the others go on.

``run --resume`` finishes an interrupted run; ``rerun --failed`` runs the ERREUR / NON CONFORME
proofs again in the same run folder, the earlier attempt kept under ``<proof>/attempts/<n>/``.
"""
from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Callable

from .. import __version__
from ..browser import find_chromium
from ..drivers import load_driver_class
from ..errors import UserError
from ..evidence import sha256_bytes, sha256_file
from ..params import Campaign, Secrets, load_campaign
from ..proof import CONFORME, ERREUR, NON_CONFORME, default_outputs, now_paris
from ..runfolder import (MANIFEST, RUN_RECORD, check_sign_key, find_run, read_json, writable_check, write_json,
                        write_manifest)
from .dask_executor import _dask_workers, check_scheduler
from .gate import Gate, conflicts
from .local import _local_workers
from .plan import Planned, measured_durations, plan, preflight, schedule
from .progress import FAILED, Progress
from .seal import _seal
from .proofdir import NOTEBOOK_NAME, new_run_dir
from .state import Options, Outcome, _Run


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


def _record_base(campaign: Campaign, run_id: str, planned: list[Planned], options: Options) -> dict:
    return {
        "toolkit_version": __version__, "campaign": campaign.name, "run_id": run_id,
        "params_file": campaign.path.name, "params_path": str(campaign.path),
        # hash of the file as written: secrets are references (env:NAME) in it, never values
        "params_sha256": sha256_bytes(campaign.path.read_bytes()),
        "secret_references": sorted({var for _, var in campaign.secret_refs()}),
        "vendor": campaign.vendor, "product": campaign.product, "version": campaign.version,
        "target_url": campaign.target_url, "driver": campaign.driver, "operator": campaign.operator,
        "python": sys.version.split()[0], "executor": options.executor,
        "workers": options.workers, "scope": [p.scenario.id for p in planned],
        "notebooks": {p.scenario.notebook: sha256_file(p.scenario.notebook_path)
                      for p in planned if p.scenario.notebook_path.is_file()},
    }


def _execute_session(run: _Run, record: dict, planned: list[Planned], items: list[Planned]) -> str:
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    items = schedule(items, measured_durations(run.run_dir.parent))
    try:
        return asyncio.run(_session(run, record, planned, items))
    except KeyboardInterrupt:   # a second Ctrl-C while sealing: the record says what was written
        return "interrupted"


def _options(options: Options | None, **kw) -> Options:
    options = options or Options()
    for k, v in kw.items():
        if v is not None:
            setattr(options, k, v)
    if not options.workers:
        options.workers = os.cpu_count() or 1
    if options.workers < 1:
        raise UserError(f"{options.workers}; expected a positive number of workers", key="--workers")
    if options.executor not in ("local", "dask"):
        raise UserError(f"{options.executor!r}; expected local or dask", key="--executor")
    if options.executor == "dask" and not options.scheduler:
        raise UserError("missing; expected the address of a Dask scheduler (tcp://host:8786)", key="--scheduler")
    if options.sign_key:
        check_sign_key(Path(options.sign_key))
    if options.executor == "dask":
        check_scheduler(options.scheduler)
    if options.progress is None:
        options.progress = sys.stderr.isatty()
    return options


def _outcomes(run: _Run) -> list[Outcome]:
    out = []
    for e in run.completed.values():
        out.append(Outcome(e["scenario"], e["verdict"], run.run_dir / e["pdf"] if e["pdf"] else None,
                           e["duration_s"], {"message": e["error"]} if e["error"] else None, e["attempts"]))
    return out


def run_campaign(params_path: str | Path, *, outputs: Path | None = None, only: list[str] | None = None,
                 family=None, tags=None, options: Options | None = None,
                 say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Validate, then run every scenario in scope. Returns the run folder and the outcomes."""
    campaign, planned = preflight(params_path, only, family, tags)
    options = _options(options)
    outputs = Path(outputs) if outputs else default_outputs()
    run_id, run_dir = new_run_dir(outputs, campaign.name)
    record = _record_base(campaign, run_id, planned, options)
    started = now_paris().isoformat(timespec="seconds")
    record.update(started=started, status="running", _action="run", _session_started=started)
    write_json(run_dir / RUN_RECORD, record)
    say(f"run {campaign.name}/{run_id}: {len(planned)} proof(s), {options.workers} worker(s) → {run_dir}")
    run = _Run(campaign, run_dir, run_id, Secrets.for_campaign(campaign), options,
               Progress(campaign.name, len(planned), say, options.progress))
    _execute_session(run, record, planned, planned)
    return run_dir, _outcomes(run)


def _reopen(run_ref: str | Path, outputs: Path | None, options: Options | None, say, rerun: bool
            ) -> tuple[_Run, dict, list[Planned]]:
    run_dir = find_run(run_ref, Path(outputs) if outputs else default_outputs())
    record = read_json(run_dir / RUN_RECORD)
    campaign = load_campaign(record["params_path"])
    if campaign.name != record["campaign"]:
        raise UserError(f"the params file now names campaign {campaign.name!r}, the run {record['campaign']!r}; "
                        "expected the run's own campaign file", file=record["params_path"], key="campaign")
    campaign.check_secrets_available()
    load_driver_class(campaign.driver, file=str(campaign.path))
    find_chromium()
    by_id = {p.scenario.id: p for p in plan(campaign)}
    planned = []
    for sid in record.get("scope", []):
        if sid not in by_id:
            raise UserError(f"scenario {sid} of the run is no longer in the campaign; expected the same scope",
                            file=record["params_path"], key="requirements")
        planned.append(by_id[sid])
    options = _options(options)
    writable_check(run_dir)
    run = _Run(campaign, run_dir, record["run_id"], Secrets.for_campaign(campaign), options,
               Progress(campaign.name, 0, say, options.progress), rerun=rerun)
    for e in record.get("proofs", []):
        run.completed[e["scenario"]] = e
    return run, record, planned


def resume_run(run_ref: str | Path, *, outputs: Path | None = None, options: Options | None = None,
               say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Finish an interrupted run: the proofs of its scope that have no result yet."""
    run, record, planned = _reopen(run_ref, outputs, options, say, rerun=False)
    if record.get("status") == "complete":
        raise UserError("the run is already complete; expected an interrupted run (to run failed proofs again: "
                        f"segur rerun {run.run_dir} --failed)", key="--resume")
    todo = [p for p in planned if p.scenario.id not in run.completed]
    run.progress.total = len(todo)
    say(f"resume {run.campaign.name}/{run.run_id}: {len(todo)} proof(s) left of {len(planned)}")
    now = now_paris().isoformat(timespec="seconds")
    record.update(status="running", _action="resume", _session_started=now)
    write_json(run.run_dir / RUN_RECORD, record)
    _execute_session(run, record, planned, todo)
    return run.run_dir, _outcomes(run)


def rerun_failed(run_ref: str | Path, *, outputs: Path | None = None, options: Options | None = None,
                 say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Run the ERREUR and NON CONFORME proofs of a finished run again, in the same run folder; each earlier
    attempt is kept under ``<proof>/attempts/<n>/`` and listed in the proof's annex."""
    run, record, planned = _reopen(run_ref, outputs, options, say, rerun=True)
    if record.get("status") != "complete":
        raise UserError(f"the run is {record.get('status')}; expected a complete run (finish it first with "
                        f"segur run --resume {run.run_dir})", key=str(run.run_dir))
    todo = [p for p in planned if run.completed.get(p.scenario.id, {}).get("verdict") in FAILED]
    run.progress.total = len(todo)
    say(f"rerun {run.campaign.name}/{run.run_id}: {len(todo)} failed proof(s)")
    if todo:
        now = now_paris().isoformat(timespec="seconds")
        record.update(status="running", _action="rerun-failed", _session_started=now)
        write_json(run.run_dir / RUN_RECORD, record)
        _execute_session(run, record, planned, todo)
    return run.run_dir, _outcomes(run)


def exit_code(outcomes: list[Outcome]) -> int:
    """0: all CONFORME or NON APPLICABLE; 1: some NON CONFORME; 2: some ERREUR (could not run)."""
    verdicts = {o.verdict for o in outcomes}
    if ERREUR in verdicts:
        return 2
    if NON_CONFORME in verdicts:
        return 1
    return 0


# kept for callers of the first version
__all__ = ["preflight", "run_campaign", "resume_run", "rerun_failed", "exit_code", "plan", "Planned", "Outcome",
           "Options", "MANIFEST", "RUN_RECORD", "NOTEBOOK_NAME", "write_manifest", "CONFORME"]

"""The three ways to start a session, and what the command exits with.

:func:`run_campaign` checks the input, makes a new run folder and its ``run.json``, then runs every proof
in scope; :func:`resume_run` finishes an interrupted run; :func:`rerun_failed` runs a complete run's
ERREUR / NON CONFORME proofs again in the same folder. :func:`exit_code` turns the outcomes into 0, 1 or 2.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

from .. import __version__
from ..browser import find_chromium
from ..drivers import load_driver_class
from ..errors import UserError
from ..evidence import sha256_bytes, sha256_file
from ..ids import current_id, safe_name
from ..params import Campaign, Secrets, load_campaign
from ..proof import ERREUR, NON_CONFORME, default_outputs, now_paris
from ..runfolder import RUN_RECORD, check_sign_key, find_run, read_json, writable_check, write_json
from .dask_executor import check_scheduler
from .plan import Planned, plan, preflight
from .progress import FAILED, Progress
from .proofdir import new_run_dir
from .session import _execute_session
from .state import Options, Outcome, _Run


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
                 family=None, tags=None, options: Options | None = None, scope: str = "campaign",
                 say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Validate, then run every scenario in scope. Returns the run folder and the outcomes.

    ``scope="rem"``: the whole dossier — the campaign's proofs, and the run accounts for every requirement
    of the imported REM (``run.json``'s ``dossier``, the summary's Dossier sheet and coverage page)."""
    campaign, planned = preflight(params_path, only, family, tags, scope)
    options = _options(options)
    outputs = Path(outputs) if outputs else default_outputs()
    run_id, run_dir = new_run_dir(outputs, campaign.name)
    record = _record_base(campaign, run_id, planned, options)
    record["dossier_scope"] = scope
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
    for line in campaign.notices:
        say(line)
    _map_old_ids(record, run_dir, say)
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


def _map_old_ids(record: dict, run_dir: Path, say: Callable[[str], None]) -> None:
    """A run made before the requirements took the REM's ids (ids.OLD_IDS): its scope and proofs are read
    under the new ids; each proof keeps its folder (``DMP_CS.01.01``), where a rerun adds its attempts.
    The record is rewritten with the new ids when the run is sealed again, the old ones kept as
    ``renamed_from``."""
    renamed = {}
    record["scope"] = [current_id(sid) for sid in record.get("scope", [])]
    for e in record.get("proofs", []):
        new = current_id(e["scenario"])
        if new != e["scenario"]:
            renamed[e["scenario"]] = new
            e.setdefault("folder", safe_name(e["scenario"]))
            e["renamed_from"] = e["scenario"]
            e["scenario"], e["requirement"] = new, current_id(e.get("requirement", new))
    record["remaining"] = [current_id(sid) for sid in record.get("remaining", [])]
    for old, new in renamed.items():
        say(f"notice: {run_dir.name}: proof {old} is now {new} (the REM's id); its folder "
            f"{safe_name(old)}/ is kept")


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

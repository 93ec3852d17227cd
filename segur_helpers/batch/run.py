"""The three ways to start a session, and what the command exits with.

:func:`run_campaign` checks the input, makes a new run folder and its ``run.json``, then runs every proof
in scope; :func:`resume_run` finishes an interrupted run; :func:`rerun_failed` runs a complete run's
ERREUR / NON CONFORME proofs again in the same folder. :func:`exit_code` turns the outcomes into 0, 1 or 2.
"""
from __future__ import annotations

import os
import shutil
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
from ..runfolder import (MANIFEST, RUN_RECORD, check_sign_key, find_run, public_key_fingerprint, read_run_record,
                         writable_check, write_json)
from .dask_executor import check_scheduler
from .plan import Planned, plan, preflight
from .progress import FAILED, Progress
from .proofdir import new_run_dir
from .session import _execute_session
from .state import Options, Outcome, _Run
from .workdir import RunWork


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


MAX_WORKERS = 64


def _options(options: Options | None, campaign: Campaign | None = None, **kw) -> Options:
    options = options or Options()
    for k, v in kw.items():
        if v is not None:
            setattr(options, k, v)
    if not options.workers:
        options.workers = os.cpu_count() or 1
    if not 1 <= options.workers <= MAX_WORKERS:
        raise UserError(f"{options.workers}; expected a whole number of workers from 1 to {MAX_WORKERS}",
                        key="--workers")
    if options.executor not in ("local", "dask"):
        raise UserError(f"{options.executor!r}; expected local or dask", key="--executor")
    if options.executor == "dask" and not options.scheduler:
        raise UserError("missing; expected the address of a Dask scheduler (tcp://host:8786)", key="--scheduler")
    if options.sign_key:
        options.sign_fingerprint = check_sign_key(Path(options.sign_key))
    if campaign is not None and campaign.public_key is not None:
        # the campaign says which key its runs are signed for: a run signed otherwise, or not at all,
        # would fail segur verify
        expected = public_key_fingerprint(campaign.public_key, key="signing.public_key")
        if not options.sign_key:
            raise UserError(f"the campaign names signing.public_key ({campaign.public_key.name}); expected "
                            "--sign-key with its private key", key="--sign-key")
        if options.sign_fingerprint != expected:
            raise UserError(f"is not the private key of the campaign's signing.public_key "
                            f"({campaign.public_key.name}); expected the matching key", file=str(options.sign_key),
                            key="--sign-key")
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
    options = _options(options, campaign)
    outputs = Path(outputs) if outputs else default_outputs()
    run_id, run_dir = new_run_dir(outputs, campaign.name)
    work = RunWork(run_dir).acquire()
    record = _record_base(campaign, run_id, planned, options)
    record["dossier_scope"] = scope
    started = now_paris().isoformat(timespec="seconds")
    record.update(started=started, status="running", _action="run", _session_started=started)
    try:
        write_json(run_dir / RUN_RECORD, record)
    except OSError as exc:
        work.release()
        shutil.rmtree(run_dir, ignore_errors=True)
        raise UserError(f"cannot write the run folder ({exc.strerror}); expected a writable outputs folder",
                        key=str(run_dir.parent)) from None
    say(f"run {campaign.name}/{run_id}: {len(planned)} proof(s), {options.workers} worker(s) → {run_dir}")
    run = _Run(campaign, run_dir, run_id, Secrets.for_campaign(campaign), options,
               Progress(campaign.name, len(planned), say, options.progress), work=work)
    _execute_session(run, record, planned, planned)
    return run_dir, _outcomes(run)


def _reopen(run_ref: str | Path, outputs: Path | None, options: Options | None, say, rerun: bool
            ) -> tuple[_Run, dict, list[Planned]]:
    run_dir = find_run(run_ref, Path(outputs) if outputs else default_outputs())
    record = read_run_record(run_dir)
    campaign = load_campaign(record["params_path"])
    if campaign.name != record["campaign"]:
        raise UserError(f"the params file now names campaign {campaign.name!r}, the run {record['campaign']!r}; "
                        "expected the run's own campaign file", file=record["params_path"], key="campaign")
    # a run is one campaign file: proofs made under two versions of it would disagree with run.json (whose
    # params_sha256 is the first) — refused; start a new run for the changed campaign
    now_sha = sha256_bytes(campaign.path.read_bytes())
    if record.get("params_sha256") and now_sha != record["params_sha256"]:
        raise UserError(f"changed since the run started (SHA-256 {now_sha[:12]}…, the run used "
                        f"{str(record['params_sha256'])[:12]}…); expected the campaign file as it was — put it back, "
                        "or start a new run with segur run", file=record["params_path"])
    campaign.check_secrets_available()
    load_driver_class(campaign.driver, file=str(campaign.path), complete=True)
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
    options = _options(options, campaign)
    work = RunWork(run_dir).acquire()       # one writer per run folder; a second is refused in one line
    try:
        writable_check(run_dir)
    except UserError:
        work.release()
        raise
    run = _Run(campaign, run_dir, record["run_id"], Secrets.for_campaign(campaign), options,
               Progress(campaign.name, 0, say, options.progress), rerun=rerun, work=work)
    for e in record.get("proofs", []):
        run.completed[e["scenario"]] = e
    if "_session_started" in record:        # a session that crashed (SIGKILL, power cut) never sealed
        history = record.setdefault("history", [])
        history.append({"action": record.pop("_action", "run"), "started": record.pop("_session_started"),
                        "finished": None, "status": "crashed", "duration_s": 0.0})
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
    if record.get("status") == "complete" and (run.run_dir / MANIFEST).is_file():
        run.work.release()
        raise UserError("the run is already complete; expected an interrupted run (to run failed proofs again: "
                        f"segur rerun {run.run_dir} --failed)", key="--resume")
    todo = [p for p in planned if p.scenario.id not in run.completed]
    run.progress.total = len(todo)
    say(f"resume {run.campaign.name}/{run.run_id}: {len(todo)} proof(s) left of {len(planned)}")
    now = now_paris().isoformat(timespec="seconds")
    record.update(status="running", _action="resume", _session_started=now)
    _start_record(run, record)
    _execute_session(run, record, planned, todo)
    return run.run_dir, _outcomes(run)


def rerun_failed(run_ref: str | Path, *, outputs: Path | None = None, options: Options | None = None,
                 say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Run the ERREUR and NON CONFORME proofs of a finished run again, in the same run folder; each earlier
    attempt is kept under ``<proof>/attempts/<n>/`` and listed in the proof's annex."""
    run, record, planned = _reopen(run_ref, outputs, options, say, rerun=True)
    if record.get("status") != "complete" or not (run.run_dir / MANIFEST).is_file():
        run.work.release()
        raise UserError(f"the run is {record.get('status')}{'' if (run.run_dir / MANIFEST).is_file() else ', not sealed'}"
                        f"; expected a complete run (finish it first with segur run --resume {run.run_dir})",
                        key=str(run.run_dir))
    todo = [p for p in planned if run.completed.get(p.scenario.id, {}).get("verdict") in FAILED]
    run.progress.total = len(todo)
    say(f"rerun {run.campaign.name}/{run.run_id}: {len(todo)} failed proof(s)")
    if todo:
        now = now_paris().isoformat(timespec="seconds")
        record.update(status="running", _action="rerun-failed", _session_started=now)
        _start_record(run, record)
        _execute_session(run, record, planned, todo)
    else:
        run.work.release()
    return run.run_dir, _outcomes(run)


def _start_record(run: _Run, record: dict) -> None:
    try:
        write_json(run.run_dir / RUN_RECORD, record)
    except OSError as exc:
        run.work.release()
        raise UserError(f"cannot write the run folder ({exc.strerror}); expected free space and a writable "
                        "folder", key=str(run.run_dir)) from None


def exit_code(outcomes: list[Outcome]) -> int:
    """0: all CONFORME or NON APPLICABLE; 1: some NON CONFORME; 2: some ERREUR (could not run)."""
    verdicts = {o.verdict for o in outcomes}
    if ERREUR in verdicts:
        return 2
    if NON_CONFORME in verdicts:
        return 1
    return 0

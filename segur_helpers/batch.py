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
import inspect
import json
import os
import secrets as _secrets
import shutil
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import nbformat

from . import __version__, catalog
from .browser import find_chromium
from .drivers import load_driver_class
from .errors import UserError
from .evidence import sha256_bytes, sha256_file
from .ids import OLD_IDS, current_id, normalize_requirement_id, renamed_notice, safe_name
from .params import Campaign, Secrets, load_campaign
from .proof import (CONFORME, ERREUR, NON_APPLICABLE, NON_CONFORME, PROGRESS_FILE, RESULT_FILE, TOOLKIT_ROOT,
                    default_outputs, error_result, now_paris)
from .runfolder import (MANIFEST, RUN_RECORD, check_sign_key, find_run, read_json, writable_check, write_json,
                        write_manifest)

NOTEBOOK_NAME = "notebook.ipynb"
ATTEMPTS_DIR = "attempts"
TEXT_SUFFIXES = {".ipynb", ".json", ".html", ".txt", ".csv", ".eml", ".xml", ".log", ".md", ".yaml"}
FAILED = (ERREUR, NON_CONFORME)


@dataclass
class Planned:
    requirement: catalog.Requirement
    scenario: catalog.Scenario
    condition_met: bool


@dataclass
class Outcome:
    scenario: str
    verdict: str
    pdf: Path | None
    duration_s: float
    error: dict | None
    attempts: int = 1


@dataclass
class Options:
    workers: int = 0                 # 0: number of cores
    executor: str = "local"          # local | dask
    scheduler: str | None = None     # dask scheduler address
    sign_key: Path | None = None
    progress: bool | None = None     # None: a bar on a terminal, plain lines otherwise


# -- scope ------------------------------------------------------------------------------------------
def _split(values) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    return [x.strip() for v in values for x in str(v).split(",") if x.strip()]


def plan(campaign: Campaign, only: list[str] | None = None, family: list[str] | str | None = None,
         tags: list[str] | str | None = None) -> list[Planned]:
    """The scenarios in scope, in the params' order; ``only``/``family``/``tags`` narrow it."""
    chosen = dict(campaign.requirements)
    only, families, tags = _split(only), _split(family), _split(tags)
    if only:
        wanted = []
        for x in only:
            rid = normalize_requirement_id(x)
            if rid in OLD_IDS:  # an id of an earlier version of the toolkit
                print(renamed_notice(rid, "--only"), file=sys.stderr)
            wanted.append(current_id(rid))
        unknown = [w for w in wanted if w not in chosen]
        if unknown:
            raise UserError(f"{unknown[0]} is not in the campaign; expected one of {', '.join(chosen)}",
                            key="--only")
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    if families:
        chosen = {k: v for k, v in chosen.items() if catalog.get(k).family in families}
    if tags:
        chosen = {k: v for k, v in chosen.items() if set(catalog.get(k).tags) & set(tags)}
    if not chosen:
        what = "--family " + ",".join(families) if families else "--tag " + ",".join(tags)
        raise UserError("selects no requirement of the campaign; expected a family or tag of one of "
                        f"{', '.join(campaign.requirements)}", key=what)
    out = []
    for rid, entry in chosen.items():
        req = catalog.get(rid)
        for scen in req.scenarios:
            if entry["condition_met"] and not scen.notebook_path.is_file():
                raise UserError(f"notebook {scen.notebook_path} is missing; expected the scenario notebook",
                                key=f"requirements.{rid}")
            out.append(Planned(req, scen, entry["condition_met"]))
    return out


def measured_durations(campaign_dir: Path, runs: int = 10) -> dict[str, float]:
    """Each scenario's latest measured duration (seconds) in the campaign's ``runs`` most recent run
    folders, from their ``run.json``; unreadable records are skipped."""
    records = sorted(campaign_dir.glob(f"*/{RUN_RECORD}"), key=lambda p: p.stat().st_mtime, reverse=True)
    out: dict[str, float] = {}
    for path in records[:runs]:
        try:
            proofs = read_json(path).get("proofs") or []
        except (OSError, ValueError):
            continue
        for p in proofs:
            sid, d = p.get("scenario"), p.get("duration_s")
            sid = current_id(sid) if isinstance(sid, str) else sid  # an old run's ids (ids.OLD_IDS)
            if isinstance(sid, str) and isinstance(d, (int, float)) and sid not in out:
                out[sid] = float(d)
    return out


def schedule(items: list[Planned], measured: dict[str, float]) -> list[Planned]:
    """Longest expected proofs first, so a long proof (one that waits for a DMP outage and its retries)
    does not start last and leave the other workers idle at the end of the run.

    Expected duration: the one measured in an earlier run of the campaign, else the catalogue's
    ``expected_s`` for the scenario, else the median of the measured ones (0 when none is): with no
    figure at all the params' order stays as it is (the sort is stable)."""
    known = [measured[i.scenario.id] for i in items if i.scenario.id in measured]
    default = statistics.median(known) if known else 0.0

    def expected(item: Planned) -> float:
        if item.scenario.id in measured:
            return measured[item.scenario.id]
        return item.scenario.expected_s if item.scenario.expected_s is not None else default

    return sorted(items, key=expected, reverse=True)


def conflicts(a: Planned, b: Planned) -> bool:
    """True when ``a`` and ``b`` must not run at the same time: one interrupts a shared service of the
    target (catalogue ``disrupts``) that the other uses (its tags) or interrupts too. A proof that is
    not applicable only writes its justification and never conflicts."""
    if not (a.condition_met and b.condition_met):
        return False
    uses_a = set(a.requirement.tags) | set(a.scenario.disrupts)
    uses_b = set(b.requirement.tags) | set(b.scenario.disrupts)
    return bool(set(a.scenario.disrupts) & uses_b or set(b.scenario.disrupts) & uses_a)


class Gate:
    """Hands the workers their next proof: the first one, in schedule order, that conflicts with no
    proof in flight; a worker waits while every remaining one conflicts."""

    def __init__(self, items: list[Planned]):
        self.pending = list(items)
        self.running: list[Planned] = []
        self.cond = asyncio.Condition()

    async def take(self) -> Planned | None:
        async with self.cond:
            while self.pending:
                for i, item in enumerate(self.pending):
                    if not any(conflicts(item, r) for r in self.running):
                        self.running.append(self.pending.pop(i))
                        return item
                await self.cond.wait()
            return None

    async def release(self, item: Planned) -> None:
        async with self.cond:
            if item in self.running:
                self.running.remove(item)
            self.cond.notify_all()


def preflight(params_path: str | Path, only: list[str] | None = None, family=None, tags=None
              ) -> tuple[Campaign, list[Planned]]:
    """All input checks, before anything is written. Raises UserError (one line)."""
    campaign = load_campaign(params_path)
    for line in campaign.notices:
        print(line, file=sys.stderr)
    campaign.check_secrets_available()
    load_driver_class(campaign.driver, file=str(params_path))
    planned = plan(campaign, only, family, tags)
    find_chromium()
    return campaign, planned


def new_run_dir(outputs: Path, campaign: str) -> tuple[str, Path]:
    """A fresh ``outputs/<campaign>/<run-id>``; ``mkdir(exist_ok=False)`` so nothing is ever reused."""
    base = outputs / campaign
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the campaign folder ({exc.strerror}); expected a writable outputs "
                        "folder", key=str(base)) from None
    writable_check(base)
    while True:
        run_id = now_paris().strftime("%Y%m%dT%H%M%S") + "-" + _secrets.token_hex(2)
        try:
            (base / run_id).mkdir()
            return run_id, base / run_id
        except FileExistsError:
            continue
        except OSError as exc:
            raise UserError(f"cannot create the run folder ({exc.strerror}); expected a writable outputs "
                            "folder", key=str(base)) from None


# -- one proof's artefacts ----------------------------------------------------------------------------
def _strip_notebook(nb_path: Path, result: dict, secrets: Secrets) -> None:
    """Keep the executed notebook, minus anything secret; record the result in its metadata."""
    nb = nbformat.read(str(nb_path), as_version=4)
    pm = nb.metadata.get("papermill", {})
    for key in ("environment_variables", "input_path", "output_path"):
        pm.pop(key, None)
    nb.metadata["segur"] = {"result": result}
    text = secrets.redact(nbformat.writes(nb))
    nb_path.write_text(text, encoding="utf-8")


def _scrub_and_scan(folder: Path, secrets: Secrets) -> list[Path]:
    """Redact secrets from text artefacts; return the binary files that still contain one."""
    leaks = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if ATTEMPTS_DIR in path.relative_to(folder).parts[:1]:
            continue   # earlier attempts were scrubbed when they were written
        data = path.read_bytes()
        clean = secrets.redact_bytes(data)
        if clean == data:
            continue
        if path.suffix.lower() in TEXT_SUFFIXES:
            path.write_bytes(clean)
        else:
            leaks.append(path)
    return leaks


def _params(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str) -> dict:
    return {"campaign": str(campaign.path), "requirement": planned.requirement.id,
            "run_dir": str(proof_dir), "run_id": run_id}


def _progress_step(proof_dir: Path) -> dict | None:
    try:
        return json.loads((proof_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _result_after(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str, started,
                  failure: tuple[str, str] | None) -> dict:
    """The proof's result once its notebook stopped: the kernel's ``result.json``, or ERREUR with the cause
    (and, for a killed or hung kernel, the step that was under way)."""
    result_path = proof_dir / RESULT_FILE
    if result_path.is_file():
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if failure and result["verdict"] != ERREUR:
            result["verdict"], result["error"] = ERREUR, {"kind": failure[0], "message": failure[1], "step": 0,
                                                          "detail": ""}
        return result
    kind, message = failure or ("no_result", "le carnet n'a produit aucun résultat")
    step = _progress_step(proof_dir)
    if step:
        message += f", pendant l'étape {step['step']} « {step['title']} »"
    result = error_result(campaign, planned.requirement, planned.scenario, run_id, message=message, kind=kind,
                          started=started, finished=now_paris())
    if step:
        result["error"]["step"] = step["step"]
        result["steps"] = [{"number": step["step"], "title": step["title"], "status": "error",
                            "error": kind, "duration_s": 0.0}]
    return result


async def _not_applicable(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str, browser) -> dict:
    """Condition declared unmet: NON APPLICABLE, and the justification document (PDF and DOCX) filed in
    place of the proof (no notebook run). ERREUR with its cause when the documents cannot be written."""
    from .justify import produce

    started = now_paris()
    result = error_result(campaign, planned.requirement, planned.scenario, run_id, message="", kind="",
                          started=started, finished=started)
    try:
        result.update(await produce(browser, campaign, planned.requirement, planned.scenario, proof_dir, run_id))
        result.update(verdict=NON_APPLICABLE, error=None)
    except Exception as exc:  # noqa: BLE001 — the run goes on; this proof says why it has no document
        first = (str(exc).strip().splitlines() or [""])[0]
        result["error"] = {"kind": "justification_error", "step": 0, "detail": "",
                           "message": f"justification impossible à produire : {type(exc).__name__}: {first}"[:400]}
    finished = now_paris()
    result.update(finished=finished.isoformat(timespec="seconds"),
                  duration_s=round((finished - started).total_seconds(), 2))
    (proof_dir / RESULT_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result


def _document(proof_dir: Path, result: dict) -> Path | None:
    """The PDF filed for a proof that ran no notebook (a justification), if any."""
    doc = (result.get("justification_document") or {}).get("pdf")
    return proof_dir / doc if doc and (proof_dir / doc).is_file() else None


def _attempt_history(proof_dir: Path) -> list[dict]:
    """Earlier attempts of a proof (``attempts/<n>/result.json``), oldest first."""
    base = proof_dir / ATTEMPTS_DIR
    out = []
    if base.is_dir():
        for d in sorted((p for p in base.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name)):
            try:
                r = read_json(d / RESULT_FILE)
            except (OSError, ValueError):
                r = {}
            pdfs = sorted(d.glob("*.pdf"))
            out.append({"attempt": int(d.name), "verdict": r.get("verdict", "?"), "started": r.get("started", ""),
                        "finished": r.get("finished", ""), "duration_s": r.get("duration_s"),
                        "cause": (r.get("error") or {}).get("message", ""),
                        "failed_checks": [c["label"] for c in r.get("checks", []) if not c.get("passed")],
                        "pdf": pdfs[0].relative_to(proof_dir).as_posix() if pdfs else "",
                        "pdf_sha256": sha256_file(pdfs[0]) if pdfs else ""})
    return out


def _archive_attempt(proof_dir: Path) -> int:
    """Move the proof's current files to ``attempts/<n>/`` before it runs again; returns n."""
    base = proof_dir / ATTEMPTS_DIR
    n = len([p for p in base.iterdir() if p.name.isdigit()]) + 1 if base.is_dir() else 1
    target = base / str(n)
    target.mkdir(parents=True)
    for item in list(proof_dir.iterdir()):
        if item.name != ATTEMPTS_DIR:
            item.rename(target / item.name)
    return n


def _restore_attempt(proof_dir: Path) -> None:
    """An interrupted rerun: drop the partial new attempt and put the last archived one back."""
    base = proof_dir / ATTEMPTS_DIR
    numbered = sorted((p for p in base.iterdir() if p.name.isdigit()), key=lambda p: int(p.name))
    for item in list(proof_dir.iterdir()):
        if item.name != ATTEMPTS_DIR:
            shutil.rmtree(item) if item.is_dir() else item.unlink()
    last = numbered[-1]
    for item in list(last.iterdir()):
        item.rename(proof_dir / item.name)
    last.rmdir()
    if not any(base.iterdir()):
        base.rmdir()


# -- progress -----------------------------------------------------------------------------------------
class Progress:
    """done / failed / remaining and the proofs under way, as a bar on a terminal or plain lines."""

    def __init__(self, campaign: str, total: int, say: Callable[[str], None], bar: bool):
        self.campaign, self.total, self.say, self.bar = campaign, total, say, bar
        self.done = self.failed = 0
        self.current: list[str] = []
        self.t0 = time.monotonic()

    def _line(self) -> str:
        width = 16
        filled = int(width * self.done / self.total) if self.total else width
        cur = ", ".join(self.current[:4]) + (" …" if len(self.current) > 4 else "")
        return (f"\r[{self.campaign}] [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} done · "
                f"{self.failed} failed · {self.total - self.done} remaining · {time.monotonic() - self.t0:.0f}s"
                + (f" · running {cur}" if cur else ""))

    @staticmethod
    def _width() -> int:
        return max(40, shutil.get_terminal_size((100, 20)).columns - 1)

    def _draw(self) -> None:
        if self.bar:
            w = self._width()
            sys.stderr.write("\r" + self._line().lstrip("\r")[:w].ljust(w))
            sys.stderr.flush()

    def start(self, scenario: str) -> None:
        self.current.append(scenario)
        self._draw()

    def finish(self, scenario: str, verdict: str, pdf: Path | None) -> None:
        if scenario in self.current:
            self.current.remove(scenario)
        self.done += 1
        self.failed += verdict in FAILED
        if self.bar:
            sys.stderr.write("\r" + " " * self._width() + "\r")
            sys.stderr.flush()
        self.say(f"{scenario}: {verdict}" + (f" — {pdf}" if pdf else "")
                 + f"  [{self.done}/{self.total} done, {self.failed} failed, {self.total - self.done} remaining]")
        self._draw()

    def close(self) -> None:
        if self.bar:
            sys.stderr.write("\r" + " " * self._width() + "\r")
            sys.stderr.flush()


# -- the run ----------------------------------------------------------------------------------------
@dataclass
class _Run:
    campaign: Campaign
    run_dir: Path
    run_id: str
    secrets: Secrets
    options: Options
    progress: Progress
    rerun: bool = False
    completed: dict[str, dict] = field(default_factory=dict)   # scenario → run.json entry
    in_flight: set[str] = field(default_factory=set)

    def proof_dir(self, scenario_id: str) -> Path:
        """A proof's folder: ``<run>/<scenario>``, or the folder an earlier session of the run gave it
        under a former id (``DMP_CS.01.01`` for ``DMP/CONF.16.01``: ids.OLD_IDS)."""
        folder = (self.completed.get(scenario_id) or {}).get("folder")
        return self.run_dir / (folder or safe_name(scenario_id))


def _kernel_env(endpoint: str | None) -> dict[str, str]:
    from .kernels import kernel_env
    from .shared_browser import ENDPOINT_ENV

    extra = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    # the kernels must import this very toolkit (a checkout, a worktree), not another installed copy
    root = str(TOOLKIT_ROOT)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    extra["PYTHONPATH"] = os.pathsep.join([root, *paths])
    if endpoint:
        extra[ENDPOINT_ENV] = endpoint
    return kernel_env(extra)


def _prepare_proof_dir(run: _Run, item: Planned) -> tuple[Path, int]:
    proof_dir = run.proof_dir(item.scenario.id)
    attempt = 1
    if run.rerun and proof_dir.is_dir():
        attempt = _archive_attempt(proof_dir) + 1
        return proof_dir, attempt
    if proof_dir.exists():         # resume: a partial folder of an interrupted proof
        shutil.rmtree(proof_dir)
    proof_dir.mkdir()
    return proof_dir, attempt


async def _finish(run: _Run, item: Planned, proof_dir: Path, result: dict, export_browser, t0: float,
                  attempt: int, execute_s: float = 0.0) -> Outcome:
    """Notebook stripped, PDF printed, secrets scrubbed, record entry made: the proof is complete."""
    from .export import export_proof_pdf

    t_export = time.monotonic()
    try:
        return await _finish_files(run, item, proof_dir, result, export_browser, t0, attempt, execute_s, t_export)
    except Exception as exc:  # noqa: BLE001 — e.g. the folder cannot be written (full disk): ERREUR, go on
        if isinstance(exc, OSError):
            message = (f"écriture impossible dans le dossier de la preuve : {exc.strerror or exc} "
                       f"({exc.filename or proof_dir})")
        else:
            first = (str(exc).strip().splitlines() or [""])[0]
            message = f"document de preuve impossible à produire : {type(exc).__name__}: {first}"[:400]
        entry = {"scenario": item.scenario.id, "requirement": item.requirement.id, "folder": proof_dir.name,
                 "chapter": result.get("chapter") or item.requirement.chapter, "verdict": ERREUR,
                 "duration_s": round(time.monotonic() - t0, 2),
                 "attempts": attempt, "started": result.get("started"), "finished": now_paris().isoformat(
                     timespec="seconds"), "pdf": None, "pdf_sha256": None, "error": message,
                 "timing": {"execute_s": round(execute_s, 3), "export_s": 0.0}}
        run.completed[item.scenario.id] = entry
        run.in_flight.discard(item.scenario.id)
        run.progress.finish(item.scenario.id, ERREUR, None)
        return Outcome(item.scenario.id, ERREUR, None, entry["duration_s"], {"kind": "write_error",
                                                                             "message": message}, attempt)


async def _finish_files(run: _Run, item: Planned, proof_dir: Path, result: dict, export_browser, t0: float,
                        attempt: int, execute_s: float, t_export: float) -> Outcome:
    from .export import export_proof_pdf

    history = _attempt_history(proof_dir)
    if history:
        result["attempts"] = history + [{"attempt": attempt, "verdict": result["verdict"],
                                         "started": result.get("started", ""),
                                         "finished": result.get("finished", ""),
                                         "duration_s": result.get("duration_s"),
                                         "cause": (result.get("error") or {}).get("message", ""),
                                         "failed_checks": [c["label"] for c in result.get("checks", [])
                                                           if not c.get("passed")], "pdf": "", "pdf_sha256": ""}]
    write_json(proof_dir / RESULT_FILE, result)
    pdf = _document(proof_dir, result)
    nb_path = proof_dir / NOTEBOOK_NAME
    if nb_path.is_file():
        await asyncio.to_thread(_strip_notebook, nb_path, result, run.secrets)
        pdf = proof_dir / f"{safe_name(item.scenario.id)}.pdf"
        await export_proof_pdf(export_browser, nb_path, result, pdf, sha256_file(nb_path))
    leaks = await asyncio.to_thread(_scrub_and_scan, proof_dir, run.secrets)
    if leaks:
        result["verdict"] = ERREUR
        result["error"] = {"kind": "secret_leak", "step": 0, "detail": "",
                           "message": "un secret figure dans " + ", ".join(p.name for p in leaks)}
        write_json(proof_dir / RESULT_FILE, result)
    duration = round(time.monotonic() - t0, 2)
    entry = {"scenario": item.scenario.id, "requirement": item.requirement.id, "folder": proof_dir.name,
             "chapter": result.get("chapter") or item.requirement.chapter,  # the imported REM's (cover_info)
             "verdict": result["verdict"], "duration_s": duration, "attempts": attempt,
             "started": result.get("started"), "finished": result.get("finished"),
             "pdf": pdf.relative_to(run.run_dir).as_posix() if pdf else None,
             "pdf_sha256": sha256_file(pdf) if pdf else None,
             "error": (result.get("error") or {}).get("message") or None,
             "timing": {"execute_s": round(execute_s, 3), "export_s": round(time.monotonic() - t_export, 3)}}
    run.completed[item.scenario.id] = entry
    run.in_flight.discard(item.scenario.id)
    run.progress.finish(item.scenario.id, result["verdict"], pdf)
    return Outcome(item.scenario.id, result["verdict"], pdf, duration, result.get("error"), attempt)


async def _local_workers(run: _Run, items: list[Planned], endpoint: str, export_browser) -> None:
    from .kernels import WarmKernel, parameterize

    gate = Gate(items)
    env = _kernel_env(endpoint)
    finishing: set[asyncio.Task] = set()
    exports = asyncio.Semaphore(max(1, run.options.workers))
    timeout = float(run.campaign.timeouts["proof_s"])

    async def finish(item, proof_dir, result, t0, attempt, execute_s):
        async with exports:
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
                    if item.condition_met:
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
    from .kernels import WarmKernel, parameterize

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


async def _dask_workers(run: _Run, items: list[Planned], endpoint: str, export_browser) -> None:
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover
        raise UserError("dask distributed is not installed; expected pip install distributed",
                        key="--executor dask") from None
    client = await Client(run.options.scheduler, asynchronous=True, timeout="20s")
    # the run's Chromium listens on 127.0.0.1: only workers on this machine can use it
    env = {k: v for k, v in _kernel_env(endpoint if _local_scheduler(run.options.scheduler) else None).items()
           if k in ("PYTHONPATH", "PYDEVD_DISABLE_FILE_VALIDATION", "SEGUR_BROWSER_ENDPOINT", "SEGUR_CATALOG_EXTRA")}
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
                proof_dir, attempt = run.proof_dir(item.scenario.id), 1
                result = error_result(run.campaign, item.requirement, item.scenario, run.run_id,
                                      kind="write_error", started=started, finished=now_paris(),
                                      message=f"écriture impossible dans le dossier de la preuve : "
                                              f"{exc.strerror or exc} ({exc.filename or proof_dir})")
                await _finish(run, item, proof_dir, result, export_browser, t0, attempt)
                return
            try:
                result = await execute(item, proof_dir, attempt, started)
            finally:
                await gate.release(item)   # the target is free again; the PDF is made meanwhile
            await _finish(run, item, proof_dir, result, export_browser, t0, attempt)

        async def execute(item: Planned, proof_dir: Path, attempt: int, started) -> dict:
            if item.condition_met:
                spec = {"env": env, "cwd": str(item.scenario.notebook_path.parent),
                        "notebook": str(item.scenario.notebook_path), "proof_dir": str(proof_dir),
                        "params": _params(item, run.campaign, proof_dir, run.run_id),
                        "timeout": float(run.campaign.timeouts["proof_s"])}
                try:
                    answer = await client.submit(_dask_execute, spec, pure=False,
                                                 key=f"segur-{run.run_id}-{safe_name(item.scenario.id)}-{attempt}")
                    failure = tuple(answer["failure"]) if answer["failure"] else None
                except Exception as exc:  # noqa: BLE001 — a lost worker: ERREUR with its cause
                    failure = ("dask_error", f"exécution impossible sur le cluster Dask : {type(exc).__name__}: "
                                             f"{(str(exc).splitlines() or [''])[0]}"[:400])
                return _result_after(item, run.campaign, proof_dir, run.run_id, started, failure)
            return await _not_applicable(item, run.campaign, proof_dir, run.run_id, export_browser)

        async def lane() -> None:
            while (item := await gate.take()) is not None:
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

    from .shared_browser import ChromiumServer

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


async def _seal(run: _Run, record: dict, status: str, planned: list[Planned], browser) -> None:
    """run.json, summary and manifest, whatever happened (complete or interrupted)."""
    from .summary import write_summaries

    # proofs under way when the run stopped leave no half-written folder behind
    for sid in list(run.in_flight):
        proof_dir = run.proof_dir(sid)
        if run.rerun and (proof_dir / ATTEMPTS_DIR).is_dir():
            _restore_attempt(proof_dir)
        elif proof_dir.exists():
            shutil.rmtree(proof_dir)
    finished = now_paris()
    order = {p.scenario.id: i for i, p in enumerate(planned)}
    entries = sorted(run.completed.values(), key=lambda e: order.get(e["scenario"], 1 << 30))
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    remaining = [p.scenario.id for p in planned if p.scenario.id not in run.completed]
    if remaining and status == "complete":
        status = "incomplete"
    history = record.setdefault("history", [])
    session_started = record.pop("_session_started", None) or record["started"]
    history.append({"action": record.pop("_action", "run"), "started": session_started,
                    "finished": finished.isoformat(timespec="seconds"), "status": status,
                    "duration_s": round((finished - _parse_time(session_started)).total_seconds(), 2)})
    record.update(status=status, finished=finished.isoformat(timespec="seconds"),
                  duration_s=round(sum(h["duration_s"] for h in history), 2),
                  counts=counts, remaining=remaining, proofs=entries)
    write_json(run.run_dir / RUN_RECORD, record)
    for name in ("summary.csv", "summary.xlsx", "summary.pdf"):
        (run.run_dir / name).unlink(missing_ok=True)     # a summary always describes the folder as it is
    if status == "complete":
        await write_summaries(run.run_dir, record, browser)
    write_manifest(run.run_dir, run.options.sign_key)


def _parse_time(iso: str):
    from datetime import datetime
    return datetime.fromisoformat(iso)


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


# kept for callers of the first version
__all__ = ["preflight", "run_campaign", "resume_run", "rerun_failed", "exit_code", "plan", "Planned", "Outcome",
           "Options", "MANIFEST", "RUN_RECORD", "NOTEBOOK_NAME", "write_manifest", "CONFORME"]

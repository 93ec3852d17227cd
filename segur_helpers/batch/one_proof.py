"""One proof, whichever executor runs it: what its notebook is given, what it ended with, and its files.

A worker starts the notebook with :func:`_params` in a kernel whose environment is :func:`_kernel_env`;
once it stopped, :func:`_result_after` reads its result (ERREUR naming the step a killed or hung kernel
was in). A proof whose condition is unmet runs no notebook: :func:`_not_applicable` files the
justification instead; a guided proof runs no kernel either: :func:`_guided` makes it in this process. :func:`_finish` then completes the proof: result written, notebook stripped,
PDF printed, secrets scrubbed, and its entry in the run's record.
"""
from __future__ import annotations

import asyncio
import errno
import json
import os
import shutil
import time
from pathlib import Path

from ..evidence import sha256_file
from ..ids import safe_name
from ..params import Campaign
from ..proof import ERREUR, NON_APPLICABLE, PROGRESS_FILE, RESULT_FILE, TOOLKIT_ROOT, error_result, now_paris
from ..runfolder import RUN_RECORD, write_json
from .chromium import with_browser
from .plan import Planned
from .proofdir import ATTEMPTS_DIR, NOTEBOOK_NAME, _attempt_history, _scrub_and_scan, _strip_notebook
from .state import Outcome, _Run


# errors that mean the run folder itself cannot be written (not this proof's fault): the session stops
UNWRITABLE = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EPERM, errno.EFBIG}


def unwritable(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in UNWRITABLE


def _checkpoint(run: _Run) -> None:
    """run.json as it stands: every finished proof is in it the moment it ends (a SIGKILL loses none)."""
    record = run.record
    if record is None:
        return
    order = {sid: i for i, sid in enumerate(record.get("scope") or [])}
    entries = sorted(run.completed.values(), key=lambda e: order.get(e["scenario"], 1 << 30))
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    record.update(proofs=entries, counts=counts, status="running")
    try:
        write_json(run.run_dir / RUN_RECORD, record)
    except OSError as exc:
        run.unwritable(exc)


def _kernel_env(endpoint: str | None) -> dict[str, str]:
    from ..kernels import kernel_env
    from ..shared_browser import ENDPOINT_ENV

    extra = {"PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    # the kernels must import this very toolkit (a checkout, a worktree), not another installed copy
    root = str(TOOLKIT_ROOT)
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]
    extra["PYTHONPATH"] = os.pathsep.join([root, *paths])
    if endpoint:
        extra[ENDPOINT_ENV] = endpoint
    return kernel_env(extra)


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


def _clear(proof_dir: Path) -> None:
    """Remove what a first try on a browser that died meanwhile left in the proof's folder (its earlier
    attempts stay)."""
    for leftover in list(proof_dir.iterdir()):
        if leftover.name != ATTEMPTS_DIR:
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


async def _not_applicable(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str, browser) -> dict:
    """Condition declared unmet: NON APPLICABLE, and the justification document (PDF and DOCX) filed in
    place of the proof (no notebook run). ERREUR with its cause when the documents cannot be written.
    ``browser``: the run's :class:`.chromium.RunBrowser` (restarted if it died)."""
    from ..justify import produce

    started = now_paris()
    result = error_result(campaign, planned.requirement, planned.scenario, run_id, message="", kind="",
                          started=started, finished=started)
    try:
        async def make(b):
            _clear(proof_dir)
            return await produce(b, campaign, planned.requirement, planned.scenario, proof_dir, run_id)
        result.update(await with_browser(browser, make))
        result.update(verdict=NON_APPLICABLE, error=None)
    except OSError as exc:
        if unwritable(exc):
            raise            # the run folder itself: the session stops (resumable)
        first = (str(exc).strip().splitlines() or [""])[0]
        result["error"] = {"kind": "justification_error", "step": 0, "detail": "",
                           "message": f"justification impossible à produire : {type(exc).__name__}: {first}"[:400]}
    except Exception as exc:  # noqa: BLE001 — the run goes on; this proof says why it has no document
        first = (str(exc).strip().splitlines() or [""])[0]
        result["error"] = {"kind": "justification_error", "step": 0, "detail": "",
                           "message": f"justification impossible à produire : {type(exc).__name__}: {first}"[:400]}
    finished = now_paris()
    result.update(finished=finished.isoformat(timespec="seconds"),
                  duration_s=round((finished - started).total_seconds(), 2))
    (proof_dir / RESULT_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return result


async def _guided(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str, browser) -> dict:
    """A guided proof, made in this process (no kernel): its captures through the run's Chromium, its
    result and the notebook.ipynb record written in the proof's folder; ERREUR with its cause when it
    cannot be made. ``browser``: the run's :class:`.chromium.RunBrowser` (restarted if it died)."""
    from ..guided import produce

    started = now_paris()
    try:
        async def make(b):
            _clear(proof_dir)
            return await produce(campaign, planned.requirement.id, proof_dir, run_id, b)
        return await with_browser(browser, make)
    except Exception as exc:  # noqa: BLE001 — the run goes on; this proof says why it could not be made
        if isinstance(exc, OSError) and unwritable(exc):
            raise            # the run folder itself: the session stops (resumable)
        first = (str(exc).strip().splitlines() or [""])[0]
        result = error_result(campaign, planned.requirement, planned.scenario, run_id, kind="guided_error",
                              message=f"preuve guidée impossible à produire : {type(exc).__name__}: {first}"[:400],
                              started=started, finished=now_paris())
        (proof_dir / RESULT_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
        return result


def _document(proof_dir: Path, result: dict) -> Path | None:
    """The PDF filed for a proof that ran no notebook (a justification), if any."""
    doc = (result.get("justification_document") or {}).get("pdf")
    return proof_dir / doc if doc and (proof_dir / doc).is_file() else None


async def _finish(run: _Run, item: Planned, proof_dir: Path, result: dict, t0: float, attempt: int,
                  execute_s: float = 0.0) -> Outcome | None:
    """Notebook stripped, PDF printed, secrets scrubbed, record entry made (and run.json written): the proof
    is complete. None when the run folder itself cannot be written: the session stops, the proof stays to do."""
    t_export = time.monotonic()
    try:
        outcome = await _finish_files(run, item, proof_dir, result, t0, attempt, execute_s, t_export)
    except Exception as exc:  # noqa: BLE001 — e.g. a PDF that cannot be printed: ERREUR, go on
        if unwritable(exc):
            run.unwritable(exc)
            return None
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
        outcome = Outcome(item.scenario.id, ERREUR, None, entry["duration_s"], {"kind": "write_error",
                                                                                "message": message}, attempt)
    _checkpoint(run)
    return outcome


async def _finish_files(run: _Run, item: Planned, proof_dir: Path, result: dict, t0: float,
                        attempt: int, execute_s: float, t_export: float) -> Outcome:
    from ..export import export_proof_pdf

    for leftover in proof_dir.rglob("*.tmp"):     # the kernel's, had it stopped mid-write
        if ATTEMPTS_DIR not in leftover.relative_to(proof_dir).parts[:1]:
            leftover.unlink(missing_ok=True)
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
        nb_sha = sha256_file(nb_path)
        await with_browser(run.browser, lambda b: export_proof_pdf(b, nb_path, result, pdf, nb_sha))
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

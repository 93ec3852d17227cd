"""The end of a session, whatever happened (complete or interrupted): what the run folder says of itself.

Proofs still under way leave no half-written folder (an interrupted rerun puts the earlier attempt back);
``run.json`` gets the session in its history, the counts, what remains and each proof's entry; the summary
(CSV, XLSX, PDF) is written only for a complete run; last, the manifest (and its signature with a key).

A run is ``complete`` only once sealed: when the summary cannot be made (the browser is gone for good) the
run is ``incomplete`` and ``--resume`` seals it again; when the folder cannot be written at all (full disk,
read-only) the session stops with the last run.json written as each proof ended (status ``running``), and
``--resume`` finishes it. Nothing is left half-written: no ``.tmp`` file, no stale signature.
"""
from __future__ import annotations

import shutil

from ..proof import now_paris
from ..runfolder import MANIFEST, RUN_RECORD, SIGNATURE, write_json, write_manifest
from .chromium import with_browser
from .one_proof import unwritable
from .plan import Planned
from .proofdir import ATTEMPTS_DIR, _restore_attempt
from .state import _Run


async def _seal(run: _Run, record: dict, status: str, planned: list[Planned]) -> None:
    """run.json, summary and manifest, whatever happened (complete or interrupted)."""
    from ..summary import write_summaries

    # proofs under way when the run stopped leave no half-written folder behind
    for sid in list(run.in_flight):
        proof_dir = run.proof_dir(sid)
        try:
            if run.rerun and (proof_dir / ATTEMPTS_DIR).is_dir():
                _restore_attempt(proof_dir)
            elif proof_dir.exists():
                shutil.rmtree(proof_dir)
        except OSError as exc:   # a read-only folder: --resume removes it (the proof is not in run.json)
            run.unwritable(exc)
    finished = now_paris()
    order = {p.scenario.id: i for i, p in enumerate(planned)}
    entries = sorted(run.completed.values(), key=lambda e: order.get(e["scenario"], 1 << 30))
    counts: dict[str, int] = {}
    for e in entries:
        counts[e["verdict"]] = counts.get(e["verdict"], 0) + 1
    remaining = [p.scenario.id for p in planned if p.scenario.id not in run.completed]
    if remaining and status == "complete":
        status = "incomplete"
    if run.fatal is not None:
        status = "interrupted"
    history = record.setdefault("history", [])
    session_started = record.pop("_session_started", None) or record["started"]
    history.append({"action": record.pop("_action", "run"), "started": session_started,
                    "finished": finished.isoformat(timespec="seconds"), "status": status,
                    "duration_s": round((finished - _parse_time(session_started)).total_seconds(), 2)})
    record.update(status=status, finished=finished.isoformat(timespec="seconds"),
                  duration_s=round(sum(h["duration_s"] for h in history), 2),
                  counts=counts, remaining=remaining, proofs=entries)
    record.pop("seal_error", None)
    if record.get("dossier_scope") == "rem":   # segur run --scope rem: every REM requirement accounted for
        from ..dossier import classify
        from ..dossier import record as dossier_record
        rem = run.campaign.rem()
        record["dossier"] = dossier_record(classify(rem, run.campaign), rem)
    if run.options.sign_key and run.options.sign_fingerprint:
        record["signature"] = {"algorithm": "openssl dgst -sha256", "public_key_sha256": run.options.sign_fingerprint}
    else:
        record.pop("signature", None)
    if run.fatal is not None:
        _best_effort(run, record)
        return
    try:
        for name in ("summary.csv", "summary.xlsx", "summary.pdf"):
            (run.run_dir / name).unlink(missing_ok=True)     # a summary always describes the folder as it is
        if status == "complete":
            try:
                await with_browser(run.browser, lambda b: write_summaries(run.run_dir, record, b))
            except Exception as exc:  # noqa: BLE001 — not sealed, not complete: --resume seals it again
                if unwritable(exc):
                    raise
                for name in ("summary.csv", "summary.xlsx", "summary.pdf"):
                    (run.run_dir / name).unlink(missing_ok=True)
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                record["status"] = history[-1]["status"] = "incomplete"
                record["seal_error"] = f"summary not written: {type(exc).__name__}: {first}"
        write_json(run.run_dir / RUN_RECORD, record)
        write_manifest(run.run_dir, run.options.sign_key)
    except OSError as exc:
        if not unwritable(exc):
            raise
        run.unwritable(exc)
        _best_effort(run, record)


def _best_effort(run: _Run, record: dict) -> None:
    """The run folder cannot be written: say what can be said, leave nothing half-written. run.json keeps
    the last state written (each finished proof is in it); a manifest that no longer matches goes."""
    record["status"] = "interrupted"
    if record.get("history"):
        record["history"][-1]["status"] = "interrupted"
    try:
        write_json(run.run_dir / RUN_RECORD, record)
    except OSError:
        pass
    for name in (SIGNATURE, MANIFEST, "summary.csv", "summary.xlsx", "summary.pdf"):
        try:
            (run.run_dir / name).unlink(missing_ok=True)
        except OSError:
            pass


def _parse_time(iso: str):
    from datetime import datetime
    return datetime.fromisoformat(iso)

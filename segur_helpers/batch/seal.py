"""The end of a session, whatever happened (complete or interrupted): what the run folder says of itself.

Proofs still under way leave no half-written folder (an interrupted rerun puts the earlier attempt back);
``run.json`` gets the session in its history, the counts, what remains and each proof's entry; the summary
(CSV, XLSX, PDF) is written only for a complete run; last, the manifest (and its signature with a key).
"""
from __future__ import annotations

import shutil

from ..proof import now_paris
from ..runfolder import RUN_RECORD, write_json, write_manifest
from .plan import Planned
from .proofdir import ATTEMPTS_DIR, _restore_attempt
from .state import _Run


async def _seal(run: _Run, record: dict, status: str, planned: list[Planned], browser) -> None:
    """run.json, summary and manifest, whatever happened (complete or interrupted)."""
    from ..summary import write_summaries

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
    if record.get("dossier_scope") == "rem":   # segur run --scope rem: every REM requirement accounted for
        from ..dossier import classify
        from ..dossier import record as dossier_record
        rem = run.campaign.rem()
        record["dossier"] = dossier_record(classify(rem, run.campaign), rem)
    write_json(run.run_dir / RUN_RECORD, record)
    for name in ("summary.csv", "summary.xlsx", "summary.pdf"):
        (run.run_dir / name).unlink(missing_ok=True)     # a summary always describes the folder as it is
    if status == "complete":
        await write_summaries(run.run_dir, record, browser)
    write_manifest(run.run_dir, run.options.sign_key)


def _parse_time(iso: str):
    from datetime import datetime
    return datetime.fromisoformat(iso)

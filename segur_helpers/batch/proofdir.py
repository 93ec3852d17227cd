"""The run's folders: a new run folder, each proof's folder, its earlier attempts, and its files made safe.

A new run never reuses a folder (:func:`new_run_dir`). A proof's folder is made fresh before it runs,
or, when a failed proof runs again, its current files are first archived as ``attempts/<n>/``
(restored if that rerun is interrupted). Once the notebook stopped, the executed notebook is kept minus
anything secret and every text artefact is scrubbed of secret values.
"""
from __future__ import annotations

import secrets as _secrets
import shutil
from pathlib import Path

import nbformat

from ..errors import UserError
from ..evidence import sha256_file
from ..params import Secrets
from ..proof import RESULT_FILE, now_paris
from ..runfolder import read_json, writable_check
from .plan import Planned
from .state import _Run

NOTEBOOK_NAME = "notebook.ipynb"
ATTEMPTS_DIR = "attempts"
TEXT_SUFFIXES = {".ipynb", ".json", ".html", ".htm", ".har", ".txt", ".csv", ".eml", ".xml", ".log", ".md", ".yaml",
                 ".yml", ".hl7"}


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
        # secret values only: the credentials URLs carry were masked when the evidence was written (the
        # recorder) and in the notebook (_strip_notebook); rewriting evidence here would break its hash
        clean = secrets.redact_bytes(data, urls=False)
        if clean == data:
            continue
        if path.suffix.lower() in TEXT_SUFFIXES:
            path.write_bytes(clean)
        else:
            leaks.append(path)
    return leaks


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

"""A run folder → what a referencing team uploads to Convergence, chapter by chapter.

``segur bundle RUN`` writes, beside the run (``<outputs>/bundles/<campaign>/<run-id>/`` unless told
otherwise; an existing folder is never overwritten):

- one folder per REM chapter (``SSI_IE/`` for ``SSI/IE``) and its zip (``SSI_IE.zip``), holding one file
  per expected proof element, named by the proof numbering made safe for file systems
  (``SSI_IE.31.01.02.pdf``): Convergence takes one file per proof. A scenario's proof PDF covers all of
  its elements, so each element's file is that same PDF; a justification is filed as PDF and DOCX;
- ``statut-<campaign>-<run-id>.xlsx``: the campaign status in the Convergence export's columns (ID,
  Chapitre, Fonction, Exigence, N° scénario, Scénario de conformité, N° preuve, Preuve) plus the verdict,
  the filed file and its SHA-256.

Only CONFORME and NON APPLICABLE proofs are filed; the others are listed in the status with the reason.
Every file taken from the run is first checked against the run's ``manifest.json``: a run modified
after it was sealed is refused.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import catalog
from .errors import UserError
from .evidence import sha256_file
from .ids import safe_name

FILEABLE = ("CONFORME", "NON APPLICABLE")
STATUS_COLUMNS = ("ID", "Chapitre", "Fonction", "Exigence", "N° scénario", "Scénario de conformité", "N° preuve",
                  "Preuve", "Verdict", "Fichier déposé", "SHA-256", "Source du libellé", "Exécution")


@dataclass
class Filed:
    proof: str          # proof element id, SSI/IE.31.01.02
    chapter: str
    files: list[str] = field(default_factory=list)   # paths relative to the bundle folder


@dataclass
class Bundle:
    folder: Path
    zips: list[Path]
    status: Path
    filed: list[Filed]
    skipped: list[tuple[str, str]]   # (scenario id, verdict)


def _load_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise UserError(f"expected a JSON object ({what}), got {type(data).__name__}", file=str(path))
        return data
    except FileNotFoundError:
        raise UserError(f"{path.name} missing; expected a run folder made by segur run ({what})",
                        file=str(path.parent)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"cannot read {path.name}: {exc}", file=str(path.parent)) from None


def _checked(run_dir: Path, manifest: dict[str, str], rel: str) -> Path:
    """``rel`` inside the run, whose SHA-256 must be the manifest's."""
    path = run_dir / rel
    if rel not in manifest:
        raise UserError(f"{rel} is not in manifest.json; expected a sealed run (files are never added "
                        "after a run)", file=str(run_dir))
    if not path.is_file():
        raise UserError(f"{rel} is listed in manifest.json but missing", file=str(run_dir))
    if sha256_file(path) != manifest[rel]:
        raise UserError(f"{rel}: SHA-256 differs from manifest.json; the run folder was modified after it "
                        "was sealed", file=str(run_dir))
    return path


def default_bundle_dir(run_dir: Path, run: dict) -> Path:
    return run_dir.parent.parent / "bundles" / safe_name(run.get("campaign") or run_dir.parent.name) / run_dir.name


def make_bundle(run_dir: str | Path, out: str | Path | None = None) -> Bundle:
    run_dir = Path(run_dir).resolve()
    if not run_dir.is_dir():
        raise UserError("no such folder; expected a run folder made by segur run (outputs/<campaign>/<run-id>)",
                        file=str(run_dir))
    manifest = _load_json(run_dir / "manifest.json", "manifest.json").get("files")
    if not isinstance(manifest, dict):
        raise UserError("manifest.json has no files mapping; expected a run folder made by segur run",
                        file=str(run_dir))
    run = _load_json(_checked(run_dir, manifest, "run.json"), "run.json")
    if run.get("status") != "complete":
        raise UserError(f"run status is {run.get('status')!r}; expected a complete run", file=str(run_dir))
    target = Path(out).resolve() if out else default_bundle_dir(run_dir, run)
    if target.exists():
        raise UserError("already exists; expected a new folder (a bundle is never overwritten)", file=str(target))

    results = sorted(rel for rel in manifest if rel.count("/") == 1 and rel.endswith("/result.json"))
    if not results:
        raise UserError("no proof in this run (no <scenario>/result.json in manifest.json)", file=str(run_dir))
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        filed, skipped, rows = [], [], []
        for rel in results:
            folder = rel.split("/")[0]
            result = json.loads(_checked(run_dir, manifest, rel).read_text(encoding="utf-8"))
            chapter = result.get("chapter") or result["requirement"].rpartition(".")[0]
            documents = sorted(r for r in manifest if r.startswith(folder + "/") and r.count("/") == 1
                               and r.rsplit(".", 1)[-1] in ("pdf", "docx"))
            verdict = result["verdict"]
            fileable = verdict in FILEABLE and any(d.endswith(".pdf") for d in documents)
            if not fileable:
                skipped.append((result["scenario"], verdict))
            sources = [_checked(run_dir, manifest, d) for d in documents] if fileable else []
            expected = result.get("expected") or [{"id": result["scenario"], "text": ""}]
            for item in expected:
                entry = Filed(item["id"], chapter)
                for src in sources:
                    name = f"{safe_name(chapter)}/{safe_name(item['id'])}{src.suffix.lower()}"
                    dest = work / name
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
                    entry.files.append(name)
                if sources:
                    filed.append(entry)
                digests = [manifest[d] for d in documents] if sources else []
                known = catalog.get(result["requirement"])
                rows.append((result["requirement"], chapter, known.function if known else "", result.get("summary", ""),
                             result["scenario"], result.get("scenario_text") or result.get("scenario_title", ""),
                             item["id"], item["text"], verdict,
                             "\n".join(Path(f).name for f in entry.files) or f"non déposable ({verdict})",
                             "\n".join(digests), result.get("wording_source", ""),
                             f"{run.get('campaign')}/{run.get('run_id')}"))
        zips = []
        for chapter_dir in sorted(p for p in work.iterdir() if p.is_dir()):
            archive = work / f"{chapter_dir.name}.zip"
            with zipfile.ZipFile(archive, "x", compression=zipfile.ZIP_DEFLATED) as zf:
                for f in sorted(chapter_dir.iterdir()):
                    zf.write(f, arcname=f.name)
            zips.append(target / archive.name)
        status = f"statut-{safe_name(str(run.get('campaign')))}-{safe_name(str(run.get('run_id')))}.xlsx"
        _write_status(work / status, rows, run)
        os.rename(work, target)   # fails if target appeared meanwhile: nothing is overwritten
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return Bundle(target, zips, target / status, filed, skipped)


def _write_status(path: Path, rows: list[tuple], run: dict) -> None:
    from .xlsx import add_run_sheet, table_workbook

    wb = table_workbook("Statut", STATUS_COLUMNS, rows, (14, 10, 24, 60, 16, 40, 18, 50, 16, 26, 66, 30, 30))
    info = add_run_sheet(wb, run, ("campaign", "run_id", "vendor", "product", "version", "target_url", "operator",
                                   "started", "finished", "toolkit_version"))
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 18, 60
    wb.save(str(path))

"""A run folder → what a referencing team uploads to Convergence, chapter by chapter.

``segur bundle RUN`` writes, beside the run (``<outputs>/bundles/<campaign>/<run-id>/`` unless told
otherwise; an existing folder is never overwritten):

- one folder per REM chapter (``SSI_IE/`` for ``SSI/IE``) and its zip (``SSI_IE.zip``), holding one file
  per expected proof element, named by the proof numbering made safe for file systems
  (``SSI_IE.31.01.02.pdf``): Convergence takes one file per proof. An element's file holds that element's
  pages only: the proof's cover, the part of the executed notebook that proves it (the ``## Preuve k``
  section, or ``## Preuves 2 et 3`` for two elements proved together) with its screenshots and checks,
  and the annex lines of its evidence; it names the whole proof it comes from and that PDF's SHA-256.
  It is printed from the run's sealed notebook and result (Chromium, as the proofs). A justification
  is filed whole, as PDF and DOCX, and so is a proof whose notebook does not show where an element is;
- ``statut-<campaign>-<run-id>.xlsx``: the campaign status in the Convergence export's columns (ID,
  Chapitre, Fonction, Exigence, N° scénario, Scénario de conformité, N° preuve, Preuve) plus the verdict,
  the filed file and its own SHA-256 (the seal of each element file), in REM order.

Only CONFORME and NON APPLICABLE proofs are filed; the others are listed in the status with the reason.
Every file taken from the run is first checked against the run's ``manifest.json``: a run modified
after it was sealed is refused.
"""
from __future__ import annotations

import asyncio
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
from .pdf import band, html_to_pdf
from .summary import rem_order_key, run_facts

FILEABLE = ("CONFORME", "NON APPLICABLE")
STATUS_COLUMNS = ("ID", "Chapitre", "Fonction", "Exigence", "N° scénario", "Scénario de conformité", "N° preuve",
                  "Preuve", "Verdict", "Fichier déposé", "SHA-256", "Source du libellé", "Exécution",
                  "Couverture du REM")


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
    from .dossier import KIND_FR, KIND_SHORT_FR
    coverage = {r["id"]: KIND_FR[r["kind"]] for r in (run.get("dossier") or {}).get("requirements", [])}
    try:
        filed, skipped, rows, jobs = [], [], [], []
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
            split = _element_parts(run_dir, manifest, folder, result, documents) if fileable else None
            for item in expected:
                entry = Filed(item["id"], chapter)
                part = split(item) if split else None
                if part is not None:   # this element's own pages
                    name = f"{safe_name(chapter)}/{safe_name(item['id'])}.pdf"
                    jobs.append((work / name, *part))
                    entry.files.append(name)
                else:                  # the whole document(s): a justification, or an element not found
                    for src in sources:
                        name = f"{safe_name(chapter)}/{safe_name(item['id'])}{src.suffix.lower()}"
                        dest = work / name
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(src, dest)
                        entry.files.append(name)
                if entry.files:
                    filed.append(entry)
                known = catalog.get(result["requirement"])
                rows.append([result["requirement"], chapter, known.function if known else "", result.get("summary", ""),
                             result["scenario"], result.get("scenario_text") or result.get("scenario_title", ""),
                             item["id"], item["text"], verdict,
                             "\n".join(Path(f).name for f in entry.files) or f"non déposable ({verdict})",
                             entry.files, result.get("wording_source", ""),
                             f"{run.get('campaign')}/{run.get('run_id')}", coverage.get(result["requirement"], "")])
        # a run over the whole REM (segur run --scope rem): the requirements without a proof are listed too
        for r in (run.get("dossier") or {}).get("requirements", []):
            if r["kind"] in ("out_of_profile", "missing") and r.get("in_rem", True):
                rows.append([r["id"], r.get("chapter", ""), r.get("function", ""), "", "", "", "", "",
                             KIND_SHORT_FR[r["kind"]].upper(), f"aucun fichier — {r.get('detail', '')}", [], "",
                             f"{run.get('campaign')}/{run.get('run_id')}", KIND_FR[r["kind"]]])
        if jobs:
            asyncio.run(_print_elements(jobs))
        for row in rows:   # each filed file sealed by its own SHA-256
            row[10] = "\n".join(sha256_file(work / f) for f in row[10])
        rows.sort(key=lambda r: rem_order_key(r[1], r[0], r[6]))
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


def _element_parts(run_dir: Path, manifest: dict[str, str], folder: str, result: dict, documents: list[str]):
    """For a proof printed from a notebook: a function giving, for one expected element, what its own PDF
    is printed from (HTML, header, footer), or None where the notebook does not show that element."""
    import nbformat

    from .export import element_html, element_number, element_section, notebook_sections

    nb_rel = f"{folder}/notebook.ipynb"
    pdfs = [d for d in documents if d.endswith(".pdf")]
    if result.get("verdict") != "CONFORME" or nb_rel not in manifest or len(pdfs) != 1:
        return None
    nb = nbformat.read(str(_checked(run_dir, manifest, nb_rel)), as_version=4)
    sections = notebook_sections(nb)
    proof_pdf = pdfs[0]

    def part(item: dict):
        section = element_section(sections, element_number(item["id"]))
        if section is None:
            return None
        html_text = element_html(nb, result, item, section, manifest[nb_rel], proof_pdf, manifest[proof_pdf])
        header = band(f"Preuve Ségur — {result['requirement']} — {result.get('product', '')} {result.get('version', '')}",
                      f"Verdict : {result['verdict']}")
        footer = band(f"{item['id']} · extrait de la preuve {result['scenario']} · exécution {result.get('run_id', '')}",
                      page_numbers=True)
        return html_text, header, footer
    return part


async def _print_elements(jobs: list[tuple[Path, str, str, str]]) -> None:
    """Print every element file with one system Chromium."""
    from playwright.async_api import async_playwright

    from .browser import launch
    from .printimages import compact_screenshots

    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            for dest, html_text, header, footer in jobs:
                dest.parent.mkdir(parents=True, exist_ok=True)
                html_text = await asyncio.to_thread(compact_screenshots, html_text)
                await html_to_pdf(browser, html_text, dest, header=header, footer=footer)
        finally:
            await browser.close()


def _write_status(path: Path, rows: list[tuple], run: dict) -> None:
    from .xlsx import add_run_sheet, table_workbook

    wb = table_workbook("Statut", STATUS_COLUMNS, rows, (14, 10, 24, 60, 16, 40, 18, 50, 16, 26, 66, 30, 30, 24))
    add_run_sheet(wb, run_facts(run, ("campaign", "run_id", "vendor", "product", "version", "target_url", "operator",
                                      "started", "finished", "toolkit_version")))
    wb.save(str(path))

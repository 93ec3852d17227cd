"""Batch runs: papermill over a campaign, one proof folder each, PDFs, manifest and run record.

Everything that can be wrong with the input is checked before the run folder exists (params, secret
variables, driver import, notebooks, Chromium), so bad input never leaves a half-written run folder.
A run folder is ``outputs/<campaign>/<run-id>/`` and a new run never reuses an existing one.
"""
from __future__ import annotations

import asyncio
import json
import os
import secrets as _secrets
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat

from . import __version__, catalog
from .browser import find_chromium, launch
from .drivers import load_driver_class
from .errors import UserError
from .evidence import sha256_bytes, sha256_file
from .ids import safe_name
from .params import Campaign, Secrets, load_campaign
from .proof import (ERREUR, NON_APPLICABLE, NON_CONFORME, RESULT_FILE, TOOLKIT_ROOT, default_outputs,
                    error_result, now_paris)

MANIFEST = "manifest.json"
RUN_RECORD = "run.json"
NOTEBOOK_NAME = "notebook.ipynb"
TEXT_SUFFIXES = {".ipynb", ".json", ".html", ".txt", ".csv", ".eml", ".xml", ".log", ".md", ".yaml"}


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


def plan(campaign: Campaign, only: list[str] | None = None) -> list[Planned]:
    """The scenarios in scope, in the params' order; ``only`` restricts to some requirement ids."""
    chosen = campaign.requirements
    if only:
        from .ids import normalize_requirement_id
        wanted = [normalize_requirement_id(x) for x in only]
        unknown = [w for w in wanted if w not in chosen]
        if unknown:
            raise UserError(f"{unknown[0]} is not in the campaign; expected one of {', '.join(chosen)}",
                            key="--only")
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    out = []
    for rid, entry in chosen.items():
        req = catalog.get(rid)
        for scen in req.scenarios:
            if entry["condition_met"] and not scen.notebook_path.is_file():
                raise UserError(f"notebook {scen.notebook_path} is missing; expected the scenario notebook",
                                key=f"requirements.{rid}")
            out.append(Planned(req, scen, entry["condition_met"]))
    return out


def preflight(params_path: str | Path, only: list[str] | None = None) -> tuple[Campaign, list[Planned]]:
    """All input checks, before anything is written. Raises UserError (one line)."""
    campaign = load_campaign(params_path)
    campaign.check_secrets_available()
    load_driver_class(campaign.driver, file=str(params_path))
    planned = plan(campaign, only)
    find_chromium()
    return campaign, planned


def new_run_dir(outputs: Path, campaign: str) -> tuple[str, Path]:
    """A fresh ``outputs/<campaign>/<run-id>``; ``mkdir(exist_ok=False)`` so nothing is ever reused."""
    base = outputs / campaign
    base.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = now_paris().strftime("%Y%m%dT%H%M%S") + "-" + _secrets.token_hex(2)
        try:
            (base / run_id).mkdir()
            return run_id, base / run_id
        except FileExistsError:
            continue


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
        data = path.read_bytes()
        clean = secrets.redact_bytes(data)
        if clean == data:
            continue
        if path.suffix.lower() in TEXT_SUFFIXES:
            path.write_bytes(clean)
        else:
            leaks.append(path)
    return leaks


def write_manifest(run_dir: Path) -> dict[str, str]:
    files = {p.relative_to(run_dir).as_posix(): sha256_file(p)
             for p in sorted(run_dir.rglob("*")) if p.is_file() and p.name != MANIFEST}
    (run_dir / MANIFEST).write_text(json.dumps({"algorithm": "sha256", "files": files}, indent=2), encoding="utf-8")
    return files


def _execute(planned: Planned, campaign: Campaign, proof_dir: Path, run_id: str) -> dict:
    """Run one scenario notebook with papermill; always returns a result (ERREUR when it could not)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    started = now_paris()
    out_nb = proof_dir / NOTEBOOK_NAME
    params = {"campaign": str(campaign.path), "requirement": planned.requirement.id,
              "run_dir": str(proof_dir), "run_id": run_id}
    failure = None
    try:
        papermill.execute_notebook(
            str(planned.scenario.notebook_path), str(out_nb), parameters=params, kernel_name="python3",
            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=int(campaign.timeouts["proof_s"]), cwd=str(planned.scenario.notebook_path.parent),
            # the kernel's start-up warnings (TCP transport on loopback) are noise for the operator
            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    except PapermillExecutionError as exc:
        failure = ("notebook_error", f"le carnet s'est arrêté sur une erreur : {exc.ename}: {exc.evalue}"[:400])
    except Exception as exc:  # noqa: BLE001 — kernel died, timeout …: the proof is ERREUR, the run goes on
        first = (str(exc).strip().splitlines() or [""])[0]
        failure = ("kernel_error", f"exécution impossible : {type(exc).__name__}: {first}"[:400])
    result_path = proof_dir / RESULT_FILE
    if result_path.is_file():
        result = json.loads(result_path.read_text(encoding="utf-8"))
        if failure and result["verdict"] != ERREUR:
            result["verdict"], result["error"] = ERREUR, {"kind": failure[0], "message": failure[1], "step": 0,
                                                          "detail": ""}
    else:
        result = error_result(campaign, planned.requirement, planned.scenario, run_id,
                              message=(failure or ("no_result", "le carnet n'a produit aucun résultat"))[1],
                              kind=(failure or ("no_result",))[0], started=started, finished=now_paris())
    result_path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
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


async def _run(campaign: Campaign, planned: list[Planned], run_dir: Path, run_id: str,
               say: Callable[[str], None]) -> list[Outcome]:
    from playwright.async_api import async_playwright

    from .export import export_proof_pdf

    secrets = Secrets.for_campaign(campaign)
    outcomes = []
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            for item in planned:
                t0 = time.monotonic()
                proof_dir = run_dir / safe_name(item.scenario.id)
                proof_dir.mkdir()
                say(f"{item.scenario.id}: running …")
                if item.condition_met:
                    result = await asyncio.to_thread(_execute, item, campaign, proof_dir, run_id)
                else:
                    result = await _not_applicable(item, campaign, proof_dir, run_id, browser)
                pdf = _document(proof_dir, result)
                nb_path = proof_dir / NOTEBOOK_NAME
                if nb_path.is_file():
                    _strip_notebook(nb_path, result, secrets)
                    pdf = proof_dir / f"{safe_name(item.scenario.id)}.pdf"
                    await export_proof_pdf(browser, nb_path, result, pdf, sha256_file(nb_path))
                leaks = _scrub_and_scan(proof_dir, secrets)
                if leaks:
                    result["verdict"] = ERREUR
                    result["error"] = {"kind": "secret_leak", "step": 0, "detail": "",
                                       "message": "un secret figure dans " + ", ".join(p.name for p in leaks)}
                    (proof_dir / RESULT_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=2))
                outcomes.append(Outcome(item.scenario.id, result["verdict"], pdf,
                                        round(time.monotonic() - t0, 2), result.get("error")))
                say(f"{item.scenario.id}: {result['verdict']}" + (f" — {pdf}" if pdf else ""))
        finally:
            await browser.close()
    return outcomes


def run_campaign(params_path: str | Path, *, outputs: Path | None = None, only: list[str] | None = None,
                 say: Callable[[str], None] = lambda s: print(s, flush=True)) -> tuple[Path, list[Outcome]]:
    """Validate, then run every scenario in scope. Returns the run folder and the outcomes."""
    campaign, planned = preflight(params_path, only)
    outputs = Path(outputs) if outputs else default_outputs()
    run_id, run_dir = new_run_dir(outputs, campaign.name)
    started = now_paris()
    record = {"toolkit_version": __version__, "campaign": campaign.name, "run_id": run_id,
              "params_file": campaign.path.name, "params_sha256": sha256_bytes(campaign.path.read_bytes()),
              "vendor": campaign.vendor, "product": campaign.product, "version": campaign.version,
              "target_url": campaign.target_url, "driver": campaign.driver, "operator": campaign.operator,
              "python": sys.version.split()[0], "started": started.isoformat(timespec="seconds"),
              "status": "running", "notebooks": {p.scenario.notebook: sha256_file(p.scenario.notebook_path)
                                                 for p in planned if p.scenario.notebook_path.is_file()}}
    (run_dir / RUN_RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    say(f"run {campaign.name}/{run_id}: {len(planned)} proof(s) → {run_dir}")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    # the kernels must import this very toolkit (a checkout, a worktree), not another installed copy
    root = str(TOOLKIT_ROOT)
    if root not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    status = "interrupted"
    outcomes: list[Outcome] = []
    try:
        outcomes = asyncio.run(_run(campaign, planned, run_dir, run_id, say))
        status = "complete"
    finally:
        finished = now_paris()
        record.update(status=status, finished=finished.isoformat(timespec="seconds"),
                      duration_s=round((finished - started).total_seconds(), 2),
                      proofs=[{"scenario": o.scenario, "verdict": o.verdict, "duration_s": o.duration_s,
                               "pdf": o.pdf.relative_to(run_dir).as_posix() if o.pdf else None}
                              for o in outcomes])
        (run_dir / RUN_RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        write_manifest(run_dir)
    return run_dir, outcomes


def exit_code(outcomes: list[Outcome]) -> int:
    """0: all CONFORME or NON APPLICABLE; 1: some NON CONFORME; 2: some ERREUR (could not run)."""
    verdicts = {o.verdict for o in outcomes}
    if ERREUR in verdicts:
        return 2
    if NON_CONFORME in verdicts:
        return 1
    return 0

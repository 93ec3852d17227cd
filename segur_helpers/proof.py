"""A proof in progress: params, driver, recorder and browser behind one object a notebook awaits.

``proof = await open_proof(campaign, requirement)`` is the first code cell of every scenario notebook;
``await proof.close()`` the last. Steps are the scenario module's functions decorated with
:func:`step`: an error inside one makes the proof ERREUR with its cause and the following steps are
shown as not run, so the notebook always runs to the end and the PDF always says what happened.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Awaitable, Callable

from . import __version__, catalog
from .clock import PARIS, now_paris  # noqa: F401 — PARIS re-exported for existing importers
from .drivers import DriverContext, load_driver_class
from .errors import InfrastructureError, ManualEvidenceMissing, PatientRefused, TargetUnreachable, UserError
from .evidence import Recorder, esc
from .ids import safe_name
from .params import Campaign, Secrets, load_campaign
from .uniq import UniqueValues

CONFORME, NON_CONFORME, NON_APPLICABLE, ERREUR = "CONFORME", "NON CONFORME", "NON APPLICABLE", "ERREUR"
VERDICTS = (CONFORME, NON_CONFORME, NON_APPLICABLE, ERREUR)
RESULT_FILE = "result.json"
PROGRESS_FILE = "progress.json"  # the step under way (removed when the proof closes)
TOOLKIT_ROOT = Path(__file__).resolve().parents[1]


def default_outputs() -> Path:
    return Path(os.environ.get("SEGUR_OUTPUTS") or TOOLKIT_ROOT / "outputs")


def interactive_run_id(campaign_name: str) -> str:
    """``interactive-<Paris time>`` for a proof walked in JupyterLab; a second walk in the same second gets
    ``-2``, ``-3``… so that nothing an earlier walk wrote is ever written over."""
    base = "interactive-" + now_paris().strftime("%Y%m%dT%H%M%S")
    folder = default_outputs() / campaign_name
    run_id, n = base, 1
    while (folder / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def proof_folder(campaign_name: str, scenario_id: str, run_dir, run_id: str | None) -> tuple[Path, str]:
    """The proof's folder and run id: the batch's ``run_dir`` as given, else (JupyterLab) a fresh
    ``outputs/<campaign>/interactive-<time>/<scenario>/``. The folder exists on return."""
    if not run_dir:
        run_id = run_id or interactive_run_id(campaign_name)
        run_dir = default_outputs() / campaign_name / run_id / safe_name(scenario_id)
    proof_dir = Path(run_dir)
    proof_dir.mkdir(parents=True, exist_ok=True)
    return proof_dir, run_id or proof_dir.parent.name


@dataclass
class StepRecord:
    number: int
    title: str
    status: str = "pending"   # done | error | skipped
    error: str = ""
    duration_s: float = 0.0


def check_reachable(url: str, timeout: float = 5.0) -> None:
    """Any HTTP answer counts as reachable; a refused or timed-out connection does not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            pass
    except urllib.error.HTTPError:
        return
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TargetUnreachable(f"cible injoignable : {url} ({reason})") from None


class Proof:
    """One scenario's proof. Attributes a notebook or scenario module uses: ``driver``, ``data``,
    ``recorder`` (also reachable as ``proof.screenshot``/``email``/``check``), ``requirement``."""

    def __init__(self, campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario,
                 proof_dir: Path, run_id: str, secrets: Secrets):
        self.campaign = campaign
        self.requirement = requirement
        self.scenario = scenario
        self.dir = proof_dir
        self.run_id = run_id
        self.secrets = secrets
        self.recorder = Recorder(proof_dir / "evidence", secrets)
        # {uniq}, {rpps}, {digits:N} … in the data: fresh values per proof (segur_helpers.uniq)
        self.unique_values = UniqueValues()
        self.uniq = self.unique_values.token
        self.data: dict[str, Any] = self.unique_values.substitute(campaign.requirements[requirement.id]["data"])
        self.steps: list[StepRecord] = []
        self.error: dict[str, Any] | None = None
        self.not_applicable: dict[str, Any] | None = None  # set by condition_not_met()
        self.started = now_paris()
        self.driver = None
        self._pw = None
        self._browser = None
        self._shared_contexts: set | None = None  # contexts that existed before, on a shared browser
        self._closed = False
        self.result: dict[str, Any] | None = None
        self.interactive = False          # JupyterLab (no run_dir): manual evidence is asked inline
        self.manual_records: list[dict[str, Any]] = []

    # convenience: the recorder's captures on the proof itself
    @property
    def screenshot(self):
        return self.recorder.screenshot

    @property
    def email(self):
        return self.recorder.email

    @property
    def check(self):
        return self.recorder.check

    @property
    def timeouts(self) -> dict[str, float]:
        return self.campaign.timeouts

    def condition_not_met(self, reason: str, evidence: list | tuple = ()) -> None:
        """The notebook established against the target that the requirement's LORSQUE condition does not
        arise: the verdict becomes NON APPLICABLE with ``reason`` (French, shown on the proof's cover),
        and the following steps are shown as not run.

        Capture what shows it first (``proof.screenshot``, ``proof.recorder.observation``…) and pass those
        items as ``evidence``. Only a conditional requirement can be inapplicable; calling this for
        another one makes the proof ERREUR.
        """
        if not self.requirement.conditional:
            self.fail(self.recorder.current_step or 0,
                      UserError(f"{self.requirement.id} is not conditional; its condition cannot be unmet"))
            return
        reason = self.secrets.redact(str(reason).strip()) or "condition constatée non remplie"
        self.not_applicable = {"reason": reason, "step": self.recorder.current_step,
                               "evidence": [e.name for e in evidence if e is not None]}
        self.recorder.show(f'<div class="segur-card"><h4>Condition d\'applicabilité non remplie</h4>'
                           f'<p>{esc(reason)}</p><p>La suite du scénario est sans objet : verdict NON '
                           f'APPLICABLE.</p></div>')

    # -- manual steps (see segur_helpers.manual) -------------------------------------------------
    def manual_step(self, number: int) -> bool:
        """The campaign marks step ``number`` manual: the operator supplies its evidence."""
        return number in (self.campaign.requirements[self.requirement.id].get("manual") or {})

    async def manual_evidence(self, number: int, caption: str, *, highlight=None):
        """The operator-supplied evidence of a manual step, recorded, hashed and shown with the attestation."""
        from .manual import manual_evidence
        return await manual_evidence(self, number, caption, highlight=highlight)

    def fail(self, step: int, exc: BaseException) -> None:
        """Mark the proof ERREUR (could not run) with the cause, once."""
        if self.error is not None:
            return
        if isinstance(exc, TargetUnreachable):
            kind, message = "target_unreachable", str(exc)
        elif isinstance(exc, ManualEvidenceMissing):
            kind, message = "manual_evidence_missing", str(exc)
        elif isinstance(exc, InfrastructureError):
            kind, message = "infrastructure", str(exc)
        elif isinstance(exc, asyncio.TimeoutError):
            kind, message = "timeout", f"délai dépassé ({self.timeouts['step_s']:.0f} s) à l'étape {step}"
        elif isinstance(exc, PatientRefused):
            kind, message = "patient_refused", str(exc)
        elif isinstance(exc, UserError):
            kind, message = "bad_input", str(exc)
        else:
            kind = "exception"
            first = (str(exc).strip().splitlines() or [""])[0]
            message = f"{type(exc).__name__}: {first}"[:400]
        message = self.secrets.redact(message)
        self.error = {"kind": kind, "message": message, "step": step,
                      "detail": self.secrets.redact("".join(traceback.format_exception_only(type(exc), exc)))[:2000]}
        if isinstance(getattr(exc, "where", None), dict):   # a driver map's step: map, action, step, selector
            self.error["where"] = {k: self.secrets.redact(str(v)) for k, v in exc.where.items()}
        self.recorder.show(f'<div class="segur-card segur-error"><h4>Erreur d\'exécution à l\'étape {step}</h4>'
                           f'<p>{esc(message)}</p><p>La preuve ne peut pas conclure : verdict ERREUR.</p></div>')
        shot = getattr(exc, "screenshot", None)
        if isinstance(shot, bytes) and shot:               # the page as it was when the driver's step failed
            where = getattr(exc, "where", None) or {}
            self.recorder.screenshot_png(shot, "Écran au moment de l'échec"
                                         + (f" (étape {where['step']} de {where['action']})" if where else ""))

    async def run_step(self, number: int, title: str, fn: Callable[..., Awaitable[Any]], *args, **kwargs):
        record = StepRecord(number, title)
        self.steps.append(record)
        if self.error is not None:
            record.status = "skipped"
            self.recorder.show(f'<div class="segur-card segur-error"><h4>Étape {number} non exécutée</h4>'
                               f'<p>Une erreur à l\'étape {self.error["step"]} empêche de la dérouler.</p></div>')
            return None
        if self.not_applicable is not None:
            record.status = "skipped"
            self.recorder.show(f'<div class="segur-card"><h4>Étape {number} sans objet</h4><p>La condition '
                               f'd\'applicabilité n\'est pas remplie (constaté à l\'étape '
                               f'{self.not_applicable["step"]}).</p></div>')
            return None
        self.recorder.current_step = number
        self._progress(number, title)
        t0 = time.monotonic()
        # an operator answering inline (manual step in JupyterLab) is not held to the step's timeout
        timeout = None if (self.interactive and self.manual_step(number)) else self.timeouts["step_s"]
        try:
            return await asyncio.wait_for(fn(self, *args, **kwargs), timeout=timeout)
        except Exception as exc:  # noqa: BLE001 — any failure to run is ERREUR with its cause
            record.status = "error"
            record.error = type(exc).__name__
            self.fail(number, exc)
            return None
        finally:
            record.duration_s = round(time.monotonic() - t0, 3)
            if record.status == "pending":
                record.status = "done"
            from .report import step_card
            self.recorder.show(step_card(record, self.recorder, self.manual_step(number)), tags=("segur-live",))

    def _progress(self, number: int, title: str) -> None:
        """``progress.json``: the step under way, so the batch can name the step a hung proof was in."""
        tmp = self.dir / (PROGRESS_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps({"step": number, "title": title, "since": now_paris().isoformat(
                timespec="seconds")}, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.dir / PROGRESS_FILE)
        except OSError:
            try:
                tmp.unlink(missing_ok=True)      # a full disk leaves no stray file
            except OSError:
                pass

    # -- verdict ---------------------------------------------------------------------------------
    def verdict(self) -> str:
        if self.error is not None:
            return ERREUR
        if self.not_applicable is not None:
            return NON_APPLICABLE
        if not self.recorder.checks:
            return ERREUR
        return CONFORME if all(c.passed for c in self.recorder.checks) else NON_CONFORME

    def cover(self) -> dict[str, Any]:
        return cover_info(self.campaign, self.requirement, self.scenario, self.run_id)

    async def close(self) -> None:
        """Compute the verdict, show it, write ``result.json``; release the browser and the driver."""
        if self._closed:
            return
        self._closed = True
        try:
            if self.driver is not None:
                await self.driver.close()
        except Exception:  # noqa: BLE001 — closing must not hide the verdict
            pass
        finally:
            if self._shared_contexts is not None and self._browser is not None:
                # the run's shared Chromium stays up: close only what this proof opened
                for context in list(self._browser.contexts):
                    if context not in self._shared_contexts:
                        try:
                            await context.close()
                        except Exception:  # noqa: BLE001
                            pass
            elif self._browser is not None:
                await self._browser.close()
            if self._pw is not None:
                await self._pw.stop()
        finished = now_paris()
        verdict = self.verdict()
        if verdict == ERREUR and self.error is None:
            self.error = {"kind": "no_check", "message": "aucune vérification n'a été effectuée", "step": 0,
                          "detail": ""}
        result = self.cover() | {
            "verdict": verdict, "started": self.started.isoformat(timespec="seconds"),
            "finished": finished.isoformat(timespec="seconds"),
            "duration_s": round((finished - self.started).total_seconds(), 2),
            "steps": [vars(s) for s in self.steps], "error": self.error, "manual": self.manual_records,
            "condition_not_met": self.not_applicable,
        } | self.recorder.to_dict()
        self.result = result
        from .report import final_card  # local: report imports this module's constants
        self.recorder.show(final_card(result), metadata={"segur": {"result": result}}, tags=("segur-final",))
        tmp = self.dir / (RESULT_FILE + ".tmp")
        try:
            tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(self.dir / RESULT_FILE)
        except BaseException:
            tmp.unlink(missing_ok=True)          # a full disk leaves no stray file
            raise
        (self.dir / PROGRESS_FILE).unlink(missing_ok=True)


def cover_info(campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario,
               run_id: str) -> dict[str, Any]:
    """What the cover of a proof says, before any step ran."""
    from .catalog.wording import chapter, wording

    c = campaign
    rem = c.rem()
    ch = chapter(requirement.id, rem)
    return {
        "requirement": requirement.id, "title": requirement.title,
        # the chapter as the imported REM gives it (code and title), else the project's catalogue
        "chapter": ch.code, "chapter_title": ch.title, "scenario": scenario.id, "scenario_title": scenario.title,
        # statement, scenario, expected proofs and condition: the imported REM's words, else the project's;
        # squash_ref (only as the REM writes it), the REM's project and version, the id's source
        **wording(requirement, scenario, rem),
        "campaign": c.name, "vendor": c.vendor, "product": c.product, "version": c.version,
        "target_url": c.target_url, "operator": c.operator, "driver": c.driver, "run_id": run_id,
        "toolkit_version": __version__,
    }


def error_result(campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario, run_id: str,
                 *, message: str, kind: str, started: datetime, finished: datetime) -> dict[str, Any]:
    """The result of a proof whose notebook could not run to its end (written by the batch)."""
    return cover_info(campaign, requirement, scenario, run_id) | {
        "verdict": ERREUR, "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "duration_s": round((finished - started).total_seconds(), 2), "steps": [],
        "error": {"kind": kind, "message": message, "step": 0, "detail": ""}, "evidence": [], "checks": []}


def step(number: int, title: str):
    """Decorate an async scenario step ``fn(proof, ...)``: numbered, timed, errors caught as ERREUR."""
    def deco(fn):
        @functools.wraps(fn)
        async def wrapper(proof: Proof, *args, **kwargs):
            return await proof.run_step(number, title, fn, *args, **kwargs)
        wrapper.step_number, wrapper.step_title = number, title
        return wrapper
    return deco


async def open_proof(campaign: str | Path, requirement: str, *, run_dir: str | Path = "", run_id: str = "",
                     scenario: int = 1) -> Proof:
    """Open a proof: validate the params, start the browser and the driver, show the cover card.

    ``run_dir`` is the proof's folder (the batch sets it); empty in JupyterLab, where a new folder is
    made under ``outputs/<campaign>/interactive-<time>/``.
    """
    if not run_dir and os.environ.get("SEGUR_CAMPAIGN"):  # `segur lab PARAMS` chose the campaign
        campaign = os.environ["SEGUR_CAMPAIGN"]
    camp = load_campaign(campaign)
    req = catalog.get(requirement)
    if req is None or req.id not in camp.requirements:
        raise UserError(f"requirement {requirement!r} is not in the campaign; expected one of "
                        f"{', '.join(camp.requirements)}", file=str(campaign), key="requirements")
    scen = next((s for s in req.scenarios if s.number == scenario), None)
    if scen is None:
        raise UserError(f"no scenario {scenario} for {req.id}", key="scenario")
    interactive = not run_dir
    proof_dir, run_id = proof_folder(camp.name, scen.id, run_dir, run_id)
    secrets = Secrets()
    proof = Proof(camp, req, scen, proof_dir, run_id, secrets)
    proof.interactive = interactive
    from .report import cover_card
    proof.recorder.show(cover_card(proof.cover()), tags=("segur-live",))
    proof.recorder.current_step = 0
    try:
        await asyncio.to_thread(check_reachable, camp.target_url)
        from .shared_browser import connect_shared, shared_endpoint
        if shared_endpoint():  # a batch run: the run's one Chromium, this proof in its own contexts
            proof._browser = await connect_shared()
            proof._shared_contexts = set(proof._browser.contexts)
        else:                  # JupyterLab: a browser of its own
            from playwright.async_api import async_playwright

            from .browser import launch
            proof._pw = await async_playwright().start()
            proof._browser = await launch(proof._pw)
        driver_cls = load_driver_class(camp.driver, file=str(camp.path))
        proof.driver = driver_cls(DriverContext(campaign=camp, secrets=secrets, browser=proof._browser,
                                                settings=camp.section("driver_settings")))
        await asyncio.wait_for(proof.driver.start(), timeout=camp.timeouts["step_s"])
    except Exception as exc:  # noqa: BLE001 — the proof says ERREUR with the cause
        proof.fail(0, exc)
    return proof

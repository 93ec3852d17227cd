"""Shared fixtures: the demo target started for real on 127.0.0.1, campaign files pointing at it."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    """The shared read-only folder (real REM workbooks…): ``$SEGUR_SHARED``, else ``../shared`` of the
    checkout, else that of its parent (a git worktree under ``wt/``)."""
    if os.environ.get("SEGUR_SHARED"):
        return Path(os.environ["SEGUR_SHARED"])
    candidates = [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_REM = _shared_dir() / "rem"
PASSWORD_ENV = "DEMO_DPI_ADMIN_PASSWORD"
# A fresh administrator password per test session: the tests grep every artefact for it.
ADMIN_PASSWORD = "pw-" + secrets.token_urlsafe(18)
os.environ[PASSWORD_ENV] = ADMIN_PASSWORD


# -- test tiers -------------------------------------------------------------------------------------------
# `make test-fast` runs the unit and contract tests (`-m "not e2e and not slow"`); `make test` runs all.
# A test is end to end (`e2e`) when it starts the demo target, a notebook kernel or Chromium: every test
# that takes the `demo_stack` fixture is marked so here, and those below, which run notebooks without it.
E2E_WITHOUT_DEMO_STACK = {
    # every module named test_*_e2e is end to end as a whole, as is
    "test_demo_campaign": None,    # None: the whole module (its fixture runs the whole demo campaign)
    "test_batch": None,            # (synthetic campaigns run through papermill)
    "test_faults": None,
    "test_verify_tamper": None,    # its fixture seals a real run
    "test_justify": None,          # justification runs (PDF and Word through Chromium)
    "test_dossier": {"test_dossier_run_covers_every_requirement_and_counts_the_missing",
                     "test_guided_proof_in_each_capture_mode",
                     "test_guided_proof_never_conforme_with_an_absent_element_a_negative_decision_or_a_missing_one",
                     "test_dossier_in_summary_coverage_and_bundle",
                     "test_jupyterlab_walk_asks_the_missing_evidence_and_decision"},
    "test_yaml_driver": {"test_bad_map_is_one_line_naming_map_and_key"},          # refused by a real run
    # as heavy: compiling ANS's schematron from its source (about 20 s on one core)
    "test_cda_ans": {"test_compiled_schematron_is_cached_per_checkout_and_commit"},
}


# Under `make test` (pytest-xdist, --dist loadfile) modules are handed to workers in collection order: the
# longest go first so that none of them starts last and keeps the run waiting alone (measured durations).
LONGEST_FIRST = ("test_demo_campaign", "test_spa_e2e", "test_psc_e2e",
                 "test_dossier", "test_batch", "test_faults", "test_yaml_driver", "test_ie32_e2e", "test_dmp_e2e",
                 "test_pam_e2e", "test_iam87_94_e2e", "test_dmp_feeding_e2e", "test_cda_ans")


def _module(item) -> str:
    return item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""


def pytest_collection_modifyitems(config, items):
    def rank(item):
        module = _module(item)
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)   # stable: within a module, and among the others, the order is unchanged
    for item in items:
        module = _module(item)
        names = E2E_WITHOUT_DEMO_STACK.get(module, ())
        if ("demo_stack" in getattr(item, "fixturenames", ()) or module.endswith("_e2e") or
                (module in E2E_WITHOUT_DEMO_STACK and (names is None or item.originalname in names))):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def admin_password() -> str:
    return ADMIN_PASSWORD


@pytest.fixture
def demo_stack(tmp_path):
    """Factory: ``demo_stack(defects=[...])`` starts mailsink + demo_dpi; stopped after the test."""
    from demo_dpi.stack import DemoStack

    started = []

    def start(defects=(), **kw):
        stack = DemoStack(tmp_path / f"target{len(started)}", defects=list(defects), **kw).start()
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()


def campaign_dict(url: str, maildir: Path, only: tuple[str, ...] = ("SSI/IE.31",), **overrides) -> dict:
    """The demo campaign pointed at a test target, restricted to the requirements ``only``."""
    with open(ROOT / "params" / "demo.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data["campaign"] = "test"
    data["target"]["url"] = url
    data["mailbox"]["path"] = str(maildir)
    if "sms" in data:  # the demo stack's SMS gateway keeps its messages beside the Maildir
        data["sms"]["path"] = str(Path(maildir).parent / "sms")
    data["timeouts"] = {"mail_s": 10, "step_s": 90}
    data["requirements"] = {k: v for k, v in data["requirements"].items() if k in only}
    data.update(overrides)
    return data


@pytest.fixture
def write_params(tmp_path):
    def write(data: dict | str, name: str = "campaign.yaml") -> Path:
        path = tmp_path / name
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True),
                        encoding="utf-8")
        return path
    return write


def run_segur(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """The real CLI in a child process (exit code, stdout and stderr as a user sees them)."""
    return subprocess.run([sys.executable, "-m", "segur_helpers.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT, env=env or os.environ.copy())


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def verdicts_of(run: Path) -> dict[str, str]:
    """A finished run folder's verdicts, by proof (scenario) id, as its run.json records them."""
    return {p["scenario"]: p["verdict"] for p in json.loads((run / "run.json").read_text(encoding="utf-8"))["proofs"]}

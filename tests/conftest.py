"""Shared fixtures: the demo target started for real on 127.0.0.1, campaign files pointing at it."""
from __future__ import annotations

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

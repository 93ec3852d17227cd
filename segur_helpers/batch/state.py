"""What a run is given and what it keeps while it goes: the :class:`Options`, the run's state (proofs
completed, proofs in flight) shared by the workers and the seal, and each proof's :class:`Outcome`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..ids import safe_name
from ..params import Campaign, Secrets
from .progress import Progress


@dataclass
class Outcome:
    scenario: str
    verdict: str
    pdf: Path | None
    duration_s: float
    error: dict | None
    attempts: int = 1


@dataclass
class Options:
    workers: int = 0                 # 0: number of cores
    executor: str = "local"          # local | dask
    scheduler: str | None = None     # dask scheduler address
    sign_key: Path | None = None
    progress: bool | None = None     # None: a bar on a terminal, plain lines otherwise
    sign_fingerprint: str | None = None   # SHA-256 of the signing key's public half (recorded in run.json)


@dataclass
class _Run:
    campaign: Campaign
    run_dir: Path
    run_id: str
    secrets: Secrets
    options: Options
    progress: Progress
    rerun: bool = False
    completed: dict[str, dict] = field(default_factory=dict)   # scenario → run.json entry
    in_flight: set[str] = field(default_factory=set)
    record: dict | None = None       # run.json as this session keeps it (written as each proof ends)
    work: Any = None                 # the run's private folder (.workdir.RunWork)
    browser: Any = None              # the run's Chromium (.chromium.RunBrowser)
    guard: Any = None                # the target's shared services (.guard.ServiceGuard)
    fatal: OSError | None = None     # the run folder itself cannot be written: the session stops
    stop: Callable[[], None] | None = None   # stops the session's workers (set while they run)

    def unwritable(self, exc: OSError) -> None:
        """The run folder cannot be written (full disk, read-only): stop the session; the run stays
        resumable (each finished proof is already in run.json)."""
        if self.fatal is None:
            self.fatal = exc
            if self.stop is not None:
                self.stop()

    def proof_dir(self, scenario_id: str) -> Path:
        """A proof's folder: ``<run>/<scenario>``, or the folder an earlier session of the run gave it
        under a former id (``DMP_CS.01.01`` for ``DMP/CONF.16.01``: ids.OLD_IDS)."""
        folder = (self.completed.get(scenario_id) or {}).get("folder")
        return self.run_dir / (folder or safe_name(scenario_id))

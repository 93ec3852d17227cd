"""What a run is given and what it keeps while it goes: the :class:`Options`, the run's state (proofs
completed, proofs in flight) shared by the workers and the seal, and each proof's :class:`Outcome`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

    def proof_dir(self, scenario_id: str) -> Path:
        """A proof's folder: ``<run>/<scenario>``, or the folder an earlier session of the run gave it
        under a former id (``DMP_CS.01.01`` for ``DMP/CONF.16.01``: ids.OLD_IDS)."""
        folder = (self.completed.get(scenario_id) or {}).get("folder")
        return self.run_dir / (folder or safe_name(scenario_id))

"""What a run will do, before anything is written: the scenarios in scope, checked input, and the order.

:func:`preflight` checks everything that can be wrong with the input (params, secret variables, driver
import, notebooks, Chromium) and returns the :class:`Planned` proofs; :func:`schedule` orders them longest
first, from the durations measured in earlier runs of the campaign (:func:`measured_durations`).
"""
from __future__ import annotations

import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import catalog
from ..browser import find_chromium
from ..drivers import load_driver_class
from ..errors import UserError
from ..ids import OLD_IDS, current_id, normalize_requirement_id, renamed_notice
from ..params import Campaign, load_campaign
from ..runfolder import RUN_RECORD, read_json


@dataclass
class Planned:
    requirement: catalog.Requirement
    scenario: catalog.Scenario
    condition_met: bool
    guided: bool = False     # a guided proof (segur_helpers.guided), made in the segur run process


def requirement_of(campaign: Campaign, rid: str) -> catalog.Requirement:
    """The catalogue's requirement, or one made from the imported REM (a guided proof, a justification)."""
    from ..dossier import requirement_for
    entry = campaign.requirements.get(rid) or {}
    return requirement_for(rid, campaign.rem(), entry.get("guided"))


def _split(values) -> list[str]:
    if not values:
        return []
    if isinstance(values, str):
        values = [values]
    return [x.strip() for v in values for x in str(v).split(",") if x.strip()]


def plan(campaign: Campaign, only: list[str] | None = None, family: list[str] | str | None = None,
         tags: list[str] | str | None = None) -> list[Planned]:
    """The scenarios in scope, in the params' order; ``only``/``family``/``tags`` narrow it."""
    chosen = dict(campaign.requirements)
    only, families, tags = _split(only), _split(family), _split(tags)
    if only:
        wanted = []
        for x in only:
            rid = normalize_requirement_id(x)
            if rid in OLD_IDS:  # an id of an earlier version of the toolkit
                print(renamed_notice(rid, "--only"), file=sys.stderr)
            wanted.append(current_id(rid))
        unknown = [w for w in wanted if w not in chosen]
        if unknown:
            raise UserError(f"{unknown[0]} is not in the campaign; expected one of {', '.join(chosen)}",
                            key="--only")
        chosen = {k: v for k, v in chosen.items() if k in wanted}
    if families:
        chosen = {k: v for k, v in chosen.items() if requirement_of(campaign, k).family in families}
    if tags:
        chosen = {k: v for k, v in chosen.items() if set(requirement_of(campaign, k).tags) & set(tags)}
    if not chosen:
        what = "--family " + ",".join(families) if families else "--tag " + ",".join(tags)
        raise UserError("selects no requirement of the campaign; expected a family or tag of one of "
                        f"{', '.join(campaign.requirements)}", key=what)
    out = []
    for rid, entry in chosen.items():
        req = requirement_of(campaign, rid)
        guided = entry.get("guided") is not None
        for scen in req.scenarios:
            if entry["condition_met"] and not guided and not scen.notebook_path.is_file():
                raise UserError(f"notebook {scen.notebook_path} is missing; expected the scenario notebook",
                                key=f"requirements.{rid}")
            out.append(Planned(req, scen, entry["condition_met"], guided))
    return out


def measured_durations(campaign_dir: Path, runs: int = 10) -> dict[str, float]:
    """Each scenario's latest measured duration (seconds) in the campaign's ``runs`` most recent run
    folders, from their ``run.json``; unreadable records are skipped."""
    records = sorted(campaign_dir.glob(f"*/{RUN_RECORD}"), key=lambda p: p.stat().st_mtime, reverse=True)
    out: dict[str, float] = {}
    for path in records[:runs]:
        try:
            proofs = read_json(path).get("proofs") or []
        except (OSError, ValueError):
            continue
        for p in proofs:
            sid, d = p.get("scenario"), p.get("duration_s")
            sid = current_id(sid) if isinstance(sid, str) else sid  # an old run's ids (ids.OLD_IDS)
            if isinstance(sid, str) and isinstance(d, (int, float)) and sid not in out:
                out[sid] = float(d)
    return out


def schedule(items: list[Planned], measured: dict[str, float]) -> list[Planned]:
    """Longest expected proofs first, so a long proof (one that waits for a DMP outage and its retries)
    does not start last and leave the other workers idle at the end of the run.

    Expected duration: the one measured in an earlier run of the campaign, else the catalogue's
    ``expected_s`` for the scenario, else the median of the measured ones (0 when none is): with no
    figure at all the params' order stays as it is (the sort is stable)."""
    known = [measured[i.scenario.id] for i in items if i.scenario.id in measured]
    default = statistics.median(known) if known else 0.0

    def expected(item: Planned) -> float:
        if item.scenario.id in measured:
            return measured[item.scenario.id]
        return item.scenario.expected_s if item.scenario.expected_s is not None else default

    return sorted(items, key=expected, reverse=True)


def preflight(params_path: str | Path, only: list[str] | None = None, family=None, tags=None, scope: str = "campaign"
              ) -> tuple[Campaign, list[Planned]]:
    """All input checks, before anything is written. Raises UserError (one line).

    ``scope``: ``campaign`` (its requirements) or ``rem`` (the whole dossier: the campaign's requirements
    too, and the run says how each requirement of the imported REM is covered and which are missing)."""
    from ..guided_spec import check_roles

    if scope not in ("campaign", "rem"):
        raise UserError(f"{scope!r}; expected campaign or rem", key="--scope")
    campaign = load_campaign(params_path)
    for line in campaign.notices:
        print(line, file=sys.stderr)
    if scope == "rem":
        if campaign.rem() is None:
            raise UserError("no REM imported for this campaign; expected a rem: catalogue (segur catalog import "
                            "FILE.xlsx --campaign PARAMS)", file=str(params_path), key="--scope rem")
        if only or family or tags:
            raise UserError("--scope rem runs the whole dossier; expected no --only, --family or --tag with it",
                            key="--scope rem")
    campaign.check_secrets_available()
    check_roles(campaign, load_driver_class(campaign.driver, file=str(params_path), complete=True))
    planned = plan(campaign, only, family, tags)
    find_chromium()
    return campaign, planned

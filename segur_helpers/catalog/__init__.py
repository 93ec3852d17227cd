"""The requirements the project knows: its own scenario catalogue, kept as data (``requirements/*.yaml``,
one file per requirement).

Texts here are the project's own short French summaries. The official REM wording is imported from
ANS's workbooks (``segur catalog import``, see :mod:`segur_helpers.catalog.rem`) and quoted instead
when present; proofs say which source they quote.

Ids are the REM's. An entry whose id the imported REM (REM HOP-DPI) lacks says where its id comes from
(``id_source``: an ANS webinar, a socle project…), printed on its proofs' covers in place of a REM
reference; ``related`` names the REM requirements a proof references beside its own. Ids renamed since
earlier versions of the toolkit are mapped by :data:`segur_helpers.ids.OLD_IDS`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ..ids import family, normalize_requirement_id, proof_id, scenario_id

NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Scenario:
    id: str
    number: int
    title: str
    notebook: str
    proofs: tuple[tuple[str, str], ...]  # (proof id, expected element)
    # typical duration against the demo target, seconds: lets a batch start long proofs first when no
    # earlier run of the campaign has measured them (see batch.plan.schedule)
    expected_s: float | None = None
    # shared services of the target this scenario interrupts while it runs (e.g. ``dmp``: it stops the
    # DMP to prove the waiting queue); a batch never runs it beside a proof tagged with one of them
    disrupts: tuple[str, ...] = ()
    # target state this scenario reads as a whole (``accounts``: it counts every account) and state it
    # changes; a batch never runs a whole-state reader beside a writer of that state
    reads_all: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS_DIR / self.notebook


@dataclass(frozen=True)
class Requirement:
    id: str
    title: str
    chapter: str
    function: str
    conditional: bool
    condition: str
    summary: str
    scenarios: tuple[Scenario, ...]
    tags: tuple[str, ...] = field(default_factory=tuple)
    # (dotted path in the campaign's data, what is expected there): checked before anything runs
    data_required: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # where the id comes from when a REM lacks it (French, printed on the cover); "" for a REM id
    id_source: str = ""
    # REM requirements this one's proofs reference beside their own (printed on the cover)
    related: tuple[str, ...] = field(default_factory=tuple)

    @property
    def family(self) -> str:
        return family(self.id)


def _texts(rid: str, where: str, values) -> None:
    """Catalogue texts are strings: a French ' : ' left unquoted in YAML silently makes a mapping."""
    for v in values:
        if not isinstance(v, str):
            raise ValueError(f"catalogue {rid}: {where}: expected text, got {type(v).__name__} {v!r:.80} "
                             "(quote texts that contain ' : ' in the YAML)")


def _expected_s(rid: str, s: dict) -> float | None:
    value = s.get("expected_s")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"catalogue {rid}: scenario {s.get('number')}: expected_s: expected a positive number "
                         f"of seconds, got {value!r:.40}")
    return float(value)


def _disrupts(rid: str, s: dict, key: str = "disrupts",
              what: str = "tags (the shared services it interrupts)") -> tuple[str, ...]:
    value = s.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"catalogue {rid}: scenario {s.get('number')}: {key}: expected a list of {what}, "
                         f"got {value!r:.60}")
    return tuple(value)


def _parse(raw: dict) -> dict[str, Requirement]:
    out: dict[str, Requirement] = {}
    for rid, entry in raw.items():
        rid = normalize_requirement_id(rid)
        _texts(rid, "title/summary/condition/id_source",
               [entry.get(k, "") for k in ("title", "summary", "condition", "id_source")])
        _texts(rid, "related", list(entry.get("related") or []))
        for s in entry["scenarios"]:
            _texts(rid, f"scenario {s.get('number')} title and proofs", [s["title"], *s["proofs"]])
        scenarios = tuple(
            Scenario(
                id=scenario_id(rid, s["number"]),
                number=s["number"],
                title=s["title"],
                notebook=s["notebook"],
                proofs=tuple((proof_id(rid, s["number"], i), text) for i, text in enumerate(s["proofs"], 1)),
                expected_s=_expected_s(rid, s),
                disrupts=_disrupts(rid, s),
                reads_all=_disrupts(rid, s, "reads_all", "parts of the target's state it reads as a whole "
                                                        "(e.g. accounts)"),
                writes=_disrupts(rid, s, "writes", "parts of the target's state it changes (e.g. accounts)"),
            )
            for s in entry["scenarios"]
        )
        out[rid] = Requirement(
            id=rid, title=entry["title"], chapter=entry["chapter"], function=entry.get("function", ""),
            conditional=bool(entry.get("conditional")), condition=entry.get("condition", ""),
            summary=entry["summary"], scenarios=scenarios, tags=tuple(entry.get("tags", ())),
            data_required=tuple((str(k), str(v)) for k, v in (entry.get("data_required") or {}).items()),
            id_source=" ".join(str(entry.get("id_source") or "").split()),
            related=tuple(normalize_requirement_id(r) for r in entry.get("related") or ()),
        )
    return out


REQUIREMENTS_DIR = Path(__file__).with_name("requirements")


EXTRA_ENV = "SEGUR_CATALOG_EXTRA"


@lru_cache(maxsize=1)
def catalog() -> dict[str, Requirement]:
    merged: dict = {}
    for path in sorted(REQUIREMENTS_DIR.glob("*.yaml")):
        with open(path, encoding="utf-8") as fh:
            merged.update(yaml.safe_load(fh) or {})
    # test and benchmark only: synthetic requirements from another folder (``<dir>/requirements/*.yaml``,
    # notebooks relative to ``<dir>``); never set for real campaigns
    extra = os.environ.get(EXTRA_ENV)
    if extra:
        base = Path(extra).resolve()
        for path in sorted((base / "requirements").glob("*.yaml")):
            with open(path, encoding="utf-8") as fh:
                for rid, entry in (yaml.safe_load(fh) or {}).items():
                    for s in entry.get("scenarios", []):
                        s["notebook"] = str(base / s["notebook"])
                    merged[rid] = entry
    return _parse(merged)


def get(req_id: str) -> Requirement | None:
    return catalog().get(normalize_requirement_id(req_id))

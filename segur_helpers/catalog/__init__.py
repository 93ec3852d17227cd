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
    # how to restore each of them, ``(service, "capability.method")`` of the campaign's driver: the batch
    # calls it, outside the kernel, when the proof ends however it ends (killed, timed out, interrupted)
    restores: tuple[tuple[str, str], ...] = ()

    @property
    def notebook_path(self) -> Path:
        return NOTEBOOKS_DIR / self.notebook


DATA_TYPES = ("text", "integer", "number", "boolean", "mapping", "list", "secret", "email", "url", "date", "file")


@dataclass(frozen=True)
class DataSpec:
    """One entry of a requirement's ``data_required``: a dotted path in the campaign's data, what is
    expected there (English, shown in the error), its type and whether it may be left out.

    In the catalogue, ``path: "what is expected"`` is a required ``text`` (a string or a number); the long
    form ``path: {expected: "…", type: integer, optional: true}`` gives another type (see
    
    :data:`DATA_TYPES`; ``integer`` and ``number`` are positive; ``file`` is a path the campaign names, which
    must lie inside its folder or ``allowed_dirs``)."""

    path: str
    expected: str
    type: str = "text"
    optional: bool = False

    def type_problem(self, value) -> str | None:
        """Why ``value`` is not of this type (a short English phrase), None when it is."""
        import math
        import re

        t = self.type
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        if t == "text":
            if isinstance(value, str) and value.strip() or number:
                return None
            return "a text" if not isinstance(value, str) else "is blank"
        if t == "integer":
            if not (isinstance(value, int) and not isinstance(value, bool)):
                return "an integer"
            return None if value > 0 else "is not positive"
        if t == "number":
            if not number:
                return "a number"
            return None if value > 0 else "is not positive"
        if t == "boolean":
            return None if isinstance(value, bool) else "a boolean (true or false)"
        if t == "mapping":
            return None if isinstance(value, dict) else "a mapping"
        if t == "list":
            return None if isinstance(value, list) and value else ("a list" if not isinstance(value, list)
                                                                    else "is an empty list")
        if not isinstance(value, str):
            return "a text"
        if t == "secret":
            return None if re.fullmatch(r"env:[A-Za-z_][A-Za-z0-9_]*", value) else "is not a reference env:NAME"
        if t == "email":
            return None if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value) else "is not an e-mail address"
        if t == "url":
            return None if re.match(r"^[a-z][a-z0-9+.-]*://[^/\s]+", value, re.I) else "is not a URL"
        if t == "date":
            return None if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else "is not a date YYYY-MM-DD"
        return None  # file: checked by the params (inside the campaign's folder, existing)


def _data_specs(rid: str, raw) -> tuple[DataSpec, ...]:
    out = []
    for path, value in (raw or {}).items():
        if isinstance(value, dict):
            unknown = set(value) - {"expected", "type", "optional"}
            kind = value.get("type", "text")
            if unknown or kind not in DATA_TYPES or not isinstance(value.get("expected"), str):
                raise ValueError(f"catalogue {rid}: data_required.{path}: expected \"what is expected\" or "
                                 f"{{expected, type ({', '.join(DATA_TYPES)}), optional}}, got {value!r:.80}")
            out.append(DataSpec(str(path), value["expected"], kind, bool(value.get("optional"))))
        else:
            out.append(DataSpec(str(path), str(value)))
    return tuple(out)


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
    # what the scenario needs in the campaign's data (path, expected, type): checked before anything runs
    data_required: tuple[DataSpec, ...] = field(default_factory=tuple)
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


def _restores(rid: str, s: dict, disrupts: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    value = s.get("restores") or {}
    import re

    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) and
                                              re.fullmatch(r"[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*", v)
                                              for k, v in value.items()):
        raise ValueError(f"catalogue {rid}: scenario {s.get('number')}: restores: expected a mapping service → "
                         f"capability.method of the driver, got {value!r:.60}")
    missing = [d for d in disrupts if d not in value]
    if missing:
        raise ValueError(f"catalogue {rid}: scenario {s.get('number')}: disrupts {', '.join(missing)} without "
                         "saying how to restore it; expected restores: {service: capability.method}")
    return tuple(value.items())


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
                restores=_restores(rid, s, _disrupts(rid, s)),
            )
            for s in entry["scenarios"]
        )
        out[rid] = Requirement(
            id=rid, title=entry["title"], chapter=entry["chapter"], function=entry.get("function", ""),
            conditional=bool(entry.get("conditional")), condition=entry.get("condition", ""),
            summary=entry["summary"], scenarios=scenarios, tags=tuple(entry.get("tags", ())),
            data_required=_data_specs(rid, entry.get("data_required")),
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

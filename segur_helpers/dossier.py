"""The whole dossier: how each requirement of the imported REM project is covered.

Every requirement of the REM ends in exactly one of five kinds (:data:`KINDS`), decided in this order:

1. **automated** — the project's catalogue has a scenario notebook for it and the campaign runs it;
2. **guided** — the campaign declares a guided proof for it (``guided:``, :mod:`segur_helpers.guided`);
3. **justified** — the campaign declares its LORSQUE condition unmet, with a justification;
4. **out of profile** — the REM says the requirement concerns other products than the campaign's
   ``profile`` (the families of a Squash version, ``REQ_VERSION_CUF_SEGUR_REM``: ``DUI|LGC|RIS|SGL``
   for PSC.03 leaves a DPI out);
5. **missing** — none of these: the dossier lacks it, and every view says so.

A requirement the project's catalogue lacks (the REM's own ids) is made here as a
:class:`~segur_helpers.catalog.Requirement` read from the REM (:func:`requirement_for`), so the batch,
the covers, the summaries and the bundle treat guided proofs and justifications like the others.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import catalog
from .ids import normalize_requirement_id, scenario_id

KINDS = ("automated", "guided", "justified", "out_of_profile", "missing")
KIND_FR = {"automated": "preuve automatisée", "guided": "preuve guidée",
           "justified": "justification (condition non remplie)", "out_of_profile": "hors du profil du produit",
           "missing": "manquante"}
KIND_SHORT_FR = {"automated": "automatisée", "guided": "guidée", "justified": "justifiée",
                 "out_of_profile": "hors profil", "missing": "manquante"}
GUIDED_NOTEBOOK = "REM_GUIDEE.ipynb"


def _rem_statement(rem, entry) -> str:
    quoted = entry if entry.statement else rem.wording_parent(entry)
    return quoted.statement if quoted is not None else ""


def rem_conditional(rem, entry) -> bool:
    """Whether a REM requirement is conditional: the layout's flag when it has one (wide report), else
    whether its statement (or its socle parent's) carries a condition (« Si… », « Lorsque… », « Dans le
    cas où… », « LORSQUE »)."""
    if entry.conditional is not None:
        return bool(entry.conditional)
    from .catalog.wording import condition_clause
    return bool(condition_clause(_rem_statement(rem, entry)))


def requirement_for(rid: str, rem, guided=None) -> catalog.Requirement | None:
    """The catalogue's requirement, else one made from the imported REM's entry (None when neither has
    it). Its one scenario is the guided proof's (``guided``: a :class:`~segur_helpers.guided_spec.GuidedSpec`)
    or, without one, the REM's first scenario, else ``<id>.01``."""
    rid = normalize_requirement_id(rid)
    known = catalog.get(rid)
    if known is not None:
        return known
    entry = rem.get(rid) if rem is not None else None
    if entry is None:
        return None
    from .catalog.wording import condition_clause
    statement = _rem_statement(rem, entry)
    conditional = rem_conditional(rem, entry)
    if guided is not None:
        number, title = guided.scenario, guided.scenario_title
        proofs = tuple((e.id, e.text) for e in guided.elements)
    else:
        first = entry.scenarios[0] if entry.scenarios else None
        number = first.number if first else 1
        title = ""
        proofs = tuple((p.id, p.text) for p in (first.proofs if first else []))
    rem_scenario = entry.scenario(number)
    if not title:
        title = (rem_scenario.text.splitlines()[0] if rem_scenario is not None and rem_scenario.text
                 else "Scénario de conformité")
    scenario = catalog.Scenario(id=scenario_id(rid, number), number=number, title=title,
                                notebook=GUIDED_NOTEBOOK, proofs=proofs)
    return catalog.Requirement(
        id=rid, title=entry.function or entry.chapter or rid, chapter=entry.chapter_code or rid.rpartition(".")[0],
        function=entry.function or "", conditional=conditional,
        condition=condition_clause(statement) if conditional else "",
        summary=statement or "Le REM importé ne donne pas d'énoncé pour cette exigence.",
        scenarios=(scenario,))


@dataclass
class DossierRow:
    id: str
    chapter: str
    chapter_title: str
    kind: str
    detail: str              # French: the notebook, the guided proof's elements, why out of profile…
    in_rem: bool = True
    function: str = ""
    status: str = ""         # the REM's Squash status
    version: str = ""
    families: str = ""       # the product families the REM names ("" = all)
    scenarios: tuple[str, ...] = ()   # the proofs (scenario ids) a run makes for it

    @property
    def kind_fr(self) -> str:
        return KIND_FR[self.kind]


def out_of_profile(entry, profile: str | None) -> bool:
    """The REM names the product families a requirement concerns, and the campaign's profile is not one."""
    if not profile or not entry.families:
        return False
    return profile.strip().casefold() not in {f.casefold() for f in entry.families}


def classify(rem, campaign=None) -> list[DossierRow]:
    """Every requirement of the REM project (then the campaign's requirements the REM lacks), with its kind."""
    from .catalog.wording import chapter

    scope = campaign.requirements if campaign is not None else {}
    profile = getattr(campaign, "profile", None) if campaign is not None else None
    rows: list[DossierRow] = []
    ids = list(rem.requirements) if rem is not None else []
    seen = set(ids)
    for rid in [*scope, *catalog.catalog()]:   # then the campaign's and the project's the REM lacks
        if rid not in seen:
            ids.append(rid)
            seen.add(rid)
    for rid in ids:
        entry = rem.get(rid) if rem is not None else None
        mine = catalog.get(rid)
        conf = scope.get(rid)
        notebooks = [s.notebook for s in mine.scenarios] if mine else []
        have_notebooks = bool(mine) and all(s.notebook_path.is_file() for s in mine.scenarios)
        scenarios: tuple[str, ...] = ()
        if conf is not None and conf.get("guided") is not None:
            spec = conf["guided"]
            kind = "guided"
            modes = {}
            for e in spec.elements:
                modes[e.mode or ""] = modes.get(e.mode or "", 0) + 1
            from .guided_spec import MODE_FR
            detail = (f"{len(spec.elements)} élément(s) : "
                      + ", ".join(f"{n} {MODE_FR[m]}" for m, n in modes.items()))
            scenarios = (spec.scenario_id,)
        elif conf is not None and not conf["condition_met"]:
            kind, detail = "justified", "condition déclarée non remplie dans la campagne"
            req = requirement_for(rid, rem)
            scenarios = tuple(s.id for s in req.scenarios) if req else ()
        elif conf is not None and have_notebooks:
            kind, detail = "automated", ", ".join(notebooks)
            scenarios = tuple(s.id for s in mine.scenarios)
        elif campaign is None and have_notebooks:
            kind, detail = "automated", ", ".join(notebooks)
        elif entry is not None and out_of_profile(entry, profile):
            kind = "out_of_profile"
            detail = (f"le REM réserve cette exigence aux produits {', '.join(entry.families)} ; "
                      f"profil de la campagne : {profile}")
        else:
            kind = "missing"
            detail = (f"scénario automatisé disponible ({', '.join(notebooks)}), absent de la campagne"
                      if have_notebooks else "ni preuve automatisée, ni preuve guidée, ni justification")
        ch = chapter(rid, rem)
        rows.append(DossierRow(
            id=rid, chapter=ch.code, chapter_title=ch.title, kind=kind, detail=detail, in_rem=entry is not None,
            function=(entry.function if entry and entry.function else mine.function if mine else "") or "",
            status=(entry.status or "") if entry else "", version=str(entry.version or "") if entry else "",
            families="|".join(entry.families) if entry else "", scenarios=scenarios))
    return rows


def counts(rows: list[DossierRow], *, in_rem_only: bool = True) -> dict[str, int]:
    return {k: sum(1 for r in rows if r.kind == k and (r.in_rem or not in_rem_only)) for k in KINDS}


def summary_line(rows: list[DossierRow], rem) -> str:
    """``dossier: 167 requirement(s) of REM HOP-DPI: 12 automated, 17 guided, … 114 missing``."""
    c = counts(rows)
    label = f"REM {rem.project_code}" if rem is not None and rem.project_code else "the imported REM"
    total = sum(1 for r in rows if r.in_rem)
    return (f"dossier: {total} requirement(s) of {label}: "
            + ", ".join(f"{c[k]} {k.replace('_', ' ')}" for k in KINDS))


def record(rows: list[DossierRow], rem) -> dict:
    """What ``run.json`` keeps of the dossier (``dossier``): the REM, the counts and every requirement's
    kind (the missing ones listed)."""
    return {
        "rem": {"project": rem.project or "", "code": rem.project_code or "", "file": rem.source,
                "sha256": rem.sha256} if rem is not None else None,
        "counts": counts(rows),
        "requirements": [{"id": r.id, "chapter": r.chapter, "chapter_title": r.chapter_title, "kind": r.kind,
                          "detail": r.detail, "in_rem": r.in_rem, "function": r.function, "status": r.status,
                          "scenarios": list(r.scenarios)} for r in rows],
        "missing": [r.id for r in rows if r.kind == "missing" and r.in_rem],
    }


__all__ = ["KINDS", "KIND_FR", "DossierRow", "classify", "counts", "record", "requirement_for"]

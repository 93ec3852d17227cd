"""Which words a proof or a justification quotes: the imported REM's, or the project's own summary; and
what the cover says about the requirement's id (which REM, which version, where an id comes from).

When a REM is imported for the campaign (``rem:`` in the params, written by ``segur catalog import``)
and it knows the requirement, its official wording is quoted: the statement (énoncé), the conformity
scenario and the expected proof texts, as far as the imported layout carries them (a Squash export has
no scenarios, for instance). A requirement of the REM project without wording of its own (Squash copies
a socle requirement into a business REM with an empty description) quotes its socle parent's, and says
so. Whatever the REM lacks comes from the project's own catalogue. Each part says where its words come
from, so a reviewer never mistakes a summary for the official text.

A quoted text is never cut: the statement is quoted whole, and the condition clause is made of whole
sentences of it, labelled « extrait » when they are not the whole statement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from . import Requirement, Scenario
from .rem import RemCatalog, RemRequirement

PROJECT_SOURCE = "résumé du projet segur-proofs"
EXTRACT = "extrait de l'énoncé"
LAYOUT_FR = {"convergence": "export Convergence", "wide": "rapport Squash « Ségur »",
             "squash": "export Squash", "squash-update": "feuille de mise à jour Squash"}
STATUS_FR = {"APPROVED": "approuvée", "UNDER_REVIEW": "en revue", "WORK_IN_PROGRESS": "en cours de rédaction",
             "OBSOLETE": "obsolète"}

# "Si le système …, le système DOIT" / "Lorsque …, …" / "… LORSQUE …": sentences carrying the applicability
# condition.
_LEADING_CONDITION = re.compile(r"^\s*(?:[-*•]\s*)?(si|lorsque|lorsqu['’]|quand|dans le cas où)\b", re.I)
_UPPER_LORSQUE = re.compile(r"\bLORSQU(?:E\b|['’])")
# a sentence ends at . ! ? followed by blanks and a capital (not "3.1.3.1. du", not "etc.) ;")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[«\"(\[A-ZÀ-ÖØ-Þ])")


def _sentences(statement: str) -> list[tuple[int, int, str]]:
    """(line, index, sentence) for every sentence of every line of a statement."""
    out = []
    for n, line in enumerate(statement.splitlines()):
        for i, sentence in enumerate(s for s in _SENTENCE_END.split(line.strip()) if s.strip()):
            out.append((n, i, sentence.strip()))
    return out


def condition_excerpt(statement: str) -> tuple[str, bool]:
    """The whole sentences of an official statement that carry its applicability condition, and whether
    they are only part of the statement (an « extrait »). ``("", False)`` when no condition is recognised.

    A sentence is never cut: ``Si le système A (…), le système DOIT B lorsque C.`` is quoted whole, its
    second condition (``lorsque C``) included. Sentences that are not next to each other are joined by
    ``[…]``.
    """
    if not statement or not statement.strip():
        return "", False
    sentences = _sentences(statement)
    chosen = [(n, i, s) for n, i, s in sentences if _LEADING_CONDITION.match(s) or _UPPER_LORSQUE.search(s)]
    if not chosen:
        return "", False
    parts: list[str] = []
    previous = None
    for n, i, s in chosen:
        position = sentences.index((n, i, s))
        if previous is None:
            parts.append(s)
        elif position == previous + 1:
            parts.append((" " if sentences[previous][0] == n else "\n") + s)
        else:
            parts.append("\n[…]\n" + s)
        previous = position
    text = "".join(parts)
    whole = " ".join(statement.split())
    return text, " ".join(text.split()) != whole


def condition_clause(statement: str) -> str:
    """The applicability condition of an official statement (whole sentences), or "" when none is
    recognised; see :func:`condition_excerpt`."""
    return condition_excerpt(statement)[0]


def rem_label(rem: RemCatalog) -> str:
    """``REM HOP-DPI « REM_HOP-DPI_Hôpital [va2] »`` for a Squash project; the file otherwise. (Sources are
    printed between parentheses on the covers: they hold none of their own.)"""
    if rem.project and rem.project_code and rem.project_code != rem.project:
        return f"REM {rem.project_code} « {rem.project} »"
    if rem.project:
        return f"REM {rem.project}"
    return f"REM importé « {rem.source} »"


def rem_source(rem: RemCatalog) -> str:
    where = f"{rem.source}, {LAYOUT_FR.get(rem.layout, rem.layout)}"
    if rem.project:
        return f"libellé officiel du {rem_label(rem)} — {where}"
    return f"libellé officiel du REM importé — {where}"


def _version_status(req: RemRequirement) -> str:
    parts = []
    if req.version:
        parts.append(f"version {req.version}")
    if req.status:
        parts.append(f"statut {req.status} ({STATUS_FR.get(req.status, req.status.lower())})")
    return ", ".join(parts)


def _describe(req: RemRequirement) -> str:
    """``SC.SSI/IE.31 du projet SC_SSI_Sécurité [va2], version 1, statut APPROVED``."""
    head = f"{req.squash_ref or req.id}" + (f" du projet {req.project}" if req.project else "")
    tail = ", ".join(x for x in (f"version {req.version}" if req.version else "",
                                 f"statut {req.status}" if req.status else "") if x)
    return f"{head}, {tail}" if tail else head


@dataclass(frozen=True)
class Official:
    """What the imported REM says of a requirement: its own entry (``kind="project"``), a socle requirement
    only linked to the project's (``kind="socle"``), or nothing (``kind=""``); and whose words are quoted."""

    kind: str
    entry: RemRequirement | None
    quoted: RemRequirement | None   # the entry whose statement is quoted (the entry, or its socle parent)


def official(req_id: str, rem: RemCatalog | None) -> Official:
    if rem is None:
        return Official("", None, None)
    entry = rem.get(req_id)
    if entry is not None:
        quoted = entry if entry.statement else rem.wording_parent(entry)
        return Official("project", entry, quoted)
    socle = rem.linked_socle(req_id)
    if socle is not None:
        return Official("socle", socle, socle if socle.statement else None)
    return Official("", None, None)


def _statement_source(rem: RemCatalog, found: Official) -> str:
    entry, quoted = found.entry, found.quoted
    where = f"{rem.source}, {LAYOUT_FR.get(rem.layout, rem.layout)}"
    if found.kind == "socle":
        children = ", ".join(c.reference for c in entry.children)
        return (f"libellé officiel de l'exigence socle {_describe(entry)}, parente de {children} du "
                f"{rem_label(rem)} — {where}")
    if quoted is entry:
        return rem_source(rem)
    return (f"libellé officiel de l'exigence socle parente {_describe(quoted)}, le {rem_label(rem)} ne donnant "
            f"pas de texte propre à {entry.id} — {where}")


def wording(requirement: Requirement, scenario: Scenario | None, rem: RemCatalog | None) -> dict[str, Any]:
    """The texts a cover quotes and where each comes from, and what the cover says of the id.

    Keys: ``summary`` (the statement, whole) and ``wording_source``; ``scenario_text`` and
    ``scenario_source`` (the official conformity scenario, "" when not imported); ``expected``
    (``[{id, text}]``) and ``expected_source``; ``condition`` (the applicability condition, "" for an
    unconditional requirement), ``condition_source`` and ``condition_extract`` (True when the condition is
    only part of the statement: its source then says « extrait de l'énoncé ci-dessus »); and the id's
    identity (:func:`identity`).
    """
    found = official(requirement.id, rem)
    out: dict[str, Any] = {
        "summary": requirement.summary,
        "wording_source": PROJECT_SOURCE + (" — exigence absente du REM importé" if rem is not None
                                            else " — aucun REM importé"),
        "scenario_text": "", "scenario_source": "",
        "expected": [{"id": pid, "text": text} for pid, text in (scenario.proofs if scenario else ())],
        "expected_source": PROJECT_SOURCE,
        "condition": requirement.condition if requirement.conditional else "",
        "condition_source": PROJECT_SOURCE if requirement.conditional else "",
        "condition_extract": False,
        **identity(requirement, rem, found),
    }
    if found.entry is None:
        return out
    if found.quoted is not None:
        source = _statement_source(rem, found)
        out.update(summary=found.quoted.statement, wording_source=source)
        if requirement.conditional:
            clause, partial = condition_excerpt(found.quoted.statement)
            if clause:
                # the statement is quoted just above it, with its source
                out.update(condition=clause, condition_extract=partial,
                           condition_source=f"{EXTRACT} ci-dessus" if partial else "l'énoncé ci-dessus, en entier")
    else:
        out["wording_source"] = PROJECT_SOURCE + " — le REM importé ne donne pas l'énoncé de cette exigence"
    rem_scenario = found.entry.scenario(scenario.number) if scenario is not None else None
    if rem_scenario is not None:
        source = rem_source(rem)
        if rem_scenario.text:
            out.update(scenario_text=rem_scenario.text, scenario_source=source)
        if rem_scenario.proofs:
            out.update(expected=[{"id": p.id, "text": p.text} for p in rem_scenario.proofs],
                       expected_source=source)
    return out


def identity(requirement: Requirement, rem: RemCatalog | None, found: Official | None = None) -> dict[str, Any]:
    """What the cover says of the requirement's id.

    ``squash_ref``: the Squash reference as the imported REM writes it, "" when it has none (never
    derived from the id); ``rem``: the imported REM (``project``, ``code``, ``version`` of the REM,
    ``file``, ``layout``) or None; ``rem_entry``: ``{kind, version, status, reference, project}`` of the
    requirement in it ("" kind when absent); ``id_source``: where the id comes from when the imported REM
    lacks it (the catalogue's ``id_source``), "" otherwise; ``related``: the requirements the catalogue
    references beside it, each ``{id, in_rem, version, status}``.
    """
    found = found or official(requirement.id, rem)
    entry = found.entry
    info: dict[str, Any] = {
        "squash_ref": (entry.squash_ref or "") if entry is not None else "",
        "rem": None if rem is None else {
            "project": rem.project or "", "code": rem.project_code or "", "version": rem.project_version or "",
            "file": rem.source, "layout": rem.layout, "label": rem_label(rem)},
        "rem_entry": {"kind": found.kind, "version": entry.version if entry else None,
                      "status": entry.status if entry else None,
                      "reference": entry.squash_ref if entry else None,
                      "project": entry.project if entry else None,
                      "children": [c.reference for c in entry.children] if found.kind == "socle" else []},
        "id_source": "" if entry is not None else requirement.id_source,
        "related": [],
    }
    for rid in requirement.related:
        other = official(rid, rem)
        info["related"].append({"id": rid, "in_rem": other.entry is not None,
                                "version": other.entry.version if other.entry else None,
                                "status": other.entry.status if other.entry else None})
    return info


def identity_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The cover rows that say which requirement this is, in which REM, and where its id comes from:
    the same for a proof and a justification. The Squash reference is shown only when the imported REM
    has it; an id the REM lacks says where it comes from and never looks like a REM reference."""
    rows = [("Exigence", f"{info['requirement']} — {info['title']}")]
    rem, entry = info.get("rem"), info.get("rem_entry") or {}
    kind = entry.get("kind", "")
    if rem is None:
        rows.append(("Référentiel", "aucun REM importé pour cette campagne"))
    else:
        where = f"import de {rem['file']}, {LAYOUT_FR.get(rem['layout'], rem['layout'])}"
        state = ", ".join(x for x in (
            f"version {entry['version']}" if entry.get("version") else "",
            f"statut {entry['status']} ({STATUS_FR.get(entry['status'], entry['status'].lower())})"
            if entry.get("status") else "") if x)
        if kind == "project":
            rows.append(("Référentiel", f"{rem['label']} — exigence {info['requirement']}"
                         + (f", {state}" if state else "") + f" ; {where}"))
        elif kind == "socle":
            rows.append(("Référentiel", f"exigence du socle {entry['project']}" + (f", {state}" if state else "")
                         + f", parente de {', '.join(entry['children'])} du {rem['label']} ; {where}"))
        else:
            rows.append(("Référentiel", f"exigence absente du {rem['label']} ; {where}"))
    if info.get("squash_ref"):
        rows.append(("Référence Squash", f"{info['squash_ref']} (telle qu'écrite dans le REM importé)"))
    if info.get("chapter"):  # the imported REM's chapter (code and title), else the project's (chapter())
        rows.append(("Chapitre", f"{info['chapter']} — {info['chapter_title']}" if info.get("chapter_title")
                     else info["chapter"]))
    if kind == "" and info.get("id_source"):
        rows.append(("Origine de l'identifiant", info["id_source"]))
    elif kind == "" and rem is None:
        rows.append(("Origine de l'identifiant", "identifiant du REM DPI, non vérifié (aucun REM importé)"))
    related = info.get("related") or []
    if related:
        def one(r: dict) -> str:
            if rem is None:
                return r["id"]
            if not r["in_rem"]:
                return f"{r['id']} (absente du REM importé)"
            state = ", ".join(x for x in (f"version {r['version']}" if r.get("version") else "",
                                          f"statut {r['status']}" if r.get("status") else "") if x)
            return f"{r['id']} ({rem['label']}" + (f", {state})" if state else ")")
        rows.append(("Exigence(s) liée(s)", " ; ".join(one(r) for r in related)))
    return rows


@dataclass(frozen=True)
class Chapter:
    """A requirement's chapter: ``code`` (``SSI/IE``: folder names, sorting) and ``title`` (the REM's
    chapter or section title, "" when no REM gives it); ``source`` says which."""

    code: str
    title: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.code} — {self.title}" if self.title else self.code


def chapter(req_id: str, rem: RemCatalog | None = None) -> Chapter:
    """The chapter of a requirement, from the imported REM wherever it has one (Squash section, wide
    report's ID Section/Section, Convergence's Chapitre), else the project's catalogue. This is the one
    function covers, ``segur catalog list/coverage``, summaries and bundles take their chapter from."""
    from . import get as catalog_get
    from ..ids import normalize_requirement_id

    rid = normalize_requirement_id(req_id)
    mine = catalog_get(rid)
    found = official(rid, rem)
    fallback = mine.chapter if mine is not None else rid.rpartition(".")[0] or rid
    if found.entry is not None:
        entry = found.entry
        code = entry.chapter_code or fallback
        return Chapter(code=code, title=entry.chapter or "", source="rem")
    return Chapter(code=fallback, title="", source="catalogue" if mine is not None else "id")

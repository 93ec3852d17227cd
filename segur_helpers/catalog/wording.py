"""Which words a proof or a justification quotes: the imported REM's, or the project's own summary.

When a REM is imported for the campaign (``rem:`` in the params, written by ``segur catalog import``)
and it knows the requirement, its official wording is quoted: the statement (énoncé), the conformity
scenario and the expected proof texts, as far as the imported layout carries them (a Squash export has
no scenarios, for instance). Whatever it lacks comes from the project's own catalogue. Each part says
where its words come from, so a reviewer never mistakes a summary for the official text.
"""
from __future__ import annotations

import re
from typing import Any

from . import Requirement, Scenario
from .rem import RemCatalog

PROJECT_SOURCE = "résumé du projet segur-proofs"
LAYOUT_FR = {"convergence": "export Convergence", "wide": "rapport Squash « Ségur »",
             "squash": "export Squash", "squash-update": "feuille de mise à jour Squash"}

# "Si le système …, le système DOIT" / "Lorsque …, …" / "… LORSQUE …": the applicability clause.
_LEADING_CONDITION = re.compile(r"^\s*(si|lorsque|lorsqu['’]|quand|dans le cas où)\b", re.I)
_UPPER_LORSQUE = re.compile(r"\bLORSQU(?:E|['’])")


_ALORS = re.compile(r"\s+ALORS\b")


def _split_at_top_level_comma(text: str) -> str:
    m = _ALORS.search(text)
    if m:
        text = text[:m.start()]
    depth = 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif ch == "," and depth == 0:
            return text[:i]
        elif ch in ".;\n" and depth == 0 and (i + 1 == len(text) or text[i + 1] in " \n"):
            return text[:i]
    return text


def condition_clause(statement: str) -> str:
    """The applicability clause of an official statement, or "" when none is recognised.

    ``Si le système (…), le système DOIT …`` → ``Si le système (…)``; ``… LORSQUE x, …`` → ``LORSQUE x``.
    """
    text = " ".join(statement.split("\n")[:1]) if statement else ""
    if _LEADING_CONDITION.match(text):
        return _split_at_top_level_comma(text).strip()
    m = _UPPER_LORSQUE.search(statement or "")
    if m:
        return _split_at_top_level_comma(statement[m.start():]).strip()
    return ""


def rem_source(rem: RemCatalog) -> str:
    return f"libellé officiel du REM importé — {rem.source}, {LAYOUT_FR.get(rem.layout, rem.layout)}"


def wording(requirement: Requirement, scenario: Scenario | None, rem: RemCatalog | None) -> dict[str, Any]:
    """The texts a cover quotes and where each comes from.

    Keys: ``summary`` (the statement) and ``wording_source``; ``scenario_text`` and ``scenario_source``
    (the official conformity scenario, "" when not imported); ``expected`` (``[{id, text}]``) and
    ``expected_source``; ``condition`` (the applicability clause, "" for an unconditional requirement)
    and ``condition_source``.
    """
    official = rem.get(requirement.id) if rem is not None else None
    out: dict[str, Any] = {
        "summary": requirement.summary,
        "wording_source": PROJECT_SOURCE + (" (exigence absente du REM importé)" if rem is not None
                                            else " (aucun REM importé)"),
        "scenario_text": "", "scenario_source": "",
        "expected": [{"id": pid, "text": text} for pid, text in (scenario.proofs if scenario else ())],
        "expected_source": PROJECT_SOURCE,
        "condition": requirement.condition if requirement.conditional else "",
        "condition_source": PROJECT_SOURCE if requirement.conditional else "",
    }
    if official is None:
        return out
    source = rem_source(rem)
    if official.statement:
        out.update(summary=official.statement, wording_source=source)
        clause = condition_clause(official.statement) if requirement.conditional else ""
        if clause:
            out.update(condition=clause, condition_source=source)
    else:
        out["wording_source"] = PROJECT_SOURCE + " (le REM importé ne donne pas l'énoncé de cette exigence)"
    rem_scenario = official.scenario(scenario.number) if scenario is not None else None
    if rem_scenario is not None:
        if rem_scenario.text:
            out.update(scenario_text=rem_scenario.text, scenario_source=source)
        if rem_scenario.proofs:
            out.update(expected=[{"id": p.id, "text": p.text} for p in rem_scenario.proofs],
                       expected_source=source)
    return out

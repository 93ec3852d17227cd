"""What a requirement's scenario needs from a driver, read from its scenario module's source.

The scenario module of a requirement is the one its notebooks import (``from segur_helpers.scenarios
import X``), or the catalogue's ``module:`` key when a scenario names one. Every literal call
``proof.driver.<capability>.<method>(…)`` in that module is a need, attributed to the ``@step`` that
makes it (directly or through a module-level helper it calls), so a step the campaign marks manual
does not require its capabilities. New requirements need no list: writing the scenario is enough.

The modules are read, never imported: validating a campaign (which steps have a manual mode) and
``segur driver check`` run no scenario or driver code to learn what a scenario needs.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SCENARIO_IMPORT = re.compile(r"from\s+segur_helpers\.scenarios\s+import\s+(\w+)|"
                             r"import\s+segur_helpers\.scenarios\.(\w+)")
SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"


@dataclass
class Needs:
    """The capability methods a scenario module calls: ``{step number or 0: {(capability, method)}}``."""

    module: str
    by_step: dict[int, set[tuple[str, str]]] = field(default_factory=dict)
    step_titles: dict[int, str] = field(default_factory=dict)
    manual_aware: set[int] = field(default_factory=set)  # steps that consult proof.manual…

    def required(self, manual_steps: set[int] = frozenset()) -> dict[tuple[str, str], list[int]]:
        out: dict[tuple[str, str], list[int]] = {}
        for number, calls in sorted(self.by_step.items()):
            if number in manual_steps and number in self.manual_aware:
                continue
            for call in calls:
                out.setdefault(call, []).append(number)
        return out


def scenario_modules(scenario) -> list[str]:
    """The scenario modules a catalogue scenario uses: its ``module`` if named, else its notebook's imports."""
    named = getattr(scenario, "module", None)
    if named:
        return [named]
    path = scenario.notebook_path
    if not path.is_file():
        return []
    nb = json.loads(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", ""))
        for m in SCENARIO_IMPORT.finditer(src):
            name = m.group(1) or m.group(2)
            if name not in found:
                found.append(name)
    return found


def _driver_call(node: ast.AST) -> tuple[str, str] | None:
    """``<x>.driver.<cap>.<method>`` (called) → (cap, method)."""
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    method = node.func.attr
    cap = node.func.value
    if isinstance(cap, ast.Attribute) and isinstance(cap.value, ast.Attribute) and cap.value.attr == "driver":
        return cap.attr, method
    return None


def _capability_aliases(fn: ast.AST) -> dict[str, str]:
    """Local names bound to a capability: ``docs = proof.driver.documents`` or
    ``changes = capability(proof, "contact_changes")`` (the scenarios' helper) → {name: capability}."""
    out: dict[str, str] = {}
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        value = node.value
        if isinstance(value, ast.Await):
            value = value.value
        if (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Attribute)
                and value.value.attr == "driver"):
            out[node.targets[0].id] = value.attr
        elif (isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "capability"
              and len(value.args) == 2 and isinstance(value.args[1], ast.Constant)
              and isinstance(value.args[1].value, str)):
            out[node.targets[0].id] = value.args[1].value
    return out


def _step_number(fn: ast.AST) -> tuple[int, str] | None:
    for deco in getattr(fn, "decorator_list", []):
        if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name) and deco.func.id == "step"
                and deco.args and isinstance(deco.args[0], ast.Constant)):
            title = deco.args[1].value if len(deco.args) > 1 and isinstance(deco.args[1], ast.Constant) else ""
            return int(deco.args[0].value), str(title)
    return None


def analyse_source(source: str, module: str = "") -> Needs:
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    direct: dict[str, set[tuple[str, str]]] = {}
    calls_fn: dict[str, set[str]] = {}
    manual: dict[str, bool] = {}
    for name, fn in functions.items():
        direct[name], calls_fn[name] = set(), set()
        manual[name] = False
        aliases = _capability_aliases(fn)
        for node in ast.walk(fn):
            if (hit := _driver_call(node)) is not None:
                direct[name].add(hit)
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and isinstance(node.func.value, ast.Name) and node.func.value.id in aliases):
                direct[name].add((aliases[node.func.value.id], node.func.attr))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
                calls_fn[name].add(node.func.id)
            if isinstance(node, ast.Attribute) and node.attr.startswith("manual") and \
                    isinstance(node.value, ast.Name) and node.value.id == "proof":
                manual[name] = True

    def closure(name: str, seen: set[str]) -> set[tuple[str, str]]:
        out = set(direct[name])
        for callee in calls_fn[name] - seen:
            out |= closure(callee, seen | {callee})
        return out

    needs = Needs(module=module)
    for name, fn in functions.items():
        numbered = _step_number(fn)
        if numbered is None:
            continue
        number, title = numbered
        needs.by_step.setdefault(number, set()).update(closure(name, {name}))
        needs.step_titles[number] = title
        if manual[name]:
            needs.manual_aware.add(number)
    return needs


def analyse_module(module: str) -> Needs:
    """Read ``segur_helpers/scenarios/<module>.py`` (without importing it)."""
    path = SCENARIOS_DIR / f"{module}.py"
    return analyse_source(path.read_text(encoding="utf-8"), f"segur_helpers.scenarios.{module}")

"""What a requirement's scenario needs from a driver, read from its notebook and scenario modules' source.

The scenario module of a requirement is the one its notebooks import (``from segur_helpers.scenarios
import X as scenario``), or the catalogue's ``module:`` key when a scenario names one. A notebook calls
some of that module's functions (``await scenario.<function>(proof, …)``): those, and what they call,
are what the requirement needs. Two requirements sharing a module (SSI/IAM.87 and SSI/IAM.94) need only
what their own notebook calls.

Every way a scenario reaches a capability is a need, attributed to the ``@step`` that makes it (directly
or through a helper it calls, in the same module or imported from a sibling scenario module such as
``_documents``), so a step the campaign marks manual does not require its capabilities:

- ``proof.driver.<capability>.<method>(…)``;
- ``capability(proof, "<capability>").<method>(…)`` (the scenarios' helper) or
  ``getattr(proof.driver, "<capability>"[, default]).<method>(…)``;
- a local name bound to a capability (``docs = proof.driver.documents``,
  ``review = capability(proof, "account_review")``) and then ``docs.<method>(…)``.

New requirements need no list: writing the scenario and its notebook is enough.

The modules are read, never imported: validating a campaign (which steps have a manual mode) and
``segur driver check`` run no scenario or driver code to learn what a scenario needs.
"""
from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SCENARIO_IMPORT = re.compile(r"from\s+segur_helpers\.scenarios\s+import\s+(\w+)(?:\s+as\s+(\w+))?|"
                             r"import\s+segur_helpers\.scenarios\.(\w+)(?:\s+as\s+(\w+))?")
SCENARIOS_DIR = Path(__file__).resolve().parents[1] / "scenarios"
CAPABILITY_HELPERS = {"capability"}   # scenario helpers called as helper(proof, "name") → the capability

Call = tuple[str, str]                # (capability, method)
FnKey = tuple[str, str]               # (module, function)


@dataclass
class Needs:
    """The capability methods a scenario calls: ``{step number (0 = outside any step): {(capability, method)}}``."""

    module: str
    by_step: dict[int, set[Call]] = field(default_factory=dict)
    step_titles: dict[int, str] = field(default_factory=dict)
    manual_aware: set[int] = field(default_factory=set)  # steps that consult proof.manual…
    functions: list[str] = field(default_factory=list)   # the module's functions the notebook calls

    def required(self, manual_steps: set[int] = frozenset()) -> dict[Call, list[int]]:
        out: dict[Call, list[int]] = {}
        for number, calls in sorted(self.by_step.items()):
            if number in manual_steps and number in self.manual_aware:
                continue
            for call in sorted(calls):
                out.setdefault(call, []).append(number)
        return out


def notebook_calls(path: Path) -> dict[str, list[str]]:
    """``{scenario module: [functions the notebook calls on it, in order]}`` for a notebook file."""
    if not path.is_file():
        return {}
    nb = json.loads(path.read_text(encoding="utf-8"))
    sources = ["".join(c.get("source", "")) for c in nb.get("cells", []) if c.get("cell_type") == "code"]
    aliases: dict[str, str] = {}
    found: dict[str, list[str]] = {}
    for src in sources:
        for m in SCENARIO_IMPORT.finditer(src):
            module = m.group(1) or m.group(3)
            alias = m.group(2) or m.group(4) or (m.group(1) and module) or f"segur_helpers.scenarios.{module}"
            aliases[alias] = module
            found.setdefault(module, [])
    for src in sources:
        for alias, module in aliases.items():
            for m in re.finditer(rf"(?<![\w.]){re.escape(alias)}\.(\w+)\s*\(", src):
                if m.group(1) not in found[module]:
                    found[module].append(m.group(1))
    return found


def scenario_modules(scenario) -> list[str]:
    """The scenario modules a catalogue scenario uses: its ``module`` if named, else its notebook's imports."""
    named = getattr(scenario, "module", None)
    if named:
        return [named]
    return list(notebook_calls(scenario.notebook_path))


# -- reading a module ----------------------------------------------------------------------------------
@dataclass
class _Function:
    node: ast.AST
    direct: set[Call] = field(default_factory=set)
    callees: set[FnKey] = field(default_factory=set)
    manual: bool = False
    step: tuple[int, str] | None = None


def _const_str(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _capability_expr(node: ast.AST) -> str | None:
    """The capability an expression stands for: ``<x>.driver.<cap>``, ``capability(<x>, "cap")``,
    ``getattr(<x>.driver, "cap")`` (awaited or not); None otherwise."""
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "driver":
        return node.attr
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) in (2, 3):
        if node.func.id in CAPABILITY_HELPERS and len(node.args) == 2:
            return _const_str(node.args[1])
        if (node.func.id == "getattr" and isinstance(node.args[0], ast.Attribute)   # getattr(proof.driver, "x"[, None])
                and node.args[0].attr == "driver"):
            return _const_str(node.args[1])
    return None


def _step_number(fn: ast.AST) -> tuple[int, str] | None:
    for deco in getattr(fn, "decorator_list", []):
        if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Name) and deco.func.id == "step"
                and deco.args and isinstance(deco.args[0], ast.Constant)):
            title = deco.args[1].value if len(deco.args) > 1 and isinstance(deco.args[1], ast.Constant) else ""
            return int(deco.args[0].value), str(title)
    return None


def _read_module(source: str, module: str) -> dict[str, _Function]:
    """Each top-level function of a scenario module: the capability calls it makes itself and the
    functions it calls (local ones, or imported from a sibling scenario module)."""
    tree = ast.parse(source)
    functions = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    imported: dict[str, FnKey] = {}     # name → (sibling module, function)
    modules: dict[str, str] = {}        # name → sibling module
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                if node.module:          # from ._documents import write_and_validate
                    imported[alias.asname or alias.name] = (node.module, alias.name)
                else:                    # from . import _documents
                    modules[alias.asname or alias.name] = alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("segur_helpers.scenarios."):
            for alias in node.names:
                imported[alias.asname or alias.name] = (node.module.rsplit(".", 1)[1], alias.name)
    out: dict[str, _Function] = {}
    for name, fn in functions.items():
        info = out[name] = _Function(fn, step=_step_number(fn))
        aliases: dict[str, str] = {}
        for node in ast.walk(fn):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                cap = _capability_expr(node.value)
                if cap:
                    aliases[node.targets[0].id] = cap
        for node in ast.walk(fn):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Attribute):
                    cap = _capability_expr(func.value)
                    if cap is None and isinstance(func.value, ast.Name):
                        cap = aliases.get(func.value.id)
                    if cap is not None:
                        info.direct.add((cap, func.attr))
                    elif isinstance(func.value, ast.Name) and func.value.id in modules:
                        info.callees.add((modules[func.value.id], func.attr))
                elif isinstance(func, ast.Name):
                    if func.id in functions:
                        info.callees.add((module, func.id))
                    elif func.id in imported:
                        info.callees.add(imported[func.id])
            if (isinstance(node, ast.Attribute) and node.attr.startswith("manual")
                    and isinstance(node.value, ast.Name) and node.value.id == "proof"):
                info.manual = True
    return out


@lru_cache(maxsize=64)
def _module_functions(module: str) -> dict[str, _Function]:
    path = SCENARIOS_DIR / f"{module}.py"
    if not path.is_file():
        return {}
    return _read_module(path.read_text(encoding="utf-8"), module)


def _needs(module: str, table: dict[str, _Function], lookup, called: list[str] | None) -> Needs:
    def closure(key: FnKey, seen: set[FnKey]) -> set[Call]:
        fn = table.get(key[1]) if key[0] == module else lookup(key[0]).get(key[1])
        if fn is None:
            return set()
        out = set(fn.direct)
        for callee in fn.callees - seen:
            out |= closure(callee, seen | {callee})
        return out

    needs = Needs(module=f"segur_helpers.scenarios.{module}")
    names = [n for n in table if table[n].step is not None] if called is None else [n for n in called if n in table]
    needs.functions = names
    for name in names:
        fn = table[name]
        number, title = fn.step or (0, "")
        needs.by_step.setdefault(number, set()).update(closure((module, name), {(module, name)}))
        if fn.step is not None:
            needs.step_titles[number] = title
        if fn.manual:
            needs.manual_aware.add(number)
    return needs


def analyse_source(source: str, module: str = "") -> Needs:
    """Every ``@step`` of a module given as source text (helpers from sibling modules are read from disk)."""
    return _needs(module, _read_module(source, module), _module_functions, None)


def analyse_module(module: str, functions: list[str] | None = None) -> Needs:
    """Read ``segur_helpers/scenarios/<module>.py`` (without importing it): every ``@step``, or only
    ``functions`` (those a notebook calls) when given."""
    return _needs(module, _module_functions(module), _module_functions, functions)


def analyse_scenario(scenario) -> list[Needs]:
    """What a catalogue scenario needs, per scenario module: only the functions its notebook calls (every
    step of the module when the scenario names its module, or its notebook calls none of them)."""
    named = getattr(scenario, "module", None)
    if named:
        return [analyse_module(named)]
    return [analyse_module(module, calls or None) for module, calls in notebook_calls(scenario.notebook_path).items()]

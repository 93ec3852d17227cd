"""The notebooks are the source: each is checked as it is on disk, the way a referencing team edits it in
JupyterLab (no generator to keep in step).

For every notebook: the tagged parameters cell comes first and names its requirement, which the
catalogue knows and whose scenario names this notebook; the title names the requirement; the scenario
module it imports exists, and every step it calls is one of that module's functions, each step number
of the module being called once, in order; the proof is opened first and closed last; at most ten proof
elements; no outputs (``tests/test_packaging.py``).
"""
from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path

import pytest

from conftest import ROOT
from segur_helpers import catalog

GUIDED = ROOT / "notebooks" / "REM_GUIDEE.ipynb"   # the guided proof of any REM requirement (test_dossier.py)
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("*.ipynb") if p != GUIDED)
PARAMETERS = {"campaign", "requirement", "run_dir", "run_id"}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _assigned(code: str) -> dict[str, object]:
    out = {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            out[node.targets[0].id] = ast.literal_eval(node.value)
    return out


def test_there_are_notebooks_and_each_is_a_catalogue_scenario():
    assert len(NOTEBOOKS) >= 17
    named = {s.notebook for r in catalog.catalog().values() for s in r.scenarios}
    assert {p.name for p in NOTEBOOKS} == named, "a notebook no scenario names, or a scenario without notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_structure(path):
    cells = _cells(path)
    first = cells[0]
    assert first["cell_type"] == "code" and "parameters" in first["metadata"].get("tags", [])
    params = _assigned(_source(first))
    assert PARAMETERS <= set(params), f"parameters cell must set {sorted(PARAMETERS)}"
    requirement = catalog.get(str(params["requirement"]))
    assert requirement is not None, f"{params['requirement']!r} is not in the catalogue"
    assert path.name in {s.notebook for s in requirement.scenarios}
    assert cells[1]["cell_type"] == "markdown" and _source(cells[1]).startswith(f"# {requirement.id}")

    code = [ast.parse(_source(c)) for c in cells[1:] if c["cell_type"] == "code"]
    imports = [n for tree in code for n in ast.walk(tree)
               if isinstance(n, ast.ImportFrom) and n.module == "segur_helpers.scenarios"]
    assert len(imports) == 1 and len(imports[0].names) == 1 and imports[0].names[0].asname == "scenario"
    module = importlib.import_module(f"segur_helpers.scenarios.{imports[0].names[0].name}")

    opened = ast.unparse(code[0])
    assert "await open_proof(campaign, requirement, run_dir=run_dir, run_id=run_id" in opened
    assert ast.unparse(code[-1]).strip() == "await proof.close()"

    called = [n.func.attr for tree in code[1:-1] for n in ast.walk(tree)
              if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
              and isinstance(n.func.value, ast.Name) and n.func.value.id == "scenario"]
    assert called, "no scenario step is called"
    for name in called:
        assert callable(getattr(module, name, None)), f"scenario.{name} is not in {module.__name__}"
    numbers = [getattr(module, name).step_number for name in called if hasattr(getattr(module, name), "step_number")]
    assert numbers == sorted(numbers) and len(numbers) == len(set(numbers)), f"steps out of order: {numbers}"
    scenario = next(s for s in requirement.scenarios if s.notebook == path.name)
    assert 1 <= len(scenario.proofs) <= 10
    headings = [line for c in cells if c["cell_type"] == "markdown" for line in _source(c).splitlines()
                if line.startswith("## Preuve")]
    assert 1 <= len(headings) <= 10


def test_conditional_requirements_say_their_condition():
    for rid in ("SSI/IE.31", "SSI/IAM.83", "SSI/IAM.85", "SSI/IAM.87", "SSI/IAM.94"):
        req = catalog.get(rid)
        assert req.conditional and len(req.condition) > 40, rid
    for rid in ("SSI/IE.32", "SSI/IAM.80"):
        assert not catalog.get(rid).conditional


def test_guided_notebook_structure():
    """REM_GUIDEE.ipynb: parameters first, then the guided proof opened, walked element by element, closed."""
    cells = _cells(GUIDED)
    assert cells[0]["cell_type"] == "code" and "parameters" in cells[0]["metadata"].get("tags", [])
    assert PARAMETERS <= set(_assigned(_source(cells[0])))
    code = [_source(c) for c in cells if c["cell_type"] == "code"][1:]
    assert "await open_guided(campaign, requirement, run_dir=run_dir, run_id=run_id)" in code[0]
    assert code[1].strip() == "await guide.walk()" and code[-1].strip() == "await guide.close()"
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")

"""The identity and access notebooks are what scripts/make_identity_notebooks.py generates, without outputs."""
from __future__ import annotations

import importlib
import importlib.util

import nbformat
import pytest

from conftest import ROOT
from segur_helpers import catalog

spec = importlib.util.spec_from_file_location("make_nb", ROOT / "scripts" / "make_identity_notebooks.py")
make_nb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_nb)


@pytest.mark.parametrize("name", sorted(make_nb.NOTEBOOKS))
def test_notebook_matches_generator_and_catalog(name):
    requirement, module, intro, steps = make_nb.NOTEBOOKS[name]
    on_disk = nbformat.read(str(ROOT / "notebooks" / f"{name}.ipynb"), as_version=4)
    expected = make_nb.notebook(requirement, module, intro, steps)
    assert [c.source for c in on_disk.cells] == [c.source for c in expected.cells], "regenerate the notebook"
    assert on_disk.cells[0].metadata["tags"] == ["parameters"]
    assert all(not c.get("outputs") for c in on_disk.cells if c.cell_type == "code")
    req = catalog.get(requirement)
    assert req is not None and req.scenarios[0].notebook == f"{name}.ipynb"
    assert 1 <= len(req.scenarios[0].proofs) <= 10
    importlib.import_module(f"segur_helpers.scenarios.{module}")


def test_conditional_requirements_say_their_condition():
    for rid in ("SSI/IAM.83", "SSI/IAM.85", "SSI/IAM.87", "SSI/IAM.94"):
        req = catalog.get(rid)
        assert req.conditional and len(req.condition) > 40, rid
    for rid in ("SSI/IE.32", "SSI/IAM.80"):
        assert not catalog.get(rid).conditional

"""environment.yml (conda-forge) and pyproject.toml list the same runtime packages, same pins."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"jupyter_client": "jupyter-client"}  # conda-forge spelling → PyPI spelling


def _norm(name: str) -> str:
    name = CONDA_NAMES.get(name, name)
    return re.sub(r"[-_.]+", "-", name).lower()


def test_environment_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_pins = {}
    for spec in project["dependencies"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", spec)
        assert m, f"pyproject dependency not pinned with ==: {spec}"
        pip_pins[_norm(m.group(1))] = m.group(2)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    conda_pins = {}
    for dep in env["dependencies"]:
        if not isinstance(dep, str) or dep.split("=")[0] in ("python", "pip"):
            continue
        name, _, version = dep.partition("=")
        conda_pins[_norm(name)] = version
    assert conda_pins == pip_pins
    python = [d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python=")]
    assert python == ["python=3.11"] and project["requires-python"].startswith(">=3.11")


def test_notebooks_committed_clean():
    """Notebooks are committed without outputs, execution counts or stray empty cells (JupyterLab adds
    them when a team runs a notebook in place), and each opens with its tagged parameters cell."""
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), path.name
        assert all("".join(c["source"]).strip() for c in nb["cells"]), f"{path.name}: empty cell"
        assert "parameters" in nb["cells"][0].get("metadata", {}).get("tags", []), path.name


def test_catalogue_ids_match_the_params_schema():
    import json

    from segur_helpers import catalog

    schema = json.loads((ROOT / "segur_helpers" / "params.schema.json").read_text(encoding="utf-8"))
    pattern = schema["properties"]["requirements"]["propertyNames"]["pattern"]
    assert all(re.match(pattern, rid) and re.match(pattern, "SC." + rid) for rid in catalog.catalog())

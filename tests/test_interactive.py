"""The notebook as a referencing team runs it in JupyterLab: a plain kernel, no papermill, no run_dir."""
from __future__ import annotations

import json
import os

import nbformat
from nbclient import NotebookClient

from conftest import ROOT, campaign_dict


def test_notebook_runs_top_to_bottom_in_a_plain_kernel(tmp_path, write_params, demo_stack, monkeypatch):
    stack = demo_stack()
    params = write_params(campaign_dict(stack.url, stack.maildir))
    nb = nbformat.read(str(ROOT / "notebooks" / "SSI_IE.31.ipynb"), as_version=4)
    first = nb.cells[0]
    assert "parameters" in first.metadata.get("tags", [])
    first.source = first.source.replace('"../params/demo.yaml"', json.dumps(str(params)))
    monkeypatch.setenv("SEGUR_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()

    # every step left a visible card; the last cell shows the verdict and carries it in its metadata
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []))
    assert "Capture d'écran" in html and "Message reçu" in html and "RÉUSSI" in html
    final = [o for o in nb.cells[-1].outputs if "segur" in o.get("metadata", {})]
    assert final and final[0]["metadata"]["segur"]["result"]["verdict"] == "CONFORME"
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))

    runs = list((tmp_path / "outputs" / "test").glob("interactive-*/SSI_IE.31.01/result.json"))
    assert len(runs) == 1
    assert json.loads(runs[0].read_text())["verdict"] == "CONFORME"

"""The no-code YAML driver reproduces the Python demo driver's verdicts on the demo DPI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, campaign_dict, run_segur

MAP = ROOT / "params" / "demo-dpi-map.yaml"


def _yaml_campaign(url: str, maildir: Path, map_file: Path = MAP) -> dict:
    with open(ROOT / "params" / "demo-yaml-driver.yaml", encoding="utf-8") as fh:
        shipped = yaml.safe_load(fh)
    assert shipped["driver"] == "yaml:demo-dpi-map.yaml"
    return campaign_dict(url, maildir, driver=f"yaml:{map_file}")


def _outcome(tmp_path: Path, write_params, data: dict, name: str) -> tuple[int, dict]:
    out = tmp_path / f"out-{name}"
    proc = run_segur("run", str(write_params(data, f"{name}.yaml")), "--outputs", str(out))
    result_file = next(out.rglob("result.json"))
    return proc.returncode, json.loads(result_file.read_text(encoding="utf-8"))


@pytest.mark.parametrize("defects", [(), ("SSI/IE.31",)], ids=["compliant", "defect"])
def test_yaml_driver_gives_the_python_driver_verdicts(tmp_path, write_params, demo_stack, admin_password, defects):
    stack = demo_stack(defects=defects)
    code_py, py = _outcome(tmp_path, write_params, campaign_dict(stack.url, stack.maildir), "python")
    code_ym, ym = _outcome(tmp_path, write_params, _yaml_campaign(stack.url, stack.maildir), "yaml")
    assert py["verdict"] == ("NON CONFORME" if defects else "CONFORME")
    assert (code_ym, ym["verdict"]) == (code_py, py["verdict"])
    assert ym["driver"].startswith("yaml:") and py["driver"] == "demo"
    checks = lambda r: [(c["step"], c["label"], c["passed"]) for c in r["checks"]]  # noqa: E731
    assert checks(ym) == checks(py)
    kinds = lambda r: [(e["step"], e["kind"]) for e in r["evidence"]]  # noqa: E731
    assert kinds(ym) == kinds(py)
    for f in (tmp_path / "out-yaml").rglob("*"):
        if f.is_file():
            assert admin_password.encode() not in f.read_bytes(), f


def test_bad_map_is_one_line_naming_map_and_key(tmp_path, write_params):
    bad = tmp_path / "map.yaml"
    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    data["accounts"]["show"]["highlight"] = "#x"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", driver="yaml:map.yaml"))
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "map.yaml" in lines[0] and "accounts.show.highlight" in lines[0], lines
    assert not (tmp_path / "out").exists()
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", driver="yaml:absent.yaml"), "p2.yaml")
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "absent.yaml not found" in proc.stderr and "driver" in proc.stderr


def test_driver_check_names_actions_the_map_lacks(tmp_path, write_params):
    data = yaml.safe_load(MAP.read_text(encoding="utf-8"))
    del data["accounts"]["verify"]
    partial = tmp_path / "partial.yaml"
    partial.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m", driver="yaml:partial.yaml"))
    proc = run_segur("driver", "check", str(params), "--no-smoke")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    missing = [l for l in proc.stdout.splitlines() if l.strip().startswith("MISSING")]
    assert len(missing) == 1 and "accounts.verify" in missing[0] and "not mapped in YamlAccounts" in missing[0]

"""`segur init` output runs after filling in the demo values."""
from __future__ import annotations

import json
import os
import re

import yaml

from conftest import ADMIN_PASSWORD, run_segur


def test_init_scaffold_runs_after_filling_in_demo_values(tmp_path, demo_stack):
    folder = tmp_path / "hopital-logiciels"
    proc = run_segur("init", str(folder), "--vendor", "Hôpital Logiciels SA")
    assert proc.returncode == 0, proc.stderr
    params, driver = folder / "campaign.yaml", folder / "hopital_logiciels_sa_driver.py"
    assert (folder / "manual" / "README.md").is_file()
    text = params.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=") and "params.schema.json" in text
    assert "SSI/IE.31:" in text and "manual:" in text   # every requirement, and how to mark a manual step

    # refused a second time: nothing is overwritten
    again = run_segur("init", str(folder))
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr

    # an unfilled skeleton says what to fill in, before any run
    stack = demo_stack()
    env = os.environ.copy()
    env["DPI_ADMIN_PASSWORD"] = ADMIN_PASSWORD
    data = yaml.safe_load(text)
    data["target"]["url"] = stack.url
    data["target"]["admin"]["username"] = "admin"
    data["mailbox"]["path"] = str(stack.maildir)
    data["allowed_dirs"] = [str(stack.maildir.parent)]    # the mail sink lives outside the campaign's folder
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    check = run_segur("driver", "check", str(params), env=env)
    assert check.returncode == 1 and "fill in LOGIN_PATH" in check.stdout

    # fill in the demo values given in the skeleton's comments
    source = driver.read_text(encoding="utf-8")
    filled, n = re.subn(r'= "TODO"(\s+)# demo: (.+)$', r"= \2\1# demo: \2", source, flags=re.M)
    assert n >= 15 and not re.search(r'^[A-Z_]+ = "TODO"', filled, flags=re.M)
    driver.write_text(filled, encoding="utf-8")
    check = run_segur("driver", "check", str(params), env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    out = tmp_path / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(next(out.rglob("result.json")).read_text(encoding="utf-8"))
    assert result["verdict"] == "CONFORME" and result["vendor"] == "Hôpital Logiciels SA"
    assert result["driver"] == "hopital_logiciels_sa_driver:HopitalLogicielsSaDriver"


def test_lab_environment_sets_campaign_and_toolkit(tmp_path, write_params):
    from conftest import ROOT, campaign_dict
    from segur_helpers.scaffold import lab_environment

    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "m"))
    env = lab_environment(str(params))
    assert env["SEGUR_CAMPAIGN"] == str(params.resolve())
    assert str(ROOT) in env["PYTHONPATH"].split(os.pathsep)
    proc = run_segur("lab", str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2 and "absent.yaml" in proc.stderr and "Traceback" not in proc.stderr

"""Ids renamed to the REM's (DMP/CS.01 → DMP/CONF.16, CDA/N1.01 → DMP/CONF.04: segur_helpers.ids.OLD_IDS)
keep working where they were written: params keys and --only (read under the new id, with a one-line
notice), the demo's --defect, `segur status` across old and new runs, and the resume and rerun of a run
folder made under the old ids (fabricated here as an earlier version of the toolkit left it).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfWriter

from conftest import ROOT, campaign_dict, run_segur
from segur_helpers.batch import plan
from segur_helpers.errors import UserError
from segur_helpers.ids import OLD_IDS, current_id
from segur_helpers.params import load_campaign
from segur_helpers.runfolder import write_manifest


def old_params(data: dict) -> dict:
    """A campaign written before the renaming: the requirements under their former ids."""
    new_to_old = {new: old for old, new in OLD_IDS.items()}
    data["requirements"] = {new_to_old.get(k, k): v for k, v in data["requirements"].items()}
    return data


def test_the_table():
    assert OLD_IDS == {"DMP/CS.01": "DMP/CONF.16", "CDA/N1.01": "DMP/CONF.04"}
    assert current_id("DMP/CS.01.01.02") == "DMP/CONF.16.01.02" and current_id("CDA/N1.01.01") == "DMP/CONF.04.01"
    assert current_id("SSI/IE.31.01") == "SSI/IE.31.01" and current_id("DMP/CS.011") == "DMP/CS.011"


def test_params_keys_and_only_are_read_under_the_new_ids(tmp_path, write_params, capsys):
    data = old_params(campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("DMP/CONF.16", "DMP/CONF.04")))
    params = write_params(data)
    campaign = load_campaign(params)
    assert list(campaign.requirements) == ["DMP/CONF.04", "DMP/CONF.16"]  # as written (yaml sorts the keys)
    assert campaign.notices == [
        f"notice: {params}: requirements.CDA/N1.01: CDA/N1.01 is now DMP/CONF.04 (the REM's id); read as DMP/CONF.04",
        f"notice: {params}: requirements.DMP/CS.01: DMP/CS.01 is now DMP/CONF.16 (the REM's id); read as DMP/CONF.16"]
    assert [p.scenario.id for p in plan(campaign, only=["CDA/N1.01"])] == ["DMP/CONF.04.01"]
    assert capsys.readouterr().err.strip() == \
        "notice: --only: CDA/N1.01 is now DMP/CONF.04 (the REM's id); read as DMP/CONF.04"
    # the old and the new key together: one requirement named twice
    data["requirements"]["DMP/CONF.16"] = data["requirements"]["DMP/CS.01"]
    with pytest.raises(UserError, match="requirements.DMP/CS.01: DMP/CS.01 is the former id of DMP/CONF.16"):
        load_campaign(write_params(data, "twice.yaml"))


def test_demo_accepts_the_old_defect_names():
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_PASSWORD_VAR"}
    proc = subprocess.run([sys.executable, "-m", "demo_dpi", "--defect", "DMP/CS.01", "--defect", "CDA/N1.01",
                           "--admin-password-env", "NO_SUCH_PASSWORD_VAR"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    # the names are accepted (mapped, with a notice); it stops at the missing password, before serving
    assert proc.returncode == 2 and "expected one of" not in proc.stderr
    assert "notice: --defect DMP/CS.01 is now --defect DMP/CONF.16" in proc.stderr
    assert "notice: --defect CDA/N1.01 is now --defect DMP/CONF.04" in proc.stderr
    assert "NO_SUCH_PASSWORD_VAR is unset" in proc.stderr
    from demo_dpi import DEFECT_ALIASES, KNOWN_DEFECTS
    assert set(DEFECT_ALIASES.values()) <= set(KNOWN_DEFECTS) and not set(DEFECT_ALIASES) & set(KNOWN_DEFECTS)


def fabricate_run(outputs: Path, params: Path, run_id: str, proofs: list[dict], scope: list[str],
                  status: str = "complete") -> Path:
    """A run folder as an earlier version of the toolkit left it (ids, folder names, run.json)."""
    run = outputs / "test" / run_id
    run.mkdir(parents=True)
    entries = []
    for p in proofs:
        folder = run / p["scenario"].replace("/", "_")
        folder.mkdir()
        pdf = folder / f"{folder.name}.pdf"
        writer = PdfWriter()
        writer.add_blank_page(width=595, height=842)
        with open(pdf, "wb") as fh:
            writer.write(fh)
        result = {"requirement": p["requirement"], "scenario": p["scenario"], "verdict": p["verdict"],
                  "title": "preuve d'une version antérieure", "started": p["finished"], "finished": p["finished"],
                  "expected": [{"id": p["scenario"] + ".01", "text": "élément"}],
                  "checks": [{"label": "vérification ancienne", "passed": p["verdict"] == "CONFORME"}],
                  "error": None, "evidence": []}
        (folder / "result.json").write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        entries.append({"scenario": p["scenario"], "requirement": p["requirement"], "chapter": "X",
                        "verdict": p["verdict"], "duration_s": 3.0, "attempts": 1, "started": p["finished"],
                        "finished": p["finished"], "pdf": f"{folder.name}/{pdf.name}", "pdf_sha256": "0" * 64,
                        "error": None})
    record = {"toolkit_version": "0.0.old", "campaign": "test", "run_id": run_id, "params_file": params.name,
              "params_path": str(params),
              # the file the run was made with (a resume refuses a campaign file changed since)
              "params_sha256": hashlib.sha256(params.read_bytes()).hexdigest(), "secret_references": [],
              "vendor": "Éditeur de démonstration", "product": "Demo DPI", "version": "0.1.0",
              "target_url": "http://127.0.0.1:9", "driver": "demo", "operator": "Équipe de test",
              "python": "3.11", "executor": "local", "workers": 1, "notebooks": {}, "scope": scope,
              "started": "2026-01-10T10:00:00+01:00", "finished": "2026-01-10T10:05:00+01:00", "status": status,
              "history": [{"action": "run", "started": "2026-01-10T10:00:00+01:00",
                           "finished": "2026-01-10T10:05:00+01:00", "status": status, "duration_s": 300.0}],
              "proofs": entries, "remaining": [s for s in scope if s not in {p["scenario"] for p in proofs}],
              "counts": {}}
    (run / "run.json").write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
    write_manifest(run)
    return run


def test_status_maps_old_runs(tmp_path, write_params):
    params = write_params(campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("DMP/CONF.16",)))
    out = tmp_path / "outputs"
    fabricate_run(out, params, "20260110T100000-0001", [
        {"scenario": "DMP/CS.01.01", "requirement": "DMP/CS.01", "verdict": "CONFORME",
         "finished": "2026-01-10T10:04:00+01:00"}], ["DMP/CS.01.01"])
    proc = run_segur("status", "test", "--outputs", str(out), "--max-age-days", "100000")
    assert proc.returncode == 0, proc.stderr
    (line,) = [l for l in proc.stdout.splitlines() if "CONF.16" in l or "CS.01" in l]
    assert line.split()[:3] == ["test", "DMP/CONF.16.01", "CONFORME"] and "(made as DMP/CS.01.01)" in line
    # a later run under the new id supersedes it: one line per scenario, old and new runs together
    fabricate_run(out, params, "20260210T100000-0002", [
        {"scenario": "DMP/CONF.16.01", "requirement": "DMP/CONF.16", "verdict": "NON CONFORME",
         "finished": "2026-02-10T10:04:00+01:00"}], ["DMP/CONF.16.01"])
    proc = run_segur("status", "test", "--outputs", str(out), "--max-age-days", "100000")
    (line,) = [l for l in proc.stdout.splitlines() if "CONF.16" in l or "CS.01" in l]
    assert line.split()[:4] == ["test", "DMP/CONF.16.01", "NON", "CONFORME"] and "made as" not in line
    assert "1 scenario(s)" in proc.stdout


def test_resume_and_rerun_of_an_old_run(tmp_path, write_params, demo_stack):
    """An old run, interrupted: CDA/N1.01.01 done (NON CONFORME), DMP/CS.01.01 not run. Resumed, then its
    failed proof rerun, against the real demo target, from the campaign file as it was written then."""
    stack = demo_stack(with_dmp=True)
    data = campaign_dict(stack.url, stack.maildir, only=("DMP/CONF.16", "DMP/CONF.04"), dmp={"url": stack.dmp_url})
    params = write_params(old_params(data))
    out = tmp_path / "outputs"
    run = fabricate_run(out, params, "20260110T100000-0001", [
        {"scenario": "CDA/N1.01.01", "requirement": "CDA/N1.01", "verdict": "NON CONFORME",
         "finished": "2026-01-10T10:04:00+01:00"}], ["DMP/CS.01.01", "CDA/N1.01.01"], status="interrupted")
    old_pdf = (run / "CDA_N1.01.01" / "CDA_N1.01.01.pdf").read_bytes()

    proc = run_segur("run", "--resume", str(run), "--outputs", str(out), timeout=900)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # the old NON CONFORME proof is still there
    assert "Traceback" not in proc.stderr
    assert "notice: 20260110T100000-0001: proof CDA/N1.01.01 is now DMP/CONF.04.01" in proc.stdout
    assert "requirements.DMP/CS.01: DMP/CS.01 is now DMP/CONF.16" in proc.stdout
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "complete" and record["scope"] == ["DMP/CONF.16.01", "DMP/CONF.04.01"]
    by_id = {e["scenario"]: e for e in record["proofs"]}
    assert set(by_id) == {"DMP/CONF.16.01", "DMP/CONF.04.01"}
    assert by_id["DMP/CONF.16.01"]["verdict"] == "CONFORME" and by_id["DMP/CONF.16.01"]["folder"] == "DMP_CONF.16.01"
    assert (by_id["DMP/CONF.04.01"]["folder"], by_id["DMP/CONF.04.01"]["renamed_from"]) == ("CDA_N1.01.01",
                                                                                          "CDA/N1.01.01")
    result = json.loads((run / "DMP_CONF.16.01" / "result.json").read_text(encoding="utf-8"))
    assert result["requirement"] == "DMP/CONF.16" and (run / "DMP_CONF.16.01" / "DMP_CONF.16.01.pdf").is_file()
    with open(run / "summary.csv", encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh, delimiter=";"))
    assert list(dict.fromkeys(r["N° scénario"] for r in table)) == ["DMP/CONF.16.01", "DMP/CONF.04.01"]
    assert all(r["N° preuve"].startswith(r["N° scénario"] + ".") for r in table)
    assert run_segur("verify", str(run)).returncode == 0

    # the old failed proof runs again in its own folder, its first attempt kept
    proc = run_segur("rerun", str(run), "--failed", "--outputs", str(out), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    folder = run / "CDA_N1.01.01"
    assert (folder / "attempts" / "1" / "CDA_N1.01.01.pdf").read_bytes() == old_pdf
    assert json.loads((folder / "result.json").read_text(encoding="utf-8"))["verdict"] == "CONFORME"
    assert (folder / "DMP_CONF.04.01.pdf").is_file() and not (run / "DMP_CONF.04.01").exists()
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    entry = next(e for e in record["proofs"] if e["scenario"] == "DMP/CONF.04.01")
    assert (entry["verdict"], entry["attempts"], entry["folder"]) == ("CONFORME", 2, "CDA_N1.01.01")
    assert entry["pdf"] == "CDA_N1.01.01/DMP_CONF.04.01.pdf"
    assert run_segur("verify", str(run)).returncode == 0
    proc = run_segur("status", "test", "--outputs", str(out))
    assert [l.split()[1] for l in proc.stdout.splitlines()[1:-1]] == ["DMP/CONF.04.01", "DMP/CONF.16.01"]

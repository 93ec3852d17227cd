"""The whole demo campaign, as `make demo` runs it, against the whole demo target on free ports."""
from __future__ import annotations

import json
import os
import secrets

import yaml

from conftest import ROOT, files_under, run_segur


def test_demo_campaign_is_all_conforme(tmp_path, demo_stack, admin_password, monkeypatch):
    names = ("DEMO_LDAP_ADMIN_PASSWORD", "DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD",
             "DEMO_PSC_USER_PASSWORD", "DEMO_PSC_ADMIN_PASSWORD")
    for var in names:
        monkeypatch.setenv(var, "demo-" + secrets.token_urlsafe(16))
    stack = demo_stack(with_dmp=True, with_ldap=True, with_oidc=True, with_psc=True)
    text = stack.retarget((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    assert "8765" not in text and "../outputs/demo-target" not in text
    params = tmp_path / "demo.yaml"
    params.write_text(text, encoding="utf-8")
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"), env=os.environ.copy(), timeout=1500)
    (run,) = [p for p in (tmp_path / "out" / "demo").iterdir() if p.is_dir()]
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    verdicts = {p["scenario"]: p["verdict"] for p in record["proofs"]}
    in_scope = yaml.safe_load(text)["requirements"]
    assert len(verdicts) >= len(in_scope)
    assert set(verdicts.values()) == {"CONFORME"}, (verdicts, proc.stdout[-3000:], proc.stderr[-3000:])
    assert proc.returncode == 0
    assert (run / "summary.pdf").is_file() and (run / "summary.xlsx").is_file()
    secrets_used = [admin_password] + [os.environ[v] for v in names]
    for f in files_under(run):
        data = f.read_bytes()
        assert not any(s.encode() in data for s in secrets_used), f"secret found in {f}"

"""SSI/IAM.83 and SSI/IAM.85 end to end against the demo DPI and a real slapd over LDAPS."""
from __future__ import annotations

import copy

import yaml

from conftest import ROOT
from identity_e2e import (LDAP_PASSWORD, assert_no_secret, failed_labels, pdf_text, result, run_requirements,
                          with_directory)

REQS = ("SSI/IAM.83", "SSI/IAM.85")


def _requirements(stack, **sync) -> dict:
    data = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))
    reqs = {k: copy.deepcopy(v) for k, v in data["requirements"].items() if k in REQS}
    return with_directory(stack, reqs, **sync)


def test_directory_sync_compliant_then_permissions_ignored(tmp_path, write_params, demo_stack, admin_password):
    # compliant: IAM.83 waits for the scheduled run (every 3 s), IAM.85 presses "synchronise now"
    stack = demo_stack(with_ldap=True, ldap_sync_s=3)
    reqs = _requirements(stack)
    reqs["SSI/IAM.83"]["data"]["sync"] = {"mode": "wait", "wait_s": 60}
    proc, run = run_requirements(tmp_path, write_params, stack, REQS, requirements=reqs)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    for req in REQS:
        res = result(run, req)
        assert res["verdict"] == "CONFORME", (req, failed_labels(res), res.get("error"))
        exchanges = [e for e in res["evidence"] if e["kind"] == "exchange"]
        assert len(exchanges) >= 3  # LDAP operations kept
        assert any(e["name"].endswith(".pem") for e in res["evidence"])
    res83 = result(run, "SSI/IAM.83")
    assert any("programmée" in c["label"] and c["passed"] for c in res83["checks"])
    text = pdf_text(run, "SSI/IAM.83")
    assert "Certificat TLS présenté par l'annuaire" in text and "annuaire.hopital-demo.test" in text
    assert "modify" in text and "CONFORME" in text and "NON CONFORME" not in text
    text = pdf_text(run, "SSI/IAM.85")
    assert "dpi-admins" in text and "Le rôle ADMIN" in text
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)
    assert_no_secret(run, LDAP_PASSWORD)

    bad = demo_stack(defects=["SSI/IAM.85"], with_ldap=True, ldap_sync_s=60)
    proc, run = run_requirements(tmp_path, write_params, bad, REQS, name="defect.yaml", requirements=_requirements(bad))
    assert proc.returncode == 1, proc.stderr
    assert result(run, "SSI/IAM.83")["verdict"] == "CONFORME"   # identities are still synchronised
    res85 = result(run, "SSI/IAM.85")
    assert res85["verdict"] == "NON CONFORME"
    failed = failed_labels(res85)
    assert "Le rôle ADMIN (groupe dpi-admins rejoint) est attribué" in failed
    text = pdf_text(run, "SSI/IAM.85")
    assert "NON CONFORME" in text and "Le rôle ADMIN (groupe dpi-admins rejoint) est attribué" in text
    assert_no_secret(run, LDAP_PASSWORD, proc.stdout, proc.stderr)

"""SSI/IE.32 end to end against the real demo DPI: compliant → CONFORME, defect → NON CONFORME."""
from __future__ import annotations

from identity_e2e import assert_no_secret, failed_labels, pdf_text, result, run_requirements

REQ = "SSI/IE.32"


def test_email_change_compliant_then_defective(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack()
    proc, run = run_requirements(tmp_path, write_params, stack, (REQ,))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    res = result(run, REQ)
    assert res["verdict"] == "CONFORME", failed_labels(res)
    assert len(res["checks"]) >= 7
    emails = [e for e in res["evidence"] if e["kind"] == "email"]
    assert len(emails) == 2
    notice = next(e for e in emails if "ancienne adresse" in e["caption"])
    raw = (run / "SSI_IE.32.01" / "evidence" / notice["name"]).read_bytes()
    assert notice["name"].endswith(".eml") and b"Avis de modification" in raw and b"alix.modifsegur+" in raw
    text = pdf_text(run, REQ)
    assert "CONFORME" in text and "NON CONFORME" not in text
    for element in ("SSI/IE.32.01.01", "SSI/IE.32.01.04", "Avis reçu à l'ancienne adresse"):
        assert element in text
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)

    bad = demo_stack(defects=[REQ])
    proc, run = run_requirements(tmp_path, write_params, bad, (REQ,), name="defect.yaml")
    assert proc.returncode == 1, proc.stderr
    res = result(run, REQ)
    assert res["verdict"] == "NON CONFORME"
    failed = failed_labels(res)
    assert "La nouvelle adresse n'est pas active tant qu'elle n'a pas été vérifiée" in failed
    assert "Avis de modification reçu à l'ancienne adresse" in failed
    text = pdf_text(run, REQ)
    assert "NON CONFORME" in text and "Vérifications en échec" in text and "Avis de modification reçu" in text
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)

"""SSI/IE.32 end to end against the real demo DPI: compliant → CONFORME; each defect → NON CONFORME.

The change of e-mail address is notified to the old coordinate (the old address, raw .eml) and to the
other coordinate (the account's mobile, an SMS that the demo's SMS gateway keeps as a file).
"""
from __future__ import annotations

import json

from identity_e2e import assert_no_secret, failed_labels, pdf_text, result, run_requirements

REQ = "SSI/IE.32"
OLD = "Notification reçue à l'ancienne adresse"
SMS = "Notification reçue par SMS au n° de mobile"


def test_email_change_compliant_notifies_the_old_address_and_the_mobile(tmp_path, write_params, demo_stack,
                                                                        admin_password):
    stack = demo_stack()
    proc, run = run_requirements(tmp_path, write_params, stack, (REQ,))
    assert proc.returncode == 0, proc.stderr + proc.stdout
    res = result(run, REQ)
    assert res["verdict"] == "CONFORME", failed_labels(res)
    labels = [c["label"] for c in res["checks"]]
    assert len(res["checks"]) >= 9 and OLD in labels and SMS in labels
    assert "Le SMS annonce la modification de l'adresse de messagerie" in labels
    emails = [e for e in res["evidence"] if e["kind"] == "email"]
    assert len(emails) == 2
    notice = next(e for e in emails if "ancienne adresse" in e["caption"])
    raw = (run / "SSI_IE.32.01" / "evidence" / notice["name"]).read_bytes()
    assert notice["name"].endswith(".eml") and b"Notification de modification" in raw and b"alix.modifsegur+" in raw
    # the SMS is kept byte for byte as the gateway stored it, and hashed
    (sms,) = [e for e in res["evidence"] if e["kind"] == "sms"]
    kept = (run / "SSI_IE.32.01" / "evidence" / sms["name"]).read_bytes()
    stored = {p.read_bytes() for p in stack.sms_dir.glob("*.json")}
    assert kept in stored and json.loads(kept)["to"] == "+33639980042"
    import hashlib
    assert hashlib.sha256(kept).hexdigest() == sms["sha256"]
    text = pdf_text(run, REQ)
    assert "CONFORME" in text and "NON CONFORME" not in text
    for element in ("SSI/IE.32.01.01", "SSI/IE.32.01.04", "Notification reçue à l'ancienne adresse",
                    "Notification au n° de mobile +33639980042", "heure de Paris"):
        assert element in text, element
    assert "Avis de modification" not in text and "Avis reçu" not in text  # « notification », as the REM says
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)


def test_each_defect_gives_non_conforme(tmp_path, write_params, demo_stack, admin_password):
    bad = demo_stack(defects=[REQ])
    proc, run = run_requirements(tmp_path, write_params, bad, (REQ,), name="defect.yaml")
    assert proc.returncode == 1, proc.stderr
    res = result(run, REQ)
    assert res["verdict"] == "NON CONFORME"
    failed = failed_labels(res)
    assert "La nouvelle adresse n'est pas active tant qu'elle n'a pas été vérifiée" in failed
    assert OLD in failed and SMS in failed
    text = pdf_text(run, REQ)
    assert "NON CONFORME" in text and "Vérifications en échec" in text and OLD in text
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)

    # the other coordinate is not notified: only the SMS check fails
    no_sms = demo_stack(defects=[f"{REQ}-sms"])
    proc, run = run_requirements(tmp_path, write_params, no_sms, (REQ,), name="defect-sms.yaml")
    assert proc.returncode == 1, proc.stderr
    res = result(run, REQ)
    assert res["verdict"] == "NON CONFORME"
    assert failed_labels(res) == [SMS]
    assert not [e for e in res["evidence"] if e["kind"] == "sms"] and not list(no_sms.sms_dir.glob("*.json"))
    text = pdf_text(run, REQ)
    assert "NON CONFORME" in text and SMS in text and "aucun SMS reçu" in text
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)

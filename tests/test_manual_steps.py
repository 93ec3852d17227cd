"""Manual steps in a batch: operator-supplied evidence with its attestation, or ERREUR naming the file."""
from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from pypdf import PdfReader

from conftest import campaign_dict, run_segur
from segur_helpers.evidence import sha256_file

EMAIL = "camille.manuel@demo-dpi.test"


def _campaign(stack, tmp_path, evidence: str) -> dict:
    data = campaign_dict(stack.url, stack.maildir)
    data["allowed_dirs"] = [str(stack.maildir.parent)]    # the campaign lives in its own folder, the target apart
    req = data["requirements"]["SSI/IE.31"]
    req["data"]["professional"]["email"] = EMAIL          # the operator's message is for a known address
    req["data"].pop("control_professional")
    req["manual"] = {2: {"evidence": evidence, "attestation": {
        "by": "Jeanne Martin, référente Ségur", "at": "2026-11-25T14:05",
        "action": "Message relevé sur le poste du professionnel et enregistré au format .eml"}}}
    return data


def _supplied_eml(stack) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Demo DPI <no-reply@demo-dpi.test>"
    msg["To"] = EMAIL
    msg["Subject"] = "Vérification de votre adresse de messagerie — Demo DPI"
    msg["Date"] = "Wed, 25 Nov 2026 13:04:00 +0000"
    msg["Message-ID"] = "<manual-test@demo-dpi.test>"
    msg.set_content(f"Bonjour,\n\n{stack.url}/verify?token=RelevéParLOpérateur0123456789\n\n"
                    "Code de vérification : 12345678\n")
    return msg.as_bytes()


def _text(pdf: Path) -> str:
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages).split())


def test_manual_evidence_shown_hashed_and_attested_or_erreur_naming_the_file(tmp_path, write_params, demo_stack):
    stack = demo_stack()
    campaign_dir = tmp_path / "campaign"
    (campaign_dir / "manuel").mkdir(parents=True)
    eml = campaign_dir / "manuel" / "etape-2.eml"
    eml.write_bytes(_supplied_eml(stack))
    params = campaign_dir / "campaign.yaml"

    # 1. evidence present: the proof shows it as supplied by the operator, hashed, with the attestation
    import yaml
    params.write_text(yaml.safe_dump(_campaign(stack, tmp_path, "manuel/etape-2.eml"), allow_unicode=True))
    out = tmp_path / "out"
    proc = run_segur("run", str(params), "--outputs", str(out))
    proof_dir = next(out.rglob("result.json")).parent
    result = json.loads((proof_dir / "result.json").read_text(encoding="utf-8"))
    assert result["error"] is None, result["error"]
    manual = [e for e in result["evidence"] if e["manual"]]
    assert [e["kind"] for e in manual] == ["email", "observation"]          # the .eml and the attestation
    kept = proof_dir / "evidence" / manual[0]["name"]
    assert kept.read_bytes() == eml.read_bytes() and sha256_file(kept) == manual[0]["sha256"]
    assert result["manual"][0]["by"] == "Jeanne Martin, référente Ségur"
    assert result["manual"][0]["files"][0]["sha256"] == manual[0]["sha256"]
    checks = {c["label"]: c["passed"] for c in result["checks"]}
    assert checks["Message de vérification reçu par le professionnel (fourni par l'opérateur)"] is True
    assert checks["Le message porte un code ou un lien de vérification"] is True
    # the operator's message is not this run's: the product refuses its link, which the proof says
    assert checks["Le système accepte le code ou lien reçu"] is False
    assert result["verdict"] == "NON CONFORME" and proc.returncode == 1
    text = _text(proof_dir / f"{proof_dir.name}.pdf")
    for words in ("Étapes réalisées manuellement", "Jeanne Martin, référente Ségur", "25/11/2026 à 14:05",
                  "Message fourni par l'opérateur", "(fourni par l’opérateur)", manual[0]["sha256"][:16],
                  "Message relevé sur le poste du professionnel"):
        assert words in text, words
    assert "élément(s) de preuve" not in text     # the per-step JupyterLab cards stay out of the PDF

    # 2. evidence missing: ERREUR naming the step and the expected file; step 1 still ran
    eml.unlink()
    proc = run_segur("run", str(params), "--outputs", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    newest = sorted(p for p in (out / "test").iterdir() if p.is_dir())[-1]
    result = json.loads(next(newest.rglob("result.json")).read_text(encoding="utf-8"))
    assert result["verdict"] == "ERREUR"
    assert result["error"]["kind"] == "manual_evidence_missing" and result["error"]["step"] == 2
    assert "étape 2" in result["error"]["message"] and str(eml) in result["error"]["message"]
    assert [s["status"] for s in result["steps"]] == ["done", "error", "skipped"]
    assert str(eml) in proc.stderr
    assert json.loads((newest / "run.json").read_text())["status"] == "complete"


def test_manual_marking_is_validated(tmp_path, write_params, demo_stack):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "m")
    data["requirements"]["SSI/IE.31"]["manual"] = {1: {"evidence": "x.png"}}
    proc = run_segur("run", str(write_params(data)), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "requirements.SSI/IE.31.manual.1" in proc.stderr
    assert "no manual mode; expected one of 2" in proc.stderr
    data["requirements"]["SSI/IE.31"]["manual"] = {2: {"attestation": {"by": "x"}}}
    proc = run_segur("run", str(write_params(data)), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "manual.2.evidence" in proc.stderr
    assert not (tmp_path / "out").exists()

"""DMP/CONF.16's scenario 2 (connexion secrète collected at admission, received through the IHE PAM feed)
end to end: the demo DPI with its admission feed listener and the DMP simulator started here on free ports,
the real CLI. A requirement with two scenarios: both run, each in its own proof folder and numbering.

Compliant → both CONFORME; each admission-feed defect → scenario 2 NON CONFORME naming exactly its checks
(scenario 1 stays CONFORME); a non-test INS → nothing sent; an unreachable feed → ERREUR with its cause.
Every file of every run folder is grepped for the administrator's password."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from conftest import campaign_dict, files_under, run_segur
from demo_dpi.stack import free_port
from segur_helpers.hl7v2 import ins_identifiers, read_ack, secret_in, SecretField, value

REQ = "DMP/CONF.16"
S1, S2 = "DMP_CONF.16.01", "DMP_CONF.16.02"
# the checks each defect of the admission feed must make fail, and only those
DEFECT_CHECKS = {
    "DMP/CONF.16-admission": {
        "La connexion secrète reçue à l'admission est affichée à l'ouverture du dossier",
        "À l'ouverture du dossier, le DMP n'est pas consulté pendant l'épisode en connexion secrète",
        "La demande de consultation du DMP est refusée pendant l'épisode",
        "Aucune requête de consultation de ce patient n'a atteint le DMP pendant l'épisode"},
    "DMP/CONF.16-discharge": {"Après la sortie, le dossier n'affiche plus la connexion secrète"},
}


def _run(tmp_path, write_params, stack, name, *, pam_url=None, mutate=None):
    out = tmp_path / "outputs"
    data = campaign_dict(stack.url, stack.maildir, only=(REQ,), dmp={"url": stack.dmp_url},
                         pam={"url": pam_url or stack.pam_url})
    if mutate:
        mutate(data)
    params = write_params(data, name)
    before = set((out / "test").iterdir()) if (out / "test").is_dir() else set()
    proc = run_segur("run", str(params), "--outputs", str(out), timeout=900)
    runs = [p for p in (out / "test").iterdir() if p.is_dir() and p not in before]
    assert len(runs) == 1, proc.stderr
    return proc, runs[0]


def _result(run: Path, folder: str) -> dict:
    return json.loads((run / folder / "result.json").read_text(encoding="utf-8"))


def _pdf_text(run: Path, folder: str) -> str:
    pdf = run / folder / f"{folder}.pdf"
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages).split())


def _no_secret(run: Path, password: str) -> None:
    for f in files_under(run):
        assert password.encode() not in f.read_bytes(), f"secret found in {f}"


def test_admission_scenario_conforme_beside_scenario_1(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack(with_dmp=True)
    proc, run = _run(tmp_path, write_params, stack, "ok.yaml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert {(p["scenario"], p["folder"], p["verdict"]) for p in record["proofs"]} == {
        ("DMP/CONF.16.01", S1, "CONFORME"), ("DMP/CONF.16.02", S2, "CONFORME")}
    result = _result(run, S2)
    assert (result["scenario"], result["verdict"]) == ("DMP/CONF.16.02", "CONFORME"), result["error"]
    assert [e["id"] for e in result["expected"]] == [f"DMP/CONF.16.02.0{i}" for i in range(1, 5)]
    assert len(result["checks"]) >= 8 and all(c["passed"] for c in result["checks"])
    text = _pdf_text(run, S2)
    assert "CONFORME" in text and "NON CONFORME" not in text and "DMP/CONF.16.02" in text
    for element in (e["id"] for e in result["expected"]):
        assert element in text
    for words in ("Message HL7 v2 envoyé au système", "Acquittement reçu du système", "MSA-1", "PID-3",
                  "OBX-5", "PV1-19", "message accepté", "NIR de test", "connexion secrète"):
        assert words in text, words
    # the messages and acknowledgements, byte for byte
    hl7 = sorted((run / S2 / "evidence").glob("*.hl7"))
    assert len(hl7) == 4 and [e["kind"] for e in result["evidence"]].count("hl7") == 4
    a01, a01_ack, a03, a03_ack = (p.read_bytes() for p in hl7)
    assert a01.startswith(b"MSH|^~\\&|") and value(a01, "MSH", 9) == "ADT^A01^ADT_A01"
    assert ins_identifiers(a01) == [("212097512345607", "1.2.250.1.213.1.4.10")]   # the test INS, nothing else
    assert secret_in(a01, SecretField.parse("OBX[CONNEXION_SECRETE]-5")) == "Y"
    assert value(a03, "MSH", 9) == "ADT^A03^ADT_A03" and ins_identifiers(a03) == ins_identifiers(a01)
    for message, ack in ((a01, a01_ack), (a03, a03_ack)):
        parsed = read_ack(ack)
        assert (parsed.code, parsed.acknowledged_id) == ("AA", value(message, "MSH", 10)) and not parsed.errors
    summary = (run / "summary.csv").read_text(encoding="utf-8-sig")
    assert "DMP/CONF.16.02.04" in summary and "DMP/CONF.16.01.04" in summary
    _no_secret(run, admin_password)


@pytest.mark.parametrize("defect", list(DEFECT_CHECKS))
def test_each_admission_defect_gives_non_conforme_naming_its_checks(tmp_path, write_params, demo_stack,
                                                                    admin_password, defect):
    stack = demo_stack(defects=[defect], with_dmp=True)
    proc, run = _run(tmp_path, write_params, stack, "defect.yaml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert _result(run, S1)["verdict"] == "CONFORME"       # the DPI's own form is not affected
    result = _result(run, S2)
    assert result["verdict"] == "NON CONFORME", result["error"]
    failed = {c["label"] for c in result["checks"] if not c["passed"]}
    assert failed == DEFECT_CHECKS[defect]
    text = _pdf_text(run, S2)
    assert "NON CONFORME" in text and "ÉCHEC" in text
    for label in failed:
        assert label[:40] in text
    _no_secret(run, admin_password)


def test_a_non_test_patient_is_never_sent_and_an_unreachable_feed_is_erreur(tmp_path, write_params, demo_stack):
    stack = demo_stack(with_dmp=True)

    def production_ins(data):
        data["requirements"][REQ]["data"]["admission_patient"].update(ins="212097512399999",
                                                                       ins_oid="1.2.250.1.213.1.4.8")

    proc, run = _run(tmp_path, write_params, stack, "prod.yaml", mutate=production_ins)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    result = _result(run, S2)
    assert result["verdict"] == "ERREUR" and result["error"]["kind"] == "patient_refused"
    assert "1.2.250.1.213.1.4.8" in result["error"]["message"] and result["checks"] == []
    assert not list((run / S2 / "evidence").glob("*.hl7"))
    log = (stack.log_dir / "pam.log").read_text(encoding="utf-8")
    assert "→" not in log, log   # the listener received no message at all

    closed = f"mllp://127.0.0.1:{free_port()}"
    proc, run = _run(tmp_path, write_params, stack, "closed.yaml", pam_url=closed)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    result = _result(run, S2)
    assert result["verdict"] == "ERREUR" and result["error"]["kind"] == "target_unreachable", result["error"]
    assert "flux d'admission injoignable" in result["error"]["message"] and closed in result["error"]["message"]
    assert "injoignable" in _pdf_text(run, S2)

"""DMP consultation and consent proofs end to end: demo DPI + DMP simulator started here, the real CLI.

One compliant run of the six requirements (all CONFORME), one run with each requirement's defect on
(all NON CONFORME, each naming its own failed check), and the refusal of a non-test patient.
"""
from __future__ import annotations

import json
from pathlib import Path

from pypdf import PdfReader

from conftest import campaign_dict, files_under, run_segur

REQS = ("DMP/CONF.16", "DMP/UX.15", "CDA/DD.05", "DMP/CONF.06", "DMP/CONF.09", "STAT/ES 01.01")
SAFE = {"DMP/CONF.16": "DMP_CONF.16.01", "DMP/UX.15": "DMP_UX.15.01", "CDA/DD.05": "CDA_DD.05.01",
        "DMP/CONF.06": "DMP_CONF.06.01", "DMP/CONF.09": "DMP_CONF.09.01", "STAT/ES 01.01": "STAT_ES_01.01.01"}
# the check each requirement's defect must make fail (a substring of its label)
DEFECT_CHECK = {
    "DMP/CONF.16": "la connexion secrète est de nouveau proposée",
    "DMP/UX.15": "visible sans clic",
    "CDA/DD.05": "supprimé du DMP",
    "DMP/CONF.06": "Aucune requête de consultation n'a atteint le DMP",
    "DMP/CONF.09": "Aucune soumission de document n'a atteint le DMP",
    "STAT/ES 01.01": "Le nombre de consultations externes de la période est le même",
}


def _run(tmp_path, write_params, stack, only=REQS, name="campaign.yaml", **overrides):
    out = tmp_path / "outputs"
    params = write_params(campaign_dict(stack.url, stack.maildir, only=only, dmp={"url": stack.dmp_url},
                                        **overrides), name)
    before = set((out / "test").iterdir()) if (out / "test").is_dir() else set()
    proc = run_segur("run", str(params), "--outputs", str(out), timeout=900)
    runs = [p for p in (out / "test").iterdir() if p.is_dir() and p not in before]
    assert len(runs) == 1, proc.stderr
    return proc, runs[0]


def _result(run: Path, req: str) -> dict:
    return json.loads((run / SAFE[req] / "result.json").read_text(encoding="utf-8"))


def _pdf_text(run: Path, req: str) -> str:
    pdf = run / SAFE[req] / f"{SAFE[req]}.pdf"
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(pdf)).pages).split())


def _no_secret(run: Path, password: str) -> None:
    for f in files_under(run):
        assert password.encode() not in f.read_bytes(), f"secret found in {f}"


def test_dmp_requirements_conforme(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack(with_dmp=True)
    proc, run = _run(tmp_path, write_params, stack)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for req in REQS:
        result = _result(run, req)
        assert result["verdict"] == "CONFORME", (req, result["error"], [c for c in result["checks"] if not c["passed"]])
        assert len(result["checks"]) >= 4 and all(c["passed"] for c in result["checks"])
        text = _pdf_text(run, req)
        assert "CONFORME" in text and "NON CONFORME" not in text
        for element, _t in [(e["id"], e["text"]) for e in result["expected"]]:
            assert element in text
    kinds = [e["kind"] for e in _result(run, "DMP/CONF.16")["evidence"]]
    assert kinds.count("screenshot") >= 6  # two episodes, two professionals
    stat = _result(run, "STAT/ES 01.01")
    names = [e["name"] for e in stat["evidence"]]
    assert any(n.endswith("taux-par-mois-png.png") or n.endswith(".png") and "mois" in n for n in names)
    assert any(n.endswith(".csv") and "consultations" in n for n in names)
    assert "Taux 1" in _pdf_text(run, "STAT/ES 01.01")
    conf = _result(run, "DMP/CONF.06")
    assert any("témoin" in c["label"] and c["passed"] for c in conf["checks"])
    _no_secret(run, admin_password)


def test_each_defect_gives_non_conforme_naming_its_check(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack(defects=list(REQS), with_dmp=True)
    proc, run = _run(tmp_path, write_params, stack)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for req in REQS:
        result = _result(run, req)
        assert result["verdict"] == "NON CONFORME", (req, result["error"])
        failed = [c["label"] for c in result["checks"] if not c["passed"]]
        assert any(DEFECT_CHECK[req] in f for f in failed), (req, failed)
        text = _pdf_text(run, req)
        assert "NON CONFORME" in text and "FAIL" in text and DEFECT_CHECK[req][:40] in text
    _no_secret(run, admin_password)


def test_non_test_patient_is_refused_before_any_action(tmp_path, write_params, demo_stack):
    import urllib.request

    stack = demo_stack(with_dmp=True)
    data = campaign_dict(stack.url, stack.maildir, only=("CDA/DD.05",), dmp={"url": stack.dmp_url})
    patient = data["requirements"]["CDA/DD.05"]["data"]["patient"]
    patient.update(ins="190117512399999", ins_oid="1.2.250.1.213.1.4.8")  # a production OID
    params = write_params(data)
    out = tmp_path / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    run = next(p for p in (out / "test").iterdir() if p.is_dir())
    result = _result(run, "CDA/DD.05")
    assert result["verdict"] == "ERREUR" and result["error"]["kind"] == "patient_refused"
    assert "1.2.250.1.213.1.4.8" in result["error"]["message"] and "allow_non_test_patients" in result["error"]["message"]
    assert result["checks"] == []
    text = _pdf_text(run, "CDA/DD.05")
    assert "ERREUR" in text and "refus" in text and "n'est pas un OID de test" in text
    # nothing reached the DMP or the DPI for that patient
    log = json.loads(urllib.request.urlopen(stack.dmp_url + "/admin/transactions").read())["transactions"]
    assert not [t for t in log if t["patient"] == "190117512399999"]


def test_allow_non_test_patients_must_be_a_boolean(tmp_path, write_params, demo_stack):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("CDA/DD.05",),
                         allow_non_test_patients="yes")
    proc = run_segur("run", str(write_params(data)), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "allow_non_test_patients" in proc.stderr and "expected true or false" in proc.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_missing_patient_data_is_bad_input(tmp_path, write_params):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("CDA/DD.05",))
    del data["requirements"]["CDA/DD.05"]["data"]["patient"]["ins_oid"]
    params = write_params(data)
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "out"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert str(params) in lines[0] and "requirements.CDA/DD.05.data.patient.ins_oid" in lines[0]
    assert "1.2.250.1.213.1.4.10" in lines[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))

"""The DMP simulator as its own process: submit, search by INS/date/uniqueId, patient deletion, log."""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

import pytest

INS = "1234567890123"
SYSTEM = "urn:oid:1.2.250.1.213.1.4.10"


def _call(base, method, path, body=None):
    req = urllib.request.Request(base + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/fhir+json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _doc(unique_id, date="2026-03-02T10:00:00Z", code="11488-4"):
    return {"resourceType": "DocumentReference", "masterIdentifier": {"value": unique_id},
            "type": {"coding": [{"code": code, "display": "CR de consultation"}]},
            "subject": {"identifier": {"system": SYSTEM, "value": INS}}, "date": date,
            "author": [{"identifier": {"value": "10101234567"}, "display": "Dr TEST"}],
            "securityLabel": [{"code": "N"}, {"code": "INVISIBLE_PATIENT"}],
            "content": [{"attachment": {"contentType": "text/xml",
                                        "data": base64.b64encode(b"<ClinicalDocument/>").decode()}}]}


@pytest.fixture
def dmp(tmp_path):
    from demo_dpi.stack import DemoStack
    stack = DemoStack(tmp_path, with_dmp=True).start()
    yield stack.dmp_url
    stack.stop()


def test_submit_search_delete_and_log(dmp):
    status, body = _call(dmp, "GET", "/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, body = _call(dmp, "POST", "/fhir/DocumentReference", _doc("1.2.3.4.1"))
    assert status == 201, body
    created = json.loads(body)
    assert created["status"] == "current" and created["content"][0]["attachment"]["url"].startswith("Binary/")
    assert _call(dmp, "POST", "/fhir/DocumentReference", _doc("1.2.3.4.1"))[0] == 409
    assert _call(dmp, "POST", "/fhir/DocumentReference", {"resourceType": "DocumentReference"})[0] == 400
    _call(dmp, "POST", "/fhir/DocumentReference", _doc("1.2.3.4.2", date="2026-01-05T08:00:00Z", code="34133-9"))

    status, body = _call(dmp, "GET", f"/fhir/DocumentReference?patient.identifier={SYSTEM}|{INS}&date=ge2026-02-01")
    bundle = json.loads(body)
    assert bundle["total"] == 1 and bundle["entry"][0]["resource"]["masterIdentifier"]["value"] == "1.2.3.4.1"
    status, payload = _call(dmp, "GET", "/fhir/Binary/" + created["id"])
    assert payload == b"<ClinicalDocument/>"

    status, body = _call(dmp, "POST", "/patient/documents/delete", {"uniqueId": "1.2.3.4.1"})
    assert status == 200 and json.loads(body)["status"] == "entered-in-error"
    status, body = _call(dmp, "GET", "/fhir/DocumentReference?identifier=1.2.3.4.1")
    res = json.loads(body)["entry"][0]["resource"]
    assert res["status"] == "entered-in-error"
    assert {"url": "deletedBy", "valueString": "patient"} in res["extension"]
    status, body = _call(dmp, "GET", f"/fhir/DocumentReference?patient.identifier={INS}&status=current")
    assert json.loads(body)["total"] == 1

    log = json.loads(_call(dmp, "GET", "/admin/transactions")[1])["transactions"]
    assert [t["method"] for t in log][:2] == ["POST", "POST"] and log[0]["patient"] == INS
    assert all(t["path"] != "/health" for t in log)


def test_test_patient_guard():
    from segur_helpers.errors import PatientRefused
    from segur_helpers.testpatients import check_patient

    check_patient({"ins_oid": "1.2.250.1.213.1.4.10"}, allow_non_test=False)
    check_patient({"ins_oid": "urn:oid:1.2.250.1.213.1.4.11"}, allow_non_test=False)
    with pytest.raises(PatientRefused, match="n'est pas un OID de test"):
        check_patient({"ins_oid": "1.2.250.1.213.1.4.8", "nom": "X"}, allow_non_test=False)
    check_patient({"ins_oid": "1.2.250.1.213.1.4.8"}, allow_non_test=True)  # explicitly allowed


def _pro_client(tmp_path, dmp_url, defects):
    from demo_dpi.app import Settings, create_app
    app = create_app(Settings(db_path=str(tmp_path / f"dpi-{'-'.join(defects) or 'ok'}.sqlite"), admin_user="admin",
                              admin_password="x", public_url="http://x", dmp_url=dmp_url, defects=set(defects)))
    c = app.test_client()
    c.post("/care/login", data={"rpps": "10101234567", "nom": "Dr TEST"})
    r = c.post("/patients/new", data={"nom": "T", "prenom": "P", "naissance": "1980-01-01", "sexe": "F",
                                      "ins": "180017512345699", "ins_oid": "1.2.250.1.213.1.4.10"})
    pid = r.location.rsplit("/", 1)[1]
    c.post(f"/patients/{pid}/episodes/new", data={"kind": "consultation", "information": "1", "consent": ""})
    return c, pid


@pytest.mark.parametrize("defect,consult_blocked,feed_blocked", [
    ((), True, True), (("DMP/CONF.06",), False, True), (("DMP/CONF.09",), True, False)])
def test_conf_defects_are_separate(tmp_path, dmp, defect, consult_blocked, feed_blocked):
    """Each of DMP/CONF.06 and DMP/CONF.09 switches off its own block only."""
    c, pid = _pro_client(tmp_path, dmp, defect)
    assert (c.get(f"/patients/{pid}/dmp").status_code == 403) == consult_blocked
    r = c.post(f"/patients/{pid}/documents/new", data={"title": "CR", "text": "t"})
    doc = r.location.rsplit("/", 1)[1]
    c.post(f"/documents/{doc}/send")
    page = c.get(f"/documents/{doc}").get_data(as_text=True)
    assert ("Envoi au DMP refusé" in page) == feed_blocked
    assert ("Document envoyé au DMP" in page) == (not feed_blocked)


def test_non_test_ins_refused_by_demo_dpi(tmp_path, dmp):
    from demo_dpi.app import Settings, create_app
    app = create_app(Settings(db_path=str(tmp_path / "d.sqlite"), admin_user="a", admin_password="x",
                              public_url="http://x", dmp_url=dmp))
    c = app.test_client()
    c.post("/care/login", data={"rpps": "10101234567", "nom": "Dr TEST"})
    r = c.post("/patients/new", data={"nom": "T", "prenom": "P", "naissance": "1980-01-01", "sexe": "F",
                                      "ins": "180017512345698", "ins_oid": "1.2.250.1.213.1.4.8"})
    assert r.status_code == 400 and "INS de test" in r.get_data(as_text=True)


def test_opposition_blocks_and_non_opposition_opens(tmp_path, dmp):
    c, pid = _pro_client(tmp_path, dmp, ())
    c.post(f"/patients/{pid}/consent", data={"consent": "opposition", "information": "1"})
    page = c.get(f"/patients/{pid}").get_data(as_text=True)
    assert "Accès au DMP bloqué" in page and "opposé" in page
    assert c.get(f"/patients/{pid}/dmp").status_code == 403
    c.post(f"/patients/{pid}/consent", data={"consent": "accord", "information": "1"})
    assert c.get(f"/patients/{pid}/dmp").status_code == 200
    c.post(f"/patients/{pid}/discharge")  # the consent ends with the episode
    assert c.get(f"/patients/{pid}/dmp").status_code == 403

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

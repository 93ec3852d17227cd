"""The DMP simulator's feeding situations (no DMP, no authorisation) and its stoppable service."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from demo_dpi.dmp_sim import PATIENT_SITUATIONS


def _call(url: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict | None]:
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/fhir+json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _doc(uid: str, ins: str) -> dict:
    return {"resourceType": "DocumentReference", "masterIdentifier": {"value": uid},
            "type": {"coding": [{"code": "11490-0"}]},
            "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.10", "value": ins}}}


@pytest.fixture
def stack(tmp_path):
    from demo_dpi.stack import DemoStack

    with DemoStack(tmp_path, with_dmp=True) as s:
        yield s


def test_absent_and_refused_dmp_and_service_stop_start(stack):
    by_situation = {v: k for k, v in PATIENT_SITUATIONS.items()}
    status, body = _call(stack.dmp_url + "/fhir/DocumentReference", "POST", _doc("1.2.9.1", by_situation["absent"]))
    assert status == 404 and body["issue"][0]["code"] == "not-found"
    status, body = _call(stack.dmp_url + "/fhir/DocumentReference", "POST", _doc("1.2.9.2", by_situation["refused"]))
    assert status == 403 and body["issue"][0]["code"] == "forbidden"
    assert _call(stack.dmp_url + "/fhir/DocumentReference", "POST", _doc("1.2.9.3", "280052A00401271"))[0] == 201

    assert _call(stack.dmp_control_url + "/service/stop", "POST", {}) == (200, {"service": "down"})
    with pytest.raises(OSError):  # URLError (connection refused) or a timeout
        urllib.request.urlopen(stack.dmp_url + "/health", timeout=5)
    assert _call(stack.dmp_control_url + "/service") == (200, {"service": "down"})
    assert _call(stack.dmp_control_url + "/service/start", "POST", {}) == (200, {"service": "up"})
    status, body = _call(stack.dmp_url + "/fhir/DocumentReference?identifier=1.2.9.3")
    assert status == 200 and body["total"] == 1  # the data outlives the stop

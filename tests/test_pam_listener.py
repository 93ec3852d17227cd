"""The demo DPI's admission feed (demo_dpi.pam): HL7 v2.5 ADT over MLLP, run as its own process on
127.0.0.1 and spoken to over a real socket, with valid and malformed messages.

Every message gets an acknowledgement: AA, or AE/AR with an ERR segment naming the segment and the field
and an MSA-3 text saying what is wrong; the listener never stops (it answers the next message on the
same connection, and its log holds no internal error)."""
from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT
from demo_dpi.stack import free_port
from segur_helpers.hl7v2 import FeedSettings, SecretField, compose, read_ack, split

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
MINOR = {"nom": "ADMISEGUR", "prenom": "Léa", "naissance": "2012-09-21", "sexe": "F", "ins": "212097512345607",
         "ins_oid": "1.2.250.1.213.1.4.10"}
ADULT = {"nom": "MAJEURSEGUR", "prenom": "Ange", "naissance": "1980-01-02", "sexe": "M", "ins": "180017512345608",
         "ins_oid": "1.2.250.1.213.1.4.10"}
PRO = {"nom": "TESTSEGUR", "prenom": "Camille", "rpps": "10101234567"}
SETTINGS = FeedSettings(url="mllp://127.0.0.1:1")


def start(tmp_path, *args):
    port = free_port()
    log = open(tmp_path / f"pam-{port}.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "demo_dpi.pam", "--port", str(port), "--db",
                             str(tmp_path / "dpi.sqlite"), *args], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return port, proc
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError((tmp_path / f"pam-{port}.log").read_text())
            time.sleep(0.1)


@pytest.fixture(scope="module")
def listener(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pam")
    port, proc = start(tmp)
    yield port, proc, tmp
    proc.terminate()
    proc.wait(timeout=10)


def read_block(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(FS + CR):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    assert data.startswith(VT), data
    return data[1:-2]


def send(port: int, *payloads: bytes, framed: bool = True) -> list[bytes]:
    """Each payload in its MLLP block (or as given), on one connection; the acknowledgements received."""
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for payload in payloads:
            sock.sendall(VT + payload + FS + CR if framed else payload)
            out.append(read_block(sock))
    return out


def ack_of(port: int, payload: bytes):
    (raw,) = send(port, payload)
    return raw, read_ack(raw)


def db(tmp):
    c = sqlite3.connect(tmp / "dpi.sqlite")
    c.row_factory = sqlite3.Row
    return c


def message(event="A01", patient=MINOR, visit="V1", **kw):
    kw.setdefault("professional", PRO if event in ("A01", "A04") else None)
    return compose(event, patient, visit=visit, settings=kw.pop("settings", SETTINGS), **kw)


def test_admission_discharge_and_cancellation_are_acknowledged_and_applied(listener):
    port, proc, tmp = listener
    raw, msg_id = message("A01", visit="VADM1", secret_connection=True)
    ack_raw, ack = ack_of(port, raw)
    assert (ack.code, ack.acknowledged_id, ack.errors) == ("AA", msg_id, []), ack_raw
    assert "admission enregistrée" in ack.text and "connexion secrète demandée" in ack.text
    msh = next(s for s in split(ack_raw) if s.name == "MSH")
    assert msh.fields[9] == "ACK^A01^ACK" and msh.fields[5] == SETTINGS.sending_application
    ep = db(tmp).execute("SELECT e.*, p.nom FROM episodes e JOIN patients p ON p.id=e.patient_id"
                         " WHERE visit_number='VADM1'").fetchone()
    assert (ep["nom"], ep["kind"], ep["secret_connection"], ep["admit_message"], ep["ended_at"]) == \
        ("ADMISEGUR", "hospitalisation", "oui", msg_id, None)
    assert "TESTSEGUR" in ep["professional"] and "10101234567" in ep["professional"]

    _, again = ack_of(port, message("A01", visit="VADM2", secret_connection=False)[0])
    assert again.code == "AE" and [e.where for e in again.errors] == ["PV1-19"] and "déjà en cours" in again.text

    ack_raw, ack = ack_of(port, message("A03", visit="VADM1")[0])
    assert ack.code == "AA" and "sortie enregistrée" in ack.text, ack_raw
    assert db(tmp).execute("SELECT ended_at FROM episodes WHERE visit_number='VADM1'").fetchone()[0]
    _, twice = ack_of(port, message("A03", visit="VADM1")[0])
    assert twice.code == "AE" and twice.errors[0].location == "PV1^1^19" and "déjà clos" in twice.errors[0].text

    assert ack_of(port, message("A04", visit="VADM3", kind="consultation")[0])[1].code == "AA"
    ack_raw, ack = ack_of(port, message("A11", visit="VADM3", kind="consultation", original_event="A04")[0])
    assert ack.code == "AA" and "annulée" in ack.text, ack_raw
    row = db(tmp).execute("SELECT kind, secret_connection, ended_at, cancelled_at FROM episodes"
                          " WHERE visit_number='VADM3'").fetchone()
    assert row["kind"] == "consultation" and row["secret_connection"] is None and row["cancelled_at"] == row["ended_at"]
    _, unknown = ack_of(port, message("A11", visit="NOPE")[0])
    assert unknown.code == "AE" and unknown.errors[0].where == "PV1-19" and "inconnue" in unknown.text


def test_a_non_test_ins_is_refused_naming_pid_3(listener):
    port, _proc, tmp = listener
    for oid in ("1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9"):
        patient = dict(MINOR, ins="190117512399999", ins_oid=oid)
        raw, msg_id = message("A01", patient=patient, visit=f"VPROD{oid[-1]}")
        ack_raw, ack = ack_of(port, raw)
        assert (ack.code, ack.acknowledged_id) == ("AR", msg_id), ack_raw
        assert [e.where for e in ack.errors] == ["PID-3"] and ack.errors[0].location.startswith("PID^1^3^1^4")
        assert "PID-3" in ack.text and oid in ack.text and "OID de test" in ack.text
    assert db(tmp).execute("SELECT count(*) FROM patients WHERE ins='190117512399999'").fetchone()[0] == 0


def _edit(old: bytes, new: bytes, event="A01", **kw):
    def make():
        raw, _ = message(event, visit=kw.pop("visit", "VBAD"), secret_connection=kw.pop("secret", True), **kw)
        assert old in raw, (old, raw)
        return raw.replace(old, new, 1)
    return make


def _drop(segment: bytes):
    def make():
        raw, _ = message("A01", visit="VBAD", secret_connection=True)
        return b"\r".join(s for s in raw.split(b"\r") if not s.startswith(segment))
    return make


def _sub(pattern: bytes, new: bytes):
    def make():
        raw, _ = message("A01", visit="VBAD", secret_connection=True)
        out = re.sub(pattern, new, raw, count=1)
        assert out != raw
        return out
    return make


def _pv1_first():
    segments = message("A01", visit="VBAD")[0].split(b"\r")
    pv1 = next(s for s in segments if s.startswith(b"PV1|"))
    segments.remove(pv1)
    segments.insert(1, pv1)
    return b"\r".join(segments)


MALFORMED = {  # name: (message maker, ack code, ERR locations (ERR-2), words of MSA-3)
    "no PID segment": (_drop(b"PID|"), "AE", ["PID^1"], ["segment PID absent"]),
    "no PV1 segment": (_drop(b"PV1|"), "AE", ["PV1^1"], ["segment PV1 absent"]),
    "birth date not a date": (_edit(b"|20120921|", b"|20121341|"), "AE", ["PID^1^7"], ["PID-7", "invalide"]),
    "sex outside F/M": (_edit(b"|20120921|F", b"|20120921|X"), "AE", ["PID^1^8"], ["PID-8"]),
    "no name": (_edit(b"ADMISEGUR^L\xc3\xa9a", b""), "AE", ["PID^1^5"], ["PID-5"]),
    "no INS at all": (_edit(b"^^^&1.2.250.1.213.1.4.10&ISO^INS", b"^^^HOP&1.2.250.1.999&ISO^PI"), "AE",
                      ["PID^1^3"], ["PID-3", "aucun INS"]),
    "INS not digits": (_edit(b"212097512345607^", b"21209751234560A^"), "AE", ["PID^1^3^1^1"], ["PID-3", "invalide"]),
    "no visit number": (_edit(b"VBAD^^^SEGUR-PROOFS^VN", b""), "AE", ["PV1^1^19"], ["PV1-19", "absent"]),
    "unknown patient class": (_edit(b"PV1||I|", b"PV1||Z|"), "AE", ["PV1^1^2"], ["PV1-2"]),
    "connexion secrète neither Y nor N": (_edit(b"||Y^Oui^HL70136", b"||PEUT-ETRE"), "AE", ["OBX^1^5^^1"],
                                         ["OBX[CONNEXION_SECRETE]-5", "Y ou N"]),
    "connexion secrète for an adult": (lambda: message("A01", patient=ADULT, visit="VADULT", secret_connection=True)[0],
                                       "AE", ["OBX^1^5"], ["majeur"]),
    "no message control id": (_sub(rb"\|ADT\^A01\^ADT_A01\|[^|]*\|", b"|ADT^A01^ADT_A01||"), "AE", ["MSH^1^10"],
                              ["MSH-10"]),
    "not ADT": (_edit(b"ADT^A01^ADT_A01", b"ORU^R01^ORU_R01"), "AR", ["MSH^1^9^^1"], ["MSH-9", "ORU"]),
    "unsupported event": (_edit(b"ADT^A01^ADT_A01", b"ADT^A08^ADT_A01"), "AR", ["MSH^1^9^^2"], ["MSH-9", "A08"]),
    "processing id": (_edit(b"|T|2.5|", b"|X|2.5|"), "AR", ["MSH^1^11"], ["MSH-11"]),
    "version 2.3": (_edit(b"|T|2.5|", b"|T|2.3|"), "AR", ["MSH^1^12"], ["MSH-12", "2.3"]),
    "unknown character set": (_edit(b"|UNICODE UTF-8", b"|KLINGON"), "AR", ["MSH^1^18"], ["MSH-18", "KLINGON"]),
    "UTF-8 bytes in an ASCII message": (_edit(b"|FRA|UNICODE UTF-8", b"|FRA|"), "AE", ["MSH^1^18"], ["MSH-18", "ASCII"]),
    "segments separated by LF": (lambda: message("A01", visit="VBAD")[0].replace(b"\r", b"\n"), "AE", ["MSH^1"],
                                 ["LF", "CR"]),
    "bad segment name": (_edit(b"\rEVN|", b"\rE-N|"), "AE", ["E-N^2"], ["segment n° 2"]),
    "segments out of order": (_pv1_first, "AE", ["PV1^1"], ["PV1 placé avant"]),
    "MSH alone": (lambda: b"MSH|^~\\&|GAM|HOP|DPI|HOP|20261204120000||ADT^A01^ADT_A01|M1|T|2.5", "AE",
                  ["EVN^1", "PID^1", "PV1^1"], ["segment EVN absent", "segment PID absent"]),
    "not HL7": (lambda: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "AR", ["MSH^1"], ["MSH"]),
    "unreadable delimiters": (lambda: b"MSH|^^^^|x", "AR", ["MSH^1^2"], ["séparateurs"]),
    "binary garbage": (lambda: bytes(range(256)) * 3, "AR", ["MSH^1"], ["MSH"]),
    "empty block": (lambda: b"", "AR", ["MSH^1"], ["MSH"]),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_messages_get_an_error_acknowledgement_naming_segment_and_field(listener, name):
    port, proc, tmp = listener
    make, code, locations, words = MALFORMED[name]
    payload = make()
    # the error acknowledgement, then a valid message answered on the same connection: nothing broke
    ok_raw, ok_id = message("A04", patient=dict(MINOR, ins="212097512340000"), visit=f"VOK{abs(hash(name))}",
                            kind="consultation")
    bad_raw, ok_ack = send(port, payload, ok_raw)
    ack = read_ack(bad_raw)
    assert ack.code == code, bad_raw
    assert [e.location for e in ack.errors] == locations, bad_raw   # ERR-2: segment ^ rank ^ field …
    assert all(e.code and e.text for e in ack.errors)
    assert all(w in ack.text for w in words), ack.text
    assert ack.text.startswith("message rejeté" if code == "AR" else "message en erreur")
    assert read_ack(ok_ack).code == "AA", ok_ack
    # close the episode the control message opened, for the next case
    assert ack_of(port, message("A03", patient=dict(MINOR, ins="212097512340000"),
                                visit=f"VOK{abs(hash(name))}")[0])[1].code == "AA"
    assert proc.poll() is None


def test_framing_errors_and_broken_connections_never_stop_the_listener(listener):
    port, proc, tmp = listener
    ok_raw, _ = message("A04", patient=dict(MINOR, ins="212097512341111"), visit="VFRAME", kind="consultation")
    # a block without the start character <VT>: an AR, and the same connection still works
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"MSH|no start block" + FS + CR)
        ack = read_ack(read_block(sock))
        assert ack.code == "AR" and "<VT>" in ack.text and ack.errors[0].location == "MSH^1"
        sock.sendall(VT + ok_raw + FS + CR)
        assert read_ack(read_block(sock)).code == "AA"
    # a sender that disconnects in the middle of a message, or right away
    for partial in (VT + ok_raw[:40], VT, b"\x00\xff"):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(partial)
    # a message too long for one block (over 1 MiB): an AR
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(VT + b"MSH|^~\\&|" + b"X" * (1 << 20) + FS + CR)
        ack = read_ack(read_block(sock))
        assert ack.code == "AR" and "trop long" in ack.text
    assert read_ack(send(port, message("A03", patient=dict(MINOR, ins="212097512341111"), visit="VFRAME")[0])[0]).code == "AA"
    assert proc.poll() is None
    log = next(tmp.glob("pam-*.log")).read_text(encoding="utf-8")
    assert "Traceback" not in log and "internal error" not in log


def test_the_secret_field_is_a_setting(tmp_path):
    port, proc = start(tmp_path, "--secret-field", "ZBE-9")
    try:
        zbe = FeedSettings(url="mllp://127.0.0.1:1", secret_field=SecretField.parse("ZBE-9"))
        raw, _ = compose("A01", MINOR, visit="VZBE", settings=zbe, professional=PRO, secret_connection=True)
        assert b"\rZBE|VZBE-ADM^SEGUR-PROOFS|" in raw and raw.split(b"\rZBE|")[1].split(b"\r")[0].endswith(b"|Y")
        assert read_ack(send(port, raw)[0]).code == "AA"
        assert db(tmp_path).execute("SELECT secret_connection FROM episodes WHERE visit_number='VZBE'").fetchone()[0] == "oui"
        # the default field is not read any more: an OBX there is an ordinary observation
        raw, _ = message("A03", visit="VZBE")
        assert read_ack(send(port, raw)[0]).code == "AA"
        raw, _ = message("A01", visit="VZBE2", secret_connection=True)
        assert read_ack(send(port, raw)[0]).code == "AA"
        assert db(tmp_path).execute("SELECT secret_connection FROM episodes WHERE visit_number='VZBE2'").fetchone()[0] is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_bad_setting_is_one_line_and_exit_2(tmp_path):
    for args, words in ((["--secret-field", "OBX-five"], "--secret-field"), (["--defect", "NOPE"], "--defect NOPE")):
        proc = subprocess.run([sys.executable, "-m", "demo_dpi.pam", "--port", "1", "--db", str(tmp_path / "x.sqlite"),
                               *args], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert "Traceback" not in proc.stderr


def test_the_defects_change_what_is_stored(tmp_path):
    port, proc = start(tmp_path, "--defect", "DMP/CONF.16-admission", "--defect", "DMP/CONF.16-discharge")
    try:
        ack = read_ack(send(port, message("A01", visit="VDEF", secret_connection=True)[0])[0])
        assert ack.code == "AA"     # the request is acknowledged …
        assert db(tmp_path).execute("SELECT secret_connection FROM episodes WHERE visit_number='VDEF'").fetchone()[0] is None
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    second = tmp_path / "second"
    second.mkdir()
    port, proc = start(second, "--defect", "DMP/CONF.16-discharge")
    try:
        assert read_ack(send(port, message("A01", visit="VDEF2", secret_connection=True)[0])[0]).code == "AA"
        assert read_ack(send(port, message("A03", visit="VDEF2")[0])[0]).code == "AA"
        c = db(second)
        assert c.execute("SELECT ended_at FROM episodes WHERE visit_number='VDEF2'").fetchone()[0]
        assert c.execute("SELECT secret_connection FROM patients WHERE ins=?", (MINOR["ins"],)).fetchone()[0] == "oui"
    finally:
        proc.terminate()
        proc.wait(timeout=10)

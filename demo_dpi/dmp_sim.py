"""DMP simulator: a small stand-in for the national DMP (Mon espace santé), run as its own process.

``python -m demo_dpi.dmp_sim --port P --db PATH`` serves on 127.0.0.1 only, stores everything in one
SQLite file, and speaks JSON shaped like ANS's FHIR DocumentReference exchanges (resources
``DocumentReference``, ``Bundle`` of type ``searchset``, ``Binary``). It plays the DMP for both sides of
a DPI: *consultation* (search documents of a patient, read one, notice that one was deleted) and
*feeding* (submit a CDA document with its metadata). It is a simulator, not the DMP: no
authentication, no authorisation matrix, every patient has a DMP.

The API (stable: other modules and tests build on it)
------------------------------------------------------

``GET /health``
    ``{"status": "ok", "documents": N}``.

``POST /fhir/DocumentReference``  (feeding: submit one document)
    Body: a DocumentReference resource::

        {"resourceType": "DocumentReference",
         "masterIdentifier": {"value": "<uniqueId, e.g. an OID>"},          # required, unique
         "status": "current",                                              # default current
         "type": {"coding": [{"system": "urn:oid:1.3.6.1.4.1.19376.1.2.3",  # type code (LOINC)
                              "code": "11488-4", "display": "Compte rendu de consultation"}]},
         "subject": {"identifier": {"system": "urn:oid:1.2.250.1.213.1.4.10", "value": "<INS>"}},
         "date": "2026-11-25T10:00:00Z",                                   # default now
         "author": [{"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "<RPPS>"},
                     "display": "Dr Camille TESTSEGUR"}],
         "custodian": {"identifier": {"value": "<FINESS of the producing structure>"},
                       "display": "<its name>"},
         "securityLabel": [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": "N"},      # confidentiality
                           {"system": "urn:oid:1.2.250.1.213.1.1.4.13",
                            "code": "INVISIBLE_PATIENT"}],                                   # visibility
         "description": "<title>",
         "relatesTo": [{"code": "replaces", "target": {"identifier": {"value": "<old uniqueId>"}}}],
         "content": [{"attachment": {"contentType": "text/xml", "data": "<base64 CDA>",
                                     "title": "<title>"}}]}

    ``201`` with the stored resource (its ``id``, ``meta.lastUpdated``; the attachment's ``data`` is
    replaced by ``url: Binary/<id>``). ``400`` with an ``OperationOutcome`` when a required field is
    missing or malformed; ``409`` when the uniqueId is already known. ``relatesTo replaces`` marks the
    replaced document ``superseded``.

``GET /fhir/DocumentReference?patient.identifier=SYSTEM|INS[&date=geYYYY-MM-DD][&date=ltYYYY-MM-DD]
[&status=current][&identifier=UNIQUEID][&type=CODE]``  (consultation: search)
    ``{"resourceType": "Bundle", "type": "searchset", "total": N, "entry": [{"resource": {...}}]}``,
    newest first. ``date`` compares the document's ``date`` (prefixes ``ge``, ``gt``, ``le``, ``lt``;
    a bare date means that day). ``SYSTEM|`` may be omitted. Without ``status`` every status is
    returned (so a deleted document is found as such by its ``identifier``). At least one of
    ``patient.identifier`` / ``identifier`` is required (``400`` otherwise).

``GET /fhir/DocumentReference/<id>``  the resource; ``404`` if unknown.

``GET /fhir/Binary/<id>``  the stored payload (the CDA XML) with its content type.

``POST /patient/documents/delete``  (the *patient* deletes a document in Mon espace santé)
    Body ``{"uniqueId": "..."}``; the document's status becomes ``entered-in-error`` and its resource
    gains ``"extension": [{"url": "deletedBy", "valueString": "patient"}]`` and ``deletedAt``.
    ``200`` with the resource, ``404`` if unknown.

``DELETE /fhir/DocumentReference?identifier=UNIQUEID``  (the *author* withdraws a document)
    Same effect with ``deletedBy`` ``author``.

``GET /admin/transactions[?since=SEQ]``
    Every request the simulator received (feeding and consultation), oldest first:
    ``{"transactions": [{"seq", "at", "method", "path", "query", "patient", "status"}]}``. Lets a
    proof show that a transaction did (or did not) reach the DMP.

A client may send ``X-PS-Identifier: <RPPS>`` (the professional acting); it is kept in the log.

Test patients with a special situation (feeding)
------------------------------------------------
Like the DMP test platform's test plan, a few fictitious INS have a fixed situation
(:data:`PATIENT_SITUATIONS`): ``absent`` — the patient has no DMP: a submission answers ``404`` with
an OperationOutcome (code ``not-found``); ``refused`` — this structure may not write to the patient's
DMP: ``403`` (code ``forbidden``). Every other patient has a DMP.

Stopping and restarting the DMP service (``--control-port``)
------------------------------------------------------------
With ``--control-port C`` a second listener on 127.0.0.1:C controls the service itself, so a proof can
show what the DPI does while the DMP is unreachable: ``POST /service/stop`` closes the DMP's listening
socket (clients get *connection refused*, as during a network cut), ``POST /service/start`` opens it
again on the same port, ``GET /service`` says ``{"service": "up"|"down"}``. The data is kept.
"""
from __future__ import annotations

import argparse
import base64
import binascii
import json
import logging
import re
import sqlite3
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

from flask import Flask, Response, g, request

from .db import per_request

TEST_INS_OIDS = ("1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11")
#: Fictitious INS (test OID) whose DMP situation is fixed: absent (no DMP) or refused (no write access).
PATIENT_SITUATIONS = {
    "290116912304559": "absent",    # SANSDMPTEST Dominique (a test patient seeded by demo_dpi.patients)
    "168071305507883": "refused",   # DROITSTEST Alix
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    unique_id TEXT NOT NULL UNIQUE,
    patient_system TEXT NOT NULL,
    patient_ins TEXT NOT NULL,
    status TEXT NOT NULL,
    date TEXT NOT NULL,
    type_code TEXT NOT NULL,
    resource TEXT NOT NULL,
    payload BLOB,
    content_type TEXT,
    last_updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_patient ON documents(patient_ins, date);
CREATE TABLE IF NOT EXISTS transactions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    query TEXT NOT NULL,
    patient TEXT,
    actor TEXT,
    status INTEGER
);
"""
_DATE_RE = re.compile(r"^(ge|gt|le|lt|eq)?(\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?)$")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome(status: int, text: str) -> tuple[dict, int]:
    return {"resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid" if status == 400 else "processing",
                       "diagnostics": text}]}, status


def _strip_system(value: str) -> tuple[str, str]:
    """``urn:oid:1.2.250.1.213.1.4.10|123`` → (``1.2.250.1.213.1.4.10``, ``123``)."""
    if "|" in value:
        system, _, ins = value.partition("|")
        return system.removeprefix("urn:oid:"), ins
    return "", value


def create_app(db_path: str) -> Flask:
    app = Flask(__name__)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    with sqlite3.connect(db_path) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.executescript(SCHEMA)

    def connect() -> sqlite3.Connection:
        c = sqlite3.connect(db_path, timeout=10, isolation_level=None)
        c.row_factory = sqlite3.Row
        return c

    conn = per_request(app, connect)

    @app.after_request
    def _log(resp: Response):
        if request.path.startswith("/admin/") or request.path == "/health":
            return resp
        patient = request.args.get("patient.identifier") or getattr(g, "patient", None)
        conn().execute("INSERT INTO transactions(at, method, path, query, patient, actor, status) "
                       "VALUES (?,?,?,?,?,?,?)",
                       (_now(), request.method, request.path, request.query_string.decode(errors="replace"),
                        _strip_system(patient)[1] if patient else None, request.headers.get("X-PS-Identifier"),
                        resp.status_code))
        return resp

    def public(row: sqlite3.Row) -> dict:
        return json.loads(row["resource"])

    def save(row_id: str, resource: dict, status: str) -> None:
        resource["status"] = status
        resource["meta"] = {"lastUpdated": _now()}
        conn().execute("UPDATE documents SET status=?, resource=?, last_updated=? WHERE id=?",
                       (status, json.dumps(resource, ensure_ascii=False), resource["meta"]["lastUpdated"],
                        row_id))

    @app.get("/health")
    def health():
        n = conn().execute("SELECT count(*) FROM documents").fetchone()[0]
        return {"status": "ok", "documents": n}

    @app.post("/fhir/DocumentReference")
    def submit():
        res = request.get_json(silent=True)
        if not isinstance(res, dict) or res.get("resourceType") != "DocumentReference":
            return _outcome(400, "expected a JSON DocumentReference resource")
        unique_id = ((res.get("masterIdentifier") or {}).get("value") or "").strip()
        ident = ((res.get("subject") or {}).get("identifier") or {})
        system, ins = str(ident.get("system", "")).removeprefix("urn:oid:"), str(ident.get("value", "")).strip()
        g.patient = ins
        codings = ((res.get("type") or {}).get("coding") or [{}])
        type_code = str(codings[0].get("code", "")).strip()
        missing = [name for name, v in (("masterIdentifier.value", unique_id), ("subject.identifier.value", ins),
                                        ("subject.identifier.system", system), ("type.coding[0].code", type_code))
                   if not v]
        if missing:
            return _outcome(400, "missing " + ", ".join(missing))
        situation = PATIENT_SITUATIONS.get(ins)
        if situation == "absent":
            body, _ = _outcome(404, f"no DMP for patient {ins}")
            body["issue"][0]["code"] = "not-found"
            return body, 404
        if situation == "refused":
            body, _ = _outcome(403, f"this structure is not authorised to write to the DMP of patient {ins}")
            body["issue"][0]["code"] = "forbidden"
            return body, 403
        content = (res.get("content") or [{}])[0].get("attachment") or {}
        payload = None
        if content.get("data"):
            try:
                payload = base64.b64decode(content["data"], validate=True)
            except (binascii.Error, ValueError):
                return _outcome(400, "content[0].attachment.data is not base64")
        date = str(res.get("date") or _now())
        if not _DATE_RE.match(date):
            return _outcome(400, f"date {date!r} is not an ISO date")
        status = res.get("status") or "current"
        if status not in ("current", "superseded", "entered-in-error"):
            return _outcome(400, f"status {status!r}; expected current")
        doc_id = uuid.uuid4().hex
        stored = dict(res)
        stored["id"] = doc_id
        stored["status"] = status
        stored["date"] = date
        stored["meta"] = {"lastUpdated": _now()}
        if content:
            att = {k: v for k, v in content.items() if k != "data"}
            if payload is not None:
                att["url"] = f"Binary/{doc_id}"
                att["size"] = len(payload)
            stored["content"] = [{"attachment": att}]
        with lock:
            c = conn()
            if c.execute("SELECT 1 FROM documents WHERE unique_id=?", (unique_id,)).fetchone():
                return _outcome(409, f"uniqueId {unique_id} already known")
            for rel in res.get("relatesTo") or []:
                old = ((rel.get("target") or {}).get("identifier") or {}).get("value")
                if rel.get("code") == "replaces" and old:
                    row = c.execute("SELECT * FROM documents WHERE unique_id=?", (old,)).fetchone()
                    if row is not None:
                        save(row["id"], public(row), "superseded")
            c.execute("INSERT INTO documents(id, unique_id, patient_system, patient_ins, status, date, type_code,"
                      " resource, payload, content_type, last_updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                      (doc_id, unique_id, system, ins, status, date, type_code,
                       json.dumps(stored, ensure_ascii=False), payload, content.get("contentType"),
                       stored["meta"]["lastUpdated"]))
        return stored, 201, {"Location": f"/fhir/DocumentReference/{doc_id}"}

    @app.get("/fhir/DocumentReference")
    def search():
        patient = request.args.get("patient.identifier", "")
        unique_id = request.args.get("identifier", "")
        if not patient and not unique_id:
            return _outcome(400, "expected patient.identifier or identifier")
        where, args = [], []
        if patient:
            system, ins = _strip_system(patient)
            where.append("patient_ins=?")
            args.append(ins)
            if system:
                where.append("patient_system=?")
                args.append(system)
        if unique_id:
            where.append("unique_id=?")
            args.append(unique_id)
        for status in request.args.getlist("status"):
            where.append("status=?")
            args.append(status)
        for code in request.args.getlist("type"):
            where.append("type_code=?")
            args.append(code.rpartition("|")[2])
        for value in request.args.getlist("date"):
            m = _DATE_RE.match(value)
            if not m:
                return _outcome(400, f"date {value!r}; expected [ge|gt|le|lt]YYYY-MM-DD")
            op, when = m.group(1) or "eq", m.group(2)
            if op == "eq":
                where.append("substr(date, 1, ?)=?")
                args += [len(when), when]
            else:
                where.append(f"date {dict(ge='>=', gt='>', le='<=', lt='<')[op]} ?")
                args.append(when)
        rows = conn().execute(f"SELECT * FROM documents WHERE {' AND '.join(where)} ORDER BY date DESC",
                              args).fetchall()
        return {"resourceType": "Bundle", "type": "searchset", "total": len(rows),
                "entry": [{"fullUrl": f"DocumentReference/{r['id']}", "resource": public(r)} for r in rows]}

    @app.get("/fhir/DocumentReference/<doc_id>")
    def read(doc_id: str):
        row = conn().execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        if row is None:
            return _outcome(404, f"no DocumentReference {doc_id}")
        g.patient = row["patient_ins"]
        return public(row)

    @app.get("/fhir/Binary/<doc_id>")
    def binary(doc_id: str):
        row = conn().execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()
        if row is None or row["payload"] is None:
            return _outcome(404, f"no Binary {doc_id}")
        g.patient = row["patient_ins"]
        return Response(row["payload"], mimetype=row["content_type"] or "application/octet-stream")

    def delete(unique_id: str, by: str):
        row = conn().execute("SELECT * FROM documents WHERE unique_id=?", (unique_id,)).fetchone()
        if row is None:
            return _outcome(404, f"uniqueId {unique_id} unknown")
        g.patient = row["patient_ins"]
        resource = public(row)
        resource["extension"] = [{"url": "deletedBy", "valueString": by},
                                 {"url": "deletedAt", "valueDateTime": _now()}]
        save(row["id"], resource, "entered-in-error")
        return resource

    @app.post("/patient/documents/delete")
    def delete_by_patient():
        body = request.get_json(silent=True) or {}
        unique_id = str(body.get("uniqueId", "")).strip()
        if not unique_id:
            return _outcome(400, "expected {\"uniqueId\": ...}")
        return delete(unique_id, "patient")

    @app.delete("/fhir/DocumentReference")
    def delete_by_author():
        unique_id = request.args.get("identifier", "").strip()
        if not unique_id:
            return _outcome(400, "expected ?identifier=UNIQUEID")
        return delete(unique_id, "author")

    @app.get("/admin/transactions")
    def transactions():
        since = request.args.get("since", "0")
        rows = conn().execute("SELECT * FROM transactions WHERE seq > ? ORDER BY seq",
                              (int(since) if since.isdigit() else 0,)).fetchall()
        return {"transactions": [dict(r) for r in rows]}

    return app


class StoppableService:
    """The DMP's HTTP listener, which the control port can close and reopen (same port, same data)."""

    def __init__(self, app: Flask, port: int):
        self.app, self.port = app, port
        self.server = None
        self.lock = threading.Lock()

    @property
    def up(self) -> bool:
        return self.server is not None

    def start(self) -> None:
        from werkzeug.serving import make_server

        with self.lock:
            if self.server is not None:
                return
            for attempt in range(50):  # the port may linger for a moment after a stop
                try:
                    self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
                    break
                except OSError:
                    if attempt == 49:
                        raise
                    time.sleep(0.1)
            threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        with self.lock:
            if self.server is None:
                return
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _control_server(service: StoppableService, port: int):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):  # noqa: N802 (http.server API)
            if self.path == "/service":
                return self._answer(200, {"service": "up" if service.up else "down"})
            return self._answer(404, {"error": "unknown path"})

        def do_POST(self):  # noqa: N802
            if self.path == "/service/stop":
                service.stop()
            elif self.path == "/service/start":
                service.start()
            else:
                return self._answer(404, {"error": "unknown path"})
            print(f"dmp_sim service {'up' if service.up else 'down'}", flush=True)
            return self._answer(200, {"service": "up" if service.up else "down"})

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.dmp_sim", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--db", required=True, help="SQLite file (created if absent)")
    ap.add_argument("--control-port", type=int, default=None,
                    help="port of the control listener that stops/starts the DMP service")
    args = ap.parse_args(argv)
    app = create_app(args.db)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    service = StoppableService(app, args.port)
    service.start()
    if args.control_port:
        _control_server(service, args.control_port)
    print(f"dmp_sim on http://127.0.0.1:{args.port} (db {args.db})"
          + (f", control on 127.0.0.1:{args.control_port}" if args.control_port else ""), flush=True)
    threading.Event().wait()  # until SIGTERM / SIGINT
    return 0


if __name__ == "__main__":
    sys.exit(main())

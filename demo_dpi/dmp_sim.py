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

The professional's Pro Santé Connect identity (``--psc-issuer``)
----------------------------------------------------------------
Like a DMP API protected as the CI-SIS volume on securing REST APIs describes it (OAuth 2.0 token
exchange, RFC 8693, the ``subject_token`` being the professional's PSC access token), the simulator has
an authorization server:

``POST /as/token``  form ``grant_type=urn:ietf:params:oauth:grant-type:token-exchange``,
``subject_token=<PSC access token>``, ``subject_token_type=urn:ietf:params:oauth:token-type:access_token``,
``client_id``. The simulator introspects the subject token at PSC (RFC 7662, with its own PSC client:
``$DMP_SIM_PSC_CLIENT_ID`` / ``$DMP_SIM_PSC_CLIENT_SECRET``) and reads PSC's user-info with it; if the
token is active it answers ``{"access_token", "issued_token_type", "token_type": "Bearer",
"expires_in"}``, else ``400 {"error": "invalid_grant"}``. (The volume's mutual TLS with the structure's
certificate is not simulated.)

A request to ``/fhir/…`` with ``Authorization: Bearer <that token>`` is attributed to the professional:
the log's ``auth``, ``psc_subject`` (PSC ``sub``), ``psc_idnat`` (``SubjectNameID``) and ``token_fp``
(first 12 hex digits of the SHA-256 of the DMP token, never the token) say who; an unknown or expired
bearer token gets ``401``. Requests without ``Authorization`` are served as before (``auth`` ``aucune``).

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
import hashlib
import json
import logging
import os
import re
import secrets
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
    "290116912304559": "absent",    # SANSDMPTEST Dominique (demo_dpi documents' test patient)
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
    status INTEGER,
    auth TEXT,
    psc_subject TEXT,
    psc_idnat TEXT,
    token_fp TEXT
);
CREATE TABLE IF NOT EXISTS access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    psc_subject TEXT NOT NULL,
    psc_idnat TEXT,
    name TEXT,
    client_id TEXT,
    expires_at REAL NOT NULL
);
"""
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_LIFETIME_S = 300
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


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_app(db_path: str, psc: dict | None = None) -> Flask:
    """``psc``: ``{"issuer", "discovery_path", "client_id", "client_secret"}`` of Pro Santé Connect, to
    verify the tokens a DPI exchanges at ``/as/token`` (None: no token exchange)."""
    app = Flask(__name__)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    lock = threading.Lock()
    with sqlite3.connect(db_path) as c:
        c.execute("PRAGMA journal_mode=WAL")
        c.executescript(SCHEMA)
        have = {r[1] for r in c.execute("PRAGMA table_info(transactions)")}
        for column in ("auth", "psc_subject", "psc_idnat", "token_fp"):  # a database of an earlier version
            if column not in have:
                c.execute(f"ALTER TABLE transactions ADD COLUMN {column} TEXT")

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
        who = getattr(g, "who", None) or {}
        conn().execute("INSERT INTO transactions(at, method, path, query, patient, actor, status, auth, psc_subject, "
                       "psc_idnat, token_fp) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                       (_now(), request.method, request.path, request.query_string.decode(errors="replace"),
                        _strip_system(patient)[1] if patient else None, request.headers.get("X-PS-Identifier"),
                        resp.status_code, who.get("auth", "aucune"), who.get("psc_subject"), who.get("psc_idnat"),
                        who.get("token_fp")))
        return resp

    @app.before_request
    def _bearer():
        """A ``/fhir/`` request with a bearer token is the professional's: unknown or expired → 401."""
        auth = request.headers.get("Authorization", "")
        if not request.path.startswith("/fhir/") or not auth:
            return None
        token = auth[7:].strip() if auth.startswith("Bearer ") else ""
        row = conn().execute("SELECT * FROM access_tokens WHERE token_sha256=?", (_sha(token),)).fetchone() \
            if token else None
        if row is None or row["expires_at"] < time.time():
            g.who = {"auth": "jeton refusé (inconnu ou expiré)"}
            body, status = _outcome(401, "invalid or expired bearer token")
            return body, status, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        g.who = {"auth": "Bearer (jeton DMP issu de l'échange du jeton Pro Santé Connect)",
                 "psc_subject": row["psc_subject"], "psc_idnat": row["psc_idnat"], "token_fp": _sha(token)[:12]}
        return None

    psc_meta: dict = {}

    def psc_call(name: str, **kw):
        import requests

        if not psc_meta:
            url = psc["issuer"].rstrip("/") + psc.get("discovery_path", "/.well-known/wallet-openid-configuration")
            psc_meta.update(requests.get(url, timeout=10).json())
        return requests.post(psc_meta[name], timeout=10, **kw) if name == "introspection_endpoint" else \
            requests.get(psc_meta[name], timeout=10, **kw)

    @app.post("/as/token")
    def token_exchange():
        """RFC 8693: the professional's PSC access token exchanged for a DMP access token."""
        form = request.form
        if form.get("grant_type") != TOKEN_EXCHANGE:
            return {"error": "unsupported_grant_type"}, 400
        if form.get("subject_token_type") != ACCESS_TOKEN_TYPE or not form.get("subject_token"):
            return {"error": "invalid_request", "error_description": "subject_token (PSC access token) expected"}, 400
        if not psc:
            return {"error": "invalid_request", "error_description": "no Pro Santé Connect configured"}, 400
        subject = form["subject_token"]
        try:
            active = psc_call("introspection_endpoint", data={"token": subject},
                              auth=(psc["client_id"], psc["client_secret"])).json()
            info = psc_call("userinfo_endpoint", headers={"Authorization": f"Bearer {subject}"})
            info = info.json() if info.status_code == 200 else {}
        except Exception as exc:  # noqa: BLE001 — PSC unreachable: the exchange fails, the DMP stays up
            g.who = {"auth": "échange refusé (PSC injoignable)"}
            return {"error": "temporarily_unavailable", "error_description": type(exc).__name__}, 503
        if not active.get("active") or not info.get("sub") or info.get("sub") != active.get("sub"):
            g.who = {"auth": "échange refusé (jeton PSC inactif)"}
            return {"error": "invalid_grant", "error_description": "the PSC access token is not active"}, 400
        token = secrets.token_urlsafe(32)
        name = f"{info.get('given_name', '')} {info.get('family_name', '')}".strip()
        conn().execute("INSERT INTO access_tokens(token_sha256, psc_subject, psc_idnat, name, client_id, expires_at) "
                       "VALUES (?,?,?,?,?,?)", (_sha(token), info["sub"], info.get("SubjectNameID"), name,
                                               form.get("client_id"), time.time() + TOKEN_LIFETIME_S))
        g.who = {"auth": "échange de jeton (RFC 8693), jeton PSC vérifié auprès de Pro Santé Connect",
                 "psc_subject": info["sub"], "psc_idnat": info.get("SubjectNameID"), "token_fp": _sha(token)[:12]}
        return {"access_token": token, "issued_token_type": ACCESS_TOKEN_TYPE, "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S}, 200, {"Cache-Control": "no-store"}

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
    ap.add_argument("--psc-issuer", default="", help="Pro Santé Connect's issuer, to verify exchanged tokens "
                    "(client from $DMP_SIM_PSC_CLIENT_ID / $DMP_SIM_PSC_CLIENT_SECRET)")
    ap.add_argument("--psc-discovery-path", default="/.well-known/wallet-openid-configuration")
    args = ap.parse_args(argv)
    psc = None
    if args.psc_issuer:
        if not os.environ.get("DMP_SIM_PSC_CLIENT_SECRET"):
            print("error: environment variable DMP_SIM_PSC_CLIENT_SECRET is unset; expected the DMP's PSC client "
                  "secret", file=sys.stderr)
            return 2
        psc = {"issuer": args.psc_issuer, "discovery_path": args.psc_discovery_path,
               "client_id": os.environ.get("DMP_SIM_PSC_CLIENT_ID", "demo-dmp"),
               "client_secret": os.environ["DMP_SIM_PSC_CLIENT_SECRET"]}
    app = create_app(args.db, psc)
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

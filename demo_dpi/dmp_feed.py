"""The one way demo_dpi feeds the DMP: a queue of sends, one function that posts, one background sender.

A validated document is *requested* for the DMP either at its validation ("Envoyer au DMP" ticked,
after ``Settings.dmp_send_delay_s``) or from its screen (« Envoyer au DMP », at once). The request
is decided first: no non-opposition recorded in the patient's current episode, or an unqualified
identity, cancels it with its reason (defect ``DMP/CONF.09``: the consent is not looked at). Otherwise
the send waits in ``dmp_sends`` until :func:`attempt` posts it, called at once by the user's send or
by the background sender (:func:`start`) when it is due. Outcomes: 201 (or 409, already there) →
sent; 404 (no DMP) / 403 (not authorised) → cancelled with the reason; no answer or 5xx → queued
(``en_attente``) and retried every :data:`RETRY_S` seconds with no user action (defect
``DMP/ALI/PROG.01``: abandoned instead); the user may cancel a send while it waits.

:func:`call` is the DPI's one HTTP client for the DMP (the consultation screens use it too).
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from . import documents
from .cda_gen import ESTABLISHMENT, FINESS, OID_IDNAT_PS
from .patients import dmp_refusal, now, open_episode

SCHEMA = """
CREATE TABLE IF NOT EXISTS dmp_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),   -- a document's latest send is its state
    status TEXT NOT NULL,             -- programme | en_attente | envoye | annule | echec
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0, -- due time; pushed forward while an attempt holds the send
    dmp_ref TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""
LABELS = {"programme": "Envoi programmé (tâche de fond)", "en_attente": "En attente : DMP injoignable",
          "envoye": "Envoyé au DMP", "annule": "Envoi annulé", "echec": "Échec de l'envoi au DMP"}
BADGE = {"programme": "pending", "en_attente": "pending", "envoye": "ok", "annule": "err", "echec": "err"}
PENDING = ("programme", "en_attente")
RETRY_S = 1.0    # while the DMP is unreachable, a queued document is retried this often
HOLD_S = 30.0    # an attempt in progress holds its send this long (longer than the HTTP timeout)
SYSTEM = "Système — envoi DMP"
log = logging.getLogger("demo_dpi.dmp_feed")


def init(conn) -> None:
    conn.executescript(SCHEMA)


@dataclass
class Answer:
    status: int            # HTTP status; 0 when the DMP could not be reached
    body: object = None    # parsed JSON, raw bytes (Binary), or None
    error: str = ""        # why the DMP could not be reached


def call(url: str, method: str, path: str, body: dict | None = None, *, ps: str = "", timeout: float = 10,
         headers: dict | None = None) -> Answer:
    """One HTTP exchange with the DMP at ``url`` (``ps``: the professional's RPPS, sent as X-PS-Identifier;
    ``headers``: more, e.g. the professional's Pro Santé Connect identity, see ``FeatureContext.dmp_headers``)."""
    if not url:
        return Answer(0, error="aucun DMP configuré")
    req = urllib.request.Request(url.rstrip("/") + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/fhir+json", "X-PS-Identifier": ps,
                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            raw = resp.read()
            is_json = resp.headers.get_content_type().endswith("json")
            return Answer(resp.status, json.loads(raw or b"null") if is_json else raw)
    except urllib.error.HTTPError as exc:
        try:
            return Answer(exc.code, json.loads(exc.read() or b"null"))
        except ValueError:
            return Answer(exc.code)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.info("DMP unreachable: %s", exc)
        return Answer(0, error=str(getattr(exc, "reason", exc)))


def resource(d, p) -> dict:
    """The DocumentReference the DPI submits to the DMP for validated document ``d`` of patient ``p``."""
    return {"resourceType": "DocumentReference", "masterIdentifier": {"value": d["unique_id"]}, "status": "current",
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": d["type_code"],
                                 "display": d["type_display"]}]},
            "subject": {"identifier": {"system": f"urn:oid:{p['ins_oid']}", "value": p["ins"]}},
            "date": d["validated_at"],
            "author": [{"identifier": {"system": f"urn:oid:{OID_IDNAT_PS}", "value": "8" + (d["author_rpps"] or "")},
                        "display": d["author"]}],
            "custodian": {"identifier": {"value": FINESS}, "display": ESTABLISHMENT},
            "securityLabel": [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": "N"}],
            "description": d["title"],
            "content": [{"attachment": {"contentType": "text/xml", "title": d["title"],
                                        "data": base64.b64encode(d["cda"]).decode()}}]}


def latest(conn, doc_id: int):
    return conn.execute("SELECT * FROM dmp_sends WHERE document_id=? ORDER BY id DESC LIMIT 1", (doc_id,)).fetchone()


def request(conn, settings, d, p, *, actor: str, delay_s: float) -> int:
    """Ask for validated document ``d`` of patient ``p`` to go to the DMP in ``delay_s`` seconds (the
    background sender posts it); the send's id. A send already waiting is kept, not doubled."""
    return _decide(conn, settings, d, p, actor, time.time() + delay_s, "tâche de fond")


def send_now(conn, settings, d, p, *, actor: str):
    """The user's « Envoyer au DMP »: the same decision, then one attempt at once; the send's row."""
    pending = latest(conn, d["id"])
    if pending is not None and pending["status"] in PENDING:
        return pending  # already on its way: the background sender posts it
    send_id = _decide(conn, settings, d, p, actor, time.time() + HOLD_S, "à la demande de l'utilisateur")
    if latest(conn, d["id"])["status"] == "programme":  # queued, and held by this call: post it now
        attempt(conn, settings, send_id, held=True)
    return conn.execute("SELECT * FROM dmp_sends WHERE id=?", (send_id,)).fetchone()


def _decide(conn, settings, d, p, actor: str, next_try: float, how: str) -> int:
    """Cancel the send with its reason, or queue it (``programme``) until ``next_try``."""
    pending = latest(conn, d["id"])
    if pending is not None and pending["status"] in PENDING:
        return pending["id"]
    why = "" if "DMP/CONF.09" in settings.defects else dmp_refusal(open_episode(conn, p["id"]), "alimentation")
    if not why and not p["ins_qualified"]:
        why = "identité du patient non qualifiée"
    if not why and not settings.dmp_url:
        why = "aucun DMP configuré pour l'établissement"
    if why:
        cur = conn.execute("INSERT INTO dmp_sends(document_id, status, reason) VALUES (?, 'annule', ?)",
                           (d["id"], why))
        documents.event(conn, d["id"], "Système", "Envoi au DMP annulé", why)
        return cur.lastrowid
    cur = conn.execute("INSERT INTO dmp_sends(document_id, status, next_try) VALUES (?, 'programme', ?)",
                       (d["id"], next_try))
    documents.event(conn, d["id"], actor, "Envoi au DMP programmé", how)
    return cur.lastrowid


def cancel(conn, doc_id: int, actor: str) -> bool:
    """The user cancels the document's waiting send; False when none was waiting."""
    cur = conn.execute("UPDATE dmp_sends SET status='annule', reason=?, updated_at=? WHERE document_id=? "
                       "AND status IN ('programme', 'en_attente')", ("annulé par l'utilisateur", now(), doc_id))
    if cur.rowcount:
        documents.event(conn, doc_id, actor, "Envoi au DMP annulé", "à la demande de l'utilisateur")
    return bool(cur.rowcount)


def attempt(conn, settings, send_id: int, *, held: bool = False) -> None:
    """Post a waiting send to the DMP once and record the outcome. The attempt first holds the send
    (``held``: the caller already does), so that two attempts never post the same send."""
    if not held:
        cur = conn.execute("UPDATE dmp_sends SET next_try=? WHERE id=? AND status IN ('programme', 'en_attente')"
                           " AND next_try <= ?", (time.time() + HOLD_S, send_id, time.time()))
        if cur.rowcount != 1:
            return
    send = conn.execute("SELECT * FROM dmp_sends WHERE id=?", (send_id,)).fetchone()
    d = documents.get(conn, send["document_id"])
    p = conn.execute("SELECT * FROM patients WHERE id=?", (d["patient_id"],)).fetchone()
    answer = call(settings.dmp_url, "POST", "/fhir/DocumentReference", resource(d, p), timeout=5)

    def finish(status: str, reason: str, action: str, detail: str, ref: str | None = None) -> None:
        cur = conn.execute("UPDATE dmp_sends SET status=?, reason=?, dmp_ref=?, attempts=attempts+1, updated_at=?"
                           " WHERE id=? AND status IN ('programme', 'en_attente')",
                           (status, reason, ref, now(), send_id))
        if cur.rowcount:  # not cancelled by the user meanwhile
            documents.event(conn, d["id"], SYSTEM, action, detail)

    status = answer.status
    if status in (201, 409):
        ref = (answer.body or {}).get("id") if isinstance(answer.body, dict) else None
        finish("envoye", "", "Document envoyé au DMP", f"référence {ref or d['unique_id']}", ref or d["unique_id"])
    elif status == 404:
        finish("annule", "absence de DMP pour ce patient", "Envoi au DMP annulé", "le patient n'a pas de DMP")
    elif status == 403:
        finish("annule", "autorisation insuffisante sur le DMP du patient", "Envoi au DMP annulé",
               "autorisation insuffisante")
    elif status == 0 or status >= 500:
        why = "DMP injoignable" if status == 0 else f"DMP indisponible (HTTP {status})"
        if "DMP/ALI/PROG.01" in settings.defects:
            finish("echec", why + " ; envoi abandonné", "Échec de l'envoi au DMP", why)
            return
        cur = conn.execute("UPDATE dmp_sends SET status='en_attente', reason=?, attempts=attempts+1, next_try=?,"
                           " updated_at=? WHERE id=? AND status IN ('programme', 'en_attente')",
                           (why + " : nouvelle tentative automatique", time.time() + RETRY_S, now(), send_id))
        if cur.rowcount and send["status"] != "en_attente":
            documents.event(conn, d["id"], SYSTEM, "Envoi au DMP mis en attente", why)
    else:
        finish("annule", f"document refusé par le DMP (HTTP {status})", "Envoi au DMP annulé",
               f"refus du DMP (HTTP {status})")


def start(settings) -> None:
    """The background sender: a daemon thread posting every send that is due, forever."""
    from . import db

    def run() -> None:
        while True:
            time.sleep(0.25)
            try:
                conn = db.connect(settings.db_path)
            except Exception:  # noqa: BLE001 — the database may be briefly locked; try again
                continue
            try:
                due = conn.execute("SELECT id FROM dmp_sends WHERE status IN ('programme', 'en_attente')"
                                   " AND next_try <= ? ORDER BY id", (time.time(),)).fetchall()
                for row in due:
                    attempt(conn, settings, row["id"])
            except Exception:  # noqa: BLE001 — keep the sender alive whatever happens to one document
                log.exception("DMP sender")
            finally:
                conn.close()

    threading.Thread(target=run, name="dmp-sender", daemon=True).start()

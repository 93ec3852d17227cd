"""The one document model of demo_dpi: every document of a patient's file, and its history.

A document is either produced here (``origin = 'local'``: written, reviewed when its type asks for
it, validated into a CDA R2 N1 by :mod:`demo_dpi.cda_gen`) or integrated from the DMP
(``origin = 'DMP'``: its CDA kept as the DMP served it). The patient file lists both; the documents
screens write and validate the local ones; :mod:`demo_dpi.dmp_feed` sends validated ones to the DMP.
Each step is an event of the document's history.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from .cda_gen import DOC_TYPES, PARIS, build_cda, document_pdf
from .patients import for_cda, now

SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    episode_id INTEGER REFERENCES episodes(id),
    origin TEXT NOT NULL,               -- local | DMP
    unique_id TEXT NOT NULL,            -- local: a UUID; DMP: the DMP's uniqueId
    kind TEXT,                          -- local: key of cda_gen.DOC_TYPES
    type_code TEXT NOT NULL, type_display TEXT NOT NULL,   -- LOINC
    title TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    author TEXT NOT NULL,               -- as shown: "Dr Alice MEDECINTEST"
    author_nom TEXT, author_prenom TEXT, author_rpps TEXT,  -- local documents
    doc_date TEXT NOT NULL,
    status TEXT NOT NULL,               -- local: brouillon | a_relire | relu | valide; DMP: integre
    send_dmp INTEGER NOT NULL DEFAULT 0,  -- send to the DMP at validation
    reviewed_by TEXT, reviewed_at TEXT, validated_at TEXT,
    cda BLOB,                           -- local: produced at validation; DMP: as received
    integrated_at TEXT, integrated_by TEXT
);
CREATE TABLE IF NOT EXISTS document_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS mss_messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    to_addr TEXT NOT NULL, message_id TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""

STATUS_LABELS = {"brouillon": "Brouillon", "a_relire": "À relire", "relu": "Relu, à valider",
                 "valide": "Validé", "integre": "Intégré depuis le DMP"}
STATUS_BADGE = {"brouillon": "pending", "a_relire": "pending", "relu": "pending", "valide": "ok", "integre": "ok"}


def init(conn) -> None:
    conn.executescript(SCHEMA)


def local_time(iso: str | None) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def event(conn, doc_id: int, actor: str, action: str, detail: str = "") -> None:
    conn.execute("INSERT INTO document_events(document_id, actor, action, detail) VALUES (?,?,?,?)",
                 (doc_id, actor, action, detail))


def get(conn, doc_id: int):
    return conn.execute("SELECT * FROM documents WHERE id=?", (doc_id,)).fetchone()


def of_patient(conn, patient_id: int):
    return conn.execute("SELECT * FROM documents WHERE patient_id=? ORDER BY id DESC", (patient_id,)).fetchall()


def split_name(label: str) -> tuple[str, str]:
    """A professional's name as typed at login ("Dr Camille TESTSEGUR") → (prénom, nom), for an author."""
    words = [w for w in label.split() if w.rstrip(".").lower() not in ("dr", "pr", "docteur", "professeur")]
    return (" ".join(words[:-1]), words[-1]) if words else ("", label)


def author_label(d) -> str:
    return f"{d['author']} (RPPS {d['author_rpps']})" if d["author_rpps"] else d["author"]


def create_local(conn, patient, episode, *, kind: str, title: str, content: str, author_nom: str,
                 author_prenom: str, author_rpps: str, send_dmp: bool) -> int:
    """A draft written here for ``patient`` (in ``episode``, if one is open)."""
    t = DOC_TYPES[kind]
    author = f"Dr {author_prenom} {author_nom}".replace("  ", " ")
    cur = conn.execute(
        "INSERT INTO documents(patient_id, episode_id, origin, unique_id, kind, type_code, type_display, title,"
        " content, author, author_nom, author_prenom, author_rpps, doc_date, status, send_dmp)"
        " VALUES (?,?,'local',?,?,?,?,?,?,?,?,?,?,?,'brouillon',?)",
        (patient["id"], episode["id"] if episode else None, str(uuid.uuid4()), kind, t.loinc, t.loinc_display,
         title, content, author, author_nom, author_prenom, author_rpps, now(), 1 if send_dmp else 0))
    event(conn, cur.lastrowid, author_label(get(conn, cur.lastrowid)) + " — auteur", "Création du brouillon",
          "envoi au DMP demandé" if send_dmp else "envoi au DMP non demandé")
    return cur.lastrowid


def can_validate(d) -> bool:
    return d["origin"] == "local" and (
        (d["status"] == "brouillon" and not DOC_TYPES[d["kind"]].review) or d["status"] == "relu")


def pdf(d, patient) -> bytes:
    return document_pdf(dict(d) | {"uuid": d["unique_id"], "validated_at_local": local_time(d["validated_at"])},
                        for_cda(patient), DOC_TYPES[d["kind"]])


def validate(conn, d, patient, *, defective_cda: bool) -> None:
    """Freeze a local document: its CDA R2 N1 (PDF body) is produced now and kept."""
    when = datetime.now(timezone.utc)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    t = DOC_TYPES[d["kind"]]
    doc = dict(d) | {"uuid": d["unique_id"], "validated_at_local": local_time(stamp)}
    body = document_pdf(doc, for_cda(patient), t)
    cda = build_cda(doc, for_cda(patient), t, when=when, pdf=body, defective=defective_cda)
    conn.execute("UPDATE documents SET status='valide', validated_at=?, cda=? WHERE id=?", (stamp, cda, d["id"]))
    event(conn, d["id"], author_label(d) + " — validation", "Validation du document", "document CDA R2 N1 produit")


def integrate(conn, patient, episode, resource: dict, cda: bytes | None, by: str) -> int:
    """Keep a document of the DMP (its DocumentReference and CDA) in the patient's file."""
    coding = (resource.get("type") or {}).get("coding", [{}])[0]
    cur = conn.execute(
        "INSERT INTO documents(patient_id, episode_id, origin, unique_id, type_code, type_display, title, author,"
        " doc_date, status, cda, integrated_at, integrated_by) VALUES (?,?,'DMP',?,?,?,?,?,?,'integre',?,?,?)",
        (patient["id"], episode["id"] if episode else None, resource["masterIdentifier"]["value"],
         coding.get("code", ""), coding.get("display", ""), resource.get("description", "") or coding.get("display", ""),
         (resource.get("author") or [{}])[0].get("display", ""), resource.get("date", ""), cda, now(), by))
    event(conn, cur.lastrowid, by, "Intégration depuis le DMP", resource["masterIdentifier"]["value"])
    return cur.lastrowid


def delete(conn, doc_id: int) -> None:
    for table in ("document_events", "mss_messages", "dmp_sends"):
        conn.execute(f"DELETE FROM {table} WHERE document_id=?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id=?", (doc_id,))

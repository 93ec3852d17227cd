"""SQLite storage of demo_dpi (one file, created on first start)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nom TEXT NOT NULL,
    prenom TEXT NOT NULL,
    profession TEXT NOT NULL,
    rpps TEXT NOT NULL,
    email TEXT NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    mobile TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    verified_at TEXT
);
CREATE TABLE IF NOT EXISTS email_verifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    email TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
"""


def per_request(app, open_connection):
    """``conn()`` for a Flask app: one connection per request (``open_connection()``), closed when
    the request ends."""
    from flask import g

    def conn() -> sqlite3.Connection:
        if "db" not in g:
            g.db = open_connection()
        return g.db

    @app.teardown_appcontext
    def _close(_exc):
        c = g.pop("db", None)
        if c is not None:
            c.close()

    return conn


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def init(path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with connect(path) as conn:
        conn.executescript(SCHEMA)
        # a database made before accounts had a mobile number
        if "mobile" not in {row["name"] for row in conn.execute("PRAGMA table_info(accounts)")}:
            conn.execute("ALTER TABLE accounts ADD COLUMN mobile TEXT")

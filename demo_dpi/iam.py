"""Roles, permissions and login data of demo_dpi accounts, shared by the identity and access features.

Tables (created by whichever feature registers first): ``roles`` (the DPI's roles, some privileged),
``account_roles`` (who holds which role, and where the grant comes from: local or ldap) and
``account_profile`` (login, active flag, last login, directory entry an account is synchronised from).
A reference hospital population is seeded once, so that an account review has something to find.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

SCHEMA = """
CREATE TABLE IF NOT EXISTS roles (
    code TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    privileged INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS account_roles (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    role_code TEXT NOT NULL REFERENCES roles(code),
    source TEXT NOT NULL DEFAULT 'local',
    granted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (account_id, role_code)
);
CREATE TABLE IF NOT EXISTS account_profile (
    account_id INTEGER PRIMARY KEY REFERENCES accounts(id),
    login TEXT UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    last_login_at TEXT,
    source TEXT NOT NULL DEFAULT 'local',
    directory_dn TEXT,
    synced_at TEXT
);
CREATE TABLE IF NOT EXISTS iam_seed (name TEXT PRIMARY KEY);
"""

ROLES = [
    ("ADMIN", "Administrateur fonctionnel", 1),
    ("BRIS_GLACE", "Accès « bris de glace » au dossier", 1),
    ("MEDECIN", "Médecin prescripteur", 0),
    ("IDE", "Soins infirmiers", 0),
    ("PHARMA", "Validation pharmaceutique", 0),
    ("SECRETARIAT", "Secrétariat médical", 0),
]

# nom, prénom, profession, RPPS ('' = none), roles, days since last login (None = never), active
POPULATION = [
    ("ADMINDEMO", "Claude", "Informaticien", "", ["ADMIN"], 2, True),
    ("MARTINDEMO", "Sophie", "Médecin", "10100000001", ["MEDECIN", "BRIS_GLACE"], 1, True),
    ("DURANDDEMO", "Paul", "Médecin", "10100000002", ["MEDECIN"], 130, True),
    ("LEROYDEMO", "Emma", "Infirmier", "10100000003", ["IDE"], 5, True),
    ("MOREAUDEMO", "Lucas", "Infirmier", "", ["IDE"], 40, True),
    ("PETITDEMO", "Chloé", "Pharmacien", "10100000004", ["PHARMA"], 3, True),
    ("ROUXDEMO", "Hugo", "Secrétaire médical", "", ["SECRETARIAT"], 200, True),
    ("FOURNIERDEMO", "Léa", "Sage-femme", "10100000005", [], None, True),
    ("GIRARDDEMO", "Nathan", "Médecin", "10100000006", ["MEDECIN", "ADMIN"], 400, True),
    ("BONNETDEMO", "Inès", "Informaticien", "", ["ADMIN", "BRIS_GLACE"], 10, True),
    ("LAMBERTDEMO", "Jules", "Médecin", "10100000007", ["MEDECIN"], 600, False),
]


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def init(conn) -> None:
    """Create the tables, the roles and, when ``$DEMO_DPI_POPULATION`` is 1 (``demo_dpi.stack`` sets it),
    the reference population (once per database; an empty database stays empty otherwise)."""
    conn.executescript(SCHEMA)
    conn.executemany("INSERT OR IGNORE INTO roles(code, label, privileged) VALUES (?,?,?)", ROLES)
    if os.environ.get("DEMO_DPI_POPULATION") != "1":
        return
    if conn.execute("SELECT 1 FROM iam_seed WHERE name='population'").fetchone():
        return
    now = datetime.now(timezone.utc)
    for nom, prenom, profession, rpps, roles, days, active in POPULATION:
        email = f"{prenom.lower().replace('é', 'e').replace('è', 'e')}.{nom.lower()}@demo-dpi.test"
        created = iso(now - timedelta(days=700))
        cur = conn.execute(
            "INSERT INTO accounts(nom, prenom, profession, rpps, email, email_verified, created_at, verified_at) "
            "VALUES (?,?,?,?,?,1,?,?)", (nom, prenom, profession, rpps, email, created, created))
        login = f"{prenom[0].lower()}{nom.lower()}"
        conn.execute("INSERT INTO account_profile(account_id, login, active, last_login_at) VALUES (?,?,?,?)",
                     (cur.lastrowid, login, 1 if active else 0,
                      iso(now - timedelta(days=days)) if days is not None else None))
        conn.executemany("INSERT INTO account_roles(account_id, role_code, granted_at) VALUES (?,?,?)",
                         [(cur.lastrowid, r, created) for r in roles])
    conn.execute("INSERT INTO iam_seed(name) VALUES ('population')")


def account_rows(conn):
    """Every account with its profile and roles (one row per account)."""
    rows = conn.execute(
        "SELECT a.*, p.login, COALESCE(p.active, 1) AS active, p.last_login_at, COALESCE(p.source, 'local') "
        "AS source, (SELECT group_concat(r.role_code, ';') FROM (SELECT role_code FROM account_roles "
        "WHERE account_id=a.id ORDER BY role_code) r) AS roles, (SELECT COUNT(*) FROM account_roles ar "
        "JOIN roles ro ON ro.code=ar.role_code WHERE ar.account_id=a.id AND ro.privileged=1) AS n_privileged "
        "FROM accounts a LEFT JOIN account_profile p ON p.account_id=a.id ORDER BY a.id").fetchall()
    return rows

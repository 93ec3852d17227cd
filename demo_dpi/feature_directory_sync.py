"""Synchronisation of identities and permissions from the hospital's LDAPS directory (SSI/IAM.83, 85).

Configured by the environment of the demo_dpi process (``demo_dpi.stack`` sets it with ``with_ldap``):

* ``DEMO_DPI_LDAP_URL`` (``ldaps://127.0.0.1:6636``), ``DEMO_DPI_LDAP_CA`` (the CA file the DPI trusts),
  ``DEMO_DPI_LDAP_BASE`` (``dc=hopital-demo,dc=test``), ``DEMO_DPI_LDAP_BIND_DN`` and
  ``DEMO_DPI_LDAP_PASSWORD`` (the DPI's read-only service account), ``DEMO_DPI_LDAP_SYNC_S`` (period,
  seconds, default 60).

Every period, and when the administrator presses "Synchroniser maintenant" (``POST /admin/directory/sync``),
the DPI reads ``ou=people`` (inetOrgPerson: uid, sn, givenName, mail, title, employeeNumber = RPPS) and
``ou=groups`` (groupOfNames; each group maps to a DPI role, :data:`GROUP_ROLES`) over LDAPS with the
certificate checked, then creates, updates or deactivates accounts and sets their directory-granted
roles. Each run and each change it made is journaled and shown on ``/admin/directory``.

Defect ``SSI/IAM.85``: the synchronisation ignores permissions (group memberships are never applied).
"""
from __future__ import annotations

import os
import ssl
from contextlib import closing
import threading
import time
from datetime import datetime, timezone

from flask import redirect, url_for

from . import iam

AREA = "Annuaire"

GROUP_ROLES = {"dpi-admins": "ADMIN", "dpi-bris-glace": "BRIS_GLACE", "dpi-medecins": "MEDECIN",
               "dpi-ide": "IDE", "dpi-pharmaciens": "PHARMA", "dpi-secretariat": "SECRETARIAT"}
DEFECT = "SSI/IAM.85"

SCHEMA = """
CREATE TABLE IF NOT EXISTS directory_syncs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'en cours',
    people INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    roles_changed INTEGER NOT NULL DEFAULT 0,
    deactivated INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS directory_sync_changes (
    sync_id INTEGER NOT NULL REFERENCES directory_syncs(id),
    login TEXT NOT NULL,
    what TEXT NOT NULL,
    old TEXT NOT NULL DEFAULT '',
    new TEXT NOT NULL DEFAULT ''
);
"""

PAGE = """<h1>Synchronisation avec l'annuaire de l'établissement</h1>
{% if conf %}<dl id="directory-config">
 <dt>Annuaire</dt><dd data-testid="directory-url">{{ conf.url }} (TLS, certificat vérifié avec l'AC de l'établissement)</dd>
 <dt>Base</dt><dd>{{ conf.base }}</dd><dt>Compte de service</dt><dd>{{ conf.bind_dn }} (lecture seule)</dd>
 <dt>Synchronisation automatique</dt><dd data-testid="sync-period">toutes les {{ conf.period }} s</dd>
 <dt>Données synchronisées</dt><dd>identités (uid, nom, prénom, messagerie, profession, RPPS) et habilitations (groupes → rôles)</dd>
</dl>
<form method="post" action="{{ url_for('directory_sync_now') }}" style="margin:14px 0"><button type="submit" id="sync-now">Synchroniser maintenant</button></form>
{% else %}<p>Aucun annuaire n'est configuré.</p>{% endif %}
<h2 style="font-size:17px">Dernières synchronisations</h2>
<table id="syncs"><thead><tr><th>N°</th><th>Début (UTC)</th><th>Déclenchement</th><th>Résultat</th><th>Personnes lues</th><th>Comptes créés</th><th>Comptes modifiés</th><th>Rôles modifiés</th><th>Comptes désactivés</th></tr></thead>
<tbody>{% for s in syncs %}<tr {% if loop.first %}data-testid="last-sync"{% endif %} data-sync-id="{{ s.id }}" data-trigger="{{ s.trigger }}" data-status="{{ s.status }}"><td>{{ s.id }}</td><td>{{ s.started_at }}</td><td>{{ s.trigger }}</td>
<td>{{ s.status }}{% if s.message %} — {{ s.message }}{% endif %}</td><td>{{ s.people }}</td><td>{{ s.created }}</td><td>{{ s.updated }}</td><td>{{ s.roles_changed }}</td><td>{{ s.deactivated }}</td></tr>
{% else %}<tr><td colspan="9">Aucune synchronisation.</td></tr>{% endfor %}</tbody></table>
<h2 style="font-size:17px;margin-top:18px">Modifications appliquées par les dernières synchronisations</h2>
<table id="sync-changes"><thead><tr><th>Synchro</th><th>Compte</th><th>Donnée</th><th>Avant</th><th>Après</th></tr></thead>
<tbody>{% for ch in changes %}<tr><td>{{ ch.sync_id }}</td><td>{{ ch.login }}</td><td>{{ ch.what }}</td><td>{{ ch.old }}</td><td>{{ ch.new }}</td></tr>
{% else %}<tr><td colspan="5">Aucune.</td></tr>{% endfor %}</tbody></table>"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def config() -> dict | None:
    url = os.environ.get("DEMO_DPI_LDAP_URL")
    if not url:
        return None
    base = os.environ.get("DEMO_DPI_LDAP_BASE", "dc=hopital-demo,dc=test")
    return {"url": url, "ca": os.environ.get("DEMO_DPI_LDAP_CA", ""), "base": base,
            "bind_dn": os.environ.get("DEMO_DPI_LDAP_BIND_DN", f"cn=dpi-sync,ou=services,{base}"),
            "password": os.environ.get("DEMO_DPI_LDAP_PASSWORD", ""),
            "period": int(os.environ.get("DEMO_DPI_LDAP_SYNC_S", "60"))}


def _first(entry, attr: str) -> str:
    values = entry["attributes"].get(attr) or []
    if isinstance(values, str):
        return values
    return str(values[0]) if values else ""


class Synchroniser:
    def __init__(self, db_path: str, conf: dict, defects: set[str], log):
        self.db_path, self.conf, self.defects, self.log = db_path, conf, defects, log
        self.lock = threading.Lock()

    def _read_directory(self):
        import ldap3
        from urllib.parse import urlparse

        u = urlparse(self.conf["url"])
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.conf["ca"] or None,
                        version=ssl.PROTOCOL_TLS_CLIENT)
        server = ldap3.Server(u.hostname, port=u.port or 636, use_ssl=u.scheme == "ldaps", tls=tls,
                              connect_timeout=10)
        with ldap3.Connection(server, user=self.conf["bind_dn"], password=self.conf["password"], auto_bind=True,
                              read_only=True, receive_timeout=20) as conn:
            conn.search(f"ou=people,{self.conf['base']}", "(objectClass=inetOrgPerson)",
                        attributes=["uid", "sn", "givenName", "mail", "title", "employeeNumber"])
            people = {e["dn"].lower(): e for e in conn.response if e.get("type") == "searchResEntry"}
            conn.search(f"ou=groups,{self.conf['base']}", "(objectClass=groupOfNames)", attributes=["cn", "member"])
            roles: dict[str, set[str]] = {}
            for g in conn.response:
                if g.get("type") != "searchResEntry":
                    continue
                role = GROUP_ROLES.get(_first(g, "cn"))
                for member in g["attributes"].get("member") or []:
                    if role:
                        roles.setdefault(str(member).lower(), set()).add(role)
        return people, roles

    def run(self, trigger: str) -> dict:
        from . import db

        with self.lock, closing(db.connect(self.db_path)) as c:
            sync_id = c.execute("INSERT INTO directory_syncs(started_at, trigger) VALUES (?,?)",
                                (_now(), trigger)).lastrowid
            stats = {"people": 0, "created": 0, "updated": 0, "roles_changed": 0, "deactivated": 0}
            try:
                people, roles = self._read_directory()
                stats["people"] = len(people)
                journal = []
                for dn, e in people.items():
                    self._apply(c, dn, e, roles.get(dn, set()), stats, journal)
                for p in c.execute("SELECT p.account_id, p.login, p.directory_dn FROM account_profile p "
                                   "WHERE p.source='ldap' AND p.active=1").fetchall():
                    if (p["directory_dn"] or "").lower() not in people:
                        c.execute("UPDATE account_profile SET active=0, synced_at=? WHERE account_id=?",
                                  (_now(), p["account_id"]))
                        stats["deactivated"] += 1
                        journal.append((p["login"], "statut", "actif", "désactivé (absent de l'annuaire)"))
                c.executemany("INSERT INTO directory_sync_changes(sync_id, login, what, old, new) VALUES (?,?,?,?,?)",
                              [(sync_id, *j) for j in journal])
                status, message = "réussie", ""
            except Exception as exc:  # noqa: BLE001 — a failed run is journaled, the next one retries
                status, message = "échec", f"{type(exc).__name__}: {exc}"[:200]
                self.log.error("directory sync failed: %s", message)
            c.execute("UPDATE directory_syncs SET finished_at=?, status=?, message=?, people=?, created=?, updated=?, "
                      "roles_changed=?, deactivated=? WHERE id=?",
                      (_now(), status, message, stats["people"], stats["created"], stats["updated"],
                       stats["roles_changed"], stats["deactivated"], sync_id))
            return {"id": sync_id, "status": status, "message": message, **stats}

    def _apply(self, c, dn: str, e: dict, wanted_roles: set[str], stats: dict, journal: list) -> None:
        uid = _first(e, "uid")
        values = {"nom": _first(e, "sn"), "prenom": _first(e, "givenName"), "email": _first(e, "mail"),
                  "profession": _first(e, "title"), "rpps": _first(e, "employeeNumber")}
        p = c.execute("SELECT * FROM account_profile WHERE lower(directory_dn)=? OR login=?", (dn, uid)).fetchone()
        now = _now()
        if p is None:
            account_id = c.execute(
                "INSERT INTO accounts(nom, prenom, profession, rpps, email, email_verified, verified_at) "
                "VALUES (?,?,?,?,?,1,?)", (values["nom"], values["prenom"], values["profession"], values["rpps"],
                                           values["email"], now)).lastrowid
            c.execute("INSERT INTO account_profile(account_id, login, active, source, directory_dn, synced_at) "
                      "VALUES (?,?,1,'ldap',?,?)", (account_id, uid, e["dn"], now))
            stats["created"] += 1
            journal.append((uid, "compte", "", "créé depuis l'annuaire"))
        else:
            account_id = p["account_id"]
            a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
            diffs = [(k, a[k], v) for k, v in values.items() if (a[k] or "") != v]
            if diffs:
                c.execute("UPDATE accounts SET " + ", ".join(f"{k}=?" for k, _, _ in diffs) + " WHERE id=?",
                          [v for _, _, v in diffs] + [account_id])
                stats["updated"] += 1
                journal.extend((uid, k, old or "", new) for k, old, new in diffs)
            c.execute("UPDATE account_profile SET source='ldap', directory_dn=?, active=1, synced_at=? "
                      "WHERE account_id=?", (e["dn"], now, account_id))
        if DEFECT in self.defects:
            return  # the defect: permissions are never taken from the directory
        held = {r["role_code"] for r in c.execute(
            "SELECT role_code FROM account_roles WHERE account_id=? AND source='ldap'", (account_id,))}
        for role in sorted(wanted_roles - held):
            c.execute("INSERT OR REPLACE INTO account_roles(account_id, role_code, source, granted_at) "
                      "VALUES (?,?,'ldap',?)", (account_id, role, now))
            journal.append((uid, "rôle", "", f"{role} attribué"))
        for role in sorted(held - wanted_roles):
            c.execute("DELETE FROM account_roles WHERE account_id=? AND role_code=? AND source='ldap'",
                      (account_id, role))
            journal.append((uid, "rôle", role, "retiré"))
        stats["roles_changed"] += len(wanted_roles ^ held)


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        iam.init(c)
        c.executescript(SCHEMA)
    conf = config()
    ctx.nav.append(("Annuaire", "directory_sync"))
    sync = Synchroniser(ctx.settings.db_path, conf, ctx.settings.defects, app.logger) if conf else None

    if sync is not None:
        def periodic():
            while True:
                sync.run("périodique")
                time.sleep(conf["period"])

        threading.Thread(target=periodic, name="directory-sync", daemon=True).start()

    @app.get("/admin/directory", endpoint="directory_sync")
    @ctx.admin_required
    def directory_sync():
        c = ctx.conn()
        syncs = c.execute("SELECT * FROM directory_syncs ORDER BY id DESC LIMIT 8").fetchall()
        changes = c.execute("SELECT * FROM directory_sync_changes WHERE sync_id > (SELECT COALESCE(MAX(id), 0) - 8 "
                            "FROM directory_syncs) ORDER BY sync_id DESC, rowid LIMIT 25").fetchall()
        shown = {k: v for k, v in conf.items() if k != "password"} if conf else None
        return ctx.page("Annuaire", PAGE, conf=shown, syncs=syncs, changes=changes)

    @app.post("/admin/directory/sync", endpoint="directory_sync_now")
    @ctx.admin_required
    def directory_sync_now():
        if sync is None:
            ctx.flash("error", "Aucun annuaire n'est configuré.")
        else:
            r = sync.run("manuel")
            kind = "info" if r["status"] == "réussie" else "error"
            ctx.flash(kind, f"Synchronisation n° {r['id']} {r['status']} : {r['people']} personnes lues, "
                            f"{r['created']} compte(s) créé(s), {r['updated']} modifié(s), "
                            f"{r['roles_changed']} rôle(s) modifié(s), {r['deactivated']} désactivé(s)."
                            + (f" {r['message']}" if r["message"] else ""))
        return redirect(url_for("directory_sync"))

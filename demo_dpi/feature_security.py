"""Security screens of demo_dpi: settings, the connection journal and the administrator's password.

- ``/admin/securite`` (administrator): the security settings — automatic logout after a configurable
  inactivity (enforced on every session, administrator's and professionals'), the session ending with
  the browser (the session cookie has no expiry date), and the password policy of the administration
  account (15 characters at least, lower and upper case letters, digits and special characters, a
  configurable renewal period of one year at most, no reuse of the last 5 passwords, account blocked
  15 minutes after 5 failed sign-ins), all enforced below;
- ``/admin/mot-de-passe`` (administrator): changing the administration password under that policy;
- ``/admin/journal`` (administrator): the journal of sign-in attempts (administrator and professionals,
  success or failure, the identifier typed, the address), logouts, automatic logouts, password changes
  (accepted or refused) and settings changes; exported for a log collector as CSV
  (``/admin/journal.csv``) or syslog lines RFC 5424 (``/admin/journal.log``), ``?type=`` filtering.

Sign-ins are observed around the existing sign-in screens (``/login``, ``/care/login``); the
administrator's password, once changed here, is checked here. Defect ``SSI/IE.39``: no automatic
logout, and the settings screen offers no inactivity setting.
"""
from __future__ import annotations

import csv
import io
import re
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from flask import Response, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

AREA = "Sécurité"
PARIS = ZoneInfo("Europe/Paris")

MIN_LENGTH = 15
HISTORY = 5             # a new password differs from the last 5
LOCK_AFTER = 5          # failed sign-ins before the account is blocked
LOCK_MINUTES = 15
DEFAULTS = {"inactivity_min": "15", "password_expiry_days": "365"}
LIMITS = {"inactivity_min": (1, 240), "password_expiry_days": (1, 365)}
TYPES = {"auth": "Authentification", "password": "Changement de mot de passe", "session": "Session",
         "settings": "Paramètres"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS security_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    type TEXT NOT NULL, event TEXT NOT NULL, identifier TEXT NOT NULL, outcome TEXT NOT NULL,
    ip TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS admin_passwords (
    id INTEGER PRIMARY KEY AUTOINCREMENT, hash TEXT NOT NULL,
    set_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""

SETTINGS = """<h1>Paramètres de sécurité</h1>
<form method="post" action="{{ url_for('security_settings') }}" id="security-settings">
<section class="panel" id="session-settings"><h2>Sessions des utilisateurs</h2>
{% if inactivity_offered %}<p id="inactivity"><label for="inactivity_min">Déconnexion automatique après une inactivité de</label>
 <input id="inactivity_min" name="inactivity_min" type="number" min="1" max="240" value="{{ s.inactivity_min }}" style="width:70px"> minute(s)
 — s'applique à toutes les sessions (administrateur et professionnels de santé).</p>{% endif %}
<p id="browser-close"><b>Fermeture du navigateur</b> : la session se termine avec le navigateur (cookie de session
sans date d'expiration, que le navigateur supprime à sa fermeture) ; l'utilisateur doit alors se reconnecter.</p>
<p id="logout-everywhere">Chaque écran porte le lien <b>Déconnexion</b>, qui ferme la session.</p></section>
<section class="panel" id="password-policy"><h2>Politique de mots de passe du compte d'administration</h2>
<ul>
 <li>Longueur minimale : <b>{{ min_length }} caractères</b> ;</li>
 <li>jeu de caractères complexe : <b>minuscules, majuscules, chiffres et caractères spéciaux</b>, tous exigés ;</li>
 <li id="password-expiry"><label for="password_expiry_days">Renouvellement imposé tous les</label>
  <input id="password_expiry_days" name="password_expiry_days" type="number" min="1" max="365" value="{{ s.password_expiry_days }}" style="width:70px">
  jours (un an au plus) : à l'échéance, la connexion mène au changement du mot de passe ;</li>
 <li>pas de réutilisation des <b>{{ history }} derniers mots de passe</b> ;</li>
 <li>compte <b>bloqué {{ lock_minutes }} minutes après {{ lock_after }} échecs de connexion</b> consécutifs.</li>
</ul>
<p>Mot de passe actuel défini le {{ password_set_at }}. <a href="{{ url_for('admin_password') }}" id="change-password-link">Changer le mot de passe</a></p></section>
<p><button type="submit" id="save-security">Enregistrer</button></p></form>
<p><a href="{{ url_for('audit_journal') }}">Journal des connexions et des changements de mot de passe</a></p>"""

PASSWORD = """<h1>Changer le mot de passe d'administration</h1>
<ul id="password-rules"><li>au moins {{ min_length }} caractères ;</li><li>au moins une minuscule, une majuscule, un chiffre et un caractère spécial ;</li>
<li>différent des {{ history }} derniers mots de passe.</li></ul>
<form method="post" class="grid" action="{{ url_for('admin_password') }}" id="password-change">
 <label for="current">Mot de passe actuel</label><input id="current" name="current" type="password" autocomplete="current-password">
 <label for="new">Nouveau mot de passe</label><input id="new" name="new" type="password" autocomplete="new-password">
 <label for="confirm">Confirmation</label><input id="confirm" name="confirm" type="password" autocomplete="new-password">
 <span></span><button type="submit" id="change-password">Changer le mot de passe</button>
</form>"""

JOURNAL = """<h1>Journal des connexions et des changements de mot de passe</h1>
<form method="get" action="{{ url_for('audit_journal') }}" class="actions" id="journal-filter">
 <label for="type">Type d'événement</label><select id="type" name="type"><option value="">Tous</option>
 {% for k, label in types.items() %}<option value="{{ k }}" {% if k == kind %}selected{% endif %}>{{ label }}</option>{% endfor %}</select>
 <button type="submit" id="filter">Filtrer</button>
 <a href="{{ url_for('audit_export_csv', type=kind) }}" id="export-csv">Exporter (CSV)</a>
 <a href="{{ url_for('audit_export_syslog', type=kind) }}" id="export-syslog">Exporter pour un collecteur (syslog, RFC 5424)</a></form>
<table id="audit-log"><thead><tr><th>Date et heure (Paris)</th><th>Type</th><th>Événement</th><th>Identifiant saisi</th><th>Résultat</th><th>Adresse</th><th>Détail</th></tr></thead>
<tbody>{% for e in rows %}<tr data-event-id="{{ e.id }}"><td>{{ paris(e.at) }}</td><td>{{ types.get(e.type, e.type) }}</td><td>{{ e.event }}</td>
<td>{{ e.identifier }}</td><td>{% if e.outcome == 'réussite' %}<span class="badge ok">réussite</span>{% else %}<span class="badge err">{{ e.outcome }}</span>{% endif %}</td>
<td>{{ e.ip }}</td><td>{{ e.detail }}</td></tr>{% else %}<tr><td colspan="7">Aucun événement.</td></tr>{% endfor %}</tbody></table>"""

LOCKED = """<h1>Connexion administrateur</h1><p id="locked">Compte bloqué après {{ lock_after }} échecs de connexion :
nouvel essai possible après {{ lock_minutes }} minutes.</p>"""

SPECIAL = re.compile(r"[^A-Za-z0-9]")


def paris(iso: str) -> str:
    """A stored UTC time as the journal shows it (Paris time)."""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return when.astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


def password_problems(new: str, confirm: str) -> list[str]:
    """What a new administration password lacks under the policy (French; [] when it complies)."""
    out = []
    if len(new) < MIN_LENGTH:
        out.append(f"au moins {MIN_LENGTH} caractères")
    for rx, what in ((r"[a-z]", "une minuscule"), (r"[A-Z]", "une majuscule"), (r"[0-9]", "un chiffre")):
        if not re.search(rx, new):
            out.append(what)
    if not SPECIAL.search(new):
        out.append("un caractère spécial")
    if new != confirm:
        out.append("la confirmation identique")
    return out


def register(app, ctx) -> None:
    settings = ctx.settings
    defects = settings.defects
    conn = ctx.conn
    from . import db

    with db.connect(settings.db_path) as c:
        c.executescript(SCHEMA)
        c.execute("INSERT OR IGNORE INTO security_settings(key, value) VALUES ('initial_password_set_at', ?)",
                  (datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),))
        for k, v in DEFAULTS.items():
            c.execute("INSERT OR IGNORE INTO security_settings(key, value) VALUES (?, ?)", (k, v))
    ctx.nav.append(("Sécurité", "security_settings"))
    ctx.nav.append(("Journal", "audit_journal"))

    def setting(key: str) -> int:
        row = conn().execute("SELECT value FROM security_settings WHERE key=?", (key,)).fetchone()
        return int(row["value"]) if row else int(DEFAULTS[key])

    def record(kind: str, event: str, identifier: str, outcome: str, detail: str = "") -> None:
        conn().execute("INSERT INTO audit_log(type, event, identifier, outcome, ip, detail) VALUES (?,?,?,?,?,?)",
                       (kind, event, identifier[:120], outcome, request.remote_addr or "", detail[:300]))

    def current_hash() -> tuple[str | None, str]:
        """The administration password's hash once changed here (None: the one the DPI started with)
        and when it was set."""
        row = conn().execute("SELECT hash, set_at FROM admin_passwords ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            return row["hash"], row["set_at"]
        first = conn().execute("SELECT value FROM security_settings WHERE key='initial_password_set_at'").fetchone()
        return None, first["value"]

    def password_ok(candidate: str) -> bool:
        stored, _ = current_hash()
        if stored is None:
            return candidate == settings.admin_password
        return check_password_hash(stored, candidate)

    def recent_failures(identifier: str) -> int:
        """Consecutive failed sign-ins of ``identifier`` within the lock period (since its last success)."""
        rows = conn().execute(
            "SELECT outcome, at FROM audit_log WHERE type='auth' AND identifier=? AND event LIKE 'connexion%'"
            " ORDER BY id DESC LIMIT ?", (identifier, LOCK_AFTER)).fetchall()
        since = time.time() - LOCK_MINUTES * 60
        n = 0
        for r in rows:
            at = datetime.fromisoformat(r["at"].replace("Z", "+00:00")).timestamp()
            if r["outcome"] == "réussite" or at < since:
                break
            n += 1
        return n

    def expired() -> bool:
        _, set_at = current_hash()
        age = time.time() - datetime.fromisoformat(set_at.replace("Z", "+00:00")).timestamp()
        return age > setting("password_expiry_days") * 86400

    @app.before_request
    def _security_before():
        endpoint = request.endpoint or ""
        if endpoint == "login" and request.method == "POST":
            user = request.form.get("username", "")
            request._segur_handled = True   # answered here: the sign-in is recorded here
            if recent_failures(user) >= LOCK_AFTER:
                record("auth", "connexion administrateur", user, "refus (compte bloqué)",
                       f"{LOCK_AFTER} échecs consécutifs")
                return ctx.page("Connexion", LOCKED, 423, area="Connexion", lock_after=LOCK_AFTER,
                                lock_minutes=LOCK_MINUTES)
            stored, _ = current_hash()
            if stored is not None:   # the password was changed here: this feature checks it
                if user == settings.admin_user and check_password_hash(stored, request.form.get("password", "")):
                    session.clear()
                    session["admin"] = user
                    record("auth", "connexion administrateur", user, "réussite")
                    if expired():
                        ctx.flash("error", "Mot de passe expiré : choisissez-en un nouveau.")
                        return redirect(url_for("admin_password"))
                    nxt = request.args.get("next") or ""
                    return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else url_for("accounts"))
                record("auth", "connexion administrateur", user, "échec", "identifiant ou mot de passe incorrect")
                ctx.flash("error", "Identifiant ou mot de passe incorrect.")
                from .app import LOGIN
                return ctx.page("Connexion", LOGIN, 401, area="Connexion")
            request._segur_handled = False
            return None
        if endpoint in ("static", "login", "care_login", "healthz"):
            return None
        if session.get("admin") or session.get("pro"):
            now = time.time()
            seen = session.get("seen")
            limit = setting("inactivity_min")
            if seen and now - seen > limit * 60 and "SSI/IE.39" not in defects:
                was_admin = bool(session.get("admin"))
                who = session.get("admin") or (session.get("pro") or {}).get("rpps", "")
                session.clear()
                record("session", "déconnexion automatique", who, "réussite", f"inactivité de plus de {limit} min")
                ctx.flash("info", f"Session fermée après {limit} minute(s) d'inactivité : reconnectez-vous.")
                return redirect(url_for("login" if was_admin else "care_login", next=request.path))
            session["seen"] = now
        return None

    @app.after_request
    def _security_after(response):
        endpoint = request.endpoint or ""
        if request.method == "POST" and endpoint == "login" and not getattr(request, "_segur_handled", False):
            user = request.form.get("username", "")
            ok = response.status_code in (301, 302, 303) and session.get("admin") == user
            record("auth", "connexion administrateur", user, "réussite" if ok else "échec",
                   "" if ok else "identifiant ou mot de passe incorrect")
            if ok:
                session["seen"] = time.time()
                if expired():
                    ctx.flash("error", "Mot de passe expiré : choisissez-en un nouveau.")
                    return redirect(url_for("admin_password"))
        elif request.method == "POST" and endpoint == "care_login":
            rpps = request.form.get("rpps", "").strip()
            ok = response.status_code in (301, 302, 303) and (session.get("pro") or {}).get("rpps") == rpps
            record("auth", "connexion professionnel (carte CPS)", rpps, "réussite" if ok else "échec")
            if ok:
                session["seen"] = time.time()
        elif endpoint in ("logout", "care_logout"):
            record("session", "déconnexion", getattr(request, "_segur_who", ""), "réussite")
        return response

    @app.before_request
    def _who_logs_out():
        if request.endpoint in ("logout", "care_logout"):
            request._segur_who = session.get("admin") or (session.get("pro") or {}).get("rpps", "")

    @app.route("/admin/securite", methods=["GET", "POST"])
    @ctx.admin_required
    def security_settings():
        if request.method == "POST":
            changed = []
            for key, (low, high) in LIMITS.items():
                if key == "inactivity_min" and "SSI/IE.39" in defects:
                    continue
                raw = request.form.get(key, "").strip()
                if not raw.isdigit() or not low <= int(raw) <= high:
                    ctx.flash("error", f"Valeur refusée pour {key} : un nombre entier de {low} à {high} est attendu.")
                    return redirect(url_for("security_settings"))
                if int(raw) != setting(key):
                    conn().execute("UPDATE security_settings SET value=? WHERE key=?", (raw, key))
                    changed.append(f"{key}={raw}")
            record("settings", "modification des paramètres de sécurité", session.get("admin", ""), "réussite",
                   ", ".join(changed) or "aucun changement")
            ctx.flash("info", "Paramètres de sécurité enregistrés.")
            return redirect(url_for("security_settings"))
        _, set_at = current_hash()
        return ctx.page("Paramètres de sécurité", SETTINGS, s={k: setting(k) for k in DEFAULTS},
                        inactivity_offered="SSI/IE.39" not in defects, min_length=MIN_LENGTH, history=HISTORY,
                        lock_after=LOCK_AFTER, lock_minutes=LOCK_MINUTES, password_set_at=paris(set_at))

    @app.route("/admin/mot-de-passe", methods=["GET", "POST"])
    @ctx.admin_required
    def admin_password():
        if request.method == "POST":
            user = session.get("admin", "")
            current, new, confirm = (request.form.get(k, "") for k in ("current", "new", "confirm"))
            problems = [] if password_ok(current) else ["le mot de passe actuel"]
            if not problems:
                problems = password_problems(new, confirm)
            if not problems:
                olds = [r["hash"] for r in conn().execute(
                    "SELECT hash FROM admin_passwords ORDER BY id DESC LIMIT ?", (HISTORY,)).fetchall()]
                reused = any(check_password_hash(h, new) for h in olds) or (
                    len(olds) < HISTORY and new == settings.admin_password)
                if reused:
                    problems = [f"un mot de passe différent des {HISTORY} derniers"]
            if problems:
                record("password", "changement de mot de passe", user, "refus", "manque : " + ", ".join(problems))
                ctx.flash("error", "Changement refusé — il manque : " + ", ".join(problems) + ".")
                return ctx.page("Mot de passe", PASSWORD, 400, min_length=MIN_LENGTH, history=HISTORY)
            conn().execute("INSERT INTO admin_passwords(hash) VALUES (?)", (generate_password_hash(new),))
            record("password", "changement de mot de passe", user, "réussite")
            ctx.flash("info", "Mot de passe changé.")
            return redirect(url_for("security_settings"))
        return ctx.page("Mot de passe", PASSWORD, min_length=MIN_LENGTH, history=HISTORY)

    def journal_rows():
        kind = request.args.get("type", "")
        if kind and kind not in TYPES:
            kind = ""
        sql = "SELECT * FROM audit_log" + (" WHERE type=?" if kind else "") + " ORDER BY id DESC LIMIT 1000"
        return kind, conn().execute(sql, (kind,) if kind else ()).fetchall()

    @app.get("/admin/journal")
    @ctx.admin_required
    def audit_journal():
        kind, rows = journal_rows()
        return ctx.page("Journal", JOURNAL, rows=rows, types=TYPES, kind=kind, paris=paris)

    def iso_paris(iso: str) -> str:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(PARIS)
        return when.isoformat(timespec="milliseconds")

    @app.get("/admin/journal.csv")
    @ctx.admin_required
    def audit_export_csv():
        _, rows = journal_rows()
        out = io.StringIO()
        w = csv.writer(out, delimiter=";")
        w.writerow(["horodatage", "type", "evenement", "identifiant_saisi", "resultat", "adresse_ip", "detail"])
        for r in rows:
            w.writerow([iso_paris(r["at"]), r["type"], r["event"], r["identifier"], r["outcome"], r["ip"], r["detail"]])
        return Response("\ufeff" + out.getvalue(), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": "inline; filename=journal-demo-dpi.csv"})

    @app.get("/admin/journal.log")
    @ctx.admin_required
    def audit_export_syslog():
        _, rows = journal_rows()

        def sd(value: str) -> str:   # RFC 5424 PARAM-VALUE escapes
            return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")

        lines = []
        for r in rows:
            severity = 6 if r["outcome"] == "réussite" else 4   # informational / warning
            pri = 10 * 8 + severity                            # facility 10: security/authorization
            lines.append(f'<{pri}>1 {iso_paris(r["at"])} demo-dpi demo-dpi - {r["type"]} '
                         f'[segur@32473 event="{sd(r["event"])}" user="{sd(r["identifier"])}" '
                         f'outcome="{sd(r["outcome"])}" ip="{sd(r["ip"])}"] {r["detail"] or r["event"]}')
        return Response("\n".join(lines) + ("\n" if lines else ""), mimetype="text/plain; charset=utf-8")

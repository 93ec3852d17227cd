"""Change of a professional's e-mail address (SSI/IE.32).

The administrator, at the professional's request, enters the new address on the account's
"Coordonnées" screen. The new address stays *pending* until the professional uses the single-use
link (or code) sent to it, exactly as at registration (SSI/IE.31), and the change is notified at once
to the old address (e-mail) and to the account's other coordinate, its mobile number (SMS through the
SMS gateway, ``--sms-url``), so that the professional learns of the change and can object.

Defect ``SSI/IE.32``: the new address replaces the old one at once, verified, and nobody is told.
Defect ``SSI/IE.32-sms``: the old address is notified but the mobile is not (no SMS).
"""
from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import abort, redirect, request, url_for

from .app import EMAIL_RE

DEFECT = "SSI/IE.32"
DEFECT_SMS = "SSI/IE.32-sms"

SCHEMA = """
CREATE TABLE IF NOT EXISTS contact_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    old_email TEXT NOT NULL,
    new_email TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    code TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL
);
"""

CONTACT = """<h1>Coordonnées du compte n° {{ a.id }} — {{ a.prenom }} {{ a.nom }}</h1>
<dl id="contact-detail">
 <dt>Adresse de messagerie active</dt><dd data-testid="active-email">{{ a.email }}</dd>
 <dt>Statut de l'adresse active</dt><dd>{% if a.email_verified %}<span class="badge ok" data-testid="active-status">Adresse vérifiée</span>{% else %}<span class="badge pending" data-testid="active-status">Adresse en attente de vérification</span>{% endif %}</dd>
 <dt>N° de mobile</dt><dd data-testid="mobile">{{ a.mobile or 'aucun' }}</dd>
 <dt>Modification en cours</dt><dd data-testid="pending-change">{% if pending %}<span class="badge pending">Nouvelle adresse {{ pending.new_email }} en attente de vérification</span> (demandée le {{ pending.requested_at }} ; l'adresse active reste {{ a.email }})
 {% else %}aucune{% endif %}</dd>
</dl>
<h2 style="font-size:17px;margin-top:22px">Modifier l'adresse de messagerie (à la demande du professionnel)</h2>
<form method="post" class="grid" action="{{ url_for('contact_change', account_id=a.id) }}" id="contact-change">
 <label for="new_email">Nouvelle adresse</label><input id="new_email" name="new_email" type="email" required>
 <span></span><button type="submit" id="request-change">Demander la modification</button>
</form>
<p style="font-size:13px;color:#4a5a6a">La nouvelle adresse ne sera active qu'après sa vérification par le
professionnel (lien à usage unique envoyé à cette adresse) ; la modification est notifiée à l'adresse actuelle
et, par SMS, au n° de mobile du compte.</p>"""

VERIFY = """<h1>Vérification de la nouvelle adresse de messagerie</h1>
<div class="flash {{ kind }}" data-testid="verify-result"><span class="badge {{ badge }}">{{ outcome }}</span> {{ detail }}</div>"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _mask(addr: str) -> str:
    """``camille.x@demo-dpi.test`` → ``ca…@demo-dpi.test``: the notice names the new address, partly."""
    local, _, domain = addr.partition("@")
    return f"{local[:2]}…@{domain}"


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        c.executescript(SCHEMA)
    s = ctx.settings

    def _mail(to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = s.mail_from
        msg["To"] = to
        msg["Subject"] = subject
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(domain="demo-dpi.test")
        msg.set_content(body)
        ctx.send_mail(msg)

    def _sms(to: str, text: str) -> None:
        """Send an SMS through the gateway's JSON API (POST /v1/messages); OSError when it is not sent."""
        if not s.sms_url:
            raise OSError("no SMS gateway configured (--sms-url)")
        body = json.dumps({"from": s.sms_from, "to": to, "text": text}).encode("utf-8")
        req = urllib.request.Request(s.sms_url.rstrip("/") + "/v1/messages", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                resp.read()
        except urllib.error.HTTPError as exc:
            raise OSError(f"SMS gateway answered {exc.code}: {exc.read()[:200]!r}") from None

    def _pending(account_id: int):
        return ctx.conn().execute(
            "SELECT * FROM contact_changes WHERE account_id=? AND used_at IS NULL AND expires_at>? "
            "ORDER BY id DESC LIMIT 1", (account_id, time.time())).fetchone()

    @app.route("/accounts/<int:account_id>/contact", methods=["GET", "POST"], endpoint="contact_change")
    @ctx.admin_required
    def contact_change(account_id: int):
        c = ctx.conn()
        a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        if a is None:
            abort(404)
        if request.method == "GET":
            return ctx.page("Coordonnées", CONTACT, a=a, pending=_pending(account_id))
        new = request.form.get("new_email", "").strip()
        if not EMAIL_RE.match(new) or new.lower() == a["email"].lower():
            ctx.flash("error", "Nouvelle adresse invalide ou identique à l'adresse active.")
            return ctx.page("Coordonnées", CONTACT, 400, a=a, pending=_pending(account_id))
        if DEFECT in s.defects:
            c.execute("UPDATE accounts SET email=?, email_verified=1, verified_at=? WHERE id=?",
                      (new, _now(), account_id))
            ctx.flash("info", f"Adresse de messagerie modifiée : {new}.")
            return redirect(url_for("contact_change", account_id=account_id))
        token, code = secrets.token_urlsafe(24), f"{secrets.randbelow(10**8):08d}"
        c.execute("UPDATE contact_changes SET expires_at=0 WHERE account_id=? AND used_at IS NULL", (account_id,))
        c.execute("INSERT INTO contact_changes(account_id, old_email, new_email, token, code, requested_at, "
                  "expires_at) VALUES (?,?,?,?,?,?,?)",
                  (account_id, a["email"], new, token, code, _now(), time.time() + s.code_ttl_s))
        link = f"{s.public_url.rstrip('/')}/contact/verify?token={token}"
        minutes = max(1, s.code_ttl_s // 60)
        try:
            _mail(new, "Vérification de votre nouvelle adresse de messagerie — Demo DPI",
                  f"Bonjour {a['prenom']} {a['nom']},\n\n"
                  "Une modification de l'adresse de messagerie de votre compte Demo DPI a été demandée :\n"
                  "cette adresse deviendra la vôtre dès que vous l'aurez confirmée avec le lien ci-dessous.\n\n"
                  f"{link}\n\nCode de vérification : {code}\n\n"
                  f"Ce lien et ce code ne servent qu'une fois et expirent dans {minutes} minutes.\n"
                  "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n— Demo DPI\n")
            _mail(a["email"], "Notification de modification de votre adresse de messagerie — Demo DPI",
                  f"Bonjour {a['prenom']} {a['nom']},\n\n"
                  "Une demande de modification de l'adresse de messagerie de votre compte Demo DPI vient\n"
                  f"d'être enregistrée : la nouvelle adresse indiquée est {_mask(new)}.\n"
                  f"Votre adresse actuelle ({a['email']}) reste active tant que la nouvelle n'a pas été vérifiée.\n\n"
                  "Si vous n'êtes pas à l'origine de cette demande, prévenez sans attendre l'administrateur\n"
                  "du système : la modification peut encore être bloquée.\n\n— Demo DPI\n")
        except OSError as exc:
            app.logger.error("contact change mails not sent: %s", exc)
            ctx.flash("error", "Demande enregistrée, mais les messages n'ont pas pu être envoyés.")
        else:
            ctx.flash("info", f"Demande enregistrée : un lien de vérification a été envoyé à {new} et la "
                              f"modification a été notifiée à {a['email']}.")
        if a["mobile"] and DEFECT_SMS not in s.defects:
            try:
                _sms(a["mobile"], "Demo DPI : une modification de l'adresse de messagerie de votre compte a été "
                                  f"demandée (nouvelle adresse {_mask(new)}). Si ce n'est pas vous, prévenez "
                                  "l'administrateur.")
            except OSError as exc:
                app.logger.error("contact change SMS not sent: %s", exc)
                ctx.flash("error", "La notification par SMS au n° de mobile du compte n'a pas pu être envoyée.")
            else:
                ctx.flash("info", f"La modification a aussi été notifiée par SMS au {a['mobile']}.")
        return redirect(url_for("contact_change", account_id=account_id))

    @app.get("/contact/verify")
    def contact_verify():
        c = ctx.conn()
        row = c.execute("SELECT * FROM contact_changes WHERE token=?", (request.args.get("token", ""),)).fetchone()
        if row is None:
            return ctx.page("Vérification", VERIFY, 404, kind="error", badge="err", outcome="Lien invalide",
                            detail="Ce lien de vérification n'est pas reconnu.")
        if row["used_at"] is not None:
            return ctx.page("Vérification", VERIFY, 410, kind="error", badge="err", outcome="Lien déjà utilisé",
                            detail="Ce lien a déjà servi : il ne peut être utilisé qu'une seule fois.")
        if time.time() > row["expires_at"]:
            return ctx.page("Vérification", VERIFY, 410, kind="error", badge="err", outcome="Lien expiré",
                            detail="Ce lien a expiré ou a été remplacé par une demande plus récente.")
        c.execute("UPDATE contact_changes SET used_at=? WHERE id=?", (time.time(), row["id"]))
        c.execute("UPDATE accounts SET email=?, email_verified=1, verified_at=? WHERE id=?",
                  (row["new_email"], _now(), row["account_id"]))
        return ctx.page("Vérification", VERIFY, kind="info", badge="ok", outcome="Adresse vérifiée",
                        detail=f"L'adresse {row['new_email']} est confirmée et remplace désormais "
                               "l'ancienne adresse du compte.")

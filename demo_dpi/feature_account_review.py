"""Extraction of the account base for periodic review (SSI/IAM.87 and SSI/IAM.94).

* ``/admin/account-review``: the hospital's administrator exports, by itself, every account with its
  identity data and its permissions (CSV download, SSI/IAM.87), or files a request for an extract to
  the hosting provider, which mails it to the requester (SSI/IAM.94: systems run by a third party;
  in the demo the provider's answer is automatic).
* ``/aide/revue-des-comptes``: the user documentation page that describes both procedures.

Defects: ``SSI/IAM.87`` — the export leaves out the permissions (roles); ``SSI/IAM.94`` — a request
is acknowledged but no extract is ever sent.
"""
from __future__ import annotations

import csv
import io
import secrets
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import Response, redirect, request, url_for

from . import iam
from .app import EMAIL_RE

AREA = "Revue des comptes"

COLUMNS = ["identifiant", "nom", "prenom", "profession", "rpps", "email", "statut", "roles",
           "droits_privilegies", "derniere_connexion", "cree_le", "source"]
PERMISSION_COLUMNS = {"roles", "droits_privilegies"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS extract_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    reference TEXT NOT NULL UNIQUE,
    requester TEXT NOT NULL,
    requester_email TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    sent_at TEXT
);
"""

REVIEW = """<h1>Revue des comptes et des habilitations</h1>
<p>Base de comptes locale : <b data-testid="account-count">{{ count }} comptes</b>, dont {{ privileged }} avec un
droit privilégié. Procédure décrite dans l'aide : <a href="{{ url_for('help_account_review') }}">revue des comptes</a>.</p>
<section id="export-section" style="margin-top:16px">
<h2 style="font-size:17px">1. Extraire soi-même la base de comptes</h2>
<p>Fichier CSV (séparateur « ; », UTF-8) : une ligne par compte, avec ses données d'identité et ses habilitations.</p>
<a id="export-accounts" href="{{ url_for('account_export') }}" download><button type="button">Exporter les comptes et habilitations (CSV)</button></a>
</section>
<section id="request-section" style="margin-top:22px">
<h2 style="font-size:17px">2. Demander une extraction à l'infogéreur</h2>
<form method="post" class="grid" action="{{ url_for('extract_request') }}" id="extract-request">
 <label for="requester">Demandeur</label><input id="requester" name="requester" required>
 <label for="requester_email">Adresse de réception</label><input id="requester_email" name="requester_email" type="email" required>
 <label for="reason">Motif</label><input id="reason" name="reason" value="Revue périodique des comptes" required>
 <span></span><button type="submit" id="request-extract">Envoyer la demande</button>
</form>
{% if last %}<p data-testid="request-status">Dernière demande : <b>{{ last.reference }}</b> du {{ last.requested_at }},
{% if last.sent_at %}extraction envoyée à {{ last.requester_email }} le {{ last.sent_at }}{% else %}en cours de traitement par l'infogéreur{% endif %}.</p>{% endif %}
</section>"""

HELP = """<h1>Aide — Revue périodique des comptes et des habilitations</h1>
<p>La revue des comptes (recertification) consiste, pour l'établissement, à relire périodiquement la liste
des comptes du DPI et de leurs habilitations, pour retirer les droits qui ne se justifient plus.</p>
<section data-testid="procedure-export" id="procedure-export">
<h2 style="font-size:17px">Extraire la base de comptes en autonomie</h2>
<ol><li>Connectez-vous avec un compte d'administrateur de l'établissement.</li>
<li>Ouvrez le menu <b>Revue des comptes</b>.</li>
<li>Cliquez sur <b>Exporter les comptes et habilitations (CSV)</b> : le fichier est téléchargé aussitôt.</li></ol>
</section>
<section data-testid="procedure-request" id="procedure-request">
<h2 style="font-size:17px">Demander une extraction à l'infogéreur</h2>
<ol><li>Dans le menu <b>Revue des comptes</b>, rubrique <b>Demander une extraction à l'infogéreur</b>, indiquez le
demandeur, l'adresse de réception et le motif.</li>
<li>La demande reçoit une référence (EXT-…) ; l'infogéreur envoie l'extraction en pièce jointe à l'adresse indiquée.</li></ol>
</section>
<section id="format"><h2 style="font-size:17px">Contenu du fichier</h2>
<table><tr><th>Colonne</th><th>Contenu</th></tr>
<tr><td>identifiant, nom, prenom, profession, rpps, email</td><td>données d'identité du compte</td></tr>
<tr><td>statut</td><td>actif ou désactivé</td></tr>
<tr><td>roles</td><td>rôles détenus (codes séparés par « ; »)</td></tr>
<tr><td>droits_privilegies</td><td>oui si l'un des rôles est privilégié (administration, bris de glace)</td></tr>
<tr><td>derniere_connexion, cree_le, source</td><td>dates (UTC) et origine du compte (local ou annuaire)</td></tr></table>
</section>"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def extract_csv(conn, *, with_permissions: bool = True) -> str:
    cols = [c for c in COLUMNS if with_permissions or c not in PERMISSION_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(cols)
    for r in iam.account_rows(conn):
        row = {"identifiant": r["login"] or f"compte-{r['id']}", "nom": r["nom"], "prenom": r["prenom"],
               "profession": r["profession"], "rpps": r["rpps"], "email": r["email"],
               "statut": "actif" if r["active"] else "désactivé", "roles": r["roles"] or "",
               "droits_privilegies": "oui" if r["n_privileged"] else "non",
               "derniere_connexion": r["last_login_at"] or "", "cree_le": r["created_at"], "source": r["source"]}
        writer.writerow([row[c] for c in cols])
    return out.getvalue()


def export_has_permissions(settings) -> bool:
    """Whether the hospital's own export carries the permissions (defect SSI/IAM.87: it leaves them out)."""
    return "SSI/IAM.87" not in settings.defects


def file_request(conn, settings, send_mail, f: dict, attachment: tuple[str, str] | None = None,
                 log=None) -> str:
    """Record a request for an extract to the third party and, unless defect SSI/IAM.94, have it mail the
    extract to the requester (``attachment``: (extension, text) of the file; default this feature's CSV).
    Returns the request's reference."""
    reference = f"EXT-{datetime.now(timezone.utc):%Y%m%d}-{secrets.token_hex(3).upper()}"
    cur = conn.execute("INSERT INTO extract_requests(reference, requester, requester_email, reason, requested_at) "
                       "VALUES (?,?,?,?,?)", (reference, f["requester"], f["requester_email"], f["reason"], _now()))
    if "SSI/IAM.94" in settings.defects:
        return reference
    ext, text = attachment or ("csv", extract_csv(conn))
    msg = EmailMessage()
    msg["From"] = "Infogérance Demo DPI <infogerance@demo-dpi.test>"
    msg["To"] = f["requester_email"]
    msg["Subject"] = f"Extraction des comptes et habilitations — demande {reference}"
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="demo-dpi.test")
    msg.set_content(f"Bonjour {f['requester']},\n\nVous trouverez ci-joint l'extraction de la base de comptes "
                    f"du DPI (identités et habilitations) demandée sous la référence {reference}\n"
                    f"(motif : {f['reason']}).\n\n— L'infogéreur de Demo DPI\n")
    msg.add_attachment(text, subtype=ext, filename=f"{reference}.{ext}")
    try:
        send_mail(msg)
    except OSError as exc:
        if log is not None:
            log.error("extract not sent: %s", exc)
    else:
        conn.execute("UPDATE extract_requests SET sent_at=? WHERE id=?", (_now(), cur.lastrowid))
    return reference


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        iam.init(c)
        c.executescript(SCHEMA)
    s = ctx.settings
    ctx.nav.append(("Revue des comptes", "account_review"))
    ctx.nav.append(("Aide revue des comptes", "help_account_review"))

    def _filename() -> str:
        return f"demo-dpi-comptes-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.csv"

    @app.get("/admin/account-review", endpoint="account_review")
    @ctx.admin_required
    def account_review():
        rows = iam.account_rows(ctx.conn())
        last = ctx.conn().execute("SELECT * FROM extract_requests ORDER BY id DESC LIMIT 1").fetchone()
        return ctx.page("Revue des comptes", REVIEW, count=len(rows), last=last,
                        privileged=sum(1 for r in rows if r["n_privileged"]))

    @app.get("/admin/account-review/export.csv", endpoint="account_export")
    @ctx.admin_required
    def account_export():
        text = extract_csv(ctx.conn(), with_permissions=export_has_permissions(s))
        return Response(text.encode("utf-8"), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{_filename()}"'})

    @app.post("/admin/account-review/requests", endpoint="extract_request")
    @ctx.admin_required
    def extract_request():
        f = {k: request.form.get(k, "").strip() for k in ("requester", "requester_email", "reason")}
        if not f["requester"] or not f["reason"] or not EMAIL_RE.match(f["requester_email"]):
            ctx.flash("error", "Demandeur, adresse de réception et motif sont obligatoires.")
            return redirect(url_for("account_review"))
        reference = file_request(ctx.conn(), s, ctx.send_mail, f, log=app.logger)
        ctx.flash("info", f"Demande d'extraction enregistrée sous la référence {reference}.")
        return redirect(url_for("account_review"))

    @app.get("/aide/revue-des-comptes", endpoint="help_account_review")
    @ctx.admin_required
    def help_account_review():
        return ctx.page("Aide — revue des comptes", HELP)

"""The demo DPI's other UI: a single-page application (« Portail de gestion ») over a JSON API.

``python -m demo_dpi --ui spa`` serves it beside the classic screens, on the same database, with the
same features and defects (it calls the same model functions: ``app.create_account``,
``feature_contact_change.request_change``, ``feature_account_review.file_request`` …). Everything a
driver meets is different, as it would be in another vendor's product:

- other URLs: the pages under ``/portail/`` (one HTML shell, ``/portail/app.js`` renders them), the
  data under ``/api/`` (JSON);
- a collapsed menu (« ☰ Menu ») and other French labels (« Courriel à confirmer », « Recertification des
  habilitations » …);
- account creation in a modal dialog posted to ``POST /api/utilisateurs`` as JSON; the new account's id
  is in the JSON answer (and its ``Location`` header), never in the page's address;
- a change of address asked with the browser's ``prompt()`` then ``confirm()``, sent with ``PUT``;
- verification links ``/portail/activation?cle=…`` and ``/portail/nouvelle-adresse?cle=…`` (another
  parameter name), used by a button that posts the key;
- a self-service CSV export (comma separated, its own columns) fetched and saved by the page;
- stricter checks: the RPPS number's Luhn key is verified and an RPPS number already registered is
  refused (« Ce n° RPPS est déjà enregistré »), and its own list of professions.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path

from flask import Response, jsonify, request, session
from werkzeug.security import check_password_hash, generate_password_hash

from . import iam
from .app import EMAIL_RE, account_errors, create_account, use_account_token
from .feature_account_review import export_has_permissions, file_request
from .feature_contact_change import pending_change, request_change, use_contact_token

PROFESSIONS = ["Médecin généraliste", "Médecin spécialiste", "Infirmier(ère)", "Pharmacien(ne)", "Sage-femme",
               "Masseur-kinésithérapeute", "Secrétaire médical(e)"]
EXPORT_COLUMNS = ["Identifiant", "Nom", "Prénom", "Courriel", "N° RPPS", "Profession", "Actif", "Habilitations",
                  "Droits privilégiés", "Dernière connexion (UTC)"]
PERMISSION_COLUMNS = {"Habilitations", "Droits privilégiés"}
STATIC = Path(__file__).with_name("spa_static")

SHELL = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Portail de gestion — Demo DPI</title>
<link rel="stylesheet" href="/portail/portail.css"></head>
<body><header class="bandeau"><button id="bouton-menu" aria-expanded="false" aria-controls="menu-principal"
 hidden>☰ Menu</button><span class="marque">Demo DPI · Portail de gestion</span><span id="session"></span></header>
<nav id="menu-principal" hidden>
 <a href="/portail/utilisateurs" data-lien>Gestion des utilisateurs</a>
 <a href="/portail/recertification" data-lien>Recertification des habilitations</a>
 <a href="/portail/aide/recertification" data-lien>Aide</a>
 <a href="#" id="deconnexion">Se déconnecter</a>
</nav>
<div id="notification" role="status" hidden></div>
<main id="contenu"><p>Chargement…</p></main>
<script src="/portail/app.js"></script></body></html>"""


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _fr_date(iso_value: str | None) -> str:
    if not iso_value:
        return ""
    d = datetime.strptime(iso_value, "%Y-%m-%dT%H:%M:%SZ")
    return d.strftime("%d/%m/%Y %H:%M")


def export_csv(conn, *, with_permissions: bool) -> str:
    """The portal's own export: comma separated, French column titles, dates as JJ/MM/AAAA HH:MM (UTC)."""
    cols = [c for c in EXPORT_COLUMNS if with_permissions or c not in PERMISSION_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(cols)
    for r in iam.account_rows(conn):
        row = {"Identifiant": r["login"] or f"u{r['id']:05d}", "Nom": r["nom"], "Prénom": r["prenom"],
               "Courriel": r["email"], "N° RPPS": r["rpps"], "Profession": r["profession"],
               "Actif": "oui" if r["active"] else "non", "Habilitations": " | ".join((r["roles"] or "").split(";")
                                                                                     if r["roles"] else []),
               "Droits privilégiés": "oui" if r["n_privileged"] else "non",
               "Dernière connexion (UTC)": _fr_date(r["last_login_at"])}
        writer.writerow([row[c] for c in cols])
    return out.getvalue()


def _user(conn, a) -> dict:
    pending = pending_change(conn, a["id"])
    return {"id": a["id"], "nom": a["nom"], "prenom": a["prenom"], "profession": a["profession"], "rpps": a["rpps"],
            "mobile": a["mobile"] or "",
            "courriel": {"adresse": a["email"], "confirme": bool(a["email_verified"]),
                         "nouvelleAdresse": pending["new_email"] if pending else None,
                         "demandeLe": pending["requested_at"] if pending else None},
            "creeLe": a["created_at"]}


def register(app, ctx) -> None:
    s = ctx.settings
    admin_hash = generate_password_hash(s.admin_password)

    def conn():
        return ctx.conn()

    def refused():
        return jsonify({"erreur": "Session expirée : connectez-vous."}), 401

    def admin() -> bool:
        return bool(session.get("admin"))

    # -- the pages ------------------------------------------------------------------------------------
    @app.get("/portail/", endpoint="spa_shell")
    @app.get("/portail/<path:_page>", endpoint="spa_page")
    def spa_shell(_page: str = ""):
        return Response(SHELL, mimetype="text/html")

    @app.get("/portail/app.js", endpoint="spa_js")
    def spa_js():
        return Response((STATIC / "app.js").read_text(encoding="utf-8"), mimetype="text/javascript")

    @app.get("/portail/portail.css", endpoint="spa_css")
    def spa_css():
        return Response((STATIC / "portail.css").read_text(encoding="utf-8"), mimetype="text/css")

    # -- session ------------------------------------------------------------------------------------
    @app.route("/api/session", methods=["GET", "POST", "DELETE"], endpoint="api_session")
    def api_session():
        if request.method == "GET":
            return jsonify({"utilisateur": session.get("admin")})
        if request.method == "DELETE":
            session.clear()
            return jsonify({"utilisateur": None})
        body = request.get_json(silent=True) or {}
        user, password = str(body.get("identifiant", "")), str(body.get("motDePasse", ""))
        if secrets.compare_digest(user, s.admin_user) and check_password_hash(admin_hash, password):
            session.clear()
            session["admin"] = user
            return jsonify({"utilisateur": user})
        return jsonify({"erreur": "Identifiant ou mot de passe incorrect."}), 401

    # -- users (SSI/IE.31, SSI/IE.32) -------------------------------------------------------------------
    @app.get("/api/referentiels/professions", endpoint="api_professions")
    def api_professions():
        return jsonify({"professions": PROFESSIONS})

    @app.route("/api/utilisateurs", methods=["GET", "POST"], endpoint="api_users")
    def api_users():
        if not admin():
            return refused()
        c = conn()
        if request.method == "GET":
            rows = c.execute("SELECT * FROM accounts ORDER BY id DESC").fetchall()
            return jsonify({"utilisateurs": [_user(c, a) for a in rows]})
        body = request.get_json(silent=True) or {}
        f = {"nom": str(body.get("nom", "")).strip(), "prenom": str(body.get("prenom", "")).strip(),
             "profession": str(body.get("profession", "")).strip(), "rpps": str(body.get("rpps", "")).strip(),
             "email": str(body.get("courriel", "")).strip(), "mobile": str(body.get("mobile", "")).strip()}
        errors = account_errors(f, PROFESSIONS)
        if re.fullmatch(r"\d{11}", f["rpps"]):
            if not _luhn_ok(f["rpps"]):
                errors.append("Ce n° RPPS n'est pas valide : sa clé de contrôle ne correspond pas.")
            elif c.execute("SELECT 1 FROM accounts WHERE rpps=?", (f["rpps"],)).fetchone():
                errors.append("Ce n° RPPS est déjà enregistré.")
        if errors:
            return jsonify({"erreurs": errors}), 422
        account_id, kind, message = create_account(c, s, ctx.send_mail, f, app.logger)
        a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        resp = jsonify({"utilisateur": _user(c, a), "message": message, "niveau": kind})
        return resp, 201, {"Location": f"/api/utilisateurs/{account_id}"}

    @app.get("/api/utilisateurs/<int:account_id>", endpoint="api_user")
    def api_user(account_id: int):
        if not admin():
            return refused()
        a = conn().execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        if a is None:
            return jsonify({"erreur": "Utilisateur introuvable."}), 404
        return jsonify({"utilisateur": _user(conn(), a)})

    @app.put("/api/utilisateurs/<int:account_id>/courriel", endpoint="api_user_email")
    def api_user_email(account_id: int):
        if not admin():
            return refused()
        c = conn()
        a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        if a is None:
            return jsonify({"erreur": "Utilisateur introuvable."}), 404
        new = str((request.get_json(silent=True) or {}).get("nouvelleAdresse", "")).strip()
        status, said = request_change(c, s, ctx.send_mail, a, new, app.logger)
        if status != 200:
            return jsonify({"erreurs": [m for _k, m in said]}), 422
        a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        return jsonify({"utilisateur": _user(c, a), "message": " ".join(m for _k, m in said),
                        "niveau": "error" if any(k == "error" for k, _m in said) else "info"})

    def _use(use):
        key = str((request.get_json(silent=True) or {}).get("cle", ""))
        status, outcome, detail = use(conn(), key)
        label = {"Adresse vérifiée": "Adresse confirmée"}.get(outcome, outcome)
        return jsonify({"resultat": label, "detail": detail}), status

    @app.post("/api/activations", endpoint="api_activation")
    def api_activation():
        return _use(use_account_token)

    @app.post("/api/nouvelles-adresses", endpoint="api_new_address")
    def api_new_address():
        return _use(use_contact_token)

    # -- account review (SSI/IAM.87, SSI/IAM.94) ---------------------------------------------------------
    @app.get("/api/recertification", endpoint="api_review")
    def api_review():
        if not admin():
            return refused()
        rows = iam.account_rows(conn())
        requests = conn().execute("SELECT reference, requested_at, sent_at, requester_email FROM extract_requests "
                                  "ORDER BY id DESC LIMIT 5").fetchall()
        return jsonify({"utilisateurs": len(rows), "privilegies": sum(1 for r in rows if r["n_privileged"]),
                        "demandes": [dict(r) for r in requests]})

    @app.get("/api/recertification/extraction", endpoint="api_review_export")
    def api_review_export():
        if not admin():
            return refused()
        text = export_csv(conn(), with_permissions=export_has_permissions(s))
        name = f"portail-utilisateurs-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.csv"
        return Response(text.encode("utf-8"), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.post("/api/recertification/demandes", endpoint="api_review_request")
    def api_review_request():
        if not admin():
            return refused()
        body = request.get_json(silent=True) or {}
        f = {"requester": str(body.get("demandeur", "")).strip(),
             "requester_email": str(body.get("courriel", "")).strip(), "reason": str(body.get("motif", "")).strip()}
        if not f["requester"] or not f["reason"] or not EMAIL_RE.match(f["requester_email"]):
            return jsonify({"erreurs": ["Demandeur, courriel de réception et motif sont obligatoires."]}), 422
        c = conn()
        reference = file_request(c, s, ctx.send_mail, f,
                                 attachment=("csv", export_csv(c, with_permissions=True)), log=app.logger)
        return jsonify({"demande": {"reference": reference}}), 201

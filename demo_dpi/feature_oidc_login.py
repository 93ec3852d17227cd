"""Professionals sign in through the hospital's OpenID Connect provider (SSI/IAM.80, web mode).

The DPI is a relying party (confidential client): authorization-code flow with PKCE (S256), state and
nonce; the code is exchanged at the token endpoint (client_secret_basic) and the ID token is checked
before any session opens: RS256 signature against the provider's JWKS, issuer, audience (this DPI's
client id), expiry, nonce. The account is the one whose login is the token's ``preferred_username``.

Configured by the environment of the demo_dpi process (``demo_dpi.stack`` sets it with ``with_oidc``):
``DEMO_DPI_OIDC_ISSUER``, ``DEMO_DPI_OIDC_CLIENT_ID``, ``DEMO_DPI_OIDC_CLIENT_SECRET``.

Screens: ``/connexion`` (sign-in page with the provider's button), ``/moi`` (the session: account,
roles and the ID token claims the DPI used), ``/deconnexion``.

Defect ``SSI/IAM.80``: the audience of the ID token is not checked (a token issued for another
application opens a session).
"""
from __future__ import annotations

import json
import os
import secrets
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import redirect, request, session, url_for

from . import iam
from .oidc_client import InvalidToken, RelyingParty, fmt_time, pkce_pair

DEFECT = "SSI/IAM.80"

LOGIN = """<h1>Connexion des professionnels</h1>
{% if user %}<p>Vous êtes connecté(e) : <a href="{{ url_for('oidc_me') }}">{{ user.name }}</a>.</p>{% endif %}
{% if conf %}<p>Connectez-vous avec votre compte de l'établissement :</p>
<p><a id="oidc-login" href="{{ url_for('oidc_login') }}"><button type="button">Se connecter avec le fournisseur d'identité de l'établissement</button></a></p>
<p style="font-size:13px;color:#4a5a6a">Fournisseur d'identité : {{ conf.issuer }} (OpenID Connect)</p>
{% else %}<p>Aucun fournisseur d'identité n'est configuré.</p>{% endif %}"""

ERROR = """<h1>Connexion refusée</h1>
<div class="flash error" data-testid="login-error"><span class="badge err">Connexion refusée</span> {{ reason }}</div>
<p><a href="{{ url_for('oidc_start') }}">Revenir à la page de connexion</a></p>"""

ME = """<h1>Mon espace — session ouverte</h1>
<div class="flash info" data-testid="session-user"><span class="badge ok">Connecté(e)</span> {{ a.prenom }} {{ a.nom }} (compte n° {{ a.id }}, identifiant {{ u.login }})</div>
<h2 style="font-size:17px">Éléments du jeton d'identité utilisés par le DPI</h2>
<table id="claims"><thead><tr><th>Élément</th><th>Valeur</th><th>Usage</th></tr></thead><tbody>
{% for name, value, use in claims %}<tr data-claim="{{ name }}"><td>{{ name }}</td><td>{{ value }}</td><td>{{ use }}</td></tr>{% endfor %}
</tbody></table>
<h2 style="font-size:17px;margin-top:18px">Rôles du compte</h2>
<p data-testid="session-roles">{{ roles or 'aucun' }}</p>
<p><a href="{{ url_for('oidc_logout') }}">Se déconnecter</a></p>"""


def config() -> dict | None:
    issuer = os.environ.get("DEMO_DPI_OIDC_ISSUER")
    if not issuer:
        return None
    return {"issuer": issuer.rstrip("/"), "client_id": os.environ.get("DEMO_DPI_OIDC_CLIENT_ID", "demo-dpi"),
            "client_secret": os.environ.get("DEMO_DPI_OIDC_CLIENT_SECRET", "")}


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        iam.init(c)
    conf = config()
    s = ctx.settings
    rp = RelyingParty(conf["issuer"], conf["client_id"], conf["client_secret"]) if conf else None

    def redirect_uri() -> str:
        return f"{s.public_url.rstrip('/')}/oidc/callback"

    def refuse(reason: str, status: int = 401):
        session.pop("oidc", None)
        app.logger.warning("OIDC sign-in refused: %s", reason)
        return ctx.page("Connexion refusée", ERROR, status, reason=reason)

    @app.get("/connexion", endpoint="oidc_start")
    def oidc_start():
        return ctx.page("Connexion", LOGIN, conf=conf, user=session.get("user"))

    @app.get("/oidc/login", endpoint="oidc_login")
    def oidc_login():
        if conf is None:
            return refuse("aucun fournisseur d'identité n'est configuré", 404)
        meta = rp.metadata()
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        session["oidc"] = {"state": state, "nonce": nonce, "verifier": verifier, "at": time.time()}
        params = {"response_type": "code", "client_id": conf["client_id"], "redirect_uri": redirect_uri(),
                  "scope": "openid profile email", "state": state, "nonce": nonce, "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        return redirect(f"{meta['authorization_endpoint']}?{urlencode(params)}")

    @app.get("/oidc/callback", endpoint="oidc_callback")
    def oidc_callback():
        pending = session.get("oidc")
        if not pending or not secrets.compare_digest(request.args.get("state", ""), pending["state"]):
            return refuse("réponse du fournisseur d'identité inattendue (paramètre state invalide)")
        if request.args.get("error"):
            return refuse(f"le fournisseur d'identité a répondu : {request.args.get('error')}")
        status, answer = rp.exchange_code(request.args.get("code", ""), redirect_uri(), pending["verifier"])
        if status != 200 or "id_token" not in answer:
            return refuse(f"échange du code refusé par le fournisseur d'identité ({status})")
        try:
            claims, header = rp.validate_id_token(answer["id_token"], nonce=pending["nonce"],
                                                  check_audience=DEFECT not in s.defects)
        except InvalidToken as exc:
            return refuse(exc.reason)
        c = ctx.conn()
        p = c.execute("SELECT * FROM account_profile WHERE login=?", (claims.get("preferred_username", ""),)).fetchone()
        if p is None or not p["active"]:
            return refuse(f"aucun compte actif pour l'identifiant {claims.get('preferred_username', '?')}", 403)
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        c.execute("UPDATE account_profile SET last_login_at=? WHERE account_id=?", (now, p["account_id"]))
        aud = claims.get("aud")
        used = [("iss", claims.get("iss"), "émetteur attendu"),
                ("aud", ", ".join(aud) if isinstance(aud, list) else aud, "destinataire : ce DPI"),
                ("sub", claims.get("sub"), "identifiant de la personne chez le fournisseur"),
                ("preferred_username", claims.get("preferred_username"), "rattachement au compte du DPI"),
                ("name", claims.get("name"), "affichage"), ("email", claims.get("email"), "affichage"),
                ("auth_time", fmt_time(claims.get("auth_time")), "moment de l'authentification"),
                ("exp", fmt_time(claims.get("exp")), "fin de validité du jeton"),
                ("nonce", "identique à celui de la demande", "protection contre le rejeu"),
                ("signature", f"{header.get('alg')} (clé {header.get('kid')}, publiée dans le JWKS)",
                 "vérifiée avant l'ouverture de la session")]
        session.pop("oidc", None)
        session["user"] = {"account_id": p["account_id"], "login": p["login"], "name": claims.get("name", ""),
                           "claims": json.loads(json.dumps(used, default=str))}
        return redirect(url_for("oidc_me"))

    @app.get("/moi", endpoint="oidc_me")
    def oidc_me():
        u = session.get("user")
        if not u:
            return redirect(url_for("oidc_start"))
        c = ctx.conn()
        a = c.execute("SELECT * FROM accounts WHERE id=?", (u["account_id"],)).fetchone()
        roles = ", ".join(r["label"] for r in c.execute(
            "SELECT ro.label FROM account_roles ar JOIN roles ro ON ro.code=ar.role_code WHERE ar.account_id=? "
            "ORDER BY ro.code", (u["account_id"],)))
        return ctx.page("Mon espace", ME, a=a, u=u, claims=u["claims"], roles=roles)

    @app.get("/deconnexion", endpoint="oidc_logout")
    def oidc_logout():
        session.pop("user", None)
        return redirect(url_for("oidc_start"))

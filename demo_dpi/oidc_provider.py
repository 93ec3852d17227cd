"""A small but real OpenID Connect provider for the demo (the hospital's identity provider, not PSC).

Built on Authlib's Flask OAuth 2.0 / OpenID Connect server: authorization-code flow with PKCE (S256
required), nonce, discovery document (``/.well-known/openid-configuration``), ID tokens signed RS256
with a key published in the JWKS (``/jwks``), a userinfo endpoint. One relying party is registered:
the demo DPI (``DEMO_OIDC_CLIENT_ID`` / ``DEMO_OIDC_CLIENT_SECRET``, its redirect URI on the command
line). Test professionals sign in with the password of ``$DEMO_OIDC_USER_PASSWORD``.

Test switch (for conformity tests, protected by HTTP Basic ``admin`` / ``$DEMO_OIDC_ADMIN_PASSWORD``):
``POST /test/next-id-token`` with ``aud=…`` makes the *next* ID token carry that audience instead of the
client's id, so a test can check that the relying party refuses a token issued for someone else.

``python -m demo_dpi.oidc_provider --port 8768 --redirect-uri http://127.0.0.1:8765/oidc/callback``
"""
from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, render_template_string, request

USERS = {
    # login: claims (the DPI matches preferred_username with its accounts' logins)
    "smartindemo": {"sub": "hopital-demo:0002", "given_name": "Sophie", "family_name": "MARTINDEMO",
                    "name": "Sophie MARTINDEMO", "email": "sophie.martindemo@demo-dpi.test",
                    "preferred_username": "smartindemo"},
    "lmoreaudemo": {"sub": "hopital-demo:0005", "given_name": "Lucas", "family_name": "MOREAUDEMO",
                    "name": "Lucas MOREAUDEMO", "email": "lucas.moreaudemo@demo-dpi.test",
                    "preferred_username": "lmoreaudemo"},
}

LOGIN = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Fournisseur d'identité — connexion</title>
<style>body{font-family:"DejaVu Sans",Arial,sans-serif;background:#eef1f4;margin:0;color:#1c2833}
header{background:#2d3e50;color:#fff;padding:12px 24px;font-weight:bold}
main{max-width:460px;margin:40px auto;background:#fff;padding:24px 28px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
label{display:block;margin-top:12px;font-size:14px}input{width:100%;padding:7px;font-size:14px;box-sizing:border-box}
button{margin-top:18px;background:#2d3e50;color:#fff;border:0;padding:9px 18px;border-radius:4px;font-size:14px}
.client{font-size:13px;color:#4a5a6a}.error{background:#fbdada;border:1px solid #d35a5a;padding:8px;margin-top:10px}</style></head>
<body><header>Fournisseur d'identité de l'Hôpital de démonstration (OpenID Connect)</header><main>
<h1 style="font-size:19px;margin-top:0">Connexion</h1>
<p class="client" data-testid="client">Application demandeuse : <b>{{ client_id }}</b> — informations demandées : {{ scope }}</p>
{% if error %}<div class="error">{{ error }}</div>{% endif %}
<form method="post" id="idp-login">
<label for="idp-username">Identifiant</label><input id="idp-username" name="username" autocomplete="username" required>
<label for="idp-password">Mot de passe</label><input id="idp-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="idp-submit">Se connecter</button></form></main></body></html>"""


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = "openid profile email"

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        allowed = set(self.scope.split())
        return " ".join(s for s in (scope or "").split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(self.client_secret, client_secret or "")

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))
    expires_at: float = field(default_factory=lambda: time.time() + 300)

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return ["pwd"]


@dataclass
class User:
    login: str

    def get_user_id(self):
        return USERS[self.login]["sub"]


def create_app(*, issuer: str, client: Client, user_password: str, admin_password: str) -> Flask:
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.rfc6749 import grants
    from authlib.oauth2.rfc7636 import CodeChallenge
    from authlib.oidc.core import UserInfo
    from authlib.oidc.core.grants import OpenIDCode
    from joserfc.jwk import RSAKey

    # The demo runs on loopback over plain HTTP; Authlib refuses that unless told it is intended.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    # browsers share cookies between ports of 127.0.0.1: never overwrite the DPI's "session" cookie
    app.config["SESSION_COOKIE_NAME"] = "idp_session"
    key = RSAKey.generate_key(2048, parameters={"kid": f"demo-idp-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"})
    codes: dict[str, AuthorizationCode] = {}
    tokens: dict[str, dict] = {}
    lock = threading.Lock()
    test_switch: dict[str, str] = {}

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, req):
            with lock:
                codes[code] = AuthorizationCode(
                    code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                    scope=req.payload.scope, user=req.user.login, nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"))

        def query_authorization_code(self, code, client):
            item = codes.get(code)
            if item and item.client_id == client.client_id and item.expires_at > time.time():
                return item
            return None

        def delete_authorization_code(self, authorization_code):
            with lock:
                codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return User(authorization_code.user)

    class IdToken(OpenIDCode):
        def exists_nonce(self, nonce, req):
            return any(c.nonce == nonce and c.client_id == req.payload.client_id for c in codes.values())

        def resolve_client_private_key(self, client_):
            return key

        def get_client_algorithm(self, client_):
            return "RS256"

        def get_encode_header(self, client_):
            return {"alg": "RS256", "kid": key.kid, "typ": "JWT"}

        def get_client_claims(self, client_):
            now = int(time.time())
            with lock:
                aud = test_switch.pop("aud", None)
            return {"iss": issuer, "aud": [aud or client_.client_id], "exp": now + 300, "iat": now}

        def generate_user_info(self, user, scope):
            claims = USERS[user.login]
            info = UserInfo(sub=claims["sub"])
            if "profile" in scope:
                info.update({k: claims[k] for k in ("name", "given_name", "family_name", "preferred_username")})
            if "email" in scope:
                info.update(email=claims["email"], email_verified=True)
            return info

    def save_token(token, req):
        with lock:
            tokens[token["access_token"]] = {"user": req.user.login, "scope": token.get("scope", ""),
                                              "expires_at": time.time() + token.get("expires_in", 3600)}

    server = AuthorizationServer(app, query_client=lambda cid: client if cid == client.client_id else None,
                                 save_token=save_token)
    server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=True)])

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify({
            "issuer": issuer, "authorization_endpoint": f"{issuer}/authorize", "token_endpoint": f"{issuer}/token",
            "userinfo_endpoint": f"{issuer}/userinfo", "jwks_uri": f"{issuer}/jwks",
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"], "scopes_supported": ["openid", "profile", "email"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name", "given_name",
                                 "family_name", "preferred_username", "email", "email_verified"]})

    @app.get("/jwks")
    def jwks():
        return jsonify({"keys": [key.as_dict(private=False)]})

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize():
        from authlib.oauth2 import OAuth2Error

        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        scope = grant.request.payload.scope
        if request.method == "GET":
            return render_template_string(LOGIN, client_id=client.client_id, scope=scope, error="")
        login = request.form.get("username", "")
        ok = login in USERS and secrets.compare_digest(request.form.get("password", ""), user_password)
        if not ok:
            return render_template_string(LOGIN, client_id=client.client_id, scope=scope,
                                          error="Identifiant ou mot de passe incorrect."), 401
        return server.create_authorization_response(grant_user=User(login))

    @app.post("/token")
    def token():
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo():
        auth = request.headers.get("Authorization", "")
        entry = tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if entry is None or entry["expires_at"] < time.time():
            return jsonify({"error": "invalid_token"}), 401
        claims = USERS[entry["user"]]
        return jsonify({k: v for k, v in claims.items()})

    @app.post("/test/next-id-token")
    def next_id_token():
        auth = request.authorization
        if auth is None or auth.username != "admin" or not secrets.compare_digest(auth.password or "", admin_password):
            return jsonify({"error": "unauthorized"}), 401
        aud = (request.form.get("aud") or (request.get_json(silent=True) or {}).get("aud") or "").strip()
        if not aud:
            return jsonify({"error": "aud expected"}), 400
        with lock:
            test_switch["aud"] = aud
        return jsonify({"next_id_token": {"aud": [aud]}, "remarque": "ne vaut que pour le prochain jeton d'identité"})

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "issuer": issuer}

    return app


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.oidc_provider", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8768)
    ap.add_argument("--redirect-uri", required=True, action="append", help="the DPI's redirect URI")
    args = ap.parse_args(argv)
    needed = {v: os.environ.get(v) for v in ("DEMO_OIDC_CLIENT_SECRET", "DEMO_OIDC_USER_PASSWORD",
                                              "DEMO_OIDC_ADMIN_PASSWORD")}
    missing = [k for k, v in needed.items() if not v]
    if missing:
        print(f"error: environment variable {missing[0]} is unset; expected a secret", file=sys.stderr)
        return 2
    issuer = f"http://{args.host}:{args.port}"
    client = Client(os.environ.get("DEMO_OIDC_CLIENT_ID", "demo-dpi"), needed["DEMO_OIDC_CLIENT_SECRET"],
                    args.redirect_uri)
    app = create_app(issuer=issuer, client=client, user_password=needed["DEMO_OIDC_USER_PASSWORD"],
                     admin_password=needed["DEMO_OIDC_ADMIN_PASSWORD"])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"OIDC provider on {issuer} (client {client.client_id})", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

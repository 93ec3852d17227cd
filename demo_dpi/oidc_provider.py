"""A small but real OpenID Connect provider for the demo (the hospital's identity provider, not PSC).

Built on Authlib's Flask OAuth 2.0 / OpenID Connect server: authorization-code flow with PKCE (S256
required), nonce, discovery document (``/.well-known/openid-configuration``), ID tokens signed RS256
with a key published in the JWKS (``/jwks``), a userinfo endpoint. One relying party is registered:
the demo DPI (``DEMO_OIDC_CLIENT_ID`` / ``DEMO_OIDC_CLIENT_SECRET``, its redirect URI on the command
line). Test professionals sign in with the password of ``$DEMO_OIDC_USER_PASSWORD``.

Test switch (for conformity tests, protected by HTTP Basic ``admin`` / ``$DEMO_OIDC_ADMIN_PASSWORD``):
``POST /test/next-id-token`` with ``aud=…`` makes the *next* ID token carry that audience instead of the
client's id, so a test can check that the relying party refuses a token issued for someone else.

The provider itself is generic: :func:`create_app` serves any :class:`Profile` (users, claims, endpoint
paths, eIDAS levels, single sign-on and logout). ``demo_dpi.psc_provider`` is the same server with the
Pro Santé Connect profile.

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
from urllib.parse import urlencode, urlsplit

from flask import Flask, jsonify, redirect, render_template_string, request, session

USERS = {
    # login: claims (the DPI matches preferred_username with its accounts' logins)
    "smartindemo": {"sub": "hopital-demo:0002", "given_name": "Sophie", "family_name": "MARTINDEMO",
                    "name": "Sophie MARTINDEMO", "email": "sophie.martindemo@demo-dpi.test",
                    "preferred_username": "smartindemo"},
    "lmoreaudemo": {"sub": "hopital-demo:0005", "given_name": "Lucas", "family_name": "MOREAUDEMO",
                    "name": "Lucas MOREAUDEMO", "email": "lucas.moreaudemo@demo-dpi.test",
                    "preferred_username": "lmoreaudemo"},
}

LOGIN = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ p.title }} — connexion</title>
<style>body{font-family:"DejaVu Sans",Arial,sans-serif;background:#eef1f4;margin:0;color:#1c2833}
header{background:{{ p.colour }};color:#fff;padding:12px 24px;font-weight:bold}
main{max-width:480px;margin:40px auto;background:#fff;padding:24px 28px;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}
label{display:block;margin-top:12px;font-size:14px}input{width:100%;padding:7px;font-size:14px;box-sizing:border-box}
button{margin-top:18px;background:{{ p.colour }};color:#fff;border:0;padding:9px 18px;border-radius:4px;font-size:14px}
.client{font-size:13px;color:#4a5a6a}.note{font-size:12px;color:#6a7a8a;margin-top:14px}
.error{background:#fbdada;border:1px solid #d35a5a;padding:8px;margin-top:10px}</style></head>
<body><header>{{ p.title }}</header><main>
<h1 style="font-size:19px;margin-top:0">{{ p.heading }}</h1>
<p class="client" data-testid="client">Application demandeuse : <b>{{ client_id }}</b> — informations demandées : {{ scope }}{% if acr %} — niveau demandé : <b data-testid="acr-requested">{{ acr }}</b>{% endif %}</p>
{% if error %}<div class="error">{{ error }}</div>{% endif %}
<form method="post" id="idp-login">
<label for="idp-username">{{ p.login_labels[0] }}</label><input id="idp-username" name="username" autocomplete="username" required>
<label for="idp-password">{{ p.login_labels[1] }}</label><input id="idp-password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="idp-submit">Se connecter</button></form>
{% if p.note %}<p class="note">{{ p.note }}</p>{% endif %}</main></body></html>"""

LOGGED_OUT = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{{ p.title }} — déconnexion</title></head>
<body style="font-family:'DejaVu Sans',Arial,sans-serif"><h1 style="font-size:19px">{{ p.title }}</h1>
<p data-testid="idp-logged-out">Votre session a pris fin.</p></body></html>"""


class Profile:
    """What distinguishes one identity provider from another on the same Authlib server.

    Subclass it and override what differs: the users and the claims they get, the endpoint paths, the
    scopes, the authentication levels (``acr``), single sign-on and the end-session endpoint."""

    title = "Fournisseur d'identité de l'Hôpital de démonstration (OpenID Connect)"
    heading = "Connexion"
    colour = "#2d3e50"
    note = ""
    login_labels = ("Identifiant", "Mot de passe")
    users: dict[str, dict] = USERS
    session_cookie = "idp_session"       # browsers share cookies between ports of 127.0.0.1
    discovery_path = "/.well-known/openid-configuration"
    # endpoint name in the discovery document → path on this server (None: not offered)
    paths: dict[str, str | None] = {"authorization_endpoint": "/authorize", "token_endpoint": "/token",
                                    "userinfo_endpoint": "/userinfo", "jwks_uri": "/jwks",
                                    "end_session_endpoint": None, "introspection_endpoint": None}
    scopes_supported: tuple[str, ...] = ("openid", "profile", "email")
    claims_supported: tuple[str, ...] = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "name",
                                         "given_name", "family_name", "preferred_username", "email",
                                         "email_verified")
    acr_values_supported: tuple[str, ...] = ()
    require_pkce = True
    single_sign_on = False               # keep a session at the provider (silent sign-in, end-session)
    token_lifetime_s = 3600

    def subject(self, login: str) -> str:
        return self.users[login]["sub"]

    def id_token_claims(self, login: str, scope: str) -> dict:
        """The user's claims the ID token carries (besides iss, aud, exp, iat, nonce, acr …)."""
        claims = self.users[login]
        out = {}
        if "profile" in scope:
            out.update({k: claims[k] for k in ("name", "given_name", "family_name", "preferred_username")})
        if "email" in scope:
            out.update(email=claims["email"], email_verified=True)
        return out

    def userinfo(self, login: str, scope: str) -> dict:
        return dict(self.users[login])

    def acr(self, requested: str) -> str | None:
        """The level the provider authenticates at, given the ``acr_values`` requested (None: no acr)."""
        return None


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scope: str = "openid profile email"
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    # a resource server (e.g. the DMP) that may only introspect tokens: it never signs users in
    introspection_only: bool = False

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
        return response_type == "code" and not self.introspection_only

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code" and not self.introspection_only


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
    acr: str | None = None
    sub: str | None = None               # the subject issued (the test switch may change it)
    aud: str | None = None               # the audience issued (the test switch may change it)
    sid: str = ""                        # the provider's session this code belongs to
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
        return self.acr

    def get_amr(self):
        return ["pwd"]


@dataclass
class User:
    login: str
    sub: str = ""
    code: AuthorizationCode | None = None

    def get_user_id(self):
        return self.sub


def _basic_auth_ok(expected_user: str, expected_password: str) -> bool:
    auth = request.authorization
    return bool(auth is not None and auth.username == expected_user
                and secrets.compare_digest(auth.password or "", expected_password))


def create_app(*, issuer: str, clients: list[Client] | Client, user_password: str, admin_password: str,
               profile: Profile | None = None) -> Flask:
    from authlib.integrations.flask_oauth2 import AuthorizationServer
    from authlib.oauth2.rfc6749 import grants
    from authlib.oauth2.rfc7636 import CodeChallenge
    from authlib.oidc.core import UserInfo
    from authlib.oidc.core.grants import OpenIDCode
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import RSAKey

    profile = profile or Profile()
    clients = [clients] if isinstance(clients, Client) else list(clients)
    by_id = {c.client_id: c for c in clients}
    # The demo runs on loopback over plain HTTP; Authlib refuses that unless told it is intended.
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    # browsers share cookies between ports of 127.0.0.1: never overwrite another server's session cookie
    app.config["SESSION_COOKIE_NAME"] = profile.session_cookie
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": profile.token_lifetime_s}
    key = RSAKey.generate_key(2048, parameters={"kid": f"demo-idp-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"})
    codes: dict[str, AuthorizationCode] = {}
    tokens: dict[str, dict] = {}
    ended_sessions: set[str] = set()
    lock = threading.Lock()
    # test switch: login ('' = any) → what the next authorization of that login carries instead
    pending: dict[str, dict[str, str]] = {}

    def path(name: str) -> str | None:
        return profile.paths.get(name)

    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"

    def url(name: str) -> str | None:
        p = path(name)
        return None if p is None else origin + p

    class CodeGrant(grants.AuthorizationCodeGrant):
        TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_authorization_code(self, code, req):
            user: User = req.user
            with lock:
                override = pending.pop(user.login, None) or pending.pop("", None) or {}
            item = AuthorizationCode(
                code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                scope=req.payload.scope, user=user.login, nonce=req.payload.data.get("nonce"),
                code_challenge=req.payload.data.get("code_challenge"),
                code_challenge_method=req.payload.data.get("code_challenge_method"),
                acr=override.get("acr", profile.acr(req.payload.data.get("acr_values", ""))),
                sub=override.get("sub") or profile.subject(user.login), aud=override.get("aud"),
                sid=session.get("sid", ""))
            with lock:
                codes[code] = item

        def query_authorization_code(self, code, client):
            item = codes.get(code)
            if item and item.client_id == client.client_id and item.expires_at > time.time():
                return item
            return None

        def delete_authorization_code(self, authorization_code):
            with lock:
                codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code):
            return User(authorization_code.user, authorization_code.sub, authorization_code)

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
            return {"iss": issuer, "aud": [client_.client_id], "exp": now + 300, "iat": now}

        def get_compatible_claims(self, req):
            claims = super().get_compatible_claims(req)
            code = req.authorization_code
            if code is not None and code.aud:   # the test switch's audience, decided when the code was issued
                claims["aud"] = [code.aud]
            return claims

        def generate_user_info(self, user, scope):
            info = UserInfo(sub=user.sub)
            info.update(profile.id_token_claims(user.login, scope))
            return info

    def save_token(token, req):
        code: AuthorizationCode | None = req.user.code
        with lock:
            tokens[token["access_token"]] = {
                "user": req.user.login, "sub": req.user.sub, "scope": token.get("scope", ""),
                "client_id": req.client.client_id, "acr": code.acr if code else None,
                "sid": code.sid if code else "", "iat": int(time.time()),
                "expires_at": time.time() + token.get("expires_in", profile.token_lifetime_s)}

    def query_client(cid):
        return by_id.get(cid)

    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(CodeGrant, [IdToken(require_nonce=True), CodeChallenge(required=profile.require_pkce)])

    def token_entry(value: str) -> dict | None:
        entry = tokens.get(value)
        if entry is None or entry["expires_at"] < time.time() or entry["sid"] in ended_sessions:
            return None
        return entry

    @app.get(profile.discovery_path)
    def discovery():
        doc = {"issuer": issuer}
        doc.update({name: url(name) for name in profile.paths if url(name)})
        doc.update({
            "response_types_supported": ["code"], "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"], "scopes_supported": list(profile.scopes_supported),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "claims_supported": list(profile.claims_supported)})
        if profile.acr_values_supported:
            doc["acr_values_supported"] = list(profile.acr_values_supported)
        return jsonify(doc)

    @app.get(path("jwks_uri"))
    def jwks():
        return jsonify({"keys": [key.as_dict(private=False)]})

    def render_login(scope: str, client_id: str, error: str = "", status: int = 200):
        acr = request.values.get("acr_values", "")
        return render_template_string(LOGIN, p=profile, client_id=client_id, scope=scope, acr=acr,
                                      error=error), status

    @app.route(path("authorization_endpoint"), methods=["GET", "POST"])
    def authorize():
        from authlib.oauth2 import OAuth2Error

        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return server.handle_error_response(None, error)
        scope, client_id = grant.request.payload.scope, grant.request.payload.client_id
        sso = session.get("sso") if profile.single_sign_on else None
        if request.method == "GET":
            if sso and sso.get("login") in profile.users and sso.get("sid") not in ended_sessions:
                # an open session at the provider: the user is signed in again without a prompt
                return server.create_authorization_response(grant_user=User(sso["login"]))
            return render_login(scope, client_id)
        login = request.form.get("username", "").strip()
        ok = login in profile.users and secrets.compare_digest(request.form.get("password", ""), user_password)
        if not ok:
            return render_login(scope, client_id, "Identifiant ou code incorrect.", 401)
        if profile.single_sign_on:
            session["sso"] = {"login": login, "sid": secrets.token_urlsafe(12), "at": int(time.time())}
            session["sid"] = session["sso"]["sid"]
        return server.create_authorization_response(grant_user=User(login))

    @app.post(path("token_endpoint"))
    def token():
        return server.create_token_response()

    @app.route(path("userinfo_endpoint"), methods=["GET", "POST"])
    def userinfo():
        auth = request.headers.get("Authorization", "")
        entry = token_entry(auth[7:]) if auth.startswith("Bearer ") else None
        if entry is None:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify({**profile.userinfo(entry["user"], entry["scope"]), "sub": entry["sub"]})

    if path("introspection_endpoint"):
        @app.post(path("introspection_endpoint"))
        def introspect():
            """RFC 7662: a registered client (e.g. a resource server) asks whether an access token is active."""
            auth = request.authorization
            client = by_id.get(auth.username if auth else "")
            if client is None or not client.check_client_secret(auth.password if auth else ""):
                return jsonify({"error": "invalid_client"}), 401
            entry = token_entry(request.form.get("token", ""))
            if entry is None:
                return jsonify({"active": False})
            return jsonify({"active": True, "iss": issuer, "sub": entry["sub"], "client_id": entry["client_id"],
                            "scope": entry["scope"], "acr": entry["acr"], "iat": entry["iat"],
                            "exp": int(entry["expires_at"]), "token_type": "Bearer",
                            "preferred_username": profile.userinfo(entry["user"], "").get("preferred_username")})

    if path("end_session_endpoint"):
        @app.route(path("end_session_endpoint"), methods=["GET", "POST"])
        def end_session():
            """RP-initiated logout: the provider's session ends, then back to the registered URI."""
            hint = request.values.get("id_token_hint", "")
            back = request.values.get("post_logout_redirect_uri", "")
            client = None
            if hint:
                try:
                    claims = jwt.decode(hint, key, algorithms=["RS256"]).claims
                except (JoseError, ValueError):
                    return jsonify({"error": "invalid id_token_hint"}), 400
                aud = claims.get("aud")
                client = by_id.get(aud[0] if isinstance(aud, list) and aud else aud or "")
            if back and (client is None or back not in client.post_logout_redirect_uris):
                return jsonify({"error": "post_logout_redirect_uri not registered for the client"}), 400
            sso = session.pop("sso", None)
            session.pop("sid", None)
            if sso:
                with lock:
                    ended_sessions.add(sso["sid"])
            if back:
                state = request.values.get("state")
                sep = "&" if "?" in back else "?"
                return redirect(back + (sep + urlencode({"state": state}) if state else ""))
            return render_template_string(LOGGED_OUT, p=profile)

    @app.post("/test/next-id-token")
    def next_id_token():
        if not _basic_auth_ok("admin", admin_password):
            return jsonify({"error": "unauthorized"}), 401
        values = dict(request.form) or (request.get_json(silent=True) or {})
        override = {k: str(values[k]).strip() for k in ("aud", "acr", "sub") if str(values.get(k, "")).strip()}
        if not override:
            return jsonify({"error": "aud, acr or sub expected"}), 400
        login = str(values.get("login", "")).strip()
        if login and login not in profile.users:
            return jsonify({"error": f"unknown login {login}"}), 400
        with lock:
            pending[login] = override
        shown = {k: ([v] if k == "aud" else v) for k, v in override.items()}
        return jsonify({"next_id_token": shown, "for": login or "any user",
                        "note": "applies to the next ID token only"})

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
    app = create_app(issuer=issuer, clients=[client], user_password=needed["DEMO_OIDC_USER_PASSWORD"],
                     admin_password=needed["DEMO_OIDC_ADMIN_PASSWORD"])
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"OIDC provider on {issuer} (client {client.client_id})", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

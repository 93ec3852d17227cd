"""The demo DPI as an OpenID Connect relying party: what its sign-in features share.

One :class:`RelyingParty` per provider (the hospital's, ``feature_oidc_login``; Pro Santé Connect,
``feature_psc_login``): discovery (the document's issuer must be the one configured), PKCE pair, state
and nonce, the code exchanged at the token endpoint (``client_secret_basic``), the ID token checked
before any session opens (RS256 signature against the provider's JWKS, issuer, audience, expiry,
nonce), the user-info request.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone

REASONS = {"aud": "audience incorrecte : le jeton n'est pas destiné à ce DPI",
           "iss": "émetteur inattendu", "nonce": "nonce différent de celui de la demande",
           "exp": "jeton expiré", "sub": "sujet absent"}


class InvalidToken(Exception):
    """The ID token was refused; ``reason`` says why, in French, for the user."""

    def __init__(self, reason: str, claim: str = ""):
        super().__init__(reason)
        self.reason, self.claim = reason, claim


def fmt_time(ts) -> str:
    try:
        return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return str(ts)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class RelyingParty:
    issuer: str
    client_id: str
    client_secret: str
    discovery_path: str = "/.well-known/openid-configuration"   # relative to the issuer
    timeout: float = 10.0
    _meta: dict = field(default_factory=dict, repr=False)

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + self.discovery_path

    def metadata(self) -> dict:
        import requests

        if not self._meta:
            r = requests.get(self.discovery_url, timeout=self.timeout)
            r.raise_for_status()
            meta = r.json()
            if meta.get("issuer") != self.issuer.rstrip("/"):
                raise ValueError("the discovery document names another issuer")
            self._meta.update(meta)
        return self._meta

    def exchange_code(self, code: str, redirect_uri: str, verifier: str | None = None):
        """The authorization code exchanged at the token endpoint: (HTTP status, JSON answer or {})."""
        import requests

        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if verifier:
            data["code_verifier"] = verifier
        r = requests.post(self.metadata()["token_endpoint"], auth=(self.client_id, self.client_secret),
                          data=data, timeout=self.timeout)
        try:
            body = r.json()
        except ValueError:
            body = {}
        return r.status_code, body

    def validate_id_token(self, id_token: str, *, nonce: str, check_audience: bool = True):
        """The ID token's (claims, header) once signature, issuer, nonce, subject, expiry and (unless told
        not to) audience are checked; :class:`InvalidToken` otherwise."""
        import requests
        from joserfc import jwt
        from joserfc.errors import JoseError
        from joserfc.jwk import KeySet

        jwks = requests.get(self.metadata()["jwks_uri"], timeout=self.timeout).json()
        try:
            token = jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=["RS256"])
            checks = {"iss": {"essential": True, "value": self.issuer.rstrip("/")},
                      "nonce": {"essential": True, "value": nonce},
                      "sub": {"essential": True}, "exp": {"essential": True}}
            if check_audience:
                checks["aud"] = {"essential": True, "value": self.client_id}
            jwt.JWTClaimsRegistry(leeway=30, **checks).validate(token.claims)
        except JoseError as exc:
            claim = getattr(exc, "claim", "")
            raise InvalidToken(f"jeton d'identité invalide ({REASONS.get(claim, type(exc).__name__)})", claim) from None
        return token.claims, token.header

    def userinfo(self, access_token: str) -> dict:
        import requests

        r = requests.get(self.metadata()["userinfo_endpoint"], timeout=self.timeout,
                         headers={"Authorization": f"Bearer {access_token}"})
        r.raise_for_status()
        return r.json()

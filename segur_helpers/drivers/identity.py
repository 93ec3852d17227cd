"""Sign-in through a third-party OpenID Connect provider (SSI/IAM.80, web mode).

Two sides:

* :class:`FederatedLogin`, a capability of the *product's* driver: start the product's "sign in with the
  identity provider" path in a fresh browser, sign in at the provider, come back; return the product's
  landing screen, whether a session opened, the ID-token claims the product says it used, and the
  chain of redirects the browser followed (codes and tokens masked, see :func:`mask_url`).
* :class:`IdentityProvider`, the hospital's provider as the toolkit reaches it: its discovery document
  and keys (real OIDC, any provider) and, for the negative test, a way to have it issue one ID token
  whose audience is another application (:meth:`IdentityProvider.issue_wrong_audience`), which a
  provider offers through a test switch or a second test client.
"""
from __future__ import annotations

import abc
import json
import re
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from ..errors import UserError
from .base import Capability, View

# the parameters the identity scenarios name explicitly; every one is masked by urlmask (with any other
# whose name says credential)
SENSITIVE_PARAMS = {"code", "id_token", "access_token", "refresh_token", "client_secret", "code_verifier",
                    "password", "session_state", "id_token_hint", "logout_token", "subject_token", "state"}
MASK = "[masqué]"


def mask_url(url: str) -> str:
    """The URL with the values of code, token, state… parameters (query and fragment) masked, the rest as it
    was (:func:`segur_helpers.urlmask.mask_urls`, which every artefact also goes through)."""
    from ..urlmask import mask_urls

    return mask_urls(url)


def query_params(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


@dataclass
class Hop:
    """One top-level navigation the browser made: request method and URL, response status and Location."""

    method: str
    url: str
    status: int
    location: str = ""

    def to_dict(self) -> dict:
        return {"méthode": self.method, "url": mask_url(self.url), "statut": self.status,
                "redirection vers": mask_url(self.location) if self.location else ""}


class NavigationRecorder:
    """Records the main frame's navigations of a Playwright page (the redirect chain)."""

    def __init__(self, page):
        self.page = page
        self.hops: list[Hop] = []
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        req = response.request
        if req.is_navigation_request() and req.frame == self.page.main_frame:
            self.hops.append(Hop(req.method, req.url, response.status, response.headers.get("location", "")))


@dataclass
class FederatedSession(View):
    """The product's screen after coming back from the provider. ``session_open``: the product says a
    session is open; ``claims``: the ID-token claims it shows it used (name → value); ``refused``: it
    says the sign-in was refused, with ``reason``; ``hops``: the redirect chain since the start."""

    session_open: bool = False
    claims: dict[str, str] = field(default_factory=dict)
    refused: bool = False
    reason: str = ""
    hops: list[Hop] = field(default_factory=list)


class FederatedLogin(Capability):
    @abc.abstractmethod
    async def start(self) -> View:
        """In a fresh browser context (no session), open the product's sign-in page and choose the
        identity provider; return the provider's sign-in page (highlight its form)."""

    @abc.abstractmethod
    async def sign_in(self, username: str, password: str) -> FederatedSession:
        """On the provider's page opened by :meth:`start`, sign in; return the product's screen."""


class IdentityProvider(abc.ABC):
    """The hospital's OpenID Connect provider (``data.identity_provider`` in the params)."""

    def __init__(self, conf: dict, *, secrets, where: str = "data.identity_provider"):
        if not conf.get("issuer"):
            raise UserError("missing issuer; expected the provider's issuer URL", key=f"{where}.issuer")
        self.issuer = str(conf["issuer"]).rstrip("/")
        self.conf, self.secrets, self.where = conf, secrets, where

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def get_json(self, url: str) -> tuple[dict, dict]:
        """GET a JSON document; returns (document, exchange record with request and response)."""
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = resp.read()
            headers = {k: v for k, v in resp.headers.items() if k.lower() in ("content-type", "cache-control")}
            status = resp.status
        doc = json.loads(body)
        return doc, {"request": {"method": "GET", "url": url},
                     "response": {"status": status, "headers": headers, "body": doc}}

    @abc.abstractmethod
    def issue_wrong_audience(self, audience: str) -> dict:
        """Have the provider issue the next ID token with ``audience`` instead of the product's client id;
        returns an exchange record (request/response, no credentials)."""


def identity_provider(conf: dict, *, secrets, where: str = "data.identity_provider") -> IdentityProvider:
    """The test switch of the campaign's identity provider: ``kind`` is a registered name (the
    ``segur.identity_providers`` entry points; this project registers ``demo``) or ``module:Class``."""
    from . import IDENTITY_PROVIDERS_GROUP, load_registered, registered

    kind = conf.get("kind", "demo")
    names = registered(IDENTITY_PROVIDERS_GROUP)
    target = names.get(kind, kind)
    if not re.fullmatch(r"[\w.]+:\w+", target):
        raise UserError(f"{kind!r}; expected {' or '.join(sorted(names)) or 'a registered name'} or module:Class",
                        key=f"{where}.kind")
    cls = load_registered(target, file=None, key=f"{where}.kind")
    if not (isinstance(cls, type) and issubclass(cls, IdentityProvider)):
        raise UserError(f"{target!r} is not a subclass of segur_helpers.drivers.identity.IdentityProvider",
                        key=f"{where}.kind")
    return cls(conf, secrets=secrets, where=where)

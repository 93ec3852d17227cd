"""A stand-in for Pro Santé Connect (PSC) in the demo: the generic Authlib provider of
``demo_dpi.oidc_provider`` with a PSC profile, in its own process on its own port.

It is *not* PSC. It plays PSC as ANS's public material describes it, so that a DPI's PSC sign-in can
be proven end to end against something real (a browser, signed tokens, sessions):

- authorization-code flow; the eIDAS level requested through ``acr_values`` and returned in the ID
  token's ``acr``; the national professional identifier and the professional's practice situations in
  the user-info claims (``SubjectNameID``, ``SubjectRefPro.exercices[].activities[]``,
  ``SubjectOrganization``, ``SubjectRole`` …); logout through the end-session endpoint
  (``id_token_hint``, ``post_logout_redirect_uri``); token introspection (RFC 7662) for a resource
  server such as the DMP;
- the endpoint layout of PSC's sandbox: issuer ``<origin>/auth/realms/esante-wallet``, discovery at
  ``<issuer>/.well-known/wallet-openid-configuration``, authorization at ``<origin>/auth``, the rest
  under ``<issuer>/protocol/openid-connect/`` (``token``, ``userinfo``, ``certs``, ``logout``,
  ``token/introspect``).

What PSC's public material confirms, and what is this demo's own default, is listed in the README
(section *Pro Santé Connect in the demo*). The test identities below are fictitious; their ``sub`` is
an opaque identifier of this demo, not PSC's format. Real PSC authenticates with a CPS card or the
e-CPS app; here a test professional types their national identifier and the test code
``$DEMO_PSC_USER_PASSWORD``.

Test switch (``POST /test/next-id-token``, HTTP Basic ``admin`` / ``$DEMO_PSC_ADMIN_PASSWORD``): the next
ID token issued (for ``login`` if given) carries another audience (``aud``), level (``acr``) or subject
(``sub``: a second PSC identity presenting the same national identifier).

``python -m demo_dpi.psc_provider --port 8770 --redirect-uri http://127.0.0.1:8765/psc/callback
--post-logout-redirect-uri http://127.0.0.1:8765/psc/deconnecte``
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from .oidc_provider import Client, Profile, create_app

REALM = "/auth/realms/esante-wallet"
OIDC = REALM + "/protocol/openid-connect"
DEFAULT_ACR = "eidas1"
STRUCTURE = {"name": "Centre hospitalier de démonstration", "finess": "990000016"}  # fictitious, as demo_dpi's


def _person(idnat: str, nom: str, prenom: str, civilite: str, profession: str, categorie: str = "C",
            savoir_faire: tuple[str, str] = ("", "")) -> dict:
    """The claims of a fictitious PSC test identity (national identifier ``idnat`` = 8 + RPPS)."""
    activity = {"codeModeExercice": "S", "codeSecteurDactivite": "SA01", "codeSectionPharmacien": "",
                "codeRole": "", "codeGenreActivite": "GENR01", "numeroSiretSite": "", "numeroSirenSite": "",
                "numeroFinessSite": STRUCTURE["finess"], "numeroFinessetablissementJuridique": "",
                "identifiantTechniqueDeLaStructure": "F" + STRUCTURE["finess"],
                "raisonSocialeSite": STRUCTURE["name"], "enseigneCommercialeSite": "",
                "codePostal": "75015", "codeCommune": "", "codePays": "99000",
                "ancienIdentifiantDeLaStructure": "1" + STRUCTURE["finess"]}
    return {
        "sub": f"psc-demo-{idnat}", "SubjectNameID": idnat, "preferred_username": idnat,
        "given_name": prenom, "family_name": nom,
        "SubjectOrganization": STRUCTURE["name"], "SubjectOrganizationID": "F" + STRUCTURE["finess"],
        "SubjectRole": [f"{profession}^1.2.250.1.213.1.1.5.5"],
        "Secteur_Activite": "SA01^1.2.250.1.71.4.2.4",
        "otherIds": [{"identifiant": idnat, "origine": "RPPS", "qualite": 1}],
        "SubjectRefPro": {"codeCivilite": civilite, "exercices": [{
            "codeProfession": profession, "codeCategorieProfessionnelle": categorie,
            "codeCiviliteDexercice": "DR" if profession in ("10", "21") else "",
            "nomDexercice": nom, "prenomDexercice": prenom, "codeTypeSavoirFaire": savoir_faire[0],
            "codeSavoirFaire": savoir_faire[1], "activities": [activity]}]},
    }


# login (the national identifier the professional types) → claims
USERS = {
    "810100000001": _person("810100000001", "MARTINDEMO", "Sophie", "MME", "10", savoir_faire=("S", "SM54")),
    "810100000002": _person("810100000002", "DURANDDEMO", "Paul", "M", "10", savoir_faire=("S", "SM54")),
    "810100000003": _person("810100000003", "LEROYDEMO", "Emma", "MME", "60"),
    "810100000004": _person("810100000004", "PETITDEMO", "Chloé", "MME", "21"),
    "810199999990": _person("810199999990", "INCONNUEDEMO", "Zoé", "MME", "10"),  # unknown to the demo DPI
}
USER_CLAIMS = ("SubjectNameID", "SubjectRefPro", "SubjectOrganization", "SubjectOrganizationID", "SubjectRole",
               "Secteur_Activite", "otherIds", "preferred_username", "given_name", "family_name")


class PscProfile(Profile):
    title = "Pro Santé Connect — fournisseur de démonstration (simulation, pas le service national)"
    heading = "Connexion avec Pro Santé Connect"
    colour = "#000091"
    note = ("Simulation : Pro Santé Connect authentifie par carte CPS ou par l'application e-CPS ; ce "
            "fournisseur de démonstration demande l'identifiant national de test et un code de test.")
    login_labels = ("Identifiant national (IdNat) de test", "Code e-CPS de test")
    users = USERS
    session_cookie = "psc_session"
    discovery_path = REALM + "/.well-known/wallet-openid-configuration"
    paths = {"authorization_endpoint": "/auth", "token_endpoint": OIDC + "/token",
             "userinfo_endpoint": OIDC + "/userinfo", "jwks_uri": OIDC + "/certs",
             "end_session_endpoint": OIDC + "/logout", "introspection_endpoint": OIDC + "/token/introspect"}
    scopes_supported = ("openid", "scope_all")
    claims_supported = ("sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", *USER_CLAIMS)
    acr_values_supported = (DEFAULT_ACR,)
    require_pkce = False                 # PSC offers PKCE (S256); the relying party chooses
    single_sign_on = True

    def __init__(self, default_acr: str = DEFAULT_ACR):
        self.default_acr = default_acr

    def id_token_claims(self, login, scope):
        c = self.users[login]
        return {k: c[k] for k in ("preferred_username", "given_name", "family_name")}

    def userinfo(self, login, scope):
        c = self.users[login]
        if "scope_all" not in (scope or "").split() and scope:
            return {"sub": c["sub"]}
        return {k: c[k] for k in ("sub", *USER_CLAIMS)}

    def acr(self, requested):
        asked = (requested or "").split()
        return next((a for a in asked if a in self.acr_values_supported), self.default_acr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m demo_dpi.psc_provider", description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8770)
    ap.add_argument("--redirect-uri", required=True, action="append", help="the DPI's redirect URI")
    ap.add_argument("--post-logout-redirect-uri", action="append", default=[],
                    help="where the end-session endpoint may send the browser back (the DPI's)")
    ap.add_argument("--default-acr", default=DEFAULT_ACR, help="level returned when none supported is requested")
    args = ap.parse_args(argv)
    needed = {v: os.environ.get(v) for v in ("DEMO_PSC_CLIENT_SECRET", "DEMO_PSC_USER_PASSWORD",
                                              "DEMO_PSC_ADMIN_PASSWORD")}
    missing = [k for k, v in needed.items() if not v]
    if missing:
        print(f"error: environment variable {missing[0]} is unset; expected a secret", file=sys.stderr)
        return 2
    origin = f"http://{args.host}:{args.port}"
    issuer = origin + REALM
    clients = [Client(os.environ.get("DEMO_PSC_CLIENT_ID", "demo-dpi-psc"), needed["DEMO_PSC_CLIENT_SECRET"],
                      args.redirect_uri, scope="openid scope_all",
                      post_logout_redirect_uris=args.post_logout_redirect_uri)]
    if os.environ.get("DEMO_PSC_RS_CLIENT_SECRET"):  # the DMP: introspects the tokens it is shown
        clients.append(Client(os.environ.get("DEMO_PSC_RS_CLIENT_ID", "demo-dmp"),
                              os.environ["DEMO_PSC_RS_CLIENT_SECRET"], [], scope="", introspection_only=True))
    app = create_app(issuer=issuer, clients=clients, user_password=needed["DEMO_PSC_USER_PASSWORD"],
                     admin_password=needed["DEMO_PSC_ADMIN_PASSWORD"], profile=PscProfile(args.default_acr))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"PSC stand-in on {origin} (issuer {issuer}, client {clients[0].client_id})", flush=True)
    app.run(host=args.host, port=args.port, threaded=True, use_reloader=False, debug=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())

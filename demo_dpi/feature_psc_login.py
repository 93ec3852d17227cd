"""Professionals sign in with Pro Santé Connect (PSC), in addition to the DPI's own sign-in (PSC.01, 02, 08,
DMP/PSC.01).

The DPI is a PSC relying party (web mode): authorization-code flow with PKCE (S256), state and nonce, the
eIDAS level it requires asked through ``acr_values``. Before a session opens it checks the ID token
(signature, issuer, audience, expiry, nonce), the level received in ``acr`` (at least the one required),
and the user-info's subject; the account is found from the national identifier ``SubjectNameID``
(``8`` + RPPS) through the reconciliation of accounts below. The professional's care screens then show
who is signed in and how; logging out ends the DPI's session and PSC's (end-session endpoint).

Reconciliation (PSC.02): a PSC identity (its ``sub``) is linked once to the local account holding the
RPPS number of its national identifier, at its first sign-in; a second PSC identity claiming an account
already linked is refused; a professional whose RPPS no local account holds is refused (the
administrator creates the account first). Links and refusals are listed for the administrator
(``/psc/rapprochements``), who may undo a link.

DMP under a PSC session (DMP/PSC.01): before calling the DMP, the DPI exchanges the professional's PSC
access token for a DMP access token at the DMP's authorization server (OAuth 2.0 token exchange, RFC
8693, as the CI-SIS volume on securing REST APIs describes it) and sends it as ``Authorization: Bearer``.

Configured by the environment of the demo_dpi process (``demo_dpi.stack`` sets it with ``with_psc``):
``DEMO_DPI_PSC_ISSUER``, ``DEMO_DPI_PSC_CLIENT_ID``, ``DEMO_DPI_PSC_CLIENT_SECRET`` and the settings
``DEMO_DPI_PSC_DISCOVERY_PATH`` (default ``/.well-known/wallet-openid-configuration``),
``DEMO_DPI_PSC_ACR`` (default ``eidas1``), ``DEMO_DPI_PSC_SCOPE`` (default ``openid scope_all``),
``DEMO_DPI_DMP_CLIENT_ID`` (the DPI's client id at the DMP's authorization server, default ``demo-dpi``).

Defects: ``PSC.08`` the ``acr`` received is not checked; ``PSC.01-audience`` the ID token's audience is not
checked; ``PSC.02`` a second PSC identity claiming a linked account is accepted (and linked too);
``PSC.01-logout`` logging out leaves the DPI's session open (only PSC's ends); ``DMP/PSC.01`` the DMP is
called without the professional's PSC identity (no token exchange).
"""
from __future__ import annotations

import html
import json
import os
import secrets
import threading
import time
from datetime import datetime, timezone
from urllib.parse import urlencode

from flask import has_request_context, redirect, request, session, url_for

from . import iam
from .oidc_client import InvalidToken, RelyingParty, fmt_time, pkce_pair

DEFECT_ACR = "PSC.08"
DEFECT_AUDIENCE = "PSC.01-audience"
DEFECT_SECOND_IDENTITY = "PSC.02"
DEFECT_LOGOUT = "PSC.01-logout"
DEFECT_DMP = "DMP/PSC.01"
EIDAS_LEVELS = ("eidas1", "eidas2", "eidas3")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
PROFESSIONS = {"10": "Médecin", "21": "Pharmacien", "40": "Chirurgien-dentiste", "50": "Sage-femme",
               "60": "Infirmier", "70": "Masseur-kinésithérapeute", "80": "Pédicure-podologue"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS psc_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    psc_sub TEXT NOT NULL UNIQUE,      -- the PSC identity
    idnat TEXT NOT NULL,               -- its national identifier (SubjectNameID)
    rpps TEXT NOT NULL,                -- the RPPS number the link was made by
    linked_at TEXT NOT NULL,
    how TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS psc_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,                -- rapprochement | connexion | refus | déconnexion | rapprochement défait
    account_id INTEGER, psc_sub TEXT, idnat TEXT, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS psc_sessions (
    sid TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL,
    psc_sub TEXT NOT NULL, idnat TEXT NOT NULL, acr TEXT,
    id_token TEXT NOT NULL, access_token TEXT NOT NULL,
    shown TEXT NOT NULL,               -- JSON: the claims and practice situations shown to the user
    started_at TEXT NOT NULL, ended_at TEXT,
    dmp_token TEXT, dmp_token_exp REAL
);
"""

OPTION = """<div id="psc-option" style="margin-top:22px;padding-top:14px;border-top:1px solid #dde3ea">
<p style="margin:0 0 8px">Ou identifiez-vous avec votre carte CPS ou l'application e-CPS :</p>
<a id="psc-login" href="/psc/login"><button type="button" style="background:#000091">Se connecter avec Pro Santé Connect</button></a>
<p style="font-size:12px;color:#4a5a6a">Fournisseur d'identité : Pro Santé Connect ({issuer}) — niveau demandé : {acr}</p></div>"""

ERROR = """<h1>Connexion refusée</h1>
<div class="flash error" data-testid="login-error" data-outcome="{{ outcome }}"><span class="badge err">Connexion refusée</span> {{ reason }}</div>
<p><a href="{{ url_for('care_login') }}">Revenir à la page de connexion</a></p>"""

ME = """<h1>Mon espace — session ouverte avec Pro Santé Connect</h1>
<section id="psc-session"><div class="flash info" data-testid="session-user"><span class="badge ok">Connecté(e)</span>
{{ a.prenom }} {{ a.nom }} — compte n° {{ a.id }}, n° RPPS {{ a.rpps }} —
<b data-testid="login-method">connecté(e) via Pro Santé Connect, niveau eIDAS {{ s.acr }}</b></div>
{% if link %}<div class="flash info" data-testid="reconciliation">
{% if new_link %}<b>Comptes rapprochés à cette connexion :</b> {% else %}Compte rapproché : {% endif %}
identité Pro Santé Connect {{ link.psc_sub }} (identifiant national {{ link.idnat }}) liée au compte n° {{ a.id }}
par son n° RPPS {{ link.rpps }}, le {{ link.linked_at }}.</div>{% endif %}
<h2 style="font-size:17px">Identité reçue de Pro Santé Connect et rapprochement</h2>
<table id="claims"><thead><tr><th>Élément</th><th>Valeur</th><th>Usage par le DPI</th></tr></thead><tbody>
{% for name, value, use in shown.claims %}<tr data-claim="{{ name }}"><td>{{ name }}</td><td>{{ value }}</td><td>{{ use }}</td></tr>{% endfor %}
</tbody></table>
<h2 style="font-size:17px;margin-top:18px">Situations d'exercice reçues (SubjectRefPro)</h2>
<table id="practice"><thead><tr><th>Profession</th><th>Catégorie</th><th>Savoir-faire</th><th>Structure</th><th>FINESS du site</th><th>Mode / secteur</th></tr></thead><tbody>
{% for x in shown.practice %}<tr><td>{{ x.profession }}</td><td>{{ x.category }}</td><td>{{ x.skill or '—' }}</td><td>{{ x.structure }}</td><td>{{ x.finess or '—' }}</td><td>{{ x.mode }}</td></tr>
{% else %}<tr><td colspan="6">Aucune situation d'exercice reçue.</td></tr>{% endfor %}</tbody></table></section>
<p style="margin-top:16px"><a href="{{ url_for('patients') }}" id="to-patients">Dossiers patients</a> ·
<a href="{{ url_for('psc_logout') }}" id="psc-logout">Se déconnecter (DPI et Pro Santé Connect)</a></p>"""

LOGGED_OUT = """<h1>Déconnexion</h1>
<div class="flash info" data-testid="logout-result">{{ message }}</div>
<p><a href="{{ url_for('care_login') }}" id="back-to-login">Revenir à la page de connexion</a></p>"""

LINKS = """<h1>Pro Santé Connect — rapprochement des comptes</h1>
<p>Chaque identité Pro Santé Connect est rapprochée, à sa première connexion, du compte local qui porte le n° RPPS
de son identifiant national ; un compte n'est rapproché que d'une seule identité.</p>
<table id="psc-links"><thead><tr><th>Compte</th><th>Professionnel</th><th>N° RPPS</th><th>Identité Pro Santé Connect (sub)</th><th>Identifiant national</th><th>Rapproché le</th><th>Mode</th><th></th></tr></thead><tbody>
{% for l in links %}<tr data-rpps="{{ l.rpps }}" data-sub="{{ l.psc_sub }}" data-link-id="{{ l.id }}"><td><a href="{{ url_for('account', account_id=l.account_id) }}">{{ l.account_id }}</a></td>
<td>{{ l.prenom }} {{ l.nom }}</td><td>{{ l.rpps }}</td><td>{{ l.psc_sub }}</td><td>{{ l.idnat }}</td><td>{{ l.linked_at }}</td><td>{{ l.how }}</td>
<td><form method="post" action="{{ url_for('psc_unlink', link_id=l.id) }}"><button type="submit" class="unlink">Défaire</button></form></td></tr>
{% else %}<tr><td colspan="8">Aucun compte rapproché.</td></tr>{% endfor %}</tbody></table>
<h2 style="font-size:17px;margin-top:18px">Journal</h2>
<table id="psc-events"><thead><tr><th>Date</th><th>Événement</th><th>Compte</th><th>Identité (sub)</th><th>Identifiant national</th><th>Détail</th></tr></thead><tbody>
{% for e in events %}<tr data-kind="{{ e.kind }}" data-sub="{{ e.psc_sub or '' }}" data-idnat="{{ e.idnat or '' }}"><td>{{ e.at }}</td><td>{{ e.kind }}</td><td>{{ e.account_id or '—' }}</td><td>{{ e.psc_sub or '—' }}</td><td>{{ e.idnat or '—' }}</td><td>{{ e.detail }}</td></tr>
{% else %}<tr><td colspan="6">Aucun événement.</td></tr>{% endfor %}</tbody></table>"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def config() -> dict | None:
    issuer = os.environ.get("DEMO_DPI_PSC_ISSUER")
    if not issuer:
        return None
    return {"issuer": issuer.rstrip("/"), "client_id": os.environ.get("DEMO_DPI_PSC_CLIENT_ID", "demo-dpi-psc"),
            "client_secret": os.environ.get("DEMO_DPI_PSC_CLIENT_SECRET", ""),
            "discovery_path": os.environ.get("DEMO_DPI_PSC_DISCOVERY_PATH", "/.well-known/wallet-openid-configuration"),
            "acr": os.environ.get("DEMO_DPI_PSC_ACR", "eidas1"),
            "scope": os.environ.get("DEMO_DPI_PSC_SCOPE", "openid scope_all"),
            "dmp_client_id": os.environ.get("DEMO_DPI_DMP_CLIENT_ID", "demo-dpi")}


def practice_situations(userinfo: dict) -> list[dict]:
    """The professional's practice situations (``SubjectRefPro.exercices[].activities[]``), flattened."""
    out = []
    for ex in ((userinfo.get("SubjectRefPro") or {}).get("exercices") or []):
        code = str(ex.get("codeProfession", ""))
        for act in ex.get("activities") or [{}]:
            out.append({"profession": f"{PROFESSIONS.get(code, 'profession')} ({code})",
                        "category": ex.get("codeCategorieProfessionnelle", ""),
                        "skill": " ".join(x for x in (ex.get("codeTypeSavoirFaire", ""), ex.get("codeSavoirFaire", "")) if x),
                        "structure": act.get("raisonSocialeSite", ""), "finess": act.get("numeroFinessSite", ""),
                        "mode": " / ".join(x for x in (act.get("codeModeExercice", ""), act.get("codeSecteurDactivite", "")) if x)})
    return out


def register(app, ctx) -> None:
    import requests

    from . import db

    with db.connect(ctx.settings.db_path) as c:
        iam.init(c)
        c.executescript(SCHEMA)
    conf = config()
    s = ctx.settings
    defects = s.defects
    lock = threading.Lock()   # one reconciliation at a time: the "once" of PSC.02 holds under parallel sign-ins
    rp = (RelyingParty(conf["issuer"], conf["client_id"], conf["client_secret"], conf["discovery_path"])
          if conf else None)
    if conf:
        ctx.login_options.append(OPTION.format(issuer=html.escape(conf["issuer"]), acr=html.escape(conf["acr"])))
    ctx.nav.append(("Pro Santé Connect", "psc_links"))

    def base() -> str:
        return s.public_url.rstrip("/")

    def event(c, kind: str, detail: str, account_id=None, sub=None, idnat=None) -> None:
        c.execute("INSERT INTO psc_events(at, kind, account_id, psc_sub, idnat, detail) VALUES (?,?,?,?,?,?)",
                  (_now(), kind, account_id, sub, idnat, detail))

    def refuse(reason: str, status: int = 401, outcome: str = "refus", **log):
        session.pop("psc", None)
        app.logger.warning("PSC sign-in refused: %s", reason)
        if log:
            event(ctx.conn(), "refus", reason, **log)
        return ctx.page("Connexion refusée", ERROR, status, reason=reason, outcome=outcome)

    def acr_ok(received) -> bool:
        required = conf["acr"]
        if required not in EIDAS_LEVELS:
            return received == required
        return received in EIDAS_LEVELS and EIDAS_LEVELS.index(received) >= EIDAS_LEVELS.index(required)

    def reconcile(c, sub: str, idnat: str, name: str):
        """The local account of this PSC identity: (account row, link row, newly linked) or (None, reason, log)."""
        link = c.execute("SELECT * FROM psc_links WHERE psc_sub=?", (sub,)).fetchone()
        if link is not None:
            return c.execute("SELECT * FROM accounts WHERE id=?", (link["account_id"],)).fetchone(), link, False
        if not (idnat.startswith("8") and len(idnat) == 12 and idnat.isdigit()):
            return None, (f"identifiant national {idnat or '(absent)'} : le DPI ne rapproche que les identifiants "
                          "fondés sur le n° RPPS (8 + RPPS)"), {}
        rpps = idnat[1:]
        accounts = c.execute("SELECT a.* FROM accounts a LEFT JOIN account_profile p ON p.account_id=a.id "
                             "WHERE a.rpps=? AND COALESCE(p.active, 1)=1", (rpps,)).fetchall()
        if not accounts:
            return None, (f"professionnel inconnu du DPI : aucun compte local ne porte le n° RPPS {rpps} "
                          f"(identifiant national {idnat}, {name}). La connexion est refusée ; l'administrateur "
                          "crée le compte, qui sera rapproché à la première connexion"), {}
        if len(accounts) > 1:
            return None, (f"plusieurs comptes locaux portent le n° RPPS {rpps} : rapprochement impossible sans "
                          "l'administrateur"), {}
        account = accounts[0]
        taken = c.execute("SELECT * FROM psc_links WHERE account_id=?", (account["id"],)).fetchone()
        if taken is not None and DEFECT_SECOND_IDENTITY not in defects:
            return None, (f"le compte n° {account['id']} (n° RPPS {rpps}) est déjà rapproché d'une autre identité "
                          f"Pro Santé Connect ({taken['psc_sub']}, le {taken['linked_at']}) : une seconde identité "
                          "ne peut pas s'y rattacher"), {"account_id": account["id"]}
        c.execute("INSERT INTO psc_links(account_id, psc_sub, idnat, rpps, linked_at, how) VALUES (?,?,?,?,?,?)",
                  (account["id"], sub, idnat, rpps, _now(), "n° RPPS de l'identifiant national, à la première connexion"))
        link = c.execute("SELECT * FROM psc_links WHERE psc_sub=?", (sub,)).fetchone()
        event(c, "rapprochement", f"compte n° {account['id']} rapproché par son n° RPPS {rpps}",
              account["id"], sub, idnat)
        return account, link, True

    @app.get("/psc/login", endpoint="psc_login")
    def psc_login():
        if conf is None:
            return refuse("Pro Santé Connect n'est pas configuré", 404)
        meta = rp.metadata()
        verifier, challenge = pkce_pair()
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        session["psc"] = {"state": state, "nonce": nonce, "verifier": verifier, "at": time.time()}
        params = {"response_type": "code", "client_id": conf["client_id"], "redirect_uri": base() + "/psc/callback",
                  "scope": conf["scope"], "acr_values": conf["acr"], "state": state, "nonce": nonce,
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        return redirect(f"{meta['authorization_endpoint']}?{urlencode(params)}")

    @app.get("/psc/callback", endpoint="psc_callback")
    def psc_callback():
        pending = session.get("psc")
        if not pending or not secrets.compare_digest(request.args.get("state", ""), pending["state"]):
            return refuse("réponse de Pro Santé Connect inattendue (paramètre state invalide)")
        if request.args.get("error"):
            return refuse(f"Pro Santé Connect a répondu : {request.args.get('error')}")
        status, answer = rp.exchange_code(request.args.get("code", ""), base() + "/psc/callback", pending["verifier"])
        if status != 200 or "id_token" not in answer:
            return refuse(f"échange du code refusé par Pro Santé Connect ({status})")
        try:
            claims, header = rp.validate_id_token(answer["id_token"], nonce=pending["nonce"],
                                                  check_audience=DEFECT_AUDIENCE not in defects)
        except InvalidToken as exc:
            return refuse(exc.reason)
        acr = claims.get("acr")
        if DEFECT_ACR not in defects and not acr_ok(acr):
            return refuse(f"niveau d'authentification insuffisant : {conf['acr']} exigé, "
                          f"« {acr if acr else 'aucun'} » reçu dans le jeton d'identité (acr)")
        try:
            info = rp.userinfo(answer["access_token"])
        except Exception as exc:  # noqa: BLE001 — any failure refuses the sign-in
            return refuse(f"informations du professionnel indisponibles ({type(exc).__name__})")
        if info.get("sub") != claims.get("sub"):
            return refuse("les informations du professionnel ne concernent pas la personne du jeton d'identité")
        idnat = str(info.get("SubjectNameID") or "")
        name = f"{info.get('given_name', '')} {info.get('family_name', '')}".strip()
        c = ctx.conn()
        with lock:
            account, link, new_link = reconcile(c, claims["sub"], idnat, name)
        if account is None:
            return refuse(link, 403, sub=claims["sub"], idnat=idnat, **new_link)
        aud = claims.get("aud")
        shown = {"claims": [
            ("iss", claims.get("iss"), "émetteur attendu : Pro Santé Connect"),
            ("aud", ", ".join(aud) if isinstance(aud, list) else aud, "destinataire : ce DPI"),
            ("acr", acr or "aucun", f"niveau eIDAS reçu, {conf['acr']} exigé"),
            ("sub", claims.get("sub"), "identité Pro Santé Connect (rapprochement)"),
            ("SubjectNameID", idnat, "identifiant national du professionnel"),
            ("n° RPPS", idnat[1:] if idnat.startswith("8") else "—", f"rattachement au compte n° {account['id']}"),
            ("given_name / family_name", name, "affichage"),
            ("SubjectOrganization", info.get("SubjectOrganization", ""), "structure d'exercice"),
            ("auth_time", fmt_time(claims.get("auth_time")), "moment de l'authentification"),
            ("exp", fmt_time(claims.get("exp")), "fin de validité du jeton"),
            ("nonce", "identique à celui de la demande", "protection contre le rejeu"),
            ("signature", f"{header.get('alg')} (clé {header.get('kid')}, publiée par Pro Santé Connect)",
             "vérifiée avant l'ouverture de la session")],
            "practice": practice_situations(info)}
        sid = secrets.token_urlsafe(24)
        now = _now()
        c.execute("INSERT INTO psc_sessions(sid, account_id, psc_sub, idnat, acr, id_token, access_token, shown, "
                  "started_at) VALUES (?,?,?,?,?,?,?,?,?)", (sid, account["id"], claims["sub"], idnat, acr,
                                                            answer["id_token"], answer["access_token"],
                                                            json.dumps(shown, ensure_ascii=False, default=str), now))
        c.execute("UPDATE account_profile SET last_login_at=? WHERE account_id=?", (now, account["id"]))
        event(c, "connexion", f"session ouverte, niveau {acr}", account["id"], claims["sub"], idnat)
        session.pop("psc", None)
        session.pop("user", None)
        session["psc_new_link"] = bool(new_link)
        # the care screens' professional; signing in another way replaces it, and with it the PSC session
        session["pro"] = {"rpps": account["rpps"], "nom": f"{account['prenom']} {account['nom']}",
                          "how": f"connecté(e) via Pro Santé Connect, niveau eIDAS {acr}",
                          "logout": url_for("psc_logout"), "psc_sid": sid}
        return redirect(url_for("psc_me"))

    def current():
        sid = (session.get("pro") or {}).get("psc_sid")
        if not sid:
            return None
        return ctx.conn().execute("SELECT * FROM psc_sessions WHERE sid=? AND ended_at IS NULL", (sid,)).fetchone()

    @app.get("/psc/moi", endpoint="psc_me")
    def psc_me():
        row = current()
        if row is None:
            return redirect(url_for("care_login"))
        c = ctx.conn()
        a = c.execute("SELECT * FROM accounts WHERE id=?", (row["account_id"],)).fetchone()
        link = c.execute("SELECT * FROM psc_links WHERE psc_sub=?", (row["psc_sub"],)).fetchone()
        return ctx.page("Mon espace", ME, a=a, s=row, link=link, new_link=session.get("psc_new_link"),
                        shown=json.loads(row["shown"]))

    @app.get("/psc/deconnexion", endpoint="psc_logout")
    def psc_logout():
        row = current()
        if row is None:
            session.pop("pro", None)
            return redirect(url_for("psc_logged_out"))
        c = ctx.conn()
        if DEFECT_LOGOUT not in defects:
            c.execute("UPDATE psc_sessions SET ended_at=? WHERE sid=?", (_now(), row["sid"]))
            for k in ("pro", "psc_new_link"):
                session.pop(k, None)
        event(c, "déconnexion", "fin de session demandée à Pro Santé Connect", row["account_id"], row["psc_sub"],
              row["idnat"])
        end = rp.metadata().get("end_session_endpoint")
        if not end:
            return redirect(url_for("psc_logged_out"))
        params = {"id_token_hint": row["id_token"], "post_logout_redirect_uri": base() + "/psc/deconnecte",
                  "state": secrets.token_urlsafe(12)}
        return redirect(f"{end}?{urlencode(params)}")

    @app.get("/psc/deconnecte", endpoint="psc_logged_out")
    def psc_logged_out():
        return ctx.page("Déconnexion", LOGGED_OUT, message=(
            "Vous êtes déconnecté(e) du DPI ; la fin de votre session Pro Santé Connect a été demandée."))

    @app.get("/psc/rapprochements", endpoint="psc_links")
    @ctx.admin_required
    def psc_links():
        c = ctx.conn()
        links = c.execute("SELECT l.*, a.nom, a.prenom FROM psc_links l JOIN accounts a ON a.id=l.account_id "
                          "ORDER BY l.id DESC").fetchall()
        events = c.execute("SELECT * FROM psc_events WHERE kind != 'connexion' AND kind != 'déconnexion' "
                           "ORDER BY id DESC LIMIT 200").fetchall()
        return ctx.page("Pro Santé Connect", LINKS, links=links, events=events)

    @app.post("/psc/rapprochements/<int:link_id>/defaire", endpoint="psc_unlink")
    @ctx.admin_required
    def psc_unlink(link_id: int):
        c = ctx.conn()
        link = c.execute("SELECT * FROM psc_links WHERE id=?", (link_id,)).fetchone()
        if link is not None:
            c.execute("DELETE FROM psc_links WHERE id=?", (link_id,))
            event(c, "rapprochement défait", f"par l'administrateur {session.get('admin')}", link["account_id"],
                  link["psc_sub"], link["idnat"])
            ctx.flash("info", f"Rapprochement du compte n° {link['account_id']} défait.")
        return redirect(url_for("psc_links"))

    def dmp_authorization() -> dict:
        """``Authorization: Bearer`` for the DMP under a PSC session: the PSC access token exchanged for a
        DMP token (RFC 8693) at the DMP's authorization server, reused while it is valid."""
        if not (has_request_context() and s.dmp_url and DEFECT_DMP not in defects):
            return {}
        row = current()
        if row is None:
            return {}
        if row["dmp_token"] and (row["dmp_token_exp"] or 0) > time.time() + 5:
            return {"Authorization": f"Bearer {row['dmp_token']}"}
        try:
            r = requests.post(s.dmp_url.rstrip("/") + "/as/token", timeout=10, data={
                "grant_type": TOKEN_EXCHANGE, "subject_token": row["access_token"],
                "subject_token_type": ACCESS_TOKEN_TYPE, "client_id": conf["dmp_client_id"]})
        except requests.RequestException as exc:
            raise OSError(f"serveur d'autorisation du DMP injoignable ({type(exc).__name__})") from None
        if r.status_code != 200:
            raise OSError(f"échange du jeton Pro Santé Connect refusé par le DMP (HTTP {r.status_code})")
        token = r.json()
        ctx.conn().execute("UPDATE psc_sessions SET dmp_token=?, dmp_token_exp=? WHERE sid=?",
                           (token["access_token"], time.time() + float(token.get("expires_in", 60)), row["sid"]))
        return {"Authorization": f"Bearer {token['access_token']}"}

    if conf:
        ctx.dmp_auth.append(dmp_authorization)

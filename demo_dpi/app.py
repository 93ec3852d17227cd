"""The demo_dpi web application (Flask): administrator login, professional accounts, e-mail verification."""
from __future__ import annotations

import re
import secrets
import smtplib
import time
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from datetime import datetime, timezone
from functools import partial, wraps

from flask import Flask, abort, redirect, render_template_string, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from . import db, dmp_feed, documents, patients

PROFESSIONS = ["Médecin", "Infirmier", "Pharmacien", "Sage-femme", "Masseur-kinésithérapeute"]
RPPS_RE = re.compile(r"^\d{11}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_mobile(text: str) -> str | None:
    """A mobile number as typed (``06 39 98 00 42``, ``+33 6 39 98 00 42``) in international form
    (``+33639980042``); '' for no number, None when it is not a mobile number."""
    compact = re.sub(r"[\s.\-()]", "", text or "")
    if not compact:
        return ""
    if re.fullmatch(r"0[67]\d{8}", compact):
        return "+33" + compact[1:]
    return compact if re.fullmatch(r"\+[1-9]\d{7,14}", compact) else None


@dataclass
class FeatureContext:
    """What a feature module gets to add its screens: settings, DB access and the page helpers.

    A feature module (e.g. ``demo_dpi/feature_care.py``) defines ``register(app, ctx)`` and is listed in
    ``FEATURES`` below; its defects go in ``demo_dpi.KNOWN_DEFECTS``. Its screens belong to the area its
    ``AREA`` names (« Administration des comptes » when it names none), shown in the header of each.
    """

    settings: "Settings"
    conn: object            # () -> sqlite3.Connection for this request
    page: object            # (title, body_template, status=200, *, area=<the feature's>, **ctx) -> response
    flash: object           # (kind, message) -> None; kind is info or error
    admin_required: object  # decorator for administrator-only views
    send_mail: object       # (EmailMessage) -> None, through the configured SMTP server
    nav: list               # header links: (label, endpoint) for the administrator, (label, endpoint, "care")
                            # for every signed-in user (administrator or professional)
    care_required: object   # decorator for the care and documents screens (a professional, or the administrator)
    current_pro: object     # () -> {"rpps", "nom"} of the signed-in professional (or the administrator), or None
    login_options: list = field(default_factory=list)  # HTML blocks added to the professionals' sign-in page
    dmp_auth: list = field(default_factory=list)       # () -> headers authorising the DPI's DMP calls

    def dmp_headers(self) -> dict:
        """The headers every ``dmp_auth`` hook adds to a DMP call made for the signed-in professional."""
        out: dict = {}
        for authorise in self.dmp_auth:
            out.update(authorise())
        return out


# Feature modules registered by create_app (dotted names relative to this package).
FEATURES: list[str] = [
    "feature_care",             # patient file, episodes, DMP consent and consultation (issue 6)
    "feature_documents",        # documents: writing, review, validation, CDA, MSSanté, DMP feeding (issue 7)
    "feature_stats",            # DMP usage statistics (issue 6)
    "feature_contact_change",   # SSI/IE.32
    "feature_account_review",   # SSI/IAM.87, SSI/IAM.94
    "feature_access",           # identity and roles of an account (SSI/IAM.80, 83, 85)
    "feature_directory_sync",   # SSI/IAM.83, SSI/IAM.85 (LDAPS directory, see demo_dpi.ldap_server)
    "feature_oidc_login",       # SSI/IAM.80 (OpenID Connect provider, see demo_dpi.oidc_provider)
    "feature_psc_login",        # PSC.01, 02, 08, DMP/PSC.01 (Pro Santé Connect, see demo_dpi.psc_provider)
    "feature_security",         # security settings, connection journal, administration password (issue 14)
    "feature_help",             # user documentation: the DMP in the patient file (issue 14)
]
# The other UI of the same features (python -m demo_dpi --ui spa): a single-page application over a JSON API
SPA_FEATURE = "spa"


@dataclass
class Settings:
    db_path: str
    admin_user: str
    admin_password: str
    public_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    mail_from: str = "Demo DPI <no-reply@demo-dpi.test>"
    code_ttl_s: int = 900
    defects: set[str] = field(default_factory=set)
    dmp_url: str = ""         # the DMP (simulator) the DPI queries and feeds; '' = no DMP configured
    mss_from: str = "Demo DPI <dpi.demo@etablissement.demo-mssante.test>"  # the DPI's MSSanté mailbox
    mss_nil: str = "DEMO-SEGUR-NIL-0042"  # Ségur registration number, sent as X-MSS-NIL
    dmp_send_delay_s: float = 2.0  # validated documents leave for the DMP after this delay (user may cancel)
    sms_url: str = ""         # the SMS gateway (stand-in: demo_dpi.smsgateway); '' = the DPI sends no SMS
    sms_from: str = "DemoDPI"  # the alphanumeric sender of the DPI's SMS
    ui: str = "classic"       # classic (server-rendered pages) or spa (demo_dpi.spa: /portail/ over /api/)

    # where the links mailed to professionals lead, per UI: (path, name of the token's parameter)
    LINKS = {"classic": {"account": ("/verify", "token"), "contact": ("/contact/verify", "token")},
             "spa": {"account": ("/portail/activation", "cle"), "contact": ("/portail/nouvelle-adresse", "cle")}}

    def link(self, kind: str, token: str) -> str:
        """The verification link mailed for ``kind`` (account or contact), in this UI's URLs."""
        path, param = self.LINKS[self.ui][kind]
        return f"{self.public_url.rstrip('/')}{path}?{param}={token}"


ADMIN_AREA = "Administration des comptes"
VERIFY_AREA = "Vérification de l'adresse de messagerie"

# One layout for every screen: the header names the screen's area (« Demo DPI — Dossier patient »),
# then the links of whoever is signed in, the administrator's first, then the care and documents ones.
LAYOUT = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{{ title }} — {{ area }} — Demo DPI</title>
<style>
 body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 0; background: #f4f6f9; color: #1c2833; }
 header { background: #0b4f8a; color: #fff; padding: 10px 24px; display: flex; justify-content: space-between; align-items: center; gap: 16px; flex-wrap: wrap; }
 header .brand { font-weight: bold; font-size: 18px; }
 header a { color: #fff; margin-left: 12px; text-decoration: none; font-size: 15px; }
 header a.current { text-decoration: underline; }
 header .sep { margin-left: 14px; opacity: .5; }
 header .who { margin-left: 18px; font-size: 13px; }
 main { max-width: 1100px; margin: 24px auto; background: #fff; padding: 20px 28px; border-radius: 6px;
        box-shadow: 0 1px 3px rgba(0,0,0,.12); }
 h1 { font-size: 22px; margin-top: 0; }
 table { border-collapse: collapse; width: 100%; font-size: 14px; }
 th, td { border-bottom: 1px solid #dde3ea; padding: 8px 6px; text-align: left; }
 th { background: #eef2f7; }
 .badge { display: inline-block; padding: 3px 9px; border-radius: 10px; font-size: 13px; font-weight: bold; }
 .badge.pending { background: #fff1cc; color: #7a5200; border: 1px solid #e0b000; }
 .badge.ok { background: #daf2df; color: #1e6b2f; border: 1px solid #5bb26d; }
 .badge.err { background: #fbdada; color: #8a1c1c; border: 1px solid #d35a5a; }
 form.grid { display: grid; grid-template-columns: 180px 340px; gap: 10px 14px; align-items: center; }
 input, select { font-size: 14px; padding: 6px; border: 1px solid #9aa7b4; border-radius: 4px; }
 textarea { font-size: 14px; padding: 6px; border: 1px solid #9aa7b4; border-radius: 4px; width: 520px; }
 button { background: #0b4f8a; color: #fff; border: 0; padding: 8px 16px; border-radius: 4px; font-size: 14px; cursor: pointer; }
 button.secondary { background: #fff; color: #8a1c1c; border: 1px solid #8a1c1c; }
 .flash { padding: 10px 14px; border-radius: 4px; margin-bottom: 14px; }
 .flash.info { background: #e6f0fb; border: 1px solid #8db4e2; }
 .flash.error { background: #fbdada; border: 1px solid #d35a5a; }
 dl { display: grid; grid-template-columns: 220px auto; gap: 8px; }
 dt { font-weight: bold; color: #4a5a6a; }
 .help-link { display: inline-block; margin: 4px 0 12px; padding: 4px 10px; border: 1px solid #0b4f8a;
              border-radius: 4px; color: #0b4f8a; text-decoration: none; font-size: 14px; }
 .actions { display: flex; gap: 12px; align-items: center; margin: 14px 0; flex-wrap: wrap; }
 .actions form { margin: 0; }
 .panel { border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
 .panel h2 { font-size: 16px; margin: 0 0 8px; }
 .checkbox { display: flex; gap: 8px; align-items: center; }
 .checkbox input { width: 18px; height: 18px; }
 .stage { border-left: 4px solid #0b4f8a; padding: 4px 14px; margin: 14px 0; }
 .stage h2 { font-size: 17px; margin: 4px 0; }
 .flow { display: flex; gap: 6px; align-items: center; margin: 10px 0 16px; flex-wrap: wrap; }
 .flow span.box { border: 1px solid #0b4f8a; border-radius: 4px; padding: 6px 10px; background: #eef2f7; }
</style></head>
<body><header><span class="brand">Demo DPI — <span data-testid="area">{{ area }}</span></span>
<nav>{% for group in menu %}{% if not loop.first %}<span class="sep">|</span>{% endif %}{% for label, ep in group %}<a href="{{ url_for(ep) }}"{% if ep == request.endpoint %} class="current"{% endif %}>{{ label }}</a>{% endfor %}{% endfor %}
{% if admin %}<span class="who">Connecté : {{ admin }}</span> <a href="{{ url_for('logout') }}">Déconnexion</a>
{% elif pro %}<span class="who probar">Professionnel connecté : <b data-testid="current-professional">{{ pro.nom }}</b> (RPPS {{ pro.rpps }}){% if pro.how %} — <span data-testid="login-method">{{ pro.how }}</span>{% endif %}</span> <a href="{{ pro.logout or url_for('care_logout') }}" id="logout">Déconnexion</a>{% endif %}</nav></header>
<main>{% for kind, msg in flashes %}<div class="flash {{ kind }}" role="status">{{ msg }}</div>{% endfor %}
{{ body|safe }}</main></body></html>"""

LOGIN = """<h1>Connexion administrateur</h1>
<form method="post" class="grid" action="{{ url_for('login') }}">
 <label for="username">Identifiant</label><input id="username" name="username" autocomplete="username" required>
 <label for="password">Mot de passe</label><input id="password" name="password" type="password" autocomplete="current-password" required>
 <span></span><button type="submit" id="login-submit">Se connecter</button>
</form>"""

STATUS = """{% if a.email_verified %}<span class="badge ok" data-testid="email-status">Adresse vérifiée</span>
{% else %}<span class="badge pending" data-testid="email-status">Adresse en attente de vérification</span>{% endif %}"""

ACCOUNTS = """<h1>Comptes des professionnels</h1>
<table id="accounts"><thead><tr><th>N°</th><th>Nom</th><th>Prénom</th><th>Profession</th><th>RPPS</th><th>Adresse de messagerie</th><th>Statut de l'adresse</th></tr></thead>
<tbody>{% for a in rows %}<tr data-account-id="{{ a.id }}"><td><a href="{{ url_for('account', account_id=a.id) }}">{{ a.id }}</a></td>
<td>{{ a.nom }}</td><td>{{ a.prenom }}</td><td>{{ a.profession }}</td><td>{{ a.rpps }}</td><td>{{ a.email }}</td>
<td>""" + STATUS + """</td></tr>{% else %}<tr><td colspan="7">Aucun compte.</td></tr>{% endfor %}</tbody></table>"""

NEW_ACCOUNT = """<h1>Déclarer un compte de professionnel</h1>
<form method="post" class="grid" action="{{ url_for('new_account') }}" id="new-account">
 <label for="nom">Nom</label><input id="nom" name="nom" value="{{ f.nom }}" required>
 <label for="prenom">Prénom</label><input id="prenom" name="prenom" value="{{ f.prenom }}" required>
 <label for="profession">Profession</label><select id="profession" name="profession">
 {% for p in professions %}<option {% if p == f.profession %}selected{% endif %}>{{ p }}</option>{% endfor %}</select>
 <label for="rpps">N° RPPS</label><input id="rpps" name="rpps" value="{{ f.rpps }}" pattern="[0-9]{11}" required>
 <label for="email">Adresse de messagerie</label><input id="email" name="email" type="email" value="{{ f.email }}" required>
 <label for="mobile">N° de mobile (facultatif)</label><input id="mobile" name="mobile" type="tel" value="{{ f.mobile }}" placeholder="06 12 34 56 78">
 <span></span><button type="submit" id="create-account">Créer le compte</button>
</form>"""

ACCOUNT = """<h1>Compte n° {{ a.id }} — {{ a.prenom }} {{ a.nom }}</h1>
<dl id="account-detail">
 <dt>Nom</dt><dd>{{ a.nom }}</dd><dt>Prénom</dt><dd>{{ a.prenom }}</dd>
 <dt>Profession</dt><dd>{{ a.profession }}</dd><dt>N° RPPS</dt><dd>{{ a.rpps }}</dd>
 <dt>Adresse de messagerie</dt><dd data-testid="email">{{ a.email }}</dd>
 <dt>Statut de l'adresse</dt><dd>""" + STATUS + """</dd>
 <dt>N° de mobile</dt><dd data-testid="mobile">{{ a.mobile or '—' }}</dd>
 <dt>Créé le</dt><dd>{{ a.created_at }}</dd>
 <dt>Vérifiée le</dt><dd>{{ a.verified_at or '—' }}</dd>
</dl>"""

VERIFY = """<h1>Vérification de l'adresse de messagerie</h1>
<div class="flash {{ kind }}" data-testid="verify-result"><span class="badge {{ badge }}">{{ outcome }}</span> {{ detail }}</div>"""


def send_verification(conn, settings: Settings, send_mail, account_id: int, prenom: str, nom: str, email: str):
    """Mail the single-use link and code that verify a new account's address (SSI/IE.31)."""
    token = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(10**8):08d}"
    conn.execute(
        "INSERT INTO email_verifications(account_id, email, token, code, expires_at) VALUES (?,?,?,?,?)",
        (account_id, email, token, code, time.time() + settings.code_ttl_s))
    link = settings.link("account", token)
    minutes = max(1, settings.code_ttl_s // 60)
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = email
    msg["Subject"] = "Vérification de votre adresse de messagerie — Demo DPI"
    msg["Date"] = format_datetime(datetime.now(timezone.utc))
    msg["Message-ID"] = make_msgid(domain="demo-dpi.test")
    msg.set_content(
        f"Bonjour {prenom} {nom},\n\n"
        "Un compte vient d'être déclaré à votre nom dans Demo DPI avec cette adresse de messagerie.\n"
        "Pour confirmer que cette adresse est bien la vôtre, ouvrez le lien ci-dessous :\n\n"
        f"{link}\n\n"
        f"Code de vérification : {code}\n\n"
        f"Ce lien et ce code ne servent qu'une fois et expirent dans {minutes} minutes.\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message.\n\n"
        "— Demo DPI\n")
    send_mail(msg)


def account_errors(f: dict, professions: list[str]) -> list[str]:
    """What is wrong with a new account's fields (French, as the screens say it)."""
    errors = []
    if not f["nom"] or not f["prenom"]:
        errors.append("Le nom et le prénom sont obligatoires.")
    if f["profession"] not in professions:
        errors.append("Profession inconnue.")
    if not RPPS_RE.match(f["rpps"]):
        errors.append("Le n° RPPS doit comporter 11 chiffres.")
    if not EMAIL_RE.match(f["email"]):
        errors.append("Adresse de messagerie invalide.")
    if normalise_mobile(f.get("mobile", "")) is None:
        errors.append("N° de mobile invalide : 10 chiffres commençant par 06 ou 07, ou +indicatif international.")
    return errors


def create_account(conn, settings: Settings, send_mail, f: dict, log=None) -> tuple[int, str, str]:
    """Insert a checked account and start its address's verification (defect SSI/IE.31: active at once,
    no mail). Returns (id, kind, message) where kind is info or error (the mail could not be sent)."""
    defective = "SSI/IE.31" in settings.defects
    cur = conn.execute(
        "INSERT INTO accounts(nom, prenom, profession, rpps, email, mobile, email_verified, verified_at) "
        "VALUES (?,?,?,?,?,?,?,?)",
        (f["nom"], f["prenom"], f["profession"], f["rpps"], f["email"], normalise_mobile(f.get("mobile", "")) or None,
         1 if defective else 0,
         datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if defective else None))
    account_id = cur.lastrowid
    if defective:
        return account_id, "info", "Compte créé et actif."
    try:
        send_verification(conn, settings, send_mail, account_id, f["prenom"], f["nom"], f["email"])
    except OSError as exc:
        if log is not None:
            log.error("verification mail not sent: %s", exc)
        return account_id, "error", "Compte créé, mais le message de vérification n'a pas pu être envoyé."
    return account_id, "info", f"Compte créé. Un message de vérification a été envoyé à {f['email']}."


def use_account_token(conn, token: str) -> tuple[int, str, str]:
    """A professional uses a verification link: (HTTP status, outcome, detail); single use, expires."""
    row = conn.execute("SELECT * FROM email_verifications WHERE token=?", (token,)).fetchone()
    if row is None:
        return 404, "Lien invalide", "Ce lien de vérification n'est pas reconnu."
    if row["used_at"] is not None:
        return 410, "Lien déjà utilisé", "Ce lien a déjà servi : il ne peut être utilisé qu'une seule fois."
    if time.time() > row["expires_at"]:
        return 410, "Lien expiré", "Ce lien a expiré : demandez un nouveau message de vérification."
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    conn.execute("UPDATE email_verifications SET used_at=? WHERE id=?", (time.time(), row["id"]))
    conn.execute("UPDATE accounts SET email_verified=1, verified_at=? WHERE id=? AND email=?",
                 (now, row["account_id"], row["email"]))
    return 200, "Adresse vérifiée", f"L'adresse {row['email']} est confirmée. Vous pouvez fermer cette page."


def create_app(settings: Settings) -> Flask:
    app = Flask(__name__)
    app.secret_key = secrets.token_bytes(32)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    admin_hash = generate_password_hash(settings.admin_password)
    db.init(settings.db_path)
    with db.connect(settings.db_path) as c:  # the patients and their documents, shared by the features
        for model in (patients, documents, dmp_feed):
            model.init(c)

    conn = db.per_request(app, lambda: db.connect(settings.db_path))

    def current_pro() -> dict | None:
        if session.get("pro"):
            return session["pro"]
        if session.get("admin"):
            return {"rpps": "—", "nom": f"administrateur {session['admin']}"}
        return None

    def care_required(view):
        @wraps(view)
        def wrapper(*a, **kw):
            if current_pro() is None:
                return redirect(url_for("care_login", next=request.path))
            return view(*a, **kw)
        return wrapper

    def menu() -> list[list[tuple[str, str]]]:
        admin = [("Comptes", "accounts"), ("Nouveau compte", "new_account")] + [
            (label, ep) for label, ep, *who in nav if not who]
        care = [(label, ep) for label, ep, *who in nav if who]
        if session.get("admin"):
            return [admin, care]
        return [care] if session.get("pro") else []

    def page(title: str, body: str, status: int = 200, *, area: str = ADMIN_AREA, **ctx):
        inner = render_template_string(body, **ctx)
        flashes = session.pop("flashes", [])
        return render_template_string(LAYOUT, title=title, area=area, body=inner, admin=session.get("admin"),
                                      pro=session.get("pro"), flashes=flashes, menu=menu()), status

    def flash(kind: str, msg: str):
        session.setdefault("flashes", []).append((kind, msg))
        session.modified = True

    def admin_required(view):
        @wraps(view)
        def wrapper(*a, **kw):
            if not session.get("admin"):
                return redirect(url_for("login", next=request.path))
            return view(*a, **kw)
        return wrapper

    nav: list = []

    def send_mail(msg: EmailMessage) -> None:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
            smtp.send_message(msg)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "defects": sorted(settings.defects)}

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            user = request.form.get("username", "")
            ok = secrets.compare_digest(user, settings.admin_user) and check_password_hash(
                admin_hash, request.form.get("password", ""))
            if ok:
                session.clear()
                session["admin"] = user
                nxt = request.args.get("next") or ""
                return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else url_for("accounts"))
            flash("error", "Identifiant ou mot de passe incorrect.")
            return page("Connexion", LOGIN, 401, area="Connexion")
        return page("Connexion", LOGIN, area="Connexion")

    @app.get("/logout")
    def logout():
        session.clear()
        return redirect(url_for("login"))

    @app.get("/")
    def index():
        return redirect("/portail/" if settings.ui == "spa" else url_for("accounts"))

    @app.get("/accounts")
    @admin_required
    def accounts():
        rows = conn().execute("SELECT * FROM accounts ORDER BY id DESC").fetchall()
        return page("Comptes", ACCOUNTS, rows=rows)

    @app.route("/accounts/new", methods=["GET", "POST"])
    @admin_required
    def new_account():
        f = {k: request.form.get(k, "").strip() for k in ("nom", "prenom", "profession", "rpps", "email", "mobile")}
        if request.method == "GET":
            f["profession"] = PROFESSIONS[0]
            return page("Nouveau compte", NEW_ACCOUNT, f=f, professions=PROFESSIONS)
        errors = account_errors(f, PROFESSIONS)
        if errors:
            for e in errors:
                flash("error", e)
            return page("Nouveau compte", NEW_ACCOUNT, 400, f=f, professions=PROFESSIONS)
        account_id, kind, message = create_account(conn(), settings, send_mail, f, app.logger)
        flash(kind, message)
        return redirect(url_for("account", account_id=account_id))

    @app.get("/accounts/<int:account_id>")
    @admin_required
    def account(account_id: int):
        a = conn().execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        if a is None:
            abort(404)
        return page(f"Compte {account_id}", ACCOUNT, a=a)

    @app.get("/verify")
    def verify():
        status, outcome, detail = use_account_token(conn(), request.args.get("token", ""))
        ok = status == 200
        return page("Vérification", VERIFY, status, area=VERIFY_AREA, kind="info" if ok else "error", badge="ok" if ok else "err",
                    outcome=outcome, detail=detail)

    import importlib

    ctx = FeatureContext(settings=settings, conn=conn, page=page, flash=flash, admin_required=admin_required,
                         send_mail=send_mail, nav=nav, care_required=care_required, current_pro=current_pro)
    for name in FEATURES + ([SPA_FEATURE] if settings.ui == "spa" else []):
        module = importlib.import_module(f"{__package__}.{name}")
        module.register(app, replace(ctx, page=partial(page, area=getattr(module, "AREA", ADMIN_AREA))))
    return app

"""Patients, care episodes, DMP consent and DMP consultation in demo_dpi.

What it adds to the demo DPI:

- professionals log in to the care screens with their (simulated) CPS card: RPPS + name (``/care/login``);
- patients with a qualified INS (``/patients``); the demo only accepts INS under the *test* OIDs;
- care episodes (hospitalisation or external consultation), from admission to discharge; each carries
  its consent record: patient informed about the DMP, non-opposition or opposition, and for a minor
  the *connexion secrète* modality, asked at admission and dropped at discharge;
- when a patient file opens, the DPI queries the DMP (``Settings.dmp_url``, see ``dmp_sim``) if the
  non-opposition of the current episode is recorded, shows with no click the documents added by other
  structures since the patient's last visit (counts by type), lists the DMP's documents and lets the
  user integrate one; an integrated document is checked against the DMP (by its uniqueId) when opened,
  and the user is told when the patient deleted it there;
- local documents can be sent to the DMP (blocked without non-opposition);
- usage statistics over external consultations (``/stats/dmp``) and their raw extract (CSV).

Defects (``--defect``): DMP/CONF.16 (secret connection kept on the patient, not asked again),
DMP/UX.15 (new-documents banner hidden behind a click), CDA/DD.05 (no DMP check when a document
is opened), DMP/CONF.06 (DMP consulted without non-opposition), DMP/CONF.09 (DMP fed without
non-opposition), STAT/ES 01.01 (rates computed over every episode, not external consultations).
"""
from __future__ import annotations

import base64
import csv
import io
import json
import random
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from functools import wraps

from flask import Response, abort, redirect, request, session, url_for

TEST_INS_OIDS = {"1.2.250.1.213.1.4.10": "NIR (test)", "1.2.250.1.213.1.4.11": "NIA (test)"}
OWN_FINESS = "990000016"            # fictitious FINESS of the demo structure
OWN_NAME = "Centre hospitalier de démonstration"
DOC_OID_ROOT = "1.2.250.1.999.6.1"  # fictitious root of the uniqueIds of documents the demo DPI produces
KINDS = {"hospitalisation": "Hospitalisation", "consultation": "Consultation externe"}
CONSENT_LABELS = {"accord": "Non-opposition enregistrée", "opposition": "Opposition du patient",
                  "": "Non recueilli"}

SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    nom TEXT NOT NULL, prenom TEXT NOT NULL, naissance TEXT NOT NULL, sexe TEXT NOT NULL,
    ins TEXT NOT NULL, ins_oid TEXT NOT NULL,
    secret_connection TEXT,            -- only used by the DMP/CONF.16 defect (kept on the patient)
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (ins, ins_oid)
);
CREATE TABLE IF NOT EXISTS episodes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    kind TEXT NOT NULL,                -- hospitalisation | consultation (external)
    started_at TEXT NOT NULL, ended_at TEXT,
    professional TEXT NOT NULL,
    information INTEGER NOT NULL DEFAULT 0,   -- patient informed about the DMP
    consent TEXT NOT NULL DEFAULT '',         -- accord (non-opposition) | opposition | '' (not recorded)
    secret_connection TEXT                    -- minors: oui | non | NULL (not asked)
);
CREATE TABLE IF NOT EXISTS local_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    patient_id INTEGER NOT NULL REFERENCES patients(id),
    episode_id INTEGER REFERENCES episodes(id),
    origin TEXT NOT NULL,              -- DMP | local
    unique_id TEXT NOT NULL, type_code TEXT NOT NULL, type_display TEXT NOT NULL,
    title TEXT NOT NULL, doc_date TEXT NOT NULL, author TEXT NOT NULL,
    payload BLOB, integrated_at TEXT NOT NULL, integrated_by TEXT NOT NULL,
    sent_to_dmp_at TEXT
);
"""

CARE_LOGIN = """<h1>Connexion du professionnel de santé</h1>
<p>Carte CPS (simulée) : saisissez votre n° RPPS et votre nom d'exercice.</p>
<form method="post" class="grid" action="{{ url_for('care_login') }}">
 <label for="rpps">N° RPPS</label><input id="rpps" name="rpps" pattern="[0-9]{11}" required>
 <label for="nom">Nom d'exercice</label><input id="nom" name="nom" required>
 <span></span><button type="submit" id="care-login">Se connecter</button>
</form>{% for option in login_options %}{{ option|safe }}{% endfor %}"""

PRO_BAR = """<div class="probar" style="background:#eef2f7;padding:6px 10px;margin:-8px 0 14px;border-radius:4px;font-size:13px">
Professionnel connecté : <b data-testid="current-professional">{{ pro.nom }}</b> (RPPS {{ pro.rpps }}){% if pro.how %} — <span data-testid="login-method">{{ pro.how }}</span>{% endif %} —
<a href="{{ url_for('patients') }}">Patients</a> · <a href="{{ pro.logout or url_for('care_logout') }}" id="logout">Déconnexion</a></div>"""

PATIENTS = PRO_BAR + """<h1>Patients</h1>
<p><a href="{{ url_for('new_patient') }}" id="new-patient">Enregistrer un patient</a></p>
<table id="patients"><thead><tr><th>N°</th><th>Nom</th><th>Prénom</th><th>Naissance</th><th>INS</th><th>Épisode en cours</th></tr></thead>
<tbody>{% for p in rows %}<tr><td><a href="{{ url_for('patient_file', patient_id=p.id) }}">{{ p.id }}</a></td><td>{{ p.nom }}</td>
<td>{{ p.prenom }}</td><td>{{ p.naissance }}</td><td>{{ p.ins }}</td><td>{{ p.open_kind or '—' }}</td></tr>
{% else %}<tr><td colspan="6">Aucun patient.</td></tr>{% endfor %}</tbody></table>"""

NEW_PATIENT = PRO_BAR + """<h1>Enregistrer un patient (identité INS qualifiée)</h1>
<form method="post" class="grid" action="{{ url_for('new_patient') }}" id="patient-form">
 <label for="nom">Nom de naissance</label><input id="nom" name="nom" value="{{ f.nom }}" required>
 <label for="prenom">Premier prénom</label><input id="prenom" name="prenom" value="{{ f.prenom }}" required>
 <label for="naissance">Date de naissance</label><input id="naissance" name="naissance" type="date" value="{{ f.naissance }}" required>
 <label for="sexe">Sexe</label><select id="sexe" name="sexe"><option>F</option><option>M</option></select>
 <label for="ins">Matricule INS</label><input id="ins" name="ins" value="{{ f.ins }}" pattern="[0-9]{13,15}" required>
 <label for="ins_oid">OID du matricule</label><select id="ins_oid" name="ins_oid">{% for oid, label in oids.items() %}<option value="{{ oid }}">{{ oid }} — {{ label }}</option>{% endfor %}</select>
 <span></span><button type="submit" id="create-patient">Enregistrer</button>
</form>"""

ADMISSION = PRO_BAR + """<h1>Nouvel épisode de soins — {{ p.prenom }} {{ p.nom }}</h1>
<form method="post" class="grid" action="{{ url_for('new_episode', patient_id=p.id) }}" id="admission-form" style="grid-template-columns: 300px 520px">
 <label for="kind">Type d'épisode</label><select id="kind" name="kind">{% for k, label in kinds.items() %}<option value="{{ k }}" {% if k == kind %}selected{% endif %}>{{ label }}</option>{% endfor %}</select>
 <label for="information">Patient informé de l'usage de son DMP</label><span><input type="checkbox" id="information" name="information" value="1"> information délivrée</span>
 <label for="consent">Consultation et alimentation du DMP</label><select id="consent" name="consent" data-testid="consent-question">
   <option value="">Non recueilli</option><option value="accord">Non-opposition du patient</option><option value="opposition">Opposition du patient</option></select>
 {% if ask_secret %}<label for="secret_connection">Patient mineur : connexion secrète au DMP pour cet épisode ?</label>
 <span data-testid="secret-question" style="background:#fff1cc;padding:6px;border-radius:4px"><select id="secret_connection" name="secret_connection" required>
   <option value="">— à demander au patient —</option><option value="oui">Oui : connexion secrète</option><option value="non">Non</option></select>
   <br><small>Question posée à chaque nouvel épisode d'un patient mineur ; la réponse vaut pour tout l'épisode.</small></span>{% endif %}
 <span></span><button type="submit" id="admit">Ouvrir l'épisode</button>
</form>"""

PATIENT_FILE = PRO_BAR + """
{% if secret %}<div class="flash error" data-testid="secret-connection" style="font-size:16px"><b>CONNEXION SECRÈTE</b> — patient mineur :
connexion secrète au DMP demandée pour l'épisode en cours{% if secret_episode %} (épisode n° {{ secret_episode }}){% endif %}. Aucune trace visible des représentants légaux.</div>{% endif %}
<h1>Dossier patient — {{ p.prenom }} {{ p.nom }}</h1>
<dl id="identity"><dt>Date de naissance</dt><dd>{{ p.naissance }}{% if minor %} (mineur){% endif %}</dd><dt>Sexe</dt><dd>{{ p.sexe }}</dd>
<dt>INS</dt><dd data-testid="ins">{{ p.ins }} (OID {{ p.ins_oid }})</dd><dt>Dernière venue</dt><dd data-testid="last-visit">{{ last_visit or 'aucune venue antérieure' }}</dd></dl>
<h2>Épisode en cours</h2>
{% if ep %}<div data-testid="episode" class="flash info">Épisode n° {{ ep.id }} — {{ kinds[ep.kind] }} depuis le {{ ep.started_at }} (ouvert par {{ ep.professional }})<br>
Information DMP : <b>{{ 'délivrée' if ep.information else 'non délivrée' }}</b> — Consentement DMP : <b data-testid="consent-status">{{ consent_labels[ep.consent] }}</b>
{% if ep.secret_connection %} — Connexion secrète : <b>{{ ep.secret_connection }}</b>{% endif %}</div>
<form method="post" action="{{ url_for('episode_consent', patient_id=p.id) }}" style="display:inline">
 <select id="consent" name="consent"><option value="">Non recueilli</option><option value="accord" {% if ep.consent=='accord' %}selected{% endif %}>Non-opposition du patient</option><option value="opposition" {% if ep.consent=='opposition' %}selected{% endif %}>Opposition du patient</option></select>
 <input type="hidden" name="information" value="1"><button id="save-consent" type="submit">Enregistrer le consentement</button></form>
<form method="post" action="{{ url_for('discharge', patient_id=p.id) }}" style="display:inline"><button id="discharge" type="submit">Sortie du patient (fin d'épisode)</button></form>
<a href="{{ url_for('new_document', patient_id=p.id) }}" id="new-document">Rédiger un document</a>
{% else %}<p data-testid="no-episode">Aucun épisode en cours. <a href="{{ url_for('new_episode', patient_id=p.id) }}" id="new-episode">Nouvel épisode de soins</a></p>{% endif %}
<h2>DMP</h2>
{% if dmp.state == 'blocked' %}<div class="flash error" data-testid="dmp-status">Accès au DMP bloqué : {{ dmp.reason }}</div>
{% elif dmp.state == 'error' %}<div class="flash error" data-testid="dmp-status">DMP indisponible : {{ dmp.reason }}</div>
{% else %}
{% if hide_banner %}<button type="button" id="show-dmp-news" onclick="document.getElementById('dmp-banner').hidden=false">Voir les nouveautés du DMP</button>{% endif %}
<div class="flash info" data-testid="dmp-banner" id="dmp-banner" {% if hide_banner %}hidden{% endif %}>
{% if dmp.new %}<b>{{ dmp.new|length }} nouveau(x) document(s)</b> versé(s) au DMP par d'autres structures depuis la dernière venue{% if last_visit %} du {{ last_visit }}{% endif %} :
<ul>{% for t, n in dmp.new_by_type %}<li data-testid="dmp-count" data-type="{{ t }}">{{ t }} : {{ n }}</li>{% endfor %}</ul>
{% else %}Aucun nouveau document versé au DMP par d'autres structures depuis la dernière venue.{% endif %}</div>
<table id="dmp-documents"><thead><tr><th>Date</th><th>Type</th><th>Titre</th><th>Auteur</th><th>Structure</th><th></th></tr></thead><tbody>
{% for d in dmp.docs %}<tr data-unique-id="{{ d.uid }}"><td>{{ d.date }}</td><td>{{ d.type }}</td><td>{{ d.title }}</td><td>{{ d.author }}</td><td>{{ d.custodian }}</td>
<td>{% if d.integrated %}intégré{% elif ep %}<form method="post" action="{{ url_for('integrate', patient_id=p.id) }}"><input type="hidden" name="id" value="{{ d.id }}"><button type="submit" class="integrate">Intégrer au dossier</button></form>{% endif %}</td></tr>
{% else %}<tr><td colspan="6">Aucun document dans le DMP.</td></tr>{% endfor %}</tbody></table>{% endif %}
<p><a href="{{ url_for('consult_dmp', patient_id=p.id) }}" id="consult-dmp">Consulter le DMP</a></p>
<h2>Documents du dossier</h2>
<table id="local-documents"><thead><tr><th>N°</th><th>Titre</th><th>Type</th><th>Origine</th><th>Date</th></tr></thead><tbody>
{% for d in local %}<tr data-doc-id="{{ d.id }}" data-unique-id="{{ d.unique_id }}"><td><a href="{{ url_for('document', doc_id=d.id) }}">{{ d.id }}</a></td><td>{{ d.title }}</td><td>{{ d.type_display }}</td><td>{{ d.origin }}</td><td>{{ d.doc_date }}</td></tr>
{% else %}<tr><td colspan="5">Aucun document.</td></tr>{% endfor %}</tbody></table>"""

DOCUMENT = PRO_BAR + """<h1>Document n° {{ d.id }} — {{ d.title }}</h1>
{% if deleted %}<div class="flash error" data-testid="dmp-deleted"><b>Ce document a été supprimé du DMP</b>{% if deleted_by == 'patient' %} par le patient{% endif %}{% if deleted_at %} le {{ deleted_at }}{% endif %}
(identifiant unique {{ d.unique_id }}). Vous pouvez supprimer la copie conservée dans le dossier.
<form method="post" action="{{ url_for('delete_document', doc_id=d.id) }}" style="margin-top:8px"><button id="delete-local" type="submit">Supprimer la copie locale</button></form></div>{% endif %}
{% if superseded %}<div class="flash info" data-testid="dmp-new-version">Une nouvelle version de ce document existe dans le DMP.</div>{% endif %}
<dl id="document-detail"><dt>Patient</dt><dd><a href="{{ url_for('patient_file', patient_id=p.id) }}">{{ p.prenom }} {{ p.nom }}</a></dd>
<dt>Origine</dt><dd data-testid="origin">{{ d.origin }}</dd><dt>Type</dt><dd>{{ d.type_display }} ({{ d.type_code }})</dd>
<dt>Identifiant unique</dt><dd data-testid="unique-id">{{ d.unique_id }}</dd><dt>Auteur</dt><dd>{{ d.author }}</dd><dt>Date</dt><dd>{{ d.doc_date }}</dd>
<dt>Intégré le</dt><dd>{{ d.integrated_at }} par {{ d.integrated_by }}</dd><dt>Envoyé au DMP</dt><dd data-testid="sent">{{ d.sent_to_dmp_at or '—' }}</dd></dl>
{% if d.origin == 'local' %}<form method="post" action="{{ url_for('send_document', doc_id=d.id) }}"><button id="send-dmp" type="submit">Envoyer au DMP</button></form>{% endif %}"""

NEW_DOCUMENT = PRO_BAR + """<h1>Rédiger un document — {{ p.prenom }} {{ p.nom }}</h1>
<form method="post" class="grid" action="{{ url_for('new_document', patient_id=p.id) }}">
 <label for="title">Titre</label><input id="title" name="title" required>
 <label for="text">Texte</label><input id="text" name="text" required>
 <span></span><button type="submit" id="save-document">Enregistrer</button></form>"""

CONSULT = PRO_BAR + """<h1>Consultation du DMP — {{ p.prenom }} {{ p.nom }}</h1>
<div class="flash {{ 'error' if refused else 'info' }}" data-testid="dmp-consult-result">{{ message }}</div>
<p><a href="{{ url_for('patient_file', patient_id=p.id) }}">Retour au dossier</a></p>"""

STATS = """<h1>Statistiques d'usage du DMP — consultations externes</h1>
<form method="get" action="{{ url_for('dmp_stats') }}">Du <input type="date" name="from" id="from" value="{{ start }}"> au <input type="date" name="to" id="to" value="{{ end }}"> <button type="submit" id="compute">Calculer</button>
<a href="{{ url_for('dmp_stats_csv', **{'from': start, 'to': end}) }}" id="export-csv">Exporter les consultations (CSV)</a></form>
<p>Période du {{ start }} au {{ end }}. Taux 1 : consultations externes avec au moins un document intégré depuis le DMP ;
taux 2 : consultations externes avec consentement (non-opposition) tracé ; taux 3 : consultations externes avec refus (opposition) tracé. Dénominateur : toutes les consultations externes.</p>
<table id="dmp-stats"><thead><tr><th>Mois</th><th>Consultations externes</th><th>Taux 1 — document DMP intégré</th><th>Taux 2 — consentement</th><th>Taux 3 — refus</th></tr></thead><tbody>
{% for r in rows %}<tr data-month="{{ r.month }}" {% if r.month == 'total' %}style="font-weight:bold"{% endif %}><td>{{ 'Total période' if r.month == 'total' else r.month }}</td><td class="n">{{ r.n }}</td>
<td class="r1">{{ r.k1 }} / {{ r.n }} ({{ r.p1 }})</td><td class="r2">{{ r.k2 }} / {{ r.n }} ({{ r.p2 }})</td><td class="r3">{{ r.k3 }} / {{ r.n }} ({{ r.p3 }})</td></tr>{% endfor %}
</tbody></table>"""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _age(naissance: str, on: date) -> int:
    b = date.fromisoformat(naissance)
    return on.year - b.year - ((on.month, on.day) < (b.month, b.day))


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f} %".replace(".", ",") if n else "—"


def _seed_history(c) -> None:
    """A fictitious history (test patients only) for the usage statistics: external consultations
    and hospitalisations from December 2025 to July 2026, with their consent records and DMP documents."""
    if c.execute("SELECT count(*) FROM episodes").fetchone()[0]:
        return
    rnd = random.Random(601)
    ids = []
    for i in range(8):
        cur = c.execute("INSERT OR IGNORE INTO patients(nom, prenom, naissance, sexe, ins, ins_oid) VALUES (?,?,?,?,?,?)",
                        (f"HISTOSEGUR{i + 1}", ["Alix", "Basile", "Céleste", "Dorian", "Elise", "Fanny", "Gaspard",
                                                "Hugo"][i], f"19{60 + i * 4}-0{1 + i % 9}-1{i}", "FM"[i % 2],
                         f"2{60 + i * 4}0{1 + i % 9}75{i:03d}0{i}{i}", "1.2.250.1.213.1.4.10"))
        ids.append(cur.lastrowid or c.execute("SELECT id FROM patients WHERE nom=?", (f"HISTOSEGUR{i + 1}",)).fetchone()[0])
    day = date(2025, 12, 1)
    while day < date(2026, 8, 1):
        for _ in range(rnd.choice((0, 0, 1, 1, 2))):
            kind = "consultation" if rnd.random() < 0.75 else "hospitalisation"
            start = f"{day.isoformat()}T{rnd.randint(8, 17):02d}:{rnd.choice((0, 15, 30, 45)):02d}:00Z"
            end = (day + timedelta(days=0 if kind == "consultation" else rnd.randint(1, 6))).isoformat() + "T18:00:00Z"
            consent = rnd.choices(("accord", "opposition", ""), (6, 1, 3))[0]
            pid = rnd.choice(ids)
            cur = c.execute("INSERT INTO episodes(patient_id, kind, started_at, ended_at, professional, information, consent)"
                            " VALUES (?,?,?,?,?,?,?)", (pid, kind, start, end, "Dr HISTORIQUE (10100000000)",
                                                         1 if consent else rnd.randint(0, 1), consent))
            if consent == "accord" and rnd.random() < 0.5:
                for k in range(rnd.choice((1, 1, 2))):
                    c.execute("INSERT INTO local_documents(patient_id, episode_id, origin, unique_id, type_code, type_display,"
                              " title, doc_date, author, integrated_at, integrated_by) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                              (pid, cur.lastrowid, "DMP", f"1.2.250.1.999.7.{cur.lastrowid}.{k}", "11490-0",
                               "Lettre de liaison", "Lettre de liaison (historique)", start, "Dr EXTERNE", start,
                               "Dr HISTORIQUE"))
        day += timedelta(days=1)


def register(app, ctx) -> None:
    settings = ctx.settings
    defects = settings.defects
    import sqlite3
    with sqlite3.connect(settings.db_path) as c:
        c.executescript(SCHEMA)
        _seed_history(c)
    ctx.nav.append(("Patients", "patients"))
    ctx.nav.append(("Statistiques DMP", "dmp_stats"))

    def conn():
        return ctx.conn()

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

    def pro_label() -> str:
        p = current_pro()
        return f"{p['nom']} ({p['rpps']})"

    def render(title, body, status=200, **kw):
        return ctx.page(title, body, status, pro=current_pro(), **kw)

    def patient_or_404(patient_id: int):
        p = conn().execute("SELECT * FROM patients WHERE id=?", (patient_id,)).fetchone()
        if p is None:
            abort(404)
        return p

    def open_episode(patient_id: int):
        return conn().execute("SELECT * FROM episodes WHERE patient_id=? AND ended_at IS NULL ORDER BY id DESC",
                              (patient_id,)).fetchone()

    # -- DMP access -------------------------------------------------------------------------------
    def dmp_call(method: str, path: str, body: dict | None = None):
        if not settings.dmp_url:
            raise OSError("aucun DMP configuré")
        headers = {"Content-Type": "application/fhir+json", "X-PS-Identifier": (current_pro() or {}).get("rpps", "")}
        for authorise in ctx.dmp_auth:  # e.g. the professional's PSC identity (feature_psc_login)
            headers.update(authorise())
        req = urllib.request.Request(settings.dmp_url.rstrip("/") + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
                return resp.status, (json.loads(raw) if resp.headers.get_content_type().endswith("json") else raw)
        except urllib.error.HTTPError as exc:
            return exc.code, None

    def consultation_allowed(ep) -> tuple[bool, str]:
        if ep is None:
            return False, "aucun épisode de soins en cours : la non-opposition du patient n'est pas enregistrée"
        if ep["consent"] != "accord":
            return False, ("le patient s'est opposé à l'accès à son DMP" if ep["consent"] == "opposition"
                           else "la non-opposition du patient n'est pas enregistrée pour l'épisode en cours")
        return True, ""

    def last_visit(patient_id: int) -> str:
        row = conn().execute("SELECT max(ended_at) FROM episodes WHERE patient_id=? AND ended_at IS NOT NULL",
                             (patient_id,)).fetchone()
        return row[0] or ""

    def dmp_view(p, ep) -> dict:
        allowed, reason = consultation_allowed(ep)
        if not allowed and "DMP/CONF.06" not in defects:
            return {"state": "blocked", "reason": reason}
        try:
            q = urllib.parse.urlencode({"patient.identifier": f"urn:oid:{p['ins_oid']}|{p['ins']}", "status": "current"})
            status, bundle = dmp_call("GET", "/fhir/DocumentReference?" + q)
        except OSError as exc:
            return {"state": "error", "reason": str(getattr(exc, "reason", exc))}
        if status != 200:
            return {"state": "error", "reason": f"réponse HTTP {status}"}
        integrated = {r[0] for r in conn().execute("SELECT unique_id FROM local_documents WHERE patient_id=?",
                                                    (p["id"],))}
        docs = []
        for e in bundle.get("entry", []):
            r = e["resource"]
            coding = (r.get("type") or {}).get("coding", [{}])[0]
            docs.append({"id": r["id"], "uid": r["masterIdentifier"]["value"], "date": r.get("date", ""),
                         "type": coding.get("display") or coding.get("code", ""), "title": r.get("description", ""),
                         "author": (r.get("author") or [{}])[0].get("display", ""),
                         "custodian": (r.get("custodian") or {}).get("display", ""),
                         "own": ((r.get("custodian") or {}).get("identifier") or {}).get("value") == OWN_FINESS,
                         "integrated": r["masterIdentifier"]["value"] in integrated})
        since = last_visit(p["id"])
        new = [d for d in docs if not d["own"] and (not since or d["date"] > since)]
        return {"state": "ok", "docs": docs, "new": new,
                "new_by_type": sorted(Counter(d["type"] for d in new).items())}

    # -- professionals ----------------------------------------------------------------------------
    @app.route("/care/login", methods=["GET", "POST"])
    def care_login():
        if request.method == "POST":
            rpps, nom = request.form.get("rpps", "").strip(), request.form.get("nom", "").strip()
            if len(rpps) == 11 and rpps.isdigit() and nom:
                session["pro"] = {"rpps": rpps, "nom": nom}
                nxt = request.args.get("next") or ""
                return redirect(nxt if nxt.startswith("/") and not nxt.startswith("//") else url_for("patients"))
            ctx.flash("error", "N° RPPS (11 chiffres) et nom requis.")
            return ctx.page("Connexion", CARE_LOGIN, 400, login_options=ctx.login_options)
        return ctx.page("Connexion", CARE_LOGIN, login_options=ctx.login_options)

    @app.get("/care/logout")
    def care_logout():
        session.pop("pro", None)
        return redirect(url_for("care_login"))

    # -- patients ---------------------------------------------------------------------------------
    @app.get("/patients")
    @care_required
    def patients():
        rows = conn().execute("SELECT p.*, (SELECT kind FROM episodes e WHERE e.patient_id=p.id AND e.ended_at IS NULL)"
                              " AS open_kind FROM patients p ORDER BY p.id DESC LIMIT 200").fetchall()
        return render("Patients", PATIENTS, rows=rows)

    @app.route("/patients/new", methods=["GET", "POST"])
    @care_required
    def new_patient():
        f = {k: request.form.get(k, "").strip() for k in ("nom", "prenom", "naissance", "sexe", "ins", "ins_oid")}
        if request.method == "GET":
            return render("Nouveau patient", NEW_PATIENT, f=f, oids=TEST_INS_OIDS)
        errors = []
        if f["ins_oid"] not in TEST_INS_OIDS:
            errors.append("Environnement de démonstration : seuls les INS de test (OID 1.2.250.1.213.1.4.10/11) sont acceptés.")
        if not (f["ins"].isdigit() and 13 <= len(f["ins"]) <= 15):
            errors.append("Le matricule INS doit comporter 13 à 15 chiffres.")
        try:
            date.fromisoformat(f["naissance"])
        except ValueError:
            errors.append("Date de naissance invalide.")
        if not f["nom"] or not f["prenom"] or f["sexe"] not in ("F", "M"):
            errors.append("Nom, prénom et sexe sont obligatoires.")
        if errors:
            for e in errors:
                ctx.flash("error", e)
            return render("Nouveau patient", NEW_PATIENT, 400, f=f, oids=TEST_INS_OIDS)
        row = conn().execute("SELECT id FROM patients WHERE ins=? AND ins_oid=?", (f["ins"], f["ins_oid"])).fetchone()
        if row is not None:
            ctx.flash("info", "Ce patient (même INS) est déjà enregistré : son dossier est ouvert.")
            return redirect(url_for("patient_file", patient_id=row["id"]))
        cur = conn().execute("INSERT INTO patients(nom, prenom, naissance, sexe, ins, ins_oid) VALUES (?,?,?,?,?,?)",
                             (f["nom"].upper(), f["prenom"], f["naissance"], f["sexe"], f["ins"], f["ins_oid"]))
        return redirect(url_for("patient_file", patient_id=cur.lastrowid))

    @app.get("/patients/<int:patient_id>")
    @care_required
    def patient_file(patient_id: int):
        p = patient_or_404(patient_id)
        ep = open_episode(patient_id)
        if "DMP/CONF.16" in defects:
            secret, secret_episode = p["secret_connection"] == "oui", None
        else:
            secret = bool(ep and ep["secret_connection"] == "oui")
            secret_episode = ep["id"] if secret else None
        local = conn().execute("SELECT * FROM local_documents WHERE patient_id=? ORDER BY id DESC", (patient_id,)).fetchall()
        return render(f"Dossier {p['nom']}", PATIENT_FILE, p=p, ep=ep, kinds=KINDS, consent_labels=CONSENT_LABELS,
                      minor=_age(p["naissance"], date.today()) < 18, secret=secret, secret_episode=secret_episode,
                      last_visit=last_visit(patient_id), dmp=dmp_view(p, ep), local=local,
                      hide_banner="DMP/UX.15" in defects)

    @app.route("/patients/<int:patient_id>/episodes/new", methods=["GET", "POST"])
    @care_required
    def new_episode(patient_id: int):
        p = patient_or_404(patient_id)
        minor = _age(p["naissance"], date.today()) < 18
        ask_secret = minor and not ("DMP/CONF.16" in defects and p["secret_connection"])
        if request.method == "GET":
            if open_episode(patient_id):
                ctx.flash("error", "Un épisode est déjà en cours pour ce patient.")
                return redirect(url_for("patient_file", patient_id=patient_id))
            return render("Nouvel épisode", ADMISSION, p=p, kinds=KINDS, kind=request.args.get("kind", "hospitalisation"),
                          ask_secret=ask_secret)
        kind = request.form.get("kind", "")
        consent = request.form.get("consent", "")
        secret = request.form.get("secret_connection", "") or None
        if kind not in KINDS or consent not in CONSENT_LABELS or (ask_secret and secret not in ("oui", "non")):
            ctx.flash("error", "Formulaire incomplet : type d'épisode, consentement et, pour un mineur, connexion secrète.")
            return render("Nouvel épisode", ADMISSION, 400, p=p, kinds=KINDS, kind=kind, ask_secret=ask_secret)
        if open_episode(patient_id):
            abort(409)
        if "DMP/CONF.16" in defects:
            if secret:
                conn().execute("UPDATE patients SET secret_connection=? WHERE id=?", (secret, patient_id))
            secret = None
        conn().execute("INSERT INTO episodes(patient_id, kind, started_at, professional, information, consent,"
                       " secret_connection) VALUES (?,?,?,?,?,?,?)",
                       (patient_id, kind, _now(), pro_label(), 1 if request.form.get("information") else 0, consent,
                        secret if minor else None))
        ctx.flash("info", f"Épisode ouvert : {KINDS[kind]}.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    @app.post("/patients/<int:patient_id>/consent")
    @care_required
    def episode_consent(patient_id: int):
        ep = open_episode(patient_id)
        consent = request.form.get("consent", "")
        if ep is None or consent not in CONSENT_LABELS:
            abort(400)
        conn().execute("UPDATE episodes SET consent=?, information=? WHERE id=?",
                       (consent, 1 if request.form.get("information") else ep["information"], ep["id"]))
        ctx.flash("info", f"Consentement DMP enregistré : {CONSENT_LABELS[consent]}.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    @app.post("/patients/<int:patient_id>/discharge")
    @care_required
    def discharge(patient_id: int):
        ep = open_episode(patient_id)
        if ep is None:
            abort(400)
        # the episode's consent record (with the secret-connection modality) ends with the episode
        conn().execute("UPDATE episodes SET ended_at=? WHERE id=?", (_now(), ep["id"]))
        ctx.flash("info", f"Sortie enregistrée : fin de l'épisode n° {ep['id']}.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    @app.get("/patients/<int:patient_id>/dmp")
    @care_required
    def consult_dmp(patient_id: int):
        p = patient_or_404(patient_id)
        view = dmp_view(p, open_episode(patient_id))
        if view["state"] == "blocked":
            msg, refused = f"Consultation du DMP refusée : {view['reason']}.", True
        elif view["state"] == "error":
            msg, refused = f"DMP indisponible : {view['reason']}.", True
        else:
            msg, refused = f"DMP consulté : {len(view['docs'])} document(s) disponible(s).", False
        return render("Consultation du DMP", CONSULT, 403 if refused else 200, p=p, message=msg, refused=refused)

    @app.post("/patients/<int:patient_id>/integrate")
    @care_required
    def integrate(patient_id: int):
        p = patient_or_404(patient_id)
        ep = open_episode(patient_id)
        allowed, reason = consultation_allowed(ep)
        if not allowed and "DMP/CONF.06" not in defects:
            ctx.flash("error", f"Intégration refusée : {reason}.")
            return redirect(url_for("patient_file", patient_id=patient_id))
        doc_id = request.form.get("id", "")
        status, res = dmp_call("GET", f"/fhir/DocumentReference/{urllib.parse.quote(doc_id)}")
        if status != 200:
            abort(404)
        _s, payload = dmp_call("GET", f"/fhir/Binary/{urllib.parse.quote(doc_id)}")
        coding = (res.get("type") or {}).get("coding", [{}])[0]
        conn().execute("INSERT INTO local_documents(patient_id, episode_id, origin, unique_id, type_code, type_display,"
                       " title, doc_date, author, payload, integrated_at, integrated_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                       (p["id"], ep["id"] if ep else None, "DMP", res["masterIdentifier"]["value"], coding.get("code", ""),
                        coding.get("display", ""), res.get("description", "") or coding.get("display", ""),
                        res.get("date", ""), (res.get("author") or [{}])[0].get("display", ""),
                        payload if isinstance(payload, bytes) else None, _now(), pro_label()))
        ctx.flash("info", "Document intégré au dossier depuis le DMP.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    # -- documents --------------------------------------------------------------------------------
    @app.route("/patients/<int:patient_id>/documents/new", methods=["GET", "POST"])
    @care_required
    def new_document(patient_id: int):
        p = patient_or_404(patient_id)
        if request.method == "GET":
            return render("Nouveau document", NEW_DOCUMENT, p=p)
        ep = open_episode(patient_id)
        title = request.form.get("title", "").strip() or "Document"
        cur = conn().execute("INSERT INTO local_documents(patient_id, episode_id, origin, unique_id, type_code, type_display,"
                             " title, doc_date, author, payload, integrated_at, integrated_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (patient_id, ep["id"] if ep else None, "local", "pending", "11488-4",
                              "Compte rendu de consultation", title, _now(), pro_label(),
                              request.form.get("text", "").encode(), _now(), pro_label()))
        conn().execute("UPDATE local_documents SET unique_id=? WHERE id=?", (f"{DOC_OID_ROOT}.{cur.lastrowid}", cur.lastrowid))
        return redirect(url_for("document", doc_id=cur.lastrowid))

    @app.get("/documents/<int:doc_id>")
    @care_required
    def document(doc_id: int):
        d = conn().execute("SELECT * FROM local_documents WHERE id=?", (doc_id,)).fetchone()
        if d is None:
            abort(404)
        p = patient_or_404(d["patient_id"])
        deleted = superseded = False
        deleted_by = deleted_at = ""
        if d["origin"] == "DMP" and "CDA/DD.05" not in defects:
            try:
                status, bundle = dmp_call("GET", "/fhir/DocumentReference?" + urllib.parse.urlencode(
                    {"identifier": d["unique_id"]}))
            except OSError:
                status, bundle = 0, None
            if status == 200:
                for e in bundle.get("entry", []):
                    r = e["resource"]
                    ext = {x.get("url"): x.get("valueString") or x.get("valueDateTime") for x in r.get("extension") or []}
                    deleted = r.get("status") == "entered-in-error"
                    superseded = r.get("status") == "superseded"
                    deleted_by, deleted_at = ext.get("deletedBy", ""), ext.get("deletedAt", "")
        return render(f"Document {doc_id}", DOCUMENT, d=d, p=p, deleted=deleted, superseded=superseded,
                      deleted_by=deleted_by, deleted_at=deleted_at)

    @app.post("/documents/<int:doc_id>/delete")
    @care_required
    def delete_document(doc_id: int):
        d = conn().execute("SELECT * FROM local_documents WHERE id=?", (doc_id,)).fetchone()
        if d is None:
            abort(404)
        conn().execute("DELETE FROM local_documents WHERE id=?", (doc_id,))
        ctx.flash("info", f"Copie locale du document « {d['title']} » supprimée du dossier.")
        return redirect(url_for("patient_file", patient_id=d["patient_id"]))

    @app.post("/documents/<int:doc_id>/send")
    @care_required
    def send_document(doc_id: int):
        d = conn().execute("SELECT * FROM local_documents WHERE id=?", (doc_id,)).fetchone()
        if d is None or d["origin"] != "local":
            abort(404)
        p = patient_or_404(d["patient_id"])
        ep = open_episode(p["id"])
        allowed, reason = consultation_allowed(ep)
        if not allowed and "DMP/CONF.09" not in defects:
            ctx.flash("error", f"Envoi au DMP refusé : {reason}.")
            return redirect(url_for("document", doc_id=doc_id))
        cda = _minimal_cda(p, d).encode()
        pro = current_pro()
        resource = {"resourceType": "DocumentReference", "masterIdentifier": {"value": d["unique_id"]},
                    "status": "current", "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1",
                                                              "code": d["type_code"], "display": d["type_display"]}]},
                    "subject": {"identifier": {"system": f"urn:oid:{p['ins_oid']}", "value": p["ins"]}},
                    "date": d["doc_date"], "author": [{"identifier": {"system": "urn:oid:1.2.250.1.71.4.2.1",
                                                                      "value": pro["rpps"]}, "display": pro["nom"]}],
                    "custodian": {"identifier": {"value": OWN_FINESS}, "display": OWN_NAME},
                    "securityLabel": [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": "N"}],
                    "description": d["title"],
                    "content": [{"attachment": {"contentType": "text/xml", "title": d["title"],
                                                "data": base64.b64encode(cda).decode()}}]}
        try:
            status, _ = dmp_call("POST", "/fhir/DocumentReference", resource)
        except OSError as exc:
            ctx.flash("error", f"DMP indisponible : {exc}")
            return redirect(url_for("document", doc_id=doc_id))
        if status == 201:
            conn().execute("UPDATE local_documents SET sent_to_dmp_at=? WHERE id=?", (_now(), doc_id))
            ctx.flash("info", "Document envoyé au DMP.")
        else:
            ctx.flash("error", f"Le DMP a refusé le document (HTTP {status}).")
        return redirect(url_for("document", doc_id=doc_id))

    # -- statistics -------------------------------------------------------------------------------
    def stats_rows(start: str, end: str, *, every_episode: bool = False):
        kinds = ("consultation", "hospitalisation") if every_episode else ("consultation",)
        q = ("SELECT e.id, substr(e.started_at, 1, 10) AS day, e.information, e.consent,"
             " (SELECT count(*) FROM local_documents d WHERE d.episode_id=e.id AND d.origin='DMP') AS dmp_docs"
             f" FROM episodes e WHERE e.kind IN ({','.join('?' * len(kinds))})"
             " AND substr(e.started_at, 1, 10) BETWEEN ? AND ? ORDER BY e.started_at")
        return conn().execute(q, (*kinds, start, end)).fetchall()

    def period():
        start = request.args.get("from") or "2026-01-01"
        end = request.args.get("to") or "2026-06-30"
        try:
            date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            abort(400)
        return start, end

    @app.get("/stats/dmp")
    @ctx.admin_required
    def dmp_stats():
        start, end = period()
        rows = stats_rows(start, end, every_episode="STAT/ES 01.01" in defects)
        groups: dict[str, list] = {}
        for r in rows:
            groups.setdefault(r["day"][:7], []).append(r)
        out = []
        for month, rs in [*sorted(groups.items()), ("total", rows)]:
            n = len(rs)
            k1 = sum(1 for r in rs if r["dmp_docs"] > 0)
            k2 = sum(1 for r in rs if r["information"] and r["consent"] == "accord")
            k3 = sum(1 for r in rs if r["information"] and r["consent"] == "opposition")
            out.append({"month": month, "n": n, "k1": k1, "k2": k2, "k3": k3,
                        "p1": _pct(k1, n), "p2": _pct(k2, n), "p3": _pct(k3, n)})
        return ctx.page("Statistiques DMP", STATS, start=start, end=end, rows=out)

    @app.get("/stats/dmp/consultations.csv")
    @ctx.admin_required
    def dmp_stats_csv():
        start, end = period()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["consultation_id", "date", "information", "consentement", "documents_dmp_integres"])
        for r in stats_rows(start, end):
            w.writerow([r["id"], r["day"], r["information"], r["consent"] or "non_recueilli", r["dmp_docs"]])
        return Response(buf.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=consultations-externes-{start}-{end}.csv"})


def _minimal_cda(p, d) -> str:
    from xml.sax.saxutils import escape
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.2.8.2.1"/><templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="{escape(d['unique_id'])}"/>
  <code code="{escape(d['type_code'])}" codeSystem="2.16.840.1.113883.6.1" displayName="{escape(d['type_display'])}"/>
  <title>{escape(d['title'])}</title>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <recordTarget><patientRole><id root="{escape(p['ins_oid'])}" extension="{escape(p['ins'])}"/></patientRole></recordTarget>
</ClinicalDocument>
"""

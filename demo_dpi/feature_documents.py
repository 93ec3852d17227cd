"""Patient documents in demo_dpi: document types, create → (review) → validate → send, CDA R2 N1, MSSanté.

A document is written for a (fictitious, INS-qualified) patient by a physician. Types with a review
step (compte rendu opératoire, d'imagerie) go through "à relire" → "relu" before validation; the
lettre de liaison de sortie goes straight from draft to validation. Validation freezes the document
as a CDA R2 level 1 (PDF body) and, when "Envoyer au DMP" is ticked (the default: feeding follows
non-opposition), queues it for the DMP; :mod:`demo_dpi.dmp_feed` sends it in the background. A
validated document can also be sent through MSSanté (SMTP here), every message carrying the
``X-MSS-NIL`` header with the product's Ségur registration number. The page
``/aide/circuit-des-documents`` documents the whole circuit and its actors; every screen links to it.

Defects (``demo_dpi.KNOWN_DEFECTS``): ``HOP VA 1.06`` drops the review stage from that page;
``DMP/CONF.04`` produces LDLs coded as CRH without the CI-SIS templateId; ``MSS/CONF.16`` omits the
``X-MSS-NIL`` header; ``HOP VA 1.04`` leaves "Envoyer au DMP" unticked by default.
"""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import Response, abort, redirect, request, url_for

from .cda_gen import DOC_TYPES, ESTABLISHMENT, FINESS, OID_IDNAT_PS, OID_INS_NIR_TEST, build_cda, document_pdf, nir_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS doc_patients (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ins TEXT NOT NULL UNIQUE,          -- INS matricule (NIR, test OID 1.2.250.1.213.1.4.10)
    ipp TEXT NOT NULL,
    nom TEXT NOT NULL, prenom TEXT NOT NULL, birth_date TEXT NOT NULL, sex TEXT NOT NULL,
    ins_qualified INTEGER NOT NULL DEFAULT 1,
    dmp_opposition INTEGER NOT NULL DEFAULT 0,  -- opposition to DMP feeding recorded in the DPI
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS circuit_documents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    patient_id INTEGER NOT NULL REFERENCES doc_patients(id),
    type_code TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    author_nom TEXT NOT NULL, author_prenom TEXT NOT NULL, author_rpps TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'brouillon',   -- brouillon | a_relire | relu | valide
    send_dmp INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    reviewed_by TEXT, reviewed_at TEXT, validated_at TEXT,
    cda BLOB
);
CREATE TABLE IF NOT EXISTS circuit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES circuit_documents(id),
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    actor TEXT NOT NULL, action TEXT NOT NULL, detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS circuit_dmp_sends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL UNIQUE REFERENCES circuit_documents(id),
    status TEXT NOT NULL,             -- programme | en_attente | envoye | annule | echec
    reason TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try REAL NOT NULL DEFAULT 0,
    dmp_ref TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS circuit_mss_sent (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id INTEGER NOT NULL REFERENCES circuit_documents(id),
    to_addr TEXT NOT NULL, message_id TEXT NOT NULL,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
"""

# Fictitious test patients (INS under the test OID). Their DMP situations are those of the DMP
# simulator's test patients: one ordinary, one who opposed feeding (recorded here, in the DPI), one
# with no DMP, one whose DMP refuses this establishment (insufficient authorisation).
SEED_PATIENTS = (
    ("280052A004012", "IPP-000123", "SEGURTEST", "Camille", "19800512", "F", 0, "DMP ouvert"),
    ("1750375108012", "IPP-000124", "OPPOSITEST", "Claude", "19750318", "M", 1,
     "opposition à l'alimentation du DMP enregistrée"),
    ("2901169123045", "IPP-000125", "SANSDMPTEST", "Dominique", "19901107", "F", 0, "pas de DMP"),
    ("1680713055078", "IPP-000126", "DROITSTEST", "Alix", "19680721", "M", 0,
     "DMP fermé à cet établissement"),
)

STATUS_LABELS = {"brouillon": "Brouillon", "a_relire": "À relire", "relu": "Relu, à valider",
                 "valide": "Validé"}
STATUS_BADGE = {"brouillon": "pending", "a_relire": "pending", "relu": "pending", "valide": "ok"}
DMP_LABELS = {"programme": "Envoi programmé (tâche de fond)", "en_attente": "En attente : DMP injoignable",
              "envoye": "Envoyé au DMP", "annule": "Envoi annulé", "echec": "Échec de l'envoi au DMP"}
DMP_BADGE = {"programme": "pending", "en_attente": "pending", "envoye": "ok", "annule": "err", "echec": "err"}

DEFAULT_CONTENT = ("Motif d'hospitalisation : bilan de démonstration.\n"
                   "Synthèse du séjour : séjour sans complication.\n"
                   "Traitement de sortie : aucun.\n"
                   "Suites à donner : consultation de suivi à un mois.")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _local(iso: str | None) -> str:
    if not iso:
        return ""
    from .cda_gen import PARIS
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S")


HELP_LINK = ('<a href="{{ url_for(\'documents_help\') }}" id="workflow-help" class="help-link">'
             'Aide : circuit des documents (création → relecture → validation → envoi)</a>')

STYLE = """<style>
 .help-link { display: inline-block; margin: 4px 0 12px; padding: 4px 10px; border: 1px solid #0b4f8a;
              border-radius: 4px; color: #0b4f8a; text-decoration: none; font-size: 14px; }
 .actions { display: flex; gap: 12px; align-items: center; margin: 14px 0; flex-wrap: wrap; }
 .actions form { margin: 0; }
 .panel { border: 1px solid #dde3ea; border-radius: 6px; padding: 10px 14px; margin: 12px 0; }
 .panel h2 { font-size: 16px; margin: 0 0 8px; }
 textarea { font-size: 14px; padding: 6px; border: 1px solid #9aa7b4; border-radius: 4px; width: 520px; }
 button.secondary { background: #fff; color: #8a1c1c; border: 1px solid #8a1c1c; }
 .checkbox { display: flex; gap: 8px; align-items: center; }
 .checkbox input { width: 18px; height: 18px; }
 .stage { border-left: 4px solid #0b4f8a; padding: 4px 14px; margin: 14px 0; }
 .stage h2 { font-size: 17px; margin: 4px 0; }
 .flow { display: flex; gap: 6px; align-items: center; margin: 10px 0 16px; flex-wrap: wrap; }
 .flow span.box { border: 1px solid #0b4f8a; border-radius: 4px; padding: 6px 10px; background: #eef2f7; }
</style>"""

LIST = STYLE + """<h1>Documents des patients</h1>""" + HELP_LINK + """
<p><a href="{{ url_for('circuit_new_document') }}" id="new-document">Rédiger un nouveau document</a></p>
<table id="documents"><thead><tr><th>N°</th><th>Patient</th><th>Type</th><th>Titre</th><th>Statut</th><th>DMP</th></tr></thead>
<tbody>{% for d in rows %}<tr data-document-id="{{ d.id }}"><td><a href="{{ url_for('circuit_document', doc_id=d.id) }}">{{ d.id }}</a></td>
<td>{{ d.nom }} {{ d.prenom }}</td><td>{{ types[d.type_code].label }}</td><td>{{ d.title }}</td>
<td>{{ status_labels[d.status] }}</td><td>{{ dmp_labels.get(d.dmp_status, '—') if d.dmp_status else ('non demandé' if not d.send_dmp else '—') }}</td></tr>
{% else %}<tr><td colspan="6">Aucun document.</td></tr>{% endfor %}</tbody></table>
<h2 style="font-size:17px;margin-top:22px">Patients</h2>
<table id="patients"><thead><tr><th>Nom</th><th>Prénom</th><th>Né(e) le</th><th>INS (test)</th><th>Identité</th><th>Alimentation DMP</th></tr></thead>
<tbody>{% for p in patients %}<tr><td>{{ p.nom }}</td><td>{{ p.prenom }}</td><td>{{ p.birth_date[6:8] }}/{{ p.birth_date[4:6] }}/{{ p.birth_date[:4] }}</td>
<td>{{ p.ins }}</td><td>{{ 'qualifiée' if p.ins_qualified else 'non qualifiée' }}</td>
<td>{{ 'opposition du patient' if p.dmp_opposition else 'non-opposition' }}</td></tr>{% endfor %}</tbody></table>"""

NEW = STYLE + """<h1>Rédiger un document</h1>""" + HELP_LINK + """
<form method="post" class="grid" action="{{ url_for('circuit_new_document') }}" id="document-form">
 <label for="patient">Patient</label><select id="patient" name="patient">
 {% for p in patients %}<option value="{{ p.ins }}" {% if p.ins == f.patient %}selected{% endif %}>{{ p.nom }} {{ p.prenom }} — INS {{ p.ins }}</option>{% endfor %}</select>
 <label for="doc-type">Type de document</label><select id="doc-type" name="doc_type">
 {% for t in types.values() %}<option value="{{ t.code }}" {% if t.code == f.doc_type %}selected{% endif %}>{{ t.label }}{% if not t.review %} (sans relecture){% endif %}</option>{% endfor %}</select>
 <label for="title">Titre</label><input id="title" name="title" value="{{ f.title }}" required>
 <label for="content">Contenu</label><textarea id="content" name="content" rows="6">{{ f.content }}</textarea>
 <label for="author-nom">Auteur : nom</label><input id="author-nom" name="author_nom" value="{{ f.author_nom }}" required>
 <label for="author-prenom">Auteur : prénom</label><input id="author-prenom" name="author_prenom" value="{{ f.author_prenom }}" required>
 <label for="author-rpps">Auteur : n° RPPS</label><input id="author-rpps" name="author_rpps" value="{{ f.author_rpps }}" pattern="[0-9]{11}" required>
 <label for="send-dmp">Envoi au DMP</label>
 <span class="checkbox" data-testid="send-dmp-field"><input type="checkbox" id="send-dmp" name="send_dmp" value="1" {% if f.send_dmp %}checked{% endif %}>
  <label for="send-dmp">Envoyer au DMP du patient à la validation</label></span>
 <span></span><button type="submit" id="create-document">Enregistrer le brouillon</button>
</form>"""

DOCUMENT = STYLE + """<h1>Document n° {{ d.id }} — {{ d.title }}</h1>""" + HELP_LINK + """
<dl id="document-detail">
 <dt>Patient</dt><dd>{{ p.nom }} {{ p.prenom }} — INS {{ p.ins }} ({{ 'identité qualifiée' if p.ins_qualified else 'identité non qualifiée' }})</dd>
 <dt>Type</dt><dd data-testid="doc-type">{{ t.label }} (LOINC {{ t.loinc }}){% if not t.review %} — circuit sans relecture{% else %} — circuit avec relecture{% endif %}</dd>
 <dt>Auteur</dt><dd>Dr {{ d.author_prenom }} {{ d.author_nom }} (RPPS {{ d.author_rpps }})</dd>
 <dt>Identifiant unique</dt><dd data-testid="unique-id">{{ d.uuid }}</dd>
 <dt>Statut</dt><dd><span class="badge {{ status_badge[d.status] }}" data-testid="doc-status">{{ status_labels[d.status] }}</span></dd>
 {% if d.reviewed_by %}<dt>Relu par</dt><dd>{{ d.reviewed_by }} le {{ local(d.reviewed_at) }}</dd>{% endif %}
 {% if d.validated_at %}<dt>Validé le</dt><dd>{{ local(d.validated_at) }}</dd>{% endif %}
</dl>
<div class="panel" id="dmp-panel"><h2>Envoi au DMP</h2>
 <div data-testid="dmp-status" data-state="{{ s.status if s else ('demande' if d.send_dmp else 'non_demande') }}">{% if not d.send_dmp %}<span class="badge err">Envoi au DMP non demandé</span>
 {% elif not s %}<span class="badge pending">Envoi demandé : il partira à la validation</span>
 {% else %}<span class="badge {{ dmp_badge[s.status] }}">{{ dmp_labels[s.status] }}</span>{% if s.reason %} — {{ s.reason }}{% endif %}
 {% if s.status == 'envoye' %} — référence DMP {{ s.dmp_ref }}{% endif %}{% if s.attempts %} ({{ s.attempts }} tentative(s)){% endif %}{% endif %}</div>
 {% if s and s.status in ('programme', 'en_attente') %}<form method="post" action="{{ url_for('circuit_cancel_dmp', doc_id=d.id) }}" style="margin-top:8px">
 <button type="submit" class="secondary" id="cancel-dmp">Annuler l'envoi au DMP</button></form>{% endif %}
</div>
<div class="actions">
 {% if d.status == 'brouillon' and t.review %}<form method="post" action="{{ url_for('circuit_submit_review', doc_id=d.id) }}"><button id="submit-review">Soumettre à la relecture</button></form>{% endif %}
 {% if d.status == 'a_relire' %}<form method="post" action="{{ url_for('circuit_review', doc_id=d.id) }}"><label for="reviewer">Relecteur</label>
  <input id="reviewer" name="reviewer" required> <button id="mark-reviewed">Marquer comme relu</button></form>{% endif %}
 {% if (d.status == 'brouillon' and not t.review) or d.status == 'relu' %}<form method="post" action="{{ url_for('circuit_validate', doc_id=d.id) }}"><button id="validate">Valider le document</button></form>{% endif %}
 {% if d.status == 'valide' %}<a id="download-cda" href="{{ url_for('circuit_cda', doc_id=d.id) }}">Document CDA R2 N1 (XML)</a>
  <a id="view-pdf" href="{{ url_for('circuit_pdf', doc_id=d.id) }}">Document PDF</a>{% endif %}
</div>
{% if d.status == 'valide' %}<div class="panel" id="mss-panel"><h2>Envoi par messagerie sécurisée de santé (MSSanté)</h2>
 <form method="post" action="{{ url_for('circuit_send_mss', doc_id=d.id) }}" class="grid"><label for="mss-to">Destinataire MSSanté</label>
 <input id="mss-to" name="to" type="email" required><span></span><button id="mss-send">Envoyer par MSSanté</button></form>
 {% if mss %}<ul id="mss-sent">{% for m in mss %}<li>Envoyé à {{ m.to_addr }} le {{ local(m.at) }}</li>{% endfor %}</ul>{% endif %}
</div>{% endif %}
<div class="panel"><h2>Historique du document</h2><table id="history"><thead><tr><th>Date</th><th>Acteur</th><th>Action</th><th>Détail</th></tr></thead>
<tbody>{% for e in events %}<tr><td>{{ local(e.at) }}</td><td>{{ e.actor }}</td><td>{{ e.action }}</td><td>{{ e.detail }}</td></tr>{% endfor %}</tbody></table></div>"""

HELP_STAGES = (
    ("creation", "1. Création (rédaction)",
     "Médecin auteur ; interne ou secrétaire médicale pour la saisie, sous la responsabilité du médecin auteur.",
     "Le document est rédigé pour un patient dont l'identité (INS) est qualifiée, à partir de l'écran "
     "« Rédiger un document » : choix du patient et du type de document, titre, contenu, auteur (n° RPPS). "
     "La case « Envoyer au DMP du patient à la validation » est cochée par défaut : l'alimentation du DMP "
     "suit le régime de non-opposition. Le document est enregistré au statut « Brouillon »."),
    ("relecture", "2. Relecture",
     "Relecteur désigné : médecin senior du service ou confrère ; le médecin auteur reprend le document si besoin.",
     "Pour les types de document avec relecture (compte rendu opératoire, compte rendu d'imagerie), l'auteur "
     "soumet le brouillon à la relecture (statut « À relire ») ; le relecteur le relit, le marque « Relu » "
     "(son nom et l'heure sont tracés dans l'historique), ou le renvoie à l'auteur. La lettre de liaison de "
     "sortie n'a pas d'étape de relecture : le médecin la valide directement après sa création."),
    ("validation", "3. Validation",
     "Médecin responsable du document (auteur ou médecin senior), identifié par son n° RPPS.",
     "La validation fige le document : il est produit au format CDA R2 niveau 1 (en-tête CI-SIS, corps PDF), "
     "avec l'INS du patient et l'identifiant RPPS de l'auteur. Un document validé ne peut plus être modifié. "
     "La validation déclenche l'envoi, sans autre action de l'utilisateur."),
    ("envoi", "4. Envoi (DMP et messagerie sécurisée)",
     "Système (tâche de fond, sans action de l'utilisateur) ; l'utilisateur peut annuler un envoi ; "
     "le médecin ou la secrétaire pour un envoi par messagerie sécurisée.",
     "Si la case « Envoyer au DMP » est cochée, le document part au DMP en tâche de fond dès sa validation ; "
     "l'écran reste utilisable pendant l'envoi. L'envoi est annulé automatiquement en cas d'opposition du "
     "patient, d'absence de DMP ou d'autorisation insuffisante. Si le DMP est injoignable, le document est "
     "mis en attente et part de lui-même dès que la connexion revient. Tant qu'il n'est pas parti, "
     "l'utilisateur peut annuler l'envoi depuis la fiche du document. Le document validé peut aussi être "
     "adressé à un correspondant par MSSanté ; chaque message porte l'en-tête X-MSS-NIL."),
)

HELP = STYLE + """<h1 id="workflow-doc-title">Circuit des documents : création → relecture → validation → envoi</h1>
<p>Cette page décrit le cycle de vie d'un document de santé produit dans Demo DPI, de sa création à son
envoi au DMP du patient et à ses correspondants, avec les acteurs de chaque étape. Elle est accessible
depuis chaque écran des documents (lien « Aide : circuit des documents »).</p>
<div class="flow" id="workflow-flow">{% for key, title, actors, text in stages %}<span class="box">{{ title }}</span>{% if not loop.last %}<span>→</span>{% endif %}{% endfor %}</div>
<div id="workflow-doc">{% for key, title, actors, text in stages %}
<section class="stage" data-stage="{{ key }}"><h2>{{ title }}</h2>
<p class="actors"><strong>Acteurs :</strong> {{ actors }}</p><p>{{ text }}</p></section>{% endfor %}</div>
<h2 style="font-size:17px">Circuit par type de document</h2>
<table id="workflow-types"><thead><tr><th>Type</th><th>LOINC</th><th>Circuit</th></tr></thead><tbody>
{% for t in types.values() %}<tr><td>{{ t.label }}</td><td>{{ t.loinc }}</td><td>{% if t.review %}création → relecture → validation → envoi{% else %}création → validation → envoi (sans relecture){% endif %}</td></tr>{% endfor %}
</tbody></table>"""


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        c.executescript(SCHEMA)
        for ins13, ipp, nom, prenom, birth, sex, opposition, note in SEED_PATIENTS:
            c.execute("INSERT OR IGNORE INTO doc_patients(ins, ipp, nom, prenom, birth_date, sex, dmp_opposition, note)"
                      " VALUES (?,?,?,?,?,?,?,?)", (ins13 + nir_key(ins13), ipp, nom, prenom, birth, sex,
                                                    opposition, note))
    settings = ctx.settings
    defects = settings.defects
    if settings.dmp_url:
        threading.Thread(target=_sender, args=(settings,), name="dmp-sender", daemon=True).start()
    ctx.nav.append(("Rédaction", "circuit_documents"))
    ctx.nav.append(("Aide documents", "documents_help"))
    common = dict(types=DOC_TYPES, status_labels=STATUS_LABELS, status_badge=STATUS_BADGE, dmp_labels=DMP_LABELS,
                  dmp_badge=DMP_BADGE, local=_local)

    def event(doc_id: int, actor: str, action: str, detail: str = "") -> None:
        ctx.conn().execute("INSERT INTO circuit_events(document_id, actor, action, detail) VALUES (?,?,?,?)",
                           (doc_id, actor, action, detail))

    def load(doc_id: int):
        d = ctx.conn().execute("SELECT * FROM circuit_documents WHERE id=?", (doc_id,)).fetchone()
        if d is None:
            abort(404)
        p = ctx.conn().execute("SELECT * FROM doc_patients WHERE id=?", (d["patient_id"],)).fetchone()
        return d, p, DOC_TYPES[d["type_code"]]

    def author(d) -> str:
        return f"Dr {d['author_prenom']} {d['author_nom']} (RPPS {d['author_rpps']})"

    @app.get("/circuit/documents")
    @ctx.admin_required
    def circuit_documents():
        rows = ctx.conn().execute(
            "SELECT d.*, p.nom, p.prenom, s.status AS dmp_status FROM circuit_documents d JOIN doc_patients p ON p.id=d.patient_id "
            "LEFT JOIN circuit_dmp_sends s ON s.document_id=d.id ORDER BY d.id DESC").fetchall()
        patients = ctx.conn().execute("SELECT * FROM doc_patients ORDER BY id").fetchall()
        return ctx.page("Documents", LIST, rows=rows, patients=patients, **common)

    @app.get("/aide/circuit-des-documents")
    @ctx.admin_required
    def documents_help():
        stages = [s for s in HELP_STAGES if not ("HOP VA 1.06" in defects and s[0] == "relecture")]
        return ctx.page("Aide : circuit des documents", HELP, stages=stages, **common)

    @app.route("/circuit/documents/new", methods=["GET", "POST"])
    @ctx.admin_required
    def circuit_new_document():
        patients = ctx.conn().execute("SELECT * FROM doc_patients ORDER BY id").fetchall()
        keys = ("patient", "doc_type", "title", "content", "author_nom", "author_prenom", "author_rpps")
        f = {k: request.form.get(k, "").strip() for k in keys}
        if request.method == "GET":
            f.update(doc_type="LDL", title=DOC_TYPES["LDL"].label, content=DEFAULT_CONTENT,
                     send_dmp="HOP VA 1.04" not in defects)
            return ctx.page("Nouveau document", NEW, f=f, patients=patients, **common)
        f["send_dmp"] = request.form.get("send_dmp") == "1"
        patient = ctx.conn().execute("SELECT * FROM doc_patients WHERE ins=?", (f["patient"],)).fetchone()
        errors = []
        if patient is None:
            errors.append("Patient inconnu.")
        if f["doc_type"] not in DOC_TYPES:
            errors.append("Type de document inconnu.")
        if not f["title"] or not f["content"]:
            errors.append("Le titre et le contenu sont obligatoires.")
        if not (f["author_rpps"].isdigit() and len(f["author_rpps"]) == 11):
            errors.append("Le n° RPPS de l'auteur doit comporter 11 chiffres.")
        if not f["author_nom"] or not f["author_prenom"]:
            errors.append("Le nom et le prénom de l'auteur sont obligatoires.")
        if errors:
            for e in errors:
                ctx.flash("error", e)
            return ctx.page("Nouveau document", NEW, 400, f=f, patients=patients, **common)
        cur = ctx.conn().execute(
            "INSERT INTO circuit_documents(uuid, patient_id, type_code, title, content, author_nom, author_prenom, "
            "author_rpps, send_dmp) VALUES (?,?,?,?,?,?,?,?,?)",
            (str(uuid.uuid4()), patient["id"], f["doc_type"], f["title"], f["content"], f["author_nom"].upper(),
             f["author_prenom"], f["author_rpps"], 1 if f["send_dmp"] else 0))
        doc_id = cur.lastrowid
        d, _, _ = load(doc_id)
        event(doc_id, author(d) + " — auteur", "Création du brouillon",
              "envoi au DMP demandé" if f["send_dmp"] else "envoi au DMP non demandé")
        ctx.flash("info", "Brouillon enregistré.")
        return redirect(url_for("circuit_document", doc_id=doc_id))

    @app.get("/circuit/documents/<int:doc_id>")
    @ctx.admin_required
    def circuit_document(doc_id: int):
        d, p, t = load(doc_id)
        s = ctx.conn().execute("SELECT * FROM circuit_dmp_sends WHERE document_id=?", (doc_id,)).fetchone()
        events = ctx.conn().execute("SELECT * FROM circuit_events WHERE document_id=? ORDER BY id",
                                    (doc_id,)).fetchall()
        mss = ctx.conn().execute("SELECT * FROM circuit_mss_sent WHERE document_id=? ORDER BY id", (doc_id,)).fetchall()
        return ctx.page(f"Document {doc_id}", DOCUMENT, d=d, p=p, t=t, s=s, events=events, mss=mss, **common)

    @app.post("/circuit/documents/<int:doc_id>/submit-review")
    @ctx.admin_required
    def circuit_submit_review(doc_id: int):
        d, _, t = load(doc_id)
        if d["status"] != "brouillon" or not t.review:
            abort(409)
        ctx.conn().execute("UPDATE circuit_documents SET status='a_relire' WHERE id=?", (doc_id,))
        event(doc_id, author(d) + " — auteur", "Soumission à la relecture")
        return redirect(url_for("circuit_document", doc_id=doc_id))

    @app.post("/circuit/documents/<int:doc_id>/review")
    @ctx.admin_required
    def circuit_review(doc_id: int):
        d, _, _ = load(doc_id)
        reviewer = request.form.get("reviewer", "").strip()
        if d["status"] != "a_relire" or not reviewer:
            abort(409)
        ctx.conn().execute("UPDATE circuit_documents SET status='relu', reviewed_by=?, reviewed_at=? WHERE id=?",
                           (reviewer, _now(), doc_id))
        event(doc_id, reviewer + " — relecteur", "Relecture terminée")
        return redirect(url_for("circuit_document", doc_id=doc_id))

    @app.post("/circuit/documents/<int:doc_id>/validate")
    @ctx.admin_required
    def circuit_validate(doc_id: int):
        d, p, t = load(doc_id)
        if not ((d["status"] == "brouillon" and not t.review) or d["status"] == "relu"):
            abort(409)
        now = datetime.now(timezone.utc)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        doc = dict(d) | {"validated_at_local": _local(stamp)}
        pdf = document_pdf(doc, dict(p), t)
        cda = build_cda(doc, dict(p), t, when=now, pdf=pdf, defective="DMP/CONF.04" in defects)
        c = ctx.conn()
        c.execute("UPDATE circuit_documents SET status='valide', validated_at=?, cda=? WHERE id=?", (stamp, cda, doc_id))
        event(doc_id, author(d) + " — validation", "Validation du document", "document CDA R2 N1 produit")
        if d["send_dmp"]:
            queue_dmp(c, doc_id, p)
        ctx.flash("info", "Document validé." + (" L'envoi au DMP se poursuit en tâche de fond."
                                                if d["send_dmp"] else ""))
        return redirect(url_for("circuit_document", doc_id=doc_id))

    def queue_dmp(c, doc_id: int, p) -> None:
        """Validation → the DMP send, decided here, performed by the background sender."""
        if p["dmp_opposition"]:
            c.execute("INSERT INTO circuit_dmp_sends(document_id, status, reason) VALUES (?, 'annule', ?)",
                      (doc_id, "opposition du patient à l'alimentation de son DMP"))
            event(doc_id, "Système", "Envoi au DMP annulé", "opposition du patient")
        elif not p["ins_qualified"]:
            c.execute("INSERT INTO circuit_dmp_sends(document_id, status, reason) VALUES (?, 'annule', ?)",
                      (doc_id, "identité du patient non qualifiée"))
            event(doc_id, "Système", "Envoi au DMP annulé", "identité non qualifiée")
        else:
            c.execute("INSERT INTO circuit_dmp_sends(document_id, status, next_try) VALUES (?, 'programme', ?)",
                      (doc_id, time.time() + settings.dmp_send_delay_s))
            event(doc_id, "Système", "Envoi au DMP programmé", "tâche de fond")

    @app.post("/circuit/documents/<int:doc_id>/dmp/cancel")
    @ctx.admin_required
    def circuit_cancel_dmp(doc_id: int):
        d, _, _ = load(doc_id)
        cur = ctx.conn().execute(
            "UPDATE circuit_dmp_sends SET status='annule', reason=?, updated_at=? WHERE document_id=? "
            "AND status IN ('programme', 'en_attente')", ("annulé par l'utilisateur", _now(), doc_id))
        if cur.rowcount:
            event(doc_id, f"Utilisateur ({ctx_user()})", "Envoi au DMP annulé", "à la demande de l'utilisateur")
            ctx.flash("info", "Envoi au DMP annulé.")
        else:
            ctx.flash("error", "Aucun envoi au DMP en cours pour ce document.")
        return redirect(url_for("circuit_document", doc_id=doc_id))

    def ctx_user() -> str:
        from flask import session
        return session.get("admin", "?")

    @app.get("/circuit/documents/<int:doc_id>/cda.xml")
    @ctx.admin_required
    def circuit_cda(doc_id: int):
        d, _, _ = load(doc_id)
        if not d["cda"]:
            abort(404)
        return Response(d["cda"], mimetype="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="document-{doc_id}-cda.xml"'})

    @app.get("/circuit/documents/<int:doc_id>/document.pdf")
    @ctx.admin_required
    def circuit_pdf(doc_id: int):
        d, p, t = load(doc_id)
        if not d["validated_at"]:
            abort(404)
        pdf = document_pdf(dict(d) | {"validated_at_local": _local(d["validated_at"])}, dict(p), t)
        return Response(pdf, mimetype="application/pdf")

    @app.post("/circuit/documents/<int:doc_id>/mss")
    @ctx.admin_required
    def circuit_send_mss(doc_id: int):
        d, p, t = load(doc_id)
        to = request.form.get("to", "").strip()
        if d["status"] != "valide" or "@" not in to:
            ctx.flash("error", "Destinataire MSSanté invalide ou document non validé.")
            return redirect(url_for("circuit_document", doc_id=doc_id))
        msg = EmailMessage()
        msg["From"] = settings.mss_from
        msg["To"] = to
        msg["Subject"] = f"{t.label} — {p['nom']} {p['prenom']}"
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(domain="demo-dpi.test")
        if "MSS/CONF.16" not in defects:
            msg["X-MSS-NIL"] = settings.mss_nil
        msg.set_content(f"Bonjour,\n\nVeuillez trouver ci-joint le document « {d['title']} » concernant "
                        f"{p['nom']} {p['prenom']}, validé par Dr {d['author_prenom']} {d['author_nom']}.\n\n"
                        "— Demo DPI (messagerie sécurisée de santé)\n")
        msg.add_attachment(d["cda"], maintype="application", subtype="xml", filename=f"document-{doc_id}-cda.xml")
        msg.add_attachment(document_pdf(dict(d) | {"validated_at_local": _local(d["validated_at"])}, dict(p), t),
                           maintype="application", subtype="pdf", filename=f"document-{doc_id}.pdf")
        try:
            ctx.send_mail(msg)
        except OSError as exc:
            app.logger.error("MSSanté message not sent: %s", exc)
            ctx.flash("error", "Le message MSSanté n'a pas pu être envoyé.")
            return redirect(url_for("circuit_document", doc_id=doc_id))
        ctx.conn().execute("INSERT INTO circuit_mss_sent(document_id, to_addr, message_id) VALUES (?,?,?)",
                           (doc_id, to, msg["Message-ID"]))
        event(doc_id, "Utilisateur — envoi MSSanté", "Envoi par messagerie sécurisée", f"à {to}")
        ctx.flash("info", f"Message MSSanté envoyé à {to}.")
        return redirect(url_for("circuit_document", doc_id=doc_id))


# --- background sender ------------------------------------------------------------------------------
log = logging.getLogger("demo_dpi.dmp_sender")
RETRY_S = 1.0   # while the DMP is unreachable, a queued document is retried this often


def _resource(d, p) -> dict:
    """The DocumentReference the DPI submits to the DMP for a validated document (see dmp_sim)."""
    t = DOC_TYPES[d["type_code"]]
    return {"resourceType": "DocumentReference", "masterIdentifier": {"value": d["uuid"]}, "status": "current",
            "type": {"coding": [{"system": "urn:oid:2.16.840.1.113883.6.1", "code": t.loinc,
                                 "display": t.loinc_display}]},
            "subject": {"identifier": {"system": f"urn:oid:{OID_INS_NIR_TEST}", "value": p["ins"]}},
            "date": d["validated_at"],
            "author": [{"identifier": {"system": f"urn:oid:{OID_IDNAT_PS}", "value": "8" + d["author_rpps"]},
                        "display": f"Dr {d['author_prenom']} {d['author_nom']}"}],
            "custodian": {"identifier": {"value": FINESS}, "display": ESTABLISHMENT},
            "securityLabel": [{"system": "urn:oid:2.16.840.1.113883.5.25", "code": "N"}],
            "description": d["title"],
            "content": [{"attachment": {"contentType": "text/xml", "title": d["title"],
                                        "data": base64.b64encode(d["cda"]).decode()}}]}


def _post(url: str, resource: dict) -> tuple[int, dict | None]:
    """(HTTP status, JSON body); status 0 when the DMP cannot be reached at all."""
    req = urllib.request.Request(url.rstrip("/") + "/fhir/DocumentReference", method="POST",
                                 data=json.dumps(resource).encode(),
                                 headers={"Content-Type": "application/fhir+json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read() or b"null")
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        log.info("DMP unreachable: %s", exc)
        return 0, None


def _sender(settings) -> None:
    """Send the validated documents whose DMP send is due, forever (a daemon thread of demo_dpi).

    Outcomes: 201 (or 409, already there) → sent; 404 (no DMP) / 403 (not authorised) → cancelled
    with the reason; no answer or 5xx → queued (``en_attente``), retried every RETRY_S seconds with no
    user action. Defect DMP/ALI/PROG.01: an unreachable DMP makes the send fail for good instead.
    """
    from . import db

    while True:
        time.sleep(0.25)
        try:
            conn = db.connect(settings.db_path)
        except Exception:  # noqa: BLE001 — the database may be briefly locked; try again
            continue
        try:
            due = conn.execute("SELECT s.id AS send_id, s.status AS send_status, d.*, p.ins FROM circuit_dmp_sends s "
                               "JOIN circuit_documents d ON d.id=s.document_id JOIN doc_patients p ON p.id=d.patient_id "
                               "WHERE s.status IN ('programme', 'en_attente') AND s.next_try <= ? ORDER BY s.id",
                               (time.time(),)).fetchall()
            for row in due:
                _send_one(conn, settings, row)
        except Exception:  # noqa: BLE001 — keep the sender alive whatever happens to one document
            log.exception("DMP sender")
        finally:
            conn.close()


def _send_one(conn, settings, row) -> None:
    def finish(status: str, reason: str = "", ref: str | None = None) -> bool:
        cur = conn.execute("UPDATE circuit_dmp_sends SET status=?, reason=?, dmp_ref=?, attempts=attempts+1, "
                           "updated_at=? WHERE id=? AND status IN ('programme', 'en_attente')",
                           (status, reason, ref, _now(), row["send_id"]))
        return cur.rowcount == 1

    def event(action: str, detail: str) -> None:
        conn.execute("INSERT INTO circuit_events(document_id, actor, action, detail) VALUES (?,?,?,?)",
                     (row["id"], "Système — envoi DMP en tâche de fond", action, detail))

    status, body = _post(settings.dmp_url, _resource(row, row))
    if status in (201, 409):
        ref = (body or {}).get("id") or row["uuid"]
        if finish("envoye", "", ref):
            event("Document envoyé au DMP", f"référence {ref}")
    elif status == 404:
        if finish("annule", "absence de DMP pour ce patient"):
            event("Envoi au DMP annulé", "le patient n'a pas de DMP")
    elif status == 403:
        if finish("annule", "autorisation insuffisante sur le DMP du patient"):
            event("Envoi au DMP annulé", "autorisation insuffisante")
    elif status == 0 or status >= 500:
        why = "DMP injoignable" if status == 0 else f"DMP indisponible (HTTP {status})"
        if "DMP/ALI/PROG.01" in settings.defects:
            if finish("echec", why + " ; envoi abandonné"):
                event("Échec de l'envoi au DMP", why)
            return
        first = row["send_status"] != "en_attente"
        conn.execute("UPDATE circuit_dmp_sends SET status='en_attente', reason=?, attempts=attempts+1, next_try=?, "
                     "updated_at=? WHERE id=? AND status IN ('programme', 'en_attente')",
                     (why + " : nouvelle tentative automatique", time.time() + RETRY_S, _now(), row["send_id"]))
        if first:
            event("Envoi au DMP mis en attente", why)
    else:
        if finish("annule", f"document refusé par le DMP (HTTP {status})"):
            event("Envoi au DMP annulé", f"refus du DMP (HTTP {status})")

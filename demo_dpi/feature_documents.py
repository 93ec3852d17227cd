"""Documents screens of demo_dpi: write → (review) → validate → send, CDA R2 N1, MSSanté, the document page.

Every document lives in the one document model (:mod:`demo_dpi.documents`) and belongs to a patient of
the one patient model (:mod:`demo_dpi.patients`). A physician writes a document for a patient; types
with a review step (compte rendu opératoire, d'imagerie) go through "à relire" → "relu" before
validation; the lettre de liaison de sortie goes straight from draft to validation. Validation freezes
the document as a CDA R2 level 1 (PDF body) and, when "Envoyer au DMP" is ticked (the default: feeding
follows non-opposition), asks :mod:`demo_dpi.dmp_feed` to send it in the background; a validated
document can also be sent from its page (the same path, at once). A validated document can be sent
through MSSanté (SMTP here), every message carrying the ``X-MSS-NIL`` header with the product's Ségur
registration number. The page ``/aide/circuit-des-documents`` documents the whole circuit and its
actors; every documents screen links to it. A document integrated from the DMP is checked against the
DMP (by its uniqueId) when its page opens, and the user is told when the patient deleted it there.

Defects (``demo_dpi.KNOWN_DEFECTS``): ``HOP VA 1.06`` drops the review stage from that page;
``DMP/CONF.04`` produces LDLs coded as CRH without the CI-SIS templateId; ``MSS/CONF.16`` omits the
``X-MSS-NIL`` header; ``HOP VA 1.04`` leaves "Envoyer au DMP" unticked by default; ``CDA/DD.05``
opens a document integrated from the DMP without checking it against the DMP.
"""
from __future__ import annotations

import urllib.parse
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import Response, abort, redirect, request, url_for

from . import dmp_feed, documents, patients
from .cda_gen import DOC_TYPES
from .documents import STATUS_BADGE, STATUS_LABELS, local_time, split_name

AREA = "Rédaction des documents"

DEFAULT_CONTENT = ("Motif d'hospitalisation : bilan de démonstration.\n"
                   "Synthèse du séjour : séjour sans complication.\n"
                   "Traitement de sortie : aucun.\n"
                   "Suites à donner : consultation de suivi à un mois.")

HELP_LINK = ('<a href="{{ url_for(\'documents_help\') }}" id="workflow-help" class="help-link">'
             'Aide : circuit des documents (création → relecture → validation → envoi)</a>')

LIST = """<h1>Documents des patients</h1>""" + HELP_LINK + """
<p><a href="{{ url_for('documents_new') }}" id="new-document">Rédiger un nouveau document</a> ·
<a href="{{ url_for('patients') }}">Patients</a></p>
<table id="documents"><thead><tr><th>N°</th><th>Patient</th><th>Type</th><th>Titre</th><th>Statut</th><th>DMP</th></tr></thead>
<tbody>{% for d in rows %}<tr data-document-id="{{ d.id }}"><td><a href="{{ url_for('document', doc_id=d.id) }}">{{ d.id }}</a></td>
<td><a href="{{ url_for('patient_file', patient_id=d.patient_id) }}">{{ d.nom }} {{ d.prenom }}</a></td><td>{{ types[d.kind].label }}</td><td>{{ d.title }}</td>
<td>{{ status_labels[d.status] }}</td><td>{{ dmp_labels[d.dmp_status] if d.dmp_status else ('non demandé' if not d.send_dmp else '—') }}</td></tr>
{% else %}<tr><td colspan="6">Aucun document.</td></tr>{% endfor %}</tbody></table>"""

NEW = """<h1>Rédiger un document</h1>""" + HELP_LINK + """
<form method="post" class="grid" action="{{ url_for('documents_new') }}" id="document-form">
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

DOCUMENT = """<h1>Document n° {{ d.id }} — {{ d.title }}</h1>{% if d.origin == 'local' %}""" + HELP_LINK + """{% endif %}
{% if deleted %}<div class="flash error" data-testid="dmp-deleted"><b>Ce document a été supprimé du DMP</b>{% if deleted_by == 'patient' %} par le patient{% endif %}{% if deleted_at %} le {{ deleted_at }}{% endif %}
(identifiant unique {{ d.unique_id }}). Vous pouvez supprimer la copie conservée dans le dossier.
<form method="post" action="{{ url_for('document_delete', doc_id=d.id) }}" style="margin-top:8px"><button id="delete-local" type="submit">Supprimer la copie locale</button></form></div>{% endif %}
{% if superseded %}<div class="flash info" data-testid="dmp-new-version">Une nouvelle version de ce document existe dans le DMP.</div>{% endif %}
<dl id="document-detail">
 <dt>Patient</dt><dd><a href="{{ url_for('patient_file', patient_id=p.id) }}">{{ p.nom }} {{ p.prenom }}</a> — INS {{ p.ins }} ({{ 'identité qualifiée' if p.ins_qualified else 'identité non qualifiée' }})</dd>
 <dt>Origine</dt><dd data-testid="origin">{{ d.origin }}</dd>
 <dt>Type</dt><dd data-testid="doc-type">{% if t %}{{ t.label }} (LOINC {{ t.loinc }}){% if not t.review %} — circuit sans relecture{% else %} — circuit avec relecture{% endif %}{% else %}{{ d.type_display }} ({{ d.type_code }}){% endif %}</dd>
 <dt>Auteur</dt><dd>{{ author }}</dd>
 <dt>Identifiant unique</dt><dd data-testid="unique-id">{{ d.unique_id }}</dd>
 <dt>Date</dt><dd>{{ d.doc_date }}</dd>
 <dt>Statut</dt><dd><span class="badge {{ status_badge[d.status] }}" data-testid="doc-status">{{ status_labels[d.status] }}</span></dd>
 {% if d.reviewed_by %}<dt>Relu par</dt><dd>{{ d.reviewed_by }} le {{ local(d.reviewed_at) }}</dd>{% endif %}
 {% if d.validated_at %}<dt>Validé le</dt><dd>{{ local(d.validated_at) }}</dd>{% endif %}
 {% if d.integrated_at %}<dt>Intégré le</dt><dd>{{ d.integrated_at }} par {{ d.integrated_by }}</dd>{% endif %}
</dl>
{% if d.origin == 'local' %}<div class="panel" id="dmp-panel"><h2>Envoi au DMP</h2>
 <div data-testid="dmp-status" data-state="{{ s.status if s else ('demande' if d.send_dmp else 'non_demande') }}">{% if not s and not d.send_dmp %}<span class="badge err">Envoi au DMP non demandé</span>
 {% elif not s %}<span class="badge pending">Envoi demandé : il partira à la validation</span>
 {% else %}<span class="badge {{ dmp_badge[s.status] }}">{{ dmp_labels[s.status] }}</span>{% if s.reason %} — {{ s.reason }}{% endif %}
 {% if s.status == 'envoye' %} — référence DMP {{ s.dmp_ref }}{% endif %}{% if s.attempts %} ({{ s.attempts }} tentative(s)){% endif %}{% endif %}</div>
 <div class="actions">{% if d.status == 'valide' and not (s and s.status in ('programme', 'en_attente')) %}<form method="post" action="{{ url_for('document_send_dmp', doc_id=d.id) }}">
 <button type="submit" id="send-dmp">{{ 'Envoyer de nouveau au DMP' if s and s.status == 'envoye' else 'Envoyer au DMP' }}</button></form>{% endif %}
 {% if s and s.status in ('programme', 'en_attente') %}<form method="post" action="{{ url_for('document_cancel_dmp', doc_id=d.id) }}">
 <button type="submit" class="secondary" id="cancel-dmp">Annuler l'envoi au DMP</button></form>{% endif %}</div>
</div>{% endif %}
<div class="actions">
 {% if d.status == 'brouillon' and t and t.review %}<form method="post" action="{{ url_for('document_submit_review', doc_id=d.id) }}"><button id="submit-review">Soumettre à la relecture</button></form>{% endif %}
 {% if d.status == 'a_relire' %}<form method="post" action="{{ url_for('document_review', doc_id=d.id) }}"><label for="reviewer">Relecteur</label>
  <input id="reviewer" name="reviewer" required> <button id="mark-reviewed">Marquer comme relu</button></form>{% endif %}
 {% if can_validate %}<form method="post" action="{{ url_for('document_validate', doc_id=d.id) }}"><button id="validate">Valider le document</button></form>{% endif %}
 {% if d.cda %}<a id="download-cda" href="{{ url_for('document_cda', doc_id=d.id) }}">Document CDA R2 N1 (XML)</a>{% endif %}
 {% if d.status == 'valide' %}<a id="view-pdf" href="{{ url_for('document_pdf', doc_id=d.id) }}">Document PDF</a>{% endif %}
</div>
{% if d.status == 'valide' %}<div class="panel" id="mss-panel"><h2>Envoi par messagerie sécurisée de santé (MSSanté)</h2>
 <form method="post" action="{{ url_for('document_send_mss', doc_id=d.id) }}" class="grid"><label for="mss-to">Destinataire MSSanté</label>
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
     "sortie et le compte rendu de consultation n'ont pas d'étape de relecture : le médecin les valide "
     "directement après leur création."),
    ("validation", "3. Validation",
     "Médecin responsable du document (auteur ou médecin senior), identifié par son n° RPPS.",
     "La validation fige le document : il est produit au format CDA R2 niveau 1 (en-tête CI-SIS, corps PDF), "
     "avec l'INS du patient et l'identifiant RPPS de l'auteur. Un document validé ne peut plus être modifié. "
     "La validation déclenche l'envoi, sans autre action de l'utilisateur."),
    ("envoi", "4. Envoi (DMP et messagerie sécurisée)",
     "Système (tâche de fond, sans action de l'utilisateur) ; l'utilisateur peut annuler un envoi ; "
     "le médecin ou la secrétaire pour un envoi par messagerie sécurisée.",
     "Si la case « Envoyer au DMP » est cochée, le document part au DMP en tâche de fond dès sa validation ; "
     "l'écran reste utilisable pendant l'envoi ; un document validé peut aussi être envoyé depuis sa fiche "
     "(« Envoyer au DMP »). L'envoi est annulé automatiquement si la non-opposition du patient n'est pas "
     "enregistrée pour l'épisode en cours (ou en cas d'opposition), d'absence de DMP ou d'autorisation "
     "insuffisante. Si le DMP est injoignable, le document est "
     "mis en attente et part de lui-même dès que la connexion revient. Tant qu'il n'est pas parti, "
     "l'utilisateur peut annuler l'envoi depuis la fiche du document. Le document validé peut aussi être "
     "adressé à un correspondant par MSSanté ; chaque message porte l'en-tête X-MSS-NIL."),
)

HELP = """<h1 id="workflow-doc-title">Circuit des documents : création → relecture → validation → envoi</h1>
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
    settings = ctx.settings
    defects = settings.defects
    conn = ctx.conn
    care_required = ctx.care_required
    if settings.dmp_url:
        dmp_feed.start(settings)
    ctx.nav.append(("Documents", "documents", "care"))
    ctx.nav.append(("Aide documents", "documents_help", "care"))
    common = dict(types=DOC_TYPES, status_labels=STATUS_LABELS, status_badge=STATUS_BADGE, dmp_labels=dmp_feed.LABELS,
                  dmp_badge=dmp_feed.BADGE, local=local_time)

    def who() -> str:
        pro = ctx.current_pro()
        return f"{pro['nom']} (RPPS {pro['rpps']})" if pro["rpps"].isdigit() else pro["nom"]

    def load(doc_id: int):
        d = documents.get(conn(), doc_id)
        if d is None:
            abort(404)
        return d, patients.get(conn(), d["patient_id"])

    def back(doc_id: int):
        return redirect(url_for("document", doc_id=doc_id))

    @app.get("/documents", endpoint="documents")
    @care_required
    def documents_list():
        rows = conn().execute(
            "SELECT d.*, p.nom, p.prenom, (SELECT s.status FROM dmp_sends s WHERE s.document_id=d.id ORDER BY s.id DESC"
            " LIMIT 1) AS dmp_status FROM documents d JOIN patients p ON p.id=d.patient_id WHERE d.origin='local'"
            " ORDER BY d.id DESC LIMIT 500").fetchall()
        return ctx.page("Documents", LIST, rows=rows, **common)

    @app.get("/aide/circuit-des-documents")
    @care_required
    def documents_help():
        stages = [s for s in HELP_STAGES if not ("HOP VA 1.06" in defects and s[0] == "relecture")]
        return ctx.page("Aide : circuit des documents", HELP, stages=stages, **common)

    @app.route("/documents/new", methods=["GET", "POST"])
    @care_required
    def documents_new():
        choices = conn().execute("SELECT * FROM patients ORDER BY nom, prenom").fetchall()
        keys = ("patient", "doc_type", "title", "content", "author_nom", "author_prenom", "author_rpps")
        f = {k: request.form.get(k, "").strip() for k in keys}
        if request.method == "GET":
            pro = ctx.current_pro()
            prenom, nom = split_name(pro["nom"]) if pro["rpps"].isdigit() else ("", "")
            f.update(patient=request.args.get("patient", ""), doc_type="LDL", title=DOC_TYPES["LDL"].label,
                     content=DEFAULT_CONTENT, author_nom=nom.upper(), author_prenom=prenom,
                     author_rpps=pro["rpps"] if pro["rpps"].isdigit() else "", send_dmp="HOP VA 1.04" not in defects)
            return ctx.page("Nouveau document", NEW, f=f, patients=choices, **common)
        f["send_dmp"] = request.form.get("send_dmp") == "1"
        patient = patients.find(conn(), f["patient"])
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
            return ctx.page("Nouveau document", NEW, 400, f=f, patients=choices, **common)
        c = conn()
        doc_id = documents.create_local(c, patient, patients.open_episode(c, patient["id"]), kind=f["doc_type"],
                                        title=f["title"], content=f["content"], author_nom=f["author_nom"].upper(),
                                        author_prenom=f["author_prenom"], author_rpps=f["author_rpps"],
                                        send_dmp=f["send_dmp"])
        ctx.flash("info", "Brouillon enregistré.")
        return back(doc_id)

    @app.get("/documents/<int:doc_id>")
    @care_required
    def document(doc_id: int):
        d, p = load(doc_id)
        deleted = superseded = False
        deleted_by = deleted_at = ""
        if d["origin"] == "DMP" and "CDA/DD.05" not in defects:
            answer = dmp_feed.call(settings.dmp_url, "GET", "/fhir/DocumentReference?" + urllib.parse.urlencode(
                {"identifier": d["unique_id"]}), ps=ctx.current_pro()["rpps"], headers=ctx.dmp_headers())
            if answer.status == 200:
                for e in answer.body.get("entry", []):
                    r = e["resource"]
                    ext = {x.get("url"): x.get("valueString") or x.get("valueDateTime") for x in r.get("extension") or []}
                    deleted = r.get("status") == "entered-in-error"
                    superseded = r.get("status") == "superseded"
                    deleted_by, deleted_at = ext.get("deletedBy", ""), ext.get("deletedAt", "")
        c = conn()
        events = c.execute("SELECT * FROM document_events WHERE document_id=? ORDER BY id", (doc_id,)).fetchall()
        mss = c.execute("SELECT * FROM mss_messages WHERE document_id=? ORDER BY id", (doc_id,)).fetchall()
        return ctx.page(f"Document {doc_id}", DOCUMENT, area=AREA if d["origin"] == "local" else "Dossier patient",
                        d=d, p=p, t=DOC_TYPES.get(d["kind"] or ""), author=documents.author_label(d),
                        s=dmp_feed.latest(c, doc_id), events=events, mss=mss, can_validate=documents.can_validate(d),
                        deleted=deleted, superseded=superseded, deleted_by=deleted_by, deleted_at=deleted_at, **common)

    @app.post("/documents/<int:doc_id>/submit-review")
    @care_required
    def document_submit_review(doc_id: int):
        d, _ = load(doc_id)
        if d["origin"] != "local" or d["status"] != "brouillon" or not DOC_TYPES[d["kind"]].review:
            abort(409)
        conn().execute("UPDATE documents SET status='a_relire' WHERE id=?", (doc_id,))
        documents.event(conn(), doc_id, documents.author_label(d) + " — auteur", "Soumission à la relecture")
        return back(doc_id)

    @app.post("/documents/<int:doc_id>/review")
    @care_required
    def document_review(doc_id: int):
        d, _ = load(doc_id)
        reviewer = request.form.get("reviewer", "").strip()
        if d["status"] != "a_relire" or not reviewer:
            abort(409)
        conn().execute("UPDATE documents SET status='relu', reviewed_by=?, reviewed_at=? WHERE id=?",
                       (reviewer, patients.now(), doc_id))
        documents.event(conn(), doc_id, reviewer + " — relecteur", "Relecture terminée")
        return back(doc_id)

    @app.post("/documents/<int:doc_id>/validate")
    @care_required
    def document_validate(doc_id: int):
        d, p = load(doc_id)
        if not documents.can_validate(d):
            abort(409)
        c = conn()
        documents.validate(c, d, p, defective_cda="DMP/CONF.04" in defects)
        if d["send_dmp"]:
            dmp_feed.request(c, settings, documents.get(c, doc_id), p, actor="Système",
                             delay_s=settings.dmp_send_delay_s)
        ctx.flash("info", "Document validé." + (" L'envoi au DMP se poursuit en tâche de fond."
                                                if d["send_dmp"] else ""))
        return back(doc_id)

    @app.post("/documents/<int:doc_id>/send")
    @care_required
    def document_send_dmp(doc_id: int):
        d, p = load(doc_id)
        if d["origin"] != "local" or d["status"] != "valide":
            abort(409)
        s = dmp_feed.send_now(conn(), settings, d, p, actor=who())
        if s["status"] == "envoye":
            ctx.flash("info", f"Document envoyé au DMP (référence {s['dmp_ref']}).")
        elif s["status"] == "annule":
            ctx.flash("error", f"Envoi au DMP {'annulé' if s['attempts'] else 'refusé'} : {s['reason']}.")
        elif s["status"] == "en_attente":
            ctx.flash("info", "DMP injoignable : l'envoi est mis en attente et repartira de lui-même.")
        elif s["status"] == "programme":
            ctx.flash("info", "Envoi au DMP déjà programmé : il part en tâche de fond.")
        else:
            ctx.flash("error", f"Échec de l'envoi au DMP : {s['reason']}.")
        return back(doc_id)

    @app.post("/documents/<int:doc_id>/send/cancel")
    @care_required
    def document_cancel_dmp(doc_id: int):
        load(doc_id)
        if dmp_feed.cancel(conn(), doc_id, f"Utilisateur ({who()})"):
            ctx.flash("info", "Envoi au DMP annulé.")
        else:
            ctx.flash("error", "Aucun envoi au DMP en cours pour ce document.")
        return back(doc_id)

    @app.get("/documents/<int:doc_id>/cda.xml")
    @care_required
    def document_cda(doc_id: int):
        d, _ = load(doc_id)
        if not d["cda"]:
            abort(404)
        return Response(d["cda"], mimetype="application/xml",
                        headers={"Content-Disposition": f'attachment; filename="document-{doc_id}-cda.xml"'})

    @app.get("/documents/<int:doc_id>/document.pdf")
    @care_required
    def document_pdf(doc_id: int):
        d, p = load(doc_id)
        if d["origin"] != "local" or not d["validated_at"]:
            abort(404)
        return Response(documents.pdf(d, p), mimetype="application/pdf")

    @app.post("/documents/<int:doc_id>/mss")
    @care_required
    def document_send_mss(doc_id: int):
        d, p = load(doc_id)
        to = request.form.get("to", "").strip()
        if d["origin"] != "local" or d["status"] != "valide" or "@" not in to:
            ctx.flash("error", "Destinataire MSSanté invalide ou document non validé.")
            return back(doc_id)
        msg = EmailMessage()
        msg["From"] = settings.mss_from
        msg["To"] = to
        msg["Subject"] = f"{DOC_TYPES[d['kind']].label} — {p['nom']} {p['prenom']}"
        msg["Date"] = format_datetime(datetime.now(timezone.utc))
        msg["Message-ID"] = make_msgid(domain="demo-dpi.test")
        if "MSS/CONF.16" not in defects:
            msg["X-MSS-NIL"] = settings.mss_nil
        msg.set_content(f"Bonjour,\n\nVeuillez trouver ci-joint le document « {d['title']} » concernant "
                        f"{p['nom']} {p['prenom']}, validé par {d['author']}.\n\n"
                        "— Demo DPI (messagerie sécurisée de santé)\n")
        msg.add_attachment(d["cda"], maintype="application", subtype="xml", filename=f"document-{doc_id}-cda.xml")
        msg.add_attachment(documents.pdf(d, p), maintype="application", subtype="pdf",
                           filename=f"document-{doc_id}.pdf")
        try:
            ctx.send_mail(msg)
        except OSError as exc:
            app.logger.error("MSSanté message not sent: %s", exc)
            ctx.flash("error", "Le message MSSanté n'a pas pu être envoyé.")
            return back(doc_id)
        conn().execute("INSERT INTO mss_messages(document_id, to_addr, message_id) VALUES (?,?,?)",
                       (doc_id, to, msg["Message-ID"]))
        documents.event(conn(), doc_id, "Utilisateur — envoi MSSanté", "Envoi par messagerie sécurisée", f"à {to}")
        ctx.flash("info", f"Message MSSanté envoyé à {to}.")
        return back(doc_id)

    @app.post("/documents/<int:doc_id>/delete")
    @care_required
    def document_delete(doc_id: int):
        d, _ = load(doc_id)
        if d["origin"] != "DMP":
            abort(409)  # a document produced here is the original, not a copy
        documents.delete(conn(), doc_id)
        ctx.flash("info", f"Copie locale du document « {d['title']} » supprimée du dossier.")
        return redirect(url_for("patient_file", patient_id=d["patient_id"]))

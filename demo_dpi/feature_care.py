"""Care screens of demo_dpi: the patient file, care episodes with their DMP consent, DMP consultation.

- professionals log in with their (simulated) CPS card: RPPS + name (``/care/login``);
- the patients of the one patient model (:mod:`demo_dpi.patients`, ``/patients``): test INS only;
- care episodes (hospitalisation or external consultation), from admission to discharge; each carries
  its consent record: patient informed about the DMP, non-opposition or opposition, and for a minor
  the *connexion secrète* modality, asked at admission and dropped at discharge;
- when a patient file opens, the DPI queries the DMP (``Settings.dmp_url``, see ``dmp_sim``) if the
  non-opposition of the current episode is recorded, shows with no click the documents added by other
  structures since the patient's last visit (counts by type), lists the DMP's documents and lets the
  user integrate one into the file (:mod:`demo_dpi.documents`);
- the file lists every document of the patient; a consultation report can be written and signed
  here, then sent to the DMP from its screen (:mod:`demo_dpi.feature_documents`, :mod:`demo_dpi.dmp_feed`).

Episodes also come from the hospital's admission feed (IHE PAM, :mod:`demo_dpi.pam`): the file then
names the visit number and the message that opened the episode, and a connexion secrète received at
admission is shown like one answered in the DPI's form. While an episode carries the connexion secrète,
the DMP is not consulted from the file (:func:`demo_dpi.patients.secret_block`).

Defects (``--defect``): DMP/CONF.16 (secret connection kept on the patient, not asked again),
DMP/CONF.16-discharge (after a discharge message, the secret connection stays shown: kept on the
patient by :mod:`demo_dpi.pam`), DMP/UX.15 (new-documents banner hidden behind a click), DMP/CONF.06
(DMP consulted without non-opposition).
"""
from __future__ import annotations

import urllib.parse
from collections import Counter

from flask import abort, redirect, request, session, url_for

from . import documents, patients
from .cda_gen import FINESS
from .dmp_feed import call
from .documents import split_name
from .patients import CONSENT_LABELS, KINDS, TEST_INS_OIDS

AREA = "Dossier patient"

CARE_LOGIN = """<h1>Connexion du professionnel de santé</h1>
<p>Carte CPS (simulée) : saisissez votre n° RPPS et votre nom d'exercice.</p>
<form method="post" class="grid" action="{{ url_for('care_login') }}">
 <label for="rpps">N° RPPS</label><input id="rpps" name="rpps" pattern="[0-9]{11}" required>
 <label for="nom">Nom d'exercice</label><input id="nom" name="nom" required>
 <span></span><button type="submit" id="care-login">Se connecter</button>
</form>{% for option in login_options %}{{ option|safe }}{% endfor %}"""

PATIENTS = """<h1>Patients</h1>
<p><a href="{{ url_for('new_patient') }}" id="new-patient">Enregistrer un patient</a></p>
<table id="patients"><thead><tr><th>N°</th><th>Nom</th><th>Prénom</th><th>Naissance</th><th>INS (test)</th><th>Épisode en cours</th><th>Consentement DMP</th></tr></thead>
<tbody>{% for p in rows %}<tr data-patient-id="{{ p.id }}"><td><a href="{{ url_for('patient_file', patient_id=p.id) }}">{{ p.id }}</a></td><td>{{ p.nom }}</td>
<td>{{ p.prenom }}</td><td>{{ p.naissance }}</td><td>{{ p.ins }}</td><td>{{ kinds[p.open_kind] if p.open_kind else '—' }}</td>
<td>{{ consent_labels[p.open_consent] if p.open_kind else '—' }}</td></tr>
{% else %}<tr><td colspan="7">Aucun patient.</td></tr>{% endfor %}</tbody></table>"""

NEW_PATIENT = """<h1>Enregistrer un patient (identité INS qualifiée)</h1>
<form method="post" class="grid" action="{{ url_for('new_patient') }}" id="patient-form">
 <label for="nom">Nom de naissance</label><input id="nom" name="nom" value="{{ f.nom }}" required>
 <label for="prenom">Premier prénom</label><input id="prenom" name="prenom" value="{{ f.prenom }}" required>
 <label for="naissance">Date de naissance</label><input id="naissance" name="naissance" type="date" value="{{ f.naissance }}" required>
 <label for="sexe">Sexe</label><select id="sexe" name="sexe"><option>F</option><option>M</option></select>
 <label for="ins">Matricule INS</label><input id="ins" name="ins" value="{{ f.ins }}" pattern="[0-9]{13,15}" required>
 <label for="ins_oid">OID du matricule</label><select id="ins_oid" name="ins_oid">{% for oid, label in oids.items() %}<option value="{{ oid }}">{{ oid }} — {{ label }}</option>{% endfor %}</select>
 <span></span><button type="submit" id="create-patient">Enregistrer</button>
</form>"""

ADMISSION = """<h1>Nouvel épisode de soins — {{ p.prenom }} {{ p.nom }}</h1>
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

PATIENT_FILE = """
{% if secret %}<div class="flash error" data-testid="secret-connection" style="font-size:16px"><b>CONNEXION SECRÈTE</b> — patient mineur :
connexion secrète au DMP demandée pour l'épisode en cours{% if secret_episode %} (épisode n° {{ secret_episode }}){% endif %}{% if secret_source %}, {{ secret_source }}{% endif %}. Aucune trace visible des représentants légaux.</div>{% endif %}
<h1>Dossier patient — {{ p.prenom }} {{ p.nom }}</h1>
<dl id="identity"><dt>Date de naissance</dt><dd>{{ p.naissance }}{% if minor %} (mineur){% endif %}</dd><dt>Sexe</dt><dd>{{ p.sexe }}</dd>
<dt>INS</dt><dd data-testid="ins">{{ p.ins }} (OID {{ p.ins_oid }}) {% if p.ins_qualified %}<span class="badge ok" data-testid="ins-status">INS qualifiée</span>{% else %}<span class="badge pending" data-testid="ins-status">INS non qualifiée</span>{% endif %}</dd><dt>Dernière venue</dt><dd data-testid="last-visit">{{ last_visit or 'aucune venue antérieure' }}</dd></dl>
<h2>Épisode en cours</h2>
{% if ep %}<div data-testid="episode" class="flash info">Épisode n° {{ ep.id }} — {{ kinds[ep.kind] }} depuis le {{ ep.started_at }} (ouvert par {{ ep.professional }}){% if ep.visit_number %} — venue n° {{ ep.visit_number }}, reçue du flux d'admission (message {{ ep.admit_message }}){% endif %}<br>
Information DMP : <b>{{ 'délivrée' if ep.information else 'non délivrée' }}</b> — Consentement DMP : <b data-testid="consent-status">{{ consent_labels[ep.consent] }}</b>
{% if ep.secret_connection %} — Connexion secrète : <b>{{ ep.secret_connection }}</b>{% endif %}</div>
<form method="post" action="{{ url_for('episode_consent', patient_id=p.id) }}" style="display:inline">
 <select id="consent" name="consent"><option value="">Non recueilli</option><option value="accord" {% if ep.consent=='accord' %}selected{% endif %}>Non-opposition du patient</option><option value="opposition" {% if ep.consent=='opposition' %}selected{% endif %}>Opposition du patient</option></select>
 <input type="hidden" name="information" value="1"><button id="save-consent" type="submit">Enregistrer le consentement</button></form>
<form method="post" action="{{ url_for('discharge', patient_id=p.id) }}" style="display:inline"><button id="discharge" type="submit">Sortie du patient (fin d'épisode)</button></form>
{% else %}<p data-testid="no-episode">Aucun épisode en cours. <a href="{{ url_for('new_episode', patient_id=p.id) }}" id="new-episode">Nouvel épisode de soins</a></p>{% endif %}
<h2>DMP</h2>
<p class="flash info" data-testid="dmp-identity-notice">Les consultations du DMP s'effectuent sous votre identifiant national ({{ pro.nom }}, RPPS {{ pro.rpps }}) ; elles sont tracées par le DMP et notifiées au patient dans Mon espace santé. <a href="{{ url_for('dmp_help') }}" id="dmp-help-link">Aide : le DMP dans le dossier patient</a></p>
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
<td>{% if d.integrated %}dans le dossier{% elif ep %}<form method="post" action="{{ url_for('integrate', patient_id=p.id) }}"><input type="hidden" name="id" value="{{ d.id }}"><button type="submit" class="integrate">Intégrer au dossier</button></form>{% endif %}</td></tr>
{% else %}<tr><td colspan="6">Aucun document dans le DMP.</td></tr>{% endfor %}</tbody></table>{% endif %}
<p><a href="{{ url_for('consult_dmp', patient_id=p.id) }}" id="consult-dmp">Consulter le DMP</a></p>
<h2>Documents du dossier</h2>
<p><a href="{{ url_for('new_document', patient_id=p.id) }}" id="new-document">Rédiger un compte rendu de consultation</a> ·
<a href="{{ url_for('documents_new', patient=p.ins) }}" id="new-circuit-document">Rédiger un autre document (lettre de liaison, compte rendu…)</a></p>
<table id="local-documents"><thead><tr><th>N°</th><th>Titre</th><th>Type</th><th>Origine</th><th>Statut</th><th>Date</th></tr></thead><tbody>
{% for d in local %}<tr data-doc-id="{{ d.id }}" data-unique-id="{{ d.unique_id }}"><td><a href="{{ url_for('document', doc_id=d.id) }}">{{ d.id }}</a></td><td>{{ d.title }}</td><td>{{ d.type_display }}</td><td>{{ d.origin }}</td><td>{{ status_labels[d.status] }}</td><td>{{ d.doc_date }}</td></tr>
{% else %}<tr><td colspan="6">Aucun document.</td></tr>{% endfor %}</tbody></table>"""

NEW_DOCUMENT = """<h1>Compte rendu de consultation — {{ p.prenom }} {{ p.nom }}</h1>
<p>Rédigé et signé par {{ pro.nom }} (RPPS {{ pro.rpps }}) : le document est validé à l'enregistrement,
puis peut être envoyé au DMP depuis sa fiche.</p>
<form method="post" class="grid" action="{{ url_for('new_document', patient_id=p.id) }}">
 <label for="title">Titre</label><input id="title" name="title" required>
 <label for="text">Texte</label><input id="text" name="text" required>
 <span></span><button type="submit" id="save-document">Enregistrer et valider</button></form>"""

CONSULT = """<h1>Consultation du DMP — {{ p.prenom }} {{ p.nom }}</h1>
<div class="flash {{ 'error' if refused else 'info' }}" data-testid="dmp-consult-result">{{ message }}</div>
<p><a href="{{ url_for('patient_file', patient_id=p.id) }}">Retour au dossier</a></p>"""


def register(app, ctx) -> None:
    settings = ctx.settings
    defects = settings.defects
    conn = ctx.conn
    care_required = ctx.care_required
    ctx.nav.append(("Patients", "patients", "care"))

    def pro_label() -> str:
        p = ctx.current_pro()
        return f"{p['nom']} ({p['rpps']})"

    def patient_or_404(patient_id: int):
        p = patients.get(conn(), patient_id)
        if p is None:
            abort(404)
        return p

    def dmp_get(path: str):
        return call(settings.dmp_url, "GET", path, ps=(ctx.current_pro() or {}).get("rpps", ""),
                    headers=ctx.dmp_headers())

    def dmp_view(p, ep) -> dict:
        if patients.secret_block(ep):
            return {"state": "blocked", "reason": patients.secret_block(ep)}
        reason = patients.dmp_refusal(ep, "consultation")
        if reason and "DMP/CONF.06" not in defects:
            return {"state": "blocked", "reason": reason}
        q = urllib.parse.urlencode({"patient.identifier": f"urn:oid:{p['ins_oid']}|{p['ins']}", "status": "current"})
        answer = dmp_get("/fhir/DocumentReference?" + q)
        if answer.status == 0:
            return {"state": "error", "reason": answer.error}
        if answer.status != 200:
            return {"state": "error", "reason": f"réponse HTTP {answer.status}"}
        integrated = {d["unique_id"] for d in documents.of_patient(conn(), p["id"])}
        docs = []
        for e in answer.body.get("entry", []):
            r = e["resource"]
            coding = (r.get("type") or {}).get("coding", [{}])[0]
            docs.append({"id": r["id"], "uid": r["masterIdentifier"]["value"], "date": r.get("date", ""),
                         "type": coding.get("display") or coding.get("code", ""), "title": r.get("description", ""),
                         "author": (r.get("author") or [{}])[0].get("display", ""),
                         "custodian": (r.get("custodian") or {}).get("display", ""),
                         "own": ((r.get("custodian") or {}).get("identifier") or {}).get("value") == FINESS,
                         "integrated": r["masterIdentifier"]["value"] in integrated})
        since = patients.last_visit(conn(), p["id"])
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
            return ctx.page("Connexion", CARE_LOGIN, 400, area="Connexion", login_options=ctx.login_options)
        return ctx.page("Connexion", CARE_LOGIN, area="Connexion", login_options=ctx.login_options)

    @app.get("/care/logout")
    def care_logout():
        session.pop("pro", None)
        return redirect(url_for("care_login"))

    # -- patients ---------------------------------------------------------------------------------
    @app.get("/patients", endpoint="patients")
    @care_required
    def patients_list():
        return ctx.page("Patients", PATIENTS, rows=patients.listing(conn()), kinds=KINDS, consent_labels=CONSENT_LABELS)

    @app.route("/patients/new", methods=["GET", "POST"])
    @care_required
    def new_patient():
        f = {k: request.form.get(k, "").strip() for k in ("nom", "prenom", "naissance", "sexe", "ins", "ins_oid")}
        if request.method == "GET":
            return ctx.page("Nouveau patient", NEW_PATIENT, f=f, oids=TEST_INS_OIDS)
        errors = patients.form_errors(f)
        if errors:
            for e in errors:
                ctx.flash("error", e)
            return ctx.page("Nouveau patient", NEW_PATIENT, 400, f=f, oids=TEST_INS_OIDS)
        patient_id, created = patients.create(conn(), f)
        if not created:
            ctx.flash("info", "Ce patient (même INS) est déjà enregistré : son dossier est ouvert.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    @app.get("/patients/<int:patient_id>")
    @care_required
    def patient_file(patient_id: int):
        p = patient_or_404(patient_id)
        ep = patients.open_episode(conn(), patient_id)
        secret_source = ""
        if "DMP/CONF.16" in defects:
            secret, secret_episode = p["secret_connection"] == "oui", None
        else:
            secret = bool(ep and ep["secret_connection"] == "oui")
            secret_episode = ep["id"] if secret else None
            if secret and ep["admit_message"]:
                secret_source = f"recueillie à l'admission (message {ep['admit_message']} du flux d'admission)"
            elif not secret and "DMP/CONF.16-discharge" in defects and p["secret_connection"] == "oui":
                secret = True   # the defect: kept on the patient by the discharge message
        return ctx.page(f"Dossier {p['nom']}", PATIENT_FILE, p=p, ep=ep, kinds=KINDS, consent_labels=CONSENT_LABELS,
                        minor=patients.is_minor(p), secret=secret, secret_episode=secret_episode,
                        secret_source=secret_source,
                        last_visit=patients.last_visit(conn(), patient_id), dmp=dmp_view(p, ep),
                        local=documents.of_patient(conn(), patient_id), status_labels=documents.STATUS_LABELS,
                        hide_banner="DMP/UX.15" in defects, pro=ctx.current_pro())

    @app.route("/patients/<int:patient_id>/episodes/new", methods=["GET", "POST"])
    @care_required
    def new_episode(patient_id: int):
        p = patient_or_404(patient_id)
        minor = patients.is_minor(p)
        ask_secret = minor and not ("DMP/CONF.16" in defects and p["secret_connection"])
        if request.method == "GET":
            if patients.open_episode(conn(), patient_id):
                ctx.flash("error", "Un épisode est déjà en cours pour ce patient.")
                return redirect(url_for("patient_file", patient_id=patient_id))
            return ctx.page("Nouvel épisode", ADMISSION, p=p, kinds=KINDS,
                            kind=request.args.get("kind", "hospitalisation"), ask_secret=ask_secret)
        kind = request.form.get("kind", "")
        consent = request.form.get("consent", "")
        secret = request.form.get("secret_connection", "") or None
        if kind not in KINDS or consent not in CONSENT_LABELS or (ask_secret and secret not in ("oui", "non")):
            ctx.flash("error", "Formulaire incomplet : type d'épisode, consentement et, pour un mineur, connexion secrète.")
            return ctx.page("Nouvel épisode", ADMISSION, 400, p=p, kinds=KINDS, kind=kind, ask_secret=ask_secret)
        if patients.open_episode(conn(), patient_id):
            abort(409)
        if "DMP/CONF.16" in defects:
            if secret:
                conn().execute("UPDATE patients SET secret_connection=? WHERE id=?", (secret, patient_id))
            secret = None
        conn().execute("INSERT INTO episodes(patient_id, kind, started_at, professional, information, consent,"
                       " secret_connection) VALUES (?,?,?,?,?,?,?)",
                       (patient_id, kind, patients.now(), pro_label(), 1 if request.form.get("information") else 0,
                        consent, secret if minor else None))
        ctx.flash("info", f"Épisode ouvert : {KINDS[kind]}.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    @app.post("/patients/<int:patient_id>/consent")
    @care_required
    def episode_consent(patient_id: int):
        ep = patients.open_episode(conn(), patient_id)
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
        ep = patients.open_episode(conn(), patient_id)
        if ep is None:
            abort(400)
        # the episode's consent record (with the secret-connection modality) ends with the episode
        conn().execute("UPDATE episodes SET ended_at=? WHERE id=?", (patients.now(), ep["id"]))
        ctx.flash("info", f"Sortie enregistrée : fin de l'épisode n° {ep['id']}.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    # -- the DMP ----------------------------------------------------------------------------------
    @app.get("/patients/<int:patient_id>/dmp")
    @care_required
    def consult_dmp(patient_id: int):
        p = patient_or_404(patient_id)
        view = dmp_view(p, patients.open_episode(conn(), patient_id))
        if view["state"] == "blocked":
            msg, refused = f"Consultation du DMP refusée : {view['reason']}.", True
        elif view["state"] == "error":
            msg, refused = f"DMP indisponible : {view['reason']}.", True
        else:
            msg, refused = f"DMP consulté : {len(view['docs'])} document(s) disponible(s).", False
        return ctx.page("Consultation du DMP", CONSULT, 403 if refused else 200, p=p, message=msg, refused=refused)

    @app.post("/patients/<int:patient_id>/integrate")
    @care_required
    def integrate(patient_id: int):
        p = patient_or_404(patient_id)
        ep = patients.open_episode(conn(), patient_id)
        reason = patients.dmp_refusal(ep, "consultation")
        if patients.secret_block(ep) or (reason and "DMP/CONF.06" not in defects):
            ctx.flash("error", f"Intégration refusée : {patients.secret_block(ep) or reason}.")
            return redirect(url_for("patient_file", patient_id=patient_id))
        doc_id = urllib.parse.quote(request.form.get("id", ""))
        res = dmp_get(f"/fhir/DocumentReference/{doc_id}")
        if res.status != 200:
            abort(404)
        payload = dmp_get(f"/fhir/Binary/{doc_id}").body
        documents.integrate(conn(), p, ep, res.body, payload if isinstance(payload, bytes) else None, pro_label())
        ctx.flash("info", "Document intégré au dossier depuis le DMP.")
        return redirect(url_for("patient_file", patient_id=patient_id))

    # -- a consultation report, written and signed in the file ------------------------------------
    @app.route("/patients/<int:patient_id>/documents/new", methods=["GET", "POST"])
    @care_required
    def new_document(patient_id: int):
        p = patient_or_404(patient_id)
        pro = ctx.current_pro()
        if request.method == "GET":
            return ctx.page("Nouveau document", NEW_DOCUMENT, p=p, pro=pro)
        prenom, nom = split_name(pro["nom"])
        c = conn()
        doc_id = documents.create_local(
            c, p, patients.open_episode(c, patient_id), kind="CRC",
            title=request.form.get("title", "").strip() or "Compte rendu de consultation",
            content=request.form.get("text", ""), author_nom=nom, author_prenom=prenom,
            author_rpps=pro["rpps"] if pro["rpps"].isdigit() else "", send_dmp=False)
        documents.validate(c, documents.get(c, doc_id), p, defective_cda="DMP/CONF.04" in defects)
        return redirect(url_for("document", doc_id=doc_id))

"""French HTML blocks a reviewer reads: the cover, the checks table and the evidence annex.

The same blocks appear inline in JupyterLab and in the PDF proof (which is printed from the executed
notebook), so what the referencing team sees while running is what the reviewer gets.
"""
from __future__ import annotations

from . import fr
from .evidence import PRODUCED_BY_DRIVER, esc

STEP_STATUS = {"done": "exécutée", "error": "en erreur", "skipped": "non exécutée", "pending": "en cours"}
KIND_FR = {"screenshot": "capture d'écran", "email": "message (.eml)", "exchange": "échange (requête et réponse)",
           "attachment": "pièce jointe", "observation": "relevé (JSON)", "sms": "SMS (fichier de la passerelle)",
           "hl7": "message HL7 v2 (.hl7)"}


def _verdict_badge(verdict: str) -> str:
    return f'<span class="segur-verdict {verdict.replace(" ", "_")}">{esc(verdict)}</span>'


def fmt_time(iso: str) -> str:
    """« 04/12/2026 à 14:05:03 (heure de Paris, UTC+01:00) »; an operator's attestation time without zone
    is shown as written (« 04/12/2026 à 14:05 »)."""
    return fr.when(iso)


def cover_rows(c: dict) -> str:
    from .catalog.wording import identity_rows

    rows = [
        *identity_rows(c),  # requirement, REM and version, Squash reference only when the REM has it
        ("Scénario", f"{c['scenario']} — {c['scenario_title']}"),
        ("Éditeur", c["vendor"]),
        ("Produit et version", f"{c['product']} {c['version']}"),
        ("Environnement testé", c["target_url"]),
        ("Opérateur", c["operator"]),
        ("Campagne / exécution", f"{c['campaign']} / {c['run_id']}"),
    ]
    if c.get("started"):
        rows.append(("Date et heure", fmt_time(c["started"])))
    return "".join(f"<tr><th style='width:30%'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)


def cover_card(c: dict) -> str:
    """Shown when the proof opens (JupyterLab); the PDF prints its own cover with the final verdict."""
    expected = "".join(f"<li><b>{esc(p['id'])}</b> — {esc(p['text'])}</li>" for p in c["expected"])
    return (f'<div class="segur-card"><h4>Preuve {esc(c["scenario"])} — {_verdict_badge("EN COURS")}</h4>'
            f'<table>{cover_rows(c)}</table><p><b>Éléments attendus</b></p><ol>{expected}</ol></div>')


def checks_table(checks: list[dict]) -> str:
    if not checks:
        return "<p>Aucune vérification n'a pu être effectuée.</p>"
    rows = "".join(
        f"<tr><td>{esc(c['step'] if c['step'] is not None else '—')}</td><td>{esc(c['label'])}</td>"
        f"<td>{esc(c['expected'])}</td><td>{esc(c['observed'])}</td>"
        f"<td class='{'segur-pass' if c['passed'] else 'segur-fail'}'>{esc(c['result'])}</td></tr>"
        for c in checks)
    return ("<table style='table-layout:fixed'><tr><th style='width:7%'>Étape</th><th style='width:31%'>"
            "Vérification</th><th style='width:24%'>Attendu</th><th style='width:28%'>Observé</th>"
            "<th style='width:10%'>Résultat</th></tr>" + rows + "</table>")


def evidence_table(items: list[dict]) -> str:
    """The annex: one block per evidence file, its SHA-256 on a line of its own, whole."""
    if not items:
        return "<p>Aucun élément de preuve n'a été enregistré.</p>"
    rows = "".join(
        f"<tbody class='item'><tr><td rowspan='2'>{esc(i['step'] if i['step'] is not None else '—')}</td>"
        f"<td>{esc(i['name'])}{' (fourni par l’opérateur)' if i.get('manual') else ''}"
        f"{f' ({PRODUCED_BY_DRIVER})' if i.get('composed') else ''}</td>"
        f"<td>{esc(KIND_FR.get(i['kind'], i['kind']))}</td><td>{esc(i['caption'])}</td></tr>"
        f"<tr><td colspan='3' class='hash'>SHA-256 <span class='sha'>{esc(i['sha256'])}</span></td></tr></tbody>"
        for i in items)
    return ("<table class='evidence' style='table-layout:fixed'><thead><tr><th style='width:7%'>Étape</th>"
            "<th style='width:36%'>Fichier</th><th style='width:15%'>Nature</th><th>Description</th></tr></thead>"
            + rows + "</table>")


def manual_summary(r: dict) -> str:
    """One paragraph naming the steps done by hand and who attested them ('' when none)."""
    items = r.get("manual") or []
    if not items:
        return ""
    parts = "; ".join(f"étape {esc(m['step'])}, attestée par {esc(m.get('by', ''))} le {esc(fmt_time(m.get('at', '')))}"
                      f", fichiers : {esc(', '.join(f['source'] for f in m.get('files', [])))}" for m in items)
    return (f"<p><b>Étapes réalisées manuellement</b> (éléments fournis par l'opérateur, empreintes en "
            f"annexe) : {parts}</p>")


def guided_summary(r: dict) -> str:
    """A guided proof's elements on its cover: each one's capture mode and the operator's decision
    ('' for another proof)."""
    guided = r.get("guided")
    if not guided:
        return ""
    from .guided_spec import MODE_FR
    rows = "".join(
        f"<tr><td>{esc(e['id'])}</td><td>{esc(MODE_FR.get(e['mode'] or '', e['mode']))}</td>"
        f"<td>{esc((e.get('decision') or 'aucune').upper())}</td><td>{esc(e.get('comment') or '')}</td></tr>"
        for e in guided["elements"])
    return (f"<p><b>Preuve guidée</b> — chaque élément recueilli comme la campagne le déclare "
            f"({esc(guided.get('declared_in', ''))}) et décidé par l'opérateur :</p><table><tr><th>Élément</th>"
            f"<th>Mode de preuve</th><th>Décision</th><th>Commentaire</th></tr>{rows}</table>")


def step_card(record, recorder, manual: bool = False) -> str:
    """The step's summary as a JupyterLab card (hidden in the PDF, which shows the full captures):
    status and duration, thumbnails of its screenshots, its checks RÉUSSI/ÉCHEC, its evidence hashes."""
    import base64

    items = [i for i in recorder.items if i.step == record.number]
    checks = [c for c in recorder.checks if c.step == record.number]
    passed = sum(c.passed for c in checks)
    state = STEP_STATUS.get(record.status, record.status)
    thumbs = ""
    for i in items:
        if i.kind == "screenshot":
            b64 = base64.b64encode((recorder.dir / i.name).read_bytes()).decode()
            thumbs += (f'<figure><img src="data:image/png;base64,{b64}" alt="{esc(i.caption)}">'
                       f'<figcaption>{esc(i.caption)}</figcaption></figure>')
    rows = "".join(f"<li><span class='{'segur-pass' if c.passed else 'segur-fail'}'>{c.result}</span> "
                   f"{esc(c.label)} <i>— observé : {esc(c.observed)}</i></li>" for c in checks)
    hashes = "".join(f"<li>{esc(i.name)}{' (fourni par l’opérateur)' if i.manual else ''}"
                     f"{f' ({PRODUCED_BY_DRIVER})' if i.composed else ''} · "
                     f"<span class='hash'>SHA-256 {esc(i.sha256[:16])}…</span></li>" for i in items)
    summary = (f"{passed}/{len(checks)} vérification(s) réussie(s)" if checks else "aucune vérification")
    return (f'<div class="segur-card segur-step"><h4>Étape {record.number} — {esc(record.title)}</h4>'
            f'<p><b>{esc(state)}</b> en {fr.seconds(record.duration_s)}{" (étape manuelle)" if manual else ""} — '
            f'{summary} — {len(items)} élément(s) de preuve</p>'
            f'{f"<div class=thumbs>{thumbs}</div>" if thumbs else ""}'
            f'{f"<ul>{rows}</ul>" if rows else ""}{f"<ul>{hashes}</ul>" if hashes else ""}</div>')


def final_card(r: dict) -> str:
    failed = [c for c in r["checks"] if not c["passed"]]
    lines = []
    if r.get("error"):
        lines.append(f"<p><b>Cause de l'erreur</b> (étape {esc(r['error']['step'])}) : {esc(r['error']['message'])}</p>")
    if r.get("condition_not_met"):
        lines.append(f"<p><b>Condition d'applicabilité non remplie</b> (constaté à l'étape "
                     f"{esc(r['condition_not_met']['step'])}) : {esc(r['condition_not_met']['reason'])}</p>")
    if failed:
        lines.append("<p><b>Vérifications en échec</b> : " + "; ".join(esc(c["label"]) for c in failed) + "</p>")
    lines.append(manual_summary(r))
    steps = "".join(f"<li>Étape {s['number']} — {esc(s['title'])} : {STEP_STATUS.get(s['status'], s['status'])}"
                    f" en {fr.seconds(s['duration_s'])}</li>" for s in r["steps"])
    return (f'<div class="segur-card segur-final"><h4>Verdict de la preuve {esc(r["scenario"])} : '
            f'{_verdict_badge(r["verdict"])}</h4>{"".join(lines)}<ul>{steps}</ul>'
            f'<h4>Tableau des vérifications</h4>{checks_table(r["checks"])}</div>')

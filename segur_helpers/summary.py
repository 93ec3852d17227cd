"""What a run leaves for people: ``summary.csv``/``summary.xlsx`` (one row per expected proof element,
in the Convergence columns) and ``summary.pdf``, a French index for reviewers.

The index counts verdicts and chapters, lists every scenario with its verdict and where its proof
is (file, pages and SHA-256), and keeps *reviewed* apart from *compliant*: a verdict CONFORME is computed
by the toolkit; a human review is recorded by the reviewer in the last column, never assumed. Every
table is in REM order: chapter, then requirement and proof numbering in natural order (SSI/IE.9 before
SSI/IE.31), whatever order the proofs ran in.
"""
from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path

from . import fr
from .evidence import esc
from .ids import current_id, safe_name
from .pdf import band, html_to_pdf
from .report import _verdict_badge, fmt_time
from .style import CSS

CSV_NAME, XLSX_NAME, PDF_NAME = "summary.csv", "summary.xlsx", "summary.pdf"
VERDICT_ORDER = ("CONFORME", "NON CONFORME", "NON APPLICABLE", "ERREUR")
COLUMNS = ("ID", "Chapitre", "Fonction", "Exigence", "N° scénario", "Scénario de conformité", "N° preuve",
           "Preuve", "Verdict", "Tentatives", "Durée (s)", "Fichier de preuve", "SHA-256 du fichier de preuve",
           "Relecture")


def natural_key(text: str) -> tuple:
    """Numbers compared as numbers: ``SSI/IE.9`` < ``SSI/IE.31``, ``HOP VA 1.04`` < ``HOP VA 1.06``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
                 for part in re.findall(r"\d+|\D+", str(text or "")))


def rem_order_key(chapter: str, requirement: str, proof: str = "") -> tuple:
    """REM order: chapter, then requirement id, then proof numbering, each in natural order."""
    return natural_key(chapter), natural_key(requirement), natural_key(proof)


def in_rem_order(proofs: list[dict]) -> list[dict]:
    """A run's proofs (run.json entries) in REM order."""
    return sorted(proofs, key=lambda p: rem_order_key(p.get("chapter") or "", p.get("requirement") or "",
                                                        p.get("scenario") or ""))


# the "Exécution" sheet of the workbooks: what each run fact is called for a reviewer
RUN_FACTS = {"campaign": "Campagne", "run_id": "Exécution", "vendor": "Éditeur", "product": "Produit",
             "version": "Version", "target_url": "Environnement testé", "operator": "Opérateur",
             "started": "Début", "finished": "Fin", "toolkit_version": "Version de segur-proofs",
             "params_sha256": "SHA-256 du fichier de paramètres"}


def run_facts(record: dict, keys) -> list[tuple[str, str]]:
    """(French label, value) of each run fact, times in Paris time with their offset."""
    out = []
    for key in keys:
        value = record.get(key, "")
        if key in ("started", "finished") and value:
            value = fr.when(value)
        out.append((RUN_FACTS.get(key, key), "" if value is None else str(value)))
    return out


def read_json_safe(path: Path) -> dict | None:
    import json
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _pages(pdf: Path) -> int:
    try:
        from pypdf import PdfReader
        return len(PdfReader(str(pdf)).pages)
    except Exception:  # noqa: BLE001
        return 0


def rows(run_dir: Path, record: dict) -> list[dict]:
    """One row per expected proof element of every proof of the run."""
    from . import catalog

    out = []
    for e in in_rem_order(record.get("proofs", [])):
        req = catalog.get(e["requirement"])
        # a proof keeps the folder it was made in (an id renamed since: ids.OLD_IDS)
        result = read_json_safe(run_dir / (e.get("folder") or safe_name(e["scenario"])) / "result.json") or {}
        expected = result.get("expected") or [{"id": "", "text": ""}]
        scen_title = result.get("scenario_title", "")
        for p in expected:
            out.append({
                "ID": e["requirement"], "Chapitre": e.get("chapter") or (req.chapter if req else ""),
                "Fonction": req.function if req else "", "Exigence": result.get("title", req.title if req else ""),
                # an old run's proof element under its requirement's id of today (ids.OLD_IDS)
                "N° scénario": e["scenario"], "Scénario de conformité": scen_title, "N° preuve": current_id(p["id"]),
                "Preuve": p["text"], "Verdict": e["verdict"], "Tentatives": e.get("attempts", 1),
                "Durée (s)": e.get("duration_s", ""), "Fichier de preuve": e.get("pdf") or "",
                "SHA-256 du fichier de preuve": e.get("pdf_sha256") or "", "Relecture": "",
            })
    return out


def write_csv(run_dir: Path, table: list[dict]) -> Path:
    path = run_dir / CSV_NAME
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:   # BOM: Excel opens it as UTF-8
        w = csv.DictWriter(fh, fieldnames=COLUMNS, delimiter=";")
        w.writeheader()
        # French Excel reads « 12,43 », not « 12.43 » (the .xlsx keeps real numbers)
        w.writerows({k: fr.num(v, 2, group=False) if isinstance(v, float) else v for k, v in row.items()} for row in table)
    return path


def write_xlsx(run_dir: Path, table: list[dict], record: dict) -> Path:
    from openpyxl.styles import PatternFill

    from .xlsx import add_run_sheet, table_workbook

    widths = {"ID": 14, "Chapitre": 22, "Fonction": 18, "Exigence": 40, "N° scénario": 16,
              "Scénario de conformité": 40, "N° preuve": 18, "Preuve": 60, "Verdict": 16, "Tentatives": 10,
              "Durée (s)": 10, "Fichier de preuve": 34, "SHA-256 du fichier de preuve": 66, "Relecture": 20}
    wb = table_workbook("Preuves", COLUMNS, ([r[c] for c in COLUMNS] for r in table), [widths[c] for c in COLUMNS])
    ws = wb.active
    fills = {"CONFORME": "D5F5E3", "NON CONFORME": "FADBD8", "ERREUR": "FDEBD0", "NON APPLICABLE": "E5E8E8"}
    verdict_col = COLUMNS.index("Verdict") + 1
    for i, r in enumerate(table, 2):
        ws.cell(i, verdict_col).fill = PatternFill("solid", fgColor=fills.get(r["Verdict"], "FFFFFF"))
    add_run_sheet(wb, run_facts(record, ("campaign", "run_id", "vendor", "product", "version", "target_url",
                                         "operator", "started", "finished", "toolkit_version", "params_sha256")))
    if record.get("dossier"):
        add_dossier_sheet(wb, record)
    path = run_dir / XLSX_NAME
    tmp = path.with_name(path.name + ".tmp")
    wb.save(str(tmp))
    tmp.replace(path)
    return path


DOSSIER_COLUMNS = ("ID", "Chapitre", "Fonction", "Couverture", "Détail", "Preuve(s)", "Verdict(s)", "Statut Squash")
DOSSIER_FILLS = {"automated": "D5F5E3", "guided": "D6EAF8", "justified": "E5E8E8", "out_of_profile": "F2F3F4",
                 "missing": "FADBD8"}


def dossier_rows(record: dict) -> list[dict]:
    """Every requirement of the REM (``run.json``'s ``dossier``), in REM order, with its proofs' verdicts here."""
    verdicts: dict[str, list[str]] = {}
    for p in record.get("proofs", []):
        verdicts.setdefault(p["requirement"], []).append(f"{p['scenario']} : {p['verdict']}")
    reqs = record["dossier"]["requirements"]
    return sorted(({**r, "verdicts": verdicts.get(r["id"], [])} for r in reqs),
                  key=lambda r: rem_order_key(r.get("chapter") or "", r["id"]))


def add_dossier_sheet(wb, record: dict) -> None:
    """The "Dossier" sheet: how each requirement of the imported REM is covered (missing ones included)."""
    from openpyxl.styles import Alignment, Font, PatternFill

    from .dossier import KIND_FR
    ws = wb.create_sheet("Dossier")
    ws.append(list(DOSSIER_COLUMNS))
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F7")
    for r in dossier_rows(record):
        chapter = f"{r['chapter']} — {r['chapter_title']}" if r.get("chapter_title") else r.get("chapter", "")
        ws.append([r["id"], chapter, r.get("function", ""), KIND_FR[r["kind"]] + ("" if r.get("in_rem", True) else
                   " (exigence absente du REM importé)"), r["detail"], "\n".join(r.get("scenarios") or []),
                   "\n".join(r["verdicts"]), r.get("status", "")])
        ws.cell(ws.max_row, 4).fill = PatternFill("solid", fgColor=DOSSIER_FILLS[r["kind"]])
    for col, width in zip("ABCDEFGH", (16, 34, 30, 24, 50, 18, 30, 16)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions


def dossier_html(record: dict) -> str:
    """The summary's coverage page: per chapter, how the REM's requirements are covered; the missing listed."""
    from .dossier import KIND_SHORT_FR, KINDS
    d = record.get("dossier")
    if not d:
        return ""
    rows = [r for r in dossier_rows(record) if r.get("in_rem", True)]
    chapters: dict[str, dict] = {}
    for r in rows:
        ch = chapters.setdefault(r.get("chapter") or "—", {"title": r.get("chapter_title") or "",
                                                         **{k: 0 for k in KINDS}})
        ch[r["kind"]] += 1
    head = "".join(f"<th>{esc(KIND_SHORT_FR[k])}</th>" for k in KINDS)
    body = "".join(f"<tr><td>{esc(code)}{(' — ' + esc(c['title'])) if c['title'] else ''}</td>"
                   + "".join(f"<td class='num'>{c[k] or ''}</td>" for k in KINDS)
                   + f"<td class='num'>{sum(c[k] for k in KINDS)}</td></tr>"
                   for code, c in sorted(chapters.items(), key=lambda kv: natural_key(kv[0])))
    totals = "".join(f"<td class='num'><b>{d['counts'][k]}</b></td>" for k in KINDS)
    missing = [r for r in rows if r["kind"] == "missing"]
    listed = "".join(f"<tr><td>{esc(r['id'])}</td><td>{esc(r.get('chapter') or '')}</td>"
                     f"<td>{esc(r.get('function') or '')}</td><td>{esc(r['detail'])}</td></tr>" for r in missing)
    rem = d.get("rem") or {}
    label = f"REM {rem.get('code')} « {rem.get('project')} »" if rem.get("code") else "REM importé"
    return (f'<h2 style="break-before:page">Couverture du REM — le dossier complet</h2>'
            f'<p>Chaque exigence du {esc(label)} ({esc(rem.get("file", ""))}, {len(rows)} exigences) a l\'une '
            f'de ces couvertures : preuve automatisée, preuve guidée, justification (condition non remplie), hors du '
            f'profil du produit, ou manquante.</p>'
            f'<table><tr><th>Chapitre</th>{head}<th>Total</th></tr>{body}'
            f'<tr><td><b>Total</b></td>{totals}<td class="num"><b>{len(rows)}</b></td></tr></table>'
            f'<div class="note"><b>{d["counts"]["missing"]} exigence(s) manquante(s)</b> : le dossier ne les prouve '
            f'pas encore (liste ci-dessous, et feuille « Dossier » de summary.xlsx).</div>'
            + (f'<h2>Exigences manquantes</h2><table><thead><tr><th style="width:15%">Exigence</th><th style="width:13%">'
               f'Chapitre</th><th>Fonction</th><th style="width:35%">Pourquoi</th></tr></thead>{listed}</table>'
               if missing else ""))


SUMMARY_CSS = """
@page { size: A4; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; color: #1c2833; margin: 0;
       font-variant-ligatures: none; }
h1 { font-size: 16pt; color: #0b4f8a; margin: 0 0 3mm 0; }
h2 { font-size: 12pt; color: #0b4f8a; border-bottom: 1px solid #c9d3dd; margin-top: 6mm; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #d5dde5; padding: 2px 5px; text-align: left; vertical-align: top; font-size: 8.5pt; }
th { background: #eef2f7; }
tr, tbody.proof { break-inside: avoid; }
tr.seal td { font-size: 7.5pt; color: #1c2833; border-top: 0; }
.sha { font-family: "DejaVu Sans Mono", monospace; white-space: nowrap; }
td.num { text-align: right; }
.note { border-left: 4px solid #0b4f8a; background: #f4f7fb; padding: 2mm 4mm; margin: 3mm 0; }
.box { display: inline-block; width: 9pt; height: 9pt; border: 1px solid #555; }
"""


def summary_html(run_dir: Path, record: dict) -> str:
    proofs = in_rem_order(record.get("proofs", []))
    counts = {v: sum(1 for p in proofs if p["verdict"] == v) for v in VERDICT_ORDER}
    chapters: dict[str, dict[str, int]] = {}
    for p in proofs:
        ch = chapters.setdefault(p.get("chapter") or "—", {v: 0 for v in VERDICT_ORDER})
        ch[p["verdict"]] = ch.get(p["verdict"], 0) + 1
    head = "".join(f"<th>{esc(v)}</th>" for v in VERDICT_ORDER)
    chapter_rows = "".join(
        f"<tr><td>{esc(ch)}</td>" + "".join(f"<td class='num'>{c[v]}</td>" for v in VERDICT_ORDER)
        + f"<td class='num'>{sum(c.values())}</td></tr>" for ch, c in sorted(chapters.items(),
                                                                            key=lambda kv: natural_key(kv[0])))
    detail = []
    for p in proofs:
        pdf = run_dir / p["pdf"] if p.get("pdf") else None
        pages = _pages(pdf) if pdf and pdf.is_file() else 0
        where = (f"{esc(p['pdf'])} — {pages} page{'s' if pages > 1 else ''}" if pages
                 else esc(p.get("pdf") or "pas de document"))
        cause = f"<br><i>{esc(p['error'])}</i>" if p.get("error") else ""
        seal = (f"<tr class='seal'><td colspan='5'>SHA-256 du document : <span class='sha'>{esc(p['pdf_sha256'])}"
                f"</span></td></tr>" if p.get("pdf_sha256") else "")
        detail.append(f"<tbody class='proof'><tr><td>{esc(p.get('chapter') or '—')}</td><td>{esc(p['scenario'])}</td>"
                      f"<td>{_verdict_badge(p['verdict'])}{cause}</td><td class='num'>{p.get('attempts', 1)}</td>"
                      f"<td>{where}</td><td rowspan='{2 if seal else 1}'><span class='box'></span></td></tr>{seal}</tbody>")
    total = len(proofs)
    failed = counts["NON CONFORME"] + counts["ERREUR"]
    return (
        f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Synthèse {esc(record["run_id"])}'
        f'</title><style>{CSS}{SUMMARY_CSS}</style></head><body>'
        f'<h1>Synthèse de la campagne « {esc(record["campaign"])} »</h1>'
        f'<table><tr><th style="width:30%">Éditeur</th><td>{esc(record["vendor"])}</td></tr>'
        f'<tr><th>Produit et version</th><td>{esc(record["product"])} {esc(record["version"])}</td></tr>'
        f'<tr><th>Environnement testé</th><td>{esc(record["target_url"])}</td></tr>'
        f'<tr><th>Opérateur</th><td>{esc(record["operator"])}</td></tr>'
        f'<tr><th>Exécution</th><td>{esc(record["run_id"])} — du {esc(fmt_time(record["started"]))} '
        f'au {esc(fmt_time(record.get("finished", "")))}</td></tr>'
        f'<tr><th>Outil</th><td>segur-proofs {esc(record["toolkit_version"])}</td></tr></table>'
        f'<h2>Verdicts</h2><table><tr>{head}<th>Total</th></tr><tr>'
        + "".join(f"<td class='num'>{counts[v]}</td>" for v in VERDICT_ORDER)
        + f"<td class='num'>{total}</td></tr></table>"
        f'<div class="note"><b>Conformité et relecture sont deux choses distinctes.</b> Le verdict est établi '
        f'automatiquement par les vérifications de chaque preuve ({counts["CONFORME"]} conforme(s) sur {total}, '
        f'{failed} à reprendre). Il ne vaut pas relecture : chaque preuve doit être relue par une personne, '
        f'qui coche la colonne « Relue » ci-dessous ou renseigne la colonne « Relecture » de summary.xlsx (nom, date). '
        f'Preuves relues à ce jour : 0 sur {total}.</div>'
        f'<h2>Par chapitre</h2><table><tr><th>Chapitre</th>{head}<th>Total</th></tr>{chapter_rows}</table>'
        f'<h2>Exigences et preuves</h2><p>Dans l\'ordre du REM : chapitre, puis exigence et numéro de scénario. '
        f'Sous chaque preuve, l\'empreinte SHA-256 de son document.</p><table><thead><tr><th style="width:12%">'
        f'Chapitre</th><th style="width:17%">Scénario</th><th style="width:21%">Verdict</th><th style="width:7%">'
        f'Tent.</th><th>Document de preuve et nombre de pages</th><th style="width:8%">Relue</th></tr></thead>'
        f'{"".join(detail)}</table>'
        f'<p>Les empreintes SHA-256 de tous les fichiers de l\'exécution figurent dans manifest.json '
        f'(vérification : <i>segur verify</i>).</p>{dossier_html(record)}</body></html>')


async def write_summaries(run_dir: Path, record: dict, browser) -> list[Path]:
    """summary.csv, summary.xlsx and summary.pdf (printed by ``browser``, the run's Chromium)."""
    table = await asyncio.to_thread(rows, run_dir, record)
    out = [write_csv(run_dir, table), write_xlsx(run_dir, table, record)]
    html_text = await asyncio.to_thread(summary_html, run_dir, record)
    header = band(f"Synthèse Ségur — {record['campaign']} — {record['product']} {record['version']}",
                  record["run_id"])
    footer = band(f"exécution {record['run_id']}", page_numbers=True)
    out.append(await html_to_pdf(browser, html_text, run_dir / PDF_NAME, header=header, footer=footer))
    return out

"""What a run leaves for people: ``summary.csv``/``summary.xlsx`` (one row per expected proof element,
in the Convergence columns) and ``summary.pdf``, a French index for reviewers.

The index counts verdicts and chapters, lists every scenario with its verdict and where its proof
is (file and pages), and keeps *reviewed* apart from *compliant*: a verdict CONFORME is computed by the
toolkit; a human review is recorded by the reviewer in the last column, never assumed.
"""
from __future__ import annotations

import asyncio
import csv
from pathlib import Path

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
    for e in record.get("proofs", []):
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
        w.writerows(table)
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
    add_run_sheet(wb, record, ("campaign", "run_id", "vendor", "product", "version", "target_url", "operator",
                               "started", "finished", "toolkit_version", "params_sha256"))
    path = run_dir / XLSX_NAME
    tmp = path.with_name(path.name + ".tmp")
    wb.save(str(tmp))
    tmp.replace(path)
    return path


SUMMARY_CSS = """
@page { size: A4; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; color: #1c2833; margin: 0;
       font-variant-ligatures: none; }
h1 { font-size: 16pt; color: #0b4f8a; margin: 0 0 3mm 0; }
h2 { font-size: 12pt; color: #0b4f8a; border-bottom: 1px solid #c9d3dd; margin-top: 6mm; break-after: avoid; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 1px solid #d5dde5; padding: 2px 5px; text-align: left; vertical-align: top; font-size: 8.5pt; }
th { background: #eef2f7; }
tr { break-inside: avoid; }
td.num { text-align: right; }
.note { border-left: 4px solid #0b4f8a; background: #f4f7fb; padding: 2mm 4mm; margin: 3mm 0; }
.box { display: inline-block; width: 9pt; height: 9pt; border: 1px solid #555; }
"""


def summary_html(run_dir: Path, record: dict) -> str:
    proofs = record.get("proofs", [])
    counts = {v: sum(1 for p in proofs if p["verdict"] == v) for v in VERDICT_ORDER}
    chapters: dict[str, dict[str, int]] = {}
    for p in proofs:
        ch = chapters.setdefault(p.get("chapter") or "—", {v: 0 for v in VERDICT_ORDER})
        ch[p["verdict"]] = ch.get(p["verdict"], 0) + 1
    head = "".join(f"<th>{esc(v)}</th>" for v in VERDICT_ORDER)
    chapter_rows = "".join(
        f"<tr><td>{esc(ch)}</td>" + "".join(f"<td class='num'>{c[v]}</td>" for v in VERDICT_ORDER)
        + f"<td class='num'>{sum(c.values())}</td></tr>" for ch, c in sorted(chapters.items()))
    detail = []
    for p in proofs:
        pdf = run_dir / p["pdf"] if p.get("pdf") else None
        pages = _pages(pdf) if pdf and pdf.is_file() else 0
        where = (f"{esc(p['pdf'])} — {pages} page{'s' if pages > 1 else ''}" if pages
                 else esc(p.get("pdf") or "— (pas de document)"))
        cause = f"<br><i>{esc(p['error'])}</i>" if p.get("error") else ""
        detail.append(f"<tr><td>{esc(p['requirement'])}</td><td>{esc(p['scenario'])}</td>"
                      f"<td>{_verdict_badge(p['verdict'])}{cause}</td><td class='num'>{p.get('attempts', 1)}</td>"
                      f"<td>{where}</td><td><span class='box'></span></td></tr>")
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
        f'<h2>Exigences et preuves</h2><table><tr><th style="width:14%">Exigence</th><th style="width:15%">'
        f'Scénario</th><th style="width:22%">Verdict</th><th style="width:7%">Tent.</th><th>Document de preuve '
        f'(pages)</th><th style="width:12%">Relue</th></tr>{"".join(detail)}</table>'
        f'<p>Les empreintes SHA-256 de tous les fichiers de l\'exécution figurent dans manifest.json '
        f'(vérification : <i>segur verify</i>).</p></body></html>')


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

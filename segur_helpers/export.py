"""Executed notebook → clean PDF proof for reviewers (A4, French, no code).

nbconvert renders the notebook's narrative and evidence cards to HTML (inputs, prompts, the
parameters cells and the live cover card removed); we wrap it with a cover page built from the
proof's result (verdict included) and an annex of every evidence file with its SHA-256, then print it
with the system Chromium (``page.pdf()``): A4, header, footer with requirement, run id and page X/Y.
"""
from __future__ import annotations

import asyncio
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from traitlets.config import Config

from .evidence import esc
from .pdf import band, html_to_pdf
from .report import _verdict_badge, cover_rows, evidence_table, fmt_time, manual_summary
from .style import CSS

HIDDEN_CELL_TAGS = {"parameters", "injected-parameters", "segur-hide"}
HIDDEN_OUTPUT_TAGS = {"segur-live"}

PRINT_CSS = """
@page { size: A4; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #1c2833; margin: 0;
       font-variant-ligatures: none; /* reviewers search and copy the text: no ﬁ ligatures */ }
h1 { font-size: 17pt; color: #0b4f8a; margin: 0 0 4mm 0; }
h2 { font-size: 13pt; color: #0b4f8a; border-bottom: 1px solid #c9d3dd; padding-bottom: 2px; margin-top: 7mm;
     break-after: avoid; }
h3 { font-size: 11pt; }
.anchor-link { display: none; }
.cover { border: 2px solid #0b4f8a; border-radius: 6px; padding: 6mm 7mm; margin-bottom: 6mm; break-inside: avoid; }
.cover .kicker { font-size: 9pt; color: #4a5a6a; text-transform: uppercase; letter-spacing: .5px; }
.cover table { border-collapse: collapse; width: 100%; margin: 3mm 0; }
.cover th, .cover td { border: 1px solid #d5dde5; padding: 3px 6px; text-align: left; vertical-align: top; font-size: 9.5pt; }
.cover th { background: #eef2f7; }
.cover .verdict { font-size: 14pt; margin: 3mm 0; }
.segur-verdict { font-size: inherit; }
.annex { break-before: page; }
.annex table { border-collapse: collapse; width: 100%; font-size: 8pt; }
.annex th, .annex td { border: 1px solid #d5dde5; padding: 3px 5px; text-align: left; vertical-align: top; }
.annex th { background: #eef2f7; }
.annex td.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7pt; word-break: break-all; }
.jp-Cell, .cell { margin: 0; }
.jp-OutputArea-output, .output_html { overflow: visible; }
.segur-card img.shot { max-height: 150mm; width: auto; max-width: 100%; }
"""


def text_html(text: str) -> str:
    """Escaped text keeping its line breaks (imported REM texts have lines and "* " bullets)."""
    return "<br>".join(esc(line) for line in str(text).splitlines())


def _cover(r: dict) -> str:
    expected = "".join(f"<li><b>{esc(p['id'])}</b> — {text_html(p['text'])}</li>" for p in r["expected"])
    condition = ""
    if r.get("condition"):
        unmet = r.get("condition_not_met")
        state = (f"constatée non remplie à l'étape {esc(unmet['step'])}" if unmet
                 else "déclarée remplie pour cette campagne")
        condition = (f"<p><b>Condition d'applicabilité</b> ({esc(r.get('condition_source') or r['wording_source'])})"
                     f" : {text_html(r['condition'])} <i>({state})</i></p>")
    scenario = (f"<p><b>Scénario de conformité</b> ({esc(r['scenario_source'])}) : {text_html(r['scenario_text'])}"
                f"</p>" if r.get("scenario_text") else "")
    why = ""
    if r.get("error"):
        why = f"<p><b>Cause</b> : {esc(r['error']['message'])}</p>"
    elif r["verdict"] == "NON CONFORME":
        why = "<p><b>Vérifications en échec</b> : " + "; ".join(
            esc(c["label"]) for c in r["checks"] if not c["passed"]) + "</p>"
    elif r.get("condition_not_met"):
        why = f"<p><b>Condition d'applicabilité non remplie</b> : {esc(r['condition_not_met']['reason'])}</p>"
    return (f'<section class="cover"><div class="kicker">Ségur du numérique en santé — Vague 2, couloir Hôpital '
            f'— preuve de conformité</div><h1>{esc(r["requirement"])} — {esc(r["title"])}</h1>'
            f'<div class="verdict">Verdict : {_verdict_badge(r["verdict"])}</div>{why}'
            f'<table>{cover_rows(r)}<tr><th>Fin de l\'exécution</th><td>{esc(fmt_time(r["finished"]))}</td></tr>'
            f'<tr><th>Vérifications</th><td>{sum(c["passed"] for c in r["checks"])} réussie(s) sur '
            f'{len(r["checks"])}</td></tr></table>'
            f'{manual_summary(r)}'
            f'<p><b>Exigence</b> ({esc(r["wording_source"])}) : {text_html(r["summary"])}</p>{condition}{scenario}'
            f'<p><b>Éléments de preuve attendus</b> ({esc(r.get("expected_source") or r["wording_source"])})</p>'
            f'<ol>{expected}</ol></section>')


def _attempts(r: dict) -> str:
    """Earlier attempts of a proof rerun in the same run (``segur rerun --failed``), kept under attempts/."""
    attempts = r.get("attempts") or []
    if len(attempts) < 2:
        return ""
    rows = "".join(
        f"<tr><td>{a['attempt']}{' (présente preuve)' if i == len(attempts) - 1 else ''}</td>"
        f"<td>{esc(fmt_time(a.get('started', '')))}</td><td>{esc(a['verdict'])}</td>"
        f"<td>{esc(a.get('cause') or '; '.join(a.get('failed_checks') or []) or '—')}</td>"
        + (f"<td>le présent document</td></tr>" if i == len(attempts) - 1 else
           f"<td class='hash'>{esc(a.get('pdf') or '—')}<br>{esc(a.get('pdf_sha256') or '')}</td></tr>")
        for i, a in enumerate(attempts))
    return (f'<h2>Historique des tentatives</h2><p>Cette preuve a été exécutée {len(attempts)} fois dans la même '
            f'exécution de campagne (reprise des preuves en échec). Les tentatives précédentes sont conservées '
            f'intégralement sous <i>attempts/&lt;n&gt;/</i>.</p><table style="table-layout:fixed"><tr>'
            f'<th style="width:11%">Tentative</th><th style="width:18%">Début</th><th style="width:14%">Verdict</th>'
            f'<th>Cause ou vérifications en échec</th><th style="width:28%">Document et SHA-256</th></tr>{rows}'
            f'</table>')


def _annex(r: dict, notebook_sha256: str) -> str:
    return (f'<section class="annex"><h2>Annexe — éléments de preuve et empreintes</h2>'
            f'<p>Chaque fichier ci-dessous est conservé dans le dossier d\'exécution '
            f'<b>{esc(r["campaign"])}/{esc(r["run_id"])}</b>, sous <i>evidence/</i> ; son empreinte SHA-256 '
            f'permet de vérifier qu\'il n\'a pas été modifié (commande <i>segur verify</i> ou '
            f'<i>sha256sum</i>).</p>{evidence_table(r["evidence"])}'
            f'<p>Carnet exécuté (notebook.ipynb) : SHA-256 <span class="hash">{esc(notebook_sha256)}</span><br>'
            f'Outil : segur-proofs {esc(r["toolkit_version"])}, pilote « {esc(r["driver"])} ».</p>{_attempts(r)}'
            f'</section>')


def notebook_body_html(nb: nbformat.NotebookNode) -> str:
    """The notebook's narrative and outputs as HTML, without code, prompts or parameters."""
    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = HIDDEN_CELL_TAGS
    c.TagRemovePreprocessor.remove_single_output_tags = HIDDEN_OUTPUT_TAGS
    c.TagRemovePreprocessor.enabled = True
    c.HTMLExporter.exclude_input = True
    c.HTMLExporter.exclude_input_prompt = True
    c.HTMLExporter.exclude_output_prompt = True
    c.HTMLExporter.anchor_link_text = ""
    exporter = HTMLExporter(config=c, template_name="basic")
    exporter.register_preprocessor(TagRemovePreprocessor(config=c), enabled=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def proof_html(nb: nbformat.NotebookNode, result: dict, notebook_sha256: str) -> str:
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Preuve {esc(result["scenario"])}'
            f'</title><style>{CSS}{PRINT_CSS}</style></head><body>{_cover(result)}'
            f'{notebook_body_html(nb)}{_annex(result, notebook_sha256)}</body></html>')


async def export_proof_pdf(browser, notebook_path: Path, result: dict, pdf_path: Path, notebook_sha256: str
                           ) -> Path:
    from .printimages import compact_screenshots

    def build() -> str:
        nb = nbformat.read(str(notebook_path), as_version=4)
        return compact_screenshots(proof_html(nb, result, notebook_sha256))

    # CPU work (nbconvert, screenshots reduced for print) off the event loop, which meanwhile keeps
    # serving the other workers' kernels and browser pages
    html_text = await asyncio.to_thread(build)
    header = band(f"Preuve Ségur — {result['requirement']} — {result['product']} {result['version']}",
                  f"Verdict : {result['verdict']}")
    footer = band(f"{result['scenario']} · exécution {result['run_id']}", page_numbers=True)
    return await html_to_pdf(browser, html_text, pdf_path, header=header, footer=footer)

"""Executed notebook → clean PDF proof for reviewers (A4, French, no code).

nbconvert renders the notebook's narrative and evidence cards to HTML (inputs, prompts, the
parameters cells and the live cover card removed); we wrap it with a cover page built from the
proof's result (verdict included) and an annex of every evidence file with its SHA-256, then print it
with the system Chromium (``page.pdf()``): A4, header, footer with requirement, run id and page X/Y.
"""
from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor
from traitlets.config import Config

from .evidence import esc
from .pdf import band, html_to_pdf
from .report import (_verdict_badge, checks_table, cover_rows, evidence_table, fmt_time, guided_summary,
                     manual_summary)
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
.cover .source { font-size: 8.5pt; color: #4a5a6a; }
.segur-verdict { font-size: inherit; }
.annex { break-before: page; }
.element { border: 2px solid #6a4c93; border-radius: 6px; padding: 4mm 6mm; margin: 0 0 6mm 0; break-inside: avoid; }
.element .kicker { font-size: 9pt; color: #4a5a6a; text-transform: uppercase; letter-spacing: .5px; }
.element h2 { border: 0; margin: 1mm 0 2mm 0; color: #4b2c77; }
.annex table { border-collapse: collapse; width: 100%; font-size: 8pt; }
.annex th, .annex td { border: 1px solid #d5dde5; padding: 3px 5px; text-align: left; vertical-align: top; }
.annex th { background: #eef2f7; }
.annex td { overflow-wrap: anywhere; }
.annex td.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; color: #1c2833; }
.annex tbody.item { break-inside: avoid; }
.annex .sha { white-space: nowrap; }
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
        condition = (f"<p><b>Condition d'applicabilité</b> : {text_html(r['condition'])} — <i>{state}</i>"
                     f"{_source(r.get('condition_source') or r['wording_source'])}</p>")
    scenario = (f"<p><b>Scénario de conformité</b> : {text_html(r['scenario_text'])}{_source(r['scenario_source'])}"
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
            f'{manual_summary(r)}{guided_summary(r)}'
            f'<p><b>Exigence</b> : {text_html(r["summary"])}{_source(r["wording_source"])}</p>{condition}{scenario}'
            f'<p><b>Éléments de preuve attendus</b>{_source(r.get("expected_source") or r["wording_source"])}</p>'
            f'<ol>{expected}</ol></section>')


def _source(source: str) -> str:
    """Where a quoted text comes from, on a line of its own (never in parentheses: the sources carry their own)."""
    return f'<br><span class="source">Source : {esc(source)}</span>' if source else ""


def _attempts(r: dict) -> str:
    """Earlier attempts of a proof rerun in the same run (``segur rerun --failed``), kept under attempts/."""
    attempts = r.get("attempts") or []
    if len(attempts) < 2:
        return ""
    rows = []
    for i, a in enumerate(attempts):
        last = i == len(attempts) - 1
        rows.append(
            f"<tbody class='item'><tr><td rowspan='{1 if last else 2}'>{a['attempt']}{' (présente preuve)' if last else ''}</td>"
            f"<td>{esc(fmt_time(a.get('started', '')))}</td><td>{esc(a['verdict'])}</td>"
            f"<td>{esc(a.get('cause') or '; '.join(a.get('failed_checks') or []) or '—')}</td>"
            f"<td>{'le présent document' if last else esc(a.get('pdf') or '—')}</td></tr>"
            + ("" if last else f"<tr><td colspan='4' class='hash'>SHA-256 <span class='sha'>"
                               f"{esc(a.get('pdf_sha256') or '—')}</span></td></tr>") + "</tbody>")
    return (f'<h2>Historique des tentatives</h2><p>Cette preuve a été exécutée {len(attempts)} fois dans la même '
            f'exécution de campagne (reprise des preuves en échec). Les tentatives précédentes sont conservées '
            f'intégralement sous <i>attempts/&lt;n&gt;/</i>.</p><table style="table-layout:fixed"><tr>'
            f'<th style="width:12%">Tentative</th><th style="width:22%">Début</th><th style="width:14%">Verdict</th>'
            f'<th>Cause ou vérifications en échec</th><th style="width:24%">Document</th></tr>{"".join(rows)}'
            f'</table>')


def _annex(r: dict, notebook_sha256: str) -> str:
    return (f'<section class="annex"><h2>Annexe — éléments de preuve et empreintes</h2>'
            f'<p>Chaque fichier ci-dessous est conservé dans le dossier d\'exécution '
            f'<b>{esc(r["campaign"])}/{esc(r["run_id"])}</b>, sous <i>evidence/</i> ; son empreinte SHA-256 '
            f'permet de vérifier qu\'il n\'a pas été modifié (commande <i>segur verify</i> ou '
            f'<i>sha256sum</i>).</p>{evidence_table(r["evidence"])}'
            f'<p>Carnet exécuté (notebook.ipynb) : SHA-256 <span class="sha">{esc(notebook_sha256)}</span><br>'
            f'Outil : segur-proofs {esc(r["toolkit_version"])}, pilote « {esc(r["driver"])} ».</p>{_attempts(r)}'
            f'</section>')


_EXPORTERS = threading.local()


def _exporter() -> HTMLExporter:
    """This thread's nbconvert exporter. Making one compiles its Jinja templates again (about 0.1 s of CPU,
    a fifth of a proof's HTML), so each thread keeps its own: one exporter is not shared between threads,
    as it registers its filters anew on every export."""
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        exporter = _EXPORTERS.html = _new_exporter()
    return exporter


def _new_exporter() -> HTMLExporter:
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
    return exporter


def notebook_body_html(nb: nbformat.NotebookNode) -> str:
    """The notebook's narrative and outputs as HTML, without code, prompts or parameters."""
    body, _ = _exporter().from_notebook_node(nb)
    return body


def record_body_html(nb: nbformat.NotebookNode) -> str | None:
    """The body of a notebook *record* the toolkit wrote itself (a guided proof made without a kernel: its
    markdown is only headings and paragraphs, its outputs HTML cards), without nbconvert — about 0.1 s of
    CPU less per proof. None for any other notebook (nbconvert renders it)."""
    if not str((nb.metadata.get("segur") or {}).get("made_by", "")).startswith("segur_helpers.guided"):
        return None
    parts = []
    for cell in nb.cells:
        if set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_CELL_TAGS:
            continue
        if cell.cell_type == "markdown":
            for block in str(cell.source).split("\n\n"):
                m = re.match(r"^(#{1,3})\s+(.*)$", block.strip(), re.S)
                parts.append(f"<h{len(m.group(1))}>{esc(m.group(2))}</h{len(m.group(1))}>" if m
                             else f"<p>{esc(block.strip())}</p>")
        elif cell.cell_type == "code":
            for out in cell.get("outputs", []):
                if set((out.get("metadata") or {}).get("tags", [])) & HIDDEN_OUTPUT_TAGS:
                    continue
                html_text = (out.get("data") or {}).get("text/html", "")
                parts.append("".join(html_text) if isinstance(html_text, list) else html_text)
    return "".join(parts)


def proof_html(nb: nbformat.NotebookNode, result: dict, notebook_sha256: str) -> str:
    body = record_body_html(nb)
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Preuve {esc(result["scenario"])}'
            f'</title><style>{CSS}{PRINT_CSS}</style></head><body>{_cover(result)}'
            f'{notebook_body_html(nb) if body is None else body}{_annex(result, notebook_sha256)}</body></html>')


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


# -- one proof element of a proof: the bundle files one PDF per element ------------------------------

_SECTION_HEADING = re.compile(r"^##\s+(?!#)(.*)$", re.MULTILINE)
_ELEMENT_NUMBERS = re.compile(r"^Preuves?\s+([\d\s,età-]+?)\s*(?:[—:–-]\s|$)", re.IGNORECASE)
_STEP_CARD = re.compile(r'segur-step"><h4>Étape (\d+) ')


@dataclass
class Section:
    """A ``## …`` part of a scenario notebook: its heading, the proof elements it names (« Preuves 2 et
    3 » → [2, 3]), the steps it ran (read from the step cards of its outputs) and its cells."""

    heading: str
    elements: list[int]
    steps: set[int]
    cells: list


def _element_numbers(heading: str) -> list[int]:
    m = _ELEMENT_NUMBERS.match(heading.strip())
    if not m:
        return []
    text = m.group(1)
    out: list[int] = []
    for a, b in re.findall(r"(\d+)\s*à\s*(\d+)", text):   # « Preuves 2 à 4 »
        out += list(range(int(a), int(b) + 1))
    out += [int(n) for n in re.findall(r"\d+", re.sub(r"\d+\s*à\s*\d+", "", text))]
    return sorted(set(out))


def notebook_sections(nb: nbformat.NotebookNode) -> list[Section]:
    """The notebook cut at its level-2 headings (the part before the first one is left out)."""
    sections: list[Section] = []
    for cell in nb.cells:
        if set(cell.get("metadata", {}).get("tags", [])) & HIDDEN_CELL_TAGS:
            continue
        if cell.cell_type == "markdown":
            m = _SECTION_HEADING.search(cell.source)
            if m and not cell.source[:m.start()].strip():
                sections.append(Section(m.group(1).strip(), _element_numbers(m.group(1)), set(), []))
        if not sections:
            continue
        sections[-1].cells.append(cell)
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            html_text = (out.get("data") or {}).get("text/html", "")
            if isinstance(html_text, list):
                html_text = "".join(html_text)
            sections[-1].steps.update(int(n) for n in _STEP_CARD.findall(html_text or ""))
    return sections


def element_number(element_id: str) -> int:
    """The rank of a proof element in its scenario: ``SSI/IE.31.01.02`` → 2 (0 if it has none)."""
    tail = str(element_id).rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def element_section(sections: list[Section], number: int) -> Section | None:
    """The section of proof element ``number``: the one whose heading names it, else the one that ran
    step ``number``, else None."""
    named = [s for s in sections if number in s.elements]
    if named:
        return named[0]
    ran = [s for s in sections if number in s.steps and not s.elements]
    return ran[0] if ran else None


def element_html(nb: nbformat.NotebookNode, result: dict, element: dict, section: Section,
                 notebook_sha256: str, proof_pdf: str, proof_pdf_sha256: str) -> str:
    """One proof element as a document of its own: the proof's cover, the element named, the section of
    the notebook that proves it (screenshots, messages, checks), the checks of its steps, and the annex
    lines of its evidence; the whole proof it comes from is named with its SHA-256."""
    part = nbformat.from_dict(dict(nb))
    part.cells = section.cells
    steps = section.steps
    checks = [c for c in result.get("checks", []) if c.get("step") in steps]
    items = [i for i in result.get("evidence", []) if i.get("step") in steps]
    others = [e["id"] for e in result.get("expected", [])
              if e["id"] != element["id"] and element_number(e["id"]) in section.elements]
    titles = {st["number"]: st["title"] for st in result.get("steps", [])}
    step_list = "; ".join(f"étape {n} « {esc(titles.get(n, ''))} »" for n in sorted(steps)) or "aucune étape exécutée"
    shared = (f"<p>Cette partie du scénario établit aussi : "
              f"{', '.join(esc(e) for e in others)}.</p>" if others else "")
    box = (f'<section class="element"><div class="kicker">Élément de preuve déposé</div>'
           f'<h2>{esc(element["id"])}</h2><p>{text_html(element["text"])}</p>{shared}'
           f'<p>Extrait de la preuve {esc(result["scenario"])} : la page de garde, la partie « {esc(section.heading)} »'
           f' du scénario ({step_list}) et, en annexe, les éléments de preuve de cette partie avec leurs empreintes. '
           f'La preuve complète est le fichier <b>{esc(proof_pdf)}</b>, SHA-256 <span class="sha">'
           f'{esc(proof_pdf_sha256)}</span>.</p></section>')
    annex = (f'<section class="annex"><h2>Annexe — éléments de preuve de {esc(element["id"])} et empreintes</h2>'
             f'<p>Chaque fichier ci-dessous est conservé dans le dossier d\'exécution '
             f'<b>{esc(result["campaign"])}/{esc(result["run_id"])}</b>, sous <i>{esc(Path(proof_pdf).parent.as_posix())}'
             f'/evidence/</i>.</p>{evidence_table(items)}'
             f'<p>Carnet exécuté (notebook.ipynb) : SHA-256 <span class="sha">{esc(notebook_sha256)}</span><br>'
             f'Outil : segur-proofs {esc(result["toolkit_version"])}, pilote « {esc(result["driver"])} ».</p></section>')
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Élément {esc(element["id"])}'
            f'</title><style>{CSS}{PRINT_CSS}</style></head><body>{_cover(result)}{box}'
            f'{notebook_body_html(part)}<h3>Vérifications de cette partie</h3>{checks_table(checks)}'
            f'{annex}</body></html>')

"""Unmet condition → justification document, in PDF and DOCX (what vendors file instead of a proof).

For a conditional requirement whose "LORSQUE" condition does not arise for the product, the vendor
files on Convergence, in place of the expected proofs, an ad hoc Word or PDF document that explains
how the application works and why the situation targeted by the requirement does not arise. The
campaign params carry it (``condition_met: false`` and ``justification:``, validated by
:func:`segur_helpers.params.justification_problems`); the batch calls :func:`produce`, which writes,
in the scenario's folder of the run:

- ``attachments/``: a copy of every attachment (so the run folder stays self-contained and hashed);
- ``<scenario>-justification.pdf``: printed with the system Chromium, same cover block, header and
  footer (scenario · run id · page X/Y) as the proofs;
- ``<scenario>-justification.docx``: the same content for Word (images embedded, page X/Y fields).

Both quote the imported REM's wording when there is one, the project's summary otherwise, and say which.
"""
from __future__ import annotations

import base64
import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

from . import catalog
from .evidence import esc, sha256_file
from .ids import safe_name
from .params import Campaign, _as_date, attachment_entries
from .pdf import band, html_to_pdf
from .proof import NON_APPLICABLE, cover_info, now_paris
from .report import _verdict_badge, fmt_time

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif"}
# text attachments (configuration extracts…) are also reproduced in the documents, up to this size
TEXT_SUFFIXES = {".txt", ".yaml", ".yml", ".json", ".xml", ".csv", ".conf", ".ini", ".properties", ".log", ".md"}
TEXT_MAX_BYTES = 20_000
ATTACHMENTS_DIR = "attachments"
KICKER = "Ségur du numérique en santé — Vague 2, couloir Hôpital — justification d'exigence conditionnelle"

JUSTIFY_CSS = """
.just h2 { break-after: avoid; }
.just .quote { border-left: 3px solid #0b4f8a; background: #f4f7fa; padding: 2mm 4mm; margin: 2mm 0; }
.just .source { font-size: 8.5pt; color: #4a5a6a; font-style: italic; }
.just figure { margin: 3mm 0; break-inside: avoid; text-align: center; }
.just figure img { max-width: 100%; max-height: 110mm; border: 1px solid #9aa7b4; }
.just figcaption { font-size: 9pt; color: #4a5a6a; margin-top: 1mm; }
.just figure.text { text-align: left; }
.just figure.text pre { white-space: pre-wrap; word-break: break-word; font-family: "DejaVu Sans Mono", monospace;
  font-size: 8pt; background: #f7f9fb; border: 1px solid #e1e7ee; padding: 2mm 3mm; margin: 1mm 0 0 0; }
.just table.grid { border-collapse: collapse; width: 100%; font-size: 9pt; }
.just table.grid th, .just table.grid td { border: 1px solid #d5dde5; padding: 3px 6px; text-align: left;
  vertical-align: top; }
.just table.grid th { background: #eef2f7; }
.just table.grid tr { break-inside: avoid; }
.just td.hash { font-family: "DejaVu Sans Mono", monospace; font-size: 7.5pt; word-break: break-all; }
.just .signature { break-inside: avoid; }
.just .signature td.blank { height: 24mm; }
.just .colophon { font-size: 8pt; color: #6b7b8b; margin-top: 6mm; }
"""


def fr_date(value: str | date) -> str:
    d = _as_date(value) if not isinstance(value, date) else value
    return d.strftime("%d/%m/%Y") if d else str(value)


def document_names(scenario_id: str) -> tuple[str, str]:
    stem = f"{safe_name(scenario_id)}-justification"
    return f"{stem}.pdf", f"{stem}.docx"


def copy_attachments(campaign: Campaign, requirement_id: str, dest: Path) -> list[dict[str, Any]]:
    """Copy the justification's attachments into ``dest`` (numbered, never overwriting); describe them."""
    out = []
    entries = attachment_entries(campaign.requirements[requirement_id]["justification"])
    if entries:
        dest.mkdir(parents=True, exist_ok=True)
    for i, entry in enumerate(entries, 1):
        src = campaign.resolve_path(entry["path"])
        name = f"{i:02d}-{safe_name(src.name) or 'piece'}"
        target = dest / name
        with open(src, "rb") as fin, open(target, "xb") as fout:  # "x": a run never overwrites
            shutil.copyfileobj(fin, fout)
        out.append({"name": name, "path": str(target), "caption": entry["caption"] or src.name,
                    "source": entry["path"], "size": target.stat().st_size, "sha256": sha256_file(target),
                    "image": target.suffix.lower() in IMAGE_SUFFIXES, "text": _text_of(target)})
    return out


def _text_of(path: Path) -> str | None:
    """The content of a small text attachment, to be reproduced; None for anything else."""
    if path.suffix.lower() not in TEXT_SUFFIXES or path.stat().st_size > TEXT_MAX_BYTES:
        return None
    try:
        return path.read_text(encoding="utf-8").rstrip()
    except UnicodeDecodeError:
        return None


def justification_info(campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario,
                       run_id: str, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    """Everything the documents say: the proof cover's fields plus the justification's."""
    j = campaign.requirements[requirement.id]["justification"]
    now = now_paris().isoformat(timespec="seconds")
    return cover_info(campaign, requirement, scenario, run_id) | {
        "verdict": NON_APPLICABLE, "started": now, "finished": now,
        "explanation": str(j["explanation"]).strip(), "reason": str(j["reason"]).strip(),
        "signatory": {"name": str(j["signatory"]["name"]).strip(), "role": str(j["signatory"]["role"]).strip()},
        "date": _as_date(j["date"]).isoformat(), "expires": _as_date(j["expires"]).isoformat(),
        "attachments": attachments,
    }


# -- HTML → PDF ---------------------------------------------------------------------------------------

_BULLET = ("- ", "* ", "• ")


def blocks(text: str, *, reflow: bool = False) -> list[list[str]]:
    """Paragraphs (split at blank lines), each a list of lines. With ``reflow`` (text written in the
    params, wrapped by hand), the lines of a paragraph are joined, except those starting a bullet."""
    out = []
    for block in str(text).replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if reflow:
            joined: list[str] = []
            for line in lines:
                if joined and not line.startswith(_BULLET):
                    joined[-1] += " " + line
                else:
                    joined.append(line)
            lines = joined
        out.append(lines)
    return out


def _paragraphs(text: str, *, reflow: bool = False) -> str:
    return "".join("<p>" + "<br>".join(esc(line) for line in b) + "</p>" for b in blocks(text, reflow=reflow))


def cover_pairs(info: dict) -> list[tuple[str, str]]:
    """The cover table of a justification (a proof's cover, minus what only a run against a target has)."""
    sig = info["signatory"]
    from .catalog.wording import identity_rows

    return [*identity_rows(info),
            ("Scénario", f"{info['scenario']} — {info['scenario_title']}"), ("Éditeur", info["vendor"]),
            ("Produit et version", f"{info['product']} {info['version']}"), ("Opérateur", info["operator"]),
            ("Campagne / exécution", f"{info['campaign']} / {info['run_id']}"),
            ("Date du document", fmt_time(info["started"])),
            ("Signataire", f"{sig['name']} — {sig['role']}"), ("Date de la justification", fr_date(info["date"])),
            ("Valable jusqu'au", fr_date(info["expires"]))]


def _replaced(info: dict) -> str:
    ids = [p["id"] for p in info["expected"]]
    return ", ".join(ids) if ids else info["scenario"]


def justification_html(info: dict) -> str:
    from .export import PRINT_CSS
    from .style import CSS

    sig = info["signatory"]
    rows = "".join(f"<tr><th style='width:30%'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in cover_pairs(info))
    cover = (f'<section class="cover"><div class="kicker">{esc(KICKER)}</div>'
             f'<h1>{esc(info["requirement"])} — {esc(info["title"])}</h1>'
             f'<div class="verdict">Verdict : {_verdict_badge(info["verdict"])}</div>'
             f'<p>Ce document est déposé <b>à la place des preuves {esc(_replaced(info))}</b> : la condition '
             f'd\'applicabilité de l\'exigence n\'est pas remplie pour le produit {esc(info["product"])} '
             f'{esc(info["version"])}.</p><table>{rows}</table></section>')
    condition = info.get("condition") or "(aucune clause de condition n'est connue pour cette exigence)"
    images = "".join(
        f'<figure><img src="data:image/{Path(a["name"]).suffix.lstrip(".").lower().replace("jpg", "jpeg")};base64,'
        f'{base64.b64encode(Path(a["path"]).read_bytes()).decode()}" alt="{esc(a["caption"])}">'
        f'<figcaption>Pièce {i} — {esc(a["caption"])} ({esc(a["name"])})</figcaption></figure>'
        for i, a in enumerate(info["attachments"], 1) if a["image"])
    images += "".join(
        f'<figure class="text"><figcaption>Pièce {i} — {esc(a["caption"])} ({esc(a["name"])}), reproduite '
        f'ci-dessous</figcaption><pre>{esc(a["text"])}</pre></figure>'
        for i, a in enumerate(info["attachments"], 1) if a.get("text"))
    listed = "".join(f'<tr><td>{i}</td><td>{esc(a["name"])}</td><td>{esc(a["caption"])}</td><td>{a["size"]} '
                   f'octets</td><td class="hash">{esc(a["sha256"])}</td></tr>'
                   for i, a in enumerate(info["attachments"], 1))
    attachments = ('<table class="grid" style="table-layout:fixed"><thead><tr><th style="width:6%">N°</th>'
                   '<th style="width:24%">Fichier</th><th style="width:28%">Description</th>'
                   '<th style="width:12%">Taille</th><th style="width:30%">SHA-256</th></tr></thead>' + listed
                   + '</table>' + images if info["attachments"] else "<p>Aucune pièce jointe.</p>")
    expected = "".join(f"<li><b>{esc(p['id'])}</b> — {esc(p['text'])}</li>" for p in info["expected"])
    body = (
        f'<h2>1. Exigence concernée</h2><p class="source">{esc(info["wording_source"])}</p>'
        f'<div class="quote">{_paragraphs(info["summary"])}</div>'
        f'<h2>2. Condition d\'applicabilité</h2><p class="source">{esc(info.get("condition_source") or "")}</p>'
        f'<div class="quote">{_paragraphs(condition)}</div>'
        f'<p>Pour le produit <b>{esc(info["product"])} {esc(info["version"])}</b> de {esc(info["vendor"])}, '
        f'cette condition <b>n\'est pas remplie</b>.</p>'
        f'<h2>3. Fonctionnement du produit</h2>{_paragraphs(info["explanation"], reflow=True)}'
        f'<h2>4. Pourquoi la situation visée par l\'exigence ne se présente pas</h2>{_paragraphs(info["reason"], reflow=True)}'
        f'<h2>5. Éléments de preuve remplacés par ce document</h2>'
        f'<p class="source">{esc(info.get("expected_source") or "")}</p><ol>{expected}</ol>'
        f'<h2>6. Pièces jointes</h2>{attachments}'
        f'<section class="signature"><h2>7. Signature</h2><p>Je soussigné(e) {esc(sig["name"])}, '
        f'{esc(sig["role"])}, atteste pour {esc(info["vendor"])} l\'exactitude des informations ci-dessus '
        f'concernant le produit {esc(info["product"])} {esc(info["version"])}.</p>'
        f'<table class="grid"><tr><th style="width:30%">Nom</th><td>{esc(sig["name"])}</td></tr>'
        f'<tr><th>Fonction</th><td>{esc(sig["role"])}</td></tr>'
        f'<tr><th>Date</th><td>{esc(fr_date(info["date"]))}</td></tr>'
        f'<tr><th>Valable jusqu\'au</th><td>{esc(fr_date(info["expires"]))}</td></tr>'
        f'<tr><th>Signature</th><td class="blank"></td></tr></table>'
        f'<p class="colophon">Document produit par segur-proofs {esc(info["toolkit_version"])} — campagne '
        f'{esc(info["campaign"])}, exécution {esc(info["run_id"])}. Les pièces jointes sont conservées dans le '
        f'dossier d\'exécution sous {ATTACHMENTS_DIR}/ ; leur empreinte SHA-256 permet de vérifier qu\'elles '
        f'n\'ont pas été modifiées.</p></section>')
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Justification '
            f'{esc(info["scenario"])}</title><style>{CSS}{PRINT_CSS}{JUSTIFY_CSS}</style></head>'
            f'<body class="just">{cover}{body}</body></html>')


def _bands(info: dict) -> tuple[str, str]:
    header = band(f"Justification Ségur — {info['requirement']} — {info['product']} {info['version']}",
                  f"Verdict : {info['verdict']}")
    footer = band(f"{info['scenario']} · exécution {info['run_id']}", page_numbers=True)
    return header, footer


async def write_pdf(browser, info: dict, out: Path) -> Path:
    header, footer = _bands(info)
    return await html_to_pdf(browser, justification_html(info), out, header=header, footer=footer)


# -- DOCX -------------------------------------------------------------------------------------------

def _field(paragraph, instr: str, size=None) -> None:
    """A Word field (PAGE, NUMPAGES) Word computes when it shows or prints the document."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = paragraph.add_run()
    run.font.size = size
    for kind, text in (("begin", None), (None, instr), ("separate", None), (None, "1"), ("end", None)):
        if kind:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        elif text == instr:
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instr} "
        else:
            el = OxmlElement("w:t")
            el.text = text
        run._r.append(el)


def _shade(cell, color: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), color)
    cell._tc.get_or_add_tcPr().append(shd)


def write_docx(info: dict, out: Path) -> Path:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.image.image import Image
    from docx.shared import Cm, Pt, RGBColor

    blue = RGBColor(0x0B, 0x4F, 0x8A)
    grey = RGBColor(0x4A, 0x5A, 0x6A)
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10)
    for name in ("Heading 1", "Heading 2", "Title"):
        doc.styles[name].font.name = "Arial"
        doc.styles[name].font.color.rgb = blue
    doc.styles["Heading 1"].font.size = Pt(16)
    doc.styles["Heading 2"].font.size = Pt(12.5)
    for name in ("Header", "Footer"):  # the page X/Y fields take the style's size
        doc.styles[name].font.size = Pt(7.5)
        doc.styles[name].font.color.rgb = grey
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.left_margin = section.right_margin = Cm(1.8)
    section.top_margin = section.bottom_margin = Cm(2)
    text_width = Cm(21 - 3.6)

    def small(paragraph, text: str, *, italic=False, color=grey, size=8.5):
        run = paragraph.add_run(text)
        run.font.size, run.font.italic, run.font.color.rgb = Pt(size), italic, color
        return run

    head = section.header.paragraphs[0]
    small(head, f"Justification Ségur — {info['requirement']} — {info['product']} {info['version']}    "
                f"Verdict : {info['verdict']}", size=7.5)
    foot = section.footer.paragraphs[0]
    small(foot, f"{info['scenario']} · exécution {info['run_id']} — page ", size=7.5)
    _field(foot, "PAGE", Pt(7.5))
    small(foot, "/", size=7.5)
    _field(foot, "NUMPAGES", Pt(7.5))

    def grid(rows: list[tuple[str, str]], widths=(5.2, 12.2)):
        table = doc.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        table.autofit = False
        for col, w in zip(table.columns, widths):
            col.width = Cm(w)
        for k, v in rows:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = k, v
            _shade(cells[0], "EEF2F7")
            cells[0].paragraphs[0].runs[0].font.bold = True
            for c, w in zip(cells, widths):
                c.width = Cm(w)
        return table

    def paragraphs(text: str, style: str | None = None, reflow: bool = False):
        for block in blocks(text, reflow=reflow):
            p = doc.add_paragraph(style=style)
            for i, line in enumerate(block):
                if i:
                    p.add_run().add_break()
                p.add_run(line)

    def source(text: str):
        if text:
            small(doc.add_paragraph(), text, italic=True)

    small(doc.add_paragraph(), KICKER.upper(), size=8)
    doc.add_heading(f"{info['requirement']} — {info['title']}", level=1)
    verdict = doc.add_paragraph()
    verdict.add_run("Verdict : ").bold = True
    badge = verdict.add_run(f" {info['verdict']} ")
    badge.bold, badge.font.color.rgb = True, RGBColor(0x5A, 0x6B, 0x7B)
    p = doc.add_paragraph("Ce document est déposé ")
    p.add_run(f"à la place des preuves {_replaced(info)}").bold = True
    p.add_run(f" : la condition d'applicabilité de l'exigence n'est pas remplie pour le produit "
              f"{info['product']} {info['version']}.")
    sig = info["signatory"]
    grid(cover_pairs(info))

    doc.add_heading("1. Exigence concernée", level=2)
    source(info["wording_source"])
    paragraphs(info["summary"], style="Quote")
    doc.add_heading("2. Condition d'applicabilité", level=2)
    source(info.get("condition_source") or "")
    paragraphs(info.get("condition") or "(aucune clause de condition n'est connue pour cette exigence)",
               style="Quote")
    p = doc.add_paragraph(f"Pour le produit {info['product']} {info['version']} de {info['vendor']}, "
                          "cette condition ")
    p.add_run("n'est pas remplie").bold = True
    p.add_run(".")
    doc.add_heading("3. Fonctionnement du produit", level=2)
    paragraphs(info["explanation"], reflow=True)
    doc.add_heading("4. Pourquoi la situation visée par l'exigence ne se présente pas", level=2)
    paragraphs(info["reason"], reflow=True)
    doc.add_heading("5. Éléments de preuve remplacés par ce document", level=2)
    source(info.get("expected_source") or "")
    for item in info["expected"]:
        p = doc.add_paragraph(style="List Number")
        p.add_run(item["id"]).bold = True
        p.add_run(f" — {item['text']}")
    doc.add_heading("6. Pièces jointes", level=2)
    if not info["attachments"]:
        doc.add_paragraph("Aucune pièce jointe.")
    if info["attachments"]:
        table = doc.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        table.autofit = False
        widths = (1.0, 4.0, 4.6, 2.2, 5.6)
        for col, w in zip(table.columns, widths):
            col.width = Cm(w)
        for cell, title, w in zip(table.rows[0].cells, ("N°", "Fichier", "Description", "Taille", "SHA-256"),
                                  widths):
            cell.text, cell.width = title, Cm(w)
            _shade(cell, "EEF2F7")
            cell.paragraphs[0].runs[0].font.bold = True
        for i, a in enumerate(info["attachments"], 1):
            cells = table.add_row().cells
            for cell, value, w in zip(cells, (str(i), a["name"], a["caption"], f"{a['size']} octets",
                                              a["sha256"]), widths):
                cell.text, cell.width = value, Cm(w)
            cells[4].paragraphs[0].runs[0].font.size = Pt(7)
            cells[4].paragraphs[0].runs[0].font.name = "Courier New"
    for i, a in enumerate(info["attachments"], 1):
        if not a["image"]:
            continue
        img = Image.from_file(a["path"])
        ratio = img.px_height / max(img.px_width, 1)
        width = min(text_width, int(Cm(11) / ratio) if ratio else text_width)
        doc.add_picture(a["path"], width=width)
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        cap = doc.add_paragraph()
        cap.alignment = WD_ALIGN_PARAGRAPH.CENTER
        small(cap, f"Pièce {i} — {a['caption']} ({a['name']})", size=9)
    for i, a in enumerate(info["attachments"], 1):
        if not a.get("text"):
            continue
        cap = doc.add_paragraph()
        cap.paragraph_format.keep_with_next = True
        small(cap, f"Pièce {i} — {a['caption']} ({a['name']}), reproduite ci-dessous", size=9)
        block = doc.add_paragraph()
        for n, line in enumerate(a["text"].splitlines()):
            if n:
                block.add_run().add_break()
            run = block.add_run(line)
            run.font.name, run.font.size = "Courier New", Pt(8)
    doc.add_heading("7. Signature", level=2).paragraph_format.keep_with_next = True
    doc.add_paragraph(f"Je soussigné(e) {sig['name']}, {sig['role']}, atteste pour {info['vendor']} "
                      f"l'exactitude des informations ci-dessus concernant le produit {info['product']} "
                      f"{info['version']}.")
    table = grid([("Nom", sig["name"]), ("Fonction", sig["role"]), ("Date", fr_date(info["date"])),
                  ("Valable jusqu'au", fr_date(info["expires"])), ("Signature", "")])
    table.rows[-1].height = Cm(2.8)
    doc.paragraphs[-1].paragraph_format.keep_with_next = True
    for row in table.rows[:-1]:  # the signature block stays on one page
        for cell in row.cells:
            for par in cell.paragraphs:
                par.paragraph_format.keep_with_next = True
    colophon = doc.add_paragraph()
    small(colophon, f"Document produit par segur-proofs {info['toolkit_version']} — campagne {info['campaign']}, "
                    f"exécution {info['run_id']}. Les pièces jointes sont conservées dans le dossier d'exécution "
                    f"sous {ATTACHMENTS_DIR}/ ; leur empreinte SHA-256 permet de vérifier qu'elles n'ont pas été "
                    f"modifiées.", size=8)
    props = doc.core_properties
    props.title = f"Justification {info['requirement']} — {info['product']} {info['version']}"
    props.subject = f"Ségur — exigence conditionnelle {info['requirement']} : condition non remplie"
    props.author = f"{sig['name']} ({info['vendor']})"
    props.language = "fr-FR"
    props.created = props.modified = now_paris().replace(tzinfo=None)
    tmp = out.with_name(out.name + ".tmp")
    doc.save(str(tmp))
    tmp.replace(out)
    return out


# -- the batch's entry point ------------------------------------------------------------------------

async def produce(browser, campaign: Campaign, requirement: catalog.Requirement, scenario: catalog.Scenario,
                  proof_dir: Path, run_id: str) -> dict[str, Any]:
    """Write the attachments, the PDF and the DOCX into ``proof_dir``; return what the result records."""
    from .params import Secrets

    attachments = copy_attachments(campaign, requirement.id, proof_dir / ATTACHMENTS_DIR)
    info = justification_info(campaign, requirement, scenario, run_id, attachments)
    # nothing secret in a document filed with ANS: refuse rather than redact (hashes would lie)
    secrets = Secrets.for_campaign(campaign)
    leaks = [a["name"] for a in attachments if secrets.redact_bytes(Path(a["path"]).read_bytes())
             != Path(a["path"]).read_bytes()]
    if secrets.redact(json.dumps(info, ensure_ascii=False)) != json.dumps(info, ensure_ascii=False):
        leaks.append("le texte de la justification")
    if leaks:
        raise ValueError("un secret de la campagne figure dans " + ", ".join(leaks))
    pdf_name, docx_name = document_names(scenario.id)
    await write_pdf(browser, info, proof_dir / pdf_name)
    write_docx(info, proof_dir / docx_name)
    return {
        "justification": info["reason"],
        "justification_document": {
            "pdf": pdf_name, "docx": docx_name, "explanation": info["explanation"], "reason": info["reason"],
            "signatory": info["signatory"], "date": info["date"], "expires": info["expires"],
            "attachments": [{k: a[k] for k in ("name", "caption", "source", "size", "sha256")}
                            for a in attachments]},
    }

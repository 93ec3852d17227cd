"""A conditional requirement whose condition is declared unmet: justification (PDF + DOCX), NON APPLICABLE.

Runs the real CLI on params/demo-justification.yaml (no target is reached: no notebook runs), reads the
PDF with pypdf and the DOCX with python-docx, checks the run's manifest, then quotes an imported REM.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import yaml
from docx import Document
from pypdf import PdfReader

from conftest import ROOT, SHARED_REM, files_under, run_segur
from segur_helpers import catalog
from segur_helpers.catalog.rem import import_rem
from segur_helpers.catalog.wording import condition_clause
from segur_helpers.evidence import sha256_file

DEMO = ROOT / "params" / "demo-justification.yaml"
SCEN = "SSI_IE.31.01"


def copy_demo(dest: Path) -> Path:
    """The demo justification campaign and its attachments, copied (paths stay relative)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "params" / "justification", dest / "justification")
    return Path(shutil.copy(DEMO, dest / "campaign.yaml"))


def pdf_text(path: Path) -> str:
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())


def docx_text(path: Path) -> str:
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(c.text for c in row.cells)
    return " ".join(" ".join(parts).split())


def words(text: str) -> str:
    return " ".join(text.split())


def run_campaign(params: Path, out: Path):
    proc = run_segur("run", str(params), "--outputs", str(out))
    runs = sorted(p for p in (out / "demo-justification").iterdir() if p.is_dir())
    return proc, runs


@pytest.fixture(scope="module")
def justified(tmp_path_factory):
    base = tmp_path_factory.mktemp("justified")
    params = copy_demo(base / "params")
    proc, runs = run_campaign(params, base / "outputs")
    assert proc.returncode == 0, proc.stderr
    assert len(runs) == 1
    return params, proc, runs[0]


def test_unmet_condition_gives_non_applicable_and_both_documents(justified):
    params, proc, run = justified
    result = json.loads((run / SCEN / "result.json").read_text(encoding="utf-8"))
    assert result["verdict"] == "NON APPLICABLE" and result["error"] is None
    assert "notebook.ipynb" not in {p.name for p in files_under(run)}  # no notebook ran
    pdf, docx = run / SCEN / f"{SCEN}-justification.pdf", run / SCEN / f"{SCEN}-justification.docx"
    assert pdf.is_file() and docx.is_file()
    assert "SSI/IE.31.01: NON APPLICABLE" in proc.stdout and f"PDF: {pdf}" in proc.stdout
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "complete"
    (proof,) = record["proofs"]
    assert {k: proof[k] for k in ("scenario", "verdict", "pdf")} == {
        "scenario": "SSI/IE.31.01", "verdict": "NON APPLICABLE", "pdf": f"{SCEN}/{SCEN}-justification.pdf"}
    doc = result["justification_document"]
    assert doc["signatory"]["name"] == "Claire Martin" and doc["expires"] == "2027-11-19"
    # attachments copied into the run, unchanged, and every file of the run in the manifest
    sources = [params.parent / "justification" / n for n in ("architecture-demo-dpi.png",
                                                              "extrait-configuration-annuaire.yaml")]
    assert [a["sha256"] for a in doc["attachments"]] == [sha256_file(s) for s in sources]
    assert [a["name"] for a in doc["attachments"]] == ["01-architecture-demo-dpi.png",
                                                       "02-extrait-configuration-annuaire.yaml"]
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    assert set(manifest) == {p.relative_to(run).as_posix() for p in files_under(run)} - {"manifest.json"}
    for rel, digest in manifest.items():
        assert sha256_file(run / rel) == digest


def test_justification_pdf_reads_as_a_reviewer_needs(justified):
    params, _, run = justified
    j = yaml.safe_load(params.read_text(encoding="utf-8"))["requirements"]["SSI/IE.31"]["justification"]
    text = pdf_text(run / SCEN / f"{SCEN}-justification.pdf")
    req = catalog.get("SSI/IE.31")
    # no REM imported: no Squash reference is made up, the cover says no REM was imported
    assert "SC.SSI/IE.31" not in text and "Référence Squash" not in text
    for needle in ("SSI/IE.31", "aucun REM importé", "NON APPLICABLE", "Condition d'applicabilité",
                   words(req.condition), words(req.summary), "résumé du projet segur-proofs",
                   words(j["explanation"].split("\n\n")[0]), words(j["reason"].split("\n\n")[1]),
                   "Claire Martin", words(j["signatory"]["role"]), "20/11/2026", "19/11/2027",
                   "SSI/IE.31.01.01", "SSI/IE.31.01.03", "Pièce 1", "Éditeur de démonstration", "Demo DPI 0.1.0",
                   "page 1/", "SSI/IE.31.01 · exécution " + run.name):
        assert needle in text, needle
    for a in json.loads((run / SCEN / "result.json").read_text())["justification_document"]["attachments"]:
        assert a["sha256"] in "".join(text.split())  # the hash may wrap in its table cell
    reader = PdfReader(str(run / SCEN / f"{SCEN}-justification.pdf"))
    assert abs(float(reader.pages[0].mediabox.width) - 595.3) < 2   # A4
    assert reader.pages[0].images or any(p.images for p in reader.pages)  # the diagram is embedded


def test_justification_docx_reads_as_a_reviewer_needs(justified):
    params, _, run = justified
    j = yaml.safe_load(params.read_text(encoding="utf-8"))["requirements"]["SSI/IE.31"]["justification"]
    path = run / SCEN / f"{SCEN}-justification.docx"
    text = docx_text(path)
    req = catalog.get("SSI/IE.31")
    for needle in ("SSI/IE.31 — " + req.title, "NON APPLICABLE", words(req.condition), words(req.summary),
                   "résumé du projet segur-proofs", words(j["explanation"].split("\n\n")[1]),
                   words(j["reason"].split("\n\n")[0]), "Claire Martin", words(j["signatory"]["role"]),
                   "20/11/2026", "19/11/2027", "SSI/IE.31.01.02", "Signature"):
        assert needle in text, needle
    result = json.loads((run / SCEN / "result.json").read_text())
    for a in result["justification_document"]["attachments"]:
        assert a["sha256"] in text and a["name"] in text
    doc = Document(str(path))
    assert len(doc.inline_shapes) == 1  # the PNG diagram, embedded; the YAML extract is listed only
    footer_xml = doc.sections[0].footer.paragraphs[0]._p.xml
    assert "PAGE" in footer_xml and "NUMPAGES" in footer_xml and run.name in footer_xml
    assert abs(doc.sections[0].page_width.cm - 21) < 0.1


@pytest.mark.skipif(not (SHARED_REM / "export_full.xlsx").is_file(), reason="shared REM workbooks absent")
def test_imported_rem_wording_is_quoted(tmp_path):
    params = copy_demo(tmp_path / "params")
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params))
    assert proc.returncode == 0, proc.stderr
    catalogue = params.with_name("campaign.rem.json")
    assert catalogue.is_file() and "rem: campaign.rem.json" in params.read_text(encoding="utf-8")
    rem = import_rem(SHARED_REM / "export_full.xlsx", "HOP-DPI")  # the campaign's rem_project:
    # REM HOP-DPI's SSI/IE.31 has no wording of its own: its socle parent's (SC_SSI) is quoted, and said so
    official = rem.wording_parent(rem.get("SSI/IE.31"))
    assert official.squash_ref == "SC.SSI/IE.31" and official.statement
    proc, runs = run_campaign(params, tmp_path / "outputs")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((runs[0] / SCEN / "result.json").read_text())
    source = "libellé officiel de l'exigence socle parente SC.SSI/IE.31"
    assert result["wording_source"].startswith(source) and "export_full.xlsx, export Squash" in result["wording_source"]
    assert result["summary"] == official.statement
    # the whole sentence(s) carrying the condition, labelled as an extract of the statement
    assert result["condition"] == condition_clause(official.statement) and result["condition"]
    assert result["condition_source"] == "extrait de l'énoncé ci-dessus"
    assert result["squash_ref"] == "SSI/IE.31" and result["rem"]["code"] == "HOP-DPI"
    assert result["expected_source"] == "résumé du projet segur-proofs"  # a Squash export has no proofs
    first_words = " ".join(official.statement.split()[:12])
    for text in (pdf_text(runs[0] / SCEN / f"{SCEN}-justification.pdf"),
                 docx_text(runs[0] / SCEN / f"{SCEN}-justification.docx")):
        assert source in text and "REM HOP-DPI « REM_HOP-DPI_Hôpital [va2] »" in text
        assert first_words in text and words(result["condition"]) in text
        assert "extrait de l'énoncé" in text
        assert words(catalog.get("SSI/IE.31").summary) not in text  # the official words replace the summary
    # importing again does not silently replace the catalogue
    again = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params))
    assert again.returncode == 2 and "already exists" in again.stderr and "--replace" in again.stderr
    assert params.read_text(encoding="utf-8").count("rem:") == 1


def test_bundle_of_justification_run(justified, tmp_path):
    _, _, run = justified
    out = tmp_path / "bundle"
    proc = run_segur("bundle", str(run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((run / "manifest.json").read_text())["files"]
    import zipfile
    with zipfile.ZipFile(out / "SSI_IE.zip") as zf:
        names = sorted(zf.namelist())
        assert names == [f"SSI_IE.31.01.0{n}.{ext}" for n in (1, 2, 3) for ext in ("docx", "pdf")]
        for name in names:
            ext = name.rsplit(".", 1)[1]
            digest = hashlib.sha256(zf.read(name)).hexdigest()
            assert digest == manifest[f"{SCEN}/{SCEN}-justification.{ext}"]
    assert sorted(p.name for p in (out / "SSI_IE").iterdir()) == names
    # a tampered run is refused, and an existing bundle is never overwritten
    proc = run_segur("bundle", str(run), "--out", str(out))
    assert proc.returncode == 2 and "already exists" in proc.stderr
    copy = tmp_path / "copy" / run.name
    shutil.copytree(run, copy)
    with open(copy / SCEN / f"{SCEN}-justification.docx", "ab") as fh:
        fh.write(b"x")
    proc = run_segur("bundle", str(copy), "--out", str(tmp_path / "b2"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "SHA-256 differs from manifest.json" in proc.stderr and not (tmp_path / "b2").exists()


def test_secret_in_an_attachment_is_erreur_not_filed(tmp_path, admin_password):
    """A campaign secret found in an attachment: no document is written, the proof says ERREUR and why."""
    params = copy_demo(tmp_path / "params")
    data = yaml.safe_load(params.read_text(encoding="utf-8"))
    data["target"]["admin"] = {"username": "admin", "password": "env:DEMO_DPI_ADMIN_PASSWORD"}
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with open(params.parent / "justification" / "extrait-configuration-annuaire.yaml", "a") as fh:
        fh.write(f"admin_password: {admin_password}\n")
    proc, runs = run_campaign(params, tmp_path / "outputs")
    assert proc.returncode == 2
    result = json.loads((runs[0] / SCEN / "result.json").read_text())
    assert result["verdict"] == "ERREUR"
    assert "un secret de la campagne figure dans 02-extrait-configuration-annuaire.yaml" in result["error"]["message"]
    assert not list((runs[0] / SCEN).glob("*.pdf")) and not list((runs[0] / SCEN).glob("*.docx"))
    assert admin_password not in proc.stdout + proc.stderr
    for f in files_under(runs[0]):
        assert admin_password.encode() not in f.read_bytes(), f

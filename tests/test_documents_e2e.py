"""Documents end to end against the real demo DPI: HOP VA 1.06, DMP/CONF.04, MSS/CONF.16.

One compliant campaign run covers every requirement (CONFORME each); each defect run switches one
requirement's defect on and must give NON CONFORME naming the failed checks, in result.json and in the PDF.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from pypdf import PdfReader

from conftest import ADMIN_PASSWORD, campaign_dict, files_under, run_segur
from segur_helpers.ids import safe_name

REQS = ("DMP/CONF.04", "MSS/CONF.16", "HOP VA 1.06")


def pdf_text(path: Path) -> str:
    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())


def run_campaign(tmp: Path, stack, only: tuple[str, ...]):
    params = tmp / "campaign.yaml"
    params.write_text(yaml.safe_dump(campaign_dict(stack.url, stack.maildir, only=only), allow_unicode=True),
                      encoding="utf-8")
    out = tmp / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out))
    runs = [p for p in (out / "test").iterdir() if p.is_dir()]
    assert len(runs) == 1, (proc.stdout, proc.stderr)
    return proc, runs[0]


def result_of(run: Path, req: str) -> tuple[dict, Path]:
    folder = run / safe_name(f"{req}.01")
    return json.loads((folder / "result.json").read_text(encoding="utf-8")), folder / f"{folder.name}.pdf"


def assert_no_secret(run: Path, *texts: str) -> None:
    for f in files_under(run):
        assert ADMIN_PASSWORD.encode() not in f.read_bytes(), f"secret found in {f}"
    for t in texts:
        assert ADMIN_PASSWORD not in t


@pytest.fixture(scope="module")
def compliant(tmp_path_factory):
    from demo_dpi.stack import DemoStack

    tmp = tmp_path_factory.mktemp("documents")
    with DemoStack(tmp / "target") as stack:
        proc, run = run_campaign(tmp, stack, REQS)
        yield proc, run


def test_compliant_documents_are_conforme(compliant):
    proc, run = compliant
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for req in REQS:
        result, pdf = result_of(run, req)
        assert result["verdict"] == "CONFORME", (req, [c for c in result["checks"] if not c["passed"]])
        assert result["checks"] and all(c["passed"] for c in result["checks"])
        text = pdf_text(pdf)
        assert "CONFORME" in text and "NON CONFORME" not in text and f"{req}.01.01" in text
    assert_no_secret(run, proc.stdout, proc.stderr)


def test_cda_proof_keeps_the_document_and_names_every_xpath(compliant):
    _, run = compliant
    result, pdf = result_of(run, "DMP/CONF.04")
    names = [e["name"] for e in result["evidence"]]
    xml = next(n for n in names if n.endswith("-cda.xml"))
    assert any(n.endswith(".pdf") for n in names) and any(n.endswith(".csv") for n in names)
    from segur_helpers.cda import check_cda
    rules = check_cda((run / "DMP_CONF.04.01" / "evidence" / xml).read_bytes())
    labels = {c["label"].split(" — ")[0]: c for c in result["checks"]}
    for rule in rules:  # one check per rule, each naming its XPath
        assert labels[rule.rule_id]["expected"] == f"XPath {rule.xpath}"
    assert "R8.ldl-template" in labels and "R4.ins-oid" in labels
    # XPaths wrap inside their table cells: compare without the line breaks' spaces
    assert "/cda:ClinicalDocument/cda:templateId[@root='1.2.250.1.213.1.1.1.29']" in pdf_text(pdf).replace(" ", "")


def test_mss_proof_keeps_raw_eml_with_header(compliant):
    _, run = compliant
    result, _ = result_of(run, "MSS/CONF.16")
    emls = [e["name"] for e in result["evidence"] if e["kind"] == "email"]
    assert len(emls) == 1
    raw = (run / "MSS_CONF.16.01" / "evidence" / emls[0]).read_bytes()
    assert b"X-MSS-NIL: DEMO-SEGUR-NIL-0042" in raw


DEFECTS = {
    "DMP/CONF.04": ("R2.ci-sis", "R8.ldl-code", "R8.not-crh", "Titre du document (ClinicalDocument/title)"),
    "MSS/CONF.16": ("porte l'en-tête SMTP X-MSS-NIL", "vaut le numéro d'identification",
                    "Tous les messages envoyés"),
    "HOP VA 1.06": ("Étape « Relecture »", "ordre du circuit"),
}


@pytest.mark.parametrize("req", list(DEFECTS))
def test_defect_gives_non_conforme_naming_failed_checks(req, tmp_path, demo_stack):
    stack = demo_stack(defects=[req])
    proc, run = run_campaign(tmp_path, stack, (req,))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result, pdf = result_of(run, req)
    assert result["verdict"] == "NON CONFORME"
    failed = [c["label"] for c in result["checks"] if not c["passed"]]
    for words in DEFECTS[req]:
        assert any(words in label for label in failed), (words, failed)
    assert len(failed) == len(DEFECTS[req]), failed  # only what the defect breaks
    text = pdf_text(pdf)
    assert "NON CONFORME" in text and "Vérifications en échec" in text
    for words in DEFECTS[req]:
        assert words in text
    assert_no_secret(run, proc.stdout, proc.stderr)


def test_missing_registration_number_is_bad_input(tmp_path):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("MSS/CONF.16",))
    del data["requirements"]["MSS/CONF.16"]["data"]["segur_nil"]
    params = tmp_path / "campaign.yaml"
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "outputs"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "campaign.yaml" in line and "requirements.MSS/CONF.16.data.segur_nil" in line and "X-MSS-NIL" in line
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*"))

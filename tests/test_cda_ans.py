"""ANS's own CDA validation (segur_helpers.cda_ans) with ANS's TestContenuCDA from ../shared/cda.

The checkout is read where it is (never copied into the repository); the tests that change a checkout
work on a copy of the few folders the validation reads, in a temporary folder. Skipped cleanly when the
shared folder is absent.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from conftest import _shared_dir, campaign_dict, run_segur
from demo_dpi.cda_gen import DOC_TYPES, build_cda, document_pdf, nir_key
from segur_helpers import cda_ans
from segur_helpers.errors import UserError
from segur_helpers.ids import safe_name

CHECKOUT = _shared_dir() / "cda" / "TestContenuCDA-3-0"
pytestmark = pytest.mark.skipif(not (CHECKOUT / cda_ans.SCHEMATRON).is_file(),
                                reason=f"ANS's TestContenuCDA not found at {CHECKOUT}")
MISSING_471 = "include/voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml"
EXAMPLE = CHECKOUT / "ExemplesCDA" / "DOC_NON_STRUCTURE_CDA-R2-N1.xml"

PATIENT = {"ins": "280052A004012" + nir_key("280052A004012"), "ipp": "IPP-1", "nom": "SEGURTEST",
           "prenom": "Camille", "birth_date": "19800512", "sex": "F"}
DOC = {"uuid": "7f3c9a4e-1b2d-4c5e-8f90-123456789abc", "title": "Lettre (test)", "content": "Ligne 1\nLigne 2",
       "author_nom": "MEDECINTEST", "author_prenom": "Alice", "author_rpps": "10101234567",
       "validated_at_local": "25/11/2026 10:00:00"}


def demo_cda(type_code: str = "LDL", defective: bool = False) -> bytes:
    t = DOC_TYPES[type_code]
    return build_cda(DOC, PATIENT, t, when=datetime(2026, 11, 25, 9, tzinfo=timezone.utc),
                     pdf=document_pdf(DOC, PATIENT, t), defective=defective)


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cda-cache")
    old = os.environ.get("SEGUR_CDA_CACHE")
    os.environ["SEGUR_CDA_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("SEGUR_CDA_CACHE", None)
    else:
        os.environ["SEGUR_CDA_CACHE"] = old


@pytest.mark.parametrize("type_code", list(DOC_TYPES))
def test_demo_documents_pass_ans_validation(type_code):
    result = cda_ans.validate(demo_cda(type_code), CHECKOUT)
    assert result.well_formed and result.schema_errors == [] and result.error == ""
    assert result.failed == [], [(f.text, f.location) for f in result.failed]
    assert result.passed and result.fired_rules > 20
    assert result.commit == "7cd489b39368809df9bcf2cfef5e5d6354438a02"
    assert b"schematron-output" in result.svrl


def test_ans_example_passes_too():
    result = cda_ans.validate(EXAMPLE.read_bytes(), CHECKOUT)
    assert result.passed, [(f.text, f.location) for f in result.failed]


def test_defective_letter_fails_with_ans_assert_texts_and_locations():
    result = cda_ans.validate(demo_cda(defective=True), CHECKOUT)
    assert not result.passed and result.schema_errors == []
    texts = [f.text for f in result.failed]
    assert any("seuls les trois templateId" in t for t in texts), texts
    assert any("templateId[@root='1.2.250.1.213.1.1.1.1'] is required" in t for t in texts), texts
    assert all(f.location.startswith("/ClinicalDocument") and f.role == "error" for f in result.failed)


def test_missing_value_set_is_named_and_its_assertions_left_out():
    result = cda_ans.validate(demo_cda(), CHECKOUT)
    assert result.missing_value_sets == [MISSING_471]
    (left_out,) = result.not_evaluated
    assert left_out.value_sets == (MISSING_471,) and "1.2.250.1.213.1.1.5.471" in left_out.text


def test_compiled_schematron_is_cached_per_checkout_and_commit(tmp_path, cache):
    first = cda_ans.compile_schematron(CHECKOUT)
    again = cda_ans.compile_schematron(CHECKOUT)
    assert again.from_cache and again.xslt == first.xslt and again.xslt.is_relative_to(cache)
    assert (again.xslt.parent / "include" / "voc-1.2.250.1.213.1.1.5.718-DYNAMIC.xml").is_file()
    meta = json.loads((again.xslt.parent / cda_ans.META_NAME).read_text(encoding="utf-8"))
    assert meta["commit"] == "7cd489b39368809df9bcf2cfef5e5d6354438a02" and meta["pipeline_s"] > 0

    # another checkout (a copy), another commit: another cache entry; a value set removed is named
    copy = _copy_checkout(tmp_path / "TestContenuCDA")
    (copy / "COMMIT").write_text("0123456789abcdef0123456789abcdef01234567 2026-01-01\n", encoding="utf-8")
    (copy / cda_ans.SCHEMATRON.parent / "include" / "voc-1.2.250.1.213.1.1.5.718-DYNAMIC.xml").unlink()
    other = cda_ans.compile_schematron(copy)
    assert not other.from_cache and other.xslt.parent != first.xslt.parent
    assert other.commit.startswith("0123456789ab")
    assert "include/voc-1.2.250.1.213.1.1.5.718-DYNAMIC.xml" in other.missing_value_sets
    result = cda_ans.validate(demo_cda(), copy)  # runs, never an I/O error on the missing file
    assert result.error == "" and result.passed
    assert any("718" in " ".join(n.value_sets) for n in result.not_evaluated)


def test_commit_from_git_when_no_commit_file(tmp_path):
    import subprocess

    copy = _copy_checkout(tmp_path / "repo")
    (copy / "COMMIT").unlink()
    assert cda_ans.commit_of(copy) == "inconnu"
    git = ["git", "-C", str(copy), "-c", "user.email=t@example.test", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "copy"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert cda_ans.commit_of(copy) == head


def test_bad_documents_never_raise():
    result = cda_ans.validate(b"<ClinicalDocument", CHECKOUT)
    assert not result.well_formed and not result.passed and result.schema_errors
    text = demo_cda().decode().replace("<realmCode code=\"FR\"/>", "<realmCode code=\"FR\"/><inconnu/>")
    result = cda_ans.validate(text.encode(), CHECKOUT)
    assert result.schema_errors and "inconnu" in result.schema_errors[0].message and not result.passed


def test_a_folder_that_is_not_a_checkout_is_refused(tmp_path):
    with pytest.raises(UserError, match="not a checkout of ANS's TestContenuCDA: missing"):
        cda_ans.check_checkout(tmp_path)
    with pytest.raises(UserError, match="not a folder"):
        cda_ans.check_checkout(tmp_path / "absent")


def test_campaign_naming_no_checkout_is_bad_input(tmp_path):
    data = campaign_dict("http://127.0.0.1:9", tmp_path / "maildir", only=("DMP/CONF.04",),
                         cda={"testcontenucda": "nulle-part/TestContenuCDA"})
    params = tmp_path / "campaign.yaml"
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    proc = run_segur("run", str(params), "--outputs", str(tmp_path / "outputs"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "campaign.yaml" in line and "cda.testcontenucda" in line and "TestContenuCDA" in line
    assert not (tmp_path / "outputs").exists() or not any((tmp_path / "outputs").rglob("*"))


def _copy_checkout(dest: Path) -> Path:
    """The folders the validation reads, copied to a temporary folder (test data stays in ../shared)."""
    for part in ("COMMIT", cda_ans.SCHEMA.parent, cda_ans.SCHEMATRON.parent, cda_ans.ENGINE):
        src = CHECKOUT / part
        if src.is_dir():
            shutil.copytree(src, dest / part)
        else:
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / part)
    return dest


# --- end to end: the CDA proof against the demo DPI, validated as ANS does ----------------------------

def _run(tmp_path: Path, stack, cache: Path) -> tuple[object, dict, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    params = tmp_path / "campaign.yaml"
    data = campaign_dict(stack.url, stack.maildir, only=("DMP/CONF.04",), cda={"testcontenucda": str(CHECKOUT)},
                         allowed_dirs=[str(CHECKOUT), str(stack.maildir.parent)])   # outside the campaign's folder
    params.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "outputs"
    proc = run_segur("run", str(params), "--outputs", str(out), env=os.environ | {"SEGUR_CDA_CACHE": str(cache)})
    (run,) = [p for p in (out / "test").iterdir() if p.is_dir()]
    folder = run / safe_name("DMP/CONF.04.01")
    return proc, json.loads((folder / "result.json").read_text(encoding="utf-8")), folder


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return " ".join("\n".join(p.extract_text() or "" for p in PdfReader(str(path)).pages).split())


def test_proof_validates_as_ans_conforme_then_non_conforme_under_the_defect(tmp_path, demo_stack, cache):
    proc, result, folder = _run(tmp_path / "ok", demo_stack(), cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["verdict"] == "CONFORME", [c for c in result["checks"] if not c["passed"]]
    labels = [c["label"] for c in result["checks"]]
    assert any(lbl.startswith("Schéma XML CDA R2 de l'ANS") for lbl in labels)
    assert any("aucune assertion en erreur" in lbl for lbl in labels)
    assert any(lbl.startswith("Titre du document (ClinicalDocument/title)") for lbl in labels)
    assert not any(lbl.startswith("R2.") for lbl in labels)  # ANS's validation replaces the project's rules
    svrl = [e for e in result["evidence"] if e["name"].endswith("rapport-svrl-structuration-minimale.xml")]
    assert len(svrl) == 1 and b"schematron-output" in (folder / "evidence" / svrl[0]["name"]).read_bytes()
    text = _pdf_text(folder / f"{folder.name}.pdf")
    assert "voc-1.2.250.1.213.1.1.5.471-DYNAMIC.xml" in text and "Validation du document par les outils" in text

    proc, result, folder = _run(tmp_path / "defect", demo_stack(defects=["DMP/CONF.04"]), cache)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert result["verdict"] == "NON CONFORME"
    failed = {c["label"]: c for c in result["checks"] if not c["passed"]}
    ans = [lbl for lbl in failed if lbl.startswith("Schématron ANS : ")]
    assert any("seuls les trois templateId" in lbl for lbl in ans), failed
    assert any("templateId[@root='1.2.250.1.213.1.1.1.1'] is required" in lbl for lbl in ans), failed
    assert all("/ClinicalDocument" in failed[lbl]["observed"] for lbl in ans)
    assert any(lbl.startswith("Titre du document") for lbl in failed)
    assert len(failed) == len(ans) + 1, list(failed)
    text = _pdf_text(folder / f"{folder.name}.pdf")
    assert "seuls les trois templateId" in text and "Vérifications en échec" in text

"""Units of the documents feature: demo_dpi's CDA generator against the CDA rules, notebooks in sync."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from demo_dpi.cda_gen import DOC_TYPES, build_cda, document_pdf, nir_key
from segur_helpers.cda import check_cda

PATIENT = {"ins": "280052A004012" + nir_key("280052A004012"), "ipp": "IPP-1", "nom": "SEGURTEST",
           "prenom": "Camille", "birth_date": "19800512", "sex": "F"}
DOC = {"uuid": "7f3c9a4e-1b2d-4c5e-8f90-123456789abc", "title": "Lettre (test) & <suite>",
       "content": "Ligne 1\nLigne 2 avec des accents : éèà", "author_nom": "MEDECINTEST", "author_prenom": "Alice",
       "author_rpps": "10101234567", "validated_at_local": "25/11/2026 10:00:00"}


def _cda(type_code: str, defective: bool = False) -> bytes:
    t = DOC_TYPES[type_code]
    pdf = document_pdf(DOC, PATIENT, t)
    return build_cda(DOC, PATIENT, t, when=datetime(2026, 11, 25, 9, tzinfo=timezone.utc), pdf=pdf,
                     defective=defective)


@pytest.mark.parametrize("type_code", list(DOC_TYPES))
def test_generated_documents_pass_every_rule(type_code):
    rules = check_cda(_cda(type_code), expect_ldl=type_code == "LDL")
    assert rules and all(r.passed for r in rules), [(r.rule_id, r.observed) for r in rules if not r.passed]


def test_defective_letter_fails_exactly_the_ci_sis_and_crh_rules():
    failed = {r.rule_id for r in check_cda(_cda("LDL", defective=True)) if not r.passed}
    assert failed == {"R2.ci-sis", "R8.ldl-code", "R8.not-crh"}


def test_pdf_body_is_readable_and_paginated(tmp_path):
    long_doc = DOC | {"content": "\n".join(f"Ligne {n}" for n in range(120))}
    pdf = document_pdf(long_doc, PATIENT, DOC_TYPES["CRO"])
    path = tmp_path / "x.pdf"
    path.write_bytes(pdf)
    reader = PdfReader(str(path))
    assert len(reader.pages) == 3
    assert "Ligne 119" in reader.pages[2].extract_text()
    assert "SEGURTEST" in reader.pages[0].extract_text()


def test_document_proofs_refuse_a_non_test_ins_oid(tmp_path):
    from types import SimpleNamespace

    from segur_helpers.errors import PatientRefused
    from segur_helpers.scenarios._documents import ensure_test_ins

    def proof(ins_oid, allow=False):
        raw = {"allow_non_test_patients": allow}
        return SimpleNamespace(campaign=SimpleNamespace(raw=raw, path=tmp_path / "c.yaml"),
                               data={"ins_oid": ins_oid, "document": {"patient": "280052A00401271"}})

    ensure_test_ins(proof("1.2.250.1.213.1.4.10"))
    with pytest.raises(PatientRefused, match="1.2.250.1.213.1.4.8"):
        ensure_test_ins(proof("1.2.250.1.213.1.4.8"))
    ensure_test_ins(proof("1.2.250.1.213.1.4.8", allow=True))


def _client(tmp_path, defects=()):
    from demo_dpi.app import Settings, create_app

    app = create_app(Settings(db_path=str(tmp_path / "dpi.sqlite"), admin_user="admin", admin_password="pw",
                              public_url="http://127.0.0.1", defects=set(defects)))
    client = app.test_client()
    client.post("/login", data={"username": "admin", "password": "pw"})
    return client


def _new(client, doc_type: str, patient: str = PATIENT["ins"]) -> str:
    r = client.post("/circuit/documents/new", data={
        "patient": patient, "doc_type": doc_type, "title": "Test", "content": "Contenu",
        "author_nom": "MEDECINTEST", "author_prenom": "Alice", "author_rpps": "10101234567", "send_dmp": "1"})
    assert r.status_code == 302, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


def test_review_circuit_is_enforced(tmp_path):
    client = _client(tmp_path)
    cro = _new(client, "CRO")
    assert client.post(f"/circuit/documents/{cro}/validate").status_code == 409  # not reviewed yet
    assert client.post(f"/circuit/documents/{cro}/submit-review").status_code == 302
    assert client.post(f"/circuit/documents/{cro}/review", data={"reviewer": "Dr SENIOR"}).status_code == 302
    assert client.post(f"/circuit/documents/{cro}/validate").status_code == 302
    page = client.get(f"/circuit/documents/{cro}").text
    assert "Dr SENIOR — relecteur" in page and 'data-testid="doc-status">Validé' in page
    ldl = _new(client, "LDL")
    assert client.post(f"/circuit/documents/{ldl}/submit-review").status_code == 409  # no review step
    assert client.post(f"/circuit/documents/{ldl}/validate").status_code == 302


def test_opposition_cancels_the_send_at_validation_and_defect_unticks(tmp_path):
    client = _client(tmp_path)
    assert "checked" in _send_dmp_input(client)
    doc = _new(client, "LDL", patient="175037510801267")  # OPPOSITEST: opposition recorded
    client.post(f"/circuit/documents/{doc}/validate")
    page = client.get(f"/circuit/documents/{doc}").text
    assert 'data-state="annule"' in page and "opposition du patient" in page
    defective = _client(tmp_path / "d", defects=["HOP VA 1.04"])
    assert "checked" not in _send_dmp_input(defective)


def _send_dmp_input(client) -> str:
    import re

    return re.search(r'<input type="checkbox" id="send-dmp"[^>]*>', client.get("/circuit/documents/new").text).group(0)


def test_generated_titles_follow_the_naming_rule_and_the_defect_breaks_it():
    from segur_helpers.cda import check_title_naming

    for type_code in DOC_TYPES:
        rule = check_title_naming(_cda(type_code))
        assert rule.passed, rule.observed
        assert "25/11/2026" in rule.observed and "SEGURTEST Camille" in rule.observed
    broken = check_title_naming(_cda("LDL", defective=True))
    assert not broken.passed
    assert "date du document (25/11/2026)" in broken.observed and "SEGURTEST" in broken.observed

"""CDA R2 level 1 checks: a valid lettre de liaison passes, each broken document fails its own rule."""
from __future__ import annotations

import base64
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

from segur_helpers.cda import (  # noqa: E402
    RULES,
    CdaRule,
    check_cda,
    rules_table,
    summarize,
)
from segur_helpers.errors import UserError  # noqa: E402

DATA = ROOT / "tests" / "data" / "cda"
VALID = DATA / "ldl_valid.xml"

ALL_RULE_IDS = [
    "R0.xml", "R1.root", "R1.realm", "R1.typeId",
    "R2.cda-fr", "R2.ci-sis", "R2.ihe-xds-sd",
    "R3.id", "R3.code", "R3.effectiveTime", "R3.title",
    "R4.ins-oid", "R4.ins-format", "R5.rpps", "R6.confidentiality", "R7.visibility",
    "R8.ldl-template", "R8.ldl-code", "R8.not-crh", "R9.body", "R9.pdf",
]


def failed(rules: list[CdaRule]) -> dict[str, CdaRule]:
    return {r.rule_id: r for r in rules if not r.passed}


def valid_text() -> str:
    return VALID.read_text(encoding="utf-8")


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_cda", DATA / "make_cda.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the valid document -----------------------------------------------------------------------------

def test_valid_ldl_passes_every_rule():
    rules = check_cda(VALID)
    assert [r.rule_id for r in rules] == ALL_RULE_IDS
    assert failed(rules) == {}
    assert summarize(rules) is True
    for rule in rules:
        assert rule.label and rule.observed
        assert rule.xpath == "/" or rule.xpath.startswith("/cda:ClinicalDocument")
    by_id = {r.rule_id: r for r in rules}
    assert "1 page(s)" in by_id["R9.pdf"].observed
    assert "Lettre de liaison de sortie - patient de test" in by_id["R9.pdf"].observed
    assert by_id["R7.visibility"].observed == "aucun masquage"
    assert "280052A004012" in by_id["R4.ins-oid"].observed  # test INS: shown


def test_labels_are_the_documented_ones():
    assert set(ALL_RULE_IDS) == set(RULES)
    rules = check_cda(VALID)
    for rule in rules:
        if rule.rule_id != "R4.ins-oid":  # refined per campaign kind
            assert rule.label == RULES[rule.rule_id]


def test_input_forms_agree():
    as_path = check_cda(VALID)
    assert check_cda(VALID.read_bytes()) == as_path
    assert check_cda(valid_text()) == as_path  # str with an XML declaration
    assert check_cda(str(VALID)) == as_path  # a str naming a file


def test_valid_file_is_small_and_fixtures_are_up_to_date():
    assert VALID.stat().st_size < 20_000
    rendered = _load_generator().render()
    for name, data in rendered.items():
        assert (DATA / name).read_bytes() == data, f"{name} is stale: run tests/data/cda/make_cda.py"


def test_rules_table_for_display():
    rows = rules_table(check_cda(DATA / "ldl_production_ins.xml"))
    assert rows[0] == {"Règle": "R0.xml", "Libellé": "XML bien formé", "XPath": "/",
                       "Résultat": "RÉUSSI", "Observé": "document analysé sans erreur"}
    ins = next(r for r in rows if r["Règle"] == "R4.ins-oid")
    assert ins["Résultat"] == "ÉCHEC"


# --- each broken document fails its own rule(s), naming the XPath ---------------------------------

@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ldl_missing_ci_sis_template.xml",
         {"R2.ci-sis": "/cda:ClinicalDocument/cda:templateId[@root='1.2.250.1.213.1.1.1.1']"}),
        ("ldl_production_ins.xml",
         {"R4.ins-oid": "/cda:ClinicalDocument/cda:recordTarget/cda:patientRole/cda:id["}),
        ("ldl_author_without_rpps.xml",
         {"R5.rpps": "/cda:ClinicalDocument/cda:author/cda:assignedAuthor/cda:id[@root='1.2.250.1.71.4.2.1']"}),
        ("ldl_bad_confidentiality.xml",
         {"R6.confidentiality": "/cda:ClinicalDocument/cda:confidentialityCode"}),
        ("ldl_crh_code.xml",
         {"R8.ldl-code": "/cda:ClinicalDocument/cda:code[@code='11490-0'",
          "R8.not-crh": "/cda:ClinicalDocument/cda:code[@code='34112-3']"}),
        ("ldl_body_not_pdf.xml",
         {"R9.pdf": "/cda:ClinicalDocument/cda:component/cda:nonXMLBody/cda:text"}),
        ("ldl_unknown_visibility.xml",
         {"R7.visibility": "/cda:ClinicalDocument/cda:confidentialityCode/cda:translation"}),
    ],
)
def test_broken_document_fails_exactly_its_rule(name: str, expected: dict[str, str]):
    rules = check_cda(DATA / name)
    bad = failed(rules)
    assert set(bad) == set(expected)
    for rule_id, xpath_start in expected.items():
        assert bad[rule_id].xpath.startswith(xpath_start)
        assert bad[rule_id].observed
    assert summarize(rules) is False
    assert [r.rule_id for r in rules] == ALL_RULE_IDS  # every rule still evaluated


def test_failure_messages_say_what_is_wrong():
    obs = {n: failed(check_cda(DATA / n)) for n in (
        "ldl_production_ins.xml", "ldl_missing_ci_sis_template.xml", "ldl_crh_code.xml",
        "ldl_body_not_pdf.xml", "ldl_unknown_visibility.xml", "ldl_bad_confidentiality.xml")}
    ins = obs["ldl_production_ins.xml"]["R4.ins-oid"].observed
    assert "INS de production" in ins and "campagne de test" in ins
    assert "280052A004012" not in ins  # a production INS value is never copied into a proof
    assert "absent" in obs["ldl_missing_ci_sis_template.xml"]["R2.ci-sis"].observed
    assert "mélangés" in obs["ldl_crh_code.xml"]["R8.not-crh"].observed
    assert "%PDF-" in obs["ldl_body_not_pdf.xml"]["R9.pdf"].observed
    assert "INVISIBLE_TOUS" in obs["ldl_unknown_visibility.xml"]["R7.visibility"].observed
    assert "code=U" in obs["ldl_bad_confidentiality.xml"]["R6.confidentiality"].observed


def test_malformed_xml_gives_one_failed_rule_without_exception():
    rules = check_cda(DATA / "malformed.xml")
    assert len(rules) == 1
    (rule,) = rules
    assert (rule.rule_id, rule.label, rule.passed) == ("R0.xml", "XML bien formé", False)
    assert "mismatch" in rule.observed  # the parser's own message
    for junk in (b"", b"not xml at all", "<ClinicalDocument", b"\x00\xff\xfe"):
        (rule,) = check_cda(junk)
        assert rule.rule_id == "R0.xml" and not rule.passed


def test_root_must_be_clinical_document_in_hl7_namespace():
    rules = check_cda(DATA / "not_clinical_document.xml")
    assert [(r.rule_id, r.passed) for r in rules] == [("R0.xml", True), ("R1.root", False)]
    assert rules[1].xpath == "/cda:ClinicalDocument"
    assert "aucun" in rules[1].observed
    other = check_cda(b'<html xmlns="http://www.w3.org/1999/xhtml"/>')
    assert [(r.rule_id, r.passed) for r in other] == [("R0.xml", True), ("R1.root", False)]


def test_missing_path_is_a_user_error():
    with pytest.raises(UserError, match="cannot read"):
        check_cda(DATA / "no_such_file.xml")


# --- campaign kind ------------------------------------------------------------------------------------

def test_production_campaign_accepts_production_ins():
    rules = check_cda(DATA / "ldl_production_ins.xml", test_campaign=False)
    assert failed(rules) == {}
    ins = next(r for r in rules if r.rule_id == "R4.ins-oid")
    assert "1.2.250.1.213.1.4.8" in ins.label and "valeur masquée" in ins.observed


def test_production_campaign_refuses_test_ins():
    bad = failed(check_cda(VALID, test_campaign=False))
    assert set(bad) == {"R4.ins-oid"}
    assert "INS de test" in bad["R4.ins-oid"].observed


@pytest.mark.parametrize("value", ["28005190040", "2800519004012712", "28005X9004012X1", "280052C00401271"])
def test_ins_format(value: str):
    doc = valid_text().replace('extension="280052A00401271"', f'extension="{value}"')
    assert set(failed(check_cda(doc))) == {"R4.ins-format"}


def test_ins_missing_fails_both_ins_rules():
    doc = valid_text().replace('root="1.2.250.1.213.1.4.10"', 'root="1.2.250.1.999.9"')
    bad = failed(check_cda(doc))
    assert set(bad) == {"R4.ins-oid", "R4.ins-format"}
    assert "aucun INS" in bad["R4.ins-oid"].observed


# --- RPPS form ----------------------------------------------------------------------------------------

def test_bare_11_digit_rpps_is_refused_with_a_clear_message():
    doc = valid_text().replace(
        '<id root="1.2.250.1.71.4.2.1" extension="899900012345"/>\n      <code',
        '<id root="1.2.250.1.71.4.2.1" extension="99900012345"/>\n      <code')
    bad = failed(check_cda(doc))
    assert set(bad) == {"R5.rpps"}
    assert "préfixe « 8 »" in bad["R5.rpps"].observed


def test_device_author_is_not_checked_but_a_person_author_is_required():
    device = ('<author><time value="20250301143000+0100"/><assignedAuthor>'
              '<id root="1.2.250.1.999.4" extension="DPI-1"/>'
              '<assignedAuthoringDevice><softwareName>DPI</softwareName></assignedAuthoringDevice>'
              '</assignedAuthor></author>\n  <custodian>')
    with_device = valid_text().replace("<custodian>", device, 1)
    assert failed(check_cda(with_device)) == {}
    start = with_device.index("<author>")
    only_device = with_device[:start] + with_device[with_device.index("</author>") + len("</author>"):]
    bad = failed(check_cda(only_device))
    assert set(bad) == {"R5.rpps"} and "personne physique" in bad["R5.rpps"].observed


# --- visibility, LDL / CRH ----------------------------------------------------------------------------

def test_known_visibility_codes_pass():
    translations = "".join(
        f'<translation code="{c}" codeSystem="1.2.250.1.213.1.1.4.13"/>'
        for c in ("INVISIBLE_PATIENT", "MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX"))
    doc = valid_text().replace('displayName="Normal"/>', f'displayName="Normal">{translations}</confidentialityCode>')
    rules = check_cda(doc)
    assert failed(rules) == {}
    vis = next(r for r in rules if r.rule_id == "R7.visibility")
    assert vis.observed == "INVISIBLE_PATIENT, MASQUE_PS, INVISIBLE_REPRESENTANTS_LEGAUX"


def test_expect_ldl_false_drops_ldl_rules_but_keeps_crh_ldl_exclusion():
    ids = [r.rule_id for r in check_cda(VALID, expect_ldl=False)]
    assert "R8.ldl-template" not in ids and "R8.ldl-code" not in ids and "R8.not-crh" in ids
    assert set(failed(check_cda(DATA / "ldl_crh_code.xml", expect_ldl=False))) == {"R8.not-crh"}
    # a plain CRH (no LDL templateId) is fine when no LDL is expected
    crh = (DATA / "ldl_crh_code.xml").read_text(encoding="utf-8").replace(
        '  <templateId root="1.2.250.1.213.1.1.1.29"/>\n', "")
    assert failed(check_cda(crh, expect_ldl=False)) == {}
    assert set(failed(check_cda(crh))) == {"R8.ldl-template", "R8.ldl-code", "R8.not-crh"}


# --- body ---------------------------------------------------------------------------------------------

def _with_body(payload: str, media_type: str = "application/pdf") -> str:
    text = valid_text()
    start = text.index('<text mediaType="application/pdf" representation="B64">')
    end = text.index("</text>", start)
    return (text[:start] + f'<text mediaType="{media_type}" representation="B64">{payload}' + text[end:])


def test_body_rules():
    assert set(failed(check_cda(_with_body("@@not base64@@")))) == {"R9.pdf"}
    assert set(failed(check_cda(_with_body("")))) == {"R9.pdf"}
    truncated = base64.b64encode(b"%PDF-1.4\n1 0 obj\n<<").decode()
    bad = failed(check_cda(_with_body(truncated)))
    assert set(bad) == {"R9.pdf"} and "illisible" in bad["R9.pdf"].observed
    pdf = _load_generator().minimal_pdf()
    assert set(failed(check_cda(_with_body(base64.b64encode(pdf).decode(), "text/plain")))) == {"R9.body"}
    no_text = _load_generator().minimal_pdf(lines=())
    bad = failed(check_cda(_with_body(base64.b64encode(no_text).decode())))
    assert set(bad) == {"R9.pdf"} and "aucun texte" in bad["R9.pdf"].observed


# --- safety -------------------------------------------------------------------------------------------

def _passwd_marker() -> str:
    text = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace")
    return next(line for line in text.splitlines() if line.strip())


@pytest.mark.parametrize("where", ["title", "body", "parameter"])
def test_xxe_is_not_resolved(where: str, tmp_path: Path):
    marker = _passwd_marker()
    body = valid_text().split("?>\n", 1)[1]
    if where == "parameter":
        doctype = '<!DOCTYPE ClinicalDocument [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>'
    else:
        doctype = '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    if where == "title":
        body = body.replace("<title>Lettre de liaison de sortie</title>", "<title>&xxe;</title>")
    elif where == "body":
        start = body.index('representation="B64">') + len('representation="B64">')
        body = body[:start] + "&xxe;" + body[body.index("</text>", start):]
    doc = f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n{body}'
    path = tmp_path / "xxe.xml"
    path.write_text(doc, encoding="utf-8")
    for source in (doc, doc.encode("utf-8"), path):
        rules = check_cda(source)
        for rule in rules:
            assert marker not in rule.observed
            assert "root:" not in rule.observed
    expected = {"title": {"R3.title"}, "body": {"R9.pdf"}, "parameter": set()}[where]
    assert set(failed(check_cda(path))) == expected


# --- every remaining header rule can fail -------------------------------------------------------------

@pytest.mark.parametrize(
    ("old", "new", "rule_id"),
    [
        ('<realmCode code="FR"/>', '<realmCode code="BE"/>', "R1.realm"),
        ('<realmCode code="FR"/>', "", "R1.realm"),
        ('extension="POCD_HD000040"', 'extension="POCD_HD000041"', "R1.typeId"),
        ('<templateId root="2.16.840.1.113883.2.8.2.1"/>', "", "R2.cda-fr"),
        ('<templateId root="1.3.6.1.4.1.19376.1.2.20"/>', "", "R2.ihe-xds-sd"),
        ('<id root="1.2.250.1.999.1.2.3.20250301.1"/>', '<id extension="42"/>', "R3.id"),
        ('codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC"', 'codeSystem="1.2.3"', "R3.code"),
        ('<effectiveTime value="20250301143000+0100"/>\n  <confidentialityCode',
         '<effectiveTime value="01/03/2025"/>\n  <confidentialityCode', "R3.effectiveTime"),
        ("<title>Lettre de liaison de sortie</title>", "<title>  </title>", "R3.title"),
    ],
)
def test_each_header_rule_can_fail(old: str, new: str, rule_id: str):
    text = valid_text()
    assert text.count(old) == 1
    bad = failed(check_cda(text.replace(old, new)))
    expected = {rule_id, "R8.ldl-code"} if rule_id == "R3.code" else {rule_id}
    assert set(bad) == expected
    assert bad[rule_id].xpath.startswith("/cda:ClinicalDocument")

"""Generate the CDA test documents of tests/test_cda.py (run: ``python tests/data/cda/make_cda.py``).

Everything here is fictitious: the patient (INS under the *test* OID 1.2.250.1.213.1.4.10), the
professional (RPPS), the establishment (FINESS) and the OIDs under 1.2.250.1.999 (a made-up branch).
The output is deterministic, so ``--check`` (and a test) can tell whether the committed files are
up to date. ``ldl_valid.xml`` is a complete lettre de liaison de sortie with a small real PDF body;
every other file breaks exactly one rule family of ``segur_helpers.cda``.
"""
from __future__ import annotations

import base64
import sys
import textwrap
from pathlib import Path
from string import Template

HERE = Path(__file__).resolve().parent

PDF_LINES = (
    "Lettre de liaison de sortie - patient de test",
    "Centre hospitalier de démonstration (fictif)",
    "Patiente : SEGURTEST Camille, née le 12/05/1980",
    "Document de test : aucune donnée réelle.",
)


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsiEncoding (cp1252), with ( ) \\ escaped."""
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def minimal_pdf(lines: tuple[str, ...] = PDF_LINES) -> bytes:
    """A one-page A4 PDF 1.4 with Helvetica text lines and an exact cross-reference table."""
    ops = [b"BT", b"/F1 14 Tf", b"72 770 Td", b"16 TL"]
    for n, line in enumerate(lines):
        ops.append(_pdf_string(line) + (b" Tj" if n == 0 else b" '"))
    ops.append(b"ET")
    content = b"\n".join(ops) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Title (Lettre de liaison de sortie - test) /Producer (segur-proofs make_cda.py) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, xref))
    return bytes(out)


def nir_key(nir13: str) -> str:
    """NIR control key: 97 - (n mod 97), Corsica 2A/2B counted as 19/18."""
    digits = nir13.replace("2A", "19").replace("2B", "18")
    return f"{97 - int(digits) % 97:02d}"


def b64_block(data: bytes) -> str:
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode("ascii"), 76))


NIR13 = "280052A004012"  # fictitious: woman, born 05/1980, Corse-du-Sud
INS = NIR13 + nir_key(NIR13)
RPPS_IDNAT = "899900012345"  # fictitious: "8" + 11-digit RPPS

LDL_TEMPLATE = Template("""\
<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="2.16.840.1.113883.2.8.2.1"/>
$ci_sis_template  <templateId root="1.3.6.1.4.1.19376.1.2.20"/>
  <templateId root="1.2.250.1.213.1.1.1.29"/>
  <id root="1.2.250.1.999.1.2.3.20250301.1"/>
  <code code="$doc_code" codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName="$doc_display"/>
  <title>Lettre de liaison de sortie</title>
  <effectiveTime value="20250301143000+0100"/>
  $confidentiality
  <languageCode code="fr-FR"/>
  <setId root="1.2.250.1.999.1.2.3.20250301"/>
  <versionNumber value="1"/>
  <recordTarget>
    <patientRole>
      <id root="$ins_root" extension="$ins"/>
      <id root="1.2.250.1.999.1.1.1" extension="IPP-000123"/>
      <addr><city>Ajaccio</city><postalCode>20000</postalCode></addr>
      <patient>
        <name><family qualifier="BR">SEGURTEST</family><given>Camille</given></name>
        <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value="19800512"/>
      </patient>
    </patientRole>
  </recordTarget>
  <author>
    <time value="20250301143000+0100"/>
    <assignedAuthor>
      $author_id
      <code code="10" codeSystem="1.2.250.1.71.1.2.7" displayName="Médecin"/>
      <assignedPerson>
        <name><prefix>Dr</prefix><family>MEDECINTEST</family><given>Alice</given></name>
      </assignedPerson>
      <representedOrganization>
        <id root="1.2.250.1.71.4.2.2" extension="1999999999"/>
        <name>Centre hospitalier de démonstration (fictif)</name>
      </representedOrganization>
    </assignedAuthor>
  </author>
  <custodian>
    <assignedCustodian>
      <representedCustodianOrganization>
        <id root="1.2.250.1.71.4.2.2" extension="1999999999"/>
        <name>Centre hospitalier de démonstration (fictif)</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <legalAuthenticator>
    <time value="20250301143000+0100"/>
    <signatureCode code="S"/>
    <assignedEntity>
      <id root="1.2.250.1.71.4.2.1" extension="$rpps"/>
      <assignedPerson>
        <name><prefix>Dr</prefix><family>MEDECINTEST</family><given>Alice</given></name>
      </assignedPerson>
    </assignedEntity>
  </legalAuthenticator>
  <documentationOf>
    <serviceEvent>
      <effectiveTime><low value="20250224"/><high value="20250301"/></effectiveTime>
    </serviceEvent>
  </documentationOf>
  <componentOf>
    <encompassingEncounter>
      <id root="1.2.250.1.999.1.1.2" extension="SEJ-2025-000456"/>
      <effectiveTime><low value="20250224"/><high value="20250301"/></effectiveTime>
    </encompassingEncounter>
  </componentOf>
  <component>
    <nonXMLBody>
      <text mediaType="application/pdf" representation="B64">
$body
      </text>
    </nonXMLBody>
  </component>
</ClinicalDocument>
""")

VALID: dict[str, str] = {
    "ci_sis_template": '  <templateId root="1.2.250.1.213.1.1.1.1"/>\n',
    "doc_code": "11490-0",
    "doc_display": "Lettre de sortie",
    "confidentiality": '<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" displayName="Normal"/>',
    "ins_root": "1.2.250.1.213.1.4.10",
    "ins": INS,
    "author_id": f'<id root="1.2.250.1.71.4.2.1" extension="{RPPS_IDNAT}"/>',
    "rpps": RPPS_IDNAT,
    "body": b64_block(minimal_pdf()),
}

#: file name → the substitutions that differ from the valid document.
VARIANTS: dict[str, dict[str, str]] = {
    "ldl_valid.xml": {},
    "ldl_missing_ci_sis_template.xml": {"ci_sis_template": ""},
    "ldl_production_ins.xml": {"ins_root": "1.2.250.1.213.1.4.8"},
    "ldl_author_without_rpps.xml": {
        "author_id": '<id root="1.2.250.1.999.1.3.1" extension="MED-0042"/>'},
    "ldl_bad_confidentiality.xml": {
        "confidentiality": '<confidentialityCode code="U" codeSystem="2.16.840.1.113883.5.25"/>'},
    "ldl_crh_code.xml": {"doc_code": "34112-3", "doc_display": "CR d'hospitalisation"},
    "ldl_body_not_pdf.xml": {
        "body": b64_block("Lettre de liaison de sortie - texte brut, pas un PDF\n".encode("utf-8"))},
    "ldl_unknown_visibility.xml": {
        "confidentiality": (
            '<confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" displayName="Normal">\n'
            '    <translation code="INVISIBLE_TOUS" codeSystem="1.2.250.1.213.1.1.4.13"/>\n'
            '  </confidentialityCode>')},
}


def render() -> dict[str, bytes]:
    """Every test document: file name → bytes."""
    files = {name: LDL_TEMPLATE.substitute({**VALID, **changes}).encode("utf-8")
             for name, changes in VARIANTS.items()}
    valid = files["ldl_valid.xml"].decode("utf-8")
    assert valid.count("</title>") == 1
    files["malformed.xml"] = valid.replace("</title>", "</titre>").encode("utf-8")
    files["not_clinical_document.xml"] = valid.replace(
        '<ClinicalDocument xmlns="urn:hl7-org:v3"', "<ClinicalDocument", 1).encode("utf-8")
    return files


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, data in render().items():
        path = HERE / name
        if check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
            print(f"{path.relative_to(HERE.parent.parent.parent)}  {len(data)} bytes")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

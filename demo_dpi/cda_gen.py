"""CDA R2 level 1 documents produced by demo_dpi: CI-SIS header + PDF body (lettre de liaison de sortie …).

Everything is fictitious: patients carry an INS under the *test* OID (1.2.250.1.213.1.4.10), authors an
IdNat_PS ("8" + RPPS) under 1.2.250.1.71.4.2.1, the establishment a made-up FINESS, and the
document ids hang under the made-up OID branch 1.2.250.1.999. The PDF body is written by hand (one
A4 page per ~45 lines, Helvetica, WinAnsi), enough for any PDF reader and for pypdf's text extraction.
"""
from __future__ import annotations

import base64
import textwrap
import uuid
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_IDNAT_PS = "1.2.250.1.71.4.2.1"
OID_FINESS = "1.2.250.1.71.4.2.2"
OID_DEMO_DOCS = "1.2.250.1.999.1.2.3"
OID_DEMO_IPP = "1.2.250.1.999.1.1.1"
FINESS = "1999999999"
ESTABLISHMENT = "Centre hospitalier de démonstration (fictif)"
TEMPLATE_LDL = "1.2.250.1.213.1.1.1.29"
HEADER_TEMPLATES = ("2.16.840.1.113883.2.8.2.1", "1.2.250.1.213.1.1.1.1", "1.3.6.1.4.1.19376.1.2.20")
TEMPLATE_CI_SIS = "1.2.250.1.213.1.1.1.1"
LOINC_CRH = "34112-3"


@dataclass(frozen=True)
class DocType:
    code: str            # short key used in forms
    label: str           # French name shown to users
    loinc: str
    loinc_display: str
    template: str | None  # specific CI-SIS templateId, if any
    review: bool         # the circuit includes a review step


DOC_TYPES: dict[str, DocType] = {t.code: t for t in (
    DocType("LDL", "Lettre de liaison de sortie", "11490-0", "Lettre de sortie", TEMPLATE_LDL, review=False),
    DocType("CRO", "Compte rendu opératoire", "34874-8", "Compte rendu opératoire", None, review=True),
    DocType("CRIMG", "Compte rendu d'imagerie médicale", "18748-4", "Compte rendu d'imagerie", None,
            review=True),
)}


def nir_key(nir13: str) -> str:
    """NIR control key: 97 - (n mod 97), Corsica 2A/2B counted as 19/18."""
    digits = nir13.replace("2A", "19").replace("2B", "18")
    return f"{97 - int(digits) % 97:02d}"


# --- PDF ------------------------------------------------------------------------------------------

def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252", "replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def pdf_document(title: str, lines: list[str]) -> bytes:
    """A small A4 PDF 1.4: a bold title then text lines (wrapped at 90 columns), paginated."""
    wrapped: list[str] = []
    for line in lines:
        wrapped += textwrap.wrap(line, 90) or [""]
    per_page = 44
    pages = [wrapped[i:i + per_page] for i in range(0, len(wrapped), per_page)] or [[]]
    objects: list[bytes] = [b"", b""]  # 1 catalog, 2 pages: filled at the end
    fonts = b"<< /Font << /F1 3 0 R /F2 4 0 R >> >>"
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>")
    kids = []
    for n, chunk in enumerate(pages):
        ops = [b"BT", b"/F2 15 Tf", b"60 780 Td", _pdf_string(title) + b" Tj", b"/F1 10 Tf", b"14 TL", b"T*",
               b"T*"]
        for line in chunk:
            ops.append(_pdf_string(line) + b" '")
        ops += [b"ET", b"BT /F1 8 Tf 60 40 Td " + _pdf_string(f"{ESTABLISHMENT} - page {n + 1}/{len(pages)}")
                + b" Tj ET"]
        content = b"\n".join(ops) + b"\n"
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
        content_no = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + fonts
                       + b" /Contents %d 0 R >>" % content_no)
        kids.append(len(objects))
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[1] = (b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids)
                  + b"] /Count %d >>" % len(kids))
    objects.append(b"<< /Title " + _pdf_string(title) + b" /Producer (demo_dpi) >>")
    info = len(objects)
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, info, xref))
    return bytes(out)


# --- CDA ------------------------------------------------------------------------------------------

def _ts(dt: datetime) -> str:
    return dt.astimezone(PARIS).strftime("%Y%m%d%H%M%S%z")


def _a(value: str) -> str:
    return quoteattr(str(value))


def document_pdf(doc: dict, patient: dict, doc_type: DocType) -> bytes:
    validated = doc.get("validated_at_local") or ""
    lines = [
        ESTABLISHMENT,
        f"Patient(e) : {patient['nom']} {patient['prenom']}, né(e) le {patient['birth_date'][6:8]}/"
        f"{patient['birth_date'][4:6]}/{patient['birth_date'][:4]} - INS (test) {patient['ins']}",
        f"Auteur : Dr {doc['author_prenom']} {doc['author_nom']} (RPPS {doc['author_rpps']})",
        f"Validé le {validated}" if validated else "",
        "",
        *doc["content"].splitlines(),
        "",
        "Document de démonstration : aucune donnée réelle.",
    ]
    return pdf_document(f"{doc_type.label} - {doc['title']}", lines)


def document_title(doc_type: DocType, when: datetime, patient: dict) -> str:
    """The title the DPI gives a document it sends to the DMP: its type, its date and the patient's
    birth name and first name (the naming rule the REM names for ClinicalDocument/title)."""
    return f"{doc_type.label} du {when.astimezone(PARIS):%d/%m/%Y} - {patient['nom'].upper()} {patient['prenom']}"


def build_cda(doc: dict, patient: dict, doc_type: DocType, *, when: datetime, pdf: bytes,
              defective: bool = False) -> bytes:
    """The CDA R2 N1 XML of a validated document, valid against ANS's CDA schema and "structuration
    minimale" schematron (TestContenuCDA): INS traits, author's civility and specialty, documented act
    with its performer, encounter.

    ``defective`` (demo defect of the CDA conformity requirement): the CI-SIS templateId is left out and
    the model's own templateId declared (which level 1 does not admit), a lettre de liaison is coded as a
    compte rendu d'hospitalisation, and the title is the free text the author typed (no type, date or
    patient name).
    """
    # Level 1 (nonXMLBody): the IHE XDS-SD templateId stands for the document's own model, so only the
    # three header templateIds are declared (CI-SIS, volet Structuration minimale).
    templates = list(HEADER_TEMPLATES)
    if defective:  # the CI-SIS declaration is lost and the model's own templateId added where it has no place
        templates = [t for t in templates if t != TEMPLATE_CI_SIS] + ([doc_type.template] if doc_type.template else [])
    code, display = doc_type.loinc, doc_type.loinc_display
    if defective and doc_type.code == "LDL":
        code, display = LOINC_CRH, "CR d'hospitalisation"
    ts = _ts(when)
    title = doc["title"] if defective else document_title(doc_type, when, patient)
    body = "\n".join(textwrap.wrap(base64.b64encode(pdf).decode("ascii"), 76))
    author_id = "8" + doc["author_rpps"]
    gender = {"F": "F", "M": "M"}.get(patient["sex"], "U")
    set_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"demo-dpi/document/{doc['uuid']}")).upper()
    first_given = (patient["prenom"].split() or [patient["prenom"]])[0]
    birthplace = patient["ins"][5:10]  # the NIR's department and commune: the birthplace's COG code
    author_name = (f"<name><given>{escape(doc['author_prenom'])}</given><family>{escape(doc['author_nom'])}</family>"
                   "<suffix>DR</suffix></name>")
    organization = f'<id root="{OID_FINESS}" extension="{FINESS}"/>\n        <name>{ESTABLISHMENT}</name>'
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
{''.join(f'  <templateId root="{t}"/>{chr(10)}' for t in templates)}  <id root={_a(doc['uuid'])}/>
  <code code={_a(code)} codeSystem="2.16.840.1.113883.6.1" codeSystemName="LOINC" displayName={_a(display)}/>
  <title>{escape(title)}</title>
  <effectiveTime value="{ts}"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25" displayName="Normal"/>
  <languageCode code="fr-FR"/>
  <setId root={_a(set_id)}/>
  <versionNumber value="1"/>
  <recordTarget>
    <patientRole>
      <id root="{OID_INS_NIR_TEST}" extension={_a(patient['ins'])}/>
      <id root="{OID_DEMO_IPP}" extension={_a(patient['ipp'])}/>
      <patient>
        <name><family qualifier="BR">{escape(patient['nom'])}</family><given>{escape(patient['prenom'])}</given><given qualifier="BR">{escape(first_given)}</given></name>
        <administrativeGenderCode code="{gender}" codeSystem="2.16.840.1.113883.5.1"/>
        <birthTime value={_a(patient['birth_date'])}/>
        <birthplace><place><addr><county>{escape(birthplace)}</county></addr></place></birthplace>
      </patient>
    </patientRole>
  </recordTarget>
  <author>
    <time value="{ts}"/>
    <assignedAuthor>
      <id root="{OID_IDNAT_PS}" extension={_a(author_id)}/>
      <code code="G15_10" codeSystem="1.2.250.1.213.1.1.4.5" displayName="Médecin"/>
      <assignedPerson>
        {author_name}
      </assignedPerson>
      <representedOrganization>
        {organization}
      </representedOrganization>
    </assignedAuthor>
  </author>
  <custodian>
    <assignedCustodian>
      <representedCustodianOrganization>
        <id root="{OID_FINESS}" extension="{FINESS}"/>
        <name>{ESTABLISHMENT}</name>
      </representedCustodianOrganization>
    </assignedCustodian>
  </custodian>
  <legalAuthenticator>
    <time value="{ts}"/>
    <signatureCode code="S"/>
    <assignedEntity>
      <id root="{OID_IDNAT_PS}" extension={_a(author_id)}/>
      <assignedPerson>
        {author_name}
      </assignedPerson>
    </assignedEntity>
  </legalAuthenticator>
  <documentationOf>
    <serviceEvent>
      <effectiveTime><low value="{ts[:8]}"/><high value="{ts[:8]}"/></effectiveTime>
      <performer typeCode="PRF">
        <assignedEntity>
          <id root="{OID_IDNAT_PS}" extension={_a(author_id)}/>
          <assignedPerson>
            {author_name}
          </assignedPerson>
          <representedOrganization>
            {organization}
            <standardIndustryClassCode code="ETABLISSEMENT" codeSystem="1.2.250.1.213.1.1.4.9" displayName="Etablissement de santé"/>
          </representedOrganization>
        </assignedEntity>
      </performer>
    </serviceEvent>
  </documentationOf>
  <componentOf>
    <encompassingEncounter>
      <effectiveTime><low value="{ts[:8]}"/></effectiveTime>
      <location>
        <healthCareFacility>
          <id root="{OID_FINESS}" extension="{FINESS}"/>
          <code code="SA01" codeSystem="1.2.250.1.71.4.2.4" displayName="Etablissement public de santé"/>
        </healthCareFacility>
      </location>
    </encompassingEncounter>
  </componentOf>
  <component>
    <nonXMLBody>
      <text mediaType="application/pdf" representation="B64">
{body}
      </text>
    </nonXMLBody>
  </component>
</ClinicalDocument>
"""
    return xml.encode("utf-8")

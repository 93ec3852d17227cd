"""CDA R2 level 1 conformity checks (CI-SIS header + PDF body), e.g. for a lettre de liaison de sortie.

A DPI produces CDA R2 documents for the DMP and MSSanté; a proof must show that the captured document
(evidence) has the expected header and a readable PDF body. :func:`check_cda` evaluates a fixed list of
rules and returns one :class:`CdaRule` per rule: a reviewer-facing French label, the XPath evaluated
(namespace prefix ``cda:`` for ``urn:hl7-org:v3``), PASS/FAIL and what was observed. It never raises
on bad XML: a document that is not well-formed gives a single failed rule ``R0.xml``.

Rule ids (stable; the number is the rule family)::

    R0.xml            XML bien formé
    R1.root           racine ClinicalDocument dans urn:hl7-org:v3 (if this fails, nothing else is checked)
    R1.realm          realmCode/@code = FR
    R1.typeId         typeId 2.16.840.1.113883.1.3 / POCD_HD000040
    R2.cda-fr         templateId 2.16.840.1.113883.2.8.2.1 (CDA FR)
    R2.ci-sis         templateId 1.2.250.1.213.1.1.1.1 (CI-SIS)
    R2.ihe-xds-sd     templateId 1.3.6.1.4.1.19376.1.2.20 (IHE XDS-SD, en-tête niveau 1)
    R3.id             id/@root
    R3.code           code in LOINC (2.16.840.1.113883.6.1)
    R3.effectiveTime  effectiveTime/@value, HL7 TS (at least YYYYMMDD)
    R3.title          non-blank title
    R4.ins-oid        patient INS under the OID expected for the campaign (see below)
    R4.ins-format     INS matricule: 15 characters
    R5.rpps           every person author identified by IdNat_PS RPPS form (see below)
    R6.confidentiality  confidentialityCode in 2.16.840.1.113883.5.25, code N, R or V
    R7.visibility     DMP visibility codes, if any, are known (see below)
    R8.ldl-template   templateId 1.2.250.1.213.1.1.1.29, or a level 1 LDL (only with ``expect_ldl``, see below)
    R8.ldl-code       code 11490-0 (only with ``expect_ldl``)
    R8.not-crh        the document is not a CRH posing as / mixed with a LDL
    R9.body           component/nonXMLBody/text, application/pdf, B64
    R9.pdf            the body decodes to a PDF that pypdf opens, >= 1 page, extractable text

Conventions chosen by this toolkit (reviewers: this is what the checks mean)
---------------------------------------------------------------------------
* **INS (R4).** ``recordTarget/patientRole/id`` elements whose ``@root`` is one of the four INS OIDs
  are the patient's INS; other ids (IPP, ...) are ignored. In a *test* campaign (default) only the
  test OIDs 1.2.250.1.213.1.4.10 (INS-NIR de test) and .11 (INS-NIA de test) are accepted and the
  presence of a production INS (.8 NIR, .9 NIA) fails the rule, saying so. In a *production*
  campaign it is the reverse: .8/.9 accepted, a test INS fails. A production INS value is never
  copied into ``observed`` (it identifies a real person); only its length/format is reported.
  R4.ins-format checks the NIR/NIA form: 15 characters, all digits except positions 6-7 which may be
  ``2A``/``2B`` (Corsica). The control key (97 - n mod 97) is *not* verified.
* **RPPS (R5), strict.** The author id must have ``@root`` 1.2.250.1.71.4.2.1 (identifiant national
  de PS) and an ``@extension`` of exactly 12 characters: ``8`` followed by the 11-digit RPPS number
  (IdNat_PS form). A bare 11-digit RPPS is refused, with a message saying the ``8`` prefix is missing;
  an ADELI-form IdNat_PS (``0`` + ADELI) is refused too. Authors that are devices
  (``assignedAuthoringDevice``) are not checked, but at least one person author is required.
  The RPPS Luhn key is not verified.
* **Visibility (R7).** DMP visibility / masking is carried, for this toolkit, as zero or more
  ``cda:confidentialityCode/cda:translation`` elements with ``@codeSystem`` 1.2.250.1.213.1.1.4.13 and
  ``@code`` among INVISIBLE_PATIENT, MASQUE_PS, INVISIBLE_REPRESENTANTS_LEGAUX. Real documents may carry
  it elsewhere (e.g. under documentationOf); drivers normalise to this form. No such translation
  passes with observed ``aucun masquage``; any unknown code fails.
* **LDL vs CRH (R8).** With ``expect_ldl=True`` the document must carry the LDL templateId and LOINC
  code 11490-0, and its code must not be 34112-3 (CRH). A level 1 document (``nonXMLBody``, no
  ``structuredBody``) that declares exactly the three header templateIds and the code 11490-0 passes
  R8.ldl-template too: in CI-SIS level 1 the IHE XDS-SD templateId stands for the document's own model
  (ANS's "structuration minimale" schematron refuses any fourth templateId there). Whatever ``expect_ldl``, a document carrying
  both the LDL templateId and the CRH code fails R8.not-crh.
* **Body (R9).** The base64 text (whitespace ignored) must decode strictly, start with ``%PDF-``,
  open with pypdf, have at least one page and some extractable text; ``observed`` gives the page
  count and the first ~60 characters of text.

Parsing is safe: lxml with ``resolve_entities=False``, ``no_network=True``, ``huge_tree=False`` and no
DTD loading, so external entities (XXE) are never read and entity bombs are never expanded. With
``huge_tree=False`` a text node larger than libxml2's limit (about 10 MB) is reported as not well-formed.
"""
from __future__ import annotations

import base64
import binascii
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from lxml import etree

from .errors import UserError

CDA_NS = "urn:hl7-org:v3"
NS = {"cda": CDA_NS}

OID_TYPE_ID = "2.16.840.1.113883.1.3"
TYPE_ID_EXTENSION = "POCD_HD000040"
OID_LOINC = "2.16.840.1.113883.6.1"
OID_CONFIDENTIALITY = "2.16.840.1.113883.5.25"
OID_VISIBILITY = "1.2.250.1.213.1.1.4.13"
OID_IDNAT_PS = "1.2.250.1.71.4.2.1"

OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_INS_NIA_TEST = "1.2.250.1.213.1.4.11"
INS_OIDS: dict[str, str] = {
    OID_INS_NIR: "INS-NIR de production",
    OID_INS_NIA: "INS-NIA de production",
    OID_INS_NIR_TEST: "INS-NIR de test",
    OID_INS_NIA_TEST: "INS-NIA de test",
}
INS_TEST_OIDS = (OID_INS_NIR_TEST, OID_INS_NIA_TEST)
INS_PRODUCTION_OIDS = (OID_INS_NIR, OID_INS_NIA)

TEMPLATE_LDL = "1.2.250.1.213.1.1.1.29"
LOINC_LDL = "11490-0"
LOINC_CRH = "34112-3"

#: (rule id, templateId root, short name) of the header templateIds every document must carry.
HEADER_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("R2.cda-fr", "2.16.840.1.113883.2.8.2.1", "CDA FR"),
    ("R2.ci-sis", "1.2.250.1.213.1.1.1.1", "CI-SIS"),
    ("R2.ihe-xds-sd", "1.3.6.1.4.1.19376.1.2.20", "IHE XDS-SD (en-tête niveau 1)"),
)
CONFIDENTIALITY_CODES = ("N", "R", "V")
VISIBILITY_CODES = ("INVISIBLE_PATIENT", "MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX")

#: Rule id → French label shown to reviewers (R4.ins-oid is refined per campaign kind).
RULES: dict[str, str] = {
    "R0.xml": "XML bien formé",
    "R1.root": "Élément racine ClinicalDocument dans l'espace de noms urn:hl7-org:v3",
    "R1.realm": "Domaine d'application français (realmCode = FR)",
    "R1.typeId": f"typeId CDA R2 ({OID_TYPE_ID} / {TYPE_ID_EXTENSION})",
    **{rid: f"Modèle d'en-tête {name} déclaré (templateId {oid})" for rid, oid, name in HEADER_TEMPLATES},
    "R3.id": "Identifiant unique du document renseigné (id/@root)",
    "R3.code": f"Type de document codé en LOINC ({OID_LOINC})",
    "R3.effectiveTime": "Date de création du document renseignée au format HL7 (effectiveTime/@value)",
    "R3.title": "Titre du document renseigné",
    "R4.ins-oid": "INS du patient sous l'OID attendu pour la campagne",
    "R4.ins-format": "Matricule INS sur 15 caractères (13 chiffres + clé ; 2A/2B admis pour la Corse)",
    "R5.rpps": (f"Auteur identifié par son identifiant national RPPS (OID {OID_IDNAT_PS}, "
                "« 8 » suivi des 11 chiffres du RPPS)"),
    "R6.confidentiality": f"Niveau de confidentialité HL7 ({OID_CONFIDENTIALITY}) parmi N, R, V",
    "R7.visibility": ("Codes de visibilité DMP connus (INVISIBLE_PATIENT, MASQUE_PS, "
                      "INVISIBLE_REPRESENTANTS_LEGAUX)"),
    "R8.ldl-template": (f"Modèle Lettre de liaison de sortie déclaré (templateId {TEMPLATE_LDL}), ou document "
                        "de niveau 1 dont le modèle IHE XDS-SD tient lieu de modèle du volet"),
    "R8.ldl-code": f"Code LOINC du document = {LOINC_LDL} (Lettre de sortie)",
    "R8.not-crh": (f"Pas de confusion avec un compte-rendu d'hospitalisation (LOINC {LOINC_CRH}) : "
                   "LDL et CRH ne coexistent pas"),
    "R9.body": "Corps non structuré (nonXMLBody/text) en application/pdf, représentation B64",
    "R9.pdf": "Le corps décodé est un PDF lisible : au moins une page, texte extractible",
}

_DOC = "/cda:ClinicalDocument"
_PATIENT_IDS = f"{_DOC}/cda:recordTarget/cda:patientRole/cda:id"
_INS_ID = _PATIENT_IDS + "[" + " or ".join(f"@root='{oid}'" for oid in INS_OIDS) + "]"
_BODY_TEXT = f"{_DOC}/cda:component/cda:nonXMLBody/cda:text"

_TS = re.compile(r"^\d{8}(?:\d{2}(?:\d{2}(?:\d{2}(?:\.\d{1,4})?)?)?)?(?:[+-]\d{4})?$")
_NIR = re.compile(r"^\d{5}(?:\d{2}|2[AB])\d{8}$")
_IDNAT_RPPS = re.compile(r"^8\d{11}$")
_TEXT_PREVIEW = 60


@dataclass(frozen=True)
class CdaRule:
    """One rule evaluated on a CDA document.

    ``xpath`` is the expression evaluated (prefix ``cda:`` = ``urn:hl7-org:v3``) so a reviewer knows
    where to look when ``passed`` is false; ``observed`` says what was found, in French.
    """

    rule_id: str
    label: str
    xpath: str
    passed: bool
    observed: str

    @property
    def status(self) -> str:
        """``PASS`` or ``FAIL`` (the words used by checks everywhere in the toolkit)."""
        return "PASS" if self.passed else "FAIL"


def summarize(rules: Sequence[CdaRule]) -> bool:
    """True when every rule passed. An empty list is not a success (a check that cannot fail)."""
    return bool(rules) and all(rule.passed for rule in rules)


def rules_table(rules: Iterable[CdaRule]) -> list[dict[str, str]]:
    """Rows for display (DataFrame, HTML table, CSV) with French column headers."""
    return [
        {"Règle": r.rule_id, "Libellé": r.label, "XPath": r.xpath, "Résultat": r.status,
         "Observé": r.observed}
        for r in rules
    ]


def check_cda(xml: bytes | str | Path, *, test_campaign: bool = True,
              expect_ldl: bool = True) -> list[CdaRule]:
    """Evaluate the CDA R2 level 1 rules on ``xml`` and return them in order.

    ``xml`` is the document as bytes, as XML text (``str``), or a :class:`~pathlib.Path` to read.
    A ``str`` that does not start with ``<`` and names an existing file is read as a path too.
    ``test_campaign`` selects which INS OIDs are accepted (see module docstring); ``expect_ldl``
    adds the lettre de liaison de sortie rules R8.ldl-template and R8.ldl-code.

    Never raises on document content; raises :class:`UserError` only if a path cannot be read.
    """
    data = _load(xml)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        message = getattr(exc, "msg", None) or str(exc)
        return [CdaRule("R0.xml", RULES["R0.xml"], "/", False, f"XML mal formé : {message}")]

    rules = [CdaRule("R0.xml", RULES["R0.xml"], "/", True, "document analysé sans erreur")]
    tree = root.getroottree()
    root_ok = isinstance(root.tag, str) and root.tag == f"{{{CDA_NS}}}ClinicalDocument"
    rules.append(CdaRule("R1.root", RULES["R1.root"], _DOC, root_ok, _describe_root(root)))
    if not root_ok:
        return rules  # every other XPath would be meaningless

    def xp(path: str) -> list:
        return tree.xpath(path, namespaces=NS)

    rules += _header_rules(xp)
    rules += _ins_rules(xp, test_campaign)
    rules.append(_rpps_rule(xp))
    rules += _confidentiality_rules(xp)
    rules += _ldl_rules(xp, expect_ldl)
    rules += _body_rules(xp)
    return rules


# ---------------------------------------------------------------------------------------------------
# Loading


def _load(xml: bytes | str | Path) -> bytes:
    """The document bytes. A ``str`` is XML text (its XML declaration dropped: it is already decoded)."""
    if isinstance(xml, (bytes, bytearray)):
        return bytes(xml)
    if isinstance(xml, str):
        text = xml.lstrip("\ufeff \t\r\n")
        if not text.startswith("<") and _is_file(text):
            return _read(Path(text))
        text = re.sub(r"^<\?xml[^>]*\?>", "", text)
        return text.encode("utf-8")
    if isinstance(xml, os.PathLike):
        return _read(Path(xml))
    raise TypeError(f"check_cda expects bytes, str or Path, got {type(xml).__name__}")


def _is_file(text: str) -> bool:
    """Whether ``text`` plausibly names an existing file (never raises on odd strings)."""
    if not text or len(text) > 4096 or "\n" in text or "\0" in text:
        return False
    try:
        return Path(text).is_file()
    except (OSError, ValueError):
        return False


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the CDA document: {exc.strerror or exc}", file=str(path)) from exc


# ---------------------------------------------------------------------------------------------------
# Small helpers


def _short(value: str | None, limit: int = 80) -> str:
    """One line, at most ``limit`` characters (ellipsis when cut)."""
    text = " ".join((value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _attrs(el, *names: str) -> str:
    """``root=…, extension=…`` for the attributes present on ``el`` (``aucun attribut`` if none)."""
    parts = [f"{n}={_short(el.get(n), 60)}" for n in names if el.get(n) is not None]
    return ", ".join(parts) if parts else "aucun attribut"


def _describe_root(root) -> str:
    if not isinstance(root.tag, str):
        return "racine non élément"
    qname = etree.QName(root)
    return f"racine {qname.localname} (espace de noms : {qname.namespace or 'aucun'})"


def _template_roots(xp) -> list[str]:
    return [str(r) for r in xp(f"{_DOC}/cda:templateId/@root")]


def _rule(rule_id: str, xpath: str, passed: bool, observed: str, label: str | None = None) -> CdaRule:
    return CdaRule(rule_id, label or RULES[rule_id], xpath, passed, observed)


# ---------------------------------------------------------------------------------------------------
# R1-R3: header


def _header_rules(xp) -> list[CdaRule]:
    rules: list[CdaRule] = []

    path = f"{_DOC}/cda:realmCode/@code"
    codes = [str(c) for c in xp(path)]
    rules.append(_rule("R1.realm", path, codes == ["FR"],
                       f"realmCode : {', '.join(codes)}" if codes else "realmCode absent"))

    path = f"{_DOC}/cda:typeId"
    els = xp(path)
    ok = len(els) == 1 and els[0].get("root") == OID_TYPE_ID and els[0].get("extension") == TYPE_ID_EXTENSION
    observed = "; ".join(_attrs(e, "root", "extension") for e in els) if els else "typeId absent"
    rules.append(_rule("R1.typeId", path, ok, observed))

    present = _template_roots(xp)
    for rule_id, oid, _name in HEADER_TEMPLATES:
        path = f"{_DOC}/cda:templateId[@root='{oid}']"
        found = bool(xp(path))
        observed = "présent" if found else (
            f"absent ; templateId déclarés : {', '.join(present) if present else 'aucun'}")
        rules.append(_rule(rule_id, path, found, observed))

    path = f"{_DOC}/cda:id/@root"
    roots = [str(r).strip() for r in xp(path)]
    ok = len(roots) == 1 and bool(roots[0])
    ext = xp(f"{_DOC}/cda:id/@extension")
    observed = (f"root={_short(roots[0], 70)}" + (f", extension={_short(str(ext[0]), 40)}" if ext else "")
                if len(roots) == 1 else f"{len(roots)} identifiant(s) de document")
    rules.append(_rule("R3.id", path, ok, observed))

    path = f"{_DOC}/cda:code"
    els = xp(path)
    ok = (len(els) == 1 and els[0].get("codeSystem") == OID_LOINC
          and bool((els[0].get("code") or "").strip()))
    observed = "; ".join(_attrs(e, "code", "codeSystem", "displayName") for e in els) if els else "code absent"
    rules.append(_rule("R3.code", path, ok, observed))

    path = f"{_DOC}/cda:effectiveTime/@value"
    values = [str(v) for v in xp(path)]
    ok = len(values) == 1 and bool(_TS.match(values[0]))
    if not values:
        observed = "effectiveTime/@value absent"
    elif ok:
        observed = f"value={values[0]}"
    else:
        observed = f"valeur(s) hors format HL7 TS AAAAMMJJ[hhmm[ss]][±zzzz] : {', '.join(map(_short, values))}"
    rules.append(_rule("R3.effectiveTime", path, ok, observed))

    path = f"{_DOC}/cda:title"
    # Text nodes only: an unresolved entity reference (kept as such by the safe parser) is not text.
    title = " ".join(" ".join(str(s) for s in xp(f"{path}/text()")).split())
    rules.append(_rule("R3.title", path, bool(title), f"« {_short(title)} »" if title else "titre absent ou vide"))
    return rules


# ---------------------------------------------------------------------------------------------------
# R4: patient INS


def _ins_rules(xp, test_campaign: bool) -> list[CdaRule]:
    accepted, refused = ((INS_TEST_OIDS, INS_PRODUCTION_OIDS) if test_campaign
                         else (INS_PRODUCTION_OIDS, INS_TEST_OIDS))
    campaign = "campagne de test" if test_campaign else "campagne de production"
    label = (f"INS du patient sous un OID de {'test' if test_campaign else 'production'} "
             f"({accepted[0]} NIR / {accepted[1]} NIA)")

    ins = [(el.get("root"), el.get("extension") or "") for el in xp(_INS_ID)]

    def show(root: str, ext: str) -> str:
        value = (ext if root in INS_TEST_OIDS else f"valeur masquée, {len(ext)} caractères")
        return f"{INS_OIDS[root]} ({root}) : {value}"

    wrong = [(r, e) for r, e in ins if r in refused]
    if wrong:
        kind = "de production" if test_campaign else "de test"
        observed = (f"INS {kind} trouvé en {campaign} : {show(*wrong[0])} ; "
                    f"seuls {accepted[0]} / {accepted[1]} sont acceptés")
        ok = False
    elif not ins:
        others = [_attrs(e, "root", "extension") for e in xp(_PATIENT_IDS)]
        observed = f"aucun INS ; identifiants du patient : {'; '.join(others) if others else 'aucun'}"
        ok = False
    else:
        observed = "; ".join(show(r, e) for r, e in ins)
        ok = True
    rules = [_rule("R4.ins-oid", _INS_ID, ok, observed, label=label)]

    path = _INS_ID + "/@extension"
    if not ins:
        rules.append(_rule("R4.ins-format", path, False, "aucun INS"))
    else:
        bad = [(r, e) for r, e in ins if not _NIR.match(e)]
        if bad:
            r, e = bad[0]
            shown = f"« {_short(e, 40)} »" if r in INS_TEST_OIDS else "(valeur masquée)"
            observed = (f"{INS_OIDS[r]} {shown} : {len(e)} caractère(s), attendu 15 "
                        "(chiffres, 2A/2B admis en positions 6-7)")
        else:
            observed = "; ".join(f"{INS_OIDS[r]} : 15 caractères conformes" for r, _ in ins)
        rules.append(_rule("R4.ins-format", path, not bad, observed))
    return rules


# ---------------------------------------------------------------------------------------------------
# R5: author RPPS


def _rpps_rule(xp) -> CdaRule:
    path = f"{_DOC}/cda:author/cda:assignedAuthor/cda:id[@root='{OID_IDNAT_PS}']/@extension"
    authors = xp(f"{_DOC}/cda:author/cda:assignedAuthor")
    persons = [a for a in authors if not a.findall(f"{{{CDA_NS}}}assignedAuthoringDevice")]
    if not persons:
        return _rule("R5.rpps", path, False,
                     "aucun auteur personne physique" if authors else "aucun auteur (author/assignedAuthor)")
    problems: list[str] = []
    found: list[str] = []
    for n, author in enumerate(persons, start=1):
        ids = author.findall(f"{{{CDA_NS}}}id")
        rpps = [i.get("extension") or "" for i in ids if i.get("root") == OID_IDNAT_PS]
        good = [e for e in rpps if _IDNAT_RPPS.match(e)]
        if good:
            found.append(f"auteur {n} : {good[0]}")
        elif rpps:
            ext = rpps[0]
            why = ("RPPS sans le préfixe « 8 » (forme IdNat_PS attendue : 8 + 11 chiffres)"
                   if re.fullmatch(r"\d{11}", ext) else
                   "identifiant ADELI (préfixe 0), RPPS attendu" if ext.startswith("0") else
                   "attendu « 8 » + 11 chiffres")
            problems.append(f"auteur {n} : extension « {_short(ext, 30)} » : {why}")
        else:
            seen = "; ".join(_attrs(i, "root", "extension") for i in ids) or "aucun id"
            problems.append(f"auteur {n} : pas d'id sous l'OID {OID_IDNAT_PS} ({seen})")
    if problems:
        return _rule("R5.rpps", path, False, " | ".join(problems))
    return _rule("R5.rpps", path, True, "; ".join(found))


# ---------------------------------------------------------------------------------------------------
# R6-R7: confidentiality and visibility


def _confidentiality_rules(xp) -> list[CdaRule]:
    path = f"{_DOC}/cda:confidentialityCode"
    els = xp(path)
    ok = (len(els) == 1 and els[0].get("codeSystem") == OID_CONFIDENTIALITY
          and els[0].get("code") in CONFIDENTIALITY_CODES)
    if not els:
        observed = "confidentialityCode absent"
    else:
        observed = "; ".join(_attrs(e, "code", "codeSystem", "displayName") for e in els)
        if len(els) > 1:
            observed = f"{len(els)} confidentialityCode : {observed}"
    rules = [_rule("R6.confidentiality", path, ok, observed)]

    path = f"{_DOC}/cda:confidentialityCode/cda:translation[@codeSystem='{OID_VISIBILITY}']"
    codes = [t.get("code") or "" for t in xp(path)]
    unknown = [c for c in codes if c not in VISIBILITY_CODES]
    if not codes:
        observed = "aucun masquage"
    elif unknown:
        observed = (f"code(s) inconnu(s) : {', '.join(_short(c, 40) or '(vide)' for c in unknown)} ; "
                    f"attendus : {', '.join(VISIBILITY_CODES)}")
    else:
        observed = ", ".join(codes)
    rules.append(_rule("R7.visibility", path, not unknown, observed))
    return rules


# ---------------------------------------------------------------------------------------------------
# R8: lettre de liaison de sortie, not a CRH


def _ldl_rules(xp, expect_ldl: bool) -> list[CdaRule]:
    rules: list[CdaRule] = []
    template_path = f"{_DOC}/cda:templateId[@root='{TEMPLATE_LDL}']"
    has_template = bool(xp(template_path))
    codes = [str(c) for c in xp(f"{_DOC}/cda:code/@code")]
    code_text = ", ".join(codes) if codes else "absent"

    if expect_ldl:
        present = _template_roots(xp)
        # Level 1 (CI-SIS, volet Structuration minimale): the IHE XDS-SD templateId stands for the
        # document's own model, so an unstructured LDL declares the three header templateIds only and
        # is known by its LOINC code.
        level1 = (bool(xp(f"{_DOC}/cda:component/cda:nonXMLBody")) and not xp(f"{_DOC}/cda:component/cda:structuredBody")
                  and sorted(present) == sorted(oid for _rid, oid, _name in HEADER_TEMPLATES)
                  and codes == [LOINC_LDL])
        observed = ("présent" if has_template else
                    f"absent, document non structuré (niveau 1) : le modèle IHE XDS-SD en tient lieu, code {LOINC_LDL}"
                    if level1 else
                    f"absent ; templateId déclarés : {', '.join(present) if present else 'aucun'}")
        rules.append(_rule("R8.ldl-template", template_path, has_template or level1, observed))
        path = f"{_DOC}/cda:code[@code='{LOINC_LDL}' and @codeSystem='{OID_LOINC}']"
        ok = bool(xp(path)) and len(codes) == 1
        rules.append(_rule("R8.ldl-code", path, ok, f"code du document : {code_text}"))

    path = f"{_DOC}/cda:code[@code='{LOINC_CRH}']"
    is_crh = bool(xp(path))
    ok = not is_crh if expect_ldl else not (is_crh and has_template)
    if is_crh and has_template:
        observed = f"templateId LDL {TEMPLATE_LDL} ET code CRH {LOINC_CRH} : LDL et CRH mélangés"
    elif is_crh:
        observed = f"code CRH {LOINC_CRH} : compte-rendu d'hospitalisation, pas une lettre de liaison"
    else:
        observed = f"code du document : {code_text} (pas de code CRH)"
    rules.append(_rule("R8.not-crh", path, ok, observed))
    return rules


# ---------------------------------------------------------------------------------------------------
# R9: level 1 body


def _body_rules(xp) -> list[CdaRule]:
    els = xp(_BODY_TEXT)
    if len(els) == 1:
        el = els[0]
        ok = el.get("mediaType") == "application/pdf" and el.get("representation") == "B64"
        observed = _attrs(el, "mediaType", "representation")
    else:
        ok = False
        observed = ("aucun corps nonXMLBody/text" if not els else f"{len(els)} éléments nonXMLBody/text")
    rules = [_rule("R9.body", _BODY_TEXT, ok, observed)]

    if len(els) != 1:
        rules.append(_rule("R9.pdf", _BODY_TEXT, False, observed))
        return rules
    # Only the element's own text nodes: an unresolved entity reference is never turned into data.
    payload = "".join(str(t) for t in xp(f"{_BODY_TEXT}/text()"))
    ok, observed = _check_pdf_payload(payload)
    rules.append(_rule("R9.pdf", _BODY_TEXT, ok, observed))
    return rules


def _check_pdf_payload(payload: str) -> tuple[bool, str]:
    """Decode the base64 body and look inside the PDF; (passed, observed)."""
    compact = re.sub(r"\s+", "", payload)
    if not compact:
        return False, "corps vide"
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        return False, f"base64 invalide : {_short(str(exc))}"
    if not data.startswith(b"%PDF-"):
        head = data[:16].decode("latin-1").encode("unicode_escape").decode("ascii")
        return False, f"{len(data)} octets décodés ne commençant pas par %PDF- (début : « {_short(head, 40)} »)"
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return False, "PDF chiffré, illisible sans mot de passe"
        pages = len(reader.pages)
        text = ""
        for page in reader.pages:
            text = " ".join((page.extract_text() or "").split())
            if text:
                break
    except Exception as exc:  # pypdf raises many types on damaged files; all mean "unreadable"
        return False, f"PDF illisible par pypdf ({type(exc).__name__} : {_short(str(exc))})"
    if pages < 1:
        return False, "PDF sans aucune page"
    if not text:
        return False, f"{pages} page(s), aucun texte extractible"
    preview = text if len(text) <= _TEXT_PREVIEW else text[:_TEXT_PREVIEW] + "…"
    return True, f"{pages} page(s) ; texte : « {preview} »"


# ---------------------------------------------------------------------------------------------------
# The document title's naming rule (checked apart from check_cda, by the CDA proof)

#: French names of the document types the toolkit meets, by LOINC code (the title may name the type
#: by one of them or by the code's own displayName).
DOCUMENT_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    LOINC_LDL: ("Lettre de liaison de sortie", "Lettre de liaison", "Lettre de sortie"),
    LOINC_CRH: ("Compte rendu d'hospitalisation", "CR d'hospitalisation"),
    "34874-8": ("Compte rendu opératoire", "CR opératoire"),
    "18748-4": ("Compte rendu d'imagerie médicale", "Compte rendu d'imagerie", "CR d'imagerie"),
    "11502-2": ("Compte rendu d'examens biologiques", "CR d'examens biologiques"),
}
TITLE_NAMING_ID = "R3.title-naming"
TITLE_NAMING_LABEL = ("Titre du document (ClinicalDocument/title) nommé selon la règle 3.1.3.1 du référentiel "
                      "MSSanté des clients de messagerie : type du document, date, nom et prénom du patient")


def _fold(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return " ".join("".join(c for c in text if not unicodedata.combining(c)).casefold().split())


def check_title_naming(xml: bytes | str | Path) -> CdaRule:
    """The title names the document's type, its date and the patient (birth name and first name).

    The type is found when the title holds the code's ``displayName`` or one of the French names of
    :data:`DOCUMENT_TYPE_NAMES` for that LOINC code; the date is the document's (``effectiveTime``, as
    JJ/MM/AAAA or AAAA-MM-JJ); the patient is the birth name (``family[@qualifier='BR']``, else the first
    ``family``) and the first ``given``. Case, accents and spacing are ignored. Never raises on content.
    """
    path = f"{_DOC}/cda:title"
    try:
        root = etree.fromstring(_load(xml), etree.XMLParser(resolve_entities=False, no_network=True,
                                                             huge_tree=False, load_dtd=False))
    except etree.XMLSyntaxError as exc:
        return CdaRule(TITLE_NAMING_ID, TITLE_NAMING_LABEL, path, False, f"XML mal formé : {_short(str(exc))}")
    tree = root.getroottree()

    def xp(expr: str) -> list:
        return tree.xpath(expr, namespaces=NS)

    title = " ".join(" ".join(str(s) for s in xp(f"{path}/text()")).split())
    if not title:
        return CdaRule(TITLE_NAMING_ID, TITLE_NAMING_LABEL, path, False, "titre absent ou vide")
    folded = _fold(title)
    missing: list[str] = []

    codes = xp(f"{_DOC}/cda:code")
    code = codes[0].get("code") if codes else None
    names = list({_fold(n): n for n in reversed(
        [n for n in ((codes[0].get("displayName") if codes else None), *DOCUMENT_TYPE_NAMES.get(code or "", ())) if n]
    )}.values())[::-1]
    if not any(_fold(n) in folded for n in names):
        shown = " / ".join(f"« {n} »" for n in names) if names else "aucun nom connu"
        missing.append(f"type du document (code {code or 'absent'} : {shown})")

    values = [str(v) for v in xp(f"{_DOC}/cda:effectiveTime/@value")]
    day = values[0][:8] if values and re.match(r"^\d{8}", values[0]) else ""
    if not day:
        missing.append("date du document (effectiveTime absent)")
    elif f"{day[6:8]}/{day[4:6]}/{day[:4]}" not in title and f"{day[:4]}-{day[4:6]}-{day[6:8]}" not in title:
        missing.append(f"date du document ({day[6:8]}/{day[4:6]}/{day[:4]})")

    patient = f"{_DOC}/cda:recordTarget/cda:patientRole/cda:patient/cda:name"
    family = [str(s) for s in (xp(f"{patient}/cda:family[@qualifier='BR']/text()") or xp(f"{patient}/cda:family/text()"))]
    given = [str(s) for s in xp(f"{patient}/cda:given/text()")]
    for what, value in (("nom de naissance du patient", family[0].strip() if family else ""),
                        ("prénom du patient", given[0].split()[0] if given and given[0].split() else "")):
        if not value:
            missing.append(f"{what} (absent du document)")
        elif _fold(value) not in folded:
            missing.append(f"{what} (« {_short(value, 40)} »)")
    observed = f"« {_short(title, 120)} »"
    if missing:
        observed += " ; n'y figure(nt) pas : " + " ; ".join(missing)
    else:
        observed += " : type, date et patient présents"
    return CdaRule(TITLE_NAMING_ID, TITLE_NAMING_LABEL, path, not missing, observed)

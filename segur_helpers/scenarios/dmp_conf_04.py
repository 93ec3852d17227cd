"""DMP/CONF.04 (formerly CDA/N1.01) — the documents the target produces are CDA R2 level 1 documents that follow the CI-SIS header.

Three proof elements: (1) the target produces and validates a document (a lettre de liaison de sortie
for a test patient); (2) the CDA R2 document is retrieved as the user downloads it and kept as it is;
(3) every rule of :mod:`segur_helpers.cda` holds on it, each failed rule naming its XPath.
"""
from __future__ import annotations

import base64
import csv
import io
import re

from .. import cda
from ..drivers.documents import DocumentRef
from ..evidence import esc
from ..proof import Proof, step
from ._documents import ensure_test_ins, write_and_validate


@step(1, "Production d'une lettre de liaison de sortie par le système")
async def produire_document(proof: Proof) -> DocumentRef | None:
    ensure_test_ins(proof)
    ref, view = await write_and_validate(proof, proof.data["document"], what="document")
    return ref if view.validated else None


@step(2, "Récupération du document CDA R2 N1 produit")
async def recuperer_cda(proof: Proof, ref: DocumentRef | None) -> tuple[bytes, object] | None:
    if ref is None:
        proof.check("Document CDA R2 N1 récupéré", expected="le CDA du document validé",
                    observed="aucun document validé à l'étape 1", passed=False)
        return None
    xml = await proof.driver.documents.fetch_cda(ref)
    item = proof.recorder.attach(xml, f"Document CDA R2 du document n° {ref.id}, tel que téléchargé",
                                 name=f"document-{ref.id}-cda.xml")
    _show_header(proof, xml, item)
    proof.check("Document CDA R2 N1 récupéré depuis l'application", expected="un fichier XML non vide",
                observed=f"{len(xml)} octets", passed=bool(xml.strip()), evidence=[item])
    return xml, item


@step(3, "Contrôle des règles CDA R2 N1 : en-tête CI-SIS, INS, auteur, confidentialité, LDL, corps PDF")
async def controler_cda(proof: Proof, captured: tuple[bytes, object] | None) -> None:
    if captured is None:
        proof.check("Règles CDA R2 N1", expected="un document à contrôler", observed="aucun document", passed=False)
        return
    xml, item = captured
    rules = cda.check_cda(xml, test_campaign=bool(proof.data.get("test_campaign", True)),
                          expect_ldl=bool(proof.data.get("expect_ldl", True)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["Règle", "Libellé", "XPath", "Résultat", "Observé"])
    writer.writeheader()
    writer.writerows(cda.rules_table(rules))
    table = proof.recorder.attach(out.getvalue().encode("utf-8"), "Résultat de chaque règle (CSV)",
                                  name="regles-cda.csv")
    body = _pdf_body(xml)
    evidence = [item, table]
    if body:
        evidence.append(proof.recorder.attach(body, "Corps PDF extrait du document CDA", name="corps-du-document.pdf"))
    rows = "".join(
        f"<tr><td>{esc(r.rule_id)}</td><td>{esc(r.label)}</td><td style='font-family:monospace;font-size:7.5pt'>"
        f"{esc(r.xpath)}</td><td>{esc(r.observed)}</td><td class='{'segur-pass' if r.passed else 'segur-fail'}'>"
        f"{r.status}</td></tr>" for r in rules)
    proof.recorder.show(
        "<div class='segur-card'><h4>Règles CDA R2 niveau 1 évaluées sur le document conservé</h4>"
        "<table style='table-layout:fixed'><tr><th style='width:14%'>Règle</th><th style='width:24%'>Vérification"
        "</th><th style='width:27%'>XPath évalué</th><th style='width:26%'>Observé</th>"
        f"<th style='width:9%'>Résultat</th></tr>{rows}</table></div>")
    for rule in rules:  # one check per rule, shown together in the table above
        proof.check(f"{rule.rule_id} — {rule.label}", expected=f"XPath {rule.xpath}",
                    observed=rule.observed, passed=rule.passed, evidence=evidence, show=False)


def _show_header(proof: Proof, xml: bytes, item) -> None:
    """The document as kept, its base64 body shortened, for a reviewer to read the header."""
    text = xml.decode("utf-8", "replace")
    text = re.sub(r"(representation=\"B64\">)\s*([A-Za-z0-9+/=\s]{80,}?)\s*(</text>)",
                  lambda m: f"{m.group(1)}\n        [corps PDF en base64 : {len(''.join(m.group(2).split()))} "
                            f"caractères, joint ci-dessous une fois décodé]\n      {m.group(3)}", text)
    proof.recorder.show(f'<div class="segur-card"><h4>Contenu du document CDA (corps abrégé) — {esc(item.name)}</h4>'
                        f"<pre>{esc(proof.secrets.redact(text))}</pre></div>")


def _pdf_body(xml: bytes) -> bytes | None:
    """The decoded nonXMLBody, when it is base64 (kept as evidence so a reviewer can open it)."""
    from lxml import etree

    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))
        texts = root.xpath("/cda:ClinicalDocument/cda:component/cda:nonXMLBody/cda:text/text()", namespaces=cda.NS)
        data = base64.b64decode("".join(texts).encode(), validate=False)
    except (etree.XMLSyntaxError, ValueError):
        return None
    return data if data.startswith(b"%PDF-") else None

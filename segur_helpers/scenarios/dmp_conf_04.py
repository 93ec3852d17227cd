"""DMP/CONF.04 (formerly CDA/N1.01) — the documents the target produces are CDA R2 level 1 documents that follow the CI-SIS header.

Three proof elements: (1) the target produces and validates a document (a lettre de liaison de sortie
for a test patient); (2) the CDA R2 document is retrieved as the user downloads it and kept as it is;
(3) the document is checked: when the campaign names a checkout of ANS's TestContenuCDA
(``cda: {testcontenucda: PATH}``), as ANS does (:mod:`segur_helpers.cda_ans`: CDA schema, then the
"structuration minimale" schematron, SVRL kept, one check per failed assertion with its text and
location); otherwise by the rules of :mod:`segur_helpers.cda`, each failed rule naming its XPath. In
both cases the title's naming rule the REM states (:func:`segur_helpers.cda.check_title_naming`).
"""
from __future__ import annotations

import asyncio

import base64
import csv
import io
import re

from .. import cda, cda_ans
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


@step(3, "Contrôle du document CDA R2 N1 : en-tête, INS, auteur, corps PDF et titre du document")
async def controler_cda(proof: Proof, captured: tuple[bytes, object] | None) -> None:
    if captured is None:
        proof.check("Règles CDA R2 N1", expected="un document à contrôler", observed="aucun document", passed=False)
        return
    xml, item = captured
    checkout = proof.campaign.section("cda").get("testcontenucda")
    if checkout:
        # Saxon's compile takes seconds: off the event loop, so the step's timeout can still cut in
        result = await asyncio.to_thread(cda_ans.validate, xml, proof.campaign.resolve_path(checkout))
        _validate_as_ans(proof, result, item)
    else:
        _project_rules(proof, xml, item)
    _title_naming(proof, xml, item)


def _project_rules(proof: Proof, xml: bytes, item) -> None:
    """The toolkit's own CDA R2 N1 rules (:mod:`segur_helpers.cda`), each naming its XPath."""
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


_ROLES = {"error": "erreur", "fatal": "erreur", "": "erreur", "warning": "avertissement", "info": "information"}


def _validate_as_ans(proof: Proof, result: cda_ans.AnsValidation, item) -> None:
    """ANS's own validation (:func:`cda_ans.validate`): the CDA schema of the checkout, then its
    "structuration minimale" schematron (XSLT 2, SaxonC-HE); the SVRL report is kept, each failed
    assertion is one check."""
    evidence = [item]
    if result.svrl:
        evidence.append(proof.recorder.attach(result.svrl, "Rapport SVRL du schématron « structuration minimale » "
                                              "de l'ANS", name="rapport-svrl-structuration-minimale.xml", show=False))
    record = proof.recorder.observation({
        "depot_testcontenucda": result.checkout, "commit": result.commit,
        "schema": str(cda_ans.SCHEMA), "schematron": str(cda_ans.SCHEMATRON),
        "schematron_compile_depuis_le_cache": result.from_cache,
        "duree_compilation_schematron_s": round(result.pipeline_s, 3),
        "duree_compilation_saxon_s": round(result.saxon_compile_s, 3),
        "duree_execution_s": round(result.run_s, 3),
        "regles_appliquees": result.fired_rules,
        "erreurs_schema": [e.__dict__ for e in result.schema_errors],
        "assertions_en_echec": [f.__dict__ for f in result.findings],
        "jeux_de_valeurs_absents": result.missing_value_sets,
        "assertions_non_evaluees": [{"jeux_de_valeurs": list(n.value_sets), "role": n.role, "texte": n.text}
                                    for n in result.not_evaluated],
        "erreur_d_execution": result.error,
    }, "Validation ANS : dépôt, commit, durées et résultats")
    evidence.append(record)
    commit = result.commit[:12]
    cache = ("schématron compilé repris du cache" if result.from_cache
             else f"schématron compilé pour ce commit en {_num(result.pipeline_s, 1)} s")
    source = (f"Dépôt TestContenuCDA de l'ANS : {esc(result.checkout)} (commit {esc(commit)}) ; {cache} ; "
              f"{result.fired_rules} règles appliquées en {_num(result.run_s, 2)} s.")

    # 1. the CDA schema
    if not result.well_formed:
        observed = f"document XML mal formé : {result.schema_errors[0].message}"
    elif result.schema_errors:
        observed = " | ".join(f"ligne {e.line} : {e.message}" for e in result.schema_errors[:5]) + (
            f" (et {len(result.schema_errors) - 5} autres)" if len(result.schema_errors) > 5 else "")
    else:
        observed = "document valide"
    proof.check(f"Schéma XML CDA R2 de l'ANS ({cda_ans.SCHEMA.name})", expected="document valide au schéma",
                observed=observed, passed=result.well_formed and not result.schema_errors, evidence=evidence,
                show=False)

    # 2. the schematron: one check per failed assertion (role error), else one passed check
    failed = result.failed
    if result.error:
        proof.check("Schématron « structuration minimale » de l'ANS exécuté", expected="rapport SVRL produit",
                    observed=f"exécution impossible : {result.error}", passed=False, evidence=evidence, show=False)
    elif not result.well_formed:
        pass
    elif not failed:
        missing = (f" ; {len(result.not_evaluated)} assertion(s) non évaluée(s), jeu(x) de valeurs absent(s) "
                   f"du dépôt : {', '.join(result.missing_value_sets)}" if result.not_evaluated else "")
        proof.check("Schématron « structuration minimale » de l'ANS : aucune assertion en erreur",
                    expected="aucune assertion de rôle « error » en échec",
                    observed=f"{result.fired_rules} règles appliquées, aucune assertion en erreur{missing}",
                    passed=True, evidence=evidence, show=False)
    for finding in failed:
        proof.check(f"Schématron ANS : {finding.text}", expected="assertion satisfaite",
                    observed=f"assertion en échec à l'emplacement {finding.location or '/'}", passed=False,
                    evidence=evidence, show=False)

    # what the reviewer reads: the schema result, the failed assertions with text and location, the gaps
    rows = "".join(
        f"<tr><td class='{'segur-fail' if f.failing else ''}'>{esc(_ROLES.get(f.role.lower(), f.role))}</td>"
        f"<td>{esc(f.text)}</td><td style='font-family:monospace;font-size:7.5pt'>{esc(f.location)}</td></tr>"
        for f in result.findings)
    schema_rows = "".join(f"<tr><td>{e.line}</td><td>{esc(e.message)}</td><td style='font-family:monospace;"
                          f"font-size:7.5pt'>{esc(e.path)}</td></tr>" for e in result.schema_errors)
    html = [f"<div class='segur-card'><h4>Validation du document par les outils de l'ANS</h4><p>{source}</p>",
            f"<p><b>1. Schéma XML CDA R2</b> ({esc(cda_ans.SCHEMA)}) : "
            + ("document valide.</p>" if result.well_formed and not result.schema_errors else
               f"{len(result.schema_errors)} erreur(s).</p><table style='table-layout:fixed'><tr><th style='width:8%'>"
               f"Ligne</th><th>Erreur</th><th style='width:30%'>Emplacement</th></tr>{schema_rows}</table>"),
            f"<p><b>2. Schématron « structuration minimale »</b> ({esc(cda_ans.SCHEMATRON.name)}) : "]
    if result.error:
        html.append(f"exécution impossible : {esc(result.error)}</p>")
    elif result.findings:
        html.append(f"{len(failed)} assertion(s) en erreur, {len(result.findings) - len(failed)} avertissement(s) "
                    "ou information(s) (non bloquants).</p><table style='table-layout:fixed'><tr>"
                    "<th style='width:13%'>Gravité</th><th>Texte de l'assertion (ANS)</th>"
                    f"<th style='width:34%'>Emplacement (XPath)</th></tr>{rows}</table>")
    else:
        html.append("aucune assertion en échec.</p>")
    if result.not_evaluated:
        by_file = {}
        for n in result.not_evaluated:
            for vs in n.value_sets:
                by_file.setdefault(vs, []).append(n)
        gaps = "".join(f"<li><code>{esc(vs)}</code> : {len(ns)} assertion(s) non évaluée(s), dont « "
                       f"{esc(ns[0].text)} »</li>" for vs, ns in by_file.items())
        html.append("<p><b>Jeux de valeurs absents du dépôt.</b> Le schématron lit ces fichiers, que la copie de "
                    f"TestContenuCDA ne contient pas ; les assertions qui en dépendent n'ont pas pu être "
                    f"évaluées :</p><ul>{gaps}</ul>")
    html.append(f"<div class='hash'>Rapport SVRL joint en annexe : {esc(evidence[1].name) if result.svrl else '—'}</div>"
                "</div>")
    proof.recorder.show("".join(html))


def _num(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def _title_naming(proof: Proof, xml: bytes, item) -> None:
    rule = cda.check_title_naming(xml)
    proof.check(rule.label, expected=f"XPath {rule.xpath}", observed=rule.observed, passed=rule.passed,
                evidence=[item])


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

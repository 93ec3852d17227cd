"""Generate the document-circuit notebooks (HOP VA 1.04/1.06, DMP/ALI/PROG.01, CDA/N1.01, MSS/CONF.16).

``python scripts/make_document_notebooks.py`` rewrites them from the texts below (no outputs);
``--check`` exits 1 when a committed notebook differs. French narrative for reviewers, one helper call
per step; the logic is in ``segur_helpers/scenarios/``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _params(requirement: str):
    return new_code_cell(
        'campaign = "../params/demo.yaml"  # fichier de paramètres de la campagne\n'
        f'requirement = "{requirement}"\n'
        'run_dir = ""  # dossier de la preuve (renseigné par segur run)\n'
        'run_id = ""', metadata={"tags": ["parameters"]})


def _open(module: str):
    return new_code_cell("from segur_helpers import open_proof\n"
                         f"from segur_helpers.scenarios import {module} as scenario\n\n"
                         "proof = await open_proof(campaign, requirement, run_dir=run_dir, run_id=run_id)")


def notebook(requirement: str, module: str, intro: str, steps: list[tuple[str, str]]):
    cells = [_params(requirement), new_markdown_cell(intro.strip()), _open(module)]
    for text, code in steps:
        cells += [new_markdown_cell(text.strip()), new_code_cell(code.strip())]
    cells += [new_markdown_cell("## Verdict et récapitulatif des vérifications"),
              new_code_cell("await proof.close()")]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n:02d}"
    return nb


NOTEBOOKS = {
    "HOP_VA_1.06.ipynb": notebook("HOP VA 1.06", "hop_va_1_06", """
# HOP VA 1.06 — Documentation du circuit des documents, accessible depuis l'application

**Contexte.** L'alimentation du DMP repose sur le circuit du document : sa création, sa relecture
éventuelle, sa validation par le professionnel, puis son envoi. Le système documente ce circuit de
façon exhaustive, en précisant les acteurs de chaque étape, et l'utilisateur accède à cette
documentation depuis l'application.

**Déroulé du scénario (2 éléments de preuve attendus).**
1. Depuis l'écran des documents, l'utilisateur trouve l'accès à la documentation du circuit et l'ouvre ;
   la documentation est conservée telle que l'application la délivre.
2. La documentation décrit chacune des étapes — création, relecture, validation, envoi — avec ses
   acteurs, dans l'ordre du circuit.

Chaque capture d'écran encadre en rouge l'élément examiné. Les vérifications sont récapitulées en fin de
document, avec les empreintes des fichiers.
""", [
        ("""
## Preuve 1 — Accès à la documentation depuis l'application

L'écran de rédaction des documents est affiché : l'accès à la documentation du circuit y est encadré.
L'utilisateur le suit ; la documentation ouverte est capturée et conservée (page HTML), ainsi que le
relevé des étapes et des acteurs qu'elle décrit.
""", "documentation = await scenario.acces_documentation(proof)"),
        ("""
## Preuve 2 — Étapes du circuit et acteurs décrits

Pour chaque étape attendue (création, relecture, validation, envoi), la documentation doit comporter
une partie dédiée qui nomme ses acteurs ; les étapes doivent apparaître dans l'ordre du circuit.
""", "await scenario.etapes_et_acteurs(proof, documentation)"),
    ]),
    "CDA_N1.01.ipynb": notebook("CDA/N1.01", "cda_n1_01", """
# CDA/N1.01 — Conformité CDA R2 niveau 1 des documents produits

**Contexte.** Les documents que le système adresse au DMP et par messagerie sécurisée sont des
documents CDA R2 de niveau 1 : un en-tête structuré conforme au CI-SIS et un corps PDF. La lettre de
liaison de sortie (LDL) a remplacé le compte rendu d'hospitalisation (CRH) : les deux ne coexistent pas.
Cette preuve fait produire une LDL par le système pour un patient de test et contrôle le document obtenu.

**Identifiant.** CDA/N1.01 est l'identifiant que l'outillage donne à ce contrôle de conformité ; il
regroupe les règles d'en-tête sur lesquelles reposent les exigences d'alimentation du DMP et de
messagerie sécurisée.

**Déroulé du scénario (3 éléments de preuve attendus).**
1. Le médecin rédige puis valide une lettre de liaison de sortie pour un patient de test (INS de test).
2. Le document CDA R2 produit est téléchargé depuis l'application et conservé tel quel.
3. Chaque règle est vérifiée sur ce document ; chaque vérification indique l'expression XPath
   évaluée (préfixe `cda:` = `urn:hl7-org:v3`), ce qui permet de retrouver l'élément en cause.

**Règles.** Modèles d'en-tête 2.16.840.1.113883.2.8.2.1 (CDA FR), 1.2.250.1.213.1.1.1.1 (CI-SIS) et
1.3.6.1.4.1.19376.1.2.20 (IHE XDS-SD) ; INS du patient sous un OID de test (1.2.250.1.213.1.4.10 ou
.11) ; auteur identifié par son RPPS (OID 1.2.250.1.71.4.2.1) ; codes de confidentialité et de
visibilité connus ; modèle LDL 1.2.250.1.213.1.1.1.29 et code LOINC 11490-0, sans code CRH ; corps
PDF présent et lisible.
""", [
        ("""
## Preuve 1 — Production d'une lettre de liaison de sortie

Le médecin auteur rédige la lettre de liaison de sortie d'un patient de test, puis la valide :
la validation fige le document au format CDA R2 niveau 1.
""", "document = await scenario.produire_document(proof)"),
        ("""
## Preuve 2 — Document CDA R2 téléchargé

Le document CDA est téléchargé depuis la fiche du document, comme le ferait l'utilisateur, et conservé
tel quel (fichier XML joint, avec son empreinte).
""", "cda_document = await scenario.recuperer_cda(proof, document)"),
        ("""
## Preuve 3 — Contrôle des règles CDA R2 niveau 1

Chaque règle est évaluée sur le document conservé ; le tableau des règles est joint au format CSV
et le corps PDF extrait du document est joint pour lecture.
""", "await scenario.controler_cda(proof, cda_document)"),
    ]),
    "MSS_CONF.16.ipynb": notebook("MSS/CONF.16", "mss_conf_16", """
# MSS/CONF.16 — En-tête X-MSS-NIL dans les messages MSSanté du système

**Contexte.** Chaque message que le système envoie par la messagerie sécurisée de santé (MSSanté)
identifie le logiciel qui l'a produit : l'en-tête SMTP `X-MSS-NIL` porte le numéro d'identification
attribué au logiciel lors de son référencement Ségur. La valeur attendue est celle que déclare la
campagne.

**Déroulé du scénario (2 éléments de preuve attendus).**
1. Le médecin valide un document puis l'adresse à un correspondant par MSSanté.
2. Le message reçu est conservé brut (fichier `.eml`) ; ses en-têtes sont affichés, `X-MSS-NIL` surligné,
   et sa valeur comparée au numéro déclaré ; les autres messages envoyés par la même boîte MSSanté du
   système sont contrôlés de la même façon.
""", [
        ("""
## Preuve 1 — Envoi d'un document par MSSanté

Le médecin rédige et valide une lettre de liaison de sortie, puis l'adresse à un correspondant depuis la
fiche du document.
""", "document = await scenario.envoyer_par_mss(proof)"),
        ("""
## Preuve 2 — Message brut et en-tête X-MSS-NIL

La boîte du correspondant est relevée ; le message est conservé tel que reçu (.eml), avec tous ses
en-têtes SMTP.
""", "await scenario.verifier_entete(proof, document)"),
    ]),
}


def main(argv: list[str]) -> int:
    check = "--check" in argv
    only = [a for a in argv if not a.startswith("--")]
    stale = []
    for name, nb in NOTEBOOKS.items():
        if only and name not in only:
            continue
        path = ROOT / "notebooks" / name
        text = nbformat.writes(nb) + "\n"
        if check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"notebooks/{name}")
    if stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

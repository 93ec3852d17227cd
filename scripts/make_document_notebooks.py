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
    "HOP_VA_1.04.ipynb": notebook("HOP VA 1.04", "hop_va_1_04", """
# HOP VA 1.04 — Circuit création → validation, sans relecture, suivi de l'envoi au DMP

**Contexte.** L'alimentation du DMP repose sur le régime de non-opposition du patient : l'envoi au DMP
est proposé coché par défaut. Pour un type de document sans étape de relecture — ici la lettre de
liaison de sortie —, le médecin rédige puis valide lui-même le document, et cette validation suffit à
déclencher l'alimentation du DMP, sans aucune autre action de sa part. Le patient de test a une
identité qualifiée (INS sous l'OID de test) et aucune opposition enregistrée.

**Déroulé du scénario (2 éléments de preuve attendus).**
1. Le formulaire de rédaction s'ouvre avec « Envoyer au DMP » coché (la case n'est pas touchée) ; le
   brouillon enregistré se valide directement, sans relecture.
2. Le médecin valide : c'est sa seule action. L'outillage se contente ensuite d'observer le DMP du
   patient (échange conservé) jusqu'à y trouver le document, puis la fiche du document.
""", [
        ("""
## Preuve 1 — Rédaction : envoi au DMP coché par défaut, validation sans relecture

Le formulaire est rempli (patient, type, titre, contenu, auteur) sans toucher à la case d'envoi au DMP,
encadrée sur la capture. Le brouillon est enregistré ; sa fiche propose la validation.
""", "document = await scenario.rediger(proof)"),
        ("""
## Preuve 2 — Validation et arrivée du document dans le DMP

Le médecin valide le document. L'outillage interroge ensuite le DMP (recherche du document par son
identifiant unique), sans agir sur le produit, puis affiche la fiche du document.
""", "await scenario.valider_et_constater_envoi(proof, document)"),
    ]),
    "DMP_ALI_PROG.01.ipynb": notebook("DMP/ALI/PROG.01", "dmp_ali_prog_01", """
# DMP/ALI/PROG.01 — Envoi au DMP en tâche de fond, annulations et file d'attente

**Contexte.** Une fois validés par l'utilisateur, les documents partent au DMP d'eux-mêmes, en tâche de
fond : l'écran reste utilisable pendant l'envoi. Par exception, l'utilisateur peut annuler un envoi au
cas par cas, et le système annule les envois lorsque le patient s'est opposé à l'alimentation, n'a pas
de DMP, ou que l'autorisation sur son DMP est insuffisante. Quand le DMP ne peut pas être joint
(coupure réseau, certificat échu…), les documents sont mis en attente et partent seuls dès que le DMP
redevient joignable.

**Patients de test.** Des patients fictifs (INS sous l'OID de test) illustrent chaque situation :
non-opposition avec DMP ; opposition enregistrée ; pas de DMP ; DMP fermé à l'établissement.

**Déroulé du scénario (5 éléments de preuve attendus).**
1. Après la validation, l'écran rend la main avec l'envoi programmé ; le document part ensuite seul et
   se trouve dans le DMP.
2. Pour chacune des trois situations d'exception, l'envoi est annulé par le système, avec son motif,
   et le document n'est pas dans le DMP.
3. Le service du DMP est arrêté : un document validé est mis en attente, sans action de l'utilisateur.
4. L'utilisateur annule l'envoi d'un second document en attente.
5. Le service du DMP est relancé : le document en attente part de lui-même ; le document annulé, non.
""", [
        ("""
## Preuve 1 — Envoi en tâche de fond après la validation

Le médecin valide une lettre de liaison de sortie. La capture montre l'écran tel qu'il s'affiche juste
après la validation (avec son temps d'affichage) ; la fiche est ensuite rouverte jusqu'à la fin de
l'envoi, et le DMP est interrogé.
""", "await scenario.envoi_en_tache_de_fond(proof)"),
        ("""
## Preuve 2 — Annulations automatiques

Un document est validé pour chacun des patients concernés ; l'état de l'envoi et son motif sont
capturés, et le DMP est interrogé pour montrer que le document n'y est pas.
""", "await scenario.annulations_automatiques(proof)"),
        ("""
## Preuve 3 — DMP injoignable : mise en attente

Le service du DMP est arrêté (les connexions sont refusées, comme lors d'une coupure réseau). Deux
documents sont validés ; le premier est suivi jusqu'à sa mise en attente.
""", "en_attente = await scenario.mise_en_attente(proof)"),
        ("""
## Preuve 4 — Annulation d'un envoi par l'utilisateur

L'utilisateur ouvre le second document et annule son envoi au DMP.
""", "await scenario.annulation_par_l_utilisateur(proof, en_attente)"),
        ("""
## Preuve 5 — Retour du DMP : envoi automatique

Le service du DMP est relancé ; aucune action n'est faite sur le produit. Le document en attente est
suivi jusqu'à son envoi et recherché dans le DMP ; le document dont l'envoi a été annulé n'y est pas.
""", "await scenario.retour_du_dmp(proof, en_attente)"),
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

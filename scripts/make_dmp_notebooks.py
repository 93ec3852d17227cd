"""Generate the DMP consultation/consent notebooks (issue 6) with nbformat, without outputs.

    python scripts/make_dmp_notebooks.py        # rewrites notebooks/<SAFE_ID>.ipynb for these scenarios
"""
from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
TEST_PATIENTS = ("**Patients de test uniquement.** Chaque patient utilisé a un INS sous un OID de test "
                 "(1.2.250.1.213.1.4.10 ou .11) ; sinon la preuve s'arrête avant toute action, par un refus "
                 "explicite, sauf autorisation expresse de la campagne.")
SHOTS = ("Chaque capture d'écran encadre en rouge l'élément examiné. Les échanges avec le DMP sont conservés "
         "tels qu'envoyés et reçus ; les vérifications sont récapitulées en fin de document, avec les "
         "empreintes des fichiers.")

SPECS = {
    "DMP_CS.01.ipynb": {
        "requirement": "DMP/CS.01", "module": "dmp_cs_01",
        "intro": """# DMP/CS.01 — Connexion secrète d'un patient mineur, par épisode de soins

**Contexte.** Un patient mineur peut demander que son accès aux soins reste confidentiel vis-à-vis de
ses représentants légaux : c'est la *connexion secrète* au DMP. La réponse est une modalité du
consentement, valable pour un épisode de soins : proposée à l'admission, visible de chaque
professionnel qui ouvre le dossier pendant l'épisode, retirée à la sortie pour être redemandée au
prochain épisode.

**Déroulé (4 éléments de preuve, deux épisodes, deux professionnels A et B).**
1. Admission du mineur par le professionnel A : la question est posée ; réponse « oui » ; A la voit.
2. Le professionnel B ouvre le dossier pendant le même épisode : la connexion secrète est visible.
3. Sortie du patient : l'information disparaît, pour A comme pour B.
4. Nouvel épisode ouvert par B : la question est posée de nouveau ; la réponse « non » remplace l'ancienne.
""",
        "steps": [
            ("## Preuve 1 — Admission : la connexion secrète est proposée et enregistrée",
             "Le professionnel A ouvre un épisode d'hospitalisation pour le patient mineur de test. Le formulaire "
             "d'admission doit poser la question de la connexion secrète ; la réponse « oui » est enregistrée avec "
             "le consentement DMP de l'épisode.", "patient = await scenario.premiere_admission(proof)"),
            ("## Preuve 2 — Un second professionnel ouvre le dossier",
             "Le professionnel B, dans sa propre session, ouvre le dossier : la connexion secrète doit lui "
             "apparaître clairement, sans action.", "await scenario.second_professionnel(proof, patient)"),
            ("## Preuve 3 — Fin de l'épisode",
             "A enregistre la sortie du patient. L'information de connexion secrète ne doit plus apparaître, ni "
             "pour A, ni pour B.", "await scenario.fin_episode(proof, patient)"),
            ("## Preuve 4 — Épisode suivant",
             "B ouvre un nouvel épisode (consultation externe) : la question doit être posée de nouveau. La "
             "réponse « non » est donnée ; A ne doit plus voir de connexion secrète.",
             "await scenario.episode_suivant(proof, patient)"),
        ],
    },
    "DMP_UX.15.ipynb": {
        "requirement": "DMP/UX.15", "module": "dmp_ux_15",
        "intro": """# DMP/UX.15 — Nouveaux documents du DMP signalés sans clic à l'ouverture du dossier

**Contexte.** Quand un professionnel ouvre le dossier d'un patient, le système lui signale d'emblée,
sans qu'il ait à cliquer, que des documents ont été versés au DMP par d'autres structures (cabinet,
établissement…) depuis la dernière venue ou le dernier séjour du patient, avec leur nombre par type.

**Déroulé (3 éléments de preuve).**
1. Une première venue du patient est ouverte puis close.
2. Des structures tierces versent des documents au DMP ; deux documents témoins ne doivent pas être
   signalés : l'un daté d'avant la dernière venue, l'autre produit par la structure elle-même.
3. À la venue suivante, le dossier est ouvert et lu **sans aucun clic** : seuls les nouveaux documents
   des tiers sont signalés, comptés par type.
""",
        "steps": [
            ("## Preuve 1 — Première venue", "Le patient de test vient une première fois (consultation externe, "
             "non-opposition enregistrée) ; l'épisode est clos.", "patient = await scenario.premiere_venue(proof)"),
            ("## Preuve 2 — Versements au DMP par des tiers",
             "Le DMP reçoit, d'autres structures, les documents prévus par la campagne, plus les deux témoins.",
             "attendus = await scenario.versements_tiers(proof, patient)"),
            ("## Preuve 3 — Ouverture du dossier à la venue suivante",
             "Le professionnel admet le patient puis ouvre son dossier : la capture est prise sans aucun clic.",
             "await scenario.ouverture_du_dossier(proof, patient, attendus)"),
        ],
    },
    "CDA_DD.05.ipynb": {
        "requirement": "CDA/DD.05", "module": "cda_dd_05",
        "intro": """# CDA/DD.05 (DMP/UX.40) — Document intégré depuis le DMP puis supprimé dans le DMP

**Contexte.** Un document récupéré du DMP et conservé dans le dossier peut ensuite être supprimé du
DMP, par exemple par le patient depuis Mon espace santé. Quand l'utilisateur ouvre la copie locale, le
système interroge le DMP avec l'identifiant unique du document, l'avertit de la suppression et lui
propose de supprimer la copie locale.

**Déroulé (3 éléments de preuve).**
1. Un document versé au DMP par un tiers est intégré au dossier et s'ouvre normalement.
2. Le patient supprime ce document de son DMP.
3. À l'ouverture de la copie locale, le système signale la suppression et propose de supprimer la copie ;
   une fois acceptée, la copie disparaît du dossier.
""",
        "steps": [
            ("## Preuve 1 — Intégration d'un document du DMP", "Un tiers verse un document au DMP ; le "
             "professionnel l'intègre au dossier puis l'ouvre.", "contexte = await scenario.integration(proof)"),
            ("## Preuve 2 — Suppression par le patient dans le DMP", "Le patient supprime le document ; le DMP, "
             "interrogé par son identifiant unique, le donne comme supprimé.",
             "await scenario.suppression_par_le_patient(proof, contexte)"),
            ("## Preuve 3 — Ouverture de la copie locale", "Le professionnel ouvre de nouveau la copie locale ; "
             "le système doit signaler la suppression et proposer de supprimer la copie.",
             "await scenario.ouverture_apres_suppression(proof, contexte)"),
        ],
    },
    "DMP_CONF.06-09.ipynb": {
        "requirement": "DMP/CONF.06", "module": "dmp_conf_06_09",
        "intro": """# DMP/CONF.06 et DMP/CONF.09 — Non-opposition du patient et blocage des transactions DMP

**Contexte.** Pour chaque épisode, le système enregistre l'information du patient et son éventuelle
non-opposition à la consultation (DMP/CONF.06) et à l'alimentation (DMP/CONF.09) de son DMP. Tant
qu'elle n'est pas enregistrée, aucune transaction ne doit partir vers le DMP. Ce carnet sert aux deux
exigences : la même preuve est produite pour chacune (paramètre `requirement`).

**Déroulé (5 éléments de preuve).**
1. Épisode ouvert avec le consentement DMP « non recueilli » : à l'ouverture, l'accès au DMP est bloqué.
2. La consultation du DMP demandée par l'utilisateur est refusée.
3. L'envoi d'un document du dossier au DMP est refusé.
4. Le journal du DMP lui-même ne montre aucune transaction reçue pour ce patient.
5. Témoin : la non-opposition enregistrée, consultation et envoi aboutissent.
""",
        "steps": [
            ("## Preuve 1 — Épisode sans non-opposition", "Le patient de test est admis, informé, sans que sa "
             "non-opposition soit recueillie ; son dossier est ouvert.",
             "contexte = await scenario.episode_sans_non_opposition(proof)"),
            ("## Preuve 2 — Tentative de consultation du DMP", "L'utilisateur demande explicitement la "
             "consultation du DMP.", "await scenario.tentative_consultation(proof, contexte)"),
            ("## Preuve 3 — Tentative d'alimentation du DMP", "L'utilisateur rédige un document et demande son "
             "envoi au DMP.", "document = await scenario.tentative_alimentation(proof, contexte)"),
            ("## Preuve 4 — Journal du DMP", "Les transactions reçues par le DMP pour ce patient depuis le début "
             "de la preuve sont relevées.", "await scenario.journal_du_dmp(proof, contexte)"),
            ("## Preuve 5 — Témoin avec non-opposition", "La non-opposition est enregistrée ; les mêmes "
             "transactions doivent alors aboutir, ce qui montre que le blocage tient bien au consentement.",
             "await scenario.temoin_avec_non_opposition(proof, contexte, document)"),
        ],
    },
    "STAT_ES_01.01.ipynb": {
        "requirement": "STAT/ES 01.01", "module": "stat_es_01_01",
        "intro": """# STAT/ES 01.01 — Statistiques d'usage du DMP sur les consultations externes

**Contexte.** Le système produit trois taux, chacun rapporté à **toutes les consultations externes**
(consultations hors hospitalisation) de la période : (1) consultations au cours desquelles au moins un
document a été intégré depuis le DMP ; (2) consultations où le consentement du patient a été tracé ;
(3) consultations où son refus a été tracé. La période est celle des paramètres de la campagne.

**Déroulé (4 éléments de preuve).**
1. Les taux affichés par le système pour la période, par mois et au total.
2. L'extraction brute des consultations externes de la période.
3. Le recalcul indépendant des trois taux avec pandas, et leur graphique mensuel.
4. La comparaison : tout écart fait échouer la preuve.

Aucune donnée nominative n'est extraite : l'extraction ne porte que sur des consultations anonymes.
""",
        "steps": [
            ("## Preuve 1 — Taux affichés par le système", "Le tableau des statistiques du système est relevé.",
             "systeme = await scenario.statistiques_du_systeme(proof)"),
            ("## Preuve 2 — Extraction des consultations externes", "Les consultations de la période sont "
             "extraites telles quelles (fichier CSV conservé).", "brut = await scenario.extraction(proof)"),
            ("## Preuve 3 — Recalcul (pandas) et graphique mensuel", "Les trois taux sont recalculés à partir de "
             "l'extraction seule.", "recalcul = await scenario.recalcul(proof, brut)"),
            ("## Preuve 4 — Comparaison", "Chaque valeur du système est comparée à la valeur recalculée.",
             "await scenario.comparaison(proof, systeme, recalcul)"),
        ],
    },
}


def build(name: str, spec: dict) -> nbformat.NotebookNode:
    cells = [new_code_cell(f'campaign = "../params/demo.yaml"  # fichier de paramètres de la campagne\n'
                           f'requirement = "{spec["requirement"]}"\n'
                           'run_dir = ""  # dossier de la preuve (renseigné par segur run)\n'
                           'run_id = ""', metadata={"tags": ["parameters"]})]
    intro = spec["intro"].rstrip() + "\n\n" + (TEST_PATIENTS + "\n\n" if spec["module"] != "stat_es_01_01" else "") + SHOTS
    cells.append(new_markdown_cell(intro))
    cells.append(new_code_cell("from segur_helpers import open_proof\n"
                               f"from segur_helpers.scenarios import {spec['module']} as scenario\n\n"
                               "proof = await open_proof(campaign, requirement, run_dir=run_dir, run_id=run_id)"))
    for title, text, code in spec["steps"]:
        cells.append(new_markdown_cell(f"{title}\n\n{text}"))
        cells.append(new_code_cell(code))
    cells.append(new_markdown_cell("## Verdict et récapitulatif des vérifications"))
    cells.append(new_code_cell("await proof.close()"))
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"display_name": "Python 3 (ipykernel)",
                                                            "language": "python", "name": "python3"},
                                             "language_info": {"name": "python"}})
    return nb


def main() -> None:
    for name, spec in SPECS.items():
        nbformat.write(build(name, spec), str(NOTEBOOKS / name))
        print("wrote", NOTEBOOKS / name)


if __name__ == "__main__":
    main()

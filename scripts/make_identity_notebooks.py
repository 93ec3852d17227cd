"""Generate the identity and access notebooks (SSI/IE.32, SSI/IAM.80, 83, 85, 87, 94) with nbformat.

``python scripts/make_identity_notebooks.py`` rewrites ``notebooks/<SAFE_ID>.ipynb`` from the specs
below (French narrative a reviewer reads, one helper call per step), without outputs. Same structure as
``notebooks/SSI_IE.31.ipynb``: a ``parameters`` cell, ``open_proof``, the steps, ``proof.close()``.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def parameters(requirement: str) -> str:
    return (f'campaign = "../params/demo.yaml"  # fichier de paramètres de la campagne\n'
            f'requirement = "{requirement}"\n'
            'run_dir = ""  # dossier de la preuve (renseigné par segur run)\nrun_id = ""')


def opening(module: str) -> str:
    return ("from segur_helpers import open_proof\n"
            f"from segur_helpers.scenarios import {module} as scenario\n\n"
            "proof = await open_proof(campaign, requirement, run_dir=run_dir, run_id=run_id)")


def notebook(requirement: str, module: str, intro: str, steps: list[tuple[str, str]]) -> nbformat.NotebookNode:
    cells = [new_code_cell(parameters(requirement), metadata={"tags": ["parameters"]}),
             new_markdown_cell(intro.strip()), new_code_cell(opening(module))]
    for md, code in steps:
        cells += [new_markdown_cell(md.strip()), new_code_cell(code.strip())]
    cells += [new_markdown_cell("## Verdict et récapitulatif des vérifications"), new_code_cell("await proof.close()")]
    for i, cell in enumerate(cells):  # stable ids: regenerating an unchanged notebook changes nothing
        cell["id"] = f"cell-{i:02d}"
    nb = new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    return nb


NOTEBOOKS: dict[str, tuple[str, str, str, list[tuple[str, str]]]] = {}

NOTEBOOKS["SSI_IE.32"] = ("SSI/IE.32", "ssi_ie_32", """
# SSI/IE.32 — Modification de l'adresse de messagerie d'un professionnel

**Contexte.** Les coordonnées d'un professionnel (adresse de messagerie, numéro de mobile) servent à
l'authentifier ou à récupérer son compte. Les modifier est donc un acte sensible : le système ne doit
accepter une nouvelle coordonnée qu'après l'avoir contrôlée aussi sérieusement qu'à la création du
compte, et il doit prévenir le professionnel sur son **ancienne** coordonnée, pour qu'un changement
qu'il n'aurait pas demandé ne passe pas inaperçu.

**Déroulé du scénario (4 éléments de preuve attendus).**
1. Un compte de test est déclaré et son adresse d'origine vérifiée ; à la demande du professionnel,
   l'administrateur saisit une nouvelle adresse : l'adresse d'origine reste l'adresse active et la
   nouvelle est présentée *en attente de vérification*.
2. La nouvelle adresse reçoit un message porteur d'un code ou d'un lien à usage unique.
3. L'ancienne adresse reçoit un avis de modification, conservé brut (fichier `.eml`).
4. Le professionnel utilise le lien reçu : la nouvelle adresse devient l'adresse active, vérifiée.

Chaque capture d'écran encadre en rouge l'élément examiné ; les champs de mot de passe sont masqués.
""", [
    ("""
## Preuve 1 — Demande de modification : la nouvelle adresse n'est pas encore active

Un compte de test est déclaré puis son adresse d'origine vérifiée (parcours de l'exigence SSI/IE.31).
L'écran des coordonnées est capturé avant la demande, puis juste après : l'adresse active ne doit pas
avoir changé, la nouvelle adresse doit être signalée comme en attente de vérification.
""", "changement = await scenario.demander_modification(proof)"),
    ("""
## Preuve 2 — Vérification de la nouvelle adresse

La boîte de la nouvelle adresse est relevée : le message reçu est conservé brut et son code ou son lien
de vérification est surligné.
""", "message = await scenario.message_a_la_nouvelle_adresse(proof, changement)"),
    ("""
## Preuve 3 — Avis de modification à l'ancienne adresse

La boîte de l'ancienne adresse est relevée : un avis de modification, arrivé après la demande, doit s'y
trouver. Il est conservé brut (`.eml`).
""", "await scenario.avis_a_l_ancienne_adresse(proof, changement)"),
    ("""
## Preuve 4 — La nouvelle adresse, vérifiée, remplace l'ancienne

Le professionnel ouvre le lien reçu depuis son propre navigateur ; l'écran des coordonnées est affiché
de nouveau : la nouvelle adresse est active et vérifiée, plus aucune modification n'est en attente.
""", "await scenario.valider_nouvelle_adresse(proof, changement, message)"),
])

_REVIEW_STEPS = [
    ("""
## Preuve {n1} — Contenu de l'extraction

Le fichier est chargé avec *pandas* tel qu'il a été obtenu. Il doit porter, pour chaque compte, les
données d'identité (identifiant, nom, prénom, messagerie, n° RPPS) et les droits (rôles détenus, droits
privilégiés) ; son nombre de lignes est comparé au nombre de comptes annoncé par le système lui-même.
""", "donnees = await scenario.controler_contenu(proof, extraction)"),
    ("""
## Preuve {n2} — La revue des comptes

À partir du seul fichier, la revue attendue d'un responsable de la sécurité est établie : comptes
détenant un droit privilégié, comptes actifs sans connexion depuis plus de N jours (N fixé dans les
paramètres de la campagne), comptes sans n° RPPS, matrice rôles × comptes et graphique de synthèse.
Le classeur de la revue et le graphique sont joints à la preuve.
""", "await scenario.revue_des_comptes(proof, donnees)"),
]


def _review_steps(first: int) -> list[tuple[str, str]]:
    return [(md.replace("{n1}", str(first)).replace("{n2}", str(first + 1)), code) for md, code in _REVIEW_STEPS]


_CONDITION = """
**Condition d'applicabilité.** Cette exigence est conditionnelle : elle vise les produits qui tiennent
leur propre base de comptes{extra}. La présente preuve est produite parce que la campagne déclare la
condition remplie ; dans le cas contraire, un document de justification est déposé à la place.
"""

NOTEBOOKS["SSI_IAM.87"] = ("SSI/IAM.87", "ssi_iam_87_94", """
# SSI/IAM.87 — Extraction de la base de comptes par l'établissement, pour la revue des habilitations

**Contexte.** Pour recertifier régulièrement les accès à son DPI, l'établissement doit pouvoir relire la
liste des comptes et de leurs droits. Il doit pouvoir en obtenir l'extraction **en autonomie**, sans
passer par l'éditeur.
""" + _CONDITION.replace("{extra}", "") + """
**Déroulé du scénario (4 éléments de preuve attendus).**
1. L'administrateur de l'établissement lance l'extraction depuis le produit ; le fichier obtenu est
   conservé tel quel.
2. Le fichier porte les identités et les droits de tous les comptes de la base.
3. La revue des comptes se construit à partir du fichier seul (tableaux et graphique).
4. La documentation utilisateur décrit la procédure.
""", [
    ("""
## Preuve 1 — L'établissement extrait lui-même la base de comptes

Depuis l'écran de revue des comptes du produit, l'administrateur de l'établissement lance l'export ; le
fichier téléchargé est joint à la preuve sans modification, avec son empreinte.
""", "extraction = await scenario.extraire_en_autonomie(proof)"),
    *_review_steps(2),
    ("""
## Preuve 4 — La procédure dans la documentation utilisateur

La page de l'aide du produit qui décrit l'extraction est affichée ; le passage qui décrit la procédure
est encadré.
""", 'await scenario.documentation(proof, "export")'),
])

NOTEBOOKS["SSI_IAM.94"] = ("SSI/IAM.94", "ssi_iam_87_94", """
# SSI/IAM.94 — Extraction de la base de comptes sur demande, quand un tiers exploite le système

**Contexte.** Quand le DPI est hébergé ou infogéré par un tiers, l'établissement ne peut pas toujours
extraire lui-même ses comptes. Il doit alors pouvoir **demander** l'extraction à l'exploitant et la
recevoir, avec les identités et les droits, pour sa revue périodique des habilitations.
""" + _CONDITION.replace("{extra}", " et qui sont exploités pour l'établissement par un tiers") + """
**Déroulé du scénario (5 éléments de preuve attendus).**
1. L'établissement dépose sa demande ; elle est enregistrée sous une référence.
2. L'extraction parvient au demandeur : le message et le fichier joint sont conservés tels quels.
3. Le fichier porte les identités et les droits de tous les comptes de la base.
4. La revue des comptes se construit à partir du fichier seul (tableaux et graphique).
5. La documentation utilisateur décrit la procédure de demande.
""", [
    ("""
## Preuves 1 et 2 — Demande d'extraction et réception du fichier

Le responsable de la sécurité de l'établissement dépose sa demande depuis le produit ; l'accusé affiche
la référence de la demande. La boîte du demandeur est ensuite relevée : le message de l'exploitant
(fichier `.eml`) et le fichier d'extraction joint sont conservés.
""", "extraction = await scenario.demander_extraction(proof)"),
    *_review_steps(3),
    ("""
## Preuve 5 — La procédure dans la documentation utilisateur

La page de l'aide du produit qui décrit la demande d'extraction est affichée ; le passage correspondant
est encadré.
""", 'await scenario.documentation(proof, "request")'),
])

_SYNC_CONTEXT = """
**Condition d'applicabilité.** Cette exigence est conditionnelle : elle vise les produits qui gardent
localement des comptes d'utilisateurs{extra}. La présente preuve est produite parce que la campagne
déclare la condition remplie ; dans le cas contraire, un document de justification est déposé à la place.

**Méthode.** Le carnet tient le rôle de l'équipe qui gère l'annuaire de l'établissement : il s'y connecte
en LDAPS (le certificat présenté par l'annuaire est relevé et validé avec l'autorité de certification de
l'établissement), modifie l'annuaire, puis observe le produit. Chaque opération LDAP (requête et réponse)
est conservée comme élément de preuve ; aucun mot de passe n'y figure.
"""


def _sync_steps(kind: str, change_md: str, after_md: str) -> list[tuple[str, str]]:
    return [
        ("""
## Preuve 1 — L'annuaire et le compte du produit avant la modification

Connexion à l'annuaire en LDAPS, relevé du certificat, lecture de l'entrée du professionnel de test ;
puis affichage de son compte dans le produit, qui doit refléter l'annuaire.
""", f'cas = await scenario.connexion_annuaire(proof, "{kind}")\nawait scenario.etat_initial(proof, cas)'),
        (change_md, "await scenario.modifier_annuaire(proof, cas)"),
        ("""
## Preuve 3 — Synchronisation du produit

Selon les paramètres de la campagne, le carnet attend la prochaine synchronisation programmée du produit,
ou la déclenche depuis l'écran d'administration (« synchroniser maintenant ») ; l'écran de suivi des
synchronisations est capturé.
""", "await scenario.synchroniser(proof, cas)"),
        (after_md, "await scenario.compte_apres_synchronisation(proof, cas)\nawait scenario.fermer(proof, cas)"),
    ]


NOTEBOOKS["SSI_IAM.83"] = ("SSI/IAM.83", "ssi_iam_83_85", """
# SSI/IAM.83 — Synchronisation des identités avec l'annuaire de l'établissement

**Contexte.** Un produit qui garde ses propres comptes doit les tenir à jour à partir de la source de
vérité de l'établissement (annuaire ou fournisseur d'identités) : un changement de nom ou d'adresse de
messagerie fait dans l'annuaire doit se retrouver dans le produit, à la fréquence choisie par
l'établissement.
""" + _SYNC_CONTEXT.replace("{extra}", "") + """
**Déroulé du scénario (4 éléments de preuve attendus).**
1. L'entrée du professionnel de test est lue dans l'annuaire ; son compte dans le produit porte la même identité.
2. Son nom et son adresse de messagerie sont modifiés dans l'annuaire.
3. Le produit se synchronise (synchronisation programmée ou déclenchée), sans erreur.
4. Le compte du produit porte le nouveau nom et la nouvelle adresse.
""", _sync_steps("identity", """
## Preuve 2 — Modification de l'identité dans l'annuaire

Le nom (`sn`) et l'adresse de messagerie (`mail`) de l'entrée sont remplacés ; l'entrée est relue pour
montrer les nouvelles valeurs.
""", """
## Preuve 4 — Le compte du produit porte la nouvelle identité

Le compte du professionnel est de nouveau affiché dans le produit ; chaque attribut modifié est comparé
à la valeur écrite dans l'annuaire.
"""))

NOTEBOOKS["SSI_IAM.85"] = ("SSI/IAM.85", "ssi_iam_83_85", """
# SSI/IAM.85 — Synchronisation des permissions avec l'annuaire de l'établissement

**Contexte.** Un produit qui garde ses propres comptes et leurs droits doit reprendre régulièrement les
habilitations décidées dans l'annuaire de l'établissement : quand un professionnel quitte un groupe, le
rôle qui s'y rattache doit lui être retiré dans le produit ; quand il en rejoint un, il doit l'obtenir.
""" + _SYNC_CONTEXT.replace("{extra}", " et leurs droits") + """
**Déroulé du scénario (4 éléments de preuve attendus).**
1. L'entrée du professionnel de test et ses groupes sont lus dans l'annuaire ; les rôles de son compte
   dans le produit y correspondent.
2. Le professionnel est retiré d'un groupe et ajouté à un autre dans l'annuaire.
3. Le produit se synchronise (synchronisation programmée ou déclenchée), sans erreur.
4. Le compte du produit a gagné le rôle du groupe rejoint, perdu celui du groupe quitté, gardé les autres.
""", _sync_steps("permissions", """
## Preuve 2 — Modification des groupes dans l'annuaire

Le professionnel est retiré d'un groupe (droit retiré) et ajouté à un autre (droit accordé) ; ses
groupes sont relus après la modification.
""", """
## Preuve 4 — Les rôles du compte après la synchronisation

Les rôles du compte sont de nouveau affichés dans le produit et comparés aux groupes de l'annuaire.
"""))

NOTEBOOKS["SSI_IAM.80"] = ("SSI/IAM.80", "ssi_iam_80", """
# SSI/IAM.80 — Connexion par un fournisseur d'identité tiers en OpenID Connect (mode web)

**Contexte.** Pour s'intégrer au système d'information de l'établissement, le produit doit accepter
que ses utilisateurs s'identifient auprès du fournisseur d'identité de l'établissement (autre que
Pro Santé Connect) par le protocole OpenID Connect. Le mode web est prouvé ici : le professionnel se
connecte depuis un navigateur.

**Méthode.** Un vrai navigateur (Chromium) parcourt le chemin de connexion ; chaque redirection est
relevée. Les codes d'autorisation et les jetons ne sont jamais reproduits : leurs valeurs sont masquées
dans la preuve ; seuls les éléments du jeton d'identité que le produit dit utiliser sont montrés.

**Déroulé du scénario (4 éléments de preuve attendus).**
1. Le document de découverte et les clés de signature du fournisseur sont relevés.
2. Depuis la page de connexion du produit, le navigateur est renvoyé vers le fournisseur avec une
   demande « code » protégée par PKCE (S256), `state` et `nonce`.
3. Au retour, une session s'ouvre dans le produit pour le professionnel, sur un jeton d'identité signé.
4. Un jeton d'identité émis pour une autre application est refusé.
""", [
    ("""
## Preuve 1 — Le fournisseur d'identité de l'établissement

Le document de découverte (`/.well-known/openid-configuration`) et les clés publiques de signature
(JWKS) du fournisseur sont relevés tels qu'il les publie.
""", "fournisseur = await scenario.decouverte(proof)"),
    ("""
## Preuves 2 et 3 — Connexion d'un professionnel depuis le produit

Dans un navigateur sans session, le professionnel de test ouvre la page de connexion du produit et
choisit le fournisseur d'identité de l'établissement, puis s'y authentifie (mot de passe masqué sur
la capture). La chaîne des redirections suivie par le navigateur est relevée ; la demande
d'autorisation et le retour vers le produit sont examinés, puis l'écran de session du produit.
""", "await scenario.connexion(proof, fournisseur)"),
    ("""
## Preuve 4 — Un jeton destiné à une autre application est refusé

Le fournisseur d'identité est réglé, par son interrupteur de test, pour que le prochain jeton
d'identité désigne une autre application comme destinataire (audience). Le professionnel refait le
même parcours : le produit doit refuser ce jeton et n'ouvrir aucune session.
""", "await scenario.jeton_autre_audience(proof)"),
])


def main(argv: list[str]) -> int:
    wanted = argv or list(NOTEBOOKS)
    for name in wanted:
        requirement, module, intro, steps = NOTEBOOKS[name]
        path = ROOT / "notebooks" / f"{name}.ipynb"
        nbformat.write(notebook(requirement, module, intro, steps), str(path))
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

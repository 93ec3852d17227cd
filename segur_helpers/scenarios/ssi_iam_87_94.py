"""SSI/IAM.87 and SSI/IAM.94 — the account base (identities and permissions) can be extracted for review.

IAM.87: the hospital runs the extraction itself; IAM.94: it asks the third party that runs the
system, which sends the extract. Both proofs then check the extract's content (identity data,
permissions, every account of the base), build the review a security officer wants from it (pandas:
privileged accounts, accounts unused for N days, accounts without RPPS, role × account matrix, a
chart) and show where the user documentation describes the procedure.
"""
from __future__ import annotations

import base64
import io

from .. import account_review as ar
from ..drivers.account_review import Extract
from ..evidence import esc
from ..proof import Proof, step
from ._identity_common import capability


def _show_table(proof: Proof, title: str, html: str, note: str = "") -> None:
    proof.recorder.show(f'<div class="segur-card"><h4>{esc(title)}</h4>{html}'
                        + (f'<div class="caption">{esc(note)}</div>' if note else "") + "</div>")


def _keep_extract(proof: Proof, extract: Extract, caption: str):
    name = extract.filename or "extraction.csv"
    return proof.recorder.attach(extract.data, caption, name=name, composed=extract.composed)


@step(1, "Extraction de la base de comptes par l'établissement, en autonomie")
async def extraire_en_autonomie(proof: Proof) -> Extract | None:
    review = capability(proof, "account_review")
    view, extract = await review.export()
    shot = await proof.screenshot(view, "Écran d'où l'administrateur de l'établissement lance l'extraction")
    if extract is None or not extract.data:
        proof.check("L'établissement obtient lui-même l'extraction de la base de comptes",
                    expected="un fichier d'extraction", observed="aucun fichier obtenu", passed=False, evidence=[shot])
        return None
    kept = _keep_extract(proof, extract, "Fichier d'extraction tel que produit par le système")
    lines = extract.data.decode("utf-8", "replace").count("\n")
    proof.check("L'établissement obtient lui-même l'extraction de la base de comptes",
                expected="un fichier d'extraction, sans intervention d'un tiers",
                observed=f"{extract.filename} ({len(extract.data)} octets, {lines} lignes)", passed=True,
                evidence=[shot, kept])
    return extract


@step(1, "Demande d'extraction au tiers qui exploite le système, et réception de l'extraction")
async def demander_extraction(proof: Proof) -> Extract | None:
    review = capability(proof, "account_review")
    requester = proof.data["requester"]
    ack = await review.request_extract(requester)
    shot = await proof.screenshot(ack, "Accusé d'enregistrement de la demande d'extraction",
                                  names=ack.observed)
    proof.check("La demande d'extraction est enregistrée avec une référence",
                expected="une référence de demande", observed=ack.observed or "aucun accusé affiché",
                passed=bool(ack.reference), evidence=[shot])
    timeout = proof.timeouts["mail_s"]
    extract = await review.receive_extract(ack, requester, timeout)
    if extract is None or extract.message is None:
        proof.check("L'extraction demandée parvient au demandeur", expected=f"un envoi à {requester['email']}",
                    observed=f"aucun envoi reçu en {timeout:.0f} s", passed=False)
        return None
    mail = proof.email(extract.message, f"Message de l'exploitant reçu par {requester['email']}",
                       highlight=[ack.reference])
    if not extract.data:
        proof.check("L'extraction demandée parvient au demandeur", expected="un fichier d'extraction joint",
                    observed="message reçu sans fichier d'extraction", passed=False, evidence=[mail])
        return None
    kept = _keep_extract(proof, extract, "Fichier d'extraction joint au message de l'exploitant")
    proof.check("L'extraction demandée parvient au demandeur", expected=f"un fichier joint, envoyé à {requester['email']}",
                observed=f"« {extract.message.subject} » avec {extract.filename} ({len(extract.data)} octets)",
                passed=True, evidence=[mail, kept])
    return extract


@step(2, "Contenu de l'extraction : identités, permissions, tous les comptes")
async def controler_contenu(proof: Proof, extract: Extract | None):
    if extract is None:
        proof.check("L'extraction porte les identités et les permissions", expected="un fichier à examiner",
                    observed="aucune extraction obtenue à l'étape 1", passed=False)
        return None
    review = capability(proof, "account_review")
    df = review.to_frame(extract)
    evidence = [i for i in proof.recorder.items if i.kind == "attachment"][-1:]
    _show_table(proof, f"Aperçu de l'extraction chargée avec pandas ({len(df)} comptes, 8 premiers)",
                ar.table_html(df.drop(columns=[c for c in ("email", "profession") if c in df]), max_rows=8),
                "Colonnes reconnues : " + ", ".join(df.columns))
    ident = [c for c in ar.IDENTITY_COLUMNS if c in df]
    perms = [c for c in ar.PERMISSION_COLUMNS if c in df]
    proof.check("L'extraction porte les données d'identité des comptes",
                expected="identifiant, nom, prénom, messagerie, RPPS",
                observed=("colonnes présentes : " + ", ".join(ident)) if ident else "aucune",
                passed=len(ident) == len(ar.IDENTITY_COLUMNS), evidence=evidence)
    proof.check("L'extraction porte les permissions de chaque compte",
                expected="rôles détenus et droits privilégiés",
                observed=("colonnes présentes : " + ", ".join(perms)) if perms else "aucune colonne de rôles ou de droits",
                passed=len(perms) == len(ar.PERMISSION_COLUMNS), evidence=evidence)
    count = await review.account_count()
    shot = await proof.screenshot(count, "Nombre de comptes annoncé par le système")
    proof.check("L'extraction couvre tous les comptes de la base",
                expected=f"{count.count} comptes (nombre annoncé par le système)" if count.count is not None
                else "le nombre de comptes annoncé par le système",
                observed=f"{len(df)} comptes dans l'extraction", passed=count.count == len(df), evidence=[shot] + evidence)
    return df


@step(3, "Revue des comptes construite à partir de l'extraction")
async def revue_des_comptes(proof: Proof, df) -> None:
    if df is None:
        proof.check("La revue des comptes peut être construite", expected="une extraction exploitable",
                    observed="aucune extraction", passed=False)
        return
    days = int(proof.data.get("inactive_days", 90))
    r = ar.build(df, inactive_days=days)
    _show_table(proof, f"Comptes détenant un droit privilégié ({'—' if r.privileged is None else len(r.privileged)})",
                ar.table_html(r.privileged))
    _show_table(proof, f"Comptes actifs sans connexion depuis plus de {days} jours "
                       f"({'—' if r.inactive is None else len(r.inactive)})", ar.table_html(r.inactive))
    _show_table(proof, f"Comptes sans n° RPPS ({'—' if r.without_rpps is None else len(r.without_rpps)})",
                ar.table_html(r.without_rpps), "À rapprocher de la profession : seules les professions couvertes "
                "par le RPPS doivent en avoir un.")
    _show_table(proof, "Matrice rôles × comptes", ar.table_html(r.matrix, max_rows=60),
                f"{r.without_role} compte(s) sans aucun rôle ne figurent pas dans la matrice."
                if r.without_role else "")
    png = ar.chart_png(r, df)
    chart = proof.recorder.attach(png, "Graphique de la revue des comptes", name="graphique-revue.png")
    proof.recorder.show(f'<div class="segur-card"><h4>Graphique de la revue</h4><img class="shot" '
                        f'src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="graphique"></div>')
    book = io.BytesIO()
    import pandas as pd

    with pd.ExcelWriter(book, engine="openpyxl") as xw:
        pd.DataFrame([r.summary()]).T.rename(columns={0: "valeur"}).to_excel(xw, sheet_name="synthese")
        for name, part in (("privilegies", r.privileged), ("inactifs", r.inactive), ("sans_rpps", r.without_rpps),
                           ("matrice", r.matrix)):
            if part is not None:
                out = part.copy()
                for col in out.columns:
                    if col == "roles":
                        out[col] = out[col].map(", ".join)
                    elif str(out[col].dtype).startswith("datetime"):
                        out[col] = out[col].dt.tz_localize(None)
                out.to_excel(xw, sheet_name=name)
    workbook = proof.recorder.attach(book.getvalue(), "Revue des comptes (classeur pour le responsable sécurité)",
                                     name="revue-des-comptes.xlsx")
    proof.recorder.observation(r.summary(), "Synthèse chiffrée de la revue")
    possible = r.privileged is not None and r.matrix is not None
    proof.check("L'extraction permet d'identifier les comptes à privilèges et la matrice des rôles",
                expected="comptes privilégiés et matrice rôles × comptes établis",
                observed=(f"{len(r.privileged)} compte(s) privilégié(s), {len(r.roles)} rôle(s) dans la matrice"
                          if possible else "impossible : l'extraction ne dit pas quels rôles détient chaque compte"),
                passed=possible, evidence=[chart, workbook])


@step(4, "Procédure décrite dans la documentation utilisateur")
async def documentation(proof: Proof, how: str) -> None:
    view = await capability(proof, "account_review").documentation(how)
    shot = await proof.screenshot(view, "Page de la documentation utilisateur décrivant la procédure",
                                  names=view.observed)
    proof.check("La documentation utilisateur décrit la procédure d'extraction",
                expected="un passage de la documentation qui décrit la procédure",
                observed=(view.observed[:220] + ("…" if len(view.observed) > 220 else "")) or "aucun passage trouvé",
                passed=bool(view.observed), evidence=[shot])

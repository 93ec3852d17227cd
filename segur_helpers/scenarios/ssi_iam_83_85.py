"""SSI/IAM.83 (identities) and SSI/IAM.85 (permissions) — the product synchronises its local account base
from the hospital's directory, regularly or on demand.

The notebook plays the hospital's directory team: over LDAPS (certificate recorded) it reads a test
professional's entry, shows that the product's account matches it, changes the entry (IAM.83: name and
e-mail) or its group memberships (IAM.85: one group left, one joined), lets the product synchronise
(scheduled run or "synchronise now") and shows the product's account with the new identity or roles.
Every LDAP operation is kept as evidence.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from .. import fr
from ..drivers.directory import LdapDirectory, LdapOperation
from ..drivers.directory_sync import SyncView
from ..evidence import esc
from ..proof import Proof, step
from ._identity_common import capability

# directory attribute → field of the product's account screen (drivers/directory_sync.AccessView.identity)
IDENTITY_MAP = {"sn": "nom", "givenName": "prenom", "mail": "email", "title": "profession", "employeeNumber": "rpps"}


@dataclass
class Case:
    directory: LdapDirectory
    kind: str                      # identity | permissions
    uid: str
    dn: str
    entry: dict
    groups: dict = field(default_factory=dict)     # keep / remove / add → {group, role}
    changes: dict = field(default_factory=dict)    # attribute → new value
    before: SyncView | None = None


def _record(proof: Proof, case_or_dir, op: LdapOperation, caption: str):
    directory = case_or_dir.directory if isinstance(case_or_dir, Case) else case_or_dir
    request = {"protocole": f"LDAP v3 sur TLS — {directory.url}", "lié en tant que": directory.bind_dn,
               "opération": op.operation, "dn": op.dn, **op.request}
    response = {"code": op.code, "résultat": "succès" if op.code == 0 else op.result}
    if op.response is not None:
        response["réponse"] = op.response
    item = proof.recorder.exchange(request, response, caption)
    if not op.ok:
        raise RuntimeError(f"l'annuaire a refusé l'opération {op.operation} sur {op.dn} : {op.result} ({op.code})")
    return item


async def _ldap(fn, *args):
    return await asyncio.to_thread(fn, *args)


def _show_certificate(proof: Proof, cert) -> None:
    rows = [("Sujet", cert.subject), ("Émetteur", cert.issuer), ("Noms alternatifs", ", ".join(cert.san)),
            ("Validité", f"du {fr.when(cert.not_before)} au {fr.when(cert.not_after)}"), ("N° de série", cert.serial),
            ("Empreinte SHA-256", cert.sha256), ("Protocole / chiffrement", f"{cert.protocol} / {cert.cipher}"),
            ("Validation", "chaîne de confiance et nom d'hôte validés avec l'AC déclarée dans les paramètres"
             if cert.verified else f"ÉCHEC : {cert.verify_error}")]
    body = "".join(f"<tr><th style='width:26%'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    proof.recorder.show(f'<div class="segur-card"><h4>Certificat TLS présenté par l\'annuaire</h4>'
                        f'<table>{body}</table></div>')


@step(1, "Annuaire de l'établissement : connexion LDAPS, certificat et entrée du professionnel de test")
async def connexion_annuaire(proof: Proof, kind: str) -> Case:
    data = proof.data
    directory = LdapDirectory(data["directory"], secrets=proof.secrets, resolve_path=proof.campaign.resolve_path)
    cert = await _ldap(directory.tls_certificate)
    _show_certificate(proof, cert)
    proof.recorder.attach(cert.pem.encode(), "Certificat TLS présenté par l'annuaire (PEM)", name="certificat-annuaire.pem")
    proof.recorder.observation(cert.to_dict(), "Relevé du certificat TLS de l'annuaire")
    if not cert.verified:
        raise RuntimeError(f"le certificat de l'annuaire n'est pas validé par l'AC déclarée : {cert.verify_error}")
    uid = str(data["person"]["uid"])
    entry, op = await _ldap(directory.find_person, uid)
    _record(proof, directory, op, f"Lecture de l'entrée {uid} dans l'annuaire")
    if entry is None:
        raise RuntimeError(f"aucune entrée {uid} dans {directory.people_base}")
    case = Case(directory=directory, kind=kind, uid=uid, dn=entry["dn"], entry=entry,
                groups=data.get("groups", {}), changes=data["person"].get("changes", {}))
    if kind == "permissions":
        # known starting point: member of "keep" and "remove", not of "add"
        current, op = await _ldap(directory.groups_of, case.dn)
        _record(proof, directory, op, f"Groupes du compte {uid} avant le scénario")
        for name, member in (("keep", True), ("remove", True), ("add", False)):
            group = case.groups[name]["group"]
            if (group in current) != member:
                op = await _ldap(directory.set_member, group, case.dn, member)
                _record(proof, directory, op, f"Mise en état initiale : {uid} {'ajouté à' if member else 'retiré de'} {group}")
    return case


@step(2, "État initial : le compte du produit reflète l'annuaire")
async def etat_initial(proof: Proof, case: Case | None) -> None:
    sync = capability(proof, "directory_sync")
    first = await sync.trigger()
    if not first.succeeded:
        proof.recorder.observation({"synchronisation": first.observed}, "Synchronisation initiale")
    view = await sync.account(case.uid)
    if case.kind == "identity":
        shot = await proof.screenshot(view, f"Compte {case.uid} dans le produit avant la modification de l'annuaire")
        expected = {IDENTITY_MAP[a]: str(case.entry.get(a, "")) for a in ("sn", "givenName", "mail")}
        seen = {k: view.identity.get(k, "") for k in expected}
        proof.check("Avant la modification, le compte du produit porte l'identité de l'annuaire",
                    expected=", ".join(f"{k} = {v}" for k, v in expected.items()),
                    observed=", ".join(f"{k} = {v}" for k, v in seen.items()) if view.found else view.observed,
                    passed=view.found and seen == expected, evidence=[shot])
    else:
        view.highlight = view.roles_highlight or view.highlight
        shot = await proof.screenshot(view, f"Rôles du compte {case.uid} dans le produit avant la modification")
        want = {case.groups["keep"]["role"], case.groups["remove"]["role"]}
        absent = case.groups["add"]["role"]
        proof.check("Avant la modification, les rôles du compte reflètent les groupes de l'annuaire",
                    expected=f"rôles {', '.join(sorted(want))} présents, {absent} absent",
                    observed=f"rôles : {', '.join(view.roles) or 'aucun'}" if view.found else view.observed,
                    passed=view.found and want <= set(view.roles) and absent not in view.roles, evidence=[shot])
    case.before = await sync.status()


@step(3, "Modification de l'annuaire par l'équipe de l'établissement")
async def modifier_annuaire(proof: Proof, case: Case | None) -> None:
    d = case.directory
    if case.kind == "identity":
        op = await _ldap(d.replace, case.dn, case.changes)
        _record(proof, case, op, f"Modification de l'entrée {case.uid} : " + ", ".join(case.changes))
        entry, op = await _ldap(d.find_person, case.uid)
        _record(proof, case, op, f"Relecture de l'entrée {case.uid} après modification")
        proof.recorder.observation({"avant": {a: case.entry.get(a) for a in case.changes},
                                    "après": {a: entry.get(a) for a in case.changes}},
                                   "Attributs modifiés dans l'annuaire")
    else:
        remove, add = case.groups["remove"]["group"], case.groups["add"]["group"]
        op = await _ldap(d.set_member, remove, case.dn, False)
        _record(proof, case, op, f"Retrait du compte {case.uid} du groupe {remove}")
        op = await _ldap(d.set_member, add, case.dn, True)
        _record(proof, case, op, f"Ajout du compte {case.uid} au groupe {add}")
        groups, op = await _ldap(d.groups_of, case.dn)
        _record(proof, case, op, f"Groupes du compte {case.uid} après modification")


@step(4, "Synchronisation du produit avec l'annuaire")
async def synchroniser(proof: Proof, case: Case | None) -> None:
    sync = capability(proof, "directory_sync")
    conf = proof.data.get("sync") or {}
    mode = conf.get("mode", "trigger")
    if mode == "wait":
        wait_s = float(conf.get("wait_s", 120))
        view = await sync.wait_for_sync(case.before, wait_s)
        if view is None:
            view = await sync.status()
            shot = await proof.screenshot(view, "Écran de synchronisation du produit à la fin de l'attente")
            proof.check("Une synchronisation programmée s'exécute après la modification, sans erreur",
                        expected=f"une synchronisation périodique dans les {wait_s:.0f} s",
                        observed=f"aucune en {wait_s:.0f} s ; dernière : {view.observed}", passed=False, evidence=[shot])
            return
        label, caption = "Une synchronisation programmée s'exécute après la modification, sans erreur", \
            "Synchronisation programmée observée après la modification"
    else:
        view = await sync.trigger()
        label, caption = "Une synchronisation déclenchée par l'administrateur s'exécute sans erreur", \
            "Synchronisation déclenchée par l'administrateur après la modification"
    shot = await proof.screenshot(view, caption)
    proof.check(label, expected="une synchronisation postérieure à la modification, réussie",
                observed=f"synchronisation {view.observed}",
                passed=view.succeeded and (view.sync_id or 0) > (case.before.sync_id or 0), evidence=[shot])


@step(5, "Compte du produit après la synchronisation")
async def compte_apres_synchronisation(proof: Proof, case: Case | None) -> None:
    view = await capability(proof, "directory_sync").account(case.uid)
    if case.kind == "identity":
        shot = await proof.screenshot(view, f"Compte {case.uid} dans le produit après la synchronisation")
        for attr, value in case.changes.items():
            fld = IDENTITY_MAP.get(attr, attr)
            seen = view.identity.get(fld, "")
            proof.check(f"Le compte du produit porte la nouvelle valeur de « {fld} »", expected=str(value),
                        observed=seen or view.observed, passed=view.found and seen == str(value), evidence=[shot])
        return
    view.highlight = view.roles_highlight or view.highlight
    shot = await proof.screenshot(view, f"Rôles du compte {case.uid} dans le produit après la synchronisation")
    roles = set(view.roles)
    added, removed, kept = (case.groups[k]["role"] for k in ("add", "remove", "keep"))
    shown = f"rôles : {', '.join(view.roles) or 'aucun'}"
    proof.check(f"Le rôle {added} (groupe {case.groups['add']['group']} rejoint) est attribué",
                expected=f"{added} présent", observed=shown, passed=added in roles, evidence=[shot])
    proof.check(f"Le rôle {removed} (groupe {case.groups['remove']['group']} quitté) est retiré",
                expected=f"{removed} absent", observed=shown, passed=view.found and removed not in roles, evidence=[shot])
    proof.check(f"Le rôle {kept} (groupe inchangé) est conservé", expected=f"{kept} présent", observed=shown,
                passed=kept in roles, evidence=[shot])


async def fermer(proof: Proof, case: Case | None) -> None:
    """Unbind from the directory (not a step: nothing to prove)."""
    if case is not None:
        await _ldap(case.directory.close)

"""An account's identity and permissions screen (used by SSI/IAM.83, 85 and 80).

``/accounts/<id>/access`` shows what the DPI holds about a professional: identity data, where the
account comes from (local, directory) and the roles it holds, privileged ones marked;
``/accounts/by-login/<login>`` leads there from a login.
"""
from __future__ import annotations

from flask import abort, redirect, url_for

from . import iam

ACCESS = """<h1>Identité et habilitations — compte n° {{ a.id }}</h1>
<dl id="identity">
 <dt>Identifiant de connexion</dt><dd data-testid="login">{{ p.login if p else '—' }}</dd>
 <dt>Nom</dt><dd data-testid="nom">{{ a.nom }}</dd><dt>Prénom</dt><dd data-testid="prenom">{{ a.prenom }}</dd>
 <dt>Adresse de messagerie</dt><dd data-testid="email">{{ a.email }}</dd>
 <dt>Profession</dt><dd data-testid="profession">{{ a.profession }}</dd>
 <dt>N° RPPS</dt><dd data-testid="rpps">{{ a.rpps or '—' }}</dd>
 <dt>Origine du compte</dt><dd data-testid="source">{% if p and p.source == 'ldap' %}annuaire de l'établissement ({{ p.directory_dn }}){% else %}base locale{% endif %}</dd>
 <dt>Statut</dt><dd data-testid="active">{{ 'actif' if not p or p.active else 'désactivé' }}</dd>
 <dt>Dernière synchronisation</dt><dd data-testid="synced-at">{{ p.synced_at if p and p.synced_at else '—' }}</dd>
 <dt>Dernière connexion</dt><dd data-testid="last-login">{{ p.last_login_at if p and p.last_login_at else 'jamais' }}</dd>
</dl>
<h2 style="font-size:17px;margin-top:18px">Rôles détenus</h2>
<table id="roles"><thead><tr><th>Code</th><th>Rôle</th><th>Droit privilégié</th><th>Origine</th><th>Attribué le</th></tr></thead>
<tbody>{% for r in roles %}<tr data-role="{{ r.code }}"><td>{{ r.code }}</td><td>{{ r.label }}</td><td>{{ 'oui' if r.privileged else 'non' }}</td>
<td>{{ 'annuaire' if r.source == 'ldap' else 'local' }}</td><td>{{ r.granted_at }}</td></tr>
{% else %}<tr><td colspan="5">Aucun rôle.</td></tr>{% endfor %}</tbody></table>"""


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        iam.init(c)

    @app.get("/accounts/<int:account_id>/access", endpoint="account_access")
    @ctx.admin_required
    def account_access(account_id: int):
        c = ctx.conn()
        a = c.execute("SELECT * FROM accounts WHERE id=?", (account_id,)).fetchone()
        if a is None:
            abort(404)
        p = c.execute("SELECT * FROM account_profile WHERE account_id=?", (account_id,)).fetchone()
        roles = c.execute("SELECT ro.code, ro.label, ro.privileged, ar.source, ar.granted_at FROM account_roles ar "
                          "JOIN roles ro ON ro.code=ar.role_code WHERE ar.account_id=? ORDER BY ro.code",
                          (account_id,)).fetchall()
        return ctx.page("Identité et habilitations", ACCESS, a=a, p=p, roles=roles)

    @app.get("/accounts/by-login/<login>", endpoint="account_by_login")
    @ctx.admin_required
    def account_by_login(login: str):
        row = ctx.conn().execute("SELECT account_id FROM account_profile WHERE login=?", (login,)).fetchone()
        if row is None:
            abort(404)
        return redirect(url_for("account_access", account_id=row["account_id"]))

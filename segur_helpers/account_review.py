"""The review a security officer builds from an account extract (pandas + a matplotlib chart).

Input: a DataFrame with the standard columns of :data:`segur_helpers.drivers.account_review.STANDARD_COLUMNS`
(missing ones are tolerated and reported). Output: the privileged accounts, the active accounts not
used for ``inactive_days`` days, the accounts without RPPS, the role × account matrix, and a chart.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone

IDENTITY_COLUMNS = ("identifiant", "nom", "prenom", "email", "rpps")
PERMISSION_COLUMNS = ("roles", "privilegie")


@dataclass
class Review:
    accounts: int
    missing: list[str]
    privileged: "object | None" = None      # DataFrame or None when the extract carries no permissions
    inactive: "object | None" = None
    without_rpps: "object | None" = None
    matrix: "object | None" = None
    without_role: int | None = None           # None when the extract carries no roles
    roles: list[str] = field(default_factory=list)
    inactive_days: int = 90

    def summary(self) -> dict:
        size = lambda df: None if df is None else int(len(df))  # noqa: E731
        return {"comptes": self.accounts, "colonnes_absentes": self.missing,
                "comptes_privilegies": size(self.privileged), f"inactifs_depuis_{self.inactive_days}_jours":
                size(self.inactive), "sans_rpps": size(self.without_rpps), "sans_role": self.without_role,
                "roles": self.roles}


def build(df, *, inactive_days: int = 90, now: datetime | None = None) -> Review:
    import pandas as pd

    now = now or datetime.now(timezone.utc)
    missing = [c for c in IDENTITY_COLUMNS + PERMISSION_COLUMNS + ("derniere_connexion", "actif") if c not in df]
    r = Review(accounts=int(len(df)), missing=missing, inactive_days=inactive_days)
    ident = [c for c in ("identifiant", "nom", "prenom", "profession") if c in df]
    if "roles" in df:
        exploded = df[["identifiant", "roles"]].explode("roles").dropna(subset=["roles"])
        r.roles = sorted(exploded["roles"].unique().tolist())
        r.without_role = int(df["roles"].map(len).eq(0).sum())
        if len(exploded):
            m = pd.crosstab(exploded["identifiant"], exploded["roles"]).astype(bool)
            r.matrix = m.replace({True: "✓", False: ""}).reset_index().rename_axis(columns=None)
    if "privilegie" in df:
        cols = ident + [c for c in ("roles", "derniere_connexion") if c in df]
        r.privileged = df.loc[df["privilegie"], cols].copy()
    if "derniere_connexion" in df:
        active = df["actif"] if "actif" in df else pd.Series(True, index=df.index)
        limit = pd.Timestamp(now) - pd.Timedelta(days=inactive_days)
        stale = active & (df["derniere_connexion"].isna() | (df["derniere_connexion"] < limit))
        cols = ident + [c for c in ("roles", "derniere_connexion") if c in df]
        r.inactive = df.loc[stale, cols].copy()
    if "rpps" in df:
        cols = ident + [c for c in ("roles",) if c in df]
        r.without_rpps = df.loc[df["rpps"].fillna("").str.strip().eq(""), cols].copy()
    return r


def chart_png(review: Review, df) -> bytes:
    """Accounts per role (privileged roles in red) and the review's findings, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110, gridspec_kw={"width_ratios": [1.4, 1]})
    if "roles" in df and review.roles:
        counts = df["roles"].explode().dropna().value_counts().reindex(review.roles, fill_value=0)
        priv_roles = set()
        if "privilegie" in df:
            # a role is shown as privileged when every holder of it is flagged privileged
            for role in review.roles:
                holders = df[df["roles"].map(lambda rs, role=role: role in rs)]
                if len(holders) and holders["privilegie"].all():
                    priv_roles.add(role)
        colors = ["#b3261e" if r in priv_roles else "#0b4f8a" for r in counts.index]
        ax1.barh(counts.index, counts.values, color=colors)
        ax1.invert_yaxis()
        ax1.set_title("Comptes par rôle (rouge : rôle privilégié)", fontsize=9)
    else:
        ax1.text(0.5, 0.5, "aucun rôle dans l'extraction", ha="center", va="center", fontsize=10, color="#b3261e")
        ax1.set_axis_off()
    labels, values = [], []
    for label, part in ((f"inactifs > {review.inactive_days} j", review.inactive), ("privilégiés", review.privileged),
                        ("sans RPPS", review.without_rpps), ("sans rôle", review.without_role)):
        labels.append(label)
        values.append(None if part is None else (part if isinstance(part, int) else len(part)))
    ax2.bar(labels, [v or 0 for v in values], color=["#b36b00", "#b3261e", "#5a6b7b", "#8a9aab"])
    ax2.set_title(f"Constats de la revue ({review.accounts} comptes)", fontsize=9)
    for i, v in enumerate(values):
        ax2.text(i, v or 0, "n. d." if v is None else str(v), ha="center", va="bottom", fontsize=8)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def table_html(df, max_rows: int = 40) -> str:
    """A DataFrame as a compact HTML table for an evidence card (dates as dd/mm/yyyy, lists joined)."""
    if df is None:
        return "<p><i>non disponible : l'extraction ne porte pas les colonnes nécessaires</i></p>"
    if not len(df):
        return "<p>aucun compte</p>"
    shown = df.head(max_rows).copy()
    for col in shown.columns:
        if col == "roles":
            shown[col] = shown[col].map(lambda rs: ", ".join(rs))
        elif str(shown[col].dtype) == "bool":
            shown[col] = shown[col].map({True: "oui", False: "non"})
        elif str(shown[col].dtype).startswith("datetime"):
            shown[col] = shown[col].map(lambda d: d.strftime("%d/%m/%Y") if d == d and d is not None else "jamais")
    html = shown.to_html(index=False, border=0, escape=True, na_rep="—", classes="segur-review")
    # words stay whole in these narrow columns (the cards' default breaks anywhere, for long hashes)
    html = "<style>table.segur-review td, table.segur-review th { overflow-wrap: normal; }</style>" + html
    more = f"<p>… et {len(df) - max_rows} autre(s)</p>" if len(df) > max_rows else ""
    return html + more

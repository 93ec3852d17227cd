"""STAT/ES 01.01 — DMP usage rates over external consultations, recomputed from the raw data.

Three rates, each over all external consultations of the period: (1) consultations during which at
least one document was integrated from the DMP; (2) consultations with the patient's information and
consent recorded; (3) consultations with the patient's information and refusal recorded. The proof
reads what the target reports, extracts the raw consultations, recomputes the rates with pandas (per
month and for the period), draws them per month, and fails on any difference.
"""
from __future__ import annotations

import base64
import io
from typing import Any

from ..drivers.statistics import EXTRACT_COLUMNS
from ..evidence import esc
from ..proof import Proof, step

RATES = (("k1", "Taux 1 — document intégré depuis le DMP"), ("k2", "Taux 2 — consentement tracé"),
         ("k3", "Taux 3 — refus tracé"))


def _period(proof: Proof) -> tuple[str, str]:
    p = proof.data["period"]
    return str(p["from"]), str(p["to"])


def recompute(csv_bytes: bytes):
    """The raw extract → per-month and whole-period counts (pandas DataFrame indexed by month + 'total')."""
    import pandas as pd

    df = pd.read_csv(io.BytesIO(csv_bytes), dtype={"consentement": str})
    missing = [c for c in EXTRACT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError("colonnes absentes de l'extraction : " + ", ".join(missing))
    df["mois"] = df["date"].astype(str).str[:7]
    df["k1"] = (df["documents_dmp_integres"] > 0).astype(int)
    informed = df["information"].astype(int) == 1
    df["k2"] = (informed & (df["consentement"] == "accord")).astype(int)
    df["k3"] = (informed & (df["consentement"] == "opposition")).astype(int)
    monthly = df.groupby("mois").agg(n=("consultation_id", "count"), k1=("k1", "sum"), k2=("k2", "sum"),
                                     k3=("k3", "sum"))
    total = pd.DataFrame([{"n": len(df), "k1": int(df["k1"].sum()), "k2": int(df["k2"].sum()),
                           "k3": int(df["k3"].sum())}], index=["total"])
    out = pd.concat([monthly, total]).astype(int)
    for k, _label in RATES:
        out["taux_" + k[1]] = (100 * out[k] / out["n"]).round(1)
    return df, out


def chart_png(table) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    months = table.drop(index="total")
    fig, ax = plt.subplots(figsize=(8.2, 3.6), dpi=110)
    width = 0.27
    xs = range(len(months))
    for i, (k, label) in enumerate(RATES):
        ax.bar([x + (i - 1) * width for x in xs], months["taux_" + k[1]], width, label=label)
    ax.set_xticks(list(xs), list(months.index))
    ax.set_ylabel("% des consultations externes")
    ax.set_ylim(0, 100)
    ax.set_title("Usage du DMP par mois (recalcul à partir des consultations externes extraites)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@step(1, "Statistiques d'usage du DMP affichées par le système pour la période")
async def statistiques_du_systeme(proof: Proof) -> dict[str, dict[str, int]]:
    start, end = _period(proof)
    view = await proof.driver.statistics.dmp_usage(start, end)
    shot = await proof.screenshot(view, f"Statistiques d'usage du DMP du {start} au {end}")
    proof.recorder.observation({"periode": [start, end], "lignes": view.rows}, "Valeurs lues dans le tableau du système")
    proof.check("Le système publie les trois taux sur les consultations externes de la période",
                expected="un tableau avec le total de la période", observed=view.observed,
                passed="total" in view.rows and view.rows["total"]["n"] > 0, evidence=[shot])
    return view.rows


@step(2, "Extraction des consultations externes brutes de la période")
async def extraction(proof: Proof) -> bytes:
    start, end = _period(proof)
    raw = await proof.driver.statistics.external_consultations(start, end)
    item = proof.recorder.attach(raw, f"Consultations externes du {start} au {end} (extraction brute)",
                                 name="consultations-externes.csv")
    header = raw.decode("utf-8", errors="replace").splitlines()[:1]
    proof.check("L'extraction contient les colonnes nécessaires au recalcul", expected=", ".join(EXTRACT_COLUMNS),
                observed=header[0] if header else "fichier vide",
                passed=bool(header) and all(c in header[0].split(",") for c in EXTRACT_COLUMNS), evidence=[item])
    return raw


@step(3, "Recalcul des trois taux avec pandas, par mois et sur la période")
async def recalcul(proof: Proof, raw: bytes | None):
    if not raw:
        return None
    df, table = recompute(raw)
    start, end = _period(proof)
    outside = df[(df["date"].astype(str) < start) | (df["date"].astype(str) > end)]
    csv_item = proof.recorder.attach(table.to_csv(index_label="mois").encode(), "Taux recalculés (pandas)",
                                     name="taux-recalcules.csv")
    png = chart_png(table)
    chart = proof.recorder.attach(png, "Graphique mensuel des trois taux recalculés", name="taux-par-mois.png")
    b64 = base64.b64encode(png).decode()
    rows = "".join(f"<tr><td>{esc('Total période' if m == 'total' else m)}</td><td>{int(r['n'])}</td>" + "".join(
        f"<td>{int(r[k])} ({r['taux_' + k[1]]:.1f} %)</td>".replace(".", ",") for k, _l in RATES) + "</tr>"
        for m, r in table.iterrows())
    proof.recorder.show(
        '<div class="segur-card"><h4>Recalcul (pandas) à partir de l\'extraction</h4><table><tr><th>Mois</th>'
        '<th>Consultations externes</th>' + "".join(f"<th>{esc(l)}</th>" for _k, l in RATES) + f"</tr>{rows}</table>"
        f'<img class="shot" src="data:image/png;base64,{b64}" alt="graphique mensuel">'
        f'<div class="hash">{esc(chart.name)} · SHA-256 {chart.sha256}</div></div>')
    proof.check("Toutes les consultations extraites sont dans la période demandée", expected=f"du {start} au {end}",
                observed=f"{len(outside)} hors période sur {len(df)}", passed=outside.empty, evidence=[csv_item])
    return table


@step(4, "Comparaison des taux recalculés avec ceux du système")
async def comparaison(proof: Proof, reported: dict[str, dict[str, int]] | None, table) -> None:
    if not reported or table is None:
        proof.check("Les taux du système égalent les taux recalculés", expected="égalité",
                    observed="comparaison impossible (étapes 1 à 3)", passed=False)
        return
    ours: dict[str, dict[str, Any]] = {m: {k: int(r[k]) for k in ("n", "k1", "k2", "k3")} for m, r in table.iterrows()}
    diffs = []
    for month in sorted(set(ours) | set(reported)):
        a, b = ours.get(month), reported.get(month)
        if a != b:
            diffs.append(f"{month} : système {b or 'absent'} / recalcul {a or 'absent'}")
    item = proof.recorder.observation({"systeme": reported, "recalcul": ours, "ecarts": diffs},
                                      "Comparaison mois par mois")
    t_sys, t_ours = reported.get("total", {}), ours["total"]
    proof.check("Le nombre de consultations externes de la période est le même",
                expected=f"{t_ours['n']} (recalcul)", observed=f"{t_sys.get('n', 'absent')} (système)",
                passed=t_sys.get("n") == t_ours["n"], evidence=[item])
    for k, label in RATES:
        n_sys, n_ours = t_sys.get("n") or 0, t_ours["n"]
        pct = lambda x, n: f"{100 * x / n:.1f} %".replace(".", ",") if n else "—"  # noqa: E731
        proof.check(f"{label} : valeur du système = valeur recalculée",
                    expected=f"{t_ours[k]} / {n_ours} ({pct(t_ours[k], n_ours)})",
                    observed=f"{t_sys.get(k, 'absent')} / {n_sys} ({pct(t_sys.get(k, 0), n_sys)})",
                    passed=t_sys.get(k) == t_ours[k] and n_sys == n_ours, evidence=[item])
    proof.check("Aucun écart mois par mois", expected="0 écart",
                observed="0 écart" if not diffs else f"{len(diffs)} écart(s) : " + " ; ".join(diffs[:4]),
                passed=not diffs, evidence=[item])

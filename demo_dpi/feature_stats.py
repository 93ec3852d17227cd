"""DMP usage statistics of demo_dpi (STAT/ES 01.01): three rates over the external consultations.

Rate 1: consultations during which a document was integrated from the DMP; rate 2: consultations with
the patient's information and non-opposition recorded; rate 3: with information and opposition
recorded. Shown per month and for the period (``/stats/dmp``), with the raw consultations as CSV.
A fictitious history (test patients only) is seeded so the rates have something to count.

Defect ``STAT/ES 01.01``: the screen counts every episode, hospitalisations included.
"""
from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta

from flask import Response, abort, request

AREA = "Statistiques"

STATS = """<h1>Statistiques d'usage du DMP — consultations externes</h1>
<form method="get" action="{{ url_for('dmp_stats') }}">Du <input type="date" name="from" id="from" value="{{ start }}"> au <input type="date" name="to" id="to" value="{{ end }}"> <button type="submit" id="compute">Calculer</button>
<a href="{{ url_for('dmp_stats_csv', **{'from': start, 'to': end}) }}" id="export-csv">Exporter les consultations (CSV)</a></form>
<p>Période du {{ start }} au {{ end }}. Taux 1 : consultations externes avec au moins un document intégré depuis le DMP ;
taux 2 : consultations externes avec consentement (non-opposition) tracé ; taux 3 : consultations externes avec refus (opposition) tracé. Dénominateur : toutes les consultations externes.</p>
<table id="dmp-stats"><thead><tr><th>Mois</th><th>Consultations externes</th><th>Taux 1 — document DMP intégré</th><th>Taux 2 — consentement</th><th>Taux 3 — refus</th></tr></thead><tbody>
{% for r in rows %}<tr data-month="{{ r.month }}" {% if r.month == 'total' %}style="font-weight:bold"{% endif %}><td>{{ 'Total période' if r.month == 'total' else r.month }}</td><td class="n">{{ r.n }}</td>
<td class="r1">{{ r.k1 }} / {{ r.n }} ({{ r.p1 }})</td><td class="r2">{{ r.k2 }} / {{ r.n }} ({{ r.p2 }})</td><td class="r3">{{ r.k3 }} / {{ r.n }} ({{ r.p3 }})</td></tr>{% endfor %}
</tbody></table>"""


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f} %".replace(".", ",") if n else "—"


def seed_history(c) -> None:
    """A fictitious history (test patients only) for the usage statistics: external consultations
    and hospitalisations from December 2025 to July 2026, with their consent records and DMP documents."""
    if c.execute("SELECT count(*) FROM episodes WHERE professional='Dr HISTORIQUE (10100000000)'").fetchone()[0]:
        return
    rnd = random.Random(601)
    ids = []
    for i in range(8):
        cur = c.execute("INSERT OR IGNORE INTO patients(nom, prenom, naissance, sexe, ins, ins_oid) VALUES (?,?,?,?,?,?)",
                        (f"HISTOSEGUR{i + 1}", ["Alix", "Basile", "Céleste", "Dorian", "Elise", "Fanny", "Gaspard",
                                                "Hugo"][i], f"19{60 + i * 4}-0{1 + i % 9}-1{i}", "FM"[i % 2],
                         f"2{60 + i * 4}0{1 + i % 9}75{i:03d}0{i}{i}", "1.2.250.1.213.1.4.10"))
        ids.append(cur.lastrowid or c.execute("SELECT id FROM patients WHERE nom=?", (f"HISTOSEGUR{i + 1}",)).fetchone()[0])
    day = date(2025, 12, 1)
    while day < date(2026, 8, 1):
        for _ in range(rnd.choice((0, 0, 1, 1, 2))):
            kind = "consultation" if rnd.random() < 0.75 else "hospitalisation"
            start = f"{day.isoformat()}T{rnd.randint(8, 17):02d}:{rnd.choice((0, 15, 30, 45)):02d}:00Z"
            end = (day + timedelta(days=0 if kind == "consultation" else rnd.randint(1, 6))).isoformat() + "T18:00:00Z"
            consent = rnd.choices(("accord", "opposition", ""), (6, 1, 3))[0]
            pid = rnd.choice(ids)
            cur = c.execute("INSERT INTO episodes(patient_id, kind, started_at, ended_at, professional, information, consent)"
                            " VALUES (?,?,?,?,?,?,?)", (pid, kind, start, end, "Dr HISTORIQUE (10100000000)",
                                                         1 if consent else rnd.randint(0, 1), consent))
            if consent == "accord" and rnd.random() < 0.5:
                for k in range(rnd.choice((1, 1, 2))):
                    c.execute("INSERT INTO documents(patient_id, episode_id, origin, unique_id, type_code, type_display,"
                              " title, author, doc_date, status, integrated_at, integrated_by)"
                              " VALUES (?,?,'DMP',?,?,?,?,?,?,'integre',?,?)",
                              (pid, cur.lastrowid, f"1.2.250.1.999.7.{cur.lastrowid}.{k}", "11490-0",
                               "Lettre de liaison", "Lettre de liaison (historique)", "Dr EXTERNE", start, start,
                               "Dr HISTORIQUE"))
        day += timedelta(days=1)


def register(app, ctx) -> None:
    from . import db

    with db.connect(ctx.settings.db_path) as c:
        seed_history(c)
    defects = ctx.settings.defects
    ctx.nav.append(("Statistiques DMP", "dmp_stats"))

    def stats_rows(start: str, end: str, *, every_episode: bool = False):
        kinds = ("consultation", "hospitalisation") if every_episode else ("consultation",)
        q = ("SELECT e.id, substr(e.started_at, 1, 10) AS day, e.information, e.consent,"
             " (SELECT count(*) FROM documents d WHERE d.episode_id=e.id AND d.origin='DMP') AS dmp_docs"
             f" FROM episodes e WHERE e.kind IN ({','.join('?' * len(kinds))})"
             " AND substr(e.started_at, 1, 10) BETWEEN ? AND ? ORDER BY e.started_at")
        return ctx.conn().execute(q, (*kinds, start, end)).fetchall()

    def period():
        start = request.args.get("from") or "2026-01-01"
        end = request.args.get("to") or "2026-06-30"
        try:
            date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            abort(400)
        return start, end

    @app.get("/stats/dmp")
    @ctx.admin_required
    def dmp_stats():
        start, end = period()
        rows = stats_rows(start, end, every_episode="STAT/ES 01.01" in defects)
        groups: dict[str, list] = {}
        for r in rows:
            groups.setdefault(r["day"][:7], []).append(r)
        out = []
        for month, rs in [*sorted(groups.items()), ("total", rows)]:
            n = len(rs)
            k1 = sum(1 for r in rs if r["dmp_docs"] > 0)
            k2 = sum(1 for r in rs if r["information"] and r["consent"] == "accord")
            k3 = sum(1 for r in rs if r["information"] and r["consent"] == "opposition")
            out.append({"month": month, "n": n, "k1": k1, "k2": k2, "k3": k3,
                        "p1": _pct(k1, n), "p2": _pct(k2, n), "p3": _pct(k3, n)})
        return ctx.page("Statistiques DMP", STATS, start=start, end=end, rows=out)

    @app.get("/stats/dmp/consultations.csv")
    @ctx.admin_required
    def dmp_stats_csv():
        start, end = period()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["consultation_id", "date", "information", "consentement", "documents_dmp_integres"])
        for r in stats_rows(start, end):
            w.writerow([r["id"], r["day"], r["information"], r["consent"] or "non_recueilli", r["dmp_docs"]])
        return Response(buf.getvalue(), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename=consultations-externes-{start}-{end}.csv"})

"""SSI/IAM.87 and SSI/IAM.94 end to end: extraction, pandas review, documentation; defects; condition unmet."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
import yaml

from identity_e2e import assert_no_secret, failed_labels, pdf_text, result, run_requirements
from segur_helpers import account_review as ar

REQS = ("SSI/IAM.87", "SSI/IAM.94")


def test_review_finds_privileged_inactive_and_without_rpps():
    now = datetime(2026, 11, 25, tzinfo=timezone.utc)
    df = pd.DataFrame({
        "identifiant": ["a", "b", "c", "d"], "nom": list("ABCD"), "prenom": list("abcd"),
        "email": [f"{x}@t.test" for x in "abcd"], "rpps": ["10100000001", "", "10100000002", ""],
        "actif": [True, True, True, False], "roles": [["ADMIN"], ["IDE"], [], ["MEDECIN"]],
        "privilegie": [True, False, False, False],
        "derniere_connexion": pd.to_datetime([now - timedelta(days=1), now - timedelta(days=100), None,
                                              now - timedelta(days=500)], utc=True)})
    r = ar.build(df, inactive_days=90, now=now)
    assert r.missing == []
    assert list(r.privileged["identifiant"]) == ["a"]
    assert list(r.inactive["identifiant"]) == ["b", "c"]          # d is disabled: not a finding
    assert list(r.without_rpps["identifiant"]) == ["b", "d"]
    assert r.without_role == 1 and r.roles == ["ADMIN", "IDE", "MEDECIN"]
    matrix = r.matrix.set_index("identifiant")
    assert matrix.loc["a", "ADMIN"] == "✓" and matrix.loc["b", "ADMIN"] == ""
    png = ar.chart_png(r, df)
    assert png.startswith(b"\x89PNG")
    no_perm = ar.build(df.drop(columns=["roles", "privilegie"]), now=now)
    assert no_perm.privileged is None and no_perm.matrix is None and "roles" in no_perm.missing


def test_extraction_compliant_defective_and_not_applicable(tmp_path, write_params, demo_stack, admin_password):
    stack = demo_stack()
    proc, run = run_requirements(tmp_path, write_params, stack, REQS)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    for req in REQS:
        res = result(run, req)
        assert res["verdict"] == "CONFORME", (req, failed_labels(res))
        names = [e["name"] for e in res["evidence"]]
        csv_name = next(n for n in names if n.endswith(".csv"))
        extract = pd.read_csv(run / res["scenario"].replace("/", "_") / "evidence" / csv_name, sep=";", dtype=str)
        assert {"roles", "droits_privilegies", "rpps"} <= set(extract.columns) and len(extract) >= 11
        assert any(n.endswith(".xlsx") for n in names) and any(n.endswith("graphique-revue.png") for n in names)
        text = pdf_text(run, req)
        assert "CONFORME" in text and "NON CONFORME" not in text
        for words in ("Comptes détenant un droit privilégié", "Matrice rôles × comptes", "GIRARDDEMO",
                      "sans connexion depuis plus de 90 jours"):
            assert words in text, words
    assert any(e["kind"] == "email" for e in result(run, "SSI/IAM.94")["evidence"])
    assert_no_secret(run, admin_password, proc.stdout, proc.stderr)

    bad = demo_stack(defects=list(REQS))
    proc, run = run_requirements(tmp_path, write_params, bad, REQS, name="defect.yaml")
    assert proc.returncode == 1, proc.stderr
    res87, res94 = result(run, "SSI/IAM.87"), result(run, "SSI/IAM.94")
    assert res87["verdict"] == res94["verdict"] == "NON CONFORME"
    assert "L'extraction porte les permissions de chaque compte" in failed_labels(res87)
    assert "L'extraction demandée parvient au demandeur" in failed_labels(res94)
    text = pdf_text(run, "SSI/IAM.87")
    assert "NON CONFORME" in text and "porte les permissions de chaque compte" in text

    # condition declared unmet: NON APPLICABLE, no notebook run
    params = yaml.safe_load(open(tmp_path / "campaign.yaml", encoding="utf-8"))
    today = date.today()
    for req in REQS:
        params["requirements"][req]["condition_met"] = False
        params["requirements"][req]["justification"] = {   # complete, as the justification documents need
            "explanation": "Les comptes du produit sont ceux de l'annuaire de l'établissement, lus à chaque connexion.",
            "reason": "Le produit ne tient pas de base de comptes propre : il n'y a rien à extraire.",
            "signatory": {"name": "Camille Testeur", "role": "RSSI"},
            "date": (today - timedelta(days=1)).isoformat(), "expires": (today + timedelta(days=365)).isoformat()}
    proc, run = run_requirements(tmp_path, write_params, stack, REQS, name="unmet.yaml",
                                 requirements=params["requirements"])
    assert proc.returncode == 0, proc.stderr
    assert {result(run, r)["verdict"] for r in REQS} == {"NON APPLICABLE"}

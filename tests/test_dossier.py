"""The whole dossier (issue 14): guided proofs in each capture mode, CONFORME and not, the dossier's views
(run, summary, coverage, bundle), and bad guided declarations refused before anything runs.

One dossier run is shared by the end-to-end assertions (module fixture): the demo dossier
(``params/demo-dossier.yaml``) against a demo stack on free ports, with REM HOP-DPI imported from
``../shared/rem/export_full.xlsx`` (skipped when absent), keeping one automated scenario (SSI/IE.31) and
adding one guided proof built to fail (a live capture whose element is absent, a negative decision, a
missing element), run with ``segur run --scope rem``.
"""
from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from openpyxl import load_workbook

from conftest import ADMIN_PASSWORD, ROOT, SHARED_REM, files_under, run_segur

REM_XLSX = SHARED_REM / "export_full.xlsx"
needs_rem = pytest.mark.skipif(not REM_XLSX.is_file(), reason="../shared/rem/export_full.xlsx absent")

NEGATIVE = {   # SSI/GEN.02, proved by a guided proof that cannot be CONFORME
    "scenario": "Preuve guidée vouée à l'échec (test)",
    "elements": {
        1: {"text": "Un élément que l'écran ne montre pas.",
            "live": {"role": "administrator", "url": "/admin/securite", "outline": "#element-absent"},
            "decision": "conforme"},
        2: {"text": "Une capture fournie, jugée non conforme.", "file": "dossier/fichiers/capture.png",
            "decision": "non conforme", "comment": "La capture ne montre pas la sensibilisation attendue."},
        3: {"text": "Un élément dont la campagne ne donne rien."},
        4: {"text": "Un extrait de journal fourni.", "file": "dossier/fichiers/extrait.log", "decision": "conforme"},
    },
}
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d4944415478da63f8cfc0f01f0005000201a2b5f5d90000000049454e44ae426082")


def _pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def dossier(tmp_path_factory):
    if not REM_XLSX.is_file():
        pytest.skip("../shared/rem/export_full.xlsx absent")
    import os
    import secrets as _secrets

    from bench.dossier_campaign import dossier_campaign
    from demo_dpi.stack import DemoStack

    for var in ("DEMO_OIDC_USER_PASSWORD", "DEMO_OIDC_ADMIN_PASSWORD"):
        os.environ.setdefault(var, "pw-" + _secrets.token_urlsafe(12))
    base = tmp_path_factory.mktemp("dossier")
    stack = DemoStack(base / "target", with_dmp=True, with_oidc=True).start()
    try:
        params = dossier_campaign(base / "campaign", stack, REM_XLSX, automated=("SSI/IE.31",))
        files = base / "campaign" / "dossier" / "fichiers"
        (files / "capture.png").write_bytes(PNG)
        (files / "extrait.log").write_text("2026-11-30T10:00:00+01:00 demo-dpi auth admin réussite\n",
                                           encoding="utf-8")
        data = yaml.safe_load(params.read_text(encoding="utf-8"))
        data["requirements"]["SSI/GEN.02"] = {"guided": NEGATIVE}
        params.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        proc = run_segur("run", str(params), "--scope", "rem", "--outputs", str(base / "out"), timeout=900)
        run_dir = next((base / "out" / "demo-dossier").iterdir())
        coverage = run_segur("catalog", "coverage", "--campaign", str(params))
        bundle = run_segur("bundle", str(run_dir), "--out", str(base / "bundle"), timeout=600)
        yield {"proc": proc, "run": run_dir, "params": params, "coverage": coverage, "bundle": bundle,
               "bundle_dir": base / "bundle", "record": json.loads((run_dir / "run.json").read_text())}
    finally:
        stack.stop()


def _result(d, scenario: str) -> dict:
    return json.loads((d["run"] / scenario.replace("/", "_") / "result.json").read_text(encoding="utf-8"))


@needs_rem
def test_dossier_run_covers_every_requirement_and_counts_the_missing(dossier):
    from segur_helpers.catalog.rem import import_rem

    proc, record = dossier["proc"], dossier["record"]
    assert proc.returncode == 1, proc.stderr   # one guided proof is NON CONFORME, on purpose
    rem = import_rem(REM_XLSX, "HOP-DPI")
    counts = record["dossier"]["counts"]
    assert sum(counts.values()) == len(rem)
    assert counts["automated"] == 1 and counts["guided"] == 19 and counts["justified"] == 7
    assert counts["out_of_profile"] == 2   # PSC.03, PSC.04: the REM reserves them to DUI, LGC, RIS, SGL
    assert counts["missing"] == len(rem) - 29
    assert f"{counts['missing']} missing" in proc.stdout and "missing: " in proc.stdout
    assert sorted(record["dossier"]["missing"]) == sorted(
        r["id"] for r in record["dossier"]["requirements"] if r["kind"] == "missing" and r["in_rem"])
    verdicts = {p["scenario"]: p["verdict"] for p in record["proofs"]}
    assert verdicts.pop("SSI/GEN.02.01") == "NON CONFORME"
    assert set(verdicts.values()) == {"CONFORME", "NON APPLICABLE"}, verdicts
    live = [p for p in record["proofs"] if p["requirement"] not in ("SSI/IE.31", "SSI/GEN.01", "SSI/GEN.02",
                                                                     "SSI/GEN.03", "SSI/GEN.20")
            and p["verdict"] == "CONFORME"]
    assert len(live) >= 15   # guided proofs captured live on real demo screens
    assert run_segur("verify", str(dossier["run"])).returncode == 0
    for path in files_under(dossier["run"]):
        assert ADMIN_PASSWORD.encode() not in path.read_bytes(), path


@needs_rem
def test_guided_proof_in_each_capture_mode(dossier):
    # live: the element outlined on the screen, its text checked, the operator's decision
    r = _result(dossier, "SSI/IAM.91.01")
    assert r["verdict"] == "CONFORME" and [e["mode"] for e in r["guided"]["elements"]] == ["live"] * 3
    shots = [e for e in r["evidence"] if e["kind"] == "screenshot"]
    assert len(shots) == 3 and all(e["outlined"] for e in shots)
    assert "changement de mot de passe" in shots[1]["outlined_text"]
    assert r["expected"][0]["id"] == "SSI/IAM.91.01.01" and "segur-proofs" in r["expected_source"]
    # file: a PDF, kept byte for byte, hashed, its first pages shown
    r = _result(dossier, "SSI/GEN.03.01")
    (kept,) = [e for e in r["evidence"] if e["kind"] == "attachment"]
    source = dossier["params"].parent / "dossier" / "fichiers" / "plan-assurance-securite-demo-dpi.pdf"
    assert kept["manual"] and kept["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    text = _pdf_text(dossier["run"] / "SSI_GEN.03.01" / "SSI_GEN.03.01.pdf")
    assert "Premières pages du document" in text and kept["sha256"] in text and "CONFORME" in text
    # file: an .eml, shown as a message supplied by the operator
    r = _result(dossier, "SSI/GEN.20.01")
    assert r["verdict"] == "CONFORME" and [e["kind"] for e in r["evidence"]] == ["email"]
    # attestation: text, signatory and date kept as JSON, hashed
    r = _result(dossier, "SSI/GEN.01.01")
    (att,) = r["evidence"]
    data = json.loads((dossier["run"] / "SSI_GEN.01.01" / "evidence" / att["name"]).read_text(encoding="utf-8"))
    assert r["verdict"] == "CONFORME" and data["signatory"]["name"] == "Claire MARTIN" and data["date"] == "2026-11-20"
    # the record of a guided proof made without a kernel: one ## Preuve k section per element
    nb = json.loads((dossier["run"] / "SSI_IAM.91.01" / "notebook.ipynb").read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    headings = [s for s in sources if s.startswith("## Preuve")]
    assert [h.split(" —")[0] for h in headings] == ["## Preuve 1", "## Preuve 2", "## Preuve 3"]


@needs_rem
def test_guided_proof_never_conforme_with_an_absent_element_a_negative_decision_or_a_missing_one(dossier):
    r = _result(dossier, "SSI/GEN.02.01")
    failed = {c["label"] for c in r["checks"] if not c["passed"]}
    assert failed == {"SSI/GEN.02.01.01 — élément encadré affiché", "SSI/GEN.02.01.02 — décision de l'opérateur",
                      "SSI/GEN.02.01.03 — élément de preuve manquant", "SSI/GEN.02.01.03 — décision de l'opérateur"}
    assert {c["label"] for c in r["checks"] if c["passed"]} >= {"SSI/GEN.02.01.04 — fichier fourni",
                                                               "SSI/GEN.02.01.04 — décision de l'opérateur"}
    text = " ".join(_pdf_text(dossier["run"] / "SSI_GEN.02.01" / "SSI_GEN.02.01.pdf").split())
    assert "Verdict : NON CONFORME" in text and "SSI/GEN.02.01.03 — élément de preuve manquant" in text
    assert "NON CONFORME — La capture ne montre pas la sensibilisation attendue." in text


@needs_rem
def test_dossier_in_summary_coverage_and_bundle(dossier):
    run = dossier["run"]
    ws = load_workbook(run / "summary.xlsx")["Dossier"]
    rows = list(ws.iter_rows(values_only=True))[1:]
    kinds = {r[3].replace(" (exigence absente du REM importé)", "") for r in rows}
    assert kinds >= {"preuve automatisée", "preuve guidée", "justification (condition non remplie)",
                     "hors du profil du produit", "manquante"}
    (psc03,) = [r for r in rows if r[0] == "PSC.03"]
    assert psc03[3] == "hors du profil du produit" and "DUI, LGC, RIS, SGL" in psc03[4]
    text = " ".join(_pdf_text(run / "summary.pdf").split())
    missing = dossier["record"]["dossier"]["counts"]["missing"]
    assert "Couverture du REM" in text and f"{missing} exigence(s) manquante(s)" in text
    cov = dossier["coverage"]
    assert cov.returncode == 0, cov.stderr
    assert "19 guided, 7 justified, 2 out of profile" in cov.stdout and "per chapter:" in cov.stdout
    bundle = dossier["bundle"]
    assert bundle.returncode == 0, bundle.stderr
    folder = dossier["bundle_dir"]
    # guided proofs filed one file per element, numbered the Convergence way; justifications whole
    assert (folder / "SSI_IE" / "SSI_IE.36.01.01.pdf").is_file() and (folder / "SSI_IE" / "SSI_IE.36.01.02.pdf").is_file()
    assert (folder / "SSI_GEN" / "SSI_GEN.08.01.pdf").is_file() and (folder / "SSI_GEN" / "SSI_GEN.08.01.docx").is_file()
    assert (folder / "SSI_IE" / "SSI_IE.31.01.01.pdf").is_file()
    element = " ".join(_pdf_text(folder / "SSI_IE" / "SSI_IE.36.01.02.pdf").split())
    assert "SSI/IE.36.01.02" in element and "Changement refusé" in element
    status = next(folder.glob("statut-*.xlsx"))
    srows = list(load_workbook(status).active.iter_rows(values_only=True))
    verdicts = {r[8] for r in srows[1:]}
    assert {"CONFORME", "NON APPLICABLE", "MANQUANTE", "HORS PROFIL"} <= verdicts
    assert srows[0][-1] == "Couverture du REM"


# -- bad input: one line naming the requirement, the element and what was expected; nothing runs ------------

def _bad_campaign(tmp_path: Path, rem_json: Path, requirements: dict) -> Path:
    with open(ROOT / "params" / "demo.yaml", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    data.update(campaign="bad-guided", rem=str(rem_json), requirements=requirements)
    data["target"]["url"] = "http://127.0.0.1:9"
    (tmp_path / "shot.png").write_bytes(PNG)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _el(**kw):
    return {"guided": {"scenario": "Test", "elements": {1: {"text": "Un élément.", **kw}}}}


BAD = [
    ("missing file", _el(file="absent.png", decision="conforme"), "SSI/GEN.02.01.01: file not found"),
    ("file outside the campaign", _el(file="../outside.png"), "is outside the campaign's folder"),
    ("URL outside the target", _el(live={"role": "administrator", "url": "http://other.test/admin", "outline": "h1"}),
     "SSI/GEN.02.01.01: 'http://other.test/admin' is not a page of the target"),
    ("unknown role", _el(live={"role": "pharmacist", "url": "/admin", "outline": "h1"}),
     "SSI/GEN.02.01.01: unknown role 'pharmacist'; expected a session the driver 'demo' offers"),
    ("bad decision", _el(file="shot.png", decision="ok"), "'ok'; expected conforme or non conforme"),
    ("two modes", _el(file="shot.png", attestation={"text": "x", "signatory": {"name": "A"}, "date": "2026-01-01"}),
     "one capture mode per element"),
    ("attestation in the future", _el(attestation={"text": "x", "signatory": {"name": "A"}, "date": "2999-01-01"}),
     "is in the future"),
    ("unknown key", _el(fichier="shot.png"), "fichier: unknown key"),
]


@needs_rem
@pytest.mark.parametrize("case,entry,expected", BAD, ids=[c[0] for c in BAD])
def test_bad_guided_elements_are_refused_before_anything_runs(tmp_path, capsys, case, entry, expected):
    from segur_helpers.catalog.rem import import_rem
    from segur_helpers.cli import main

    (tmp_path / "campaign").mkdir()
    rem_json = tmp_path / "campaign" / "rem.json"   # a file the campaign names lives in its folder
    import_rem(REM_XLSX, "HOP-DPI").save(rem_json)
    params = _bad_campaign(tmp_path / "campaign", rem_json, {"SSI/GEN.02": entry})
    outputs = tmp_path / "out"
    assert main(["run", str(params), "--outputs", str(outputs)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
    assert "requirements.SSI/GEN.02.guided.elements.1" in err[0] or "SSI/GEN.02.01.01" in err[0]
    assert not outputs.exists()


@needs_rem
def test_requirement_declarations_refused(tmp_path, capsys):
    from segur_helpers.catalog.rem import import_rem
    from segur_helpers.cli import main

    rem_json = tmp_path / "rem.json"
    import_rem(REM_XLSX, "HOP-DPI").save(rem_json)
    for requirements, expected in (
            ({"SSI/GEN.02": {}}, "no scenario of the toolkit proves this requirement of the REM"),
            ({"SSI/IE.31": _el(file="shot.png")}, "the toolkit automates this requirement"),
            ({"XYZ/AB.01": _el(file="shot.png")}, "unknown requirement id"),
            ({"SSI/GEN.02": {"guided": "guided/absent.yaml"}}, "file not found")):
        params = _bad_campaign(tmp_path, rem_json, requirements)
        assert main(["run", str(params), "--outputs", str(tmp_path / "out")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and expected in err[0], err
    assert not (tmp_path / "out").exists()


def test_dossier_campaign_keeps_the_demo_campaigns_automated_requirements():
    demo = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text(encoding="utf-8"))["requirements"]
    dossier = yaml.safe_load((ROOT / "params" / "demo-dossier.yaml").read_text(encoding="utf-8"))["requirements"]
    automated = {k: v for k, v in dossier.items() if not (v or {}).get("guided") and (v or {}).get("condition_met") is not False}
    assert automated == demo
    guided = [k for k, v in dossier.items() if (v or {}).get("guided")]
    assert len(guided) >= 18


@needs_rem
def test_jupyterlab_walk_asks_the_missing_evidence_and_decision(tmp_path, monkeypatch):
    """REM_GUIDEE in JupyterLab (no run_dir): an element without evidence or decision is asked inline."""
    import asyncio

    from segur_helpers.catalog.rem import import_rem
    from segur_helpers.guided import open_guided

    rem_json = tmp_path / "rem.json"
    import_rem(REM_XLSX, "HOP-DPI").save(rem_json)
    spec = {"scenario": "Sensibilisation des équipes", "elements": {
        1: {"text": "Le support de sensibilisation.", "file": "shot.png"},
        2: {"text": "L'attestation de la session annuelle."}}}
    params = _bad_campaign(tmp_path, rem_json, {"SSI/GEN.02": {"guided": spec}})
    monkeypatch.setenv("SEGUR_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv("SEGUR_CAMPAIGN", raising=False)

    def walk(answers):
        it = iter(answers)
        monkeypatch.setattr("builtins.input", lambda prompt="": next(it))

        async def go():
            guide = await open_guided(params, "SSI/GEN.02")
            await guide.walk()
            await guide.close()
            return guide.result
        return asyncio.run(go())

    result = walk(["conforme", "Support vu.", "a", "Session du 12 novembre 2026.", "Claire MARTIN", "RSSI",
                   "conforme", ""])
    assert result["verdict"] == "CONFORME", [c for c in result["checks"] if not c["passed"]]
    assert [e["mode"] for e in result["guided"]["elements"]] == ["file", "attestation"]
    assert result["run_id"].startswith("interactive-")
    first_run = result["run_id"]
    # a decision other than conforme / non conforme is asked again, then left undecided: never CONFORME
    result = walk(["peut-être", "oui", "bof", "", "non conforme", "Pas de session cette année."])
    failed = [c["label"] for c in result["checks"] if not c["passed"]]
    assert result["verdict"] == "NON CONFORME", [c for c in result["checks"] if not c["passed"]]
    # a second walk in the same second never writes into the first one's folder
    assert result["run_id"] != first_run
    assert failed == ["SSI/GEN.02.01.01 — décision de l'opérateur", "SSI/GEN.02.01.02 — élément de preuve manquant",
                      "SSI/GEN.02.01.02 — décision de l'opérateur"]

"""``segur catalog import | list | show | coverage`` through the real CLI.

Real ANS workbooks come from the shared folder (skipped when absent); the texts compared are read
from the import itself, never copied here.
"""
from __future__ import annotations

import re
import shutil

import pytest
from openpyxl import Workbook, load_workbook

from conftest import ROOT, SHARED_REM, run_segur
from segur_helpers import catalog
from segur_helpers.catalog.rem import RemCatalog, import_rem

needs_rem = pytest.mark.skipif(not SHARED_REM.is_dir(), reason="shared REM workbooks absent")


def demo_params(tmp_path):
    shutil.copytree(ROOT / "params" / "justification", tmp_path / "justification")
    return shutil.copy(ROOT / "params" / "demo-justification.yaml", tmp_path / "campaign.yaml")


@needs_rem
@pytest.mark.parametrize("name,layout,project", [("template-export-convergence.xlsx", "convergence", None),
                                                 ("template-segur-requirement-export.xlsx", "wide", None),
                                                 ("import_squash_update_com.xlsx", "squash-update", "SC_SSI")])
def test_import_to_a_file_and_show(tmp_path, name, layout, project):
    out = tmp_path / "rem.json"
    extra = ["--rem-project", project] if project else []
    proc = run_segur("catalog", "import", str(SHARED_REM / name), "--out", str(out), *extra)
    assert proc.returncode == 0, proc.stderr
    saved = RemCatalog.load(out)
    assert saved.layout == layout and saved == import_rem(SHARED_REM / name, project)
    assert f"imported {len(saved)} requirements from {name} ({layout} layout" in proc.stdout
    rid = next(r for r, req in saved.requirements.items() if req.statement)
    proc = run_segur("catalog", "show", f"SC.{rid}", "--rem", str(out))
    assert proc.returncode == 0, proc.stderr
    first_line = saved.get(rid).statement.splitlines()[0]
    assert proc.stdout.startswith(rid + "\n") and first_line in proc.stdout
    for scenario in saved.get(rid).scenarios:
        assert scenario.id in proc.stdout and all(p.id in proc.stdout for p in scenario.proofs)
    # an existing catalogue is replaced only on request
    again = run_segur("catalog", "import", str(SHARED_REM / name), "--out", str(out), *extra)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert run_segur("catalog", "import", str(SHARED_REM / name), "--out", str(out), "--replace",
                     *extra).returncode == 0


@needs_rem
def test_a_workbook_of_several_projects_needs_one(tmp_path):
    out = tmp_path / "rem.json"
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--out", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and not out.exists()
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {SHARED_REM / 'export_full.xlsx'}: holds 14 REM projects: ")
    for code in ("HOP-DPI", "HOP-PFI", "BIO", "LGC", "RIS", "DB", "SC_SSI", "SC_DMP", "SC_MSS", "SC_PSC", "SC_CDA"):
        assert re.search(rf"\b{code} \(\d+ requirements?\)", line), code
    assert "--rem-project" in line and "rem_project:" in line
    # a campaign saying rem_project: is enough; the import writes it when the campaign lacks it
    params = demo_params(tmp_path)
    text = params.read_text(encoding="utf-8").replace("rem_project: HOP-DPI", "# (none)")
    params.write_text(text, encoding="utf-8")
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params))
    assert proc.returncode == 2 and "holds 14 REM projects" in proc.stderr
    assert not params.with_name("campaign.rem.json").exists() and params.read_text(encoding="utf-8") == text
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params),
                     "--rem-project", "HOP-PFI")
    assert proc.returncode == 0, proc.stderr
    assert "rem_project: HOP-PFI" in params.read_text(encoding="utf-8")
    assert RemCatalog.load(params.with_name("campaign.rem.json")).project_code == "HOP-PFI"
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params),
                     "--replace")
    assert proc.returncode == 0 and "REM project HOP-PFI" in proc.stdout


def test_unknown_layout_is_refused_with_expected_columns(tmp_path):
    wb = Workbook()
    wb.active.append(["Référence", "Libellé", "Commentaire"])
    wb.active.append(["SSI/IE.31", "texte inventé", ""])
    wb.save(tmp_path / "autre.xlsx")
    proc = run_segur("catalog", "import", str(tmp_path / "autre.xlsx"), "--out", str(tmp_path / "rem.json"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'autre.xlsx'}: unknown REM layout; expected one of:")
    for column in ("ID", "Chapitre", "N° scénario", "N° preuve", "Énoncé de l'exigence", "N° preuve 1",
                   "REQ_VERSION_REFERENCE", "REQ_VERSION_DESCRIPTION"):
        assert column in line
    assert not (tmp_path / "rem.json").exists()


def test_import_needs_a_destination(tmp_path):
    proc = run_segur("catalog", "import", str(tmp_path / "x.xlsx"))
    assert proc.returncode == 2 and "--campaign" in proc.stderr and "--out" in proc.stderr


@needs_rem
def test_coverage_table_and_xlsx(tmp_path):
    params = demo_params(tmp_path)
    proc = run_segur("catalog", "import", str(SHARED_REM / "export_full.xlsx"), "--campaign", str(params))
    assert proc.returncode == 0, proc.stderr
    rem = import_rem(SHARED_REM / "export_full.xlsx", "HOP-DPI")  # the campaign's rem_project:

    # the campaign declares SSI/IE.31's condition unmet: covered by a justification
    xlsx = tmp_path / "couverture.xlsx"
    proc = run_segur("catalog", "coverage", "--campaign", str(params), "--xlsx", str(xlsx))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    (ie31,) = [l for l in lines if l.startswith("SSI/IE.31 ")]
    assert " justified " in ie31 and "condition déclarée non remplie" in ie31 and "condition non remplie" in ie31
    # the other REM requirements the campaign runs by notebook are automated; the rest of the REM is missing
    in_campaign = {"SSI/IE.31"}
    assert (f"{len(rem)} requirement(s) in export_full.xlsx (REM_HOP-DPI_Hôpital [va2]): 0 automated, 0 guided, "
            f"1 justified, 0 out of profile, {len(rem) - len(in_campaign)} missing") in proc.stdout
    assert "per chapter:" in proc.stdout
    # chapters are the imported REM's: code in the table, code and title in the workbook
    assert ie31.split()[1] == "SSI/IE"
    ws = load_workbook(xlsx).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][:7] == ("ID", "Chapitre", "Fonction", "Nature", "Conditionnelle", "Couverture", "Détail")
    # every REM requirement, then the project's own that the REM lacks
    not_in_rem = {rid for rid in catalog.catalog() if rem.get(rid) is None}
    assert len(rows) == 1 + len(rem) + len(not_in_rem)
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == set(rem.requirements) | not_in_rem
    assert by_id["SSI/IE.31"][5] == "justification (condition non remplie)"
    assert by_id["SSI/IE.31"][1] == f"SSI/IE — {rem.get('SSI/IE.31').chapter}" and rem.get("SSI/IE.31").chapter
    assert by_id["SSI/IE.31"][11:13] == ("APPROVED", "1")
    uncovered = next(rid for rid in sorted(rem.requirements) if catalog.get(rid) is None)
    assert by_id[uncovered][5] == "manquante" and by_id[uncovered][8] == "hors périmètre"
    # an existing report is never overwritten
    proc = run_segur("catalog", "coverage", "--campaign", str(params), "--xlsx", str(xlsx))
    assert proc.returncode == 2 and "already exists" in proc.stderr

    # without a campaign, SSI/IE.31 is covered by its scenario notebook
    proc = run_segur("catalog", "coverage", "--rem", str(params.with_name("campaign.rem.json")))
    assert proc.returncode == 0, proc.stderr
    (ie31,) = [l for l in proc.stdout.splitlines() if l.startswith("SSI/IE.31 ")]
    assert " automated " in ie31 and "SSI_IE.31.ipynb" in ie31
    proc = run_segur("catalog", "list", "--campaign", str(params))
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == len(rem) + 1


def test_coverage_without_rem_and_list_of_the_project(tmp_path):
    proc = run_segur("catalog", "coverage")
    assert proc.returncode == 2 and "no REM imported" in proc.stderr and "segur catalog import" in proc.stderr
    proc = run_segur("catalog", "list")
    assert proc.returncode == 0 and "SSI/IE.31" in proc.stdout and "no REM imported" in proc.stdout
    proc = run_segur("catalog", "show", "SSI/IE.31")
    assert proc.returncode == 0 and "REM: none imported" in proc.stdout
    proc = run_segur("catalog", "show", "XYZ/AB.01")
    assert proc.returncode == 2 and "XYZ/AB.01" in proc.stderr


def test_params_rem_key_must_name_a_catalogue(tmp_path):
    params = demo_params(tmp_path)
    with open(params, "a", encoding="utf-8") as fh:
        fh.write("rem: absent.rem.json\n")
    proc = run_segur("justify", "--check", str(params))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "campaign.yaml: rem: file not found" in line and "segur catalog import" in line


@needs_rem
def test_import_and_coverage_work_while_a_justification_is_incomplete(tmp_path):
    params = demo_params(tmp_path)
    text = params.read_text(encoding="utf-8").replace("      signatory:\n        name: Claire Martin\n", "      x_signatory:\n        name: Claire Martin\n")
    params.write_text(text, encoding="utf-8")
    assert run_segur("justify", "--check", str(params)).returncode == 2
    proc = run_segur("catalog", "import", str(SHARED_REM / "template-export-convergence.xlsx"), "--campaign", str(params))
    assert proc.returncode == 0, proc.stderr
    proc = run_segur("catalog", "coverage", "--campaign", str(params))
    assert proc.returncode == 0, proc.stderr
    assert "SSI/IE.31" in proc.stdout and "NOT IN THE REM" in proc.stdout

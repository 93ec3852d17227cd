"""Every proof is faithful to the REM it is filed against: with ANS's Squash export imported for REM HOP-DPI,
each catalogue requirement's cover quotes that project's wording (its APPROVED version where there is one,
else its socle parent's, and says so), prints a Squash reference only as the REM writes it, and says where an
id the REM lacks comes from. Conditions are never cut.

The workbook is read from the shared folder (skipped when absent); the expected texts are read from the
workbook itself here, with openpyxl, independently of the importer: no REM sentence is copied into the tests.
"""
from __future__ import annotations

import re
import shutil
from collections import defaultdict
from pathlib import Path

import pytest
from openpyxl import load_workbook

from conftest import ROOT, SHARED_REM, run_segur
from segur_helpers import catalog
from segur_helpers.catalog.rem import RemCatalog, html_to_text, import_rem
from segur_helpers.catalog.wording import chapter, identity_rows
from segur_helpers.ids import OLD_IDS, normalize_requirement_id
from segur_helpers.params import load_campaign
from segur_helpers.proof import cover_info
from segur_helpers.report import cover_rows

EXPORT = SHARED_REM / "export_full.xlsx"
pytestmark = pytest.mark.skipif(not EXPORT.is_file(), reason=f"{EXPORT} absent (shared REM workbooks)")
DPI = "REM_HOP-DPI_Hôpital [va2]"
STATUS_RANK = {"APPROVED": 0, "UNDER_REVIEW": 1, "WORK_IN_PROGRESS": 2}


@pytest.fixture(scope="module")
def sheet() -> dict:
    """The workbook read directly: versions per (project, canonical id), links per (path, version)."""
    wb = load_workbook(EXPORT, read_only=True, data_only=True)
    rows = list(wb["REQUIREMENT"].iter_rows(values_only=True))
    head = {k: i for i, k in enumerate(rows[0])}
    versions = defaultdict(list)
    by_path = {}
    for r in rows[1:]:
        v = {k: r[i] for k, i in head.items()}
        v["ref"] = " ".join(str(v["REQ_VERSION_REFERENCE"]).split())
        v["text"] = html_to_text(v["REQ_VERSION_DESCRIPTION"])
        versions[(v["PROJECT_NAME"], normalize_requirement_id(v["ref"]))].append(v)
        by_path[(v["REQ_PATH"], v["REQ_VERSION_NUM"])] = v
    links = list(wb["LINK_REQ_REQ"].iter_rows(values_only=True))[1:]
    wb.close()
    return {"versions": versions, "by_path": by_path, "links": links}


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """The demo campaign with export_full.xlsx imported for REM HOP-DPI, through the real CLI."""
    folder = tmp_path_factory.mktemp("fidelity")
    params = Path(shutil.copy(ROOT / "params" / "demo.yaml", folder / "campaign.yaml"))
    proc = run_segur("catalog", "import", str(EXPORT), "--campaign", str(params), "--rem-project", "HOP-DPI")
    assert proc.returncode == 0, proc.stderr
    assert "REM project HOP-DPI (REM_HOP-DPI_Hôpital [va2])" in proc.stdout
    return load_campaign(params)


def live_versions(sheet, project, rid):
    return [v for v in sheet["versions"].get((project, rid), []) if v["REQ_VERSION_STATUS"] != "OBSOLETE"]


def best(versions):
    """APPROVED first, then UNDER_REVIEW, then WORK_IN_PROGRESS; the date only between equal statuses."""
    return max(versions, key=lambda v: (-STATUS_RANK.get(v["REQ_VERSION_STATUS"], 3),
                                        str(v["REQ_VERSION_LAST_MODIFIED_ON"] or v["REQ_VERSION_CREATED_ON"] or ""),
                                        bool(v["text"]), v["REQ_VERSION_NUM"] or 0))


def test_psc08_gets_rem_dpi_approved_text(sheet):
    rem = import_rem(EXPORT, "HOP-DPI")
    approved = [v for v in sheet["versions"][(DPI, "PSC.08")] if v["REQ_VERSION_STATUS"] == "APPROVED"]
    socle = [v for v in sheet["versions"][("SC_PSC_Pro Sante Connect [va2]", "PSC.08")]
             if v["REQ_VERSION_STATUS"] == "UNDER_REVIEW"]
    assert approved and socle and approved[0]["text"] != socle[0]["text"]
    psc = rem.get("PSC.08")
    assert (psc.statement, psc.status, psc.project, psc.squash_ref) == (approved[0]["text"], "APPROVED", DPI,
                                                                        approved[0]["ref"])


def test_obsolete_versions_and_other_projects_are_left_out(sheet):
    rem = import_rem(EXPORT, "HOP-DPI")
    dpi_ids = {rid for (project, rid) in sheet["versions"] if project == DPI}
    live = {rid for rid in dpi_ids if live_versions(sheet, DPI, rid)}
    assert set(rem.requirements) == live and live < dpi_ids  # some HOP-DPI ids have only OBSOLETE versions
    assert "DMP/UX.40" in dpi_ids - live and "DMP/UX.40" not in rem
    for rid, req in rem.requirements.items():
        kept = best(live_versions(sheet, DPI, rid))
        assert (req.status, req.version, req.statement) == (kept["REQ_VERSION_STATUS"], kept["REQ_VERSION_NUM"],
                                                            kept["text"]), rid
    for parent in rem.linked.values():
        assert parent.status != "OBSOLETE" and parent.project.startswith("SC_")


def test_link_req_req_gives_dmp_conf04_its_socle_parent(sheet):
    rem = import_rem(EXPORT, "HOP-DPI")
    conf04 = rem.get("DMP/CONF.04")
    assert conf04.statement == "" and conf04.status == "WORK_IN_PROGRESS"
    parent = rem.wording_parent(conf04)
    # the same link, read from sheet LINK_REQ_REQ directly
    (dpi_version,) = sheet["versions"][(DPI, "DMP/CONF.04")]
    linked = {sheet["by_path"][(a, av)]["ref"] if b == dpi_version["REQ_PATH"] else sheet["by_path"][(b, bv)]["ref"]
              for a, av, b, bv, _ in sheet["links"] if dpi_version["REQ_PATH"] in (a, b)
              and (a, av) in sheet["by_path"] and (b, bv) in sheet["by_path"]}
    assert "SC.CDA/META.01" in linked and "SC.DMP/CONF.04" in linked  # the latter OBSOLETE, never quoted
    assert parent.squash_ref == "SC.CDA/META.01" and parent.project.startswith("SC_CDA_")
    (meta,) = live_versions(sheet, parent.project, "CDA/META.01")
    assert parent.statement == meta["text"]
    # the other way round: imported for SC_CDA, CDA/META.01 knows REM HOP-DPI's DMP/CONF.04
    socle = import_rem(EXPORT, "SC_CDA").get("CDA/META.01")
    assert ("HOP-DPI", "DMP/CONF.04") in {(c.project_code, c.reference) for c in socle.children}


def test_every_cover_is_faithful_to_rem_hop_dpi(campaign, sheet):
    rem: RemCatalog = campaign.rem()
    assert rem.project == DPI
    seen_parent_quote = seen_source = 0
    for req in catalog.catalog().values():
        assert req.id not in OLD_IDS, f"{req.id}: an invented id, renamed since"
        for scen in req.scenarios:
            c = cover_info(campaign, req, scen, "run-test")
            rows = dict(identity_rows(c))
            html = cover_rows(c)
            own = live_versions(sheet, DPI, req.id)
            socle = rem.linked_socle(req.id)
            assert c["requirement"] == req.id and scen.id.startswith(req.id + ".")
            ch = chapter(req.id, rem)
            assert (c["chapter"], c["chapter_title"]) == (ch.code, ch.title) and rows["Chapitre"] == ch.label
            if own:  # the chapter is the REM's section: code and title as the workbook writes them
                section = str(best(own)["REQ_VERSION_CUF_SECTION"] or "")
                assert section.startswith(ch.code + "_") and section.endswith(ch.title), (req.id, section)
            if own:
                kept = best(own)
                written = {v["ref"] for v in own}
                # the Squash reference as the REM writes it, never derived
                assert c["squash_ref"] == kept["ref"] and c["squash_ref"] in written, req.id
                assert rows["Référence Squash"].startswith(kept["ref"] + " ")
                assert "REM HOP-DPI « REM_HOP-DPI_Hôpital [va2] »" in rows["Référentiel"]
                assert f"version {kept['REQ_VERSION_NUM']}, statut {kept['REQ_VERSION_STATUS']}" in rows["Référentiel"]
                assert "Origine de l'identifiant" not in rows
                if kept["text"]:
                    # that project's own wording: its APPROVED version where it has one
                    assert c["summary"] == kept["text"] and c["wording_source"].startswith(
                        "libellé officiel du REM HOP-DPI"), req.id
                else:
                    parent = rem.wording_parent(rem.get(req.id))
                    assert parent is not None, req.id
                    assert c["summary"] == parent.statement
                    assert "socle parente" in c["wording_source"] and parent.squash_ref in c["wording_source"]
                    assert parent.project in c["wording_source"]
                    seen_parent_quote += 1
            elif socle is not None:
                assert c["squash_ref"] == socle.squash_ref and socle.squash_ref.startswith("SC.")
                assert c["summary"] == socle.statement and "exigence socle" in c["wording_source"]
                assert "parente de" in rows["Référentiel"]
            else:
                # an id the REM lacks: no Squash reference at all, its source instead
                assert c["squash_ref"] == "" and "Référence Squash" not in rows and "Squash SC." not in html
                assert req.id_source, f"{req.id}: absent from REM HOP-DPI, its catalogue entry needs id_source"
                assert rows["Origine de l'identifiant"] == req.id_source
                assert rows["Référentiel"].startswith("exigence absente du REM HOP-DPI")
                assert c["summary"] == req.summary and c["wording_source"].startswith("résumé du projet")
                seen_source += 1
            if req.conditional and c["condition_source"] != "résumé du projet segur-proofs":
                # whole sentences of the quoted statement, never cut; « extrait » when not the whole statement
                for part in c["condition"].split("\n[…]\n"):
                    assert part in c["summary"], req.id
                    assert re.search(r"[.:;!?]$", part), f"{req.id}: condition cut: …{part[-30:]!r}"
                assert c["condition_extract"] == (" ".join(c["condition"].split()) != " ".join(c["summary"].split()))
                assert c["condition_source"] == ("extrait de l'énoncé ci-dessus" if c["condition_extract"]
                                                 else "l'énoncé ci-dessus, en entier")
                # sources are printed between parentheses: they hold none of their own
                assert "(" not in c["wording_source"] and ")" not in c["wording_source"], c["wording_source"]
    assert seen_parent_quote >= 5 and seen_source >= 5


def test_the_renamed_proofs_covers(campaign):
    rem = campaign.rem()
    conf16 = catalog.get("DMP/CONF.16")
    c = cover_info(campaign, conf16, conf16.scenarios[0], "run-test")
    rows = dict(identity_rows(c))
    assert "webinaire ANS" in rows["Origine de l'identifiant"] and "8 octobre 2025" in rows["Origine de l'identifiant"]
    assert "DMP/UX.15" in rows["Origine de l'identifiant"] and "Référence Squash" not in rows
    ux15 = rem.get("DMP/UX.15")
    assert rows["Exigence(s) liée(s)"] == (f"DMP/UX.15 (REM HOP-DPI « REM_HOP-DPI_Hôpital [va2] », "
                                           f"version {ux15.version}, statut {ux15.status})")
    conf04 = catalog.get("DMP/CONF.04")
    c = cover_info(campaign, conf04, conf04.scenarios[0], "run-test")
    assert c["squash_ref"] == "DMP/CONF.04" and "SC.CDA/META.01" in c["wording_source"]
    assert "SC_CDA_" in c["wording_source"] and "socle parente" in c["wording_source"]


def test_ssi_ie31_condition_keeps_its_second_clause(campaign):
    """The condition a justification argues is SSI/IE.31's whole sentence, « lorsque … » clause included."""
    req = catalog.get("SSI/IE.31")
    c = cover_info(campaign, req, req.scenarios[0], "run-test")
    first_sentence = c["summary"].split(". ")[0] + "."
    assert c["condition"] == first_sentence and re.search(r"\blorsque\b", c["condition"])
    assert c["condition_extract"] and c["condition_source"] == "extrait de l'énoncé ci-dessus"

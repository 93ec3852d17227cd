"""Tests of the REM importer (segur_helpers.catalog.rem).

The real ANS workbooks are read from the shared folder (``$SEGUR_SHARED/rem``) and those tests are
skipped when it is absent. Every other test builds its own small workbook with invented texts:
no REM sentence is copied here, real-file tests only check ids, counts, structure and common words.
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook

ROOT = Path(__file__).resolve().parent.parent

from segur_helpers.catalog.rem import (  # noqa: E402
    LAYOUT_CONVERGENCE,
    LAYOUT_SQUASH,
    LAYOUT_SQUASH_UPDATE,
    LAYOUT_WIDE,
    RemCatalog,
    canonical_requirement_id,
    html_to_text,
    import_rem,
)
from segur_helpers.errors import UserError  # noqa: E402

from conftest import SHARED_REM  # noqa: E402  ($SEGUR_SHARED/rem, else ../shared/rem)

HTML_TAG = re.compile(r"<[A-Za-z]")
REAL_HTML = re.compile(r"</?(?:p|br|span|div|li|ul|ol|a|strong|em|u|table|tr|td|tbody)\b[^>]*>|&[a-z]+;|&#\d+;")


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------


def write_xlsx(path: Path, rows: list[list[object]], title: str = "Exigences") -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def assert_round_trip(catalog: RemCatalog, tmp_path: Path) -> None:
    target = catalog.save(tmp_path / "out" / "rem.json")
    text = target.read_text(encoding="utf-8")
    assert text.startswith("{\n  ")  # indented JSON
    assert RemCatalog.load(target) == catalog


def assert_numbering(catalog: RemCatalog) -> None:
    """Scenario ``<req>.NN`` numbered NN, proofs ``<scenario>.NN`` numbered NN, sorted, ≤ 10."""
    for rid, req in catalog.requirements.items():
        assert req.id == rid
        assert [s.number for s in req.scenarios] == sorted(s.number for s in req.scenarios)
        for scenario in req.scenarios:
            assert scenario.id == f"{rid}.{scenario.number:02d}"
            assert 1 <= len(scenario.proofs) <= 10 or not scenario.proofs
            assert [p.number for p in scenario.proofs] == sorted(p.number for p in scenario.proofs)
            for proof in scenario.proofs:
                assert proof.id == f"{scenario.id}.{proof.number:02d}"


@pytest.fixture
def rem_dir() -> Path:
    if not SHARED_REM.is_dir():
        pytest.skip(f"shared REM workbooks not found in {SHARED_REM}")
    return SHARED_REM


def real(rem_dir: Path, name: str) -> Path:
    path = rem_dir / name
    if not path.is_file():
        pytest.skip(f"{name} not found in {rem_dir}")
    return path


# ---------------------------------------------------------------------------------------------
# the real ANS workbooks
# ---------------------------------------------------------------------------------------------


def test_real_convergence_export(rem_dir: Path, tmp_path: Path) -> None:
    path = real(rem_dir, "template-export-convergence.xlsx")
    catalog = import_rem(path)
    assert catalog.layout == LAYOUT_CONVERGENCE
    assert catalog.source == path.name
    assert catalog.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert list(catalog.requirements) == ["MSS/CDA.01"]
    req = catalog.get("MSS/CDA.01")
    assert req is not None and catalog.get("SC.MSS/CDA.01") is req
    assert req.statement and not HTML_TAG.search(req.statement) and "DOIT" in req.statement
    assert req.chapter and req.function
    assert req.criticality == "Mineure" and req.profile == "Général"
    assert [(s.id, s.number) for s in req.scenarios] == [("MSS/CDA.01.01", 1)]
    assert [(p.id, p.number) for p in req.scenarios[0].proofs] == [("MSS/CDA.01.01.01", 1)]
    assert req.scenarios[0].text and req.scenarios[0].proofs[0].text
    assert_numbering(catalog)
    assert_round_trip(catalog, tmp_path)


def test_real_wide_report(rem_dir: Path, tmp_path: Path) -> None:
    path = real(rem_dir, "template-segur-requirement-export.xlsx")
    catalog = import_rem(path)
    assert catalog.layout == LAYOUT_WIDE
    assert list(catalog.requirements) == ["MSS/CDA.01"]
    req = catalog.get("SC.MSS/CDA.01")
    assert req is not None and catalog.get("MSS/CDA.01") is req
    assert req.nature == "EXIGENCE" and req.conditional is False
    assert req.statement and not HTML_TAG.search(req.statement) and "DOIT" in req.statement
    assert [(s.id, s.number) for s in req.scenarios] == [("MSS/CDA.01.01", 1)]
    # the template numbers only its first proof slot; the other nine repeat placeholder text
    assert [(p.id, p.number) for p in req.scenarios[0].proofs] == [("MSS/CDA.01.01.01", 1)]
    assert_numbering(catalog)
    assert_round_trip(catalog, tmp_path)


@pytest.fixture(scope="module")
def export_full() -> RemCatalog:
    path = SHARED_REM / "export_full.xlsx"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return import_rem(path, "HOP-DPI")


def test_real_squash_export(export_full: RemCatalog, tmp_path: Path) -> None:
    catalog = export_full
    assert catalog.layout == LAYOUT_SQUASH
    assert catalog.project == "REM_HOP-DPI_Hôpital [va2]" and catalog.project_code == "HOP-DPI"
    assert catalog.project_version == "va2"
    # REM HOP-DPI alone: 197 versions, some OBSOLETE, some references written twice (SC.PSC.08, PSC.08)
    assert 150 <= len(catalog) <= 197
    assert all(r.project == catalog.project for r in catalog.requirements.values())
    assert not [r.id for r in catalog.requirements.values() if r.status == "OBSOLETE"]
    for rid in ("SSI/IE.31", "SSI/IAM.87"):
        req = catalog.get(rid)
        assert req is not None, rid
        assert catalog.get(f"SC.{rid}") is req
        assert req.id == rid and req.squash_ref == rid  # as REM HOP-DPI writes it, never derived
        assert req.statement == ""  # HOP-DPI's copy has no wording of its own: its socle parent's is quoted
        parent = catalog.wording_parent(req)
        assert parent is not None and parent.squash_ref == f"SC.{rid}" and parent.project.startswith("SC_SSI_")
        assert parent.statement and not HTML_TAG.search(parent.statement) and "DOIT" in parent.statement
        assert req.nature == "EXIGENCE" and req.criticality in ("Majeure", "Mineure")
        assert req.status == "APPROVED" and req.version == 1 and req.chapter and req.function
        assert req.chapter_code == rid.rpartition(".")[0]
        assert req.scenarios == []
    # no statement keeps real HTML (unescaped <placeholders> written in the texts are kept)
    quoted = list(catalog.requirements.values()) + list(catalog.linked.values())
    assert not [r.id for r in quoted if REAL_HTML.search(r.statement)]
    # keys are canonical: no prefix, no stray blanks
    assert all(rid == rid.strip() and not rid.startswith("SC.") for rid in catalog.requirements)
    # chapter-less socle ids: SC.PSC.01 and PSC.01 are the same requirement
    assert catalog.get("SC.PSC.01") is catalog.get("PSC.01") is not None
    # a domain is not a business prefix: MSS.UX/DPI.2 stays as written
    assert catalog.get("MSS.UX/DPI.2") is not None
    assert_round_trip(catalog, tmp_path)


def test_real_update_sheet_one_project(rem_dir: Path, tmp_path: Path) -> None:
    path = real(rem_dir, "import_squash_update_com.xlsx")
    with pytest.raises(UserError, match=r"holds \d+ REM projects: .*HOP-DPI \(\d+ requirements\)"):
        import_rem(path)
    catalog = import_rem(path, "hop-dpi")  # codes are case-insensitive
    assert catalog.layout == LAYOUT_SQUASH_UPDATE and catalog.project_code == "HOP-DPI"
    assert 50 <= len(catalog) <= 91  # 91 rows of REM HOP-DPI in the sheet
    req = catalog.get("SSI/IE.31")
    assert req is not None and req.project == catalog.project and req.squash_ref == "SSI/IE.31"
    assert_round_trip(catalog, tmp_path)
    socle = import_rem(path, "SC_SSI")
    assert socle.get("SSI/IE.31").squash_ref == "SC.SSI/IE.31" and socle.get("SSI/IE.31").statement


# ---------------------------------------------------------------------------------------------
# html_to_text
# ---------------------------------------------------------------------------------------------


def test_html_paragraphs_breaks_and_entities() -> None:
    html = "<p>Premi&egrave;re&nbsp;ligne<br/>suite &amp; fin</p>\r\n<p>Caf&#233; d&#39;essai &lt;ok&gt;</p>"
    assert html_to_text(html) == "Première ligne\nsuite & fin\nCafé d'essai <ok>"


def test_html_bullets_and_nested_lists() -> None:
    html = (
        "<p>Choix :</p>\n<ul>\n\t<li>un</li>\n\t<li>deux<ul><li>deux-a</li><li>deux-b"
        "<ul><li>profond</li></ul></li></ul></li>\n\t<li><strong>trois</strong></li>\n</ul><p>Apr&egrave;s</p>"
    )
    assert html_to_text(html) == (
        "Choix :\n* un\n* deux\n  * deux-a\n  * deux-b\n    * profond\n* trois\nAprès"
    )


def test_html_ordered_list_whitespace_and_blank_lines() -> None:
    html = "<div>  a   <span>b</span>\n c</div><ol><li>x</li><li>y</li></ol>z<br><br><br><br>w<p>&nbsp;</p>"
    assert html_to_text(html) == "a b c\n1. x\n2. y\nz\n\nw"


def test_html_placeholders_scripts_and_tables() -> None:
    assert html_to_text("<p>voir https://<hote>/chemin</p>") == "voir https://<hote>/chemin"
    assert html_to_text("<p><em>https://<hote</em>>/x</p>") == "https://<hote>/x"
    assert html_to_text("<p>a</p><script>var x = 1;</script><style>p {}</style><p>b</p>") == "a\nb"
    table = "<table><tr><td>c1</td><td>c2</td></tr><tr><td>d1</td><td>d2</td></tr></table>"
    assert html_to_text(table) == "c1 | c2\nd1 | d2"


def test_plain_text_passes_through() -> None:
    assert html_to_text("  ligne 1\r\nligne 2 < 3\r\n\r\n* puce  ") == "ligne 1\nligne 2 < 3\n\n* puce"
    assert html_to_text(None) == ""
    assert html_to_text(42) == "42"


def test_canonical_requirement_id() -> None:
    assert canonical_requirement_id("SC.SSI/IE.31") == "SSI/IE.31"
    assert canonical_requirement_id(" PFI.SSI/IE.31 ") == "SSI/IE.31"
    assert canonical_requirement_id("SC.\u00a0DMP/HISTO.01") == "DMP/HISTO.01"
    assert canonical_requirement_id("\u00a0DMP/HISTO.01") == "DMP/HISTO.01"
    assert canonical_requirement_id("SC.PSC.01") == "PSC.01"
    assert canonical_requirement_id("PSC.01") == "PSC.01"


# ---------------------------------------------------------------------------------------------
# refused input
# ---------------------------------------------------------------------------------------------


def test_unknown_layout_lists_expected_columns(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "rem.xlsx", [["Titre", "Texte"], ["A", "B"]], title="Feuille")
    with pytest.raises(UserError) as err:
        import_rem(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: unknown REM layout; expected one of: ")
    for column in ("ID", "Chapitre", "Exigence", "N° scénario", "N° preuve", "Preuve",
                   "N° exigence", "Énoncé", "N° preuve 1",
                   "REQ_VERSION_REFERENCE", "REQ_VERSION_DESCRIPTION"):
        assert column in message, column
    for layout in ("Convergence export (", "wide report (", "Squash REQUIREMENT sheet ("):
        assert layout in message


@pytest.mark.parametrize("content", [b"ID;Exigence\nSSI/IE.31;x\n", b""])
def test_not_an_xlsx_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "rem.xlsx"
    path.write_bytes(content)
    with pytest.raises(UserError) as err:
        import_rem(path)
    assert str(err.value).startswith(f"{path}: cannot open as an Excel workbook")
    assert "\n" not in str(err.value)


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="absent.xlsx: cannot read file"):
        import_rem(tmp_path / "absent.xlsx")


def test_bad_catalogue_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "rem.json"
    bad.write_text('{"layout": "squash"}', encoding="utf-8")
    with pytest.raises(UserError, match="rem.json: not a REM catalogue"):
        RemCatalog.load(bad)
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(UserError, match="rem.json: cannot read REM catalogue"):
        RemCatalog.load(bad)


# ---------------------------------------------------------------------------------------------
# workbooks built here
# ---------------------------------------------------------------------------------------------

# header spelled loosely on purpose: stray blanks, line breaks, case, missing accents
CONVERGENCE_HEADER = [
    "Périmètre", " id ", "CHAPITRE", "Fonction", "Exigence", "Commentaire", "Profil",
    "N°scenario", "Scénario de\nconformité", "n° Preuve", "Preuve ", "Profil historique",
    "Criticite", "Ordre",
]


def convergence_row(rid: str, scenario: str, proof: str, proof_text: str, crit: str = "Majeure") -> list[object]:
    return [
        "Vague 2", rid, "Chapitre d'essai", "Fonction d'essai",
        f"<p>Énoncé d'essai de {rid} : le logiciel DOIT agir.</p>",
        "", "Général", scenario, f"Scénario d'essai {scenario}", proof, proof_text, "", crit, 1,
    ]


def test_convergence_layout_grouping(tmp_path: Path) -> None:
    rows = [
        ["Export d'essai"],
        [],
        CONVERGENCE_HEADER,
        convergence_row("SSI/IE.31", "SSI/IE.31.01", "SSI/IE.31.01.02", "preuve deux"),
        convergence_row("SSI/IAM.94", "SSI/IAM.94.01", "SSI/IAM.94.01.01", "preuve un bis", "Mineure"),
        convergence_row("SC.SSI/IE.31", "SSI/IE.31.01", "SSI/IE.31.01.01", "preuve un"),
        [None] * 14,
        convergence_row("", "", "", "ligne sans id, ignorée"),
        convergence_row("SSI/IAM.94", "SSI/IAM.94.01", "SSI/IAM.94.01.02", "preuve deux bis"),
    ]
    path = write_xlsx(tmp_path / "convergence.xlsx", rows)
    catalog = import_rem(path)
    assert catalog.layout == LAYOUT_CONVERGENCE
    assert list(catalog.requirements) == ["SSI/IE.31", "SSI/IAM.94"]

    ie31 = catalog.get("SC.SSI/IE.31")
    assert ie31 is catalog.get("SSI/IE.31") is not None
    assert ie31.statement == "Énoncé d'essai de SSI/IE.31 : le logiciel DOIT agir."
    assert (ie31.chapter, ie31.function, ie31.profile, ie31.criticality) == (
        "Chapitre d'essai", "Fonction d'essai", "Général", "Majeure")
    assert ie31.squash_ref is None and ie31.nature is None and ie31.conditional is None
    assert len(ie31.scenarios) == 1
    scenario = ie31.scenarios[0]
    assert (scenario.id, scenario.number, scenario.text) == ("SSI/IE.31.01", 1, "Scénario d'essai SSI/IE.31.01")
    assert [(p.id, p.number, p.text) for p in scenario.proofs] == [
        ("SSI/IE.31.01.01", 1, "preuve un"),
        ("SSI/IE.31.01.02", 2, "preuve deux"),
    ]

    iam94 = catalog.get("SSI/IAM.94")
    assert iam94 is not None and iam94.criticality == "Mineure"
    assert [p.text for p in iam94.scenarios[0].proofs] == ["preuve un bis", "preuve deux bis"]
    assert_numbering(catalog)
    assert_round_trip(catalog, tmp_path)


def test_convergence_malformed_id_names_sheet_row_and_column(tmp_path: Path) -> None:
    rows = [CONVERGENCE_HEADER, convergence_row("SSI/IE.31", "SSI/IE.31.01", "SSI/IE.31.01.01", "p"),
            convergence_row("pas un identifiant", "", "", "")]
    path = write_xlsx(tmp_path / "bad.xlsx", rows, title="Onglet")
    with pytest.raises(UserError) as err:
        import_rem(path)
    message = str(err.value)
    assert message.startswith(f"{path}: sheet 'Onglet', row 3, column 'id': malformed requirement id")
    assert "'pas un identifiant'" in message and "\n" not in message


def test_convergence_proof_outside_its_scenario_is_refused(tmp_path: Path) -> None:
    rows = [CONVERGENCE_HEADER, convergence_row("SSI/IE.31", "SSI/IE.31.01", "SSI/IE.31.02.01", "p")]
    path = write_xlsx(tmp_path / "bad.xlsx", rows)
    with pytest.raises(UserError, match=r"row 2, column 'n° Preuve': proof id 'SSI/IE.31.02.01' is not"):
        import_rem(path)


def test_wide_layout(tmp_path: Path) -> None:
    header = ["Exigence conditionnelle\nOUI/NON", "Profil", "ID Section", "Section", "Bloc", "Fonction",
              "Nature de l'exigence", "N° exigence", "Enoncé de l'exigence (DOIT) ou de la préconisation (PEUT)",
              "N° scénario", "Scénario de conformité"]
    for k in range(1, 11):
        header += [f"N° preuve {k}", f"Preuve {k}"]
    row = ["OUI", "Général", "SSI/IE", "Section d'essai", "Bloc", "Fonction d'essai", "PRÉCONISATION",
           "SSI/IE.31", "Le logiciel PEUT faire&nbsp;ceci.", "SSI/IE.31.02", "Scénario d'essai",
           "SSI/IE.31.02.01", "élément un", "SSI/IE.31.02.02", "élément deux", "", "texte sans numéro"]
    path = write_xlsx(tmp_path / "wide.xlsx", [header, row + [""] * (len(header) - len(row))])
    catalog = import_rem(path)
    assert catalog.layout == LAYOUT_WIDE
    req = catalog.get("SC.SSI/IE.31")
    assert req is not None
    assert (req.conditional, req.nature, req.chapter, req.statement) == (
        True, "PRECONISATION", "Section d'essai", "Le logiciel PEUT faire ceci.")
    assert [(s.id, s.number) for s in req.scenarios] == [("SSI/IE.31.02", 2)]
    assert [(p.id, p.number, p.text) for p in req.scenarios[0].proofs] == [
        ("SSI/IE.31.02.01", 1, "élément un"),
        ("SSI/IE.31.02.02", 2, "élément deux"),
    ]
    assert_round_trip(catalog, tmp_path)


SQUASH_HEADER = [
    "ACTION", "REQ_ID", "REQ_PATH", "REQ_VERSION_NUM", "REQ_VERSION_ID", "REQ_VERSION_REFERENCE",
    "REQ_VERSION_CRITICALITY", "REQ_VERSION_CATEGORY", "REQ_VERSION_STATUS", "REQ_VERSION_DESCRIPTION",
    "REQ_VERSION_CREATED_ON", "REQ_VERSION_LAST_MODIFIED_ON", "REQ_VERSION_CUF_FONCTION",
    "REQ_VERSION_CUF_PROFIL", "REQ_VERSION_CUF_SECTION",
]


def squash_row(action: str, req_id: int, num: int, ref: str, status: str, text: str, modified: str,
               category: str = "CRI", path: str = "/REM/chemin") -> list[object]:
    return [action, req_id, path, num, req_id * 10 + num, ref, "MAJOR", category, status, text,
            "2022-01-01", modified, "Fonction d'essai", "Général", "SSI/IE_Section d'essai"]


def test_squash_versions_rule(tmp_path: Path) -> None:
    rows = [
        SQUASH_HEADER,
        # SSI/IE.31: APPROVED beats a later UNDER_REVIEW and an even later WORK_IN_PROGRESS
        squash_row("U", 1, 1, "SC.SSI/IE.31", "APPROVED", "<p>approuvée</p>", "2022-02-01"),
        squash_row("U", 1, 2, "SC.SSI/IE.31", "UNDER_REVIEW", "<p>en revue</p>", "2022-03-01"),
        squash_row("U", 1, 3, "SC.SSI/IE.31", "WORK_IN_PROGRESS", "<p>en cours</p>", "2022-04-01"),
        # SSI/IE.32: UNDER_REVIEW beats a later WORK_IN_PROGRESS
        squash_row("U", 2, 1, "SC.SSI/IE.32", "UNDER_REVIEW", "<p>en revue</p>", "2022-02-01"),
        squash_row("U", 2, 2, "SC.SSI/IE.32", "WORK_IN_PROGRESS", "<p>r&eacute;cente</p>", "2022-05-01"),
        # SSI/IE.33: equal status, the date decides; same day, the highest version number
        squash_row("U", 3, 1, "SC.SSI/IE.33", "APPROVED", "<p>ancienne</p>", "2022-02-01"),
        squash_row("U", 3, 2, "SC.SSI/IE.33", "APPROVED", "<p>récente</p>", "2022-05-01", category="PRECO"),
        squash_row("U", 3, 3, "SC.SSI/IE.33", "APPROVED", "<p>récente bis</p>", "2022-05-01", category="PRECO"),
        # OBSOLETE versions are left out, however recent; only obsolete versions: no requirement
        squash_row("U", 4, 1, "SC.SSI/IE.34", "OBSOLETE", "<p>retirée</p>", "2022-05-01"),
        squash_row("U", 5, 1, "SC.SSI/IE.36", "WORK_IN_PROGRESS", "<p>vivante</p>", "2022-02-01"),
        squash_row("U", 5, 2, "SC.SSI/IE.36", "OBSOLETE", "<p>obsolète récente</p>", "2022-09-01"),
        # a deletion in an update sheet is not a requirement; an empty reference is skipped
        squash_row("D", 6, 1, "SC.SSI/IE.35", "APPROVED", "<p>supprimée</p>", "2022-05-01"),
        squash_row("U", 7, 1, "", "APPROVED", "<p>sans référence</p>", "2022-05-01"),
    ]
    catalog = import_rem(write_xlsx(tmp_path / "squash.xlsx", rows, title="REQUIREMENT"))
    assert catalog.layout == LAYOUT_SQUASH_UPDATE and catalog.project == "REM"
    assert list(catalog.requirements) == ["SSI/IE.31", "SSI/IE.32", "SSI/IE.33", "SSI/IE.36"]
    ie31 = catalog.get("SC.SSI/IE.31")
    assert (ie31.statement, ie31.status, ie31.version, ie31.squash_ref) == ("approuvée", "APPROVED", 1,
                                                                          "SC.SSI/IE.31")
    assert (ie31.nature, ie31.criticality, ie31.chapter, ie31.chapter_code, ie31.profile) == (
        "EXIGENCE", "Majeure", "Section d'essai", "SSI/IE", "Général")
    assert ie31.scenarios == [] and ie31.conditional is None and ie31.project == "REM"
    assert (catalog.get("SSI/IE.32").statement, catalog.get("SSI/IE.32").status) == ("en revue", "UNDER_REVIEW")
    ie33 = catalog.get("SSI/IE.33")
    assert (ie33.statement, ie33.nature, ie33.version) == ("récente bis", "PRECONISATION", 3)
    assert "SSI/IE.34" not in catalog and "SSI/IE.35" not in catalog
    assert (catalog.get("SSI/IE.36").statement, catalog.get("SSI/IE.36").status) == ("vivante", "WORK_IN_PROGRESS")
    assert_round_trip(catalog, tmp_path)


def test_squash_export_without_action_column(tmp_path: Path) -> None:
    header = ["PROJECT_NAME", "REQ_VERSION_REFERENCE", "REQ_VERSION_DESCRIPTION"]
    rows = [["titre"], header, ["Projet", "SC.PSC.01", "<p>un</p>"], ["Projet", "PSC.01", ""]]
    catalog = import_rem(write_xlsx(tmp_path / "export.xlsx", rows, title="REQUIREMENT"))
    assert catalog.layout == LAYOUT_SQUASH
    assert list(catalog.requirements) == ["PSC.01"]
    assert catalog.get("SC.PSC.01").statement == "un"


def test_squash_malformed_reference(tmp_path: Path) -> None:
    rows = [["REQ_VERSION_REFERENCE", "REQ_VERSION_DESCRIPTION"], ["SC.SSI/IE.31", "x"], ["SSI", "y"]]
    path = write_xlsx(tmp_path / "export.xlsx", rows, title="REQUIREMENT")
    with pytest.raises(UserError, match=r"sheet 'REQUIREMENT', row 3, column 'REQ_VERSION_REFERENCE': malformed"):
        import_rem(path)


# ---------------------------------------------------------------------------------------------
# one REM project at a time, and LINK_REQ_REQ (invented texts)
# ---------------------------------------------------------------------------------------------

DPI, BIO, SSI, PSC = ("REM_HOP-DPI_Hôpital [va2]", "REM_BIO_Biologie [va2]", "SC_SSI_Sécurité [va2]",
                      "SC_PSC_Pro Sante Connect [va2]")
EXPORT_HEADER = ["PROJECT_NAME", "REQ_PATH", "REQ_VERSION_NUM", "REQ_VERSION_ID", "REQ_VERSION_REFERENCE",
                 "REQ_VERSION_STATUS", "REQ_VERSION_DESCRIPTION", "REQ_VERSION_CREATED_ON",
                 "REQ_VERSION_LAST_MODIFIED_ON", "REQ_VERSION_CUF_SECTION"]


def export_row(project: str, leaf: str, num: int, ref: str, status: str, text: str, modified: str) -> list[object]:
    return [project, f"/{project}/Profil Général/{leaf}", num, hash((project, leaf, num)) % 10**6, ref, status,
            text, "2022-01-01", modified, "SSI/IE_Section d'essai"]


def write_export(path: Path, rows: list[list[object]], links: list[list[object]] | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "REQUIREMENT"
    for row in [EXPORT_HEADER, *rows]:
        ws.append(row)
    if links is not None:
        lk = wb.create_sheet("LINK_REQ_REQ")
        lk.append(["REQ_PATH", "REQ_VERSION_NUM", "RELATED_REQ_PATH", "RELATED_REQ_VERSION_NUM", "RELATED_REQ_ROLE"])
        for row in links:
            lk.append(row)
    wb.save(path)
    return path


def test_several_projects_are_refused_in_one_line_without_a_project(tmp_path: Path) -> None:
    path = write_export(tmp_path / "export.xlsx", [
        export_row(DPI, "a", 1, "SSI/IE.31", "APPROVED", "", "2022-01-01"),
        export_row(DPI, "b", 1, "SSI/IE.32", "APPROVED", "", "2022-01-01"),
        export_row(BIO, "a", 1, "SSI/IE.31", "APPROVED", "", "2022-01-01"),
        export_row(SSI, "a", 1, "SC.SSI/IE.31", "APPROVED", "<p>socle</p>", "2022-01-01"),
    ])
    with pytest.raises(UserError) as err:
        import_rem(path)
    message = str(err.value)
    assert "\n" not in message
    assert message == (f"{path}: holds 3 REM projects: BIO (1 requirement), HOP-DPI (2 requirements), "
                       "SC_SSI (1 requirement); expected --rem-project CODE (or rem_project: CODE in the "
                       "campaign) naming the one to import")
    with pytest.raises(UserError, match=r"no REM project 'HOP-XYZ' in this workbook; expected one of: BIO"):
        import_rem(path, "HOP-XYZ")
    # the full project name works too
    assert import_rem(path, DPI).project_code == "HOP-DPI"
    assert set(import_rem(path, "SC_SSI").requirements) == {"SSI/IE.31"}


def test_a_project_never_takes_another_projects_version(tmp_path: Path) -> None:
    # PSC.08 as in ANS's export: REM HOP-DPI's version is APPROVED (and older), the socle's UNDER_REVIEW
    path = write_export(tmp_path / "export.xlsx", [
        export_row(DPI, "eidas", 1, "SC.PSC.08", "APPROVED", "<p>texte approuvé du REM DPI</p>", "2022-10-14"),
        export_row(DPI, "eidas", 2, "PSC.08", "WORK_IN_PROGRESS", "", "2022-10-25"),
        export_row(PSC, "eidas", 2, "SC.PSC.08", "UNDER_REVIEW", "<p>texte du socle en revue</p>", "2022-10-27"),
        # a Biologie (SGL) version of CDA/DD.05, APPROVED and the latest: another REM's
        export_row(BIO, "dd", 1, "SGL.CDA/DD.05", "APPROVED", "<p>texte Biologie</p>", "2023-01-09"),
    ])
    dpi = import_rem(path, "HOP-DPI")
    psc = dpi.get("PSC.08")
    assert (psc.statement, psc.status, psc.version, psc.project) == ("texte approuvé du REM DPI", "APPROVED", 1, DPI)
    assert "CDA/DD.05" not in dpi and dpi.linked == {}
    assert import_rem(path, "BIO").get("CDA/DD.05").statement == "texte Biologie"


def test_a_sheet_naming_no_project_keeps_business_prefixes_apart(tmp_path: Path) -> None:
    # an update-like sheet without PROJECT_NAME or REQ_PATH: SGL. says "REM Biologie"
    rows = [["REQ_VERSION_REFERENCE", "REQ_VERSION_STATUS", "REQ_VERSION_DESCRIPTION"],
            ["SC.SSI/IE.31", "APPROVED", "<p>socle</p>"], ["SGL.CDA/DD.05", "APPROVED", "<p>texte Biologie</p>"]]
    path = write_xlsx(tmp_path / "maj.xlsx", rows, title="REQUIREMENT")
    with pytest.raises(UserError, match=r"holds 2 REM projects: BIO \(1 requirement\), \(no project named\)"):
        import_rem(path)
    dpi = import_rem(path, "HOP-DPI")
    assert list(dpi.requirements) == ["SSI/IE.31"] and dpi.project == "HOP-DPI"


def test_link_req_req_parent_and_children(tmp_path: Path) -> None:
    dpi_path = f"/{DPI}/Profil Général/alim"
    rows = [
        export_row(DPI, "alim", 1, "DMP/CONF.04", "WORK_IN_PROGRESS", "", "2022-10-26"),
        export_row(DPI, "ie31", 1, "SSI/IE.31", "APPROVED", "", "2022-10-25"),
        export_row("SC_CDA_Modalités CDA [va2]", "meta", 1, "SC.CDA/META.01", "WORK_IN_PROGRESS",
                   "<p>texte du socle CDA</p>", "2022-10-27"),
        export_row("SC_DMP_Dossier [va2]", "conf04", 1, "SC.DMP/CONF.04", "OBSOLETE", "<p>texte obsolète</p>",
                   "2022-10-26"),
        export_row(SSI, "ie31", 1, "SC.SSI/IE.31", "APPROVED", "<p>texte du socle SSI</p>", "2022-10-28"),
        export_row(BIO, "ie31", 1, "SSI/IE.31", "APPROVED", "", "2022-10-25"),
    ]
    links = [  # written socle first or project first, with either role, as in ANS's export
        ["/SC_CDA_Modalités CDA [va2]/Profil Général/meta", 1, dpi_path, 1, "SEGUR_PARENT"],
        ["/SC_DMP_Dossier [va2]/Profil Général/conf04", 1, dpi_path, 1, "SEGUR_PARENT"],
        [f"/{DPI}/Profil Général/ie31", 1, f"/{SSI}/Profil Général/ie31", 1, "SEGUR_PARENT"],
        [f"/{SSI}/Profil Général/ie31", 1, f"/{BIO}/Profil Général/ie31", 1, "SEGUR_DERIVATED"],
        ["/zz_REM_archive/x", 1, dpi_path, 1, "SEGUR_PARENT"],  # a path the sheet does not hold: ignored
    ]
    path = write_export(tmp_path / "export.xlsx", rows, links)
    dpi = import_rem(path, "HOP-DPI")
    conf04 = dpi.get("DMP/CONF.04")
    assert [(p.reference, p.project_code, p.status) for p in conf04.parents] == [
        ("SC.CDA/META.01", "SC_CDA", "WORK_IN_PROGRESS"), ("SC.DMP/CONF.04", "SC_DMP", "OBSOLETE")]
    parent = dpi.wording_parent(conf04)  # never the OBSOLETE parent
    assert (parent.squash_ref, parent.statement, parent.project) == (
        "SC.CDA/META.01", "texte du socle CDA", "SC_CDA_Modalités CDA [va2]")
    assert [(c.id, c.project) for c in parent.children] == [("DMP/CONF.04", DPI)]
    ie31 = dpi.get("SSI/IE.31")
    assert dpi.wording_parent(ie31).statement == "texte du socle SSI"
    # the other way round: the socle requirement knows the requirements derived from it
    socle = import_rem(path, "SC_SSI").get("SSI/IE.31")
    assert sorted((c.project_code, c.reference) for c in socle.children) == [("BIO", "SSI/IE.31"),
                                                                           ("HOP-DPI", "SSI/IE.31")]
    assert_round_trip(dpi, tmp_path)

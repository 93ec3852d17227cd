"""``segur catalog …``, ``segur justify --check`` and ``segur bundle``: the REM, justifications, filing.

Registered on the main parser by :func:`register` (one line in :mod:`segur_helpers.cli`).

- ``segur catalog import FILE.xlsx --campaign PARAMS`` imports the REM workbook (Convergence export,
  wide report, Squash REQUIREMENT or update sheet) into the JSON catalogue the params' ``rem:`` key
  names (relative to the params file); when the params have no ``rem:`` key, the catalogue is written
  beside them as ``<params>.rem.json`` and a ``rem:`` line is appended to the params file.
  ``--out PATH`` writes the catalogue there instead. An existing catalogue is replaced only with
  ``--replace``. A Squash workbook holds several REM projects: ``--rem-project CODE`` (or the
  campaign's ``rem_project:``) names the one imported (``HOP-DPI``, ``SC_SSI``…); without it such a
  workbook is refused with the list of its projects.
- ``segur catalog list | show ID | coverage`` read the REM given by ``--rem PATH`` or by the campaign's
  ``rem:`` key (``--campaign PARAMS``); ``coverage`` says, for every requirement of the REM, whether the
  project has a scenario notebook, the campaign a justification, or nothing (``--xlsx PATH`` too).
- ``segur justify --check PARAMS`` lints the conditions and justifications, one line per problem.
- ``segur bundle RUN`` writes the per-chapter folders and zips to upload, and the status workbook.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError

COVERAGE_COLUMNS = ("ID", "Chapitre", "Fonction", "Nature", "Conditionnelle", "Couverture", "Détail", "Carnet(s)",
                    "Campagne", "Dans le REM importé", "Criticité", "Statut Squash", "Version Squash")
COVERAGE_FR = {"notebook": "carnet de scénario", "justification": "justification (condition non remplie)",
               "catalogue only": "au catalogue, carnet manquant", "nothing": "rien"}


def register(sub) -> None:
    """Add ``catalog``, ``justify`` and ``bundle`` to the ``segur`` subcommands."""
    cat = sub.add_parser("catalog", help="the imported REM and the project's coverage of it")
    csub = cat.add_subparsers(dest="catalog_command", required=True)

    imp = csub.add_parser("import", help="import a REM workbook (.xlsx) into the campaign's catalogue")
    imp.add_argument("file", type=Path, help="REM workbook: Convergence export, wide report or Squash sheet")
    where = imp.add_mutually_exclusive_group(required=True)
    where.add_argument("--campaign", type=Path, help="campaign params whose rem: catalogue receives the REM")
    where.add_argument("--out", type=Path, help="write the catalogue (JSON) to this path")
    imp.add_argument("--replace", action="store_true", help="replace an existing catalogue")
    imp.add_argument("--rem-project", metavar="CODE",
                     help="the REM project to import from a Squash workbook holding several: HOP-DPI, HOP-PFI, "
                          "BIO, LGC, RIS, DB, SC_SSI, SC_DMP, SC_MSS, SC_PSC, SC_CDA… (default: the campaign's "
                          "rem_project:)")
    imp.set_defaults(func=_cmd_import)

    for name, helptext, fn in (("list", "the requirements of the imported REM (else the project's)", _cmd_list),
                               ("show", "one requirement: the project's summary and the REM's wording", _cmd_show),
                               ("coverage", "per REM requirement: automated, guided, justified, out of profile "
                                            "or missing (the dossier)",
                                _cmd_coverage)):
        p = csub.add_parser(name, help=helptext)
        if name == "show":
            p.add_argument("id", help="requirement id, e.g. SSI/IE.31 or SC.SSI/IE.31")
        src = p.add_mutually_exclusive_group()
        src.add_argument("--campaign", type=Path, help="campaign params (its rem: catalogue, its justifications)")
        src.add_argument("--rem", type=Path, help="a REM catalogue (JSON) or workbook (.xlsx)")
        p.add_argument("--rem-project", metavar="CODE", help="with --rem WORKBOOK.xlsx: the REM project to read")
        if name == "coverage":
            p.add_argument("--xlsx", type=Path, help="also write the table to this new .xlsx file")
        p.set_defaults(func=fn)

    just = sub.add_parser("justify", help="justifications of unmet conditions")
    just.add_argument("--check", type=Path, required=True, metavar="PARAMS",
                      help="lint the campaign's conditions and justifications (exit 2 on any problem)")
    just.set_defaults(func=_cmd_justify_check)

    bun = sub.add_parser("bundle", help="per-chapter folders and zips to upload, and the status workbook")
    bun.add_argument("run", type=Path, help="a run folder (outputs/<campaign>/<run-id>)")
    bun.add_argument("--out", type=Path, help="bundle folder (default: <outputs>/bundles/<campaign>/<run-id>)")
    bun.set_defaults(func=_cmd_bundle)


# -- import --------------------------------------------------------------------------------------------

def _refuse_existing(path: Path, replace: bool, key: str = "--out") -> None:
    if path.is_dir():
        raise UserError("is a folder; expected the path of the catalogue file to write (JSON), e.g. rem.json",
                        file=str(path), key=key)
    if path.exists() and not replace:
        raise UserError("already exists; expected --replace to replace the imported REM", file=str(path))
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        raise UserError(f"cannot be written ({parent} is not a writable folder); expected a writable place",
                        file=str(path), key=key)


def _save(rem, target: Path) -> None:
    try:
        rem.save(target)
    except OSError as exc:
        raise UserError(f"cannot be written ({exc.strerror or exc}); expected a writable place", file=str(target)) from None


def _cmd_import(args) -> int:
    from .catalog.rem import import_rem

    if args.out:
        target = args.out
        _refuse_existing(target, args.replace)
        rem = import_rem(args.file, args.rem_project)
        _save(rem, target)
        print(_imported(rem, target))
        return 0
    from .params import load_campaign

    # a justification still to fix (segur justify --check says so) does not block importing the REM
    campaign = load_campaign(args.campaign, problems=[], require_rem=False)
    for line in campaign.notices:
        print(line, file=sys.stderr)
    target = campaign.rem_path or campaign.path.with_name(campaign.path.stem + ".rem.json")
    _refuse_existing(target, args.replace, key="rem")
    project = args.rem_project or campaign.rem_project
    rem = import_rem(args.file, project)  # everything read and checked before anything is written
    _save(rem, target)
    print(_imported(rem, target))
    lines = []
    if campaign.rem_path is None:
        lines.append(f"# REM catalogue written by segur catalog import ({rem.source}); proofs and "
                     f"justifications quote its wording\nrem: {target.name}\n")
    if campaign.rem_project is None and rem.project_code and rem.layout.startswith("squash"):
        lines.append(f"# the REM project segur catalog import takes from a Squash workbook\n"
                     f"rem_project: {rem.project_code}\n")
    if lines:
        text = campaign.path.read_text(encoding="utf-8")
        sep = "" if text.endswith("\n") else "\n"
        with open(campaign.path, "a", encoding="utf-8") as fh:
            fh.write(sep + "".join(lines))
        if campaign.rem_path is None:
            print(f"{args.campaign}: added rem: {target.name}")
        if campaign.rem_project is None and rem.project_code and rem.layout.startswith("squash"):
            print(f"{args.campaign}: added rem_project: {rem.project_code}")
    return 0


def _imported(rem, target) -> str:
    project = f", REM project {rem.project_code} ({rem.project})" if rem.project else ""
    return (f"imported {len(rem)} requirements from {rem.source} ({rem.layout} layout{project}) → {target}")


# -- list / show / coverage ----------------------------------------------------------------------------

def _sources(args):
    """(campaign or None, REM catalogue or None) from --campaign / --rem."""
    from .catalog.rem import RemCatalog, import_rem
    from .params import load_campaign

    if getattr(args, "campaign", None):
        campaign = load_campaign(args.campaign, problems=[])  # planning views: justifications linted elsewhere
        return campaign, campaign.rem()
    if getattr(args, "rem", None):
        rem = (import_rem(args.rem, getattr(args, "rem_project", None)) if args.rem.suffix.lower() == ".xlsx"
               else RemCatalog.load(args.rem))
        return None, rem
    return None, None


@dataclass
class CoverageRow:
    id: str
    chapter: str
    function: str
    nature: str
    conditional: str
    status: str          # notebook | justification | catalogue only | nothing
    notebooks: str
    campaign: str
    in_rem: bool
    criticality: str = ""
    status_squash: str = ""
    chapter_title: str = ""
    version: str = ""


def coverage_rows(rem, campaign=None) -> list[CoverageRow]:
    """Every requirement of the REM (then the project's requirements the REM lacks), with its coverage."""
    from . import catalog
    from .catalog.wording import chapter

    known = catalog.catalog()
    scope = campaign.requirements if campaign else {}
    rows = []
    ids = list(rem.requirements) + [rid for rid in known if rid not in rem]
    for rid in ids:
        official = rem.get(rid)
        mine = known.get(rid)
        notebooks = [s.notebook for s in mine.scenarios] if mine else []
        have_all = bool(mine) and all(s.notebook_path.is_file() for s in mine.scenarios)
        entry = scope.get(rid)
        justified = bool(entry) and not entry["condition_met"] and entry.get("justification") is not None
        status = ("justification" if justified else "notebook" if have_all
                  else "catalogue only" if mine else "nothing")
        if entry is None:
            in_campaign = "hors périmètre" if campaign else ""
        else:
            in_campaign = "condition non remplie" if not entry["condition_met"] else "dans le périmètre"
        cond = official.conditional if official and official.conditional is not None else (
            mine.conditional if mine else None)
        ch = chapter(rid, rem)
        rows.append(CoverageRow(
            id=rid, chapter=ch.code, chapter_title=ch.title,
            version=str(official.version) if official and official.version else "",
            function=(official.function if official and official.function else mine.function if mine else ""),
            nature=(official.nature or "") if official else "",
            conditional={True: "OUI", False: "NON", None: ""}[cond], status=status,
            notebooks=", ".join(notebooks), campaign=in_campaign, in_rem=official is not None,
            criticality=(official.criticality or "") if official else "",
            status_squash=(official.status or "") if official else ""))
    return rows


def _cmd_list(args) -> int:
    from . import catalog

    campaign, rem = _sources(args)
    if rem is None:
        for req in catalog.catalog().values():
            kind = "conditional" if req.conditional else "unconditional"
            print(f"{req.id:<16} {req.chapter:<10} {kind:<13} {len(req.scenarios)} scenario(s)  {req.title}")
        print(f"{len(catalog.catalog())} requirement(s) in the project's catalogue (no REM imported)")
        return 0
    by_id = {r.id: r for r in coverage_rows(rem, campaign)}
    for rid, req in rem.requirements.items():
        first = (req.statement.splitlines() or [""])[0]
        if not first:
            parent = rem.wording_parent(req)
            first = f"(no wording of its own; socle parent {parent.squash_ref}, {parent.project})" if parent \
                else "(no wording in the REM)"
        print(f"{rid:<18} {by_id[rid].chapter[:14]:<14} {(req.status or '')[:16]:<16} {by_id[rid].status:<14} "
              f"{first[:60]}{'…' if len(first) > 60 else ''}")
    project = f", REM project {rem.project_code} ({rem.project})" if rem.project else ""
    print(f"{len(rem)} requirement(s) in {rem.source} ({rem.layout} layout{project})")
    return 0


def _cmd_show(args) -> int:
    from . import catalog
    from .ids import normalize_requirement_id

    campaign, rem = _sources(args)
    rid = normalize_requirement_id(args.id)
    mine = catalog.get(rid)
    official = rem.get(rid) if rem is not None else None
    if mine is None and official is None:
        where = f"the imported REM ({rem.source})" if rem is not None else "the project's catalogue"
        raise UserError(f"{args.id!r} is neither in {where} nor in the project's catalogue; expected an id "
                        "such as SSI/IE.31", key="ID")
    print(rid)
    if mine:
        print(f"  project: {mine.title}")
        print(f"  chapter: {mine.chapter} — {mine.function}")
        print(f"  conditional: {'yes' if mine.conditional else 'no'}")
        if mine.conditional:
            print(f"  condition (project's summary): {mine.condition}")
        print(f"  summary (project's own words): {mine.summary}")
        for s in mine.scenarios:
            state = "notebook ok" if s.notebook_path.is_file() else "NOTEBOOK MISSING"
            print(f"  scenario {s.id}: {s.title} [{s.notebook}: {state}]")
            for pid, text in s.proofs:
                print(f"    {pid}: {text}")
        if mine.id_source:
            print(f"  id source (where the REM lacks it): {mine.id_source}")
        if mine.related:
            print(f"  related REM requirements: {', '.join(mine.related)}")
    else:
        print("  project: not in the project's catalogue (no scenario notebook)")
    if rem is None:
        print("  REM: none imported (segur catalog import FILE.xlsx --campaign PARAMS)")
    elif official is None:
        print(f"  REM: not in {rem.source}")
    else:
        from .catalog.wording import condition_clause

        from .catalog.wording import chapter

        ch = chapter(rid, rem)
        print(f"  REM ({rem.source}, {rem.layout} layout{', project ' + rem.project if rem.project else ''}): "
              f"squash ref {official.squash_ref or '—'}, version {official.version or '—'}, status "
              f"{official.status or '—'}, chapter {ch.label or '—'}, function {official.function or '—'}, "
              f"nature {official.nature or '—'}, criticality {official.criticality or '—'}")
        for link in official.parents:
            print(f"  socle parent: {link.reference} ({link.project}, version {link.version or '—'}, "
                  f"status {link.status or '—'})")
        for link in official.children:
            print(f"  derived: {link.reference} ({link.project}, version {link.version or '—'}, "
                  f"status {link.status or '—'})")
        quoted = official if official.statement else rem.wording_parent(official)
        if quoted is not official and quoted is not None:
            print(f"  statement (no wording of its own: socle parent {quoted.squash_ref}'s, {quoted.project}):")
        else:
            print("  statement:")
        for line in (quoted.statement.splitlines() if quoted else []) or ["—"]:
            print(f"    {line}")
        clause = condition_clause(quoted.statement) if quoted else ""
        if clause:
            print(f"  condition clause: {clause}")
        for s in official.scenarios:
            print(f"  scenario {s.id}: {s.text}")
            for p in s.proofs:
                print(f"    {p.id}: {p.text}")
    if campaign is not None:
        entry = campaign.requirements.get(rid)
        state = ("not in the campaign" if entry is None else "condition met: proof by notebook"
                 if entry["condition_met"] else "condition NOT met: justification")
        print(f"  campaign {campaign.name}: {state}")
    return 0


def _cmd_coverage(args) -> int:
    from .dossier import KINDS, classify

    campaign, rem = _sources(args)
    if rem is None:
        raise UserError("no REM imported; expected --rem PATH (catalogue or workbook) or --campaign PARAMS "
                        "whose rem: key names one (segur catalog import FILE.xlsx --campaign PARAMS)")
    if args.xlsx and args.xlsx.exists():
        raise UserError("already exists; expected a new .xlsx path (nothing is overwritten)", file=str(args.xlsx))
    rows = classify(rem, campaign)
    extra = {r.id: r for r in coverage_rows(rem, campaign)}
    print(f"{'ID':<18} {'chapter':<14} {'cond.':<5} {'coverage':<15} detail / campaign")
    for r in rows:
        x = extra.get(r.id)
        socle = rem.linked_socle(r.id) if not r.in_rem else None
        absent = "" if r.in_rem else (f"socle parent of {', '.join(c.reference for c in socle.children)} in the REM"
                                      if socle else "NOT IN THE REM")
        where = " · ".join(v for v in (r.detail, x.campaign if x else "", absent) if v)
        print(f"{r.id:<18} {r.chapter[:14]:<14} {(x.conditional if x else '') or '?':<5} "
              f"{r.kind.replace('_', ' '):<15} {where}")
    chapters: dict[str, dict[str, int]] = {}
    for r in rows:
        if r.in_rem:
            c = chapters.setdefault(r.chapter, {k: 0 for k in KINDS})
            c[r.kind] += 1
    print("per chapter:")
    from .summary import natural_key
    for code, c in sorted(chapters.items(), key=lambda kv: natural_key(kv[0])):
        print(f"  {code:<14} {sum(c.values()):>3}: " + ", ".join(f"{c[k]} {k.replace('_', ' ')}" for k in KINDS))
    counts = {k: sum(1 for r in rows if r.in_rem and r.kind == k) for k in KINDS}
    print(f"{len(rem)} requirement(s) in {rem.source}{' (' + rem.project + ')' if rem.project else ''}: "
          + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in counts.items())
          + (f"; {sum(1 for r in rows if not r.in_rem)} of the campaign's or the project's not in the REM"
             if any(not r.in_rem for r in rows) else ""))
    if args.xlsx:
        _write_coverage(args.xlsx, rows, extra, rem, campaign)
        print(f"XLSX: {args.xlsx}")
    return 0


def _write_coverage(path: Path, rows, extra: dict, rem, campaign) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    from .dossier import KIND_FR, KINDS
    from .summary import DOSSIER_FILLS

    wb = Workbook()
    ws = wb.active
    ws.title = "Couverture"
    ws.append(list(COVERAGE_COLUMNS))
    for cell in ws[1]:
        cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F7")
    for r in rows:
        x = extra.get(r.id)
        ws.append([r.id, f"{r.chapter} — {r.chapter_title}" if r.chapter_title else r.chapter, r.function,
                   x.nature if x else "", x.conditional if x else "", KIND_FR[r.kind], r.detail,
                   x.notebooks if x else "", x.campaign if x else "", "oui" if r.in_rem else "non",
                   x.criticality if x else "", r.status, r.version])
        ws.cell(ws.max_row, 6).fill = PatternFill("solid", fgColor=DOSSIER_FILLS[r.kind])
    for col, width in zip("ABCDEFGHIJKLM", (18, 30, 34, 14, 14, 30, 40, 24, 22, 12, 11, 18, 10)):
        ws.column_dimensions[col].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    per = wb.create_sheet("Chapitres")
    per.append(["Chapitre", *(KIND_FR[k] for k in KINDS), "Total"])
    chapters: dict[str, list] = {}
    for r in rows:
        if r.in_rem:
            c = chapters.setdefault(f"{r.chapter} — {r.chapter_title}" if r.chapter_title else r.chapter,
                                    [0] * len(KINDS))
            c[KINDS.index(r.kind)] += 1
    for label, c in chapters.items():
        per.append([label, *c, sum(c)])
    per.column_dimensions["A"].width = 60
    info = wb.create_sheet("Source")
    for k, v in (("REM importé", rem.source), ("Format", rem.layout), ("Projet REM", rem.project or ""),
                 ("SHA-256", rem.sha256), ("Exigences", len(rem)), ("Campagne", campaign.name if campaign else ""),
                 ("Profil du produit", (campaign.profile or "") if campaign else "")):
        info.append([k, v])
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 16, 70
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    wb.save(str(tmp))
    tmp.replace(path)


# -- justify / bundle ----------------------------------------------------------------------------------

def _cmd_justify_check(args) -> int:
    from .params import _as_date, load_campaign, today_paris

    problems: list[UserError] = []
    campaign = load_campaign(args.check, problems=problems)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return 2
    justified = [(rid, e["justification"]) for rid, e in campaign.requirements.items() if not e["condition_met"]]
    for rid, j in justified:
        days = (_as_date(j["expires"]) - today_paris()).days
        print(f"{rid}: justification ok — signed by {j['signatory']['name']} ({j['signatory']['role']}), "
              f"expires {_as_date(j['expires']).isoformat()} (in {days} days)")
        if days < 30:
            print(f"warning: {args.check}: requirements.{rid}.justification.expires: expires in {days} days; "
                  "renew it before filing", file=sys.stderr)
    print(f"{args.check}: {len(justified)} justification(s), no problem")
    return 0


def _cmd_bundle(args) -> int:
    from .bundle import make_bundle

    bundle = make_bundle(args.run, args.out)
    for scenario, verdict in bundle.skipped:
        print(f"warning: {scenario} is {verdict}: not filed (only CONFORME and NON APPLICABLE proofs are)",
              file=sys.stderr)
    for z in bundle.zips:
        print(f"zip: {z}")
    print(f"status: {bundle.status}")
    print(f"bundle: {bundle.folder} ({len(bundle.filed)} proof file(s) in {len(bundle.zips)} chapter(s))")
    return 0

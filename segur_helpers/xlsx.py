"""The reviewer-facing workbooks' common layout (run summary, filing status): one table sheet with a
bold header, wrapped cells, a frozen header row and a filter, plus an "Exécution" sheet of run facts."""
from __future__ import annotations

from typing import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

HEADER_FILL = "EEF2F7"


def table_workbook(title: str, columns: Sequence[str], rows: Iterable[Sequence], widths: Sequence[int]) -> Workbook:
    """A workbook whose first sheet ``title`` holds ``columns`` then ``rows``, each column ``widths[i]`` wide."""
    wb = Workbook()
    ws = wb.active
    ws.title = title
    ws.append(list(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    for row in rows:
        ws.append(list(row))
    for i, width in enumerate(widths, 1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    return wb


def add_run_sheet(wb: Workbook, facts: Sequence[tuple[str, str]]):
    """The "Exécution" sheet: one row per run fact (French label, value), under a header row."""
    info = wb.create_sheet("Exécution")
    info.append(["Élément", "Valeur"])
    for cell in info[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
    for label, value in facts:
        info.append([label, value])
    info.column_dimensions["A"].width, info.column_dimensions["B"].width = 30, 70
    return info

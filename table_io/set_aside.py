"""Pieces of a sheet that look like tables to detection but carry no data.

A hidden scratch sheet with one number in it, a stray label far from the table, a header with
no rows under it: counting these as tables gives the agent junk to query (a table ``calc``
with a column named ``42`` and no rows). They are kept out of ``Workbook.tables`` and listed in
``Workbook.set_aside`` with the reason in words, so nothing disappears without a trace.
"""

from __future__ import annotations

import re

from table_io.cell_types import display_text, is_blank
from table_io.grid import SheetGrid
from table_io.model import SetAside, Table, column_index

_PREVIEW_CELLS = 3
_PREVIEW_CHARS = 60
# at most this many values in one column with no header are loose values, not a table
_LOOSE_VALUES = 2
_A1 = re.compile(r"^([A-Z]+)(\d+)$")


def set_aside_reason(table: Table) -> str | None:
    """Why ``table`` is no table (in words), or None when it carries data.

    A single cell; a header with no data rows under it; one or two values in one column with no
    header. A one-row table under a header is a table."""
    top_left, _, bottom_right = table.range.partition(":")
    if top_left == bottom_right:
        return "one cell, no header"
    if table.n_rows == 0:
        if table.total_row_numbers:
            return "no data rows (a header and a total only)"
        return "no data rows (a header only)" if len(table.columns) > 1 else "no data rows"
    if not table.header_rows and len(table.columns) == 1 and table.n_rows <= _LOOSE_VALUES:
        return "loose values in one column, no header"
    return None


def is_empty_template(table: Table) -> bool:
    """A header of two or more named columns with no rows under it: a form to fill in."""
    named = [h for h in table.original_headers if h.strip()]
    return table.n_rows == 0 and len(named) >= 2 and not table.total_row_numbers


def set_aside_piece(grid: SheetGrid, table: Table, reason: str) -> SetAside:
    """The record of a left-out piece: where it is, why, and its first cells as written."""
    return SetAside(sheet=table.sheet, range=table.range, reason=reason, preview=_preview(grid, table))


def _preview(grid: SheetGrid, table: Table) -> str:
    corners = [_A1.match(part) for part in table.range.split(":")]
    if len(corners) != 2 or not all(corners):
        return table.title or ""
    (c1, r1), (c2, r2) = (m.groups() for m in corners if m)
    top, bottom, left, right = int(r1) - 1, int(r2) - 1, column_index(c1) - 1, column_index(c2) - 1
    cells: list[str] = [table.title] if table.title else []
    for row in grid.values[top : bottom + 1, left : right + 1].tolist():
        cells.extend(display_text(v).strip() for v in row if not is_blank(v))
        if len(cells) >= _PREVIEW_CELLS:
            break
    text = " | ".join(cells[:_PREVIEW_CELLS])
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"

"""Find the tables in a sheet's value grid.

The grid is a 2-D object array of cell values at their sheet positions ('' for empty). Steps:

1. XY-cut: split the used area recursively at fully empty columns and rows into blocks with no
   empty row or column inside (side-by-side and stacked tables come apart here).
2. Blocks that are lines of text (one cell per row) become titles (above a table) or notes
   (below it). A block under a table continues it across a blank row unless the block starts
   with a header-like row or the table ended with a Total row.
3. Inside each table: title rows at the top, note rows at the bottom, a header over one or more
   rows (grouping rows with merged or spread cells are stacked on the row below), Total and
   Subtotal rows. Everything is vectorised over the grid or limited to a few rows, so a
   200,000-row sheet costs milliseconds here.
4. The layout rules of :mod:`table_io.layout_rules`: a units row under the header joins it,
   page-break copies of the header leave the data, 2-column label/value blocks beside or above
   a table become its notes and ``key_values``, and tables come out in reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from table_io.layout_rules import (
    TOTAL_RE,
    as_unit_label,
    is_key_value_block,
    is_units_row,
    key_value_pairs,
    nearest_table,
    reading_order,
    repeated_header_rows,
)

# a bare "Total" / "Grand total" / "Sum" ends a table; "Total revenue" is a subtotal inside one
GRAND_TOTAL_RE = re.compile(
    r"^\s*(grand\s+)?totals?\s*:?\s*$|^\s*(sum|summe|gesamt|insgesamt)\s*:?\s*$", re.IGNORECASE
)
# a label that is a total and nothing else: "Total", "Totals:", "Grand total", "Subtotal",
# "Total (75 NPCs)", or one that ends with the word: "Career total", "DEN Total"
_SURE_TOTAL_RE = re.compile(
    r"^\s*(grand\s+|sub[-\s]?)?totals?\s*:?\s*(\([^()]*\))?\s*:?\s*$|\btotals?\s*:?\s*$"
    r"|^\s*(sum|summe|gesamt|insgesamt)\s*:?\s*$",
    re.IGNORECASE,
)
# captions Excel writes over a pivot table's column fields: not part of a column's name
_PIVOT_CAPTIONS = frozenset({"column labels"})
_YEAR_TEXT = re.compile(r"^\s*(1[89]|20|21)\d\d\s*$")
# the rows a total may sum: at most this many above it are added up
_SUM_WINDOW = 5000
_MAX_SUM_CHECKS = 50
NOTE_RE = re.compile(r"^\s*(notes?|source|sources|n\.?b\.?|\*|†|‡|¹|\(\d\)|\[\d\]|remarks?)\b|^\s*[*†‡¹]", re.IGNORECASE)

Rect = tuple[int, int, int, int]  # top, bottom, left, right (0-based, inclusive)


@dataclass
class TableSpec:
    top: int  # first header row (0-based)
    bottom: int  # last row, totals included
    left: int
    right: int
    header_rows: int = 1
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    total_rows: list[int] = field(default_factory=list)  # 0-based grid rows
    units_row: bool = False  # the last header row gives units: 'Amount' over '(EUR)'
    repeated_header_rows: list[int] = field(default_factory=list)  # 0-based, page-break copies
    key_values: dict[str, str] = field(default_factory=dict)  # 'Prepared by' -> 'J. Smith'


def nonempty_mask(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return np.zeros(values.shape, dtype=bool)
    # calamine and the CSV reader give '' for an empty cell; None only from formula results
    mask = np.asarray(values != "", dtype=bool)
    if values.dtype == object and values.size <= 1_000_000:
        mask &= np.asarray(values != None, dtype=bool)  # noqa: E711  (elementwise)
    return mask


def xy_cut(mask: np.ndarray) -> list[Rect]:
    """Blocks of content with no fully empty row or column inside, in reading order."""
    out: list[Rect] = []
    if mask.size == 0 or not mask.any():
        return out
    stack: list[tuple[int, int, int, int, bool]] = [(0, mask.shape[0] - 1, 0, mask.shape[1] - 1, True)]
    while stack:
        top, bottom, left, right, cols_first = stack.pop()
        sub = mask[top : bottom + 1, left : right + 1]
        rows_any = np.asarray(sub.any(axis=1), dtype=bool)
        cols_any = np.asarray(sub.any(axis=0), dtype=bool)
        if not rows_any.any():
            continue
        r_idx = np.flatnonzero(rows_any)
        c_idx = np.flatnonzero(cols_any)
        top, bottom = top + int(r_idx[0]), top + int(r_idx[-1])
        left, right = left + int(c_idx[0]), left + int(c_idx[-1])
        col_runs = _runs(cols_any[c_idx[0] : c_idx[-1] + 1])
        row_runs = _runs(rows_any[r_idx[0] : r_idx[-1] + 1])
        order = [("c", col_runs), ("r", row_runs)] if cols_first else [("r", row_runs), ("c", col_runs)]
        for axis, runs in order:
            if len(runs) > 1:
                pieces = []
                for a, b in runs:
                    if axis == "c":
                        pieces.append((top, bottom, left + a, left + b, False))
                    else:
                        pieces.append((top + a, top + b, left, right, True))
                stack.extend(reversed(pieces))
                break
        else:
            out.append((top, bottom, left, right))
    out.sort(key=lambda r: (r[0], r[2]))
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Runs of True as (start, end) inclusive."""
    if flags.size == 0:
        return []
    padded = np.concatenate(([False], flags, [False]))
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


class SheetDetector:
    """Detect tables on one sheet. ``merged`` holds merged ranges as (top, left, bottom, right)."""

    def __init__(
        self,
        values: np.ndarray,
        merged: list[tuple[int, int, int, int]] | None = None,
        mask: np.ndarray | None = None,
        bold: set[tuple[int, int]] | None = None,
    ):
        self.values = values
        self.mask = nonempty_mask(values) if mask is None else mask
        self.merged = merged or []
        self.bold = bold or set()

    # ---- helpers on rows -------------------------------------------------------------------
    def row_cells(self, r: int, left: int, right: int) -> list[Any]:
        return [v for v in self.values[r, left : right + 1].tolist() if not _blank(v)]

    def is_text_line(self, r: int, left: int, right: int) -> bool:
        cells = self.row_cells(r, left, right)
        return len(cells) == 1 and isinstance(cells[0], str)

    def h_merge_in_row(self, r: int, left: int, right: int) -> bool:
        return any(
            t <= r <= b and rr > ll and ll >= left and rr <= right for t, ll, b, rr in self.merged
        )

    def merge_width(self, r: int, c: int) -> int:
        for t, ll, b, rr in self.merged:
            if t <= r <= b and ll <= c <= rr:
                return rr - ll + 1
        return 1

    def label(self, r: int, left: int, right: int) -> str | None:
        for v in self.values[r, left : min(left + 2, right + 1)].tolist():
            if isinstance(v, str) and v.strip():
                return v
        return None

    def is_total_row(self, r: int, left: int, right: int) -> bool:
        lab = self.label(r, left, right)
        return bool(lab and TOTAL_RE.search(lab))

    def all_text(self, r: int, left: int, right: int) -> bool:
        cells = self.row_cells(r, left, right)
        return bool(cells) and all(isinstance(v, str) for v in cells)

    def numeric_columns(self, rows: range, left: int, right: int) -> set[int]:
        """Columns holding at least one non-text value (number, date, bool) in these rows."""
        out: set[int] = set()
        for r in rows:
            for j, v in enumerate(self.values[r, left : right + 1].tolist()):
                if not _blank(v) and not isinstance(v, str):
                    out.add(left + j)
        return out

    # ---- the algorithm ---------------------------------------------------------------------
    def detect(self) -> list[TableSpec]:
        blocks = xy_cut(self.mask)
        text_blocks: list[Rect] = []
        table_blocks: list[Rect] = []
        for blk in blocks:
            (text_blocks if self._is_text_block(blk) else table_blocks).append(blk)
        specs: list[TableSpec] = []
        kv_blocks: list[Rect] = []
        for blk in table_blocks:
            prev = self._continued_table(specs, blk, text_blocks, table_blocks)
            if prev is not None:
                prev.bottom = blk[1]
                prev.left, prev.right = min(prev.left, blk[2]), max(prev.right, blk[3])
                continue
            bold_header = self.row_bold(blk[0], blk[2], blk[3]) and not self.row_bold(blk[1], blk[2], blk[3])
            if len(table_blocks) > 1 and is_key_value_block(self.values, blk, table_blocks, bold_header):
                kv_blocks.append(blk)  # sheet metadata beside or above a table, not a table
                continue
            specs.append(TableSpec(top=blk[0], bottom=blk[1], left=blk[2], right=blk[3]))
        if not specs:  # label/value pairs and nothing else: they are the sheet's table
            specs = [TableSpec(top=b[0], bottom=b[1], left=b[2], right=b[3]) for b in kv_blocks]
            kv_blocks = []
        if not specs and text_blocks:
            # a sheet of single-column text: one table after all, if it has a header and a row
            # (a lone caption, like a chart's title, is no table)
            for blk in text_blocks:
                if blk[1] > blk[0]:
                    specs.append(TableSpec(top=blk[0], bottom=blk[1], left=blk[2], right=blk[3]))
            text_blocks = []
        for spec in specs:
            self._shape(spec)
        self._attach_text(specs, text_blocks)
        self._attach_key_values(specs, kv_blocks)
        return reading_order([s for s in specs if s.bottom >= s.top])

    def _attach_key_values(self, specs: list[TableSpec], kv_blocks: list[Rect]) -> None:
        """Label/value blocks become notes ('Prepared by: J. Smith') and ``key_values`` of the
        table they stand over or beside."""
        for blk in kv_blocks:
            if not specs:
                return
            spec = nearest_table(specs, blk)
            for label, value in key_value_pairs(self.values, blk):
                spec.notes.append(f"{label}: {value}" if value else label)
                spec.key_values.setdefault(label, value)

    def _attach_text(self, specs: list[TableSpec], text_blocks: list[Rect]) -> None:
        """A text block just above a table is its title; one below it, a note."""
        if not specs:
            return
        for top, bottom, left, right in text_blocks:
            lines = [
                " ".join(str(v).split())
                for r in range(top, bottom + 1)
                for v in self.row_cells(r, left, right)
            ]
            text = " / ".join(line for line in lines if line)
            if not text:
                continue
            columns = [s for s in specs if not (right < s.left or left > s.right)]
            below = [s for s in columns if s.top > bottom and s.top - bottom <= 4]
            if below:
                spec = min(below, key=lambda s: s.top - bottom)
                if spec.title is None:
                    spec.title = text
                else:
                    spec.title = f"{text} / {spec.title}"
                continue
            above = [s for s in columns if s.bottom < top]
            pool = above or columns or specs
            spec = min(pool, key=lambda s: abs(top - s.bottom))
            spec.notes.append(text)

    def _is_text_block(self, blk: Rect) -> bool:
        top, bottom, left, right = blk
        height = bottom - top + 1
        if right == left:
            cells = self.values[top : bottom + 1, left].tolist()
            if not all(isinstance(v, str) for v in cells):
                return False
            # a short label, or a block of notes ("Notes:", "Source: ...", or sentences)
            return height <= 2 or bool(NOTE_RE.search(cells[0])) or all(len(v.strip()) > 40 for v in cells)
        if height > 3:
            return False
        return all(self.is_text_line(r, left, right) for r in range(top, bottom + 1))

    def _continued_table(
        self, specs: list[TableSpec], blk: Rect, texts: list[Rect], tables: list[Rect]
    ) -> TableSpec | None:
        top, _bottom, left, right = blk
        for spec in reversed(specs):
            if spec.bottom >= top or top - spec.bottom - 1 > 3:
                continue
            if left < spec.left or right > spec.right or left > spec.left + 1:
                continue
            between = [
                b for b in texts + tables
                if spec.bottom < b[0] < top and not (b[3] < spec.left or b[2] > spec.right)
            ]
            if between:
                return None
            last = spec.bottom
            last_label = self.label(last, spec.left, spec.right)
            if last_label and GRAND_TOTAL_RE.search(last_label):
                return None
            if self._header_like_start(blk, spec) or self._bold_header_start(blk, spec):
                return None
            # a title line over a header of its own starts a new table; a section label over
            # more data rows does not
            if (
                blk[1] > top
                and self.is_text_line(top, left, right)
                and self._header_like_start((top + 1, blk[1], left, right), spec)
            ):
                return None
            return spec
        return None

    def row_bold(self, r: int, left: int, right: int) -> bool:
        """Every filled cell of the row is bold (a header, when the data under it is not)."""
        cols = [left + int(j) for j in np.flatnonzero(self.mask[r, left : right + 1])]
        return bool(cols) and all((r, c) in self.bold for c in cols)

    def _bold_header_start(self, blk: Rect, spec: TableSpec) -> bool:
        """A bold row of labels after a blank row, in a table whose own header is bold over plain
        data: the header of a new table (the way people tell stacked text tables apart)."""
        if not self.bold:
            return False
        top = blk[0]
        if not self.all_text(top, spec.left, spec.right) or self.is_total_row(top, spec.left, spec.right):
            return False
        if len(self.row_cells(top, spec.left, spec.right)) < min(2, spec.right - spec.left + 1):
            return False  # a bold section label ("Costs") inside a statement goes on
        header_bold = any(self.row_bold(r, spec.left, spec.right) for r in range(spec.top, min(spec.top + 3, spec.bottom) + 1))
        return (header_bold and self.row_bold(top, spec.left, spec.right)
                and not self.row_bold(spec.bottom, spec.left, spec.right))

    def _header_like_start(self, blk: Rect, spec: TableSpec) -> bool:
        """Does the block under a table start with a header of its own (so a new table)?"""
        top, bottom = blk[0], blk[1]
        if not self.all_text(top, spec.left, spec.right) or self.is_total_row(top, spec.left, spec.right):
            return False
        if len(self.row_cells(top, spec.left, spec.right)) < 2:
            return False
        if self.h_merge_in_row(top, spec.left, spec.right):
            return True
        first = [_header_text(v).lower() for v in self.values[spec.top, spec.left : spec.right + 1].tolist()]
        row = [_header_text(v).lower() for v in self.values[top, spec.left : spec.right + 1].tolist()]
        if first == row:
            return True  # the header repeated: a new table
        numeric = self.numeric_columns(range(spec.top + 1, min(spec.bottom, spec.top + 30) + 1), spec.left, spec.right)
        numeric |= self.numeric_columns(range(top + 1, min(bottom, top + 10) + 1), spec.left, spec.right)
        return any(isinstance(self.values[top, c], str) and not _blank(self.values[top, c]) for c in numeric)

    def _shape(self, spec: TableSpec) -> None:
        """Title rows, note rows, header rows and total rows inside one table's rectangle."""
        width = spec.right - spec.left + 1
        # title rows: one text cell at the left edge (or a merge over most of the width)
        titles: list[str] = []
        while spec.bottom - spec.top >= 2 and width >= 2 and self._title_row(spec.top, spec):
            titles.append(str(self.row_cells(spec.top, spec.left, spec.right)[0]).strip())
            spec.top += 1
            while spec.top <= spec.bottom and not self.mask[spec.top, spec.left : spec.right + 1].any():
                spec.top += 1
        if titles:
            spec.title = " / ".join(titles)
        # note rows at the bottom
        notes: list[str] = []
        while spec.bottom - spec.top >= 2 and width >= 2 and self._note_row(spec.bottom, spec):
            notes.insert(0, str(self.row_cells(spec.bottom, spec.left, spec.right)[0]).strip())
            spec.bottom -= 1
            while spec.bottom > spec.top and not self.mask[spec.bottom, spec.left : spec.right + 1].any():
                spec.bottom -= 1
        spec.notes.extend(notes)
        spec.header_rows = self._count_header_rows(spec)
        first_data = spec.top + spec.header_rows
        spec.total_rows = self.total_rows(first_data, spec.bottom, spec.left, spec.right)
        spec.repeated_header_rows = repeated_header_rows(self.values, spec)

    def total_rows(self, first: int, last: int, left: int, right: int) -> list[int]:
        """Rows whose label (first text cell of the first two columns) says Total/Subtotal.

        A label that only starts with the word ("Total valid votes", but also the team "Total
        Network Solutions") counts when the row's numbers add up the rows above it."""
        if last < first:
            return []
        columns = [self.values[first : last + 1, c] for c in range(left, min(left + 2, right + 1))]
        found: list[np.ndarray] = []
        for col in columns:
            labels = {v for v in set(col.tolist()) if isinstance(v, str) and TOTAL_RE.search(v)}
            found.append(np.isin(col, list(labels)) if labels else np.zeros(col.size, dtype=bool))
        hits = found[0]
        if len(found) > 1 and found[1].any():
            first_is_text = np.fromiter(
                (isinstance(v, str) and bool(v.strip()) for v in columns[0].tolist()),
                dtype=bool, count=columns[0].size,
            )
            hits = hits | (found[1] & ~first_is_text)
        rows = [first + int(i) for i in np.flatnonzero(hits)]
        sure = {r for r in rows if _SURE_TOTAL_RE.search(self.label(r, left, right) or "")}
        # many rows named "Total ..." are names ("Total Care Shampoo" sold 10,000 times), and
        # checking each one's sum would cost a pass over the rows above
        check = len(rows) - len(sure) <= _MAX_SUM_CHECKS
        out: list[int] = []
        for r in rows:
            if r in sure or (check and self._sums_rows_above(r, first, out, left, right)):
                out.append(r)
        return out

    def _sums_rows_above(self, r: int, first: int, totals: list[int], left: int, right: int) -> bool:
        """Does a number in row ``r`` equal the sum of the rows above it (since the table's first
        data row, or since the last total row)?"""
        starts = {max(first, r - _SUM_WINDOW)}
        if totals:
            starts.add(max(totals[-1] + 1, r - _SUM_WINDOW))
        for c in range(left, right + 1):
            value = _number(self.values[r, c])
            if value is None:
                continue
            for start in starts:
                parts = [x for x in (_number(v) for v in self.values[start:r, c].tolist()) if x is not None]
                if len(parts) >= 2 and abs(sum(parts) - value) <= max(0.51, 0.001 * abs(value)):
                    return True
        return False

    def _title_row(self, r: int, spec: TableSpec) -> bool:
        cells = self.row_cells(r, spec.left, spec.right)
        if len(cells) != 1 or not isinstance(cells[0], str):
            return False
        if not _blank(self.values[r, spec.left]):
            return True
        width = spec.right - spec.left + 1
        nz = np.flatnonzero(self.mask[r, spec.left : spec.right + 1])
        start = spec.left + int(nz[0])
        if self.merge_width(r, start) < max(2, int(0.8 * width)):
            return False
        # a label merged over the value columns, above a row of their labels, groups them
        # ("Year ended December 31" over 2018 | 2017): a header row, not a title
        below = r + 1
        return not (below <= spec.bottom and self.all_text(below, spec.left, spec.right)
                    and len(self.row_cells(below, start, spec.right)) >= 2)

    def _note_row(self, r: int, spec: TableSpec) -> bool:
        cells = self.row_cells(r, spec.left, spec.right)
        if len(cells) != 1 or not isinstance(cells[0], str) or _blank(self.values[r, spec.left]):
            return False
        text = cells[0].strip()
        return bool(NOTE_RE.search(text)) or (len(text) > 40 and spec.right > spec.left + 1)

    def _count_header_rows(self, spec: TableSpec) -> int:
        if self._no_header(spec):
            return 0
        h = 1
        n_rows = spec.bottom - spec.top + 1
        while h < min(4, n_rows - 1):
            prev, cur = spec.top + h - 1, spec.top + h
            if not self._grouping_row(prev, cur, spec):
                break
            if not self._header_continuation(cur, spec):
                break
            h += 1
        spec.units_row = h < n_rows - 1 and is_units_row(self.values, spec.top + h, spec, h)
        return h + 1 if spec.units_row else h

    def _no_header(self, spec: TableSpec) -> bool:
        """The first row holds no text, only numbers or dates like the rows under it (and not
        years over columns): the table has no header, its columns become col_1, col_2..."""
        if spec.bottom <= spec.top:
            return False
        cells = self.row_cells(spec.top, spec.left, spec.right)
        if not cells or any(isinstance(v, str) for v in cells):
            return False
        years = all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and 1900 <= v <= 2100
            for v in cells
        )
        return not years

    def _grouping_row(self, prev: int, cur: int, spec: TableSpec) -> bool:
        """Row ``prev`` groups the columns of ``cur``: merged cells, or labels over blanks."""
        if self.h_merge_in_row(prev, spec.left, spec.right):
            return True
        prev_mask = self.mask[prev, spec.left : spec.right + 1]
        cur_mask = self.mask[cur, spec.left : spec.right + 1]
        spread = bool((~prev_mask & cur_mask)[1:].any())
        return spread and self.all_text(prev, spec.left, spec.right)

    def _header_continuation(self, cur: int, spec: TableSpec) -> bool:
        cells = self.row_cells(cur, spec.left, spec.right)
        if not cells or self.is_total_row(cur, spec.left, spec.right):
            return False
        after = range(cur + 1, min(spec.bottom, cur + 20) + 1)
        if all(isinstance(v, str) for v in cells):
            if self.h_merge_in_row(cur - 1, spec.left, spec.right):
                return True
            # a sub-header row labels the number columns below it; a first data row of text
            # has values there that read as missing or as numbers ("n/a", "12")
            numeric = self.numeric_columns(after, spec.left, spec.right)
            return any(_label_text(self.values[cur, c]) for c in numeric)
        # years as numbers under a merged group label ("Revenue" over 2023 | 2024)
        merged_above = self.h_merge_in_row(cur - 1, spec.left, spec.right)
        years = all(
            isinstance(v, str) or (isinstance(v, (int, float)) and float(v).is_integer() and 1900 <= v <= 2100)
            for v in cells
        )
        return merged_above and years


def _number(v: Any) -> float | None:
    """A cell as a number: numeric cells, and text like ``12,345`` (else None)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v) if v == v else None
    if isinstance(v, str) and v.strip() and v.strip()[0] in "0123456789-−+($€£.(":
        from table_io.cell_types import parse_number

        return parse_number(v)
    return None


def _label_text(v: Any) -> bool:
    """Text that names something: not blank, not an empty marker, not a number written as text."""
    from table_io.cell_types import is_empty_marker, parse_number

    if not isinstance(v, str) or is_empty_marker(v):
        return False
    return parse_number(v) is None or bool(_YEAR_TEXT.match(v))  # "2023" over a column is a label


def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def header_names(values: np.ndarray, spec: TableSpec, merged: list[tuple[int, int, int, int]]) -> list[list[str]]:
    """For each column, its header parts from top to bottom, merged cells spread over their span."""
    h = spec.header_rows
    block = [[_header_text(v) for v in row] for row in values[spec.top : spec.top + h, spec.left : spec.right + 1].tolist()]
    spread_merges = False
    for t, ll, b, rr in merged:
        if b < spec.top or t >= spec.top + h or rr < spec.left or ll > spec.right:
            continue
        spread_merges = True
        text = _header_text(values[t, ll])
        for r in range(max(t, spec.top), min(b, spec.top + h - 1) + 1):
            for c in range(max(ll, spec.left), min(rr, spec.right) + 1):
                block[r - spec.top][c - spec.left] = text
    if h > 1 and not spread_merges:
        # labels over blanks without merging: spread each upper label to the right
        for i in range(h - 1):
            last = ""
            for j in range(len(block[i])):
                if block[i][j]:
                    last = block[i][j]
                elif last and block[h - 1][j]:
                    block[i][j] = last
    if spec.units_row:
        block[h - 1] = [as_unit_label(text) if text else "" for text in block[h - 1]]
    out: list[list[str]] = []
    for j in range(spec.right - spec.left + 1):
        parts: list[str] = []
        for i in range(h):
            text = block[i][j]
            if text and (not parts or parts[-1] != text) and text.casefold() not in _PIVOT_CAPTIONS:
                parts.append(text)
        if h > 1 and _header_text(values[spec.top + h - 1, spec.left + j]).casefold() == "row labels":
            parts = ["Row Labels"]  # a pivot table's corner: "Sum of Revenue" over "Row Labels"
        out.append(parts)
    return out


def _header_text(v: Any) -> str:
    from table_io.cell_types import display_text

    if _blank(v):
        return ""
    return " ".join(display_text(v).split())

"""What every action needs while it runs: the workbook, checks with fixable messages, cell values."""

from __future__ import annotations

import difflib
import re
import tempfile
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as XLWorkbook
from openpyxl.worksheet.worksheet import Worksheet

from table_io.recalc import recalculate
from tools.base import ToolFailure
from tools.sheet.refs import MAX_COL, MAX_ROW, Box, parse_box, split_sheet

MAX_CELLS_PER_ACTION = 2_000_000
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def nearest(name: str, options: list[str], n: int = 3) -> list[str]:
    lowered = {o.lower(): o for o in options}
    found = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.5)
    return [lowered[f] for f in found]


def fail(message: str, *, hint: str | None = None) -> ToolFailure:
    return ToolFailure(message, kind="arguments", hint=hint)


class EditContext:
    """One batch being applied to an in-memory workbook.

    ``base`` is the file the workbook was loaded from: its cached values serve formula cells
    until an action changes the workbook; after that a temporary recalculated copy is read.
    """

    def __init__(self, workbook: XLWorkbook, base: Path | None = None) -> None:
        self.wb = workbook
        self.base = base
        self.dirty = False
        self.notes: list[str] = []
        self.records: list[dict[str, Any]] = []  # what the actions did, for the read-back
        self._first_headers: dict[str, int] = {}
        self._values: dict[str, list[list[Any]]] | None = None
        self._used: dict[int, tuple[int, Box]] = {}  # id(ws) -> (cell count, used area)

    # ------------------------------------------------------------------ sheets
    def sheet(self, name: str | None) -> Worksheet:
        if name is None or name == "":
            ws = self.wb.active if isinstance(self.wb.active, Worksheet) else self.wb.worksheets[0]
            return ws
        names = self.wb.sheetnames
        if name in names:
            ws = self.wb[name]
        else:
            folded = {n.strip().lower(): n for n in names}
            if name.strip().lower() not in folded:
                close = nearest(name, names)
                hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
                raise fail(f"no sheet named {name!r}; sheets: {', '.join(repr(n) for n in names)}", hint=hint)
            ws = self.wb[folded[name.strip().lower()]]
        if not isinstance(ws, Worksheet):
            raise fail(f"{name!r} is a chart sheet, not a worksheet")
        return ws

    def sheet_or_new(self, name: str, before: Worksheet | None = None) -> Worksheet:
        """The sheet called ``name``; a new one (placed like ``create_sheet``) when there is
        none: "put it on a new sheet Chart" needs no separate add_sheet."""
        folded = {n.strip().lower() for n in self.wb.sheetnames}
        if name.strip().lower() in folded:
            return self.sheet(name)
        self.notes.append(f"added the sheet {name.strip()!r}")
        return self.create_sheet(name, before=before)

    def with_header(self, ws: Worksheet, box: Box, names: list[str]) -> Box:
        """``box`` with the header row above it when the columns named are headers of that row
        and not of its first row: a range given from the first data row ('A2:D41') means the
        table, header included."""
        from openpyxl.utils import get_column_letter

        if box.min_row <= 1 or not names:
            return box
        first = {h.lower(): c for h, c in self.headers(ws, box.min_row, box).items()}
        above = {h.lower(): c for h, c in self.headers(ws, box.min_row - 1, box).items()}
        texts = [n for n in names if not re.fullmatch(r"\$?[A-Za-z]{1,3}", str(n).strip())]
        if not texts or any(_layout_label(str(n), first) is not None
                            or str(n).strip().lower() in first for n in texts):
            return box
        if all(_layout_label(str(n), above) is not None or str(n).strip().lower() in above
               for n in texts):
            self.notes.append(f"{box.ref} was read with its header row {box.min_row - 1}")
            return self.box(ws, f"{get_column_letter(box.min_col)}{box.min_row - 1}:"
                                f"{get_column_letter(box.max_col)}{box.max_row}", read=True)
        return box

    def new_sheet_name(self, name: str) -> str:
        name = name.strip()
        if not name or len(name) > 31 or any(ch in name for ch in "[]:*?/\\"):
            raise fail(f"invalid sheet name {name!r}: 1-31 characters, none of []:*?/\\")
        if name.lower() in (n.lower() for n in self.wb.sheetnames):
            raise fail(f"a sheet named {name!r} already exists; sheets: {', '.join(self.wb.sheetnames)}")
        return name

    def record(self, kind: str, **facts: Any) -> None:
        """Note what an action did (its resolved range, columns, flags) for the read-back that
        checks the edit against the request (tools/sheet/readback.py)."""
        self.records.append({"kind": kind, **facts})

    def create_sheet(self, name: str, index: int | None = None,
                     before: Worksheet | None = None) -> Worksheet:
        """A new sheet at ``index``; without one it goes before ``before`` (default: the active
        sheet), as Excel's Worksheets.Add and a PivotTable's "New Worksheet" place it. The active
        sheet stays the same one (openpyxl tracks it by position)."""
        active = self.wb.active
        if index is None:
            anchor = before if before is not None else active
            index = self.wb._sheets.index(anchor) if anchor in self.wb._sheets else None
        ws = self.wb.create_sheet(self.new_sheet_name(name), index)
        self.record("add_sheet", sheet=ws.title)
        if active is not None and active in self.wb._sheets:
            self.wb.active = self.wb._sheets.index(active)
        return ws

    # ------------------------------------------------------------------ ranges
    def used(self, ws: Worksheet) -> Box:
        """The used area (computed once per action: openpyxl scans every cell for it)."""
        key = id(ws)
        size = len(ws._cells)
        cached = self._used.get(key)
        found = cached[1] if cached is not None and cached[0] == size else None
        if found is None:
            keys = ws._cells.keys()
            if not keys:
                found = Box(1, 1, 1, 1)
            else:
                rows = [r for r, _ in keys]
                cols = [c for _, c in keys]
                found = Box(min(cols), min(rows), max(cols), max(rows))
            self._used[key] = (size, found)
        return found

    def header_row(self, ws: Worksheet) -> int:
        """The first row with at least two values (or the first non-empty row)."""
        used = self.used(ws)
        for r in range(used.min_row, min(used.max_row, used.min_row + 20) + 1):
            filled = sum(1 for c in range(used.min_col, used.max_col + 1) if ws.cell(r, c).value not in (None, ""))
            if filled >= min(2, used.width):
                return r
        return used.min_row

    def original_header_row(self, ws: Worksheet) -> int:
        """The sheet's header row as it was before this batch's first look at it (a header
        written into a title row must not move it)."""
        if ws.title not in self._first_headers:
            self._first_headers[ws.title] = self.header_row(ws)
        return self._first_headers[ws.title]

    def headers(self, ws: Worksheet, row: int, box: Box | None = None) -> dict[str, int]:
        span = box or self.used(ws)
        out: dict[str, int] = {}
        for c in range(span.min_col, span.max_col + 1):
            value = ws.cell(row, c).value
            if value not in (None, ""):
                out.setdefault(str(value).strip(), c)
        return out

    def column(self, ws: Worksheet, spec: str | int, *, header_row: int | None = None, box: Box | None = None) -> int:
        """A column given by letter ('C'), 1-based number, or header text ('Revenue')."""
        if isinstance(spec, int):
            if not 1 <= spec <= MAX_COL:
                raise fail(f"column number {spec} is out of range")
            return spec
        text = str(spec).strip()
        row = header_row or (box.min_row if box else self.header_row(ws))
        headers = self.headers(ws, row, box)
        folded = {h.lower(): c for h, c in headers.items()}
        if text.lower() in folded:
            return folded[text.lower()]
        if re.fullmatch(r"\$?[A-Za-z]{1,3}", text):
            from openpyxl.utils import column_index_from_string

            return column_index_from_string(text.lstrip("$").upper())
        if (found := _layout_label(text, folded)) is not None:
            return found
        if box is not None and header_row is None and box.min_row > 1:
            # a range given without its header row: the header is the row above it
            above = {h.lower(): c for h, c in self.headers(ws, box.min_row - 1, box).items()}
            if text.lower() in above or _layout_label(text, above) is not None:
                raise fail(f"{text!r} is the header of the row above {box.ref}: the range must "
                           f"include its header row", hint=f"give the range from row "
                           f"{box.min_row - 1}, header row included")
        close = nearest(text, list(headers))
        hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
        shown = ", ".join(repr(h) for h in list(headers)[:30])
        raise fail(f"no column {text!r} in {ws.title!r} (header row {row}: {shown}); use a header or a letter",
                   hint=hint)

    def box(self, ws: Worksheet, text: str | None, *, read: bool = False, default_used: bool = False,
            write: bool = False) -> Box:
        """Parse a range on ``ws``: 'A1', 'A1:C9', 'C:C', '2:5', or a column header (its data cells).

        ``read``: the range must lie in the used area (it is clipped to it); otherwise it may
        extend past the data (up to the sheet limits).
        """
        used = self.used(ws)
        if text is None or str(text).strip() == "":
            if default_used:
                box = self.table(ws)
                if write:
                    self.writable(ws, box)
                return box
            raise fail("a range is required, e.g. 'A1:C10'")
        raw = str(text).strip()
        sheet_name, cells = split_sheet(raw)
        if sheet_name is not None and sheet_name != ws.title:
            raise fail(f"range {raw!r} names sheet {sheet_name!r} but the action is on {ws.title!r}; "
                       "use the 'sheet' field for the sheet")
        parsed = parse_box(cells, max_row=max(used.max_row, 1), max_col=max(used.max_col, 1))
        if parsed is None:
            header_row = self.header_row(ws)
            headers = self.headers(ws, header_row)
            folded = {h.lower(): c for h, c in headers.items()}
            col = folded.get(cells.lower()) or _layout_label(cells, folded)
            if col is not None:
                box = Box(col, header_row + 1, col, max(used.max_row, header_row + 1))
                if write:
                    self.writable(ws, box)
                return box
            close = nearest(cells, list(headers))
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else None
            raise fail(f"{raw!r} is not a range like 'A1' or 'B2:D10' nor a column header of {ws.title!r}",
                       hint=hint)
        box = parsed
        if read:
            if box.min_row > used.max_row or box.min_col > used.max_col:
                raise fail(f"range {box.ref} is outside the data of {ws.title!r} (used area {used.ref})")
            box = Box(box.min_col, box.min_row, min(box.max_col, used.max_col), min(box.max_row, used.max_row))
        if box.max_row > MAX_ROW or box.max_col > MAX_COL:
            raise fail(f"range {box.ref} is past the sheet's limits")
        if box.size > MAX_CELLS_PER_ACTION:
            raise fail(f"range {box.ref} has {box.size} cells; at most {MAX_CELLS_PER_ACTION} per action")
        if write:
            self.writable(ws, box)
        return box

    def table(self, ws: Worksheet) -> Box:
        """The default table of a sheet: the header row's contiguous columns down to the last row."""
        used = self.used(ws)
        row = self.header_row(ws)
        first = used.min_col
        while first <= used.max_col and ws.cell(row, first).value in (None, ""):
            first += 1
        last = first
        while True:  # extend over filled headers; one empty header column does not end the table
            if last + 1 <= used.max_col and ws.cell(row, last + 1).value not in (None, ""):
                last += 1
            elif last + 2 <= used.max_col and ws.cell(row, last + 2).value not in (None, ""):
                last += 2
            else:
                break
        if first > used.max_col:
            return used
        return Box(first, row, last, max(used.max_row, row))

    def writable(self, ws: Worksheet, box: Box) -> None:
        """Refuse to write into the hidden cells of a merged range."""
        for merged in ws.merged_cells.ranges:
            if merged.max_row < box.min_row or merged.min_row > box.max_row or \
                    merged.max_col < box.min_col or merged.min_col > box.max_col:
                continue
            inner = [(r, c) for r, c in box.cells() if (r, c) != (merged.min_row, merged.min_col)
                     and merged.min_row <= r <= merged.max_row and merged.min_col <= c <= merged.max_col]
            if inner:
                raise fail(f"{box.ref} overlaps the merged cells {merged.coord} on {ws.title!r}; "
                           f"write to {merged.coord.split(':')[0]} or unmerge first")

    # ------------------------------------------------------------------ values
    def value(self, ws: Worksheet, row: int, col: int) -> Any:
        """The value a reader would see: a constant, or a formula's computed value."""
        cell = ws._cells.get((row, col))
        if cell is None:
            return None
        if cell.data_type != "f":
            return cell.value
        grid = self._cached_values().get(ws.title, [])
        if row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
            value = grid[row - 1][col - 1]
            return None if value == "" else value
        return None

    def changed(self, *, structure: bool = False) -> None:
        """After an action: cached values are stale; so is the used area if cells moved
        (otherwise a changed cell count tells that it grew)."""
        self.dirty = True
        self._values = None
        if structure:
            self._used = {}

    def _cached_values(self) -> dict[str, list[list[Any]]]:
        if self._values is not None:
            return self._values
        from table_io.diff import read_cached_values

        if not self.dirty and self.base is not None:
            self._values = read_cached_values(self.base)
            return self._values
        with tempfile.TemporaryDirectory(prefix="tablepilot-calc-") as tmp:
            path = Path(tmp) / "calc.xlsx"
            self.wb.save(path)
            recalculate(path)
            self._values = read_cached_values(path)
        return self._values


_KIND_SUFFIX = re.compile(r"\s*\((?:text|number|date|boolean|empty)[^)]*\)$", re.I)
_LETTER_PREFIX = re.compile(r"^\$?([A-Za-z]{1,3})[\s:=.)-]+(.+)$")


def _layout_label(text: str, headers: dict[str, int]) -> int | None:
    """A column written as the agent's layout shows it ('B Sex', 'B: Sex', 'Sex (text)'): the
    header's column, when the letter (if any) agrees with it."""
    from openpyxl.utils import column_index_from_string

    bare = _KIND_SUFFIX.sub("", text).strip()
    if bare.lower() in headers:
        return headers[bare.lower()]
    m = _LETTER_PREFIX.match(bare)
    if m and m.group(2).strip().lower() in headers:
        col = headers[m.group(2).strip().lower()]
        if column_index_from_string(m.group(1).upper()) == col:
            return col
    return None


def coerce_input(value: Any) -> Any:
    """A value from the model: plain numeric text ('12', '3.5') becomes a number; other text,
    including anything starting with = + - @ ('-5', '+1'), stays text."""
    if isinstance(value, str) and not value.startswith(("=", "+", "-", "@")) and _NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    return value


def letter(col: int) -> str:
    return get_column_letter(col)

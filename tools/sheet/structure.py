"""Actions on the shape of a workbook: rows, columns, sheets, freeze panes, sizes, hiding."""

from __future__ import annotations

from typing import Literal

from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as XLWorkbook
from openpyxl.worksheet.worksheet import Worksheet

from tools.sheet.base import Act
from tools.sheet.context import EditContext, fail
from tools.sheet.refs import (
    Shift,
    parse_box,
    rename_in_formula,
    shift_formula,
    shift_ref,
    shift_sqref,
)


def apply_shift(wb: XLWorkbook, ws: Worksheet, shift: Shift) -> None:
    """Move cells, then fix everything that points at moved cells, in every sheet."""
    n = abs(shift.count)
    if shift.axis == "row":
        (ws.insert_rows if shift.count > 0 else ws.delete_rows)(shift.at, n)
    else:
        (ws.insert_cols if shift.count > 0 else ws.delete_cols)(shift.at, n)
    for cell in ws._cells.values():  # moved cells keep their link object, whose ref is stale
        link = getattr(cell, "_hyperlink", None)
        if link is not None:
            link.ref = cell.coordinate
    if shift.count > 0 and shift.at > 1:
        _format_like_neighbour(ws, shift)
    for sheet in wb.worksheets:
        for cell in sheet._cells.values():
            if cell.data_type == "f" and isinstance(cell.value, str):
                cell.value = shift_formula(cell.value, shift, own_sheet=sheet.title)
        _shift_charts(sheet, shift)
    for name, defined in list(wb.defined_names.items()):
        if defined.attr_text:
            defined.attr_text = shift_formula("=" + defined.attr_text, shift, own_sheet="\0")[1:]
        wb.defined_names[name] = defined
    _shift_sheet_ranges(ws, shift)


def _format_like_neighbour(ws: Worksheet, shift: Shift) -> None:
    """Inserted cells take the format of the row above / the column to the left, as in Excel."""
    from copy import copy

    if shift.axis == "col":
        for row in range(1, ws.max_row + 1):
            source = ws._cells.get((row, shift.at - 1))
            if source is not None and source.has_style:
                for col in range(shift.at, shift.at + shift.count):
                    ws.cell(row, col)._style = copy(source._style)
    else:
        for col in range(1, ws.max_column + 1):
            source = ws._cells.get((shift.at - 1, col))
            if source is not None and source.has_style:
                for row in range(shift.at, shift.at + shift.count):
                    ws.cell(row, col)._style = copy(source._style)


def _shift_sheet_ranges(ws: Worksheet, shift: Shift) -> None:
    own = ws.title
    merged = [str(m) for m in ws.merged_cells.ranges]
    for ref in merged:
        ws.merged_cells.remove(ref)
    for ref in merged:
        new = shift_ref(ref, shift, own_sheet=own)
        if new != "#REF!" and ":" in new:
            ws.merged_cells.add(new)
    old_cf = ws.conditional_formatting
    ws.conditional_formatting = ConditionalFormattingList()
    for rng in old_cf:
        sqref = shift_sqref(str(rng.sqref), shift, own_sheet=own)
        if not sqref:
            continue
        for rule in rng.rules:
            rule.formula = [shift_formula("=" + f, shift, own_sheet=own)[1:] for f in (rule.formula or [])]
            ws.conditional_formatting.add(sqref, rule)
    for dv in list(ws.data_validations.dataValidation):
        sqref = shift_sqref(str(dv.sqref), shift, own_sheet=own)
        if sqref:
            dv.sqref = sqref
        else:
            ws.data_validations.dataValidation.remove(dv)
    for table in ws.tables.values():
        new = shift_ref(table.ref, shift, own_sheet=own)
        if new != "#REF!" and ":" in new:
            table.ref = new
            if table.autoFilter is not None:
                table.autoFilter.ref = new
    if ws.auto_filter.ref:
        new = shift_ref(ws.auto_filter.ref, shift, own_sheet=own)
        ws.auto_filter.ref = None if new == "#REF!" else new
    if shift.axis == "row" and shift.count > 0:  # row heights and hidden rows move with the rows
        dims = sorted((r, d) for r, d in ws.row_dimensions.items() if r >= shift.at)
        for r, dim in reversed(dims):
            ws.row_dimensions[r + shift.count] = dim
            dim.index = r + shift.count
            del ws.row_dimensions[r]


def _shift_charts(sheet: Worksheet, shift: Shift) -> None:
    for chart in getattr(sheet, "_charts", []):
        for series in chart.series:
            for ref_holder in (series.val, series.cat, series.xVal, series.yVal):
                if ref_holder is None:
                    continue
                for attr in ("numRef", "strRef"):
                    ref = getattr(ref_holder, attr, None)
                    if ref is not None and ref.f:
                        ref.f = shift_formula("=" + ref.f, shift, own_sheet="\0")[1:]
            if series.tx is not None and series.tx.strRef is not None and series.tx.strRef.f:
                series.tx.strRef.f = shift_formula("=" + series.tx.strRef.f, shift, own_sheet="\0")[1:]


class InsertRows(Act):
    action: Literal["insert_rows"]
    at: int  # new rows go here; the row at 'at' moves down
    count: int = 1

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if not 1 <= self.at <= ws.max_row + 1 or not 1 <= self.count <= 100_000:
            raise fail(f"insert_rows at={self.at} count={self.count}: 'at' must be 1..{ws.max_row + 1}, count 1..100000")
        apply_shift(ctx.wb, ws, Shift(ws.title, "row", self.at, self.count))


class DeleteRows(Act):
    action: Literal["delete_rows"]
    at: int  # first row to delete
    count: int = 1

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if not 1 <= self.at <= ws.max_row or self.count < 1:
            raise fail(f"delete_rows at={self.at}: the sheet {ws.title!r} has rows 1..{ws.max_row}")
        apply_shift(ctx.wb, ws, Shift(ws.title, "row", self.at, -self.count))


class InsertCols(Act):
    action: Literal["insert_cols"]
    at: str  # column letter or header; new columns go before it
    count: int = 1

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        col = ctx.column(ws, self.at)
        if col > ws.max_column + 1 or not 1 <= self.count <= 1000:
            raise fail(f"insert_cols at={self.at!r}: must be within A..{get_column_letter(ws.max_column + 1)}")
        apply_shift(ctx.wb, ws, Shift(ws.title, "col", col, self.count))


class DeleteCols(Act):
    action: Literal["delete_cols"]
    at: str  # first column to delete (letter or header)
    count: int = 1

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        col = ctx.column(ws, self.at)
        if col > ws.max_column or self.count < 1:
            raise fail(f"delete_cols at={self.at!r}: {ws.title!r} has columns A..{get_column_letter(ws.max_column)}")
        apply_shift(ctx.wb, ws, Shift(ws.title, "col", col, -self.count))


class AddSheet(Act):
    action: Literal["add_sheet"]
    name: str
    index: int | None = None  # 0 = first; default: before the active sheet (as Excel adds one)

    def apply(self, ctx: EditContext) -> None:
        ctx.create_sheet(self.name, self.index)


class RenameSheet(Act):
    action: Literal["rename_sheet"]
    name: str  # the new name

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        old, new = ws.title, ctx.new_sheet_name(self.name)
        ws.title = new
        for sheet in ctx.wb.worksheets:
            for cell in sheet._cells.values():
                if cell.data_type == "f" and isinstance(cell.value, str) and old in cell.value:
                    cell.value = rename_in_formula(cell.value, old, new)
        for defined in ctx.wb.defined_names.values():
            if defined.attr_text and old in defined.attr_text:
                defined.attr_text = rename_in_formula("=" + defined.attr_text, old, new)[1:]


class CopySheet(Act):
    action: Literal["copy_sheet"]
    name: str  # name of the copy

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        name = ctx.new_sheet_name(self.name)
        copy = ctx.wb.copy_worksheet(ws)
        copy.title = "\u2063tablepilot-copy"  # a placeholder first: openpyxl would add '1' to a near-duplicate
        copy.title = name
        ctx.notes.append("copy_sheet copies cells, styles, merges and sizes; charts and images are not copied")


class DeleteSheet(Act):
    action: Literal["delete_sheet"]

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if len(ctx.wb.worksheets) == 1:
            raise fail("cannot delete the only sheet")
        ctx.wb.remove(ws)
        if ctx.wb.active is None or ctx.wb.active not in ctx.wb.worksheets:
            ctx.wb.active = 0


class MoveSheet(Act):
    action: Literal["move_sheet"]
    index: int  # new position, 0 = first

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        total = len(ctx.wb._sheets)
        if not 0 <= self.index < total:
            raise fail(f"index must be 0..{total - 1}")
        active = ctx.wb.active
        ctx.wb.move_sheet(ws, self.index - ctx.wb._sheets.index(ws))
        if active is not None:
            ctx.wb.active = ctx.wb._sheets.index(active)


class Freeze(Act):
    action: Literal["freeze"]
    cell: str | None = None  # rows above and columns left of it stay visible ('B2'); null unfreezes

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if self.cell in (None, "", "A1"):
            ws.freeze_panes = None
            return
        box = parse_box(str(self.cell))
        if box is None or box.size != 1:
            raise fail(f"freeze needs one cell like 'A2' (freeze row 1) or 'B2'; got {self.cell!r}")
        ws.freeze_panes = box.ref


def _span(ctx: EditContext, ws: Worksheet, text: str, axis: str) -> list[int]:
    """'A:C', 'B', 'Revenue', 'A,C,E' -> column numbers; '2:5', '7' -> row numbers."""
    out: list[int] = []
    for part in [p.strip() for p in str(text).split(",") if p.strip()]:
        if axis == "col":
            if ":" in part:
                a, b = part.split(":", 1)
                lo, hi = ctx.column(ws, a), ctx.column(ws, b)
                out += list(range(min(lo, hi), max(lo, hi) + 1))
            else:
                out.append(ctx.column(ws, part))
        else:
            bounds = part.split(":", 1)
            if not all(b.strip().isdigit() for b in bounds):
                raise fail(f"rows must be numbers like '2' or '2:5'; got {part!r}")
            lo, hi = int(bounds[0]), int(bounds[-1])
            if not 1 <= min(lo, hi) <= max(lo, hi) <= 1_048_576:
                raise fail(f"row numbers out of range: {part!r}")
            out += list(range(min(lo, hi), max(lo, hi) + 1))
    if not out:
        raise fail(f"no {'columns' if axis == 'col' else 'rows'} given")
    return out


class Size(Act):
    action: Literal["size"]
    cols: str | None = None  # 'A:C', 'B', 'A,C' or a header
    rows: str | None = None  # '1' or '2:10'
    width: float | None = None  # column width in characters
    height: float | None = None  # row height in points
    auto: bool = False  # fit the width to the content

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if not self.cols and not self.rows:
            raise fail("give 'cols' and/or 'rows'")
        cols = _span(ctx, ws, self.cols, "col") if self.cols else []
        rows = _span(ctx, ws, self.rows, "row") if self.rows else []
        if cols and self.width is None and not self.auto:
            raise fail("give 'width' or auto=true for columns")
        if rows and self.height is None:
            raise fail("give 'height' for rows")
        for col in cols:
            letter = get_column_letter(col)
            if self.auto:
                longest = max((len(str(ctx.value(ws, r, col) or "")) for r in range(1, ws.max_row + 1)), default=8)
                ws.column_dimensions[letter].width = min(max(longest + 2, 6), 80)
            else:
                ws.column_dimensions[letter].width = self.width
        for row in rows:
            ws.row_dimensions[row].height = self.height


class Hide(Act):
    action: Literal["hide"]
    cols: str | None = None
    rows: str | None = None
    show: bool = False  # true unhides
    whole: bool = False  # hide (or show) the sheet itself

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        if self.whole:
            visible = [s for s in ctx.wb.worksheets if s.sheet_state == "visible" and s is not ws]
            if not self.show and not visible:
                raise fail("cannot hide the only visible sheet")
            ws.sheet_state = "visible" if self.show else "hidden"
            if not self.show and ctx.wb.active is ws:
                ctx.wb.active = ctx.wb._sheets.index(visible[0])
            return
        if not self.cols and not self.rows:
            raise fail("give 'cols' and/or 'rows' (or whole=true for the sheet)")
        for col in _span(ctx, ws, self.cols, "col") if self.cols else []:
            ws.column_dimensions[get_column_letter(col)].hidden = not self.show
        for row in _span(ctx, ws, self.rows, "row") if self.rows else []:
            ws.row_dimensions[row].hidden = not self.show

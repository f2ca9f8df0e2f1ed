"""Data actions: sort, auto-filter, and pivot-style summary tables computed from a source range."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable
from copy import copy
from typing import Any, Literal

from openpyxl.worksheet.filters import CustomFilter, CustomFilters, FilterColumn, Filters
from openpyxl.worksheet.worksheet import Worksheet

from table_io.xlsx_safety import set_untrusted
from tools.sheet.base import Act
from tools.sheet.cells import coord, translate
from tools.sheet.context import EditContext, coerce_input, fail
from tools.sheet.refs import Box, quote_sheet

SUMMARY_PROP = "tablepilot.summary"


def _sort_key(value: Any, desc: bool) -> tuple[int, Any]:
    """Excel order ascending: numbers/dates, text (case-insensitive), booleans, blanks last (always)."""
    key: Any
    if value is None or value == "":
        return (3, 0)
    if isinstance(value, bool):
        rank, key = 2, int(value)
    elif isinstance(value, (int, float)):
        rank, key = 0, float(value)
    elif isinstance(value, (dt.datetime, dt.date)):
        rank, key = 0, value.toordinal() if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else (
            value.toordinal() + value.hour / 24 + value.minute / 1440 + value.second / 86400)
    else:
        rank, key = 1, str(value).strip().lower()
    return (rank, key)


class Sort(Act):
    action: Literal["sort"]
    by: list[str]  # columns (header or letter), most important first
    desc: list[bool] | bool = False  # one flag for all, or one per 'by' column
    range: str | None = None  # the table including its header row; default: the used area
    header: bool = True  # the first row of the range is a header and stays in place

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True, default_used=True, write=True)
        if not self.by:
            raise fail("'by' needs at least one column")
        if self.header and self.range:
            box = ctx.with_header(ws, box, list(self.by))
        cols = [ctx.column(ws, b, box=box if self.header else None) for b in self.by]
        for col in cols:
            if not box.min_col <= col <= box.max_col:
                raise fail(f"sort column {col} is outside the range {box.ref}")
        flags = self.desc if isinstance(self.desc, list) else [self.desc] * len(cols)
        if len(flags) != len(cols):
            raise fail("'desc' needs one flag per 'by' column")
        first = box.min_row + (1 if self.header else 0)
        rows = list(range(first, box.max_row + 1))
        keyed = {r: [ctx.value(ws, r, c) for c in cols] for r in rows}
        order = list(rows)
        for i in reversed(range(len(cols))):  # stable sort, least important key first
            blanks = [r for r in order if keyed[r][i] in (None, "")]
            filled = [r for r in order if keyed[r][i] not in (None, "")]
            filled.sort(key=lambda r, i=i: _sort_key(keyed[r][i], flags[i]), reverse=flags[i])  # type: ignore[misc]
            order = filled + blanks
        move_rows(ws, box, rows, order)
        ctx.record("sort", sheet=ws.title, range=box.ref, first_row=first, last_row=box.max_row,
                   columns=cols, desc=list(flags))


def move_rows(ws: Worksheet, box: Box, rows: list[int], order: list[int]) -> None:
    """Row ``order[k]``'s cells (values, formulas adjusted, styles, links) go to row ``rows[k]``."""
    snapshot: dict[int, list[Any]] = {}
    for r in rows:
        snapshot[r] = []
        for c in range(box.min_col, box.max_col + 1):
            cell = ws._cells.get((r, c))
            snapshot[r].append(None if cell is None else (cell.value, cell.data_type, copy(cell._style),
                                                          copy(cell.hyperlink) if cell.hyperlink else None))
    for dest, src in zip(rows, order, strict=True):
        if dest == src:
            continue
        for j, c in enumerate(range(box.min_col, box.max_col + 1)):
            saved = snapshot[src][j]
            cell = ws.cell(dest, c)
            if saved is None:
                cell.value, cell.hyperlink = None, None
                continue
            value, kind, style, link = saved
            if kind == "f" and isinstance(value, str):
                value = translate(value, (src, c), (dest, c))
            cell.value = value
            cell.data_type = kind
            cell._style = style
            cell.hyperlink = link


FilterOp = Literal["eq", "ne", "gt", "lt", "ge", "le", "contains", "begins", "ends", "in", "top", "bottom"]
_CUSTOM_OPS = {"eq": "equal", "ne": "notEqual", "gt": "greaterThan", "lt": "lessThan",
               "ge": "greaterThanOrEqual", "le": "lessThanOrEqual"}


class Filter(Act):
    action: Literal["filter"]
    column: str | None = None  # header or letter; null just adds filter buttons (or clears with clear=true)
    op: FilterOp = "eq"
    value: str | float | None = None
    values: list[str | float] | None = None  # op 'in': keep rows whose value is one of these
    range: str | None = None  # table including header; default: the used area
    clear: bool = False  # remove the filter and show all rows

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True, default_used=True)
        if self.range and self.column:
            box = ctx.with_header(ws, box, [self.column])
        if self.clear:
            ws.auto_filter.ref = None
            ws.auto_filter.filterColumn = []
            for r in range(box.min_row, box.max_row + 1):
                if r in ws.row_dimensions:
                    ws.row_dimensions[r].hidden = False
            return
        ws.auto_filter.ref = box.ref
        if self.column is None:
            return
        col = ctx.column(ws, self.column, box=box)
        if not box.min_col <= col <= box.max_col:
            raise fail(f"filter column {self.column!r} is outside {box.ref}")
        test = self._test(ctx, ws, box, col)
        col_id = col - box.min_col
        ws.auto_filter.filterColumn = [f for f in ws.auto_filter.filterColumn if f.colId != col_id]
        ws.auto_filter.filterColumn.append(self._xml(col_id))
        for r in range(box.min_row + 1, box.max_row + 1):
            hidden = not test(ctx.value(ws, r, col))
            if hidden or r in ws.row_dimensions:
                ws.row_dimensions[r].hidden = hidden

    def _test(self, ctx: EditContext, ws: Worksheet, box: Box, col: int) -> Callable[[Any], bool]:
        op, target = self.op, coerce_input(self.value)
        if op == "in":
            if not self.values:
                raise fail("op 'in' needs 'values'")
            allowed = {str(coerce_input(v)).strip().lower() for v in self.values}
            return lambda v: _text(v).lower() in allowed
        if op in ("top", "bottom"):
            count = int(float(self.value or 10))
            numbers = sorted((v for v in (ctx.value(ws, r, col) for r in range(box.min_row + 1, box.max_row + 1))
                              if isinstance(v, (int, float))), reverse=op == "top")
            cut = numbers[: max(count, 0)]
            limit = cut[-1] if cut else None
            if limit is None:
                return lambda v: False
            return (lambda v: isinstance(v, (int, float)) and v >= limit) if op == "top" else (
                lambda v: isinstance(v, (int, float)) and v <= limit)
        if target is None:
            raise fail(f"op {op!r} needs 'value'")
        if op in ("contains", "begins", "ends"):
            needle = str(target).lower()
            check = {"contains": lambda t: needle in t, "begins": lambda t: t.startswith(needle),
                     "ends": lambda t: t.endswith(needle)}[op]
            return lambda v: check(_text(v).lower())
        compare: dict[str, Callable[[Any, Any], bool]] = {
            "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "gt": lambda a, b: a > b,
            "lt": lambda a, b: a < b, "ge": lambda a, b: a >= b, "le": lambda a, b: a <= b}
        fn = compare[op]

        def test(value: Any) -> bool:
            if isinstance(target, (int, float)) and isinstance(value, (int, float)):
                return fn(value, target)
            if op in ("eq", "ne"):
                return fn(_text(value).lower(), str(target).strip().lower())
            return False

        return test

    def _xml(self, col_id: int) -> FilterColumn:
        if self.op == "in":
            return FilterColumn(colId=col_id, filters=Filters(filter=[str(v) for v in self.values or []]))
        if self.op == "eq" and not isinstance(coerce_input(self.value), (int, float)):
            return FilterColumn(colId=col_id, filters=Filters(filter=[str(self.value)]))
        if self.op in _CUSTOM_OPS:
            return FilterColumn(colId=col_id, customFilters=CustomFilters(
                customFilter=[CustomFilter(operator=_CUSTOM_OPS[self.op], val=str(self.value))]))
        if self.op in ("contains", "begins", "ends"):
            pattern = {"contains": "*{}*", "begins": "{}*", "ends": "*{}"}[self.op].format(self.value)
            return FilterColumn(colId=col_id, customFilters=CustomFilters(
                customFilter=[CustomFilter(operator="equal", val=pattern)]))
        from openpyxl.worksheet.filters import Top10

        return FilterColumn(colId=col_id, top10=Top10(top=self.op == "top", val=float(self.value or 10)))


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()


Func = Literal["sum", "count", "average", "max", "min", "count_distinct"]
_FUNC_LABEL = {"sum": "Sum", "count": "Count", "average": "Average", "max": "Max", "min": "Min",
               "count_distinct": "Distinct Count"}


class Summary(Act):
    action: Literal["summary"]
    rows: list[str]  # group-by columns (header or letter)
    values: list[str]  # columns to aggregate
    func: Func | list[Func] = "sum"  # one for all values, or one per value
    cols: list[str] | None = None  # a column whose distinct values become columns (pivot)
    range: str | None = None  # source table with its header row; default: the used area
    to_sheet: str | None = None  # where to write; created if missing (default: new sheet 'Summary')
    at: str = "A1"  # top-left cell of the output
    total: bool = True  # add a Grand Total row (and column)
    index: int | None = None  # position of a new output sheet (0 = first; default: before the source)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True, default_used=True)
        if not self.rows or not self.values:
            raise fail("summary needs 'rows' and 'values'")
        if self.range:
            box = ctx.with_header(ws, box, [*self.rows, *self.values, *(self.cols or [])])
        rows = [ctx.column(ws, c, box=box) for c in self.rows]
        vals = [ctx.column(ws, c, box=box) for c in self.values]
        cols = [ctx.column(ws, c, box=box) for c in self.cols or []]
        if len(cols) > 1:
            raise fail("'cols' takes one column")
        funcs = self.func if isinstance(self.func, list) else [self.func] * len(vals)
        if len(funcs) != len(vals):
            raise fail("'func' needs one function per 'values' column")
        if cols and len(vals) != 1:
            raise fail("with 'cols', give exactly one 'values' column")
        header = {c: _text(ws.cell(box.min_row, c).value) for c in range(box.min_col, box.max_col + 1)}
        records = [{c: ctx.value(ws, r, c) for c in set(rows + vals + cols)} for r in range(box.min_row + 1, box.max_row + 1)]
        records = [rec for rec in records if any(rec[c] not in (None, "") for c in rows)]
        for v, f in zip(vals, funcs, strict=True):
            if f in ("sum", "average", "max", "min") and not any(isinstance(rec[v], (int, float)) for rec in records):
                read = _numbers_from_text(records, v)
                if not read:
                    raise fail(f"column {header[v]!r} has no numbers to {f}; use func 'count' or convert it first")
                ctx.notes.append(f"summary: read {read} numbers written as text in {header[v]!r} "
                                 "(e.g. '1,250.00') as numbers; the sheet's cells stay text")
        out_ws = self._target(ctx, ws)
        start = ctx.box(out_ws, self.at)
        table = self._table(records, rows, vals, cols, funcs, header)
        ctx.writable(out_ws, ctx.box(out_ws, f"{coord(start.min_row, start.min_col)}:"
                                             f"{coord(start.min_row + len(table) - 1, start.min_col + max(len(t) for t in table) - 1)}"))
        for i, line in enumerate(table):
            for j, value in enumerate(line):
                cell = out_ws.cell(start.min_row + i, start.min_col + j)
                set_untrusted(cell, value)
                if i == 0 or (self.total and i == len(table) - 1):
                    bold = copy(cell.font)
                    bold.b = True
                    cell.font = bold
        end = coord(start.min_row + len(table) - 1, start.min_col + max(len(t) for t in table) - 1)
        spec = {"sheet": out_ws.title, "ref": f"{coord(start.min_row, start.min_col)}:{end}",
                "source": f"{quote_sheet(ws.title)}!{box.ref}", "rows": [header[c] for c in rows],
                "cols": [header[c] for c in cols], "values": [[header[v], f] for v, f in zip(vals, funcs, strict=True)]}
        _record_summary(ctx, spec)

    def _target(self, ctx: EditContext, source: Worksheet) -> Worksheet:
        name = self.to_sheet or "Summary"
        if name in ctx.wb.sheetnames:
            return ctx.sheet(name)
        return ctx.create_sheet(name, self.index, before=source)

    def _table(self, records: list[dict[int, Any]], rows: list[int], vals: list[int], cols: list[int],
               funcs: list[Any], header: dict[int, str]) -> list[list[Any]]:
        groups: dict[tuple[Any, ...], list[dict[int, Any]]] = {}
        for rec in records:
            groups.setdefault(tuple(_label(rec[c]) for c in rows), []).append(rec)
        keys = sorted(groups, key=lambda k: [_sort_key(x, False) for x in k])
        lines: list[list[Any]] = []
        if cols:
            col, val, func = cols[0], vals[0], funcs[0]
            col_keys = sorted({_label(rec[col]) for rec in records}, key=lambda x: _sort_key(x, False))
            lines.append([header[c] for c in rows] + list(col_keys) + (["Grand Total"] if self.total else []))
            for key in keys:
                recs = groups[key]
                line = list(key) + [_aggregate([r[val] for r in recs if _label(r[col]) == ck], func) for ck in col_keys]
                lines.append(line + ([_aggregate([r[val] for r in recs], func)] if self.total else []))
            if self.total:
                lines.append(["Grand Total"] + [""] * (len(rows) - 1)
                             + [_aggregate([r[val] for r in records if _label(r[col]) == ck], func) for ck in col_keys]
                             + [_aggregate([r[val] for r in records], func)])
            return lines
        lines.append([header[c] for c in rows] + [f"{_FUNC_LABEL[f]} of {header[v]}" for v, f in zip(vals, funcs, strict=True)])
        for key in keys:
            recs = groups[key]
            lines.append(list(key) + [_aggregate([r[v] for r in recs], f) for v, f in zip(vals, funcs, strict=True)])
        if self.total:
            lines.append(["Grand Total"] + [""] * (len(rows) - 1)
                         + [_aggregate([r[v] for r in records], f) for v, f in zip(vals, funcs, strict=True)])
        return lines


def _label(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return "(blank)" if value is None else value


def _numbers_from_text(records: list[dict[int, Any]], col: int) -> int:
    """A column of numbers stored as text ('1,250.00', '(30)'): read them as numbers in place
    when every filled value parses; returns how many (0: left as they are)."""
    from tools.sheet.cells import parse_number

    filled = [rec for rec in records if rec[col] not in (None, "")]
    parsed = [parse_number(rec[col]) if isinstance(rec[col], str) else None for rec in filled]
    if not filled or any(p is None for p in parsed):
        return 0
    for rec, number in zip(filled, parsed, strict=True):
        rec[col] = number
    return len(filled)


def _aggregate(values: list[Any], func: str) -> Any:
    if func == "count":
        return sum(1 for v in values if v not in (None, ""))
    if func == "count_distinct":
        return len({_label(v) for v in values if v not in (None, "")})
    numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not numbers:
        return None
    if func == "sum":
        total = math.fsum(numbers)
        return int(total) if total.is_integer() and abs(total) < 1e15 else total
    if func == "average":
        return math.fsum(numbers) / len(numbers)
    return max(numbers) if func == "max" else min(numbers)


def _record_summary(ctx: EditContext, spec: dict[str, Any]) -> None:
    """Keep what the summary is (source, rows, cols, values) in a custom document property."""
    from openpyxl.packaging.custom import StringProperty

    props = ctx.wb.custom_doc_props
    n = sum(1 for p in props if p.name.startswith(SUMMARY_PROP)) + 1
    props.append(StringProperty(name=f"{SUMMARY_PROP}.{n}", value=json.dumps(spec)))


def read_summaries(workbook: Any) -> list[dict[str, Any]]:
    out = []
    for prop in getattr(workbook, "custom_doc_props", []):
        if prop.name.startswith(SUMMARY_PROP):
            try:
                out.append(json.loads(prop.value))
            except (TypeError, ValueError):
                continue
    return out

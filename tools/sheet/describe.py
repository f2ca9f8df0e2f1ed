"""Sheet actions in plain English, one line each, for a person reviewing a proposed edit.

With the workbook the lines name columns by their headers and say sort directions in the data's
terms ("oldest first" for dates, "largest first" for numbers, "A to Z" for text); columns and
ranges are resolved by the same ``EditContext`` helpers the actions use. Describing never changes
the workbook and never raises: an action it cannot read gets a generic line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as XLWorkbook
from openpyxl.worksheet.worksheet import Worksheet
from pydantic import BaseModel, TypeAdapter

from table_io.quoting import quote_sheet, sheet_label
from tools.sheet.actions import Action
from tools.sheet.cells import _grid
from tools.sheet.context import EditContext
from tools.sheet.refs import Box, parse_box

MAX_LINE = 120
_ONE: TypeAdapter[Any] = TypeAdapter(Action)
_SAMPLE_ROWS = 500  # values looked at to tell what a sort column holds
_DIRECTIONS = {"date": ("oldest first", "newest first"), "number": ("smallest first", "largest first"),
               "text": ("A to Z", "Z to A"), None: ("ascending", "descending")}
_COMPARE = {"eq": "is", "ne": "is not", "gt": "is greater than", "lt": "is less than", "ge": "is at least",
            "le": "is at most", "between": "is between", "not_between": "is not between",
            "contains": "contains", "begins": "begins with", "ends": "ends with"}
_FUNC = {"sum": "sum", "count": "count", "average": "average", "max": "max", "min": "min",
         "count_distinct": "distinct count"}


def describe_actions(actions: Sequence[Mapping[str, Any] | BaseModel],
                     workbook: XLWorkbook | None = None) -> list[str]:
    """One line per action (see ``describe_action``); ``workbook`` is the state before the edit."""
    reader = _Reader(workbook)
    try:
        return [_describe(action, reader) for action in actions]
    finally:
        reader.restore()


def describe_action(action: Mapping[str, Any] | BaseModel, workbook: XLWorkbook | None = None) -> str:
    """``action`` (a dict as the model sends it, or an action model) as one plain-English line."""
    return describe_actions([action], workbook)[0]


# --------------------------------------------------------------------------- the workbook
class _Reader:
    """The workbook as the describer reads it, or nothing. ``EditContext`` helpers read cells with
    ``ws.cell``, which adds empty cells; ``restore`` removes every cell added while describing."""

    def __init__(self, workbook: XLWorkbook | None) -> None:
        self.ctx = EditContext(workbook) if workbook is not None else None
        self._cells_before: dict[int, tuple[Worksheet, set[tuple[int, int]], int]] = {}

    def sheet(self, name: str | None) -> Worksheet | None:
        if self.ctx is None:
            return None
        try:
            ws = self.ctx.sheet(name)
        except Exception:  # a sheet an earlier action of the batch creates
            return None
        if id(ws) not in self._cells_before:
            self._cells_before[id(ws)] = (ws, set(ws._cells), ws._current_row)
        return ws

    def restore(self) -> None:
        for ws, before, current_row in self._cells_before.values():
            for key in [k for k in ws._cells if k not in before]:
                del ws._cells[key]
            ws._current_row = current_row  # where ws.append writes next


class _Action:
    """One parsed action with its sheet resolved (title as in the workbook when it is known)."""

    def __init__(self, model: Any, reader: _Reader) -> None:
        self.m = model
        self.reader = reader
        self.ws = reader.sheet(model.sheet)
        self.ctx = reader.ctx if self.ws is not None else None
        self.sheet: str | None = self.ws.title if self.ws is not None else model.sheet

    def at(self, ref: str | None, sheet: str | None = None) -> str:
        """'Sales!A2:D13' ('A2:D13' when the sheet is not known)."""
        name = sheet if sheet is not None else self.sheet
        text = str(ref or "").strip()
        if "!" in text or not name:
            return text
        return f"{quote_sheet(name)}!{text}"

    def sheet_words(self) -> str:
        return sheet_label(self.sheet) if self.sheet else "the active sheet"

    def table(self, ref: str | None) -> tuple[str, Box | None]:
        """The range an action over a table reads (its default: the table of the sheet)."""
        box = None
        if self.ctx is not None and self.ws is not None:
            try:
                box = self.ctx.box(self.ws, ref, read=True, default_used=True)
            except Exception:
                box = None
        if ref:
            return self.at(ref), box
        if box is not None:
            return self.at(box.ref), box
        return self.sheet_words(), None

    def column(self, spec: str, box: Box | None = None, *, extra: str = "",
               letter_first: bool = False) -> tuple[str, int | None]:
        """A column's name for people: its header ('Hire Date'), 'Hire Date (column C)' when it
        was given as a letter, or the text given when the workbook does not tell; ``extra`` joins
        the parentheses ('Salary (column D, largest first)'). Where the place matters
        (inserting, deleting), ``letter_first`` gives 'column C (Hire Date)'."""
        if self.ctx is None or self.ws is None:
            return _named(_column_text(spec), extra), None
        try:
            col = self.ctx.column(self.ws, spec, box=box)
            row = box.min_row if box else self.ctx.header_row(self.ws)
        except Exception:
            return _named(_column_text(spec), extra), None
        cell = self.ws._cells.get((row, col))
        header = _short(str(cell.value), 40) if cell is not None and cell.value not in (None, "") else ""
        letter = f"column {get_column_letter(col)}"
        if not header:
            return _named(letter, extra), col
        if letter_first:
            return _named(letter, header, extra), col
        if header.lower() == str(spec).strip().lower():
            return _named(header, extra), col
        return _named(header, letter, extra), col

    def kind_of(self, col: int | None, first_row: int, last_row: int) -> str | None:
        """'date', 'number' or 'text' when at least 80% of the column's constants are that."""
        if self.ws is None or col is None:
            return None
        kinds: Counter[str] = Counter()
        for row in range(first_row, min(last_row, first_row + _SAMPLE_ROWS) + 1):
            cell = self.ws._cells.get((row, col))
            if cell is None or cell.data_type == "f" or cell.value in (None, ""):
                continue
            kind = _value_kind(cell.value)
            if kind:
                kinds[kind] += 1
        if not kinds:
            return None
        kind, n = kinds.most_common(1)[0]
        return kind if n >= 0.8 * sum(kinds.values()) else None


def _value_kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return "date"
    if isinstance(value, (int, float)):
        return "number"
    return "text" if isinstance(value, str) else None


def _named(name: str, *notes: str) -> str:
    """'Salary (column D, largest first)'; empty notes left out."""
    shown = [n for n in notes if n]
    return f"{name} ({', '.join(shown)})" if shown else name


def _column_text(spec: Any) -> str:
    text = str(spec).strip()
    return f"column {text.upper()}" if re.fullmatch(r"[A-Za-z]{1}", text) else _short(text, 40)


# --------------------------------------------------------------------------- dispatch
def _describe(action: Mapping[str, Any] | BaseModel, reader: _Reader) -> str:
    raw = action.model_dump(exclude_none=True) if isinstance(action, BaseModel) else action
    try:
        model = _ONE.validate_python(dict(raw))
        line = _DESCRIBERS[model.action](_Action(model, reader))
    except Exception:
        line = _generic(raw)
    return _fit(line)


def _generic(raw: Any) -> str:
    """'<action> on <sheet>!<range>' from whatever the malformed action holds."""
    if not isinstance(raw, Mapping):
        return "unreadable action"
    name = str(raw.get("action") or "unknown action")
    ref = next((str(raw[k]) for k in ("range", "cell", "source", "data", "target", "at") if raw.get(k)), "")
    sheet = str(raw["sheet"]) if raw.get("sheet") else ""
    if sheet and ref:
        return f"{name} on {quote_sheet(sheet)}!{ref}"
    if sheet or ref:
        return f"{name} on {sheet or ref}"
    return f"{name} on the active sheet"


# --------------------------------------------------------------------------- cells
def _write(a: _Action) -> str:
    grid = _grid(a.m.values, parse_box(a.m.range) or Box(1, 1, 1, 1))
    flat = [v for row in grid for v in row]
    box = parse_box(a.m.range)
    ref = a.m.range
    rows, cols = len(grid), max((len(r) for r in grid), default=1)
    if box is not None and box.size == 1 and rows * cols > 1:
        ref = Box(box.min_col, box.min_row, box.min_col + cols - 1, box.min_row + rows - 1).ref
    as_text = " (as text)" if any(isinstance(v, str) and v.startswith("=") for v in flat) else ""
    if len(flat) <= 3 and not (box is not None and box.size > 1 and len(flat) == 1):
        return f"Write {', '.join(_q(v) for v in flat) or _q(None)} in {a.at(ref)}{as_text}"
    if len(flat) == 1:
        return f"Write {_q(flat[0])} in every cell of {a.at(ref)}{as_text}"
    return f"Write {len(flat)} values in {a.at(ref)} ({', '.join(_q(v) for v in flat[:2])}, …){as_text}"


def _formula(a: _Action) -> str:
    text = _formula_text(a.m.formula)
    box = parse_box(a.m.range)
    if box is None or box.size == 1:
        return f"Set {a.at(a.m.range)} to {text}"
    how = "down" if box.width == 1 else "across" if box.height == 1 else "over the range"
    return f"Fill {a.at(a.m.range)} with {text} (copied {how})"


def _fill(a: _Action) -> str:
    src, dst = parse_box(a.m.source), parse_box(a.m.target)
    how = ""
    if src is not None and dst is not None:
        how = " down" if dst.min_col == src.min_col and dst.width == src.width else " across"
    return f"Autofill {a.at(a.m.target)} from {a.m.source}{how} (formulas adjusted, series continued)"


def _copy(a: _Action) -> str:
    what = {"values": " (values only)", "formats": " (formats only)"}.get(a.m.what, "")
    target = a.at(a.m.target, a.m.to_sheet) if a.m.to_sheet else a.at(a.m.target)
    return f"Copy {a.at(a.m.source)} to {target}{what}{', transposed' if a.m.transpose else ''}"


def _clear(a: _Action) -> str:
    where = a.at(a.m.range)
    return {"contents": f"Clear the contents of {where}", "formats": f"Clear the formatting of {where}",
            "links": f"Remove the links in {where}",
            "all": f"Clear everything in {where} (contents and formatting)"}[a.m.what]


def _find_replace(a: _Action) -> str:
    where = a.at(a.m.range) if a.m.range else f"all of {a.sheet_words()}"
    options = [o for o, on in (("match case", a.m.case), ("whole cell only", a.m.whole)) if on]
    tail = f" ({', '.join(options)})" if options else ""
    if a.m.replace == "":
        return f"Remove {_q(a.m.find)} from {where}{tail}"
    return f"Replace {_q(a.m.find)} with {_q(a.m.replace)} in {where}{tail}"


def _convert(a: _Action) -> str:
    target = {"number": "numbers", "date": "dates", "text": "text"}[a.m.to]
    line = f"Convert {a.at(a.m.range)} to {target}"
    if a.m.parse:
        line += f" (read as {a.m.parse})"
    return line + (f", formatted {_q(a.m.format)}" if a.m.format else "")


def _link(a: _Action) -> str:
    shown = f" showing {_q(a.m.text)}" if a.m.text is not None else ""
    return f"Link {a.at(a.m.cell)} to {_short(a.m.url, 60)}{shown}"


def _merge(a: _Action) -> str:
    return f"Merge {a.at(a.m.range)}"


def _unmerge(a: _Action) -> str:
    return f"Unmerge the cells in {a.at(a.m.range)}"


def _name_range(a: _Action) -> str:
    return f"Name {a.at(a.m.range)} {_q(a.m.name)}"


def _dedupe(a: _Action) -> str:
    where, box = a.table(a.m.range)
    if a.m.columns:
        names = _and([a.column(c, box)[0] for c in a.m.columns])
        return f"Remove duplicate rows from {where}, comparing {names}"
    return f"Remove duplicate rows from {where} (rows equal in every column)"


def _split(a: _Action) -> str:
    box = parse_box(a.m.range)
    if a.m.to:
        start = a.column(a.m.to)[0]
    else:
        start = f"column {get_column_letter(box.max_col + 1)}" if box is not None else "the next column"
    return f"Split {a.at(a.m.range)} at {_q(a.m.sep)} into columns from {start}"


# --------------------------------------------------------------------------- structure
def _rows(a: _Action, verb: str) -> str:
    n, at = a.m.count, a.m.at
    if verb == "Insert":
        what = "a row" if n == 1 else f"{n} rows"
        return f"Insert {what} before row {at} on {a.sheet_words()}"
    what = f"row {at}" if n == 1 else f"rows {at}-{at + n - 1}"
    return f"Delete {what} on {a.sheet_words()}"


def _cols(a: _Action, verb: str) -> str:
    n = a.m.count
    name, col = a.column(a.m.at, letter_first=True)
    if col is None and re.fullmatch(r"[A-Za-z]{1,3}", str(a.m.at).strip()):
        from openpyxl.utils import column_index_from_string

        col = column_index_from_string(str(a.m.at).strip().upper())
    if verb == "Insert":
        what = "a column" if n == 1 else f"{n} columns"
        return f"Insert {what} before {_with_column(name)} on {a.sheet_words()}"
    if n == 1 or col is None:
        return f"Delete {_with_column(name)}{f' and {n - 1} more' if n > 1 else ''} on {a.sheet_words()}"
    return f"Delete columns {get_column_letter(col)}-{get_column_letter(col + n - 1)} on {a.sheet_words()}"


def _with_column(name: str) -> str:
    return name if name.startswith("column ") else f"column {name}"


def _add_sheet(a: _Action) -> str:
    where = "" if a.m.index is None else " as the first sheet" if a.m.index == 0 else f" at position {a.m.index + 1}"
    return f"Add a sheet {sheet_label(a.m.name)}{where}"


def _rename_sheet(a: _Action) -> str:
    return f"Rename sheet {a.sheet_words()} to {sheet_label(a.m.name)}"


def _copy_sheet(a: _Action) -> str:
    return f"Copy sheet {a.sheet_words()} as {sheet_label(a.m.name)}"


def _delete_sheet(a: _Action) -> str:
    return f"Delete sheet {a.sheet_words()}"


def _move_sheet(a: _Action) -> str:
    where = "to the front" if a.m.index == 0 else f"to position {a.m.index + 1}"
    return f"Move sheet {a.sheet_words()} {where}"


def _freeze(a: _Action) -> str:
    box = parse_box(str(a.m.cell)) if a.m.cell not in (None, "", "A1") else None
    if box is None:
        return f"Unfreeze panes on {a.sheet_words()}"
    parts = []
    if box.min_row > 1:
        parts.append("row 1" if box.min_row == 2 else f"rows 1-{box.min_row - 1}")
    if box.min_col > 1:
        last = get_column_letter(box.min_col - 1)
        parts.append("column A" if box.min_col == 2 else f"columns A-{last}")
    return f"Freeze {' and '.join(parts)} on {a.sheet_words()}"


def _span_words(text: str, axis: str) -> str:
    plural = ":" in text or "," in text
    return f"{axis}{'s' if plural else ''} {text}"


def _size(a: _Action) -> str:
    parts = []
    if a.m.cols:
        cols = _span_words(a.m.cols, "column")
        parts.append(f"auto-fit the width of {cols}" if a.m.auto else f"set the width of {cols} to {_num(a.m.width)}")
    if a.m.rows:
        parts.append(f"set the height of {_span_words(a.m.rows, 'row')} to {_num(a.m.height)}")
    text = "; ".join(parts) or "resize"
    return f"{text[0].upper()}{text[1:]} on {a.sheet_words()}"


def _hide(a: _Action) -> str:
    verb = "Show" if a.m.show else "Hide"
    if a.m.whole:
        return f"{verb} sheet {a.sheet_words()}"
    parts = [_span_words(t, axis) for t, axis in ((a.m.cols, "column"), (a.m.rows, "row")) if t]
    return f"{verb} {' and '.join(parts) or 'nothing'} on {a.sheet_words()}"


# --------------------------------------------------------------------------- data
def _sort(a: _Action) -> str:
    where, box = a.table(a.m.range)
    flags = a.m.desc if isinstance(a.m.desc, list) else [a.m.desc] * len(a.m.by)
    keys = []
    for spec, desc in zip(a.m.by, flags + [False] * (len(a.m.by) - len(flags)), strict=False):
        _, col = a.column(spec, box if a.m.header else None)
        kind = None
        if box is not None:
            kind = a.kind_of(col, box.min_row + (1 if a.m.header else 0), box.max_row)
        direction = _DIRECTIONS[kind][1 if desc else 0]
        if len(a.m.by) == 1:
            keys.append(f"{a.column(spec, box if a.m.header else None)[0]}, {direction}")
        else:
            keys.append(a.column(spec, box if a.m.header else None, extra=direction)[0])
    order = ", then ".join(keys)
    return f"Sort {where} by {order}{'' if a.m.header else ' (no header row)'}"


def _filter(a: _Action) -> str:
    where, box = a.table(a.m.range)
    if a.m.clear:
        return f"Remove the filter from {where} and show all rows"
    if a.m.column is None:
        return f"Add filter buttons to {where}"
    name, _ = a.column(a.m.column, box)
    op = a.m.op
    if op in ("top", "bottom"):
        return f"Filter {where} to the {op} {_num(a.m.value) if a.m.value is not None else 10} rows by {name}"
    if op == "in":
        shown = ", ".join(_q(v) for v in (a.m.values or [])[:4]) + (", …" if len(a.m.values or []) > 4 else "")
        return f"Filter {where} to rows where {name} is one of {shown}"
    return f"Filter {where} to rows where {name} {_COMPARE[op]} {_q(a.m.value)}"


def _summary(a: _Action) -> str:
    _, box = a.table(a.m.range)
    funcs = a.m.func if isinstance(a.m.func, list) else [a.m.func] * len(a.m.values)
    values = ", ".join(a.column(v, box, extra=_FUNC.get(f, f))[0] for v, f in zip(a.m.values, funcs, strict=False))
    rows = ", ".join(a.column(r, box)[0] for r in a.m.rows)
    across = f" across {a.column(a.m.cols[0], box)[0]}" if a.m.cols else ""
    name = a.m.to_sheet or "Summary"
    at = f" at {a.m.at}" if a.m.at != "A1" else ""
    if a.reader.ctx is not None and name not in a.reader.ctx.wb.sheetnames:
        target = f"on a new sheet {sheet_label(name)}"
    else:
        target = f"on sheet {sheet_label(name)}{at}"
    source = f" of {a.at(a.m.range)}" if a.m.range else ""
    total = "" if a.m.total else ", no grand total"
    return f"Summarise {values}{source} by {rows}{across} {target}{total}"


# --------------------------------------------------------------------------- styling
def _format(a: _Action) -> str:
    m = a.m
    props = []
    if m.num:
        props.append(f"number format {_q(m.num)}")
    for flag, word in ((m.bold, "bold"), (m.italic, "italic"), (m.underline, "underlined")):
        if flag is not None:
            props.append(word if flag else f"not {word}")
    if m.font:
        props.append(f"font {m.font}")
    if m.size:
        props.append(f"size {_num(m.size)}")
    if m.color:
        props.append(f"{m.color} text")
    if m.fill:
        props.append("no fill" if m.fill == "none" else f"{m.fill} fill")
    if m.align:
        props.append(f"aligned {m.align}")
    if m.valign:
        props.append(f"vertically {m.valign}")
    if m.wrap is not None:
        props.append("wrapped text" if m.wrap else "no text wrap")
    if m.border:
        colour = f" {m.border_color}" if m.border_color else ""
        props.append("no borders" if m.border == "none" else
                     f"{m.border}{colour} border{' around it' if m.outline else 's'}")
    return f"Format {a.at(m.range)}" + (f": {', '.join(props)}" if props else "")


def _cond_format(a: _Action) -> str:
    m = a.m
    where = a.at(m.range)
    style = [s for s in (f"{m.fill} fill" if m.fill else "", f"{m.color} text" if m.color else "",
                         "bold" if m.bold else "", "italic" if m.italic else "") if s]
    look = f" ({', '.join(style)})" if style else ""
    rule = m.rule
    if rule == "scale":
        colours = f" ({' to '.join(m.colors)})" if m.colors else ""
        return f"Add a colour scale to {where}{colours}"
    if rule == "bar":
        return f"Add data bars to {where}" + (f" ({m.colors[0]})" if m.colors else "")
    if rule == "formula":
        return f"Highlight cells in {where} where {_formula_text(m.formula or '')}{look}"
    if rule in ("top", "bottom"):
        count = _num(m.value) if m.value is not None else "10"
        return f"Highlight the {rule} {count}{'%' if m.percent else ''} values in {where}{look}"
    if rule in ("above_avg", "below_avg"):
        return f"Highlight {'above' if rule == 'above_avg' else 'below'}-average values in {where}{look}"
    if rule in ("duplicate", "unique"):
        return f"Highlight {rule} values in {where}{look}"
    if rule == "text":
        return f"Highlight cells in {where} containing {_q(m.value)}{look}"
    return f"Highlight cells in {where} that {_condition(m.op, m.value, m.value2)}{look}"


def _condition(op: str | None, value: Any, value2: Any, *, plural: bool = True) -> str:
    words = _COMPARE.get(op or "eq", op or "")
    if plural and words.startswith("is"):
        words = "are" + words[2:]
    if op in ("between", "not_between"):
        return f"{words} {_q(value)} and {_q(value2)}"
    return f"{words} {_q(value)}"


def _validate(a: _Action) -> str:
    m = a.m
    where = a.at(m.range)
    message = f", message {_q(m.message)}" if m.message else ""
    if m.kind == "list":
        items = m.values or []
        shown = ", ".join(_q(v) for v in items[:5]) + (", …" if len(items) > 5 else "")
        return f"Restrict {where} to a list: {shown or _formula_text(m.formula or '')}{message}"
    if m.kind == "custom":
        return f"Restrict {where} to entries where {_formula_text(m.formula or '')}{message}"
    if m.kind == "length":
        rule = f" whose length {_condition(m.op, m.value, m.value2, plural=False)}" if m.op else ""
        return f"Restrict {where} to text{rule}{message}"
    kind = {"whole": "whole numbers", "decimal": "numbers", "date": "dates"}[m.kind]
    rule = f" that {_condition(m.op, m.value, m.value2)}" if m.op else ""
    return f"Restrict {where} to {kind}{rule}{message}"


def _chart(a: _Action) -> str:
    m = a.m
    article = "an" if m.type == "area" else "a"
    line = f"Add {article} {m.type} chart of {a.at(m.data)}"
    if m.labels:
        line += f" by {m.labels}"
    if m.to_sheet:
        line += f" on sheet {sheet_label(m.to_sheet)}"
    if m.at:
        line += f" at {m.at}"
    return line + (f", titled {_q(m.title)}" if m.title else "")


def _edit_chart(a: _Action) -> str:
    m = a.m
    which = "the last chart" if m.index == -1 else "the first chart" if m.index == 0 else (
        f"chart {m.index + 1}" if m.index > 0 else f"chart {m.index}")
    if m.delete:
        return f"Delete {which} on {a.sheet_words()}"
    changes = []
    for field in ("title", "x_title", "y_title"):
        value = getattr(m, field)
        if value is not None:
            changes.append(f"{field.replace('_', ' ')} {_q(value)}")
    for field, label in (("type", "type"), ("legend", "legend"), ("trendline", "trendline"), ("marker", "markers")):
        value = getattr(m, field)
        if value is not None:
            changes.append(f"{label} {value}")
    for field, label in (("data_labels", "data labels"), ("smooth", "smooth lines")):
        value = getattr(m, field)
        if value is not None:
            changes.append(label if value else f"no {label}")
    return f"Change {which} on {a.sheet_words()}" + (f": {', '.join(changes)}" if changes else "")


_DESCRIBERS: dict[str, Callable[[_Action], str]] = {
    "write": _write, "formula": _formula, "fill": _fill, "copy": _copy, "clear": _clear,
    "find_replace": _find_replace, "convert": _convert, "link": _link, "merge": _merge, "unmerge": _unmerge,
    "name_range": _name_range, "dedupe": _dedupe, "split": _split,
    "insert_rows": lambda a: _rows(a, "Insert"), "delete_rows": lambda a: _rows(a, "Delete"),
    "insert_cols": lambda a: _cols(a, "Insert"), "delete_cols": lambda a: _cols(a, "Delete"),
    "add_sheet": _add_sheet, "rename_sheet": _rename_sheet, "copy_sheet": _copy_sheet,
    "delete_sheet": _delete_sheet, "move_sheet": _move_sheet, "freeze": _freeze, "size": _size, "hide": _hide,
    "sort": _sort, "filter": _filter, "summary": _summary, "format": _format, "cond_format": _cond_format,
    "validate": _validate, "chart": _chart, "edit_chart": _edit_chart,
}


# --------------------------------------------------------------------------- text
def _q(value: Any) -> str:
    """A value as the line shows it: text quoted and shortened, numbers and dates plain."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return _num(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return "'" + _short(str(value), 30) + "'"


def _num(value: Any) -> str:
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.6g}"
    return str(value)


def _formula_text(formula: str) -> str:
    text = formula.strip()
    return _short(text if text.startswith("=") else "=" + text, 50)


def _and(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _short(text: str, limit: int) -> str:
    text = re.sub(r"[\r\n\t]+", " ", str(text))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit(line: str) -> str:
    return _short(line, MAX_LINE)

"""What an edit left, read back from the draft workbook (after recalculation), so the agent can
compare it with the request before the edit is offered: where a sort put its first and last
keys, which formula cells came out as Excel errors, which sheets and charts were added, what a
conversion left unconverted. ``Readback.text()`` is what the model is shown."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

ERROR_VALUES = ("#NAME?", "#VALUE!", "#REF!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!", "#SPILL!",
                "#CALC!")
_DATE_TEXT = (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}"), re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$"),
              re.compile(r"^\d{1,2} [A-Za-z]{3,9},? \d{4}$"), re.compile(r"^[A-Za-z]{3,9} \d{1,2},? \d{4}$"))
_NUMBER_TEXT = re.compile(r"^\s*[-+(]?[$€£]?\s*\d[\d,. ]*%?\)?\s*$")


@dataclass(frozen=True)
class SortRead:
    """One sort as it came out: its key column's first and last filled values, in sheet order."""

    sheet: str
    range: str
    column: str  # letter of the first key
    header: str | None
    desc: bool
    first: Any
    last: Any
    kind: str  # 'date', 'number', 'text', 'date text' (dates stored as text), 'number text'
    ascending: bool | None  # what the rows now show (None: all keys equal or unknown)


@dataclass
class Readback:
    sheets_before: list[str] = field(default_factory=list)
    sheets_after: list[str] = field(default_factory=list)
    sorts: list[SortRead] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    converts: list[dict[str, Any]] = field(default_factory=list)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (cell, error, formula)
    texts_written: list[str] = field(default_factory=list)  # text values the edit wrote
    # writes that miss the header row: (what, where it went, where it belongs)
    misplaced: list[tuple[str, str, str]] = field(default_factory=list)
    formulas_as_text: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    changed: int = 0  # cells and objects the edit changed (recomputed values not counted)

    @property
    def sheets_added(self) -> list[str]:
        before = {s.lower() for s in self.sheets_before}
        return [s for s in self.sheets_after if s.lower() not in before]

    def text(self) -> str:
        """A few lines for the model: what the draft shows, to compare with the request."""
        lines = []
        for s in self.sorts:
            name = f"{s.column} ({s.header})" if s.header else s.column
            order = {True: "ascending", False: "descending", None: "unchanged"}[s.ascending]
            lines.append(f"check: {s.sheet}!{s.range} sorted by {name}: first {show_value(s.first)}, "
                         f"last {show_value(s.last)} ({order}{', ' + s.kind if s.kind else ''})")
        for c in self.charts:
            lines.append(f"check: a {c.get('type')} chart on {c.get('sheet')} of {c.get('data')} "
                         f"({c.get('series')} series, {c.get('points')} points)")
        for c in self.converts:
            if c.get("left_count"):
                lines.append(f"check: {c['sheet']}!{c['range']}: {c['left_count']} cells are "
                             f"still text, e.g. {', '.join(c.get('left') or [])}")
        if self.errors:
            shown = ", ".join(f"{cell}={err}" for cell, err, _ in self.errors[:4])
            lines.append(f"check: {len(self.errors)} formula cells show errors: {shown}")
        if self.sheets_added:
            lines.append(f"check: new sheets {', '.join(self.sheets_added)}")
        for where, text in self.formulas_as_text:
            lines.append(f"check: {where} got the text {text!r}, not a formula")
        for what, where, fix in self.misplaced:
            lines.append(f"check: the {what} went to {where}; it belongs in {fix}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"sheets_added": self.sheets_added, "sorts": [s.__dict__ for s in self.sorts],
                "charts": self.charts, "converts": self.converts,
                "errors": [list(e) for e in self.errors], "changed": self.changed,
                "misplaced": [list(m) for m in self.misplaced],
                "formulas_as_text": [list(f) for f in self.formulas_as_text]}


def show_value(value: Any, limit: int = 40) -> str:
    """A key value as the checks say it: dates as ISO (no midnight time), the rest as repr."""
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    text = value.isoformat() if isinstance(value, dt.date) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def value_kind(values: list[Any]) -> str:
    """The kind of a column's filled values: 'date', 'number', 'text', or text that holds
    dates or numbers ('date text', 'number text')."""
    filled = [v for v in values if v not in (None, "")]
    if not filled:
        return ""
    if all(isinstance(v, dt.date) for v in filled):
        return "date"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in filled):
        return "number"
    texts = [v for v in filled if isinstance(v, str)]
    if len(texts) == len(filled):
        if all(any(p.match(t.strip()) for p in _DATE_TEXT) for t in texts):
            return "date text"
        if all(_NUMBER_TEXT.match(t) for t in texts):
            return "number text"
    return "text"


def _order(values: list[Any]) -> bool | None:
    """True when the filled values rise (never fall), False when they fall, None when equal or
    mixed in kind."""
    filled = [v for v in values if v not in (None, "")]
    if len(filled) < 2:
        return None
    try:
        keys = [v.lower() if isinstance(v, str) else v for v in filled]
        rises = all(a <= b for a, b in itertools.pairwise(keys))
        falls = all(a >= b for a, b in itertools.pairwise(keys))
    except TypeError:
        return None
    if rises and not falls:
        return True
    if falls and not rises:
        return False
    if rises and falls:
        return None
    first, last = keys[0], keys[-1]  # not monotonic (mixed kinds sort apart): ends decide
    try:
        return None if first == last else bool(first < last)
    except TypeError:
        return None


def _row_of(cell: str) -> int:
    digits = re.sub(r"\D", "", cell.split(":")[0])
    return int(digits) if digits else 0


def _grid_value(values: dict[str, list[list[Any]]], sheet: str, row: int, col: int) -> Any:
    grid = values.get(sheet) or []
    if 0 < row <= len(grid) and 0 < col <= len(grid[row - 1]):
        value = grid[row - 1][col - 1]
        return None if value == "" else value
    return None


def build_readback(records: list[dict[str, Any]], changes: list[Any], wb_after: Any,
                   values_after: dict[str, list[list[Any]]], sheets_before: list[str],
                   formula_errors: dict[str, str] | None = None) -> Readback:
    """The read-back of one edit: ``records`` from the actions (EditContext.records),
    ``changes`` (table_io.diff.CellChange), the edited workbook, its recalculated values and the
    errors the recalculation found ('Sheet!A1' -> '#DIV/0!')."""
    back = Readback(sheets_before=list(sheets_before), sheets_after=list(wb_after.sheetnames))
    for rec in records:
        if rec.get("kind") == "sort" and rec.get("columns"):
            sheet, col = rec["sheet"], int(rec["columns"][0])
            keys = [_grid_value(values_after, sheet, r, col)
                    for r in range(int(rec["first_row"]), int(rec["last_row"]) + 1)]
            filled = [k for k in keys if k not in (None, "")]
            header = _grid_value(values_after, sheet, int(rec["first_row"]) - 1, col) \
                if int(rec["first_row"]) > 1 else None
            back.sorts.append(SortRead(
                sheet=sheet, range=str(rec["range"]), column=get_column_letter(col),
                header=str(header) if header is not None else None, desc=bool(rec["desc"][0]),
                first=filled[0] if filled else None, last=filled[-1] if filled else None,
                kind=value_kind(keys), ascending=_order(keys)))
        elif rec.get("kind") == "chart":
            back.charts.append({k: v for k, v in rec.items() if k != "kind"})
        elif rec.get("kind") == "convert":
            back.converts.append({k: v for k, v in rec.items() if k != "kind"})
        elif rec.get("kind") == "formula_text":
            back.formulas_as_text.append((f"{rec['sheet']}!{rec['range']}", str(rec["text"])))
        elif rec.get("kind") == "formula" and rec.get("fix"):
            fix = rec["fix"]
            back.misplaced.append((f"formula {rec['formula']}", f"{rec['sheet']}!{rec['range']} "
                                   f"(row {rec['header_row']} is the header row)",
                                   f"{rec['sheet']}!{fix['range']} as {fix['formula']}"))
        elif (rec.get("kind") == "write" and rec.get("new_column")
              and _row_of(str(rec["cell"])) < int(rec["header_row"])):
            letters = re.sub(r"\d+", "", str(rec["cell"]))
            back.misplaced.append((f"header {rec['text']!r}", f"{rec['sheet']}!{rec['cell']} "
                                   f"(above the header row {rec['header_row']})",
                                   f"{rec['sheet']}!{letters}{rec['header_row']}"))
    formulas: dict[tuple[str, str], str] = {}
    for ch in changes:
        if getattr(ch, "kind", "") == "formula" and isinstance(ch.after, str):
            formulas[(ch.sheet, ch.cell)] = ch.after
    for label, error in (formula_errors or {}).items():
        sheet, _, cell = label.rpartition("!")
        key = (sheet.strip("'").replace("''", "'"), cell.replace("$", ""))
        if key in formulas:  # an error in a formula this edit wrote
            back.errors.append((f"{key[0]}!{key[1]}", error, formulas[key]))
    for ch in changes:
        recomputed = bool(getattr(ch, "recomputed", False))
        if not recomputed:
            back.changed += 1
        if ch.kind == "value" and isinstance(ch.after, str):
            if ch.after.strip() in ERROR_VALUES and not recomputed:
                if not any(e[0] == f"{ch.sheet}!{ch.cell}" for e in back.errors):
                    back.errors.append((f"{ch.sheet}!{ch.cell}", ch.after.strip(),
                                        formulas.get((ch.sheet, ch.cell), "")))
            elif (ch.sheet, ch.cell) not in formulas:
                back.texts_written.append(ch.after)
        elif ch.kind == "formula" and isinstance(ch.after, str) and not ch.after.startswith("="):
            back.texts_written.append(ch.after)
    return back

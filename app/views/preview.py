"""What the workbook panel marks and explains, as plain functions (no Streamlit here).

*Sources*: the cells behind the last answer ("Managers!A7", "'My Sheet'!B3:C9") become frame
positions of each table (through ``Table.row_numbers`` and ``Table.column_letters``), so the
preview can colour exactly those cells. They are only coloured on the workbook version the answer
read: an edit may have moved rows and columns since.

*Rows*: a step's SQL result says where each of its rows is on the sheet (``source_rows``,
from tools/sql/provenance.py through agent/steps.py); a person selects a row of that table and
the panel colours that row's cells instead of the answer's, on the same version rule.

*Reading decisions*: how a table was read (header rows, totals kept out, numbers written as text,
hidden rows, ...) in words, from ``table_io.describe`` when it offers them, else built here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from table_io.model import column_index, column_letter, quote_sheet

# A cell or range label as table_io and the tools write it: an optional sheet (bare, or in single
# quotes with embedded quotes doubled), '!', then A1 or A1:B9 ($ allowed).
_LABEL = re.compile(
    r"^(?:(?P<sheet>'(?:[^']|'')+'|[^'!]+)!)?"
    r"\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>[0-9]+)"
    r"(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>[0-9]+))?$"
)

Position = tuple[int, str]  # (row index in table.frame, column name)


@dataclass(frozen=True)
class CellRange:
    """A rectangle of sheet cells; ``sheet`` is None when the label named no sheet."""

    sheet: str | None
    first_col: int  # 1-based column numbers and sheet row numbers, inclusive
    first_row: int
    last_col: int
    last_row: int

    def holds(self, col: int, row: int) -> bool:
        return self.first_col <= col <= self.last_col and self.first_row <= row <= self.last_row


def unquote_sheet(text: str) -> str:
    """``'Bob''s'`` -> ``Bob's``; a bare name stays as it is."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def parse_label(label: str) -> CellRange | None:
    """One cell label ('Managers!A7', "'My Sheet'!B3", 'Sales!$A$7:B9', 'C4') as a range;
    None when it is not a cell reference (a table name, free text)."""
    match = _LABEL.match(label.strip())
    if match is None:
        return None
    sheet = unquote_sheet(match["sheet"]) if match["sheet"] else None
    c1, r1 = column_index(match["c1"]), int(match["r1"])
    c2 = column_index(match["c2"]) if match["c2"] else c1
    r2 = int(match["r2"]) if match["r2"] else r1
    return CellRange(sheet, min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))


def same_sheet(a: str, b: str) -> bool:
    """Excel compares sheet names without regard to case."""
    return a.casefold() == b.casefold()


def table_positions(table: Any, labels: Iterable[str], *,
                    default_sheet: str | None = None) -> set[Position]:
    """The frame positions of ``table`` that the labels name: {(row index, column name)}.

    Labels are matched on sheet coordinates, so a table that was re-cut (a person's correction)
    still gets the right cells. A label without a sheet counts as on ``default_sheet`` (pass the
    sheet name when the workbook has one sheet); labels that name no cell of the table are
    ignored."""
    rows = list(table.row_numbers) or [
        i + 1 + len(table.header_rows) for i in range(len(table.frame))]  # as Table.cell does
    letters = list(table.column_letters) or [column_letter(j + 1) for j in range(len(table.columns))]
    columns = [(column_index(letter), name) for letter, name in zip(letters, table.columns, strict=False)]
    row_at = {number: i for i, number in enumerate(rows[: len(table.frame)])}
    found: set[Position] = set()
    for label in labels:
        cells = parse_label(label)
        if cells is None:
            continue
        sheet = cells.sheet if cells.sheet is not None else default_sheet
        if sheet is None or not same_sheet(sheet, table.sheet):
            continue
        hit_columns = [name for col, name in columns if cells.first_col <= col <= cells.last_col]
        if not hit_columns:
            continue
        span = cells.last_row - cells.first_row + 1  # walk the shorter of range and table
        numbers: Iterable[int] = (range(cells.first_row, cells.last_row + 1)
                                  if span <= len(row_at) else row_at)
        for number in numbers:
            i = row_at.get(number)
            if i is not None and cells.holds(cells.first_col, number):
                found.update((i, name) for name in hit_columns)
    return found


def used_labels(answer: Any) -> list[str]:
    """The cell labels behind an answer: ``Answer.cells`` and each step's ``payload['cells']``,
    each once, in the order first met."""
    labels: dict[str, None] = dict.fromkeys(str(c) for c in getattr(answer, "cells", None) or [])
    for step in getattr(answer, "steps", None) or []:
        payload = getattr(step, "payload", None) or {}
        cells = payload.get("cells") if isinstance(payload, dict) else None
        if isinstance(cells, list):
            labels.update(dict.fromkeys(str(c) for c in cells))
    return list(labels)


# ---------------------------------------------------------------- a result row's cells

ROW_TABLE_PREFIX = "step-rows-"
SHEET_ROWS_SHOWN = 3


def row_table_key(turn: int, step: int) -> str:
    """The widget key of a step's selectable result table: turn index, then step index."""
    return f"{ROW_TABLE_PREFIX}{turn}-{step}"


def sheet_rows_text(sheet: str, rows: Sequence[int], count: int | None = None) -> str:
    """Where one result row is on the sheet: 'Orders!7', 'Orders!3, 5, 9 +4 more' (``count``
    is how many sheet rows it came from, when more than listed)."""
    total = max(len(rows), count or 0)
    if not total:
        return "no rows"
    shown = ", ".join(str(n) for n in rows[:SHEET_ROWS_SHOWN])
    more = f" +{total - min(len(rows), SHEET_ROWS_SHOWN)} more" if total > SHEET_ROWS_SHOWN else ""
    return f"{quote_sheet(sheet)}!{shown}{more}"


def _sources(payload: Any) -> tuple[str, list[list[int]], list[int], list[str]] | None:
    """(sheet, rows, counts, column letters) of a step payload that has them, else None."""
    if not isinstance(payload, Mapping):
        return None
    sheet, rows = payload.get("source_sheet"), payload.get("source_rows")
    columns = payload.get("source_columns")
    if not isinstance(sheet, str) or not isinstance(rows, list) or not isinstance(columns, list):
        return None
    counts = payload.get("source_counts")
    counts = [int(c) for c in counts] if isinstance(counts, list) else []
    return sheet, [[int(n) for n in r] for r in rows], counts, [str(c) for c in columns]


def source_texts(payload: Any, n_rows: int) -> list[str] | None:
    """Per row of a step's result table (``n_rows`` of them), where it is on the sheet; None
    when the step does not say for each of them."""
    found = _sources(payload)
    if found is None or len(found[1]) < n_rows:
        return None
    sheet, rows, counts, _ = found
    return [sheet_rows_text(sheet, rows[i], counts[i] if i < len(counts) else None)
            for i in range(n_rows)]


def row_labels(payload: Any, row: int) -> list[str]:
    """The cell labels ('Orders!A7') of result row ``row``: its sheet rows in the columns the
    query named."""
    found = _sources(payload)
    if found is None or not 0 <= row < len(found[1]):
        return []
    sheet, rows, _, columns = found
    return [f"{quote_sheet(sheet)}!{letter}{number}" for number in rows[row] for letter in columns]


def selected_row(value: Any) -> int | None:
    """The selected row of a dataframe's selection state ({"selection": {"rows": [...]}})."""
    selection = value.get("selection") if isinstance(value, Mapping) else None
    rows = selection.get("rows") if isinstance(selection, Mapping) else None
    return int(rows[0]) if isinstance(rows, list | tuple) and rows else None


@dataclass(frozen=True)
class RowPick:
    """A row a person selected in a step's result table."""

    turn: Any
    step: Any
    row: int

    @property
    def where(self) -> str:
        """The row in words: 'row 2 of step 1's result (Orders!3, 5)'."""
        texts = source_texts(self.step.payload, self.row + 1) or []
        at = f" ({texts[self.row]})" if len(texts) > self.row else ""
        return f"row {self.row + 1} of step {self.step.index}'s result{at}"


def picked_row(turns: Sequence[Any], selections: Mapping[Any, Any]) -> RowPick | None:
    """The selected row of a step's result table (``selections``: the page's session state,
    keyed by ``row_table_key``), latest turn and step first; None when none is selected."""
    for i in reversed(range(len(turns))):
        answer = getattr(turns[i], "answer", None)
        for step in reversed(list(getattr(answer, "steps", None) or [])):
            key = row_table_key(i, getattr(step, "index", 0))
            row = selected_row(selections.get(key)) if key in selections else None
            if row is not None and row_labels(getattr(step, "payload", None), row):
                return RowPick(turns[i], step, row)
    return None


def row_caption(pick: RowPick) -> str:
    return (f"Highlighted: the cells of {pick.where}. Clear that table's selection to see the "
            "last answer's cells again.")


def row_moved_note(answered_on: int | None, pick: RowPick) -> str:
    """Said instead of highlighting a selected row read on another version than the one shown."""
    used = f"version {answered_on}" if answered_on is not None else "an earlier version"
    return (f"The selected {pick.where} came from {used}; its cells may have moved, so they "
            "are not highlighted.")


# ---------------------------------------------------------------- versions


def last_answer(turns: Sequence[Any]) -> tuple[Any, Any] | None:
    """(turn, answer) of the latest turn that has an answer (a failed turn answers nothing)."""
    for turn in reversed(turns):
        if getattr(turn, "answer", None) is not None:
            return turn, turn.answer
    return None


def answered_version(turn: Any, seen: int | None = None) -> int | None:
    """The workbook version a turn's answer read: ``Turn.version`` when the page records it,
    else ``seen`` (the version shown when the panel first met the answer: the app's answers
    only propose edits, so the version cannot change during one), else ``Answer.version``
    (set when the answer itself made a version); None when unknown."""
    for value in (getattr(turn, "version", None), seen,
                  getattr(getattr(turn, "answer", None), "version", None)):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def cells_in_place(answered_on: int | None, shown: int) -> bool:
    """Whether the answer's cell labels still point at the cells it read. Only on the same
    version: an edit (or undo) may have moved rows and columns. Unknown counts as version 0,
    the original: right until the first edit, and never wrongly claimed after one."""
    return (answered_on if answered_on is not None else 0) == shown


def moved_note(answered_on: int | None) -> str:
    """Said instead of a highlight when the answer read another version than the one shown."""
    used = f"version {answered_on}" if answered_on is not None else "an earlier version"
    return f"The last answer used {used}; its cells may have moved, so they are not highlighted."


def highlight_caption(count: int, row: str | None = None) -> str:
    """What the preview's colours mean: the answer's cells, or those of a selected result row
    (``row`` in words, ``RowPick.where``)."""
    cells = f"{count} cell{'s' if count != 1 else ''}"
    return f"Highlighted: the {cells} of {row}" if row else f"Highlighted: the {cells} the last answer used"


def preview_rows(n_rows: int, used_rows: Iterable[int], limit: int) -> tuple[list[int], bool]:
    """Which frame rows a preview of ``limit`` rows shows, and whether the answer's rows were
    moved to the top: the first rows, unless a used row lies beyond them; then the used rows
    first (in sheet order), filled up with the first rows."""
    used = sorted({r for r in used_rows if 0 <= r < n_rows})
    head = list(range(min(n_rows, limit)))
    if not used or used[-1] < limit:
        return head, False
    shown = used[:limit]
    taken = set(shown)
    shown += [r for r in head if r not in taken][: limit - len(shown)]
    return shown, True


# ---------------------------------------------------------------- reading decisions

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:-])")


def as_markdown_text(text: str) -> str:
    """Text from a workbook (titles, notes, sheet names) shown literally by st.markdown: no
    links, images, colours or formulas made out of someone's cell."""
    return _MARKDOWN.sub(r"\\\1", text)



def reading_notes(table: Any) -> list[str]:
    """How a table was read, in words: table_io.describe.reading_notes when it exists, else
    built from the table's own record of it."""
    try:
        from table_io import describe
    except ImportError:  # pragma: no cover - table_io is part of the project
        describe = None  # type: ignore[assignment]
    given = getattr(describe, "reading_notes", None)
    if callable(given):
        return [str(note) for note in given(table)]
    return own_reading_notes(table)


def workbook_notes(workbook: Any) -> list[str]:
    """Workbook-wide notes (hidden sheets, pieces set aside as not tables): table_io's when it
    offers them, else built here."""
    try:
        from table_io import describe
    except ImportError:  # pragma: no cover
        describe = None  # type: ignore[assignment]
    given = getattr(describe, "workbook_notes", None)
    if callable(given):
        return [str(note) for note in given(workbook)]
    return own_workbook_notes(workbook)


def _rows(numbers: Sequence[int], limit: int = 12) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def own_reading_notes(table: Any) -> list[str]:
    """Reading decisions from the Table itself (see the module docstring)."""
    notes: list[str] = []
    heads = list(table.header_rows)
    if not heads:
        notes.append("No header row: the columns got generated names.")
    elif len(heads) == 1:
        notes.append(f"Row {heads[0]} holds the column names.")
    else:
        notes.append(f"Rows {heads[0]}-{heads[-1]} hold the column names, joined into one name "
                     "per column.")
    renamed = [(o, c) for o, c in zip(table.original_headers, table.columns, strict=False)
               if str(o).strip() != c]
    for original, name in renamed[:6]:
        notes.append(f"Column {name!r} was written {str(original).strip()!r} on the sheet."
                     if str(original).strip() else f"Column {name!r} had no header; it was named so.")
    if table.title:
        notes.append(f"The title {table.title!r} above the table is not data.")
    if table.total_row_numbers:
        notes.append(f"Row(s) {_rows(table.total_row_numbers)} look like totals: kept out of the "
                     "data, so sums are not counted twice.")
    dropped = table.meta.get("dropped_rows") or {}
    for why, rows in (dropped.items() if isinstance(dropped, dict) else []):
        if rows:
            notes.append(f"Row(s) {_rows(list(rows))} left out: {str(why).replace('_', ' ')}.")
    for column, how in (table.meta.get("parsed_from_text") or {}).items():
        notes.append(f"Column {column!r} was written as text ({how}) and read as values.")
    if table.hidden_rows:
        notes.append(f"Hidden row(s) {_rows(table.hidden_rows)} are part of the data.")
    hidden_columns = table.meta.get("hidden_columns") or []
    if hidden_columns:
        notes.append(f"Hidden column(s) {', '.join(hidden_columns)} are part of the data.")
    if table.row_levels and any(table.row_levels):
        notes.append("The row labels are indented (an outline); the labels were read without "
                     "the indent.")
    for key, value in list((table.meta.get("key_values") or {}).items())[:4]:
        notes.append(f"Kept as a detail of the sheet, not data: {key} = {value}.")
    for note in table.notes[:4]:
        notes.append(f"A note on the sheet, not data: {note}")
    override = table.meta.get("override")
    if override:
        notes.append(f"Range and header rows as corrected by a person ({override.get('range')}).")
    if table.duckdb_source is not None:
        notes.append(f"A large file, queried in place: {table.n_rows:,} rows; the preview holds "
                     f"the first {len(table.frame):,}.")
    return notes


def own_workbook_notes(workbook: Any) -> list[str]:
    notes = []
    for sheet in workbook.sheets:
        if sheet.hidden:
            tables = f"; its tables are read too: {', '.join(sheet.table_names)}" if (
                sheet.table_names) else ""
            notes.append(f"Sheet {sheet.name!r} is hidden{tables}.")
    for piece in getattr(workbook, "set_aside", None) or []:
        sheet = quote_sheet(str(piece.sheet))
        where = f"{sheet}!{piece.range}" if getattr(piece, "range", "") else sheet
        notes.append(f"Not a table: {where} ({piece.reason}).")
    return notes

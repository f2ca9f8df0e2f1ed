"""A workbook as plain data: what ``tablepilot inspect --json`` prints, the toolkit's
``inspect`` tool returns and the MCP server's ``open_workbook`` answers; and the reading
decisions in words (:func:`reading_notes`, :func:`workbook_notes`) that the app shows next to
each table, so a person can check what the reader did before trusting an answer."""

from __future__ import annotations

import re
from typing import Any

from table_io.model import Table, Workbook, quote_sheet


def describe(workbook: Workbook, head: int = 0) -> dict[str, Any]:
    """Its sheets and tables: ranges, header rows, columns with types, totals, notes, hidden
    rows and columns; with ``head``, the first rows of each table."""
    tables = {t.name: t for t in workbook.tables}
    sheets = []
    for sheet in workbook.sheets:
        items = []
        for name in sheet.table_names:
            t = tables[name]
            types = t.meta.get("column_types") or {c: str(t.frame[c].dtype) for c in t.columns}
            written = t.meta.get("parsed_from_text", {})
            item: dict[str, Any] = {
                "name": t.name, "range": t.range, "header_rows": t.header_rows, "rows": t.n_rows,
                "columns": [
                    {"name": c, "type": types.get(c, "text"), **({"from_text": written[c]} if c in written else {})}
                    for c in t.columns
                ],
                "title": t.title, "notes": t.notes, "total_rows": t.total_row_numbers,
                "hidden_rows": t.hidden_rows, "row_levels": t.row_levels,
            }
            for extra in ("dropped_rows", "key_values", "filled_down"):  # rows left out, sheet metadata kept
                if t.meta.get(extra):
                    item[extra] = t.meta[extra]
            if t.duckdb_source is not None:
                item["loaded_by"] = "duckdb"
            if head:
                item["head"] = [[plain_value(v) for v in row] for row in t.frame.head(head).itertuples(index=False)]
            items.append(item)
        sheets.append({
            "name": sheet.name, "hidden": sheet.hidden, "rows": sheet.n_rows, "columns": sheet.n_cols,
            "hidden_rows": sheet.hidden_rows, "hidden_columns": sheet.hidden_columns,
            "merged_ranges": sheet.merged_ranges, "tables": items,
        })
    set_aside = [
        {"sheet": p.sheet, "range": p.range, "reason": p.reason, "preview": p.preview}
        for p in workbook.set_aside
    ]
    return {"source": workbook.source, "format": workbook.format, "warnings": workbook.warnings,
            "sheets": sheets, "set_aside": set_aside}


def plain_value(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat(sep=" ")
    if hasattr(value, "item"):
        return value.item()
    return value


# ---- the reading decisions, in words ---------------------------------------------------------

_NUMBER_STYLES = {
    "percent (8% -> 0.08)": "percent signs (8% read as 0.08)",
    "currency": "currency symbols",
    "k/M/B multipliers": "k/M/B multipliers (1.2k read as 1200)",
    "(negatives)": "negatives in brackets ((1,234) read as -1234)",
    "decimal comma": "a decimal comma (1.234,56 read as 1234.56)",
    "thousands separators": "thousands separators",
}
_DATE_PARTS = [("%Y", "yyyy"), ("%y", "yy"), ("%m", "mm"), ("%d", "dd"), ("%B", "Month"),
               ("%b", "Mon"), ("%H", "hh"), ("%M", "mm"), ("%S", "ss")]
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_MAX_LISTED = 8


def reading_notes(table: Table) -> list[str]:
    """What the reader decided about ``table``, one sentence each, for a person to check: the
    header rows (unless the header is just row 1), the title, how text was read as numbers, dates or booleans, total rows and
    other rows kept out of the data, group labels filled down, hidden rows and columns, notes,
    and how a CSV file was read."""
    notes: list[str] = []
    notes.extend(_header_notes(table))
    read_as = table.meta.get("read_as") or {}
    ambiguous = table.meta.get("ambiguous_dates") or {}
    for column, written in table.meta.get("parsed_from_text", {}).items():
        if column in ambiguous:
            notes.append(ambiguous_dates_note(column, ambiguous[column], written))
        elif column not in read_as:
            notes.append(f"{column}: {written_in_words(written)}")
    for column, kind in read_as.items():
        written = table.meta.get("parsed_from_text", {}).get(column)
        failed = (table.meta.get("read_failed") or {}).get(column)
        notes.append(f"{column}: read as {kind}, as set by hand"
                     + (f" ({written_in_words(written)})" if written else "") + (f"; {failed}" if failed else ""))
    notes.extend(_total_notes(table))
    for why, rows in (table.meta.get("dropped_rows") or {}).items():
        if why == "repeated_header":
            reason = "a copy of the header (a page break)" if len(rows) == 1 else "copies of the header (page breaks)"
        else:
            reason = why.replace("_", " ")
        notes.append(f"{_rows(rows).capitalize()} left out of the data: {reason}")
    for column in table.meta.get("filled_down") or []:
        notes.append(f"{column}: group labels written once per group were filled down into "
                     "the blank rows below them")
    if table.row_levels and any(table.row_levels) and table.columns:
        notes.append(f"{table.columns[0]}: indented row labels read as levels "
                     f"{min(table.row_levels)}-{max(table.row_levels)} (the indent is kept apart)")
    if table.hidden_rows:
        notes.append(f"{_rows(table.hidden_rows).capitalize()} hidden in the sheet but kept in the data")
    hidden_columns = table.meta.get("hidden_columns") or []
    if hidden_columns:
        label = "column" if len(hidden_columns) == 1 else "columns"
        notes.append(f"Hidden {label} {', '.join(hidden_columns)} kept in the data")
    for note in table.notes[:3]:
        notes.append(f"Note kept apart from the data: {note}")
    notes.extend(_source_notes(table))
    return notes


def workbook_notes(workbook: Workbook) -> list[str]:
    """What the reader decided about the workbook as a whole: hidden sheets, pieces set aside as
    no table, and its warnings."""
    notes: list[str] = []
    for sheet in workbook.sheets:
        if not sheet.hidden:
            continue
        if sheet.table_names:
            notes.append(f"Sheet {sheet.name!r} is hidden; its tables are read like the others: "
                         f"{', '.join(sheet.table_names)}")
        else:
            notes.append(f"Sheet {sheet.name!r} is hidden")
    for piece in workbook.set_aside:
        where = piece.range.split(":")[0] if len(set(piece.range.split(":"))) == 1 else piece.range
        shown = f": {piece.preview!r}" if piece.preview else ""
        notes.append(f"Set aside, not a table: {quote_sheet(piece.sheet)}!{where} ({piece.reason}){shown}")
    notes.extend(workbook.warnings)
    return notes


def written_in_words(written: str) -> str:
    """``meta['parsed_from_text']`` for a person: 'number text: thousands separators' ->
    'numbers written as text with thousands separators'; 'date text %d/%m/%Y' -> 'dates
    written as text, day first (dd/mm/yyyy)'."""
    if written.startswith("number text: "):
        styles = [_NUMBER_STYLES.get(s.strip(), s.strip()) for s in written.removeprefix("number text: ").split(", ")]
        listed = ", ".join(styles[:-1]) + " and " + styles[-1] if len(styles) > 1 else styles[0]
        return f"numbers written as text with {listed}"
    if written.startswith("date text "):
        fmt = written.removeprefix("date text ")
        shown = fmt
        for code, word in _DATE_PARTS:
            shown = shown.replace(code, word)
        order = ""
        if "%d" in fmt and "%m" in fmt and not fmt.startswith("%Y"):
            order = ", day first" if fmt.index("%d") < fmt.index("%m") else ", month first"
        return f"dates written as text{order} ({shown})"
    if written == "TRUE/FALSE text":
        return "TRUE/FALSE written as text, read as yes/no values"
    return written


def ambiguous_dates_note(column: str, ambiguous: dict[str, str], written: str = "") -> str:
    """'Date: dates written as text, month first (mm/dd/yyyy); ambiguous: dates like
    03/04/2024 fit both day first and month first ...', for a column whose every day is 12 or
    less, so a person can check the order chosen and correct it."""
    chosen = ambiguous.get("chosen", "month first")
    other = "day first" if chosen == "month first" else "month first"
    example = ambiguous.get("example")
    like = f" like {example}" if example else ""
    how = written_in_words(written) if written else f"dates read {chosen}"
    return (f"{column}: {how}; ambiguous: dates{like} fit both day first and month first (every "
            f"day is 12 or less), {chosen} was chosen. If they are {other}, set the column's "
            f"type to date ({other}).")


def _header_notes(table: Table) -> list[str]:
    notes: list[str] = []
    if table.title:
        notes.append(f"Title above the table, not part of the data: {table.title!r}")
    rows = table.header_rows
    if not rows:
        names = ", ".join(table.columns[:2])
        notes.append(f"No header row: the first row is data, so the columns are named {names}, ...")
    elif rows == [1]:
        pass  # the plain case (and every DataFrame and Parquet table): nothing to check
    elif len(rows) == 1:
        notes.append(f"Header: row {rows[0]}")
    else:
        joined = next((c for c in table.columns if " " in c), None)
        example = f", e.g. {joined!r}" if joined else ""
        notes.append(f"Header: rows {rows[0]}-{rows[-1]}, read as one name per column{example}")
    override = table.meta.get("override")
    if override and "range" in override:
        notes.append(f"Range {override['range']} and {override['header_rows']} header row(s) set by hand")
    return notes


def _total_notes(table: Table) -> list[str]:
    """'Row 14 'Total' kept out of the data (a total, so sums are not counted twice)'."""
    numbers = table.total_row_numbers
    if not numbers:
        return []
    labels: list[str | None] = [None] * len(numbers)
    if table.total_rows is not None and len(table.total_rows) == len(numbers):
        for i, row in enumerate(table.total_rows.head(_MAX_LISTED).itertuples(index=False)):
            labels[i] = next((v.strip() for v in list(row)[:2] if isinstance(v, str) and v.strip()), None)
    notes = [
        f"Row {n} {label!r} kept out of the data (a total, so sums are not counted twice)" if label
        else f"Row {n} kept out of the data (a total, so sums are not counted twice)"
        for n, label in zip(numbers[:_MAX_LISTED], labels, strict=False)
    ]
    if len(numbers) > _MAX_LISTED:
        notes.append(f"{len(numbers) - _MAX_LISTED} more total rows kept out of the data")
    return notes


def _source_notes(table: Table) -> list[str]:
    notes: list[str] = []
    csv = table.meta.get("csv")
    if csv:
        delimiter = _DELIMITERS.get(csv.get("delimiter", ""), repr(csv.get("delimiter")))
        by_hand = ", as set by hand" if "csv" in (table.meta.get("override") or {}) else ""
        notes.append(f"CSV read as {csv.get('encoding', 'utf-8').upper()} text, {delimiter}-separated, "
                     f"quotes as {csv.get('quotes', 'doubled quotes')}{by_hand}")
    elif table.meta.get("duckdb_csv_options"):
        options = table.meta["duckdb_csv_options"]
        delim = re.search(r"delim='([^']*)'", options)
        notes.append(f"CSV read by DuckDB ({delim.group(1) if delim else ','}-separated)")
    if table.duckdb_source is not None:
        shown = len(table.frame)
        notes.append(f"Loaded straight into DuckDB ({table.n_rows:,} rows); the preview holds the "
                     f"first {shown:,}")
    return notes


def _rows(numbers: list[int]) -> str:
    listed = ", ".join(str(n) for n in numbers[:_MAX_LISTED])
    more = f" and {len(numbers) - _MAX_LISTED} more" if len(numbers) > _MAX_LISTED else ""
    return f"row {listed}" if len(numbers) == 1 else f"rows {listed}{more}"

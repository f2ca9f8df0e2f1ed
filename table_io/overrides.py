"""Let a person correct what detection found: a table's range, header rows and column types.

``open_workbook(path, overrides={KEY: {"range": "A3:F20", "header_rows": 2, "name": "sales"}})``
or ``with_override(workbook, KEY, range=..., header_rows=..., name=...)``. KEY is a table name
(``sales``), a sheet name (``Sales``) or a sheet and range (``Sales!A3:F20``). Every setting is
optional: without ``range`` the table keeps its range (a sheet's whole used area for a sheet
key); without ``header_rows`` the header is detected inside the range. ``header_rows`` is a
count (0: no header, columns are named col_1, col_2, ...) or a list of consecutive sheet row
numbers (the table then starts at the first of them). Tables of that sheet that overlap the new range are replaced.

``types`` says how columns are read: ``{"types": {"Zip": "text", "Date": "date (day first)"}}``
with a kind of :data:`table_io.cell_types.COLUMN_KINDS` per column name (after any other
setting of the same override is laid on). Given alone, the table keeps its range and header
rows, and ``meta["override"]`` records only the types, so a later version that grows the table
is still read in full.

``csv`` re-reads a CSV/TSV file with the delimiter and/or encoding a person gives:
``{"data": {"csv": {"delimiter": ";", "encoding": "cp1252"}}}`` (a delimiter is one character,
or ``tab``, ``comma``, ``semicolon``, ``pipe``; an encoding any Python codec name). The file is
read again from ``workbook.path``, here in this process (the csv module, bounded by the
limits), and the other settings of the override are then laid on the new table.
"""

from __future__ import annotations

import codecs
import dataclasses
import re
from typing import Any

import numpy as np

from table_io.cell_types import COLUMN_KINDS
from table_io.detect import SheetDetector, TableSpec, nonempty_mask
from table_io.errors import CorruptFileError, EmptyWorkbookError, TableIOError, TableNotFoundError
from table_io.layout_rules import repeated_header_rows
from table_io.model import Table, Workbook, column_index
from table_io.naming import sql_identifier, unique
from table_io.tables import build_table

_DELIMITER_NAMES = {"tab": "\t", "comma": ",", "semicolon": ";", "pipe": "|", "\\t": "\t"}
_RANGE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+):\$?([A-Za-z]{1,3})\$?(\d+)$")


class OverrideError(TableIOError, ValueError):
    """An override that does not fit the workbook (bad range, unknown table)."""


def parse_range(text: str, source: str) -> tuple[int, int, int, int]:
    """'B3:F20' -> (top, bottom, left, right), 0-based inclusive."""
    m = _RANGE.match(text.strip())
    if not m:
        raise OverrideError(f"range {text!r} is not an A1 range like 'B3:F20'", source=source)
    left, top, right, bottom = column_index(m[1]) - 1, int(m[2]) - 1, column_index(m[3]) - 1, int(m[4]) - 1
    if bottom < top or right < left:
        raise OverrideError(f"range {text!r} is upside down", source=source)
    return top, bottom, left, right


def with_override(
    workbook: Workbook,
    table: str,
    *,
    range: str | None = None,
    header_rows: int | list[int] | None = None,
    name: str | None = None,
    types: dict[str, str] | None = None,
    csv: dict[str, str] | None = None,
) -> Workbook:
    """A new Workbook where ``table`` is cut again as told; ``workbook`` is left as it was.

    ``table`` is a table name, a sheet name, or ``"Sheet!A3:F20"``; ``range`` is an A1 range
    on that sheet (``"A3:F20"``), ``header_rows`` how many rows of it form the header (or
    their sheet row numbers), ``name`` a new table name, ``types`` how to read columns
    (``{column name: kind}``, see the module docstring), ``csv`` the delimiter and encoding
    to read a CSV file with.
    """
    spec: dict[str, Any] = {}
    if range is not None:
        spec["range"] = range
    if header_rows is not None:
        spec["header_rows"] = header_rows
    if name is not None:
        spec["name"] = name
    if types:
        spec["types"] = dict(types)
    if csv:
        spec["csv"] = dict(csv)
    return apply_overrides(workbook, {table: spec})


def apply_overrides(workbook: Workbook, overrides: dict[str, dict[str, Any]]) -> Workbook:
    """A new Workbook with each table or sheet KEY of ``overrides`` cut again by its settings."""
    tables = list(workbook.tables)
    sheets = [dataclasses.replace(s, table_names=list(s.table_names)) for s in workbook.sheets]
    set_aside = list(workbook.set_aside)
    for key, settings in overrides.items():
        settings = dict(settings or {})
        types = _checked_types(key, settings.get("types"), workbook.source)
        csv_settings = _checked_csv(key, settings.get("csv"), workbook.source)
        if csv_settings:  # a new reading of the file: the other settings are laid on it
            workbook = _reread_csv(workbook, csv_settings)
            tables, sheets, set_aside = list(workbook.tables), list(workbook.sheets), list(workbook.set_aside)
        sheet_name, key_range, replaced = _target(workbook, tables, key)
        grid = workbook.grids.get(sheet_name)
        if grid is None:
            raise OverrideError(
                f"table {key!r} cannot be re-cut: its cells were not kept (a DataFrame, or a file "
                "loaded straight into DuckDB)",
                source=workbook.source,
            )
        rng = settings.get("range") or key_range
        if rng:
            top, bottom, left, right = parse_range(str(rng).split("!")[-1], workbook.source)
        elif replaced is not None:
            top, bottom, left, right = parse_range(replaced.range, workbook.source)
        else:
            mask = nonempty_mask(grid.values)
            if not mask.any():
                raise OverrideError(f"sheet {sheet_name!r} is empty", source=workbook.source)
            rows = np.flatnonzero(np.asarray(mask.any(axis=1)))
            cols = np.flatnonzero(np.asarray(mask.any(axis=0)))
            top, bottom, left, right = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        n_rows, n_cols = grid.values.shape
        if bottom >= n_rows or right >= n_cols:
            # cells beyond the used area are empty: clip to what exists
            bottom, right = min(bottom, n_rows - 1), min(right, n_cols - 1)
            if bottom < top or right < left:
                raise OverrideError(f"range {rng!r} holds no cells on {sheet_name!r}", source=workbook.source)
        spec = TableSpec(top=top, bottom=bottom, left=left, right=right)
        detector = SheetDetector(grid.values, grid.merged)
        header = settings.get("header_rows")
        if header is None and replaced is not None and not settings.get("range") and not key_range:
            spec.header_rows = len(replaced.header_rows)  # the same cut, read otherwise
        elif header is None:
            spec.header_rows = detector._count_header_rows(spec)
        elif isinstance(header, list):
            rows_1 = sorted(int(r) for r in header)
            if rows_1 and rows_1 != list(range(rows_1[0], rows_1[0] + len(rows_1))):
                raise OverrideError(f"header rows {rows_1} must be consecutive", source=workbook.source)
            if rows_1:  # the header starts the table: rows above it are left out
                if not 1 <= rows_1[0] <= bottom + 1:
                    raise OverrideError(
                        f"header rows {rows_1} are outside the range (rows {top + 1}-{bottom + 1})",
                        source=workbook.source,
                    )
                top = spec.top = rows_1[0] - 1
            spec.header_rows = len(rows_1)
        else:
            spec.header_rows = int(header)
        if spec.header_rows < 0 or spec.header_rows > bottom - top + 1:
            raise OverrideError(f"header_rows={header!r} does not fit the range", source=workbook.source)
        spec.total_rows = detector.total_rows(top + spec.header_rows, bottom, left, right)
        spec.repeated_header_rows = repeated_header_rows(grid.values, spec)
        overlapping = [
            t for t in tables
            if t.sheet == sheet_name and (t is replaced or _overlaps(parse_range(t.range, workbook.source), (top, bottom, left, right)))
        ]
        others = [t for t in tables if t not in overlapping]
        if replaced is None and len(overlapping) == 1:
            replaced = overlapping[0]
        wanted = settings.get("name") or (replaced.name if replaced is not None else sql_identifier(sheet_name))
        name = unique([sql_identifier(str(wanted))], taken=[t.name for t in others])[0]
        if replaced is not None:
            spec.title, spec.notes = replaced.title, list(replaced.notes)
            spec.key_values = dict(replaced.meta.get("key_values") or {})
        table: Table = build_table(grid, spec, name, types=types,
                                   keep_empty_columns=workbook.format in ("csv", "tsv"))
        unknown = [c for c in types if c not in table.columns]
        if unknown:
            raise OverrideError(
                f"table {key!r} has no column {unknown[0]!r}; its columns: {', '.join(table.columns)}",
                source=workbook.source,
            )
        if replaced is not None and "csv" in replaced.meta:
            table.meta["csv"] = replaced.meta["csv"]
        recut = any(settings.get(k) is not None for k in ("range", "header_rows", "name")) or key_range
        override: dict[str, Any] = {"range": table.range, "header_rows": spec.header_rows} if recut else {}
        if types:
            override["types"] = dict(types)
        if csv_settings:
            override["csv"] = dict(csv_settings)
        table.meta["override"] = override
        position = min((tables.index(t) for t in overlapping), default=len(tables))
        tables = [t for t in tables if t not in overlapping]
        tables.insert(min(position, len(tables)), table)
        # a piece set aside as no table is one now, when the person says so
        set_aside = [p for p in set_aside if p.sheet != sheet_name
                     or not _overlaps(parse_range(p.range, workbook.source), (top, bottom, left, right))]
        for sheet in sheets:
            if sheet.name == sheet_name:
                sheet.table_names = [t.name for t in tables if t.sheet == sheet_name]
    return dataclasses.replace(workbook, tables=tables, sheets=sheets, set_aside=set_aside)


def _checked_types(key: str, types: Any, source: str) -> dict[str, str]:
    """The ``types`` setting, checked: a mapping of column names to known kinds."""
    if types is None:
        return {}
    if not isinstance(types, dict):
        raise OverrideError(f"types for {key!r} must map column names to kinds, not {types!r}", source=source)
    for column, kind in types.items():
        if kind not in COLUMN_KINDS:
            raise OverrideError(
                f"column {column!r} cannot be read as {kind!r}; choose one of: {', '.join(COLUMN_KINDS)}",
                source=source,
            )
    return {str(c): str(k) for c, k in types.items()}


def _checked_csv(key: str, csv: Any, source: str) -> dict[str, str]:
    """The ``csv`` setting, checked: a one-character delimiter (or its name) and a known codec."""
    if not csv:
        return {}
    if not isinstance(csv, dict) or set(csv) - {"delimiter", "encoding"}:
        raise OverrideError(f"csv settings for {key!r} take a delimiter and an encoding, not {csv!r}",
                            source=source)
    out: dict[str, str] = {}
    delimiter = csv.get("delimiter")
    if delimiter:
        delimiter = _DELIMITER_NAMES.get(str(delimiter).strip().lower(), str(delimiter))
        if len(delimiter) != 1 or delimiter in "\"\r\n":
            raise OverrideError(f"a CSV delimiter is one character (or tab, comma, semicolon, pipe), "
                                f"not {csv['delimiter']!r}", source=source)
        out["delimiter"] = delimiter
    encoding = csv.get("encoding")
    if encoding:
        try:
            out["encoding"] = codecs.lookup(str(encoding).strip()).name
        except LookupError:
            raise OverrideError(f"unknown text encoding {encoding!r}; e.g. utf-8, cp1252, latin-1, "
                                "utf-16", source=source) from None
    return out


def _reread_csv(workbook: Workbook, settings: dict[str, str]) -> Workbook:
    """The CSV file of ``workbook`` read again with ``settings`` (delimiter, encoding)."""
    from table_io.csv_read import read_csv_workbook
    from table_io.limits import DEFAULT_LIMITS
    from table_io.sources import Source

    if workbook.format not in ("csv", "tsv") or workbook.path is None:
        raise OverrideError("only a CSV or TSV file can be read again with CSV settings; this is "
                            f"a .{workbook.format} {'file' if workbook.path else 'table'}",
                            source=workbook.source)
    path = workbook.path
    if not path.exists():
        raise OverrideError(f"the file {path.name} is gone: it cannot be read again", source=workbook.source)
    src = Source(name=workbook.source, format=workbook.format, path=path)
    if src.size >= DEFAULT_LIMITS.direct_load_bytes:
        raise OverrideError("the file is loaded straight into DuckDB: it cannot be read again with "
                            "other CSV settings", source=workbook.source)
    try:
        return read_csv_workbook(src, DEFAULT_LIMITS, settings)
    except (CorruptFileError, EmptyWorkbookError) as exc:
        reason = str(exc).removeprefix(f"{exc.source}: ") if exc.source else str(exc)
        given = ", ".join(f"{k} {v!r}" for k, v in settings.items())
        raise OverrideError(f"cannot be read with {given}: {reason}", source=workbook.source) from None


def _target(workbook: Workbook, tables: list[Table], key: str) -> tuple[str, str | None, Table | None]:
    for t in tables:
        if t.name == key:
            return t.sheet, None, t
    sheet_names = [s.name for s in workbook.sheets]
    if key in sheet_names:
        return key, None, None
    if "!" in key:
        sheet, rng = key.rsplit("!", 1)
        sheet = sheet.strip("'").replace("''", "'")
        if sheet in sheet_names:
            return sheet, rng, None
    raise TableNotFoundError(
        f"override {key!r} names no table or sheet; tables: {', '.join(t.name for t in tables) or 'none'}; "
        f"sheets: {', '.join(sheet_names) or 'none'}",
        source=workbook.source,
    )


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return not (a[1] < b[0] or b[1] < a[0] or a[3] < b[2] or b[3] < a[2])

"""CSV and TSV: encoding, delimiter and escape style sniffed from the bytes; huge files go to DuckDB.

- Encoding: a BOM decides (UTF-8, UTF-16); else UTF-8 if it decodes, else cp1252, else latin-1.
- Delimiter: of ``, ; TAB |`` the one that splits the first lines into the most consistent
  number of fields (a ``.tsv`` prefers TAB).
- Quotes: ``""`` doubling by default; backslash escapes (``\\"``, as in WikiTQ's files) when the
  file uses them.
- Decimal comma: decided per column by :mod:`table_io.cell_types` (``1.234,56``).
- A file of ``Limits.direct_load_bytes`` or more is not parsed in Python: ``Table.duckdb_source``
  points at it and the catalog lets DuckDB's reader load it; ``frame`` holds a head sample and
  ``meta["n_rows"]`` the full row count.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from table_io.cell_types import type_column
from table_io.detect import SheetDetector, TableSpec, nonempty_mask
from table_io.errors import CorruptFileError, EmptyWorkbookError, LimitExceededError
from table_io.grid import SheetGrid
from table_io.layout_rules import repeated_header_rows
from table_io.limits import Limits
from table_io.model import Sheet, Table, Workbook
from table_io.naming import clean_column_names, sql_identifier
from table_io.safety import check_cells
from table_io.sources import Source

DELIMITERS = [",", ";", "\t", "|"]
_SAMPLE_CHARS = 64 * 1024

csv.field_size_limit(2**31 - 1)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    escapechar: str | None
    doublequote: bool

    def reader(self, text: io.StringIO | list[str]) -> Any:
        return csv.reader(
            text, delimiter=self.delimiter, quotechar='"', escapechar=self.escapechar,
            doublequote=self.doublequote, skipinitialspace=False, strict=False,
        )

    def settings(self, encoding: str) -> dict[str, str]:
        """How the file was read, for ``Table.meta['csv']`` and the reading notes."""
        return {"encoding": encoding, "delimiter": self.delimiter,
                "quotes": "backslash escapes" if self.escapechar else "doubled quotes"}


def decode(data: bytes, display: str) -> tuple[str, str]:
    """(text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise CorruptFileError(f"UTF-16 text cannot be decoded ({exc})", source=display) from None
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            if encoding == "utf-8" and exc.start >= len(data) - 3:  # a cut multi-byte char at the end
                return data[: exc.start].decode("utf-8"), "utf-8"
    return data.decode("latin-1"), "latin-1"


def sniff_text(text: str, prefer_tab: bool = False) -> Dialect:
    """The dialect of a whole file's text, sniffed from its start like the reader does."""
    return sniff_dialect(text[:_SAMPLE_CHARS], prefer_tab)


def sniff_dialect(sample: str, prefer_tab: bool = False) -> Dialect:
    escape = "\\" if '\\"' in sample else None
    lines = sample.splitlines()[:60]
    if len(sample) >= _SAMPLE_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    best: tuple[float, int, int] | None = None
    chosen = "\t" if prefer_tab else ","
    order = ["\t", ",", ";", "|"] if prefer_tab else DELIMITERS
    for rank, delimiter in enumerate(order):
        if delimiter not in sample:
            continue
        dialect = Dialect(delimiter, escape, escape is None)
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter, quotechar='"',
                                                  escapechar=escape, doublequote=escape is None)
                  if row]
        if not widths:
            continue
        mode, count = Counter(widths).most_common(1)[0]
        if mode < 2:
            continue
        score = (count / len(widths), mode, -rank)
        if best is None or score > best:
            best, chosen = score, dialect.delimiter
    return Dialect(chosen, escape, escape is None)


def read_csv_workbook(src: Source, limits: Limits, settings: dict[str, str] | None = None) -> Workbook:
    """The Workbook of a CSV/TSV source: one sheet, one table; ``settings`` (delimiter,
    encoding) replace the sniffed ones (see :func:`read_csv_tables`)."""
    tables, grid, warnings = read_csv_tables(src, limits, settings)
    table = tables[0]
    table.name = sql_identifier(table.name, fallback="data")
    n_rows, n_cols = grid.values.shape if grid is not None else (table.n_rows + 1, len(table.columns))
    sheet = Sheet(name=table.sheet, n_rows=n_rows, n_cols=n_cols, table_names=[table.name])
    grids = {table.sheet: grid} if grid is not None else {}
    return Workbook(source=src.name, format=src.format, sheets=[sheet], tables=[table],
                    path=src.path.resolve() if src.path is not None else None, warnings=warnings,
                    grids=grids)


def decode_as(data: bytes, encoding: str, display: str) -> str:
    """``data`` decoded with the encoding a person named (a BOM of it is dropped)."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise CorruptFileError(
            f"is not {encoding} text: byte {data[exc.start:exc.start + 1]!r} at offset {exc.start} "
            "does not decode", source=display) from None
    return text.removeprefix("\ufeff")


def read_csv_tables(
    src: Source, limits: Limits, settings: dict[str, str] | None = None
) -> tuple[list[Table], SheetGrid | None, list[str]]:
    """The one table of a CSV/TSV file (its grid too, for overrides), and warnings.

    ``settings`` ({"delimiter": ";", "encoding": "cp1252"}, either optional) replace what is
    sniffed from the bytes; they apply to files read here, not to those DuckDB loads."""
    stem = Path(src.name).stem or "data"
    settings = settings or {}
    if src.size >= limits.direct_load_bytes:
        return [_direct_table(src, stem, limits)], None, [
            f"{src.name} is large ({src.size / 1e6:.0f} MB): loaded straight into DuckDB; the "
            f"table's frame holds the first {limits.head_sample_rows} rows only"
        ]
    if settings.get("encoding"):
        encoding = settings["encoding"]
        text = decode_as(src.read_bytes(), encoding, src.name)
    else:
        text, encoding = decode(src.read_bytes(), src.name)
    dialect = sniff_dialect(text[:_SAMPLE_CHARS], prefer_tab=src.format == "tsv")
    if settings.get("delimiter"):
        dialect = Dialect(settings["delimiter"], dialect.escapechar, dialect.doublequote)
    rows = _bounded_rows(dialect.reader(io.StringIO(text, newline="")), stem, src.name, limits)
    grid = SheetGrid(name=stem, values=rows_to_grid(rows))
    if grid.values.size == 0 or not any(any(c.strip() for c in r) for r in rows):
        raise EmptyWorkbookError("has no data (only blank lines)", source=src.name)
    mask = nonempty_mask(grid.values)
    spec = csv_spec(grid.values, mask)
    from table_io.tables import build_table

    table = build_table(grid, spec, stem, mask, keep_empty_columns=True)
    table.meta["csv"] = dialect.settings(encoding)
    return [table], grid, []


def _bounded_rows(reader: Any, stem: str, display: str, limits: Limits) -> list[list[str]]:
    """All rows, stopping as soon as the grid they make would pass the cell or column limit."""
    rows: list[list[str]] = []
    width = 0
    try:
        for row in reader:
            rows.append(row)
            if len(row) > width:
                width = len(row)
                check_columns(width, display, limits)
            if len(rows) * width > limits.max_cells:
                check_cells(len(rows), width, stem, display, limits)
    except csv.Error as exc:
        raise CorruptFileError(f"CSV text cannot be parsed ({exc})", source=display) from None
    return rows


def check_columns(n_cols: int, display: str, limits: Limits) -> None:
    if n_cols > limits.max_columns:
        raise LimitExceededError(
            f"has {n_cols:,} columns on one line, over the {limits.max_columns:,} column limit "
            "(raise it with TABLEPILOT_MAX_COLUMNS or Limits(max_columns=...))",
            source=display,
        )


def rows_to_grid(rows: list[list[str]]) -> np.ndarray:
    width = max((len(r) for r in rows), default=0)
    arr = np.full((len(rows), width), "", dtype=object)
    for i, r in enumerate(rows):
        arr[i, : len(r)] = r
    return arr


def csv_spec(values: np.ndarray, mask: np.ndarray | None = None) -> TableSpec:
    """Header on the first line (after title lines with a single field), totals at the bottom,
    single-field lines under the table as notes."""
    filled = (values != "").sum(axis=1)
    nonblank = [int(i) for i in np.flatnonzero(filled)]
    width = values.shape[1]
    titles: list[str] = []
    notes: list[str] = []
    if width > 1:
        while len(nonblank) > 2 and filled[nonblank[0]] == 1 and filled[nonblank[1]] > 1:
            titles.append(_only_text(values[nonblank[0]]))
            nonblank.pop(0)
        while len(nonblank) > 2 and filled[nonblank[-1]] == 1 and values[nonblank[-1], 0] and len(str(values[nonblank[-1], 0])) > 25:
            notes.insert(0, _only_text(values[nonblank[-1]]))
            nonblank.pop()
    top, bottom = nonblank[0], nonblank[-1]
    spec = TableSpec(top=top, bottom=bottom, left=0, right=width - 1, header_rows=1,
                     title=" / ".join(titles) or None, notes=notes)
    spec.total_rows = SheetDetector(values, mask=mask).total_rows(top + 1, bottom, 0, width - 1)
    spec.repeated_header_rows = repeated_header_rows(values, spec)  # a header pasted again
    return spec


def _only_text(row: np.ndarray) -> str:
    return next(str(v).strip() for v in row.tolist() if v != "")


# ---- huge files: DuckDB reads them --------------------------------------------------------

def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _direct_table(src: Source, stem: str, limits: Limits) -> Table:
    path = src.path if src.path is not None else _spill(src, ".csv")
    with path.open("rb") as fh:
        head_bytes = fh.read(4 * 1024 * 1024)
    text, encoding = decode(head_bytes, src.name)
    dialect = sniff_dialect(text[:_SAMPLE_CHARS], prefer_tab=src.format == "tsv")
    lines = text.splitlines(keepends=True)[:-1] or text.splitlines(keepends=True)
    rows = [r for r in dialect.reader(io.StringIO("".join(lines), newline="")) if r]
    if not rows:
        raise EmptyWorkbookError("has no data", source=src.name)
    check_columns(max(len(r) for r in rows), src.name, limits)
    columns = clean_column_names(rows[0])
    head = rows[1 : limits.head_sample_rows + 1]
    import pandas as pd

    frame = pd.DataFrame(
        {c: type_column([r[j] if j < len(r) else "" for r in head], c) for j, c in enumerate(columns)}
    )
    options = (
        f", delim={_sql_str(dialect.delimiter)}, quote='\"', escape="
        f"{_sql_str(dialect.escapechar or chr(34))}, header=true, "
        f"names=[{', '.join(_sql_str(c) for c in columns)}], "
        f"encoding={_sql_str('utf-8' if encoding == 'utf-8' else 'utf-16' if encoding == 'utf-16' else 'latin-1')}"
        ", null_padding=true, strict_mode=false"
    )
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        n_rows = con.execute(f"SELECT count(*) FROM read_csv({_sql_str(str(path))}{options})").fetchone()
    except duckdb.Error as exc:
        raise CorruptFileError(f"DuckDB cannot read this CSV ({str(exc)[:200]})", source=src.name) from None
    finally:
        con.close()
    return Table(
        name=stem, sheet=stem, range=f"A1:{_letter(len(columns))}{(n_rows[0] if n_rows else 0) + 1}",
        header_rows=[1], columns=columns, frame=frame,
        row_numbers=list(range(2, len(frame) + 2)),
        column_letters=[_letter(j + 1) for j in range(len(columns))],
        original_headers=list(rows[0]), duckdb_source=path,
        meta={"n_rows": int(n_rows[0]) if n_rows else 0, "duckdb_csv_options": options,
              "head_sample": True, "csv": dialect.settings(encoding)},
    )


def _letter(n: int) -> str:
    from table_io.model import column_letter

    return column_letter(max(n, 1))


def _spill(src: Source, suffix: str) -> Path:
    """Bytes that DuckDB must read from disk: a private temp file that lives with the process."""
    fd, name = tempfile.mkstemp(prefix="tablepilot-", suffix=suffix)
    with open(fd, "wb") as fh:
        fh.write(src.read_bytes())
    return Path(name)

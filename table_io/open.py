"""open_workbook: the one entry point that turns a file or a DataFrame into a Workbook.

Nothing here writes to the source: files are read into memory (or handed to DuckDB's reader).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from table_io.csv_read import read_csv_workbook
from table_io.detect import SheetDetector
from table_io.errors import (
    CorruptFileError,
    EmptyWorkbookError,
    LimitExceededError,
    TableIOError,
    UnsafeFileError,
)
from table_io.grid import SheetGrid, read_grids
from table_io.limits import DEFAULT_LIMITS, Limits
from table_io.model import SetAside, Sheet, Table, Workbook, column_letter
from table_io.naming import assign_names, clean_column_names, sheet_table_names, sql_identifier
from table_io.overrides import apply_overrides
from table_io.parquet_read import read_parquet_table
from table_io.set_aside import is_empty_template, set_aside_piece, set_aside_reason
from table_io.sources import Source, resolve
from table_io.tables import build_table


def open_workbook(
    source: Any,
    *,
    name: str | None = None,
    limits: Limits | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
) -> Workbook:
    """Open a spreadsheet, CSV/TSV, Parquet file or DataFrame and find its tables.

    ``source``: a path, bytes (``name`` then gives the file name), a binary file object, a
    pandas DataFrame or a Workbook (returned as is). ``overrides`` corrects detection, see
    :mod:`table_io.overrides`. Raises a :class:`table_io.errors.TableIOError` subclass whose
    message names the file and the problem, and nothing else, whatever the bytes.

    Files are parsed in a child process with capped memory and time when ``limits.isolate``
    (the default, see :mod:`table_io.isolate`); ``Limits(isolate=False)`` reads in this process,
    for files the caller trusts.
    """
    if isinstance(source, Workbook):
        workbook = source
    elif isinstance(source, pd.DataFrame):
        workbook = _from_frame(source, name)
    else:
        workbook = _from_file(source, name, limits or DEFAULT_LIMITS)
    if overrides:
        workbook = apply_overrides(workbook, overrides)
    return workbook


def _from_file(source: Any, name: str | None, limits: Limits) -> Workbook:
    try:
        src = resolve(source, name, limits)
    except Exception as exc:
        raise as_table_io_error(exc, _display(source, name), "file") from None
    if limits.isolate:
        from table_io.isolate import IsolationUnavailable, isolation_available, read_isolated

        if isolation_available():
            try:
                return read_isolated(src, limits)
            except IsolationUnavailable as exc:
                workbook = read_source(src, limits)
                workbook.warnings.append(f"{src.name} was read without process isolation ({exc})")
                return workbook
    return read_source(src, limits)


def read_source(src: Source, limits: Limits) -> Workbook:
    """Parse a resolved source in this process; any failure becomes a TableIOError."""
    try:
        return _read(src, limits)
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # pyo3's PanicException (a parser panic) is a BaseException
        raise as_table_io_error(exc, src.name, src.format) from None


def _display(source: Any, name: str | None) -> str:
    if name:
        return name
    if isinstance(source, (str, Path)):
        return Path(source).name[:200]
    return Path(str(getattr(source, "name", "") or "<file>")).name[:200]


def as_table_io_error(exc: BaseException, display: str, fmt: str) -> TableIOError:
    """The project's error for whatever a parser raised on untrusted bytes."""
    if isinstance(exc, TableIOError):
        return exc
    detail = f"{type(exc).__name__}: {str(exc).strip()[:200]}".rstrip(": ")
    if isinstance(exc, MemoryError):
        return LimitExceededError(f"ran out of memory while reading it as .{fmt}", source=display)
    if type(exc).__module__.startswith("defusedxml") or "Forbidden" in type(exc).__name__:
        return UnsafeFileError(
            f"holds XML with a DTD, entities or external references ({detail}): refused as a "
            "possible XML bomb", source=display)
    if isinstance(exc, RecursionError):
        return UnsafeFileError(f"is nested too deeply to read as .{fmt}", source=display)
    if not isinstance(exc, Exception):
        return CorruptFileError(f"made the .{fmt} parser fail ({detail})", source=display)
    return CorruptFileError(f"cannot be read as .{fmt} ({detail})", source=display)


def _read(src: Source, limits: Limits) -> Workbook:
    if src.format in ("csv", "tsv"):
        return read_csv_workbook(src, limits)
    if src.format == "parquet":
        return _from_parquet(src, limits)
    return _from_spreadsheet(src, limits)


def _path(src: Source) -> Path | None:
    return src.path.resolve() if src.path is not None else None


def _from_parquet(src: Source, limits: Limits) -> Workbook:
    table, warnings = read_parquet_table(src, limits)
    if not table.columns:
        raise EmptyWorkbookError("has no columns", source=src.name)
    table.name = sql_identifier(table.name, fallback="data")
    sheet = Sheet(name=table.sheet, n_rows=table.n_rows + 1, n_cols=len(table.columns),
                  table_names=[table.name])
    return Workbook(source=src.name, format="parquet", sheets=[sheet], tables=[table],
                    path=_path(src), warnings=warnings)


def _from_spreadsheet(src: Source, limits: Limits) -> Workbook:
    grids, warnings = read_grids(src, limits)
    if not grids:
        raise EmptyWorkbookError("has no worksheets", source=src.name)
    found = [_sheet_tables(grid) for grid in grids]
    if not any(f.tables for f in found):
        for f in found:
            f.keep_templates()
    wanted = [w for grid, f in zip(grids, found, strict=True)
              for w in sheet_table_names(grid.name, [t.title for t in f.tables])]
    names = iter(assign_names(wanted))
    sheets: list[Sheet] = []
    tables: list[Table] = []
    set_aside: list[SetAside] = []
    for grid, f in zip(grids, found, strict=True):
        for table in f.tables:
            table.name = next(names)
        if not f.tables and not f.aside:
            text = _sheet_text(grid)
            warnings.append(f"sheet {grid.name!r} has no table, only the text {text!r}" if text
                            else f"sheet {grid.name!r} is empty")
        tables.extend(f.tables)
        set_aside.extend(piece for _, piece in f.aside)
        n_rows, n_cols = grid.values.shape
        sheets.append(Sheet(
            name=grid.name, hidden=grid.hidden, n_rows=n_rows, n_cols=n_cols,
            hidden_rows=sorted(grid.hidden_rows),
            hidden_columns=[column_letter(c) for c in sorted(grid.hidden_cols)],
            merged_ranges=[_a1(*rect) for rect in grid.merged],
            table_names=[t.name for t in f.tables],
        ))
    if not tables:
        if set_aside:
            shown = "; ".join(piece.describe() for piece in set_aside[:3])
            raise EmptyWorkbookError(f"has no table: what its sheets hold carries no data ({shown})",
                                     source=src.name)
        texts = [t for t in (_sheet_text(g) for g in grids) if t]
        if texts:
            raise EmptyWorkbookError(f"has no table: its sheets hold only the text {texts[0]!r}", source=src.name)
        raise EmptyWorkbookError("has no data: every sheet is empty", source=src.name)
    return Workbook(source=src.name, format=src.format, sheets=sheets, tables=tables,
                    path=_path(src), warnings=warnings, set_aside=set_aside,
                    grids={g.name: g for g in grids})


@dataclass
class _SheetFound:
    """What detection found on one sheet: the tables, and the pieces set aside (with the Table
    they would have been, in case the workbook holds nothing else)."""

    tables: list[Table]
    aside: list[tuple[Table, SetAside]]

    def keep_templates(self) -> None:
        """A workbook that holds nothing but empty forms (a header, no rows) keeps them as its
        tables, so it can be opened and filled in; single cells and loose values stay aside."""
        self.tables = [t for t, _ in self.aside if is_empty_template(t)]
        self.aside = [(t, piece) for t, piece in self.aside if not is_empty_template(t)]


def _sheet_text(grid: SheetGrid) -> str:
    """The few words on a sheet that holds no table (a chart's title), '' when it is blank."""
    cells = [str(v).strip() for v in grid.values.ravel()[:10_000].tolist() if v is not None and str(v).strip()]
    return " / ".join(cells[:3])[:80]


def _a1(top: int, left: int, bottom: int, right: int) -> str:
    return f"{column_letter(left + 1)}{top + 1}:{column_letter(right + 1)}{bottom + 1}"


def _sheet_tables(grid: SheetGrid) -> _SheetFound:
    """The sheet's tables, unnamed yet (names are given across the workbook), and the pieces
    that carry no data."""
    detector = SheetDetector(grid.values, grid.merged, bold=grid.bold)
    found = _SheetFound(tables=[], aside=[])
    for spec in detector.detect():
        table = build_table(grid, spec, "", detector.mask)
        reason = set_aside_reason(table)
        if reason is None:
            found.tables.append(table)
        else:
            found.aside.append((table, set_aside_piece(grid, table, reason)))
    return found


def _from_frame(frame: pd.DataFrame, name: str | None) -> Workbook:
    label = Path(name).stem if name else "data"
    table_name = sql_identifier(label, fallback="data")
    data = frame.copy()
    if isinstance(data.columns, pd.MultiIndex):
        data.columns = [" ".join(str(p) for p in col if str(p) and not str(p).startswith("Unnamed")) for col in data.columns]
    original = [str(c) for c in data.columns]
    data.columns = clean_column_names(original)
    data = data.reset_index(drop=True)
    n, m = data.shape
    table = Table(
        name=table_name, sheet=label, range=f"A1:{column_letter(max(m, 1))}{n + 1}", header_rows=[1],
        columns=list(data.columns), frame=data, row_numbers=list(range(2, n + 2)),
        column_letters=[column_letter(j + 1) for j in range(m)], original_headers=original,
    )
    sheet = Sheet(name=label, n_rows=n + 1, n_cols=m, table_names=[table_name])
    return Workbook(source=name or "<dataframe>", format="dataframe", sheets=[sheet], tables=[table])

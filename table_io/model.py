"""What a workbook holds once opened: sheets, and the tables found in them, with provenance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from table_io.errors import TableNotFoundError
from table_io.quoting import quote_sheet  # re-exported: importers use table_io.model


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """A -> 1, AA -> 27."""
    value = 0
    for ch in letters.upper():
        value = value * 26 + (ord(ch) - 64)
    return value


@dataclass
class Sheet:
    name: str
    hidden: bool = False
    n_rows: int = 0
    n_cols: int = 0
    hidden_rows: list[int] = field(default_factory=list)  # 1-based sheet row numbers
    hidden_columns: list[str] = field(default_factory=list)  # column letters
    merged_ranges: list[str] = field(default_factory=list)
    table_names: list[str] = field(default_factory=list)


@dataclass
class Table:
    """One rectangular table found on a sheet (or the whole of a CSV/Parquet/DataFrame).

    ``frame`` holds the data rows only: no title, header, total or note rows.
    ``row_numbers[i]`` is the sheet row of ``frame.iloc[i]`` and ``column_letters[j]`` the
    sheet column of ``columns[j]``, so any value can be traced back to its cell.
    """

    name: str
    sheet: str
    range: str
    header_rows: list[int]
    columns: list[str]
    frame: pd.DataFrame
    row_numbers: list[int] = field(default_factory=list)
    column_letters: list[str] = field(default_factory=list)
    title: str | None = None
    notes: list[str] = field(default_factory=list)
    total_rows: pd.DataFrame | None = None  # Total/Subtotal rows, kept out of ``frame``
    total_row_numbers: list[int] = field(default_factory=list)
    original_headers: list[str] = field(default_factory=list)  # header text before cleaning
    row_levels: list[int] | None = None  # indent level of the row label, when indented
    hidden_rows: list[int] = field(default_factory=list)
    duckdb_source: Path | None = None  # huge CSV/Parquet loaded straight into DuckDB
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        if self.meta.get("n_rows") is not None:
            return int(self.meta["n_rows"])
        return len(self.frame)

    def cell(self, row: int, column: str) -> str:
        """A1 reference ('Sheet!C7') of data row ``row`` (0-based) in ``column``."""
        j = self.columns.index(column)
        letter = self.column_letters[j] if self.column_letters else column_letter(j + 1)
        number = self.row_numbers[row] if self.row_numbers else row + 1 + len(self.header_rows)
        return f"{quote_sheet(self.sheet)}!{letter}{number}"

    def describe(self) -> str:
        return f"{self.name} ({self.sheet}!{self.range}, {self.n_rows} rows x {len(self.columns)} cols)"


@dataclass
class SetAside:
    """A piece of a sheet that detection found but that carries no data (a lone scratch value,
    a header with no rows under it): kept out of ``Workbook.tables`` and listed here instead, so
    a person can still see what was left out and why."""

    sheet: str
    range: str  # A1 on that sheet
    reason: str  # in words: "one cell, no header", "no data rows", ...
    preview: str = ""  # the first cell(s) of the piece, as written

    def describe(self) -> str:
        shown = f" {self.preview!r}" if self.preview else ""
        return f"{quote_sheet(self.sheet)}!{self.range}{shown}: {self.reason}"


@dataclass
class Workbook:
    """Plain data: what was read. Its verbs live with their code, so model.py imports no module
    that imports it back: ``table_io.connect(workbook)`` (catalog.py) gives the DuckDB catalog,
    ``table_io.with_override(workbook, ...)`` (overrides.py) re-cuts a table."""

    source: str  # display name: the file name, or "<dataframe>"
    format: str  # xlsx, xlsm, xls, ods, csv, tsv, parquet, dataframe
    sheets: list[Sheet]
    tables: list[Table]
    path: Path | None = None
    warnings: list[str] = field(default_factory=list)
    set_aside: list[SetAside] = field(default_factory=list)  # pieces that are not tables
    # sheet name -> table_io.grid.SheetGrid: the raw cells, kept so tables can be re-cut
    grids: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[Table]:
        return iter(self.tables)

    def table(self, name: str) -> Table:
        for t in self.tables:
            if t.name == name:
                return t
        names = ", ".join(t.name for t in self.tables) or "none"
        raise TableNotFoundError(f"no table named {name!r}; tables: {names}", source=self.source)

    def sheet(self, name: str) -> Sheet:
        for s in self.sheets:
            if s.name == name:
                return s
        names = ", ".join(s.name for s in self.sheets) or "none"
        raise TableNotFoundError(f"no sheet named {name!r}; sheets: {names}", source=self.source)

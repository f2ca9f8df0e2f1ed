"""open_workbook: the one entry point that turns a file or a DataFrame into a Workbook.

BOOTSTRAP VERSION: one table per sheet, first row as header. Being replaced by the full
detector (issue 2).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pandas as pd

from table_io.errors import EmptyWorkbookError, UnsupportedFormatError
from table_io.model import Sheet, Table, Workbook, column_letter
from table_io.naming import clean_column_names, sql_identifier, unique


def open_workbook(source: Any, *, name: str | None = None) -> Workbook:
    if isinstance(source, Workbook):
        return source
    if isinstance(source, pd.DataFrame):
        return _from_frames({"data": source}, source=name or "<dataframe>", fmt="dataframe")
    path = Path(source)
    suffix = path.suffix.lower()
    if suffix in {".csv", ".tsv"}:
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", escapechar="\\",
                            doublequote=False, quoting=csv.QUOTE_MINIMAL)
        return _from_frames({path.stem: frame}, source=path.name, fmt=suffix[1:], path=path)
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods"}:
        frames = pd.read_excel(path, sheet_name=None, engine="calamine")
        return _from_frames(frames, source=path.name, fmt=suffix[1:], path=path)
    if suffix == ".parquet":
        return _from_frames({path.stem: pd.read_parquet(path)}, source=path.name, fmt="parquet", path=path)
    raise UnsupportedFormatError(f"unsupported file type {suffix!r}", source=str(source))


def _from_frames(frames: dict[str, pd.DataFrame], *, source: str, fmt: str, path: Path | None = None) -> Workbook:
    names = unique(sql_identifier(s) for s in frames)
    sheets, tables = [], []
    for tname, (sheet_name, frame) in zip(names, frames.items(), strict=True):
        frame = frame.copy()
        frame.columns = clean_column_names(frame.columns)
        n, m = frame.shape
        rng = f"A1:{column_letter(max(m, 1))}{n + 1}"
        tables.append(Table(name=tname, sheet=str(sheet_name), range=rng, header_rows=[1],
                            columns=list(frame.columns), frame=frame,
                            row_numbers=list(range(2, n + 2)),
                            column_letters=[column_letter(j + 1) for j in range(m)]))
        sheets.append(Sheet(name=str(sheet_name), n_rows=n + 1, n_cols=m, table_names=[tname]))
    if not tables:
        raise EmptyWorkbookError("the workbook has no data", source=source)
    return Workbook(source=source, format=fmt, sheets=sheets, tables=tables, path=path)


def read_bytes(data: bytes, filename: str) -> Workbook:
    tmp = io.BytesIO(data)
    del tmp
    raise NotImplementedError

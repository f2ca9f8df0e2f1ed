"""Read every sheet of a workbook into a value grid, fast, with python-calamine.

A grid is a 2-D object array of cell values at their sheet positions (row 0 is sheet row 1,
column 0 is column A; '' for empty). Structure that calamine does not report for .xlsx/.xlsm
(hidden rows and columns, indents, formulas without cached values) comes from
:mod:`table_io.xlsx_structure`; merged ranges come from calamine itself.
"""

from __future__ import annotations

import io
import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import python_calamine as pc

from table_io.errors import CorruptFileError, LimitExceededError, PasswordProtectedError
from table_io.limits import Limits
from table_io.safety import check_cells, check_zip
from table_io.sources import Source
from table_io.xlsx_structure import SheetStructure, read_structure


@dataclass
class SheetGrid:
    name: str
    values: np.ndarray
    hidden: bool = False
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # top, left, bottom, right
    hidden_rows: set[int] = field(default_factory=set)  # 1-based
    hidden_cols: set[int] = field(default_factory=set)  # 1-based
    indents: dict[tuple[int, int], int] = field(default_factory=dict)  # (row0, col0) -> level
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row0, col0), .xlsx/.xlsm only


def read_grids(src: Source, limits: Limits) -> tuple[list[SheetGrid], list[str]]:
    """All worksheets of a spreadsheet file as grids, plus warnings for the user."""
    warnings: list[str] = []
    structure: dict[str, SheetStructure] = {}
    data = src.read_bytes()
    if src.format in ("xlsx", "xlsm", "ods"):
        check_zip(data, src.name, limits, kind="ods" if src.format == "ods" else "xlsx")
    pending: Future[dict[str, SheetStructure]] | None = None
    pool = ThreadPoolExecutor(max_workers=1) if src.format in ("xlsx", "xlsm") else None
    if pool is not None:  # scanned while calamine parses (calamine releases the GIL)
        pending = pool.submit(_structure, data, src.name)
        pool.shutdown(wait=False)
    try:
        book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except pc.PasswordError:
        raise PasswordProtectedError("is password-protected; save an unprotected copy", source=src.name) from None
    except (pc.CalamineError, pc.ZipError, pc.XmlError, ValueError) as exc:
        raise CorruptFileError(f"cannot be read as .{src.format} ({_short(exc)})", source=src.name) from None
    grids: list[SheetGrid] = []
    uncached: dict[str, list[tuple[int, int]]] = {}
    sheets: list[tuple[Any, Any]] = []
    if len(book.sheets_metadata) > limits.max_sheets:  # each sheet costs setup, whatever its size
        raise LimitExceededError(
            f"has {len(book.sheets_metadata):,} sheets, over the {limits.max_sheets:,} sheet limit "
            "(raise it with TABLEPILOT_MAX_SHEETS)", source=src.name)
    try:
        for meta in book.sheets_metadata:
            if str(meta.typ).rsplit(".", 1)[-1] == "WorkSheet":
                sheets.append((meta, book.get_sheet_by_name(meta.name)))
    except (pc.CalamineError, pc.ZipError, pc.XmlError) as exc:
        raise CorruptFileError(f"sheet data is damaged ({_short(exc)})", source=src.name) from None
    if pending is not None:
        structure = pending.result()
    try:
        for meta, sheet in sheets:
            n_rows = sheet.total_height + 1 if sheet.total_height or sheet.height else 0
            n_cols = sheet.total_width + 1 if sheet.total_width or sheet.width else 0
            check_cells(n_rows, n_cols, meta.name, src.name, limits)
            rows = sheet.to_python(skip_empty_area=False) if sheet.height else []
            info = structure.get(meta.name)
            values = _to_array(rows)
            del rows
            grid = SheetGrid(
                name=meta.name,
                values=values,
                hidden=str(meta.visible).rsplit(".", 1)[-1] != "Visible",
                merged=_merged(sheet),
            )
            if info is not None:
                grid.hidden_rows, grid.hidden_cols, grid.indents = info.hidden_rows, info.hidden_cols, info.indents
                grid.bold = info.bold
                if info.uncached_formulas:
                    uncached[meta.name] = info.uncached_formulas
            grids.append(grid)
    except (pc.CalamineError, pc.ZipError, pc.XmlError) as exc:
        raise CorruptFileError(f"sheet data is damaged ({_short(exc)})", source=src.name) from None
    if uncached:
        from table_io.formula_values import fill_formulas

        warnings.extend(fill_formulas(src, grids, uncached, limits))
    return grids, warnings


def _structure(data: bytes, display: str) -> dict[str, SheetStructure]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return read_structure(zf)
    except (KeyError, zipfile.BadZipFile, ElementTreeError) as exc:
        raise CorruptFileError(f"workbook structure cannot be read ({exc})", source=display) from None


try:  # defusedxml re-exports the stdlib ParseError
    from xml.etree.ElementTree import ParseError as ElementTreeError
except ImportError:  # pragma: no cover
    ElementTreeError = Exception  # type: ignore[misc,assignment]


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _to_array(rows: list[list[Any]]) -> np.ndarray:
    if not rows:
        return np.empty((0, 0), dtype=object)
    try:
        arr = np.array(rows, dtype=object)
    except ValueError:  # ragged rows
        arr = np.empty(0, dtype=object)
    if arr.ndim == 2:
        return arr
    width = max(len(r) for r in rows)
    padded = np.full((len(rows), width), "", dtype=object)
    for i, r in enumerate(rows):
        padded[i, : len(r)] = r
    return padded


def _merged(sheet: Any) -> list[tuple[int, int, int, int]]:
    try:
        ranges = sheet.merged_cell_ranges or []
    except Exception:  # not supported for this format
        return []
    return [(int(a[0]), int(a[1]), int(b[0]), int(b[1])) for a, b in ranges]


__all__ = ["SheetGrid", "read_grids"]

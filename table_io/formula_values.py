"""Formulas without a cached value (files written by openpyxl and other libraries).

Excel stores each formula's last result next to it, and calamine reads that. A library that
writes formulas leaves the result empty; then, if there are few enough, the ``formulas``
package computes them, and otherwise the workbook carries a warning that names the cells.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from table_io.limits import Limits
from table_io.model import column_letter, quote_sheet

if TYPE_CHECKING:
    from table_io.grid import SheetGrid
    from table_io.sources import Source

_COMPUTE_MAX_BYTES = 2 * 1024 * 1024


def fill_formulas(
    src: Source, grids: list[SheetGrid], uncached: dict[str, list[tuple[int, int]]], limits: Limits
) -> list[str]:
    total = sum(len(cells) for cells in uncached.values())
    examples = ", ".join(
        f"{quote_sheet(sheet)}!{column_letter(c + 1)}{r + 1}"
        for sheet, cells in uncached.items()
        for r, c in cells[:3]
    )
    if total <= limits.max_formulas_to_compute and src.size <= _COMPUTE_MAX_BYTES:
        try:
            computed = _compute(src, grids, uncached)
        except Exception as exc:  # the formulas package fails on functions it lacks
            computed = -1
            reason = f"{type(exc).__name__}: {str(exc)[:120]}"
        else:
            reason = ""
        if computed == total:
            return [
                f"{total} formula cell(s) had no saved result (the file was written by a "
                f"library, not Excel); their values were computed with the formulas package"
            ]
        if computed >= 0:
            reason = f"{total - computed} of them could not be computed"
        return [
            f"{total} formula cell(s) have no saved result (e.g. {examples}); {reason}; those "
            "cells read as empty. Open and save the file in Excel or LibreOffice to store results."
        ]
    return [
        f"{total} formula cell(s) have no saved result (e.g. {examples}); they read as empty. "
        "Open and save the file in Excel or LibreOffice to store their results."
    ]


def _compute(src: Source, grids: list[SheetGrid], uncached: dict[str, list[tuple[int, int]]]) -> int:
    import formulas

    logging.getLogger("formulas").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tablepilot-formulas-") as tmp:
        path = Path(tmp) / ("book." + src.format)
        path.write_bytes(src.read_bytes())
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bars
            model = formulas.ExcelModel().loads(str(path)).finish()
            solution = model.calculate()
    by_ref: dict[str, Any] = {}
    for key, value in solution.items():
        ref = str(key).rsplit("]", 1)[-1]  # "[book.xlsx]SHEET'!A2" -> "SHEET'!A2"
        by_ref[ref.replace("'", "").upper()] = value
    done = 0
    grid_by_name = {g.name: g for g in grids}
    for sheet, cells in uncached.items():
        grid = grid_by_name.get(sheet)
        if grid is None:
            continue
        for r, c in cells:
            ref = f"{sheet}!{column_letter(c + 1)}{r + 1}".replace("'", "").upper()
            value = _scalar(by_ref.get(ref))
            if value is None:
                continue
            _ensure_shape(grid, r + 1, c + 1)
            grid.values[r, c] = value
            done += 1
    return done


def _scalar(value: Any) -> Any:
    if value is None:
        return None
    raw = getattr(value, "value", value)
    try:
        item = raw[0][0] if hasattr(raw, "__getitem__") and not isinstance(raw, str) else raw
    except (IndexError, TypeError, KeyError):
        return None
    if hasattr(item, "item"):
        item = item.item()
    if isinstance(item, bool | int | float | str):
        if isinstance(item, int) and not isinstance(item, bool):
            return float(item)
        return item
    return None


def _ensure_shape(grid: SheetGrid, n_rows: int, n_cols: int) -> None:
    rows, cols = grid.values.shape
    if n_rows <= rows and n_cols <= cols:
        return
    import numpy as np

    bigger = np.full((max(rows, n_rows), max(cols, n_cols)), "", dtype=object)
    bigger[:rows, :cols] = grid.values
    grid.values = bigger

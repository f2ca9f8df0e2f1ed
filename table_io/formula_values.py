"""Formulas without a cached value (files written by openpyxl and other libraries).

Excel stores each formula's last result next to it, and calamine reads that. A library that
writes formulas leaves the result empty; then, if there are few enough, the ``formulas``
package computes them, and otherwise the workbook carries a warning that names the cells.

A formula that reads another workbook, a path or the host (table_io.formula_refs) is never
computed: the cell reads as empty with a warning, and the engine runs on an isolated copy of
the file that can open no other file, so a reference the check missed becomes #REF!.
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from table_io.formula_refs import isolated_copy, own_book_only
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
        outside, cut = _external_cells(src, uncached)
        notes = [_outside_note(outside)] if outside else []
        if outside:
            uncached = {sheet: [rc for rc in cells if (sheet, rc) not in outside]
                        for sheet, cells in uncached.items()}
            total -= len(outside)
        try:
            computed = _compute(src, grids, uncached, cut)
        except Exception as exc:  # the formulas package fails on functions it lacks
            computed = -1
            reason = f"{type(exc).__name__}: {str(exc)[:120]}"
        else:
            reason = ""
        if computed == total:
            return notes + ([
                f"{total} formula cell(s) had no saved result (the file was written by a "
                f"library, not Excel); their values were computed with the formulas package"
            ] if total else [])
        if computed >= 0:
            reason = f"{total - computed} of them could not be computed"
        return [*notes, f"{total} formula cell(s) have no saved result (e.g. {examples}); {reason}; those " "cells read as empty. Open and save the file in Excel or LibreOffice to store results."]
    return [
        f"{total} formula cell(s) have no saved result (e.g. {examples}); they read as empty. "
        "Open and save the file in Excel or LibreOffice to store their results."
    ]


def _external_cells(src: Source, uncached: dict[str, list[tuple[int, int]]]
                    ) -> tuple[dict[tuple[str, tuple[int, int]], str], dict[str, set[str]]]:
    """Uncached cells whose formula reads outside the workbook -> why; and every formula cell
    that does, by zip member (cut from the copy the engine sees)."""
    from table_io.recalc import _cut, _sheet_files, external_formulas, formula_texts

    with tempfile.TemporaryDirectory(prefix="tablepilot-formulas-") as tmp:
        path = Path(tmp) / "book.xlsx"
        path.write_bytes(src.read_bytes())
        try:
            found = external_formulas(path, formula_texts(path))
            cut = _cut(_sheet_files(path), found)
        except Exception:  # unreadable here: the loader wall still holds
            return {}, {}
    out: dict[tuple[str, tuple[int, int]], str] = {}
    for sheet, cells in uncached.items():
        for r, c in cells:
            why = found.get((sheet, f"{column_letter(c + 1)}{r + 1}"))
            if why:
                out[(sheet, (r, c))] = why
    return out, cut


def _outside_note(outside: dict[tuple[str, tuple[int, int]], str]) -> str:
    shown = "; ".join(f"{quote_sheet(sheet)}!{column_letter(c + 1)}{r + 1}: {why}"
                      for (sheet, (r, c)), why in list(outside.items())[:3])
    return (f"{len(outside)} formula cell(s) read outside this workbook ({shown}); formulas are "
            "never computed from other files, so those cells read as empty")


def _compute(src: Source, grids: list[SheetGrid], uncached: dict[str, list[tuple[int, int]]],
             cut: dict[str, set[str]] | None = None) -> int:
    import formulas

    logging.getLogger("formulas").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="tablepilot-formulas-") as tmp:
        # an empty folder, no external-link parts, and no file but this one may be opened
        path = isolated_copy(src.read_bytes(), Path(tmp), "book." + src.format, cut)
        with contextlib.redirect_stderr(io.StringIO()), own_book_only(path):  # its progress bars
            model = formulas.ExcelModel().loads(str(path)).finish()
            solution = model.calculate()
    own_book = path.name.upper()
    by_ref: dict[str, Any] = {}
    for key, value in solution.items():
        book, _, ref = str(key).partition("]")  # "'[book.xlsx]SHEET'!A2" -> "SHEET'!A2"
        if book.lstrip("'[").upper() != own_book:
            continue  # another book's cell: never copied into this one
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
    if isinstance(item, str):  # the package's XlError ('#VALUE!') is a str subclass: plain text
        return str(item)
    if isinstance(item, bool):
        return bool(item)
    if isinstance(item, int | float):
        return float(item)
    return None


def _ensure_shape(grid: SheetGrid, n_rows: int, n_cols: int) -> None:
    rows, cols = grid.values.shape
    if n_rows <= rows and n_cols <= cols:
        return
    import numpy as np

    bigger = np.full((max(rows, n_rows), max(cols, n_cols)), "", dtype=object)
    bigger[:rows, :cols] = grid.values
    grid.values = bigger

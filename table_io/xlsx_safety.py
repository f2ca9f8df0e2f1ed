"""Formula injection: untrusted text that looks like a formula stays text.

A string starting with ``=``, ``+``, ``-`` or ``@`` (or their full-width forms, also after
leading blanks, or a tab/CR/LF that spreadsheet programs skip) is executed as a formula by Excel, LibreOffice and Google Sheets when it lands in a cell or a CSV.
Cells are written as text unless an action is explicitly a formula; CSV export prefixes such
text with a single quote, the OWASP recommendation.
"""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.cell.cell import Cell

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
# Full-width, small and mathematical = + - @: some locales' spreadsheet programs (and their
# input normalisation) take them as formula starts too.
WIDE_TRIGGERS = ("\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\u2212")
TRIGGERS = (*FORMULA_TRIGGERS, *WIDE_TRIGGERS)


def looks_like_formula(value: Any) -> bool:
    """True for text a spreadsheet program might run as a formula: a trigger first, or after
    leading blanks, control characters and invisible format characters (BOM, zero-width space)."""
    if not isinstance(value, str):
        return False
    start = 0
    while start < len(value) and (value[start].isspace()
                                  or unicodedata.category(value[start]) in ("Cf", "Cc")):
        start += 1
    return value.startswith(TRIGGERS) or value.startswith(TRIGGERS, start)


def set_text(cell: Cell, text: str) -> None:
    """Store ``text`` as a string even when it starts with '=' (openpyxl would make it a formula)."""
    cell.value = text
    cell.data_type = "s"


def set_untrusted(cell: Cell, value: Any) -> None:
    """Write a value that came from a model or a user: never a formula."""
    if isinstance(value, str):
        set_text(cell, value)
    else:
        cell.value = value


def csv_safe(value: Any) -> str:
    """The CSV text of one cell: formula-like text is prefixed with a single quote."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + text
    return text


def export_csv(source: Any, path: str | Path, *, sheet: str | None = None) -> Path:
    """Write a table or a sheet to CSV with formula-like text quote-prefixed.

    ``source``: a pandas DataFrame, a ``table_io.model.Table`` (its frame), an openpyxl
    worksheet, or a path to an .xlsx/.xlsm file (``sheet`` picks the sheet; default the first).
    Formula cells of a workbook are exported as their cached values.
    """
    out = Path(path)
    rows: list[list[Any]]
    frame = getattr(source, "frame", source)
    if hasattr(frame, "to_numpy") and hasattr(frame, "columns"):
        rows = [list(map(str, frame.columns))]
        rows += [[None if _is_missing(v) else v for v in row] for row in frame.itertuples(index=False)]
    else:
        ws = source
        if isinstance(source, (str, Path)):
            wb = openpyxl.load_workbook(source, data_only=True, read_only=True)
            ws = wb[sheet] if sheet else wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    with out.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        for row in rows:
            writer.writerow([csv_safe(v) for v in row])
    return out


def _is_missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False

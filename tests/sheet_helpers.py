"""Helpers for tests that lay out cells on an openpyxl sheet (importable: pytest puts tests/ on
sys.path)."""

from __future__ import annotations

from typing import Any

from table_io import Workbook


def fill(ws: Any, top_left: str, rows: list[list[object]]) -> None:
    """Write ``rows`` with their first cell at ``top_left``; None leaves a cell empty."""
    start = ws[top_left]
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.cell(start.row + i, start.column + j, value)


def only_table(book: Workbook) -> Any:
    """The workbook's one table (the assertion names every table found when there are more)."""
    assert len(book.tables) == 1, [t.describe() for t in book.tables]
    return book.tables[0]

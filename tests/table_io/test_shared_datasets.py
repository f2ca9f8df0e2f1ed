"""Real data beside the repo: every WikiTQ csv and every SheetCopilot task workbook loads."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from table_io import open_workbook
from table_io.limits import Limits

DATA = Path(os.environ.get("TABLEPILOT_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")
WIKITQ = DATA / "wikitq" / "csv"
SHEETCOPILOT = DATA / "sheetcopilot" / "task_sheets"
TRUSTED = Limits(isolate=False)


@pytest.mark.skipif(not WIKITQ.is_dir(), reason=f"WikiTQ data not found at {WIKITQ}")
def test_every_wikitq_csv_loads_with_the_right_column_count():
    files = sorted(WIKITQ.glob("*/*.csv"))
    assert len(files) > 1000
    problems = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh, escapechar="\\", doublequote=False))
        width = len(rows[0])
        # trusted data, 1,687 files: read in this process (isolation is tested in tests/security)
        table = open_workbook(path, limits=TRUSTED).tables[0]
        data_rows = [r for r in rows[1:] if any(cell.strip() for cell in r)]
        ok = (
            len(table.columns) == width
            and all(len(r) == width for r in rows)
            and table.n_rows + len(table.total_row_numbers)
            + len(table.meta.get("dropped_rows", {}).get("repeated_header", []))
            == len(data_rows)
            and table.frame.shape[1] == width
        )
        if not ok:
            problems.append(f"{path.name}: {len(table.columns)} columns vs {width}")
    assert not problems, problems[:10]


@pytest.mark.skipif(not SHEETCOPILOT.is_dir(), reason=f"SheetCopilot data not found at {SHEETCOPILOT}")
def test_sheetcopilot_task_workbooks_load():
    files = sorted(SHEETCOPILOT.glob("*.xlsx"))
    assert files
    for path in files:
        book = open_workbook(path)
        assert book.tables, path.name
        for table in book.tables:
            assert len(table.frame.columns) == len(table.columns)
            assert table.n_rows == len(table.row_numbers)

"""Formula injection: text from a model or a user never becomes a formula; CSV export is prefixed."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd

from table_io.versions import VersionStore
from table_io.xlsx_safety import csv_safe, export_csv, looks_like_formula
from tools.sheet import SheetTool

DANGEROUS = ['=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)"]


def test_triggers() -> None:
    assert all(looks_like_formula(t) for t in DANGEROUS)
    assert not looks_like_formula("plain") and not looks_like_formula(12)
    assert csv_safe("=1+1") == "'=1+1" and csv_safe("a=b") == "a=b" and csv_safe(None) == ""


def test_written_text_stays_text_and_export_prefixes_it(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["text"])
    src = tmp_path / "in.xlsx"
    wb.save(src)
    tool = SheetTool(VersionStore(src, tmp_path / "v"))
    changed: list[Path] = []
    tool.on_change = changed.append
    result = tool({"actions": [{"action": "write", "range": "A2:A5", "values": DANGEROUS},
                               {"action": "find_replace", "find": "plain", "replace": "=2*3"}]})
    assert result.ok, result.observation
    assert changed == [tool.versions.current_path]
    ws = openpyxl.load_workbook(tool.versions.current_path).active
    assert [ws.cell(r, 1).value for r in range(2, 6)] == DANGEROUS
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 6))
    out = export_csv(tool.versions.current_path, tmp_path / "out.csv")
    rows = list(csv.reader(out.open(encoding="utf-8")))
    assert [r[0] for r in rows[1:]] == ["'" + t for t in DANGEROUS]


def test_export_a_dataframe(tmp_path: Path) -> None:
    frame = pd.DataFrame({"name": ["ok", "=evil()"], "n": [1, None]})
    rows = list(csv.reader(export_csv(frame, tmp_path / "f.csv").open(encoding="utf-8")))
    assert rows == [["name", "n"], ["ok", "1.0"], ["'=evil()", ""]]

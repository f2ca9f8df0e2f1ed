"""`tablepilot inspect FILE` prints sheets and tables, and takes overrides."""

from __future__ import annotations

import json

import openpyxl

from app.cli import main


def make_book(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws["A1"] = "Quarterly"
    for i, row in enumerate([["Region", "Revenue", None], [None, "Q1", "Q2"], ["N", 1, 2], ["S", 3, 4],
                             ["Total", 4, 6]], start=3):
        for j, v in enumerate(row, start=1):
            if v is not None:
                ws.cell(i, j, v)
    ws.merge_cells("B3:C3")
    ws.merge_cells("A3:A4")
    ws.row_dimensions[6].hidden = True
    hidden = wb.create_sheet("Lookup")
    hidden.sheet_state = "hidden"
    hidden.append(["k", "v"])
    hidden.append(["a", 1])
    path = tmp_path / "r.xlsx"
    wb.save(path)
    return path


def test_inspect_text(tmp_path, capsys):
    assert main(["inspect", str(make_book(tmp_path)), "--head", "1"]) == 0
    out = capsys.readouterr().out
    assert "table report  range A3:C7  header rows 3-4  2 data rows x 3 columns" in out
    assert "Region (text), Revenue Q1 (integer), Revenue Q2 (integer)" in out
    assert "title: Quarterly" in out
    assert "total rows (kept out of the data): 7" in out
    assert "hidden rows: 6" in out
    assert "sheet 'Lookup' [hidden sheet]" in out
    assert "| N | 1 | 2" in out


def test_inspect_json_with_overrides(tmp_path, capsys):
    path = make_book(tmp_path)
    assert main(["inspect", str(path), "--json", "--range", "report=A4:C6", "--header-rows", "report=1"]) == 0
    data = json.loads(capsys.readouterr().out)
    table = data["sheets"][0]["tables"][0]
    assert table["range"] == "A4:C6" and table["header_rows"] == [4] and table["rows"] == 2
    assert [c["name"] for c in table["columns"]] == ["Region", "Q1", "Q2"]  # A3:A4 is merged

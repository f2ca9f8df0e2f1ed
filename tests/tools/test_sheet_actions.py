"""Every sheet action applied to a real workbook, saved, and read back with openpyxl/calamine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from table_io.versions import VersionStore
from tools.sheet import SheetTool


@pytest.fixture
def tool(tmp_path: Path) -> SheetTool:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Region", "Product", "Units", "Price", "Date"])
    rows = [("North", "Apple", 10, 2.5, "2024-01-05"), ("South", "Pear", 4, 3.0, "2024-02-10"),
            ("North", "Pear", 7, 3.0, "2024-03-15"), ("East", "Apple", 12, 2.5, "2024-01-20"),
            ("South", "Apple", 3, 2.5, "2024-02-25"), ("East", "Plum", 8, 4.0, "2024-03-30")]
    for row in rows:
        ws.append(list(row))
    ws["G1"] = "Notes"
    wb.create_sheet("Lookup").append(["Product", "Origin"])
    path = tmp_path / "sales.xlsx"
    wb.save(path)
    return SheetTool(VersionStore(path, tmp_path / "versions"))


def run(tool: SheetTool, *actions: dict[str, Any]) -> openpyxl.Workbook:
    result = tool({"actions": list(actions)})
    assert result.ok, result.observation
    return openpyxl.load_workbook(tool.versions.current_path)


def values(tool: SheetTool) -> openpyxl.Workbook:
    return openpyxl.load_workbook(tool.versions.current_path, data_only=True)


def test_write_values_and_untrusted_text_stays_text(tool: SheetTool) -> None:
    wb = run(tool, {"action": "write", "sheet": "Sales", "range": "H1", "values": "Flag"},
             {"action": "write", "sheet": "Sales", "range": "H2:H4", "values": ["=HYPERLINK(\"x\")", "+1", "12"]},
             {"action": "write", "sheet": "Lookup", "range": "A2", "values": [["Apple", "Spain"], ["Pear", "Chile"]]})
    ws = wb["Sales"]
    assert ws["H2"].value == '=HYPERLINK("x")' and ws["H2"].data_type == "s"
    assert ws["H3"].value == "+1" and ws["H4"].value == 12
    assert [c.value for c in wb["Lookup"][3]] == ["Pear", "Chile"]


def test_formula_range_and_fill_adjust_references_and_cache_values(tool: SheetTool) -> None:
    wb = run(tool, {"action": "write", "range": "F1", "values": "Revenue"},
             {"action": "formula", "sheet": "Sales", "range": "F2:F4", "formula": "=C2*D2"},
             {"action": "fill", "sheet": "Sales", "source": "F4", "target": "F4:F7"},
             {"action": "formula", "sheet": "Sales", "range": "F8", "formula": "SUM(F2:F7)"})
    assert wb["Sales"]["F3"].value == "=C3*D3" and wb["Sales"]["F7"].value == "=C7*D7"
    cached = values(tool)["Sales"]
    assert cached["F2"].value == 25 and cached["F8"].value == pytest.approx(25 + 12 + 21 + 30 + 7.5 + 32)
    grid = CalamineWorkbook.from_path(str(tool.versions.current_path)).get_sheet_by_name("Sales").to_python()
    assert grid[7][5] == pytest.approx(127.5)


def test_fill_continues_a_number_series(tool: SheetTool) -> None:
    wb = run(tool, {"action": "write", "range": "H2:H3", "values": [1, 2]},
             {"action": "fill", "source": "H2:H3", "target": "H2:H7"})
    assert [wb["Sales"].cell(r, 8).value for r in range(2, 8)] == [1, 2, 3, 4, 5, 6]


def test_insert_and_delete_rows_and_columns_fix_formulas(tool: SheetTool) -> None:
    run(tool, {"action": "formula", "sheet": "Lookup", "range": "C1", "formula": "=SUM(Sales!C2:C7)"},
        {"action": "formula", "sheet": "Sales", "range": "H1", "formula": "=C7+D2"},
        {"action": "merge", "sheet": "Sales", "range": "A9:B9"})
    wb = run(tool, {"action": "insert_rows", "sheet": "Sales", "at": 3, "count": 2},
             {"action": "insert_cols", "sheet": "Sales", "at": "Units"})
    assert wb["Lookup"]["C1"].value == "=SUM(Sales!D2:D9)"
    assert wb["Sales"]["I1"].value == "=D9+E2"
    assert "A11:B11" in {str(m) for m in wb["Sales"].merged_cells.ranges}
    assert values(tool)["Lookup"]["C1"].value == 44
    wb = run(tool, {"action": "delete_rows", "sheet": "Sales", "at": 3, "count": 2},
             {"action": "delete_cols", "sheet": "Sales", "at": "C"})
    assert wb["Lookup"]["C1"].value == "=SUM(Sales!C2:C7)" and wb["Sales"]["H1"].value == "=C7+D2"
    wb = run(tool, {"action": "delete_rows", "sheet": "Sales", "at": 7})
    assert wb["Sales"]["H1"].value == "=#REF!+D2"


def test_sheet_operations(tool: SheetTool) -> None:
    run(tool, {"action": "formula", "sheet": "Lookup", "range": "C1", "formula": "=Sales!C2"})
    wb = run(tool, {"action": "add_sheet", "name": "Summary", "index": 0},
             {"action": "rename_sheet", "sheet": "Sales", "name": "Sales 2024"},
             {"action": "copy_sheet", "sheet": "Lookup", "name": "Lookup copy"},
             {"action": "move_sheet", "sheet": "Lookup", "index": 3},
             {"action": "delete_sheet", "sheet": "Lookup copy"})
    assert wb.sheetnames == ["Summary", "Sales 2024", "Lookup"]
    assert wb["Lookup"]["C1"].value == "='Sales 2024'!C2"
    assert values(tool)["Lookup"]["C1"].value == 10


def test_sort_by_header_names_with_two_keys(tool: SheetTool) -> None:
    run(tool, {"action": "formula", "range": "F2:F7", "formula": "=C2*D2"})
    wb = run(tool, {"action": "sort", "by": ["Region", "Units"], "desc": [False, True]})
    ws = wb["Sales"]
    assert [ws.cell(r, 1).value for r in range(2, 8)] == ["East", "East", "North", "North", "South", "South"]
    assert [ws.cell(r, 3).value for r in range(2, 8)] == [12, 8, 10, 7, 4, 3]
    assert ws["F2"].value == "=C2*D2" and values(tool)["Sales"]["F2"].value == 30


def test_filter_hides_rows_and_records_the_criteria(tool: SheetTool) -> None:
    wb = run(tool, {"action": "filter", "column": "Units", "op": "gt", "value": 7})
    ws = wb["Sales"]
    assert ws.auto_filter.ref == "A1:G7"  # one empty header column does not split the table
    hidden = [r for r in range(2, 8) if ws.row_dimensions[r].hidden]
    assert hidden == [3, 4, 6]
    assert ws.auto_filter.filterColumn[0].colId == 2
    wb = run(tool, {"action": "filter", "clear": True})
    assert wb["Sales"].auto_filter.ref is None and not wb["Sales"].row_dimensions[3].hidden


def test_format_actions(tool: SheetTool) -> None:
    wb = run(tool, {"action": "format", "range": "A1:E1", "bold": True, "fill": "yellow", "color": "#FF0000",
                    "align": "center", "border": "thin"},
             {"action": "format", "range": "D2:D7", "num": "currency", "italic": True, "size": 14},
             {"action": "size", "cols": "A:B", "width": 20}, {"action": "size", "rows": "1", "height": 30},
             {"action": "hide", "cols": "G"}, {"action": "freeze", "cell": "B2"})
    ws = wb["Sales"]
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "00FFFF00" and ws["A1"].font.color.rgb == "00FF0000"
    assert ws["A1"].alignment.horizontal == "center" and ws["A1"].border.left.style == "thin"
    assert ws["D2"].number_format == '"$"#,##0.00' and ws["D2"].font.i and ws["D2"].font.sz == 14
    assert ws.column_dimensions["A"].width == 20 and ws.row_dimensions[1].height == 30
    assert ws.column_dimensions["G"].hidden and ws.freeze_panes == "B2"


def test_conditional_formats_and_validation(tool: SheetTool) -> None:
    wb = run(tool, {"action": "cond_format", "range": "C2:C7", "rule": "cell", "op": "gt", "value": 8, "fill": "light red"},
             {"action": "cond_format", "range": "D2:D7", "rule": "scale", "colors": ["white", "green"]},
             {"action": "cond_format", "range": "C2:C7", "rule": "bar"},
             {"action": "cond_format", "range": "A2:A7", "rule": "formula", "formula": "=$C2>10", "bold": True},
             {"action": "validate", "range": "B2:B20", "kind": "list", "values": ["Apple", "Pear", "Plum"]},
             {"action": "validate", "range": "C2:C20", "kind": "whole", "op": "between", "value": 0, "value2": 100})
    ws = wb["Sales"]
    rules = {(str(r.sqref), rule.type) for r in ws.conditional_formatting for rule in r.rules}
    assert rules == {("C2:C7", "cellIs"), ("D2:D7", "colorScale"), ("C2:C7", "dataBar"), ("A2:A7", "expression")}
    validations = {(str(v.sqref), v.type, v.formula1) for v in ws.data_validations.dataValidation}
    assert ("B2:B20", "list", '"Apple,Pear,Plum"') in validations and ("C2:C20", "whole", "0") in validations


def test_merge_link_convert_and_named_range(tool: SheetTool) -> None:
    wb = run(tool, {"action": "merge", "range": "G1:H1"},
             {"action": "link", "cell": "B2", "url": "https://example.com/apple"},
             {"action": "link", "cell": "B3", "url": "#Lookup!A1", "text": "see lookup"},
             {"action": "convert", "range": "E2:E7", "to": "date"},
             {"action": "name_range", "name": "Units", "range": "C2:C7"})
    ws = wb["Sales"]
    assert "G1:H1" in {str(m) for m in ws.merged_cells.ranges}
    assert ws["B2"].hyperlink.target == "https://example.com/apple" and ws["B2"].value == "Apple"
    assert ws["B3"].hyperlink.location == "Lookup!A1" and ws["B3"].value == "see lookup"
    assert ws["E2"].value == dt.datetime(2024, 1, 5) and ws["E2"].number_format == "yyyy-mm-dd"
    assert wb.defined_names["Units"].attr_text == "Sales!$C$2:$C$7"
    wb = run(tool, {"action": "unmerge", "range": "G1"})
    assert not wb["Sales"].merged_cells.ranges


def test_convert_numbers_stored_as_text(tool: SheetTool) -> None:
    run(tool, {"action": "write", "range": "H1:H4", "values": [["Amount"], ["1,234"], ["8%"], ["$1.2k"]]})
    wb = run(tool, {"action": "convert", "range": "H2:H4", "to": "number"})
    assert [wb["Sales"].cell(r, 8).value for r in range(2, 5)] == [1234, 0.08, 1200]


def test_copy_clear_find_replace_dedupe_split(tool: SheetTool) -> None:
    wb = run(tool, {"action": "copy", "source": "A1:C3", "target": "A1", "to_sheet": "Lookup"},
             {"action": "find_replace", "find": "Pear", "replace": "Quince"},
             {"action": "clear", "range": "G1"},
             {"action": "write", "range": "I1:I3", "values": ["a;b", "c;d", "e"]},
             {"action": "split", "range": "I1:I3", "sep": ";"})
    assert [c.value for c in wb["Lookup"][2]] == ["North", "Apple", 10]
    assert wb["Sales"]["B3"].value == "Quince" and wb["Sales"]["G1"].value is None
    assert wb["Sales"]["J1"].value == "a" and wb["Sales"]["K2"].value == "d"
    wb = run(tool, {"action": "write", "range": "A8", "values": [["North", "Apple", 10, 2.5, "2024-01-05"]]},
             {"action": "dedupe", "range": "A1:E8"})
    assert wb["Sales"]["A8"].value is None and wb["Sales"]["A7"].value == "East"


def test_summary_writes_a_pivot_style_table(tool: SheetTool) -> None:
    run(tool, {"action": "summary", "rows": ["Region"], "values": ["Units"], "func": "sum", "to_sheet": "Pivot",
               "index": 0},
        {"action": "summary", "rows": ["Region"], "cols": ["Product"], "values": ["Units"], "to_sheet": "Pivot",
         "at": "E1"})
    ws = values(tool)["Pivot"]
    assert [[c.value for c in row] for row in ws["A1:B5"]] == [
        ["Region", "Sum of Units"], ["East", 20], ["North", 17], ["South", 7], ["Grand Total", 44]]
    assert [c.value for c in ws[1]][4:9] == ["Region", "Apple", "Pear", "Plum", "Grand Total"]
    assert [c.value for c in ws[2]][4:9] == ["East", 12, None, 8, 20]
    assert values(tool).sheetnames[0] == "Pivot"


def test_charts_with_titles_axes_legend(tool: SheetTool) -> None:
    wb = run(tool, {"action": "chart", "type": "column", "data": "C1:C7", "labels": "B2:B7", "title": "Units",
                    "x_title": "Product", "y_title": "Units", "legend": "none"},
             {"action": "chart", "type": "pie", "data": "C1:C4", "labels": "A2:A4", "at": "J20"},
             {"action": "chart", "type": "scatter", "data": "C1:D7", "title": "Price vs units", "trendline": "linear"},
             {"action": "chart", "type": "line", "data": "C1:D7", "to_sheet": "Lookup", "legend": "bottom"},
             {"action": "chart", "type": "bar", "data": "C1:C7", "data_labels": True})
    ws = wb["Sales"]
    kinds = [type(c).__name__ for c in ws._charts]
    assert kinds == ["BarChart", "PieChart", "ScatterChart", "BarChart"]
    column = ws._charts[0]
    assert column.type == "col" and column.legend is None
    assert column.series[0].val.numRef.f == "'Sales'!$C$2:$C$7" and column.series[0].cat.numRef.f == "'Sales'!$B$2:$B$7"
    assert ws._charts[2].series[0].trendline.trendlineType == "linear"
    assert wb["Lookup"]._charts[0].legend.legendPos == "b"
    wb = run(tool, {"action": "edit_chart", "index": 0, "title": "Units sold", "legend": "right", "type": "line"})
    assert type(wb["Sales"]._charts[0]).__name__ == "LineChart"


def test_preview_changes_nothing(tool: SheetTool) -> None:
    before = tool.versions.current_path.read_bytes()
    changes = tool.preview([{"action": "write", "range": "A2", "values": "West"}])
    assert [(c.sheet, c.cell, c.kind, c.before, c.after) for c in changes] == [("Sales", "A2", "value", "North", "West")]
    assert tool.versions.version == 0 and tool.versions.current_path.read_bytes() == before


def test_payload_and_undo(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "write", "range": "A2", "values": "West"}]})
    assert result.payload["version"] == 1
    assert [(c.cell, c.after) for c in result.payload["changes"]] == [("A2", "West")]
    assert "saved version 1" in result.observation and "A2" in result.observation
    tool.versions.undo()
    assert openpyxl.load_workbook(tool.versions.current_path)["Sales"]["A2"].value == "North"


def test_in_memory_diff_agrees_with_the_file_diff(tool: SheetTool) -> None:
    result = tool({"actions": [
        {"action": "write", "range": "A2", "values": "West"},
        {"action": "formula", "range": "F2:F7", "formula": "=C2*D2"},
        {"action": "format", "range": "C1:C3", "bold": True, "fill": "yellow"},
        {"action": "add_sheet", "name": "New"}, {"action": "freeze", "cell": "A2"}]})
    assert result.ok, result.observation
    fast = {(c.sheet, c.cell, c.kind, str(c.before), str(c.after)) for c in result.payload["changes"]}
    slow = {(c.sheet, c.cell, c.kind, str(c.before), str(c.after)) for c in tool.versions.diff(0, 1)}
    assert fast == slow
    assert ("Sales", "F2", "value", "None", "25.0") in fast


def test_inserted_rows_move_links_comments_and_tables(tmp_path: Path) -> None:
    from openpyxl.comments import Comment
    from openpyxl.worksheet.table import Table

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    ws.append(["a", "b"])
    for i in range(5):
        ws.append([i, i * 2])
    ws["A3"].hyperlink = "https://example.com"
    ws["B4"].comment = Comment("note", "me")
    ws.add_table(Table(displayName="T1", ref="A1:B6"))
    wb.save(tmp_path / "t.xlsx")
    tool = SheetTool(VersionStore(tmp_path / "t.xlsx", tmp_path / "v"))
    out = run(tool, {"action": "insert_rows", "sheet": "S", "at": 2, "count": 2})["S"]
    assert out["A5"].hyperlink.target == "https://example.com" and out["A3"].hyperlink is None
    assert out["B6"].comment.text == "note" and out.tables["T1"].ref == "A1:B8"


def test_transpose_links_hidden_sheets_and_chart_lines(tool: SheetTool) -> None:
    wb = run(tool, {"action": "copy", "source": "A1:C3", "target": "A1", "to_sheet": "Lookup", "transpose": True},
             {"action": "link", "cell": "B2", "url": "https://example.com"},
             {"action": "clear", "range": "B2", "what": "links"},
             {"action": "hide", "sheet": "Lookup", "whole": True},
             {"action": "chart", "type": "scatter", "data": "C1:D7", "marker": "triangle", "smooth": True},
             {"action": "edit_chart", "marker": "square"})
    lookup = wb["Lookup"]
    assert [c.value for c in lookup[1]][:3] == ["Region", "North", "South"]
    assert [c.value for c in lookup[3]][:3] == ["Units", 10, 4]
    assert wb["Sales"]["B2"].hyperlink is None and wb["Sales"]["B2"].value == "Apple"
    assert lookup.sheet_state == "hidden"
    series = wb["Sales"]._charts[0].series[0]
    assert series.marker.symbol == "square" and series.smooth
    bad = tool({"actions": [{"action": "hide", "sheet": "Sales", "whole": True}]})
    assert not bad.ok and "only visible sheet" in bad.observation

"""The sheet tool's read-back (tools/sheet/readback.py) on real workbooks: what a sort, a formula,
a chart, a conversion and a new sheet left, as the edit checks see it; a withdrawn edit leaves the
version before it current and cannot be redone."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from table_io.versions import VersionStore
from tools.payloads import sheet_payload
from tools.sheet import SheetTool
from tools.sheet.readback import Readback, value_kind


@pytest.fixture
def tool(tmp_path: Path) -> SheetTool:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staff"
    ws.append(["Name", "Hired", "Salary", "Hired (text)", "Amount (text)"])
    rows = [("Ann", dt.datetime(2019, 5, 1), 52000, "01/05/2019", "1,200"),
            ("Bob", dt.datetime(2015, 3, 2), 61000, "02/03/2015", "950"),
            ("Cy", dt.datetime(2024, 11, 18), 47000, "18/11/2024", "12,500"),
            ("Di", dt.datetime(2021, 7, 9), 58000, "09/07/2021", "3,000")]
    for row in rows:
        ws.append(list(row))
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    return SheetTool(VersionStore(path, tmp_path / "versions"))


def readback(tool: SheetTool, *actions: dict[str, Any]) -> Readback:
    result = tool({"actions": list(actions)})
    assert result.ok, result.observation
    payload = sheet_payload(result)
    assert payload is not None
    return payload["readback"]


@pytest.mark.parametrize(("desc", "first", "last", "ascending"), [
    (False, dt.date(2015, 3, 2), dt.date(2024, 11, 18), True),
    (True, dt.date(2024, 11, 18), dt.date(2015, 3, 2), False),
])
def test_a_sort_reads_back_its_first_and_last_keys(tool: SheetTool, desc: bool, first: Any,
                                                   last: Any, ascending: bool) -> None:
    back = readback(tool, {"action": "sort", "sheet": "Staff", "by": ["Hired"], "desc": desc})
    (s,) = back.sorts
    assert (s.column, s.header, s.kind) == ("B", "Hired", "date")
    assert (s.first, s.last, s.ascending, s.desc) == (first, last, ascending, desc)
    assert f"first {first.isoformat()}, last {last.isoformat()}" in back.text()


def test_a_sort_by_dates_written_as_text_is_seen_as_text(tool: SheetTool) -> None:
    back = readback(tool, {"action": "sort", "sheet": "Staff", "by": ["D"]})
    assert back.sorts[0].kind == "date text"
    # as text, '01/05/2019' < '02/03/2015' < '09/07/2021' < '18/11/2024': not date order
    assert back.sorts[0].first == "01/05/2019"


def test_formula_errors_are_read_back_with_their_formula(tool: SheetTool) -> None:
    back = readback(tool, {"action": "write", "sheet": "Staff", "range": "F1", "values": "Bonus"},
                    {"action": "formula", "sheet": "Staff", "range": "F2:F5",
                     "formula": "=C2/0"})
    assert back.errors and back.errors[0][:2] == ("Staff!F2", "#DIV/0!")
    assert back.errors[0][2] == "=C2/0" and "formula cells show errors" in back.text()
    assert "Bonus" in back.texts_written


def test_a_clean_formula_column_has_no_errors(tool: SheetTool) -> None:
    back = readback(tool, {"action": "write", "sheet": "Staff", "range": "F1", "values": "Bonus"},
                    {"action": "formula", "sheet": "Staff", "range": "F2:F5", "formula": "=C2*0.1"})
    assert back.errors == [] and back.texts_written == ["Bonus"] and back.changed >= 5


def test_a_chart_on_a_new_sheet_reads_back_type_sheet_and_points(tool: SheetTool) -> None:
    back = readback(tool, {"action": "add_sheet", "name": "Chart"},
                    {"action": "chart", "sheet": "Staff", "type": "line", "data": "C1:C5",
                     "labels": "A2:A5", "to_sheet": "Chart"})
    assert back.sheets_added == ["Chart"]
    (chart,) = back.charts
    assert (chart["type"], chart["sheet"], chart["points"], chart["series"]) == ("line", "Chart", 4, 1)


def test_a_conversion_reads_back_what_it_converted(tool: SheetTool) -> None:
    back = readback(tool, {"action": "convert", "sheet": "Staff", "range": "E2:E5", "to": "number"})
    (conv,) = back.converts
    assert (conv["converted"], conv["left_count"]) == (4, 0)


def test_withdraw_takes_the_edit_back_for_good(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "write", "sheet": "Staff", "range": "A2", "values": "X"}]})
    assert tool.versions.version == 1
    tool.revert(result)
    assert tool.versions.version == 0 and not tool.versions.can_redo
    ws = openpyxl.load_workbook(tool.versions.current_path)["Staff"]
    assert ws["A2"].value == "Ann"
    again = tool({"actions": [{"action": "write", "sheet": "Staff", "range": "A2", "values": "Y"}]})
    assert again.ok and tool.versions.version == 2


@pytest.mark.parametrize(("values", "kind"), [
    ([1, 2.5, None], "number"), ([dt.date(2020, 1, 1)], "date"), (["a", "b"], "text"),
    (["01/02/2020", "2020-03-04"], "date text"), (["1,200", "950", "(30)"], "number text"),
    ([None, ""], ""), (["1,200", "n/a"], "text"),
])
def test_value_kind(values: list[Any], kind: str) -> None:
    assert value_kind(values) == kind


@pytest.mark.parametrize("label", ["Salary", "C Salary", "C: Salary", "Salary (number)",
                                   "C Salary (number)"])
def test_a_column_may_be_named_as_the_layout_shows_it(tool: SheetTool, label: str) -> None:
    back = readback(tool, {"action": "sort", "sheet": "Staff", "by": [label], "desc": True})
    assert back.sorts[0].column == "C" and back.sorts[0].first == 61000


def test_a_letter_that_disagrees_with_the_header_is_refused(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "sort", "sheet": "Staff", "by": ["B Salary"]}]})
    assert not result.ok and "no column 'B Salary'" in result.observation


def test_a_range_given_from_the_first_data_row_is_read_with_its_header(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "sort", "sheet": "Staff", "range": "A2:E5",
                                "by": ["Salary"], "desc": True}]})
    assert result.ok and "A2:E5 was read with its header row 1" in result.observation
    ws = openpyxl.load_workbook(tool.versions.current_path)["Staff"]
    assert ws["A1"].value == "Name" and [ws.cell(r, 3).value for r in range(2, 6)] == [
        61000, 58000, 52000, 47000]


def test_a_range_without_the_named_header_anywhere_is_refused(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "sort", "sheet": "Staff", "range": "A3:E5",
                                "by": ["Salary"]}]})
    assert not result.ok and tool.versions.version == 0


def test_a_chart_or_copy_to_a_sheet_that_is_missing_makes_it(tool: SheetTool) -> None:
    back = readback(tool, {"action": "chart", "sheet": "Staff", "type": "bar", "data": "C1:C5",
                           "to_sheet": "Chart"},
                    {"action": "copy", "sheet": "Staff", "source": "A1:A5", "target": "A1",
                     "to_sheet": "Names"})
    assert sorted(back.sheets_added) == ["Chart", "Names"]
    wb = openpyxl.load_workbook(tool.versions.current_path)
    assert wb.sheetnames == ["Chart", "Names", "Staff"]  # new sheets go before, as in Excel
    assert wb["Names"]["A5"].value == "Di" and len(wb["Chart"]._charts) == 1


def test_a_formula_written_as_text_is_read_back(tool: SheetTool) -> None:
    back = readback(tool, {"action": "write", "sheet": "Staff", "range": "F2", "values": "=C2*2"})
    assert back.formulas_as_text == [("Staff!F2", "=C2*2")]
    assert "got the text '=C2*2', not a formula" in back.text()


def test_a_new_column_above_or_on_the_header_row_is_read_back_with_its_place(
        tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws.append(["Orders, Q1 2024"])
    ws.append(["Qty", "Price"])
    ws.append([2, 3.0])
    ws.append([4, 5.0])
    wb.save(tmp_path / "orders.xlsx")
    tool = SheetTool(VersionStore(tmp_path / "orders.xlsx", tmp_path / "v"))
    back = readback(tool, {"action": "write", "sheet": "Orders", "range": "C1", "values": "Total"},
                    {"action": "formula", "sheet": "Orders", "range": "C2:C4", "formula": "=A2*B2"})
    assert back.misplaced == [
        ("header 'Total'", "Orders!C1 (above the header row 2)", "Orders!C2"),
        ("formula =A2*B2", "Orders!C2:C4 (row 2 is the header row)", "Orders!C3:C4 as =A3*B3")]
    tool.revert(tool({"actions": [{"action": "write", "sheet": "Orders", "range": "D1", "values": "x"}]}))
    right = readback(tool, {"action": "write", "sheet": "Orders", "range": "C2", "values": "Total"},
                     {"action": "formula", "sheet": "Orders", "range": "C3:C4", "formula": "=A3*B3"})
    assert right.misplaced == [] and right.errors == []


@pytest.mark.parametrize(("written", "kind"), [
    ("clustered_column", "column"), ("Line Chart", "line"), ("XY scatter", "scatter"),
    ("doughnut", "pie"), ("stacked bar", "bar"), ("bar", "bar")])
def test_a_chart_type_in_other_words_is_the_type_it_names(tool: SheetTool, written: str,
                                                          kind: str) -> None:
    back = readback(tool, {"action": "chart", "sheet": "Staff", "type": written, "data": "C1:C5",
                           "labels": "A2:A5"})
    assert back.charts[0]["type"] == kind


def test_a_misspelt_chart_type_is_read_as_the_close_choice_and_said(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "chart", "sheet": "Staff", "type": "pies",
                                "data": "C1:C5"}]})
    assert result.ok and result.observation.startswith("note: action 0 (chart)")
    assert '"type": "pie"' in result.observation


def test_an_unknown_chart_type_still_names_the_choices(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "chart", "sheet": "Staff", "type": "radar-spiderweb",
                                "data": "C1:C5"}]})
    assert not result.ok and "'pie'" in result.observation


def test_loose_options_on_a_bar_chart_and_a_layout_label_for_data(tool: SheetTool) -> None:
    back = readback(tool, {"action": "chart", "sheet": "Staff", "type": "bar",
                           "data": "C Salary", "legend": False, "marker": False})
    assert back.charts[0]["type"] == "bar" and back.charts[0]["points"] == 4  # C2:C5

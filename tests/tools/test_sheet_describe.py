"""describe_action(s): one plain-English line per sheet action, read against a real workbook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tools.sheet.actions import ACTION_NAMES
from tools.sheet.data import Sort
from tools.sheet.describe import MAX_LINE, describe_action, describe_actions


@pytest.fixture
def workbook(tmp_path: Path) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Region", "Product", "Units", "Price"])
    for row in [("North", "Apple", 10, 2.5), ("South", "Pear", 4, 3.0), ("North", "Pear", 7, 3.0),
                ("East", "Apple", 12, 2.5), ("South", "Apple", 3, 2.5), ("East", "Plum", 8, 4.0)]:
        ws.append(list(row))
    managers = wb.create_sheet("Managers")
    managers.append(["Name", "Dept", "Hire Date", "Salary"])
    for i in range(12):
        managers.append([f"Person {i}", "Ops", dt.date(2020, 1, 1) + dt.timedelta(days=40 * i), 1000 * i])
    report = wb.create_sheet("Q1 Report")  # a title above the header row, as many reports have
    report["A1"] = "Quarterly report"
    report.append([])
    report.append(["Team", "Score", "Updated"])
    for team, score, day in [("Blue", 7, 3), ("Red", 9, 1), ("Green", 4, 2)]:
        report.append([team, score, dt.datetime(2024, 4, day)])
    report["D4"] = "=B4*2"
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return openpyxl.load_workbook(path)


# every action type, described with the workbook
CASES: list[tuple[dict[str, Any], str]] = [
    ({'action': 'write', 'sheet': 'Summary', 'range': 'H4', 'values': 'FY Total'},
     "Write 'FY Total' in Summary!H4"),
    ({'action': 'write', 'sheet': 'Sales', 'range': 'F1', 'values': ['Q1', 'Q2', 'Q3']},
     "Write 'Q1', 'Q2', 'Q3' in Sales!F1:H1"),
    ({'action': 'write', 'sheet': 'Sales', 'range': 'A20', 'values': [['North', 1, 2], ['South', 3, 4]]},
     "Write 6 values in Sales!A20:C21 ('North', 1, …)"),
    ({'action': 'write', 'sheet': 'Sales', 'range': 'H2:H9', 'values': 0},
     'Write 8 values in Sales!H2:H9 (0, 0, …)'),
    ({'action': 'write', 'sheet': 'Sales', 'range': 'H2', 'values': '=SUM(A1:A3)'},
     "Write '=SUM(A1:A3)' in Sales!H2 (as text)"),
    ({'action': 'formula', 'sheet': 'Summary', 'range': 'H5:H17', 'formula': '=SUM(D5:G5)'},
     'Fill Summary!H5:H17 with =SUM(D5:G5) (copied down)'),
    ({'action': 'formula', 'sheet': 'Sales', 'range': 'E2', 'formula': 'C2*D2'},
     'Set Sales!E2 to =C2*D2'),
    ({'action': 'formula', 'sheet': 'Sales', 'range': 'F2:H2', 'formula': '=C2*2'},
     'Fill Sales!F2:H2 with =C2*2 (copied across)'),
    ({'action': 'fill', 'sheet': 'Sales', 'source': 'E2', 'target': 'E2:E7'},
     'Autofill Sales!E2:E7 from E2 down (formulas adjusted, series continued)'),
    ({'action': 'fill', 'sheet': 'Sales', 'source': 'B9', 'target': 'B9:F9'},
     'Autofill Sales!B9:F9 from B9 across (formulas adjusted, series continued)'),
    ({'action': 'copy', 'sheet': 'Sales', 'source': 'A1:D7', 'target': 'A1', 'to_sheet': 'Managers', 'what': 'values'},
     'Copy Sales!A1:D7 to Managers!A1 (values only)'),
    ({'action': 'copy', 'sheet': 'Sales', 'source': 'A1:B3', 'target': 'J1', 'transpose': True},
     'Copy Sales!A1:B3 to Sales!J1, transposed'),
    ({'action': 'clear', 'sheet': 'Sales', 'range': 'D2:D7'},
     'Clear the contents of Sales!D2:D7'),
    ({'action': 'clear', 'sheet': 'Sales', 'range': 'D2:D7', 'what': 'formats'},
     'Clear the formatting of Sales!D2:D7'),
    ({'action': 'clear', 'sheet': 'Sales', 'range': 'D2:D7', 'what': 'links'},
     'Remove the links in Sales!D2:D7'),
    ({'action': 'clear', 'sheet': 'Sales', 'range': 'D2:D7', 'what': 'all'},
     'Clear everything in Sales!D2:D7 (contents and formatting)'),
    ({'action': 'find_replace', 'sheet': 'Sales', 'find': 'N/A', 'replace': '', 'range': 'C2:C7'},
     "Remove 'N/A' from Sales!C2:C7"),
    ({'action': 'find_replace', 'sheet': 'Sales', 'find': 'north', 'replace': 'North', 'case': True, 'whole': True},
     "Replace 'north' with 'North' in all of Sales (match case, whole cell only)"),
    ({'action': 'convert', 'sheet': 'Sales', 'range': 'C2:C40', 'to': 'number'},
     'Convert Sales!C2:C40 to numbers'),
    ({'action': 'convert', 'sheet': 'Sales', 'range': 'E2:E7', 'to': 'date', 'parse': '%d/%m/%Y', 'format': 'yyyy-mm-dd'},
     "Convert Sales!E2:E7 to dates (read as %d/%m/%Y), formatted 'yyyy-mm-dd'"),
    ({'action': 'link', 'sheet': 'Sales', 'cell': 'A2', 'url': 'https://example.com/report', 'text': 'Report'},
     "Link Sales!A2 to https://example.com/report showing 'Report'"),
    ({'action': 'merge', 'sheet': 'Sales', 'range': 'A1:D1'},
     'Merge Sales!A1:D1'),
    ({'action': 'unmerge', 'sheet': 'Sales', 'range': 'A1:D1'},
     'Unmerge the cells in Sales!A1:D1'),
    ({'action': 'name_range', 'sheet': 'Sales', 'name': 'Prices', 'range': 'D2:D7'},
     "Name Sales!D2:D7 'Prices'"),
    ({'action': 'dedupe', 'sheet': 'Sales', 'columns': ['A', 'Product']},
     'Remove duplicate rows from Sales!A1:D7, comparing Region (column A) and Product'),
    ({'action': 'dedupe', 'sheet': 'Sales', 'range': 'A1:D7'},
     'Remove duplicate rows from Sales!A1:D7 (rows equal in every column)'),
    ({'action': 'split', 'sheet': 'Managers', 'range': 'A2:A13', 'sep': ' '},
     "Split Managers!A2:A13 at ' ' into columns from column B"),
    ({'action': 'split', 'sheet': 'Managers', 'range': 'A2:A13', 'sep': ',', 'to': 'F'},
     "Split Managers!A2:A13 at ',' into columns from column F"),
    ({'action': 'insert_rows', 'sheet': 'Sales', 'at': 3},
     'Insert a row before row 3 on Sales'),
    ({'action': 'insert_rows', 'sheet': 'Sales', 'at': 3, 'count': 4},
     'Insert 4 rows before row 3 on Sales'),
    ({'action': 'delete_rows', 'sheet': 'Sales', 'at': 5, 'count': 3},
     'Delete rows 5-7 on Sales'),
    ({'action': 'delete_rows', 'sheet': 'Sales', 'at': 5},
     'Delete row 5 on Sales'),
    ({'action': 'insert_cols', 'sheet': 'Sales', 'at': 'Units', 'count': 2},
     'Insert 2 columns before column C (Units) on Sales'),
    ({'action': 'insert_cols', 'sheet': 'Sales', 'at': 'H'},
     'Insert a column before column H on Sales'),
    ({'action': 'delete_cols', 'sheet': 'Sales', 'at': 'C'},
     'Delete column C (Units) on Sales'),
    ({'action': 'delete_cols', 'sheet': 'Sales', 'at': 'B', 'count': 2},
     'Delete columns B-C on Sales'),
    ({'action': 'add_sheet', 'name': 'Notes'},
     'Add a sheet Notes'),
    ({'action': 'add_sheet', 'name': 'Notes', 'index': 0},
     'Add a sheet Notes as the first sheet'),
    ({'action': 'add_sheet', 'name': 'Q1 Notes', 'index': 2},
     "Add a sheet 'Q1 Notes' at position 3"),
    ({'action': 'rename_sheet', 'sheet': 'Sales', 'name': 'Sales 2024'},
     "Rename sheet Sales to 'Sales 2024'"),
    ({'action': 'copy_sheet', 'sheet': 'Sales', 'name': 'Sales_copy'},
     'Copy sheet Sales as Sales_copy'),
    ({'action': 'delete_sheet', 'sheet': 'Sales'},
     'Delete sheet Sales'),
    ({'action': 'move_sheet', 'sheet': 'Sales', 'index': 0},
     'Move sheet Sales to the front'),
    ({'action': 'move_sheet', 'sheet': 'Sales', 'index': 2},
     'Move sheet Sales to position 3'),
    ({'action': 'freeze', 'sheet': 'Sales', 'cell': 'B2'},
     'Freeze row 1 and column A on Sales'),
    ({'action': 'freeze', 'sheet': 'Sales', 'cell': 'A4'},
     'Freeze rows 1-3 on Sales'),
    ({'action': 'freeze', 'sheet': 'Sales', 'cell': 'D1'},
     'Freeze columns A-C on Sales'),
    ({'action': 'freeze', 'sheet': 'Sales'},
     'Unfreeze panes on Sales'),
    ({'action': 'size', 'sheet': 'Sales', 'cols': 'A:C', 'width': 20},
     'Set the width of columns A:C to 20 on Sales'),
    ({'action': 'size', 'sheet': 'Sales', 'cols': 'B', 'auto': True, 'rows': '1', 'height': 30.5},
     'Auto-fit the width of column B; set the height of row 1 to 30.5 on Sales'),
    ({'action': 'hide', 'sheet': 'Sales', 'cols': 'C:D'},
     'Hide columns C:D on Sales'),
    ({'action': 'hide', 'sheet': 'Sales', 'rows': '3', 'show': True},
     'Show row 3 on Sales'),
    ({'action': 'hide', 'sheet': 'Sales', 'whole': True},
     'Hide sheet Sales'),
    ({'action': 'sort', 'sheet': 'Managers', 'range': 'A1:D13', 'by': ['Hire Date']},
     'Sort Managers!A1:D13 by Hire Date, oldest first'),
    ({'action': 'sort', 'sheet': 'Managers', 'by': ['D', 'A'], 'desc': [True, False]},
     'Sort Managers!A1:D13 by Salary (column D, largest first), then Name (column A, A to Z)'),
    ({'action': 'filter', 'sheet': 'Sales', 'column': 'A', 'value': 'North'},
     "Filter Sales!A1:D7 to rows where Region (column A) is 'North'"),
    ({'action': 'filter', 'sheet': 'Sales', 'column': 'Units', 'op': 'top', 'value': 3},
     'Filter Sales!A1:D7 to the top 3 rows by Units'),
    ({'action': 'filter', 'sheet': 'Sales', 'column': 'Product', 'op': 'in', 'values': ['Apple', 'Pear']},
     "Filter Sales!A1:D7 to rows where Product is one of 'Apple', 'Pear'"),
    ({'action': 'filter', 'sheet': 'Sales'},
     'Add filter buttons to Sales!A1:D7'),
    ({'action': 'filter', 'sheet': 'Sales', 'clear': True},
     'Remove the filter from Sales!A1:D7 and show all rows'),
    ({'action': 'summary', 'sheet': 'Sales', 'rows': ['Region'], 'values': ['Units']},
     'Summarise Units (sum) by Region on a new sheet Summary'),
    ({'action': 'summary', 'sheet': 'Sales', 'rows': ['A'], 'values': ['C', 'D'], 'func': ['sum', 'average'], 'to_sheet': 'Managers', 'at': 'H1', 'total': False},
     'Summarise Units (column C, sum), Price (column D, average) by Region (column A) on sheet Managers at H1, no grand total'),
    ({'action': 'summary', 'sheet': 'Sales', 'rows': ['Region'], 'cols': ['Product'], 'values': ['Units'], 'func': 'count'},
     'Summarise Units (count) by Region across Product on a new sheet Summary'),
    ({'action': 'format', 'sheet': 'Sales', 'range': 'A1:D1', 'bold': True, 'fill': 'yellow', 'border': 'thin'},
     'Format Sales!A1:D1: bold, yellow fill, thin borders'),
    ({'action': 'format', 'sheet': 'Sales', 'range': 'D2:D7', 'num': 'currency', 'align': 'right'},
     "Format Sales!D2:D7: number format 'currency', aligned right"),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'C2:C7', 'op': 'gt', 'value': 10, 'fill': 'light red'},
     'Highlight cells in Sales!C2:C7 that are greater than 10 (light red fill)'),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'C2:C7', 'rule': 'scale', 'colors': ['red', 'green']},
     'Add a colour scale to Sales!C2:C7 (red to green)'),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'C2:C7', 'rule': 'top', 'value': 3, 'bold': True},
     'Highlight the top 3 values in Sales!C2:C7 (bold)'),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'A2:A7', 'rule': 'duplicate', 'fill': 'yellow'},
     'Highlight duplicate values in Sales!A2:A7 (yellow fill)'),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'A2:D7', 'rule': 'formula', 'formula': '=$C2>10'},
     'Highlight cells in Sales!A2:D7 where =$C2>10'),
    ({'action': 'cond_format', 'sheet': 'Sales', 'range': 'C2:C7', 'op': 'between', 'value': 1, 'value2': 5},
     'Highlight cells in Sales!C2:C7 that are between 1 and 5'),
    ({'action': 'validate', 'sheet': 'Sales', 'range': 'F2:F50', 'kind': 'list', 'values': ['Yes', 'No']},
     "Restrict Sales!F2:F50 to a list: 'Yes', 'No'"),
    ({'action': 'validate', 'sheet': 'Sales', 'range': 'C2:C50', 'kind': 'whole', 'op': 'between', 'value': 1, 'value2': 100, 'message': '1 to 100'},
     "Restrict Sales!C2:C50 to whole numbers that are between 1 and 100, message '1 to 100'"),
    ({'action': 'validate', 'sheet': 'Sales', 'range': 'B2:B50', 'kind': 'length', 'op': 'le', 'value': 20},
     'Restrict Sales!B2:B50 to text whose length is at most 20'),
    ({'action': 'chart', 'sheet': 'Sales', 'type': 'bar', 'data': 'B1:B13', 'labels': 'A2:A13', 'to_sheet': 'Chart', 'title': 'Revenue'},
     "Add a bar chart of Sales!B1:B13 by A2:A13 on sheet Chart, titled 'Revenue'"),
    ({'action': 'chart', 'sheet': 'Sales', 'type': 'area', 'data': 'C1:D7', 'at': 'H2'},
     'Add an area chart of Sales!C1:D7 at H2'),
    ({'action': 'edit_chart', 'sheet': 'Sales', 'title': 'Units by region', 'type': 'line', 'legend': 'none'},
     "Change the last chart on Sales: title 'Units by region', type line, legend none"),
    ({'action': 'edit_chart', 'sheet': 'Sales', 'index': 0, 'delete': True},
     'Delete the first chart on Sales'),
]


@pytest.mark.parametrize(("action", "line"), CASES, ids=[f"{i}-{c[0]['action']}" for i, c in enumerate(CASES)])
def test_each_action_reads_as_one_line(workbook: openpyxl.Workbook, action: dict[str, Any], line: str) -> None:
    assert describe_action(action, workbook) == line
    assert len(line) <= MAX_LINE


def test_every_action_type_has_a_case() -> None:
    assert {action["action"] for action, _ in CASES} == set(ACTION_NAMES)


def test_a_batch_reads_line_by_line(workbook: openpyxl.Workbook) -> None:
    actions = [action for action, _ in CASES]
    assert describe_actions(actions, workbook) == [line for _, line in CASES]


@pytest.mark.parametrize(("action", "line"), [
    ({"action": "sort", "sheet": "Managers", "range": "A1:D13", "by": ["Hire Date"]},
     "Sort Managers!A1:D13 by Hire Date, ascending"),
    ({"action": "sort", "sheet": "Managers", "by": ["D", "A"], "desc": [True, False]},
     "Sort Managers by column D (descending), then column A (ascending)"),
    ({"action": "filter", "sheet": "Sales", "column": "A", "value": "North"},
     "Filter Sales to rows where column A is 'North'"),
    ({"action": "summary", "sheet": "Sales", "rows": ["Region"], "values": ["Units"]},
     "Summarise Units (sum) by Region on sheet Summary"),
    ({"action": "dedupe", "sheet": "Sales", "columns": ["A", "Product"]},
     "Remove duplicate rows from Sales, comparing column A and Product"),
    ({"action": "insert_cols", "at": "Units", "count": 2}, "Insert 2 columns before column Units on the active sheet"),
    ({"action": "write", "sheet": "Q1 Data", "range": "B2", "values": 3.5}, "Write 3.5 in 'Q1 Data'!B2"),
])
def test_without_a_workbook_lines_keep_to_what_the_action_says(action: dict[str, Any], line: str) -> None:
    assert describe_action(action) == line


@pytest.mark.parametrize(("by", "desc", "words"), [
    ("Hire Date", False, "oldest first"), ("Hire Date", True, "newest first"),
    ("Salary", False, "smallest first"), ("Salary", True, "largest first"),
    ("Name", False, "A to Z"), ("Name", True, "Z to A"),
])
def test_sort_direction_words_follow_the_data(workbook: openpyxl.Workbook, by: str, desc: bool, words: str) -> None:
    line = describe_action({"action": "sort", "sheet": "Managers", "by": [by], "desc": desc}, workbook)
    assert line == f"Sort Managers!A1:D13 by {by}, {words}"


def test_header_found_below_a_title_row_names_letters(workbook: openpyxl.Workbook) -> None:
    sheet = "Q1 Report"
    assert describe_action({"action": "sort", "sheet": sheet, "by": ["B"], "desc": True}, workbook) == \
        "Sort 'Q1 Report'!A3:C6 by Score (column B), largest first"
    assert describe_action({"action": "sort", "sheet": sheet, "by": ["C"]}, workbook) == \
        "Sort 'Q1 Report'!A3:C6 by Updated (column C), oldest first"
    assert describe_action({"action": "filter", "sheet": sheet, "column": "A", "op": "ne", "value": "Red"},
                           workbook) == "Filter 'Q1 Report'!A3:C6 to rows where Team (column A) is not 'Red'"
    assert describe_action({"action": "summary", "sheet": sheet, "rows": ["A"], "values": ["B"], "func": "max"},
                           workbook) == "Summarise Score (column B, max) by Team (column A) on a new sheet Summary"


def test_a_column_of_formulas_gives_plain_direction_words(workbook: openpyxl.Workbook) -> None:
    line = describe_action({"action": "sort", "sheet": "Q1 Report", "range": "A3:D6", "by": ["D"]}, workbook)
    assert line == "Sort 'Q1 Report'!A3:D6 by column D, ascending"


@pytest.mark.parametrize(("action", "line"), [
    ({"action": "write", "sheet": "Sales", "range": "A1"}, "write on Sales!A1"),
    ({"action": "sort"}, "sort on the active sheet"),
    ({"action": "chart", "sheet": "Sales", "data": 5}, "chart on Sales!5"),
    ({"action": "teleport", "cell": "B2"}, "teleport on B2"),
    ({}, "unknown action on the active sheet"),
    ("sort everything", "unreadable action"),
])
def test_malformed_actions_get_a_generic_line(workbook: openpyxl.Workbook, action: Any, line: str) -> None:
    assert describe_action(action, workbook) == line
    assert describe_action(action) == line


def test_actions_on_missing_sheets_or_columns_still_read(workbook: openpyxl.Workbook) -> None:
    assert describe_action({"action": "sort", "sheet": "Later", "by": ["Total"], "desc": True}, workbook) == \
        "Sort Later by Total, descending"
    assert describe_action({"action": "sort", "sheet": "Sales", "by": ["Nope"]}, workbook) == \
        "Sort Sales!A1:D7 by Nope, ascending"


def test_long_text_is_quoted_and_shortened(workbook: openpyxl.Workbook) -> None:
    note = "A very long note " * 20
    line = describe_action({"action": "write", "sheet": "Sales", "range": "F2", "values": note}, workbook)
    assert line.startswith("Write 'A very long note") and "…'" in line and len(line) <= MAX_LINE
    line = describe_action({"action": "find_replace", "sheet": "Sales", "find": note, "replace": note}, workbook)
    assert len(line) <= MAX_LINE and line.count("…'") == 2
    many = [f"Revenue of product line {i}" for i in range(10)]
    line = describe_action({"action": "summary", "rows": ["Region"], "values": many})
    assert len(line) == MAX_LINE and line.startswith("Summarise Revenue of product line 0 (sum)") and line.endswith("…")


def test_describing_leaves_the_workbook_as_it_was(workbook: openpyxl.Workbook) -> None:
    before = {ws.title: {k: c.value for k, c in ws._cells.items()} for ws in workbook.worksheets}
    describe_actions([action for action, _ in CASES], workbook)
    assert {ws.title: {k: c.value for k, c in ws._cells.items()} for ws in workbook.worksheets} == before
    assert workbook.sheetnames == ["Sales", "Managers", "Q1 Report"]
    workbook["Sales"].append(["West", "Fig", 1, 1.0])  # appends still land below the data
    assert workbook["Sales"]["A8"].value == "West"


def test_action_models_are_described_too(workbook: openpyxl.Workbook) -> None:
    action = Sort(action="sort", sheet="Managers", by=["Salary"], desc=True)
    assert describe_action(action, workbook) == "Sort Managers!A1:D13 by Salary, largest first"

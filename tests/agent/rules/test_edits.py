"""Edit checks (agent/rules/edits.py), table-driven: a drafted edit is taken back with a hint,
ends the run as the answer, or passes; an answer to an edit request is sent back while the edit
is missing or incomplete. The read-backs are the tool's own ``Readback`` values; how the sheet
tool fills them from a real workbook is tested in tests/tools/test_sheet_readback.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rule_cases import Case, answer, ask, assert_verdict, fired_ids, like, params, state

from agent.edit_intent import read_intent
from agent.rules.base import Accept, Drafted, Seen, SendBack
from tools.sheet.readback import Readback, SortRead

OLDEST = "Sort the staff by Hire Date, oldest first"
NEWEST = "Sort the staff by Hire Date, newest first"
BAR = "Add a bar chart of revenue by region on a new sheet"
COLUMN = 'In a new column named "Profit", compute Revenue minus Cost'
QUESTION = "What is the total revenue?"


def sorted_by(first: Any, last: Any, ascending: bool | None, kind: str = "date",
              desc: bool = False) -> SortRead:
    return SortRead("Staff", "A1:D13", "C", "Hire Date", desc, first, last, kind, ascending)


def drafted(*actions: str, readback: Readback | None = None,
            summaries: tuple[str, ...] = ("an edit",)) -> Drafted:
    back = readback if readback is not None else Readback(changed=3)
    return Drafted(tuple({"action": a} for a in actions), summaries, back)


def edit_seen(edit: Drafted) -> Seen:
    return Seen("sheet", True, input={"actions": list(edit.actions)}, output="saved version 1",
                edit=edit)


def asked(request: str, **kw: Any) -> Any:
    return state(request, tools=("sql", "python", "sheet"), intent=read_intent(request), **kw)


D1, D2 = dt.datetime(2015, 3, 2), dt.datetime(2024, 11, 18)
ASC_SORT = drafted("sort", readback=Readback(changed=24, sorts=[sorted_by(D1, D2, True)]))
DESC_SORT = drafted("sort", readback=Readback(changed=24, sorts=[
    sorted_by(D2, D1, False, desc=True)]))
TEXT_DATES = drafted("sort", readback=Readback(changed=24, sorts=[
    sorted_by("01/02/2020", "31/01/2019", True, kind="date text")]))
NOTHING = drafted("format", readback=Readback(changed=0))
ERRORS = drafted("write", "formula", readback=Readback(
    changed=41, errors=[("Sheet1!E2", "#NAME?", "=Revenue-Cost")], texts_written=["Profit"]))
PROFIT = drafted("write", "formula", readback=Readback(changed=41, texts_written=["Profit"]),
                 summaries=("Write 'Profit' in Sheet1!E1", "Fill Sheet1!E2:E41 with =C2-D2"))
NO_HEADER = drafted("formula", readback=Readback(changed=40))
LINE = drafted("add_sheet", "chart", readback=Readback(
    changed=1, sheets_before=["Sales"], sheets_after=["Sales", "Chart"],
    charts=[{"type": "line", "sheet": "Chart", "data": "Sales!B1:B6", "series": 1}]))
COLUMN_CHART = drafted("add_sheet", "chart", readback=Readback(
    changed=1, sheets_before=["Sales"], sheets_after=["Sales", "Chart"],
    charts=[{"type": "column", "sheet": "Chart", "data": "Sales!B1:B6", "series": 1}]),
    summaries=("Add sheet Chart", "Add a column chart on Chart"))
OFF_BY_ONE = drafted("write", "formula", readback=Readback(changed=18, texts_written=["Total"], misplaced=[
    ("header 'Total'", "Orders!G1 (above the header row 2)", "Orders!G2"),
    ("formula =D2*E2", "Orders!G2:G10 (row 2 is the header row)", "Orders!G3:G10 as =D3*E3")]))
AS_TEXT = drafted("write", readback=Readback(changed=120, formulas_as_text=[
    ("Sheet1!B3:B122", "=B2*0.75")]))
CHART_SAME_SHEET = drafted("chart", readback=Readback(
    changed=1, sheets_before=["Sales"], sheets_after=["Sales"],
    charts=[{"type": "bar", "sheet": "Sales", "data": "Sales!B1:B6", "series": 1}]))

CASES = [
    # edit-changed-nothing
    Case("nothing/no-change", "edit-changed-nothing", asked(OLDEST), NOTHING,
         like(SendBack, "changed nothing")),
    Case("nothing/cells-changed", "edit-changed-nothing", asked(OLDEST), ASC_SORT, None),
    Case("nothing/sheet-added", "edit-changed-nothing", asked(BAR), drafted("add_sheet", readback=Readback(
        changed=0, sheets_before=["Sales"], sheets_after=["Sales", "Chart"])), None),
    Case("nothing/an-answer", "edit-changed-nothing", asked(OLDEST), answer("done"), None),
    # edit-header-row
    Case("header/title-row-and-header-row", "edit-header-row", asked(COLUMN), OFF_BY_ONE,
         like(SendBack, "put it in Orders!G2", "Orders!G3:G10 as =D3*E3")),
    Case("header/in-place", "edit-header-row", asked(COLUMN), PROFIT, None),
    Case("header/an-answer", "edit-header-row", asked(COLUMN), answer("done"), None),
    # edit-formula-as-text
    Case("astextformula/write-of-a-formula", "edit-formula-as-text", asked(COLUMN), AS_TEXT,
         like(SendBack, "Sheet1!B3:B122", "'=B2*0.75'", '"action": "fill"',
              '{"action": "formula", "sheet": "Sheet1", "range": "B3:B122", "formula": "=B2*0.75"}')),
    Case("astextformula/real-formula", "edit-formula-as-text", asked(COLUMN), PROFIT, None),
    Case("astextformula/an-answer", "edit-formula-as-text", asked(COLUMN), answer("done"),
         None),
    Case("astextformula/text-asked-for", "edit-formula-as-text",
         asked("Write these notes in column A"), AS_TEXT, None),
    # edit-error-values
    Case("errors/name-error", "edit-error-values", asked(COLUMN), ERRORS,
         like(SendBack, "Sheet1!E2 = #NAME?", "=Revenue-Cost")),
    Case("errors/clean", "edit-error-values", asked(COLUMN), PROFIT, None),
    Case("errors/an-answer", "edit-error-values", asked(COLUMN), answer("done"), None),
    # edit-sort-direction
    Case("sort/newest-when-oldest-asked", "edit-sort-direction", asked(OLDEST), DESC_SORT,
         like(SendBack, "ascending", '"desc": false', "2024-11-18")),
    Case("sort/oldest-when-newest-asked", "edit-sort-direction", asked(NEWEST), ASC_SORT,
         like(SendBack, "descending", '"desc": true')),
    Case("sort/right-way", "edit-sort-direction", asked(OLDEST), ASC_SORT, None),
    Case("sort/no-direction-said", "edit-sort-direction", asked("Sort the staff by Hire Date"),
         DESC_SORT, None),
    Case("sort/text-dates-left-to-other-rule", "edit-sort-direction", asked(NEWEST), TEXT_DATES,
         None),
    # edit-sort-as-text
    Case("astext/date-text-key", "edit-sort-as-text", asked(OLDEST), TEXT_DATES,
         like(SendBack, "stored as text", '"to": "date"')),
    Case("astext/real-dates", "edit-sort-as-text", asked(OLDEST), ASC_SORT, None),
    Case("astext/converted-in-the-same-call", "edit-sort-as-text", asked(OLDEST),
         drafted("convert", "sort", readback=TEXT_DATES.readback), None),
    # edit-chart-type
    Case("chart/line-for-bar", "edit-chart-type", asked(BAR), LINE,
         like(SendBack, "line chart", '"type": "bar"')),
    Case("chart/column-counts-as-bar", "edit-chart-type", asked(BAR), COLUMN_CHART, None),
    Case("chart/no-type-named", "edit-chart-type", asked("Add a chart of revenue by region"),
         LINE, None),
    # edit-not-made
    Case("notmade/answer-without-edit", "edit-not-made", asked(OLDEST), answer("done"),
         like(SendBack, "nothing was changed")),
    Case("notmade/after-an-edit", "edit-not-made", asked(OLDEST, seen=[edit_seen(ASC_SORT)]),
         answer("done"), None),
    Case("notmade/a-question", "edit-not-made", asked(QUESTION), answer("42"), None),
    Case("notmade/no-sheet-tool", "edit-not-made",
         state(OLDEST, intent=read_intent(OLDEST)), answer("done"), None),
    # edit-covers-request
    Case("covers/column-header-missing", "edit-covers-request",
         asked(COLUMN, seen=[edit_seen(NO_HEADER)]), answer("done"),
         like(SendBack, 'new column "Profit"')),
    Case("covers/new-sheet-missing", "edit-covers-request",
         asked(BAR, seen=[edit_seen(CHART_SAME_SHEET)]), answer("done"),
         like(SendBack, "new sheet")),
    Case("covers/all-there", "edit-covers-request", asked(COLUMN, seen=[edit_seen(PROFIT)]),
         answer("done"), None),
    Case("covers/no-edit-yet", "edit-covers-request", asked(COLUMN), answer("done"), None),
    # edit-done-when-covered
    Case("done/sort-made", "edit-done-when-covered", asked(OLDEST), ASC_SORT,
         like(Accept, "an edit")),
    Case("done/column-and-formula", "edit-done-when-covered", asked(COLUMN), PROFIT,
         like(Accept, "Write 'Profit'", "Fill Sheet1!E2:E41")),
    Case("done/chart-on-new-sheet", "edit-done-when-covered", asked(BAR), COLUMN_CHART,
         like(Accept, "Add sheet Chart")),
    Case("done/sheet-missing", "edit-done-when-covered", asked(BAR), CHART_SAME_SHEET, None),
    Case("done/header-missing", "edit-done-when-covered", asked(COLUMN), NO_HEADER, None),
    Case("done/a-question", "edit-done-when-covered", asked(QUESTION), ASC_SORT, None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_edit_rule(case: Case) -> None:
    assert_verdict(ask(case), case.expected)

"""Hand-written sheet-tool action sequences solve SheetCopilot tasks of every category.

Each sequence is what a planner would send for the task's instruction; the result workbook is
checked with the benchmark scorer against the task's reference solutions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.sheetcopilot import check_task, default_data_dir, load_tasks
from table_io.versions import VersionStore
from tools.sheet import SheetTool

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "dataset.xlsx").exists(), reason="SheetCopilot data not present")

SOLUTIONS: dict[str, list[dict[str, Any]]] = {
    # Manage: freeze panes
    "8_IncomeStatement2": [{"action": "freeze", "sheet": "Sheet1", "cell": "A2"}],
    # Manage: sort
    "4_DemographicProfile": [{"action": "sort", "sheet": "Sheet1", "by": ["Sex"]}],
    # Manage: filter
    "5_DemographicProfile": [{"action": "filter", "sheet": "Sheet1", "column": "Highest Educational Attainment",
                              "op": "eq", "value": "Senior High School"}],
    # Formatting: conditional format with a formula
    "6_Invoices": [{"action": "cond_format", "sheet": "Sheet1", "range": "G2:G19", "rule": "formula",
                    "formula": "=$G2>AVERAGE($G$2:$G$19)", "fill": "red"}],
    # Formula + entry: a computed column
    "3_WeeklySales": [{"action": "write", "sheet": "Sheet1", "range": "D1", "values": "Profit"},
                      {"action": "formula", "sheet": "Sheet1", "range": "D2:D11", "formula": "=B2-C2"}],
    # Entry: hyperlinks to files
    "7_IncomeStatement2": [{"action": "link", "sheet": "Sheet1", "cell": "A1", "url": "Year.pdf"},
                           {"action": "link", "sheet": "Sheet1", "cell": "B1", "url": "Sales.pdf"},
                           {"action": "link", "sheet": "Sheet1", "cell": "C1", "url": "Sales Return.pdf"}],
    # Pivot table: sum by year in a new first sheet
    "4_IncomeStatement": [{"action": "summary", "sheet": "Sheet1", "rows": ["Year"], "values": ["Operating Expenses"],
                           "func": "sum", "to_sheet": "Sheet2", "index": 0}],
    # Pivot table: counts
    "3_BoomerangSales": [{"action": "summary", "sheet": "Sheet1", "rows": ["Product"], "values": ["Product"],
                          "func": "count", "to_sheet": "Sheet2", "index": 0}],
    # Formula + chart with title and data labels
    "12_WeeklySales": [{"action": "write", "sheet": "Sheet1", "range": "D1", "values": "Profit"},
                       {"action": "formula", "sheet": "Sheet1", "range": "D2:D11", "formula": "=B2-C2"},
                       {"action": "chart", "sheet": "Sheet1", "type": "column", "data": "D1:D11",
                        "labels": "A2:A11", "title": "Sales Trend", "data_labels": True}],
    # Formatting: number format
    "2_StockChange": [{"action": "format", "sheet": "Sheet1", "range": "B2:C13", "num": "currency"}],
    # Entry: copy a column to a new sheet
    "4_SalesRep": [{"action": "add_sheet", "name": "Sheet2", "index": 0},
                   {"action": "copy", "sheet": "Sheet1", "source": "A1:A11", "target": "A1", "to_sheet": "Sheet2"}],
    # Entry + merge cells in a new sheet
    "5_FutureValue": [{"action": "add_sheet", "name": "Sheet2", "index": 0},
                      {"action": "write", "sheet": "Sheet2", "range": "A1", "values": "Investment Summary"},
                      {"action": "merge", "sheet": "Sheet2", "range": "A1:C1"},
                      {"action": "write", "sheet": "Sheet2", "range": "A2", "values": "High Interest Rate"},
                      {"action": "merge", "sheet": "Sheet2", "range": "A2:B2"},
                      {"action": "write", "sheet": "Sheet2", "range": "C2", "values": "Low Interest Rate"},
                      {"action": "merge", "sheet": "Sheet2", "range": "C2:D2"}],
    # Formula + pivot + pivot chart: revenue column, counts by website, bar chart without legend
    "1_BoomerangSales": [
        {"action": "write", "sheet": "Sheet1", "range": "G1", "values": "Revenue"},
        {"action": "formula", "sheet": "Sheet1", "range": "G2:G36",
         "formula": "=VLOOKUP(C2,'Retail Price'!$A$2:$B$23,2,FALSE)*E2*(1-F2)"},
        {"action": "summary", "sheet": "Sheet1", "rows": ["Web Site"], "values": ["Web Site"], "func": "count",
         "to_sheet": "Sheet2", "index": 0},
        {"action": "chart", "sheet": "Sheet2", "type": "bar", "data": "B1:B5", "labels": "A2:A5",
         "title": "Sales frequency by website", "legend": "none"}],
    # Pivot + chart with legend on the left and data labels
    "6_DemographicProfile": [
        {"action": "summary", "sheet": "Sheet1", "rows": ["Highest Educational Attainment"],
         "values": ["Highest Educational Attainment"], "func": "count", "to_sheet": "Sheet2", "index": 0},
        {"action": "chart", "sheet": "Sheet2", "type": "bar", "data": "B1:B4", "labels": "A2:A4",
         "title": "HEA statistics", "legend": "left", "data_labels": True}],
    # Scatter chart with axis titles and a linear trendline
    "1_VelocityDisplacement": [{"action": "chart", "sheet": "Sheet1", "type": "scatter", "data": "A1:B21",
                                "x_title": "Displacement m", "y_title": "Velocity m/s", "trendline": "linear"}],
    # Insert a column (formatted like its left neighbour), a TEXT formula, then a summary by month
    "9_BoomerangSales": [
        {"action": "insert_cols", "sheet": "Sheet1", "at": "B"},
        {"action": "write", "sheet": "Sheet1", "range": "B1", "values": "Month"},
        {"action": "formula", "sheet": "Sheet1", "range": "B2:B36", "formula": '=TEXT(A2,"mm")'},
        {"action": "summary", "sheet": "Sheet1", "rows": ["Month"], "values": ["Quantity"], "to_sheet": "Sheet2",
         "index": 0}],
}


def test_the_replayed_tasks_cover_every_category() -> None:
    tasks = {t.id: t for t in load_tasks(DATA)}
    categories = {c for task_id in SOLUTIONS for c in tasks[task_id].categories}
    assert {"Entry and manipulation", "Formula", "Formatting", "Management", "Pivot Table", "Charts"} <= categories
    assert len(SOLUTIONS) >= 10


@pytest.mark.parametrize("task_id", sorted(SOLUTIONS))
def test_replayed_actions_pass_the_scorer(task_id: str, tmp_path: Path) -> None:
    task = next(t for t in load_tasks(DATA) if t.id == task_id)
    tool = SheetTool(VersionStore(task.workbook, tmp_path / "versions"))
    result = tool({"actions": SOLUTIONS[task_id]})
    assert result.ok, result.observation
    verdict = check_task(tool.versions.current_path, task_id, data_dir=DATA)
    assert verdict.passed, verdict.reason
    unchanged = check_task(task.workbook, task_id, data_dir=DATA)
    assert not unchanged.passed

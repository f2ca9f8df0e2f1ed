"""Sheet actions with a slip of form are read the one way they can mean and run (the model is
told how); anything that would lose what the model wrote still goes back as an error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest

from table_io.versions import VersionStore
from tools.sheet import SheetTool


@pytest.fixture
def tool(tmp_path: Path) -> SheetTool:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Region", "Units", "Price"])
    for row in [("North", 10, 2.5), ("South", 4, 3.0), ("East", 12, 2.5), ("West", 7, 4.0)]:
        ws.append(list(row))
    path = tmp_path / "sales.xlsx"
    wb.save(path)
    return SheetTool(VersionStore(path, tmp_path / "versions"))


def saved(tool: SheetTool) -> openpyxl.Workbook:
    return openpyxl.load_workbook(tool.versions.current_path)


# each: actions with one slip, and what the saved workbook must show
REPAIRED: list[tuple[str, list[dict[str, Any]], str]] = [
    ("copy fields under other names",
     [{"action": "copy", "sheet": "Sales", "range": "A1:A5", "target_range": "E1"}], "copy"),
    ("the action named under 'type'",
     [{"type": "sort", "sheet": "Sales", "by": ["Units"], "desc": True}], "sort"),
    ("the action name in another case",
     [{"action": "Sort", "sheet": "Sales", "by": "Units", "desc": True}], "sort"),
    ("a name that can only mean one action",
     [{"action": "create_sheet", "name": "Totals"}], "sheet"),
    ("a sort direction in words",
     [{"action": "sort", "sheet": "Sales", "by": ["Units"], "order": "descending"}], "sort"),
]


@pytest.mark.parametrize(("label", "actions", "kind"), REPAIRED, ids=[r[0] for r in REPAIRED])
def test_a_slip_of_form_is_repaired_and_said(tool: SheetTool, label: str,
                                             actions: list[dict[str, Any]], kind: str) -> None:
    result = tool({"actions": actions})
    assert result.ok, result.observation
    assert result.read_as and result.observation.startswith("note: action 0")
    assert "read as {" in result.observation
    assert result.ran_with is not None and result.ran_with["actions"] != actions
    ws = saved(tool)
    if kind == "copy":
        assert [ws["Sales"][f"E{r}"].value for r in range(1, 6)] == ["Region", "North", "South", "East", "West"]
    elif kind == "sort":
        assert [ws["Sales"][f"B{r}"].value for r in range(2, 6)] == [12, 10, 7, 4]
    else:
        assert "Totals" in ws.sheetnames


def test_format_fields_on_a_write_become_a_format_action_on_the_same_range(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "write", "sheet": "Sales", "range": "D1", "values": "Total",
                                "bold": True, "fill_color": "FFFF00", "font_color": "FFFFFF"}]})
    assert result.ok, result.observation
    assert "carried format fields (bold, fill_color, font_color)" in result.observation
    assert result.ran_with is not None
    assert [a["action"] for a in result.ran_with["actions"]] == ["write", "format"]
    cell = saved(tool)["Sales"]["D1"]
    assert cell.value == "Total" and cell.font.b
    assert cell.fill.fgColor.rgb.endswith("FFFF00") and cell.font.color.rgb.endswith("FFFFFF")


@pytest.mark.parametrize(("given", "trendline"), [(True, "linear"), ("on", "linear"), (False, None),
                                                  ("off", None)])
def test_a_trendline_switched_on_or_off_with_a_flag(tool: SheetTool, given: Any,
                                                    trendline: str | None) -> None:
    result = tool({"actions": [{"action": "chart", "sheet": "Sales", "type": "scatter", "data": "C1:C5",
                                "labels": "B2:B5", "trendline": given}]})
    assert result.ok, result.observation
    chart = saved(tool)["Sales"]._charts[0]
    line = chart.series[0].trendline
    assert (line.trendlineType if line is not None else None) == {"linear": "linear", None: None}[trendline]


REFUSED: list[tuple[str, list[dict[str, Any]]]] = [
    ("a field with content that neither write nor format has",
     [{"action": "write", "sheet": "Sales", "range": "D1", "values": "Flag", "priority": "high"}]),
    ("a formula given to write",
     [{"action": "write", "sheet": "Sales", "range": "D2", "formula": "=B2*C2"}]),
    ("a missing required field",
     [{"action": "sort", "sheet": "Sales", "desc": True}]),
    ("a name with two meanings ('delete' clears or removes rows)",
     [{"action": "delete", "sheet": "Sales", "range": "A2:C2"}]),
    ("a choice that is nothing like any option",
     [{"action": "chart", "sheet": "Sales", "type": "radar-spiderweb", "data": "B1:B5"}]),
]


@pytest.mark.parametrize(("label", "actions"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_repair_that_would_lose_or_guess_goes_back(tool: SheetTool, label: str,
                                                     actions: list[dict[str, Any]]) -> None:
    result = tool({"actions": actions})
    assert not result.ok and result.error is not None and result.error.kind == "arguments"
    assert not result.read_as and result.ran_with is None
    assert len(tool.versions.versions) == 1  # nothing saved


def test_one_unrepairable_action_sends_the_whole_batch_back(tool: SheetTool) -> None:
    result = tool({"actions": [
        {"action": "copy", "sheet": "Sales", "range": "A1:A5", "target_range": "E1"},  # repairable
        {"action": "write", "sheet": "Sales", "range": "D1", "values": "x", "priority": 2},  # not
    ]})
    assert not result.ok
    assert "action 0 (copy)" in result.observation and "action 1 (write)" in result.observation
    assert len(tool.versions.versions) == 1

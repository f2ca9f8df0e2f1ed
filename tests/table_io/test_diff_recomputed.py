"""Formula values tablepilot computed for the first time are told apart from what an edit changed.

openpyxl saves formulas without a cached result, so a workbook it wrote has none; after any edit
the new version is recalculated and those formulas get values. The diff marks them recomputed.
"""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from table_io.diff import CellChange, diff_files, read_cached_values, split_recomputed, summarize
from table_io.versions import VersionStore
from tools.payloads import cell_changes
from tools.sheet import SheetTool


@pytest.fixture
def tool(tmp_path: Path) -> SheetTool:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Region", "Units", "Price", "Revenue"])
    for i, (region, units, price) in enumerate([("North", 10, 2.5), ("South", 4, 3.0), ("East", 12, 2.0)], 2):
        ws.append([region, units, price, f"=B{i}*C{i}"])
    ws["D5"] = "=SUM(D2:D4)"
    ws["E1"], ws["E2"] = "Bonus", '=IF(F2="","",F2*2)'  # empty text until F2 is filled
    path = tmp_path / "sales.xlsx"
    wb.save(path)  # openpyxl: no cached results for D2:D5
    return SheetTool(VersionStore(path, tmp_path / "versions"))


def edit(tool: SheetTool, *actions: dict[str, object]) -> list[CellChange]:
    result = tool({"actions": list(actions)})
    assert result.ok, result.observation
    changes = cell_changes(result)
    assert changes is not None
    return changes


def by_cell(changes: list[CellChange], kind: str = "value") -> dict[str, CellChange]:
    return {c.cell: c for c in changes if c.kind == kind}


def test_formulas_without_saved_results_come_back_recomputed(tool: SheetTool) -> None:
    changes = edit(tool, {"action": "write", "sheet": "Sales", "range": "F1", "values": "Notes"})
    values = by_cell(changes)
    assert {ref for ref, c in values.items() if c.recomputed} == {"D2", "D3", "D4", "D5"}
    assert "E2" not in values  # its result is empty text, as empty as no result
    assert values["D5"].before is None and values["D5"].after == pytest.approx(61.0)
    assert values["F1"].recomputed is False and values["F1"].after == "Notes"
    assert not any(c.recomputed for c in changes if c.kind != "value")


def test_an_edit_that_changes_an_input_is_not_recomputed_once_results_are_saved(tool: SheetTool) -> None:
    edit(tool, {"action": "write", "sheet": "Sales", "range": "F1", "values": "Notes"})  # version 1 has results
    values = by_cell(edit(tool, {"action": "write", "sheet": "Sales", "range": "B2", "values": 20}))
    assert values["D2"].before == pytest.approx(25.0) and values["D2"].after == pytest.approx(50.0)
    assert not any(c.recomputed for c in values.values())


def test_an_empty_text_result_that_the_edit_fills_is_an_edit(tool: SheetTool) -> None:
    edit(tool, {"action": "write", "sheet": "Sales", "range": "G1", "values": "Notes"})  # saves E2 = ""
    values = by_cell(edit(tool, {"action": "write", "sheet": "Sales", "range": "F2", "values": 4}))
    assert values["E2"].before is None and values["E2"].after == 8
    assert values["E2"].recomputed is False and values["F2"].recomputed is False


def test_a_changed_formula_is_an_edit_even_without_a_saved_result(tool: SheetTool) -> None:
    changes = edit(tool, {"action": "formula", "sheet": "Sales", "range": "D2", "formula": "=B2*C2*2"})
    assert by_cell(changes, "formula")["D2"].after == "=B2*C2*2"
    values = by_cell(changes)
    assert values["D2"].recomputed is False
    assert values["D3"].recomputed is True


def test_summary_counts_recomputed_values_on_their_own_line(tool: SheetTool) -> None:
    changes = edit(tool, {"action": "write", "sheet": "Sales", "range": "G1", "values": "Notes"})
    edits, recomputed = split_recomputed(changes)
    assert [c.cell for c in recomputed] == ["D2", "D3", "D4", "D5"]
    assert all(not c.recomputed for c in edits) and "G1" in {c.cell for c in edits}
    text = summarize(changes)
    assert "4 values recomputed for formulas the file had no saved result for" in text
    assert "D5" not in text and "Sales!G1 value: empty -> 'Notes'" in text
    result = tool({"actions": [{"action": "write", "sheet": "Sales", "range": "H1", "values": "x"}]})
    assert "recomputed" not in result.observation.splitlines()[1]  # version 1 saved every result


def test_only_recomputed_values_read_as_no_changes_plus_the_count() -> None:
    changes = [CellChange("S", "A1", "value", None, 3, recomputed=True)]
    assert summarize(changes) == "no changes\n1 value recomputed for formulas the file had no saved result for"


def test_change_record_keeps_its_shape(tool: SheetTool) -> None:
    change = CellChange("Sales", "D2", "value", None, 25.0, recomputed=True)
    assert change.to_dict() == {"sheet": "Sales", "cell": "D2", "kind": "value", "before": None,
                                "after": 25.0, "recomputed": True}
    assert change.describe() == "Sales!D2 value: empty -> 25.0 (recomputed)"
    assert CellChange("Sales", "D2", "value", 1, 2).describe() == "Sales!D2 value: 1 -> 2"
    with pytest.raises(AttributeError):
        change.recomputed = False  # type: ignore[misc]


def test_version_diff_between_files_marks_recomputed_too(tool: SheetTool) -> None:
    edit(tool, {"action": "write", "sheet": "Sales", "range": "F1", "values": "Notes"})
    changes = diff_files(tool.versions.path_of(0), tool.versions.path_of(1))
    assert {c.cell for c in changes if c.recomputed} == {"D2", "D3", "D4", "D5"}
    assert by_cell(changes)["F1"].recomputed is False


def test_cached_values_know_which_formulas_had_no_result(tool: SheetTool) -> None:
    before = read_cached_values(tool.versions.path_of(0))
    assert before.unsaved("Sales") == frozenset({(2, 4), (3, 4), (4, 4), (5, 4), (2, 5)})
    edit(tool, {"action": "write", "sheet": "Sales", "range": "F1", "values": "Notes"})
    assert read_cached_values(tool.versions.current_path).unsaved("Sales") == frozenset()

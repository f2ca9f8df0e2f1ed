"""What an action does not touch survives the load-apply-save round trip; bad batches change nothing."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import openpyxl
import pytest
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.drawing.image import Image
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from PIL import Image as PILImage

from table_io.versions import VersionStore
from tools.sheet import SheetTool


def rich_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws.append(["Item", "Qty", "Price", "Total"])
    for i in range(2, 12):
        ws.append([f"item {i}", i, i * 2.5, f"=B{i}*C{i}"])
    ws["A1"].font = Font(bold=True, color="FF0000", name="Arial", size=12)
    ws["B1"].fill = PatternFill("solid", fgColor="FFFF00")
    ws["C2"].number_format = "0.00"
    ws["D1"].border = Border(bottom=Side(style="thick"))
    ws.merge_cells("F1:H1")
    ws["F1"] = "merged title"
    wb.defined_names["Quantities"] = DefinedName("Quantities", attr_text="Report!$B$2:$B$11")
    ws.conditional_formatting.add("B2:B11", CellIsRule(operator="greaterThan", formula=["5"],
                                                       fill=PatternFill(bgColor="FFC7CE")))
    dv = DataValidation(type="list", formula1='"a,b,c"')
    dv.add("E2:E11")
    ws.add_data_validation(dv)
    ws["A2"].comment = Comment("check this", "auditor")
    ws["A3"].hyperlink = "https://example.com/item3"
    ws.freeze_panes = "B2"
    ws.column_dimensions["A"].width = 22
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=11), titles_from_data=True)
    ws.add_chart(chart, "J2")
    png = io.BytesIO()
    PILImage.new("RGB", (8, 8), "blue").save(png, format="PNG")
    ws.add_image(Image(png), "J20")
    wb.create_sheet("Other")["A1"] = "other"
    wb.save(path)
    return path


@pytest.fixture
def tool(tmp_path: Path) -> SheetTool:
    return SheetTool(VersionStore(rich_workbook(tmp_path / "rich.xlsx"), tmp_path / "versions"))


def test_untouched_content_survives_an_edit(tool: SheetTool) -> None:
    result = tool({"actions": [{"action": "write", "sheet": "Other", "range": "B2", "values": 5},
                               {"action": "format", "sheet": "Report", "range": "A12", "bold": True}]})
    assert result.ok, result.observation
    wb = openpyxl.load_workbook(tool.versions.current_path)
    ws = wb["Report"]
    assert ws["A1"].font.b and ws["A1"].font.color.rgb == "00FF0000" and ws["A1"].font.name == "Arial"
    assert ws["B1"].fill.fgColor.rgb == "00FFFF00" and ws["C2"].number_format == "0.00"
    assert ws["D1"].border.bottom.style == "thick"
    assert ws["D5"].value == "=B5*C5"
    assert [str(m) for m in ws.merged_cells.ranges] == ["F1:H1"]
    assert wb.defined_names["Quantities"].attr_text == "Report!$B$2:$B$11"
    assert [(str(r.sqref), rule.operator) for r in ws.conditional_formatting for rule in r.rules] == [
        ("B2:B11", "greaterThan")]
    assert [(str(v.sqref), v.formula1) for v in ws.data_validations.dataValidation] == [("E2:E11", '"a,b,c"')]
    assert ws["A2"].comment.text == "check this"
    assert ws["A3"].hyperlink.target == "https://example.com/item3"
    assert ws.freeze_panes == "B2" and ws.column_dimensions["A"].width == 22
    assert len(ws._charts) == 1 and len(ws._images) == 1
    assert wb["Other"]["B2"].value == 5
    cached = openpyxl.load_workbook(tool.versions.current_path, data_only=True)["Report"]
    assert cached["D5"].value == 5 * 12.5  # formulas recalculated on save


def test_undo_after_an_edit_restores_identical_bytes(tool: SheetTool) -> None:
    before = hashlib.sha256(tool.versions.current_path.read_bytes()).hexdigest()
    assert tool({"actions": [{"action": "write", "sheet": "Report", "range": "A2", "values": "x"}]}).ok
    tool.versions.undo()
    assert hashlib.sha256(tool.versions.current_path.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(("action", "message"), [
    ({"action": "write", "sheet": "Reprot", "range": "A1", "values": 1}, "did you mean 'Report'"),
    ({"action": "sort", "sheet": "Report", "by": ["Quantity"]}, "no column 'Quantity'"),
    ({"action": "format", "sheet": "Report", "range": "A1:ZZZZ9", "bold": True}, "not a range"),
    ({"action": "formula", "sheet": "Report", "range": "E2", "formula": "=Sheet9!A1"}, "no sheet named 'Sheet9'"),
    ({"action": "chart", "sheet": "Report", "type": "line", "data": "M50:M60"}, "outside the data"),
    ({"action": "add_sheet", "name": "other"}, "already exists"),
    ({"action": "unmerge", "sheet": "Report", "range": "A1"}, "no merged cells"),
    ({"action": "format", "sheet": "Report", "range": "A1", "fill": "sparkly"}, "unknown colour"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": "javascript:alert(1)"}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": 'file:///etc/passwd'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": r'\\attacker\share\x.xlsx'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": r'C:\Windows\x.exe'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": '/etc/passwd'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": '../../secret.xlsx'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": 'docs/../../x.pdf'}, "not allowed"),
    ({"action": "link", "sheet": "Report", "cell": "A1", "url": 'smb://host/share'}, "not allowed"),
    ({"action": "summary", "sheet": "Report", "rows": ["Item"], "values": ["Item"], "func": "sum"}, "no numbers"),
    ({"action": "delete_rows", "sheet": "Report", "at": 500}, "has rows 1..11"),
    ({"action": "explode", "sheet": "Report"}, "unknown action 'explode'"),
    ({"action": "write", "sheet": "Report", "range": "G1", "values": "x"}, "overlaps the merged cells F1:H1"),
])
def test_a_bad_action_fails_the_whole_batch_and_changes_nothing(tool: SheetTool, action: dict, message: str) -> None:
    before = tool.versions.current_path.read_bytes()
    good = {"action": "write", "sheet": "Report", "range": "A2", "values": "changed"}
    result = tool({"actions": [good, action]})
    assert not result.ok
    assert message in result.observation, result.observation
    assert tool.versions.version == 0 and len(tool.versions.versions) == 1
    assert tool.versions.current_path.read_bytes() == before


def test_schema_is_small_and_docstring_lists_every_action() -> None:
    import json

    from tools.sheet import ACTION_NAMES

    assert len(json.dumps(SheetTool.parameters())) < 1500
    doc = SheetTool.description()
    assert len(doc) < 3000
    for name in ACTION_NAMES:
        assert name in doc


def test_langchain_tool_uses_the_small_schema_and_validates(tool: SheetTool) -> None:
    import json

    lc = tool.as_langchain()
    assert lc.name == "sheet" and len(json.dumps(lc.args)) < 600
    out = lc.invoke({"actions": [{"action": "write", "sheet": "Report", "range": "A2", "values": "lc"}]})
    assert "saved version 1" in out
    bad = lc.invoke({"actions": [{"action": "write", "sheet": "Report"}]})
    assert "'range' is missing" in bad and '"range": "H1"' in bad  # the fix, with an example

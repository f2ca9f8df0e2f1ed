"""agent.toolkits (agent.toolkit(...)): tablepilot's tools as LangChain tools over one versioned workbook, and inside
a LangGraph agent (the only double: ScriptedChatModel at the model boundary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import openpyxl
import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool

from agent import toolkit
from agent.models.scripted import ScriptedChatModel, tool_call
from agent.toolkits import Toolkit
from agent.toolset import python_available
from table_io import open_workbook
from table_io.describe import describe
from tools.sheet import SheetTool
from tools.sql import SqlTool

HAS_PYTHON = python_available()[0]


def messy_book(folder: Path) -> Path:
    """A title, a two-row merged header, a total row and a hidden sheet."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Report"
    ws["A1"] = "Sales by region"
    rows: list[list[Any]] = [["Region", "Revenue", None], [None, "Q1", "Q2"], ["North", 10, 20], ["South", 30, 40],
            ["East", 5, 6], ["Total", 45, 66]]
    for i, row in enumerate(rows, start=3):
        for j, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(i, j, value)
    ws.merge_cells("B3:C3")
    ws.merge_cells("A3:A4")
    lookup = wb.create_sheet("Lookup")
    lookup.sheet_state = "hidden"
    lookup.append(["code", "name"])
    lookup.append(["N", "North"])
    path = folder / "report.xlsx"
    wb.save(path)
    return path


class Reply(NamedTuple):
    status: str
    content: str


def ask(kit: Toolkit, name: str, args: dict[str, Any]) -> Reply:
    """Call a tool the way an agent framework does (a tool call in, a ToolMessage out)."""
    tool = kit.get(name)
    assert tool is not None, name
    message = tool.invoke({"type": "tool_call", "id": "call_1", "name": name, "args": args})
    assert isinstance(message, ToolMessage) and isinstance(message.content, str)
    return Reply(message.status, message.content)


def test_the_tools_are_tablepilots_own(tmp_path: Path) -> None:
    with toolkit(messy_book(tmp_path), workdir=tmp_path / "w") as kit:
        assert isinstance(kit, Toolkit)
        assert all(isinstance(t, BaseTool) for t in kit) and list(kit) == kit.tools
        expected = ["sql", "python", "sheet", "inspect"] if HAS_PYTHON else ["sql", "sheet", "inspect"]
        assert [t.name for t in kit] == expected
        sql, sheet = kit.get("sql"), kit.get("sheet")
        assert sql is not None and sheet is not None
        assert sql.description == SqlTool.description()
        assert sheet.description == SheetTool.description()
        assert sql.args == {"query": SqlTool.Args.model_json_schema()["properties"]["query"]}
        assert set(sheet.args) == {"actions"}
        assert [s["function"]["name"] for s in kit.specs()] == expected
    with toolkit(messy_book(tmp_path), workdir=tmp_path / "r", python=False, read_only=True) as kit:
        assert kit.names == ["sql", "inspect"]


def test_query_edit_and_every_tool_sees_the_current_version(tmp_path: Path) -> None:
    source = messy_book(tmp_path)
    before = source.read_bytes()
    with toolkit(source, workdir=tmp_path / "w", python=HAS_PYTHON) as kit:
        total = 'SELECT SUM("Revenue Q1") AS q1 FROM report'
        assert "45" in ask(kit, "sql", {"query": total}).content
        edit = ask(kit, "sheet", {"actions": [
            {"action": "write", "sheet": "Report", "range": "B5", "values": 110}]})
        assert edit.status == "success" and "saved version 1" in edit.content
        assert "Report!B5 value: 10 -> 110" in edit.content
        assert "145" in ask(kit, "sql", {"query": total}).content
        if HAS_PYTHON:
            assert "145" in ask(kit, "python", {"code": 'report["Revenue Q1"].sum()'}).content
        assert kit.version == 1 and [v["n"] for v in kit.versions] == [0, 1]
        saved = openpyxl.load_workbook(kit.workbook_path)["Report"]
        assert kit.workbook_path.name == "v0001.xlsx" and saved["B5"].value == 110

        assert kit.undo() == 0
        assert "45" in ask(kit, "sql", {"query": total}).content
        if HAS_PYTHON:
            assert "45" in ask(kit, "python", {"code": 'report["Revenue Q1"].sum()'}).content
        assert kit.redo() == 1
        assert "145" in ask(kit, "sql", {"query": total}).content

        out = kit.save_as(tmp_path / "out" / "edited.xlsx")
        assert openpyxl.load_workbook(out)["Report"]["B5"].value == 110
        with pytest.raises(ValueError, match="original"):
            kit.save_as(source)
        with pytest.raises(ValueError, match="version folder"):
            kit.save_as(tmp_path / "w" / "versions" / "v0000.xlsx")
    assert source.read_bytes() == before
    assert kit.call("sql", {"query": "SELECT 1"}).startswith("ERROR (unavailable): this toolkit "
                                                             "is closed")


def test_failures_come_back_as_observations_with_the_hint(tmp_path: Path) -> None:
    with toolkit(messy_book(tmp_path), workdir=tmp_path / "w", python=False) as kit:
        wrong = ask(kit, "sql", {"query": "SELECT profit FROM report"})
        assert wrong.status == "error" and wrong.content.startswith("ERROR (query)")
        assert "hint:" in wrong.content
        escape = tmp_path / "leak.csv"
        refused = ask(kit, "sql", {"query": f"COPY report TO '{escape}'"})
        assert refused.status == "error" and "hint:" in refused.content and not escape.exists()
        reading = ask(kit, "sql", {"query": "SELECT * FROM read_csv('/etc/passwd')"})
        assert reading.status == "error" and "root:" not in reading.content
        missing = ask(kit, "sql", {})
        assert missing.status == "error"
        assert missing.content.startswith("ERROR (arguments): invalid arguments for sql")
        bad_action = ask(kit, "sheet", {"actions": [{"action": "explode", "range": "A1"}]})
        assert bad_action.status == "error" and "ERROR (arguments)" in bad_action.content
        outside = ask(kit, "sheet", {"actions": [{"action": "formula", "sheet": "Report",
                                                   "range": "D5",
                                                   "formula": "='/etc/[passwd.xlsx]x'!A1"}]})
        assert outside.status == "error" and "hint:" in outside.content
        assert kit.version == 0 and [v["n"] for v in kit.versions] == [0], "nothing was written"
        assert kit.call("nope", {}).startswith("ERROR (arguments): there is no tool 'nope'")
        assert kit.call("sql", "{not json").startswith("ERROR (arguments)")
        assert "45" in kit.call("sql", '{"query": "SELECT SUM(\\"Revenue Q1\\") FROM report"}')


def test_inspect_shows_what_tablepilot_inspect_json_shows(tmp_path: Path) -> None:
    source = messy_book(tmp_path)
    with toolkit(source, workdir=tmp_path / "w", python=False) as kit:
        shown = json.loads(ask(kit, "inspect", {"head": 2}).content)
        expected = json.loads(json.dumps(describe(open_workbook(source), head=2), default=str))
        assert shown == expected
        table = shown["sheets"][0]["tables"][0]
        assert table["name"] == "report" and table["header_rows"] == [3, 4]
        assert shown["sheets"][1]["hidden"] is True
        kit.call("sheet", {"actions": [{"action": "write", "sheet": "Report", "range": "D3",
                                        "values": "Note"}]})
        after = json.loads(ask(kit, "inspect", {}).content)
        assert after == describe(open_workbook(kit.workbook_path))


def test_proposals_wait_for_apply_when_not_auto_applied(tmp_path: Path) -> None:
    with toolkit(messy_book(tmp_path), workdir=tmp_path / "w", python=False,
                 auto_apply=False) as kit:
        proposed = ask(kit, "sheet", {"actions": [
            {"action": "write", "sheet": "Report", "range": "B5", "values": 1}]})
        assert "Proposed 1 change" in proposed.content and kit.pending is not None
        assert kit.version == 0
        assert kit.apply_pending() == 1
        assert "36" in kit.call("sql", {"query": 'SELECT SUM("Revenue Q1") FROM report'})


def test_two_toolkits_on_one_workdir_lose_no_edit(tmp_path: Path) -> None:
    source = messy_book(tmp_path)
    first = toolkit(source, workdir=tmp_path / "w", python=False)
    second = toolkit(source, workdir=tmp_path / "w", python=False)
    try:
        first.store, second.store  # noqa: B018  (both read version 0)
        assert "saved version 1" in first.call("sheet", {"actions": [
            {"action": "write", "sheet": "Report", "range": "B5", "values": 100}]})
        clash = ask(second, "sheet", {"actions": [
            {"action": "write", "sheet": "Report", "range": "B6", "values": 300}]})
        assert clash.status == "error" and clash.content.startswith("ERROR (conflict)")
        assert "hint: read the current tables again" in clash.content
        q1 = 'SELECT SUM("Revenue Q1") FROM report'
        assert "135" in second.call("sql", {"query": q1}), "it now reads the other's version"
        assert "saved version 2" in second.call("sheet", {"actions": [
            {"action": "write", "sheet": "Report", "range": "B6", "values": 300}]})
        ws = openpyxl.load_workbook(second.workbook_path)["Report"]
        assert (ws["B5"].value, ws["B6"].value) == (100, 300)
    finally:
        first.close()
        second.close()


def test_a_langgraph_react_agent_queries_edits_and_answers(tmp_path: Path) -> None:
    from langgraph.prebuilt import create_react_agent

    source = messy_book(tmp_path)
    before = source.read_bytes()
    model = ScriptedChatModel([
        tool_call("sql", query='SELECT Region FROM report ORDER BY "Revenue Q2" DESC LIMIT 1'),
        tool_call("sheet", actions=[
            {"action": "write", "sheet": "Report", "range": "D3", "values": "Best"},
            {"action": "write", "sheet": "Report", "range": "D6", "values": "yes"}]),
        AIMessage("South had the most Q2 revenue; I marked it in a new Best column."),
    ])
    with toolkit(source, workdir=tmp_path / "w", python=False) as kit:
        graph = create_react_agent(model, kit.tools)
        state = graph.invoke({"messages": [("user", "Mark the region with the best Q2")]})
        messages = state["messages"]
        results = [m for m in messages if isinstance(m, ToolMessage)]
        assert [m.name for m in results] == ["sql", "sheet"]
        assert all(m.status == "success" for m in results)
        assert "South" in results[0].content and "saved version 1" in results[1].content
        assert messages[-1].content.startswith("South had the most Q2 revenue")
        assert [t.name for t in model.bound_tools] == kit.names
        version = tmp_path / "w" / "versions" / "v0001.xlsx"
        assert kit.workbook_path == version
        sheet = openpyxl.load_workbook(version)["Report"]
        assert (sheet["D3"].value, sheet["D6"].value) == ("Best", "yes")
    assert source.read_bytes() == before
    assert openpyxl.load_workbook(source)["Report"]["D3"].value is None


DOCS = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def langgraph_snippet(doc: Path) -> str | None:
    """The first python block of the doc's "## LangChain and LangGraph" section."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else ""
    section = text.partition("## LangChain and LangGraph")[2]
    block = section.partition("```python\n")[2].partition("```")[0]
    return block or None


def test_the_documented_langgraph_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    snippet = langgraph_snippet(DOCS)
    assert snippet is not None, "docs/integrations.md lost its LangGraph example"
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(DOCS), "exec"), {"__name__": "docs_example"})
    out = capsys.readouterr().out
    assert "North" in out and "saved version 1" in out
    assert openpyxl.load_workbook("sales-marked.xlsx")["Sales"]["C2"].value == "yes"
    assert openpyxl.load_workbook("sales.xlsx")["Sales"]["C1"].value is None

"""Chat sessions: multi-turn context, edits through the sheet tool, versions, undo, review."""

from __future__ import annotations

from pathlib import Path

import openpyxl
from langchain_core.messages import AIMessage, HumanMessage

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call


def test_second_turn_sees_the_first(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Year = 2023"),
        tool_call("final_answer", answer=230.5),
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Year = 2024"),
        tool_call("final_answer", answer=354.25),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    first = session.send("What was the total revenue in 2023?")
    second = session.send("and for 2024?")
    assert first.value == 230.5 and second.value == 354.25
    second_request = model.calls[2]
    texts = [str(m.content) for m in second_request]
    assert any(isinstance(m, HumanMessage) and m.content == "What was the total revenue in 2023?"
               for m in second_request)
    assert any(isinstance(m, AIMessage) and "230.5" in str(m.content) and "Year = 2023" in str(m.content)
               for m in second_request)
    assert "and for 2024?" in texts[-1]
    assert len(session.history) == 2


def test_edit_undo_redo_and_the_original_is_untouched(sales_xlsx: Path, tmp_path: Path) -> None:
    before = sales_xlsx.read_bytes()
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "E1",
                                     "values": "Checked"},
                                    {"action": "write", "sheet": "Sales", "range": "E2",
                                     "values": "yes"}]),
        tool_call("sql", query="SELECT Checked FROM sales WHERE Checked = 'yes'"),
        tool_call("final_answer", answer="done"),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, workdir=tmp_path / "w")
    answer = session.send("Add a Checked column and mark the first row yes")
    assert answer.status == "ok", answer.text
    assert [s.tool for s in answer.steps] == ["sheet", "sql"]
    assert answer.steps[1].error is None, "the SQL catalog was refreshed after the edit"
    assert answer.version == 1 and session.versions.version == 1
    ws = openpyxl.load_workbook(session.workbook_path)["Sales"]
    assert ws["E1"].value == "Checked" and ws["E2"].value == "yes"
    assert "Checked" in session.workbook.tables[0].columns
    assert answer.steps[0].payload["changes"], "the cell changes are in the step"
    assert session.undo() == 0
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["E1"].value is None
    assert session.redo() == 1
    assert sales_xlsx.read_bytes() == before
    saved = session.save(tmp_path / "out.xlsx")
    assert openpyxl.load_workbook(saved)["Sales"]["E2"].value == "yes"


def test_review_mode_holds_edits_until_applied(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "A2",
                                     "values": "West"}]),
        "I proposed renaming the first region to West.",
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, auto_apply=False,
                                                   workdir=tmp_path / "w")
    answer = session.send("Rename the first region to West")
    assert answer.status == "ok"
    assert session.pending is not None and session.versions.version == 0
    assert any(c.cell == "A2" for c in session.pending.changes)
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["A2"].value == "North"
    assert session.apply_pending() == 1 and session.pending is None
    assert openpyxl.load_workbook(session.workbook_path)["Sales"]["A2"].value == "West"


def test_discard_pending(sales_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "A2",
                                     "values": "West"}]),
        tool_call("final_answer", answer="proposed"),
    ])
    session = TableAgent(model, python=False).chat(sales_xlsx, auto_apply=False,
                                                   workdir=tmp_path / "w")
    session.send("Rename the first region to West")
    session.discard_pending()
    assert session.pending is None and session.versions.version == 0


def test_chat_over_a_dataframe(sales_xlsx: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.read_excel(sales_xlsx)
    model = ScriptedChatModel([tool_call("sql", query="SELECT COUNT(*) FROM data"),
                               tool_call("final_answer", answer=6)])
    session = TableAgent(model, python=False).chat(frame, workdir=tmp_path / "w")
    assert session.send("How many rows?").value == 6

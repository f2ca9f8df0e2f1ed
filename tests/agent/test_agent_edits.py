"""Edit requests through the loop with a scripted model at the model boundary and the real
sheet tool, workbook and version store: the edit prompt, an edit checked before it is offered
(taken back and corrected), the run ending as soon as the edit does what was asked, and an edit
that stands as the answer when the model does not confirm it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from langchain_core.messages import BaseMessage

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel


@pytest.fixture
def staff_xlsx(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staff"
    ws.append(["Name", "Hire Date", "Salary"])
    for row in [("Ann", dt.datetime(2019, 5, 1), 52000), ("Bob", dt.datetime(2015, 3, 2), 61000),
                ("Cy", dt.datetime(2024, 11, 18), 47000), ("Di", dt.datetime(2021, 7, 9), 58000)]:
        ws.append(list(row))
    path = tmp_path / "staff.xlsx"
    wb.save(path)
    return path


def sheet_reply(*actions: dict[str, Any]) -> str:
    return json.dumps({"tool": "sheet", "arguments": {"actions": list(actions)}})


def sort(desc: bool) -> dict[str, Any]:
    return {"action": "sort", "sheet": "Staff", "range": "A1:C5", "by": ["Hire Date"], "desc": desc}


def names(path: Path) -> list[str]:
    ws = openpyxl.load_workbook(path)["Staff"]
    return [str(ws.cell(r, 1).value) for r in range(2, 6)]


def text_of(messages: list[BaseMessage]) -> str:
    return "\n".join(str(m.content) for m in messages)


def test_a_wrong_way_sort_is_taken_back_and_the_right_one_ends_the_run(
        staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([sheet_reply(sort(True)), sheet_reply(sort(False))])
    session = TableAgent(model, python=False, tool_mode="text").chat(staff_xlsx,
                                                                     workdir=tmp_path / "w")
    answer = session.send("Sort the staff by Hire Date, oldest first")
    assert answer.status == "ok", answer.text
    assert len(model.calls) == 2, "no model call after the edit that does what was asked"
    first, second = answer.steps
    assert first.error is not None and "edit-sort-direction" in first.rules
    assert '"desc": false' in first.output and second.error is None
    assert answer.rules_fired[-1] == "edit-done-when-covered"
    assert names(session.workbook_path) == ["Bob", "Ann", "Di", "Cy"]
    assert session.versions.version == 2 and not session.versions.can_redo
    assert answer.edits and "oldest first" in answer.edits[0] and answer.text.startswith("Changed:")
    prompt = text_of(model.calls[0])
    assert 'Sheet "Staff": table A1:C5; header row 1; data rows 2-5' in prompt
    assert "A Name (text) | B Hire Date (date) | C Salary (number)" in prompt
    assert "sort: by (columns)" in prompt and "chart: type" not in prompt
    assert '"desc": false' in prompt, "the exemplar sorts the way the request asks"


def test_a_proposal_taken_back_leaves_only_the_corrected_edit_pending(
        staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([sheet_reply(sort(True)), sheet_reply(sort(False))])
    session = TableAgent(model, python=False, tool_mode="text").chat(
        staff_xlsx, workdir=tmp_path / "w", auto_apply=False)
    answer = session.send("Sort the staff by Hire Date, oldest first")
    assert answer.status == "ok" and answer.edit_pending
    assert answer.text.startswith("Proposed")
    assert session.pending is not None
    assert [(a["action"], a["desc"]) for a in session.pending.actions] == [("sort", False)]
    assert session.pending.summaries == answer.edits
    assert session.version == 0 and names(session.workbook_path)[0] == "Ann"
    session.apply_pending()
    assert names(session.workbook_path) == ["Bob", "Ann", "Di", "Cy"]


def test_an_edit_stands_as_the_answer_when_the_model_never_confirms_it(
        staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([sheet_reply(sort(False)), *['{"tool": "sheet", "arguments": '] * 6])
    session = TableAgent(model, python=False, tool_mode="text").chat(staff_xlsx,
                                                                     workdir=tmp_path / "w")
    answer = session.send("Sort the staff by Hire Date, oldest first, and add a line chart of "
                          "Salary")
    assert answer.status == "ok" and answer.value and answer.stop_reason is None
    assert answer.text.startswith("Changed:") and "did not confirm" in answer.text
    assert session.versions.version == 1


def test_an_answer_before_any_edit_is_sent_back_once(staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel(["Final answer: done", sheet_reply(sort(False))])
    session = TableAgent(model, python=False, tool_mode="text").chat(staff_xlsx,
                                                                     workdir=tmp_path / "w")
    answer = session.send("Sort the staff by Hire Date, oldest first")
    assert answer.status == "ok" and "edit-not-made" in answer.rules_fired
    assert "nothing was changed yet" in text_of(model.calls[1])
    assert names(session.workbook_path)[0] == "Bob"


def test_without_the_edit_checks_the_wrong_sort_is_kept(staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel([sheet_reply(sort(True)), "Final answer: sorted"])
    session = TableAgent(model, python=False, tool_mode="text", rules="all").chat(
        staff_xlsx, workdir=tmp_path / "w")
    session.agent.rules = __import__("agent.rules", fromlist=["select"]).select(without="edit")
    answer = session.send("Sort the staff by Hire Date, oldest first")
    assert answer.status == "ok" and not [r for r in answer.rules_fired if r.startswith("edit")]
    assert names(session.workbook_path)[0] == "Cy"
    assert answer.text.startswith("sorted")


def test_a_question_keeps_the_question_prompt(staff_xlsx: Path, tmp_path: Path) -> None:
    model = ScriptedChatModel(["```sql\nSELECT MAX(Salary) FROM staff\n```", "Final answer: 61000"])
    session = TableAgent(model, python=False, tool_mode="text").chat(staff_xlsx,
                                                                     workdir=tmp_path / "w")
    answer = session.send("What is the highest salary?")
    assert answer.value == 61000 and not answer.edits
    assert "Workbook layout:" not in text_of(model.calls[0])

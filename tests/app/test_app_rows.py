"""A step's result rows linked to their sheet rows, through Streamlit's AppTest: the result
table says where each row is on the sheet, and selecting a row (set the way the browser sets
it, through the table's selection state) highlights exactly that row's cells in the workbook
panel's preview, until the selection is cleared; after an edit nothing is highlighted.

The model is the only double (a scripted model named by TABLEPILOT_APP_MODEL); the workbook,
DuckDB and the sql tool's provenance are real.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from app.state import EXAMPLE_WORKBOOK, MODEL_ENV
from app.views.preview import (
    highlight_caption,
    picked_row,
    row_labels,
    row_table_key,
    sheet_rows_text,
    source_texts,
)

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOP_Q4 = "SELECT Region, Q4 FROM regions ORDER BY Q4 DESC"
BY_REGION = ("SELECT Region, count(*) AS n FROM orders WHERE Units > 0 GROUP BY Region "
             "ORDER BY n DESC, Region")
TITLE = {"tool": "sheet", "args": {"actions": [
    {"action": "write", "sheet": "Regions", "range": "H3", "values": "Year"}]}}


PAYLOAD = {"source_sheet": "My Sheet", "source_rows": [[7], [3, 5, 9, 11], []],
           "source_counts": [1, 60, 0], "source_columns": ["A", "C"]}


@pytest.mark.parametrize(("sheet", "rows", "count", "text"), [
    ("Orders", [7], 1, "Orders!7"),
    ("Orders", [3, 5, 9], 3, "Orders!3, 5, 9"),
    ("Orders", [3, 5, 9, 11, 12, 13, 14], 7, "Orders!3, 5, 9 +4 more"),
    ("Orders", [3, 5, 9, 11], 60, "Orders!3, 5, 9 +57 more"),  # a group's list was cut
    ("My Sheet", [2], None, "'My Sheet'!2"),
    ("Orders", [], 0, "no rows"),  # an aggregate whose WHERE kept nothing
])
def test_where_a_result_row_is_said_in_words(
        sheet: str, rows: list[int], count: int | None, text: str) -> None:
    assert sheet_rows_text(sheet, rows, count) == text


def test_a_rows_labels_and_the_pick_of_the_latest_selected_table() -> None:
    assert source_texts(PAYLOAD, 3) == ["'My Sheet'!7", "'My Sheet'!3, 5, 9 +57 more", "no rows"]
    assert source_texts(PAYLOAD, 4) is None and source_texts({"columns": []}, 1) is None
    assert row_labels(PAYLOAD, 0) == ["'My Sheet'!A7", "'My Sheet'!C7"]
    assert len(row_labels(PAYLOAD, 1)) == 8 and row_labels(PAYLOAD, 2) == []
    assert row_labels(PAYLOAD, 3) == [] and row_labels({}, 0) == []

    def turn() -> SimpleNamespace:
        steps = [SimpleNamespace(index=i, payload=PAYLOAD) for i in (1, 2)]
        return SimpleNamespace(answer=SimpleNamespace(steps=steps))

    turns = [turn(), turn()]
    assert picked_row(turns, {}) is None
    assert picked_row(turns, {row_table_key(1, 2): {"selection": {"rows": []}}}) is None
    pick = picked_row(turns, {row_table_key(0, 2): {"selection": {"rows": [1]}},
                              row_table_key(1, 1): {"selection": {"rows": [0]}}})
    assert pick is not None and pick.turn is turns[1] and pick.step.index == 1 and pick.row == 0
    assert pick.where == "row 1 of step 1's result ('My Sheet'!7)"
    assert highlight_caption(2, pick.where) == (
        "Highlighted: the 2 cells of row 1 of step 1's result ('My Sheet'!7)")


def start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns: list[Any]) -> AppTest:
    (tmp_path / "script.json").write_text(json.dumps(turns))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'script.json'}")
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.file_uploader(key="upload").set_value(
        ("sales.xlsx", EXAMPLE_WORKBOOK.read_bytes(), XLSX)).run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> Any:
    """Ask, and return the answer's first step table (in the answer's Steps expander)."""
    at.chat_input[0].set_value(question).run()
    assert not at.exception and not at.error, at.exception
    return at.chat_message[-1].expander[0].dataframe[0]


def select(at: AppTest, table: Any, rows: list[int]) -> None:
    at.session_state[table.key] = {"selection": {"rows": rows}}
    at.run()
    assert not at.exception, at.exception


def captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption]


def marked(preview: Any) -> set[tuple[int, int]]:
    """The (row, column) positions the preview colours."""
    styles = preview.proto.arrow_data.styler.styles
    return {(int(r), int(c)) for r, c in re.findall(r"row(\d+)_col(\d+)", styles)}


def test_a_result_row_says_where_it_is_and_selecting_it_highlights_its_cells(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(tmp_path, monkeypatch, [{"tool": "sql", "args": {"query": TOP_Q4}},
                                       {"tool": "final_answer", "args": {"answer": "North"}}])
    table = ask(at, "Which region sold the most in Q4?")
    result = table.value
    assert result.columns.tolist() == ["Region", "Q4", "Sheet rows"]
    assert result.iloc[0].tolist() == ["North", 341900, "Regions!4"]
    assert result.iloc[1].tolist() == ["West", 311700, "Regions!7"]
    assert table.key == "step-rows-0-1"
    answers = {(i, c) for i in range(5) for c in (0, 5)}  # the step's cells: Region and Q4
    assert marked(at.tabs[0].dataframe[1]) == answers

    select(at, table, [1])
    assert ("Highlighted: the cells of row 2 of step 1's result (Regions!7). Clear that table's "
            "selection to see the last answer's cells again.") in captions(at)
    assert marked(at.tabs[0].dataframe[1]) == {(3, 0), (3, 5)}  # West's Region and Q4 only

    select(at, table, [])
    assert not any("row 2 of step 1" in c for c in captions(at))
    assert marked(at.tabs[0].dataframe[1]) == answers


def test_a_group_row_highlights_every_row_of_its_group(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(tmp_path, monkeypatch, [{"tool": "sql", "args": {"query": BY_REGION}},
                                       {"tool": "final_answer", "args": {"answer": "done"}}])
    table = ask(at, "Orders per region?")
    result = table.value
    workbook = at.session_state["tablepilot"].current_workbook
    frame = workbook.table("orders").frame
    first = result.iloc[0]
    group = [i for i in range(len(frame)) if frame.iloc[i]["Region"] == first["Region"]]
    assert first["n"] == len(group) > 3
    rows = [workbook.table("orders").row_numbers[i] for i in group]
    assert first["Sheet rows"] == (f"Orders!{rows[0]}, {rows[1]}, {rows[2]} "
                                   f"+{len(group) - 3} more")

    select(at, table, [0])
    orders = at.tabs[1].dataframe[1]
    region, units = (list(frame.columns).index(c) for c in ("Region", "Units"))
    assert marked(orders) == {(i, c) for i in group for c in (region, units)}


def test_a_selected_row_is_not_highlighted_after_an_edit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = start(tmp_path, monkeypatch, [
        {"tool": "sql", "args": {"query": TOP_Q4}},
        {"tool": "final_answer", "args": {"answer": "North"}},
        TITLE, {"tool": "final_answer", "args": {"answer": "Proposed a Year title"}}])
    table = ask(at, "Which region sold the most in Q4?")
    at.chat_input[0].set_value("Add a Year title").run()
    at.button(key="apply").click().run()
    assert at.session_state["tablepilot"].version == 1
    select(at, at.chat_message[1].expander[0].dataframe[0], [0])
    assert table.key == "step-rows-0-1"
    assert ("The selected row 1 of step 1's result (Regions!4) came from version 0; its cells "
            "may have moved, so they are not highlighted.") in captions(at)
    assert marked(at.tabs[0].dataframe[1]) == set()

"""The workbook panel's sources and reading decisions: the cells behind the last answer are
highlighted in the preview (only on the version the answer read), each table says how it was
read, and previews show dates, numbers and blanks the way people write them.

The pure functions run on a real table that table_io reads from an .xlsx written here; the page
runs through Streamlit's AppTest with a scripted model (the only double), as in test_app_page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.state import MODEL_ENV
from app.views.data import HIGHLIGHT_CSS, cell_text, columns_frame, display_frame
from app.views.preview import (
    CellRange,
    answered_version,
    as_markdown_text,
    cells_in_place,
    highlight_caption,
    moved_note,
    own_reading_notes,
    own_workbook_notes,
    parse_label,
    preview_rows,
    reading_notes,
    table_positions,
    used_labels,
)
from table_io import open_workbook
from table_io.model import Table

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATA_ROWS = 70  # more than the preview's 50 rows


def write_staff(path: Path) -> Path:
    """'My Sheet': a title, headers on row 3, 70 people (rows 4-73, row 10 hidden), a Total row
    74; 'Notes': a hidden sheet holding one word, no table."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "My Sheet"
    sheet["A1"] = "Staff list 2024"
    sheet.append([])
    sheet.append(["Name", "Start date", "Salary", "Dept ID", "Note"])
    for i in range(DATA_ROWS):
        sheet.append([f"P{i + 1}", dt.datetime(2024, 1 + i % 12, 1 + i % 28),
                      1_000_000 + i * 1500, 2000 + i, "x" if i % 3 == 0 else None])
    sheet.append(["Total", None, f"=SUM(C4:C{3 + DATA_ROWS})", None, None])
    sheet.row_dimensions[10].hidden = True
    notes = book.create_sheet("Notes")
    notes["A1"] = "scratch"
    notes.sheet_state = "hidden"
    book.save(path)
    return path


@pytest.fixture
def staff(tmp_path: Path) -> Path:
    return write_staff(tmp_path / "staff.xlsx")


@pytest.fixture
def table(staff: Path) -> Table:
    return open_workbook(staff).table("my_sheet")


# ------------------------------------------------------------------ labels -> frame positions


@pytest.mark.parametrize(("label", "expected"), [
    ("Managers!A7", CellRange("Managers", 1, 7, 1, 7)),
    ("'My Sheet'!B3", CellRange("My Sheet", 2, 3, 2, 3)),
    ("'Bob''s'!C4", CellRange("Bob's", 3, 4, 3, 4)),
    ("'2024'!A1", CellRange("2024", 1, 1, 1, 1)),
    ("Sales!$A$7:B9", CellRange("Sales", 1, 7, 2, 9)),
    ("'My Sheet'!B9:A7", CellRange("My Sheet", 1, 7, 2, 9)),  # corners in any order
    ("aa10", CellRange(None, 27, 10, 27, 10)),
    ("orders", None),  # a table name, not a cell
    ("Sheet!A", None),
    ("'unclosed!A1", None),
])
def test_labels_parse_with_quoted_sheets_and_ranges(label: str, expected: CellRange | None) -> None:
    assert parse_label(label) == expected


def test_labels_map_to_the_frame_positions_of_a_real_table(table: Table) -> None:
    assert (table.sheet, table.header_rows, table.row_numbers[:2]) == ("My Sheet", [3], [4, 5])
    name, salary = "Name", "Salary"
    cases: list[tuple[list[str], set[tuple[int, str]]]] = [
        (["'My Sheet'!A4"], {(0, name)}),
        (["'my sheet'!C5"], {(1, salary)}),  # Excel's sheet names ignore case
        (["'My Sheet'!A5:C6"], {(i, c) for i in (1, 2) for c in (name, "Start date", salary)}),
        (["'My Sheet'!C73"], {(69, salary)}),  # the last person, beyond the preview's rows
        (["'My Sheet'!A3", "'My Sheet'!C74"], set()),  # the header and the Total row: not data
        (["'My Sheet'!F4", "Notes!A4", "nonsense"], set()),
        (["My Sheet!B4"], {(0, "Start date")}),  # unquoted as a model may write it: still read
        (["A4"], set()),  # no sheet, and no default sheet given
    ]
    for labels, expected in cases:
        assert table_positions(table, labels) == expected, labels
    assert table_positions(table, ["A4"], default_sheet="My Sheet") == {(0, name)}
    whole = table_positions(table, ["'My Sheet'!A1:E100"])  # a range over the whole sheet
    assert len(whole) == DATA_ROWS * 5
    for row, column in [(0, name), (69, salary)]:  # each position maps back to its label
        assert table.cell(row, column) in {"'My Sheet'!A4", "'My Sheet'!C73"}


def test_the_cells_of_an_answer_and_of_its_steps_are_used_once_each() -> None:
    from agent.answer import Answer, Step

    steps = [Step(1, "sql", {}, "", payload={"cells": ["S!A1", "S!B2"]}),
             Step(2, "python", {}, "", payload={}),
             Step(3, "sql", {}, "", payload={"cells": ["S!C3"]})]
    answer = Answer("q", 1, "1", steps=steps, cells=["S!B2", "S!A9"])
    assert used_labels(answer) == ["S!B2", "S!A9", "S!A1", "S!C3"]


def test_rows_used_beyond_the_preview_come_first() -> None:
    assert preview_rows(70, [], 50) == (list(range(50)), False)
    assert preview_rows(70, [3, 49], 50) == (list(range(50)), False)
    rows, moved = preview_rows(70, [69, 3], 50)
    assert moved and rows[:2] == [3, 69] and len(rows) == 50 and len(set(rows)) == 50
    assert preview_rows(5, [9], 50) == ([0, 1, 2, 3, 4], False)  # no such row: ignored


# ------------------------------------------------------------------ the version rule


@pytest.mark.parametrize(("answered_on", "shown", "in_place"), [
    (0, 0, True),
    (2, 2, True),
    (0, 1, False),  # an edit was applied after the answer
    (2, 1, False),  # undone since
    (None, 0, True),  # unknown: the original, until a first edit
    (None, 3, False),
])
def test_cells_are_highlighted_only_on_the_version_the_answer_read(
        answered_on: int | None, shown: int, in_place: bool) -> None:
    assert cells_in_place(answered_on, shown) is in_place


def test_the_version_an_answer_read_and_the_words_for_it() -> None:
    answer = SimpleNamespace(version=None)
    assert answered_version(SimpleNamespace(answer=answer)) is None
    assert answered_version(SimpleNamespace(answer=answer), 2) == 2  # first seen on version 2
    assert answered_version(SimpleNamespace(answer=answer, version=1), 2) == 1  # recorded wins
    assert answered_version(SimpleNamespace(answer=SimpleNamespace(version=4))) == 4
    assert moved_note(1) == ("The last answer used version 1; its cells may have moved, "
                             "so they are not highlighted.")
    assert "an earlier version" in moved_note(None)
    assert highlight_caption(3) == "Highlighted: the 3 cells the last answer used"
    assert highlight_caption(1) == "Highlighted: the 1 cell the last answer used"


# ------------------------------------------------------------------ formatted for people


def translated(styler: Any) -> dict[str, Any]:
    """What a pandas Styler hands Streamlit: each cell's display text, and the cell styles
    (Streamlit reads the same private methods)."""
    styler._compute()
    return dict(styler._translate(False, False))


def shown_values(frame: pd.DataFrame, **options: Any) -> list[list[Any]]:
    """The text a Styler shows in each body cell (what st.dataframe displays)."""
    body = translated(display_frame(frame, **options))["body"]
    return [[cell["display_value"] for cell in row if cell["type"] == "td"] for row in body]


def test_dates_numbers_and_blanks_read_as_people_write_them() -> None:
    frame = pd.DataFrame({
        "Day": pd.to_datetime(pd.Series(["2024-03-01", None])),
        "At": pd.to_datetime(["2024-03-01 09:29:59.999999", "2024-03-02 10:00:00.000000"]),
        "Amount": [1234567.0, np.nan],
        "Share": [0.125, 1234.5],
        "Units": pd.array([1_200_000, None], dtype="Int64"),
        "Year": [2024, 2025],
        "Order ID": [10234, 10235],
        "Label": pd.Series(["x", None], dtype="str"),
        "Mixed": [None, dt.date(2024, 1, 1)],
    })
    assert shown_values(frame) == [
        ["2024-03-01", "2024-03-01 09:30", "1,234,567", "0.125", "1,200,000", "2024", "10234",
         "x", ""],
        ["", "2024-03-02 10:00", "", "1,234.5", "", "2025", "10235", "", "2024-01-01"],
    ]
    styler: Any = display_frame(frame)
    kept = styler.data  # numbers and dates keep their types, so they sort
    assert pd.api.types.is_float_dtype(kept["Amount"])
    assert pd.api.types.is_datetime64_any_dtype(kept["Day"])


@pytest.mark.parametrize(("value", "text"), [
    (None, ""), (float("nan"), ""), (pd.NaT, ""), (pd.NA, ""),
    (dt.datetime(2024, 3, 1), "2024-03-01"), (pd.Timestamp("2024-03-01 14:05:00"), "2024-03-01 14:05"),
    (pd.Timestamp("2024-03-01 14:05:07"), "2024-03-01 14:05:07"), (dt.date(2024, 3, 1), "2024-03-01"),
    ("2024-03-01T09:30:00", "2024-03-01 09:30"),  # a step preview's timestamp
    (3.0, "3"), ("None", "None"),  # the text "None" someone typed stays
])
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


def test_the_preview_of_a_real_table_is_formatted_and_highlighted(table: Table) -> None:
    examples = columns_frame(table).set_index("column")["example"].to_dict()
    assert examples == {"Name": "P1", "Start date": "2024-01-01", "Salary": "1,000,000",
                        "Dept ID": "2000", "Note": "x"}
    marks = table_positions(table, ["'My Sheet'!C5", "'My Sheet'!A4"])
    shown = translated(display_frame(table.frame, limit=3, highlight=marks,
                                     row_labels=table.row_numbers))
    coloured = {s for rule in shown["cellstyle"] for s in rule["selectors"]}
    assert coloured == {"row0_col0", "row1_col2"}  # Name of row 4, Salary of row 5
    assert HIGHLIGHT_CSS.startswith("background-color")
    rows = [[c["display_value"] for c in row] for row in shown["body"]]
    assert rows[0] == ["4", "P1", "2024-01-01", "1,000,000", "2000", "x"]
    assert rows[1][-1] == ""  # a blank Note, not "nan" or "None"


# ------------------------------------------------------------------ reading decisions


def test_reading_notes_say_how_the_table_was_read(table: Table, staff: Path) -> None:
    own = own_reading_notes(table)
    assert "Row 3 holds the column names." in own
    assert any("'Staff list 2024'" in n for n in own)
    assert any(n.startswith("Row(s) 74 look like totals") for n in own)
    assert any("Hidden row(s) 10" in n for n in own)
    notes = reading_notes(table)  # table_io's own words when it has them
    assert notes and any("74" in n for n in notes)
    book = open_workbook(staff)
    assert own_workbook_notes(book) == ["Sheet 'Notes' is hidden."]
    aside = SimpleNamespace(sheets=[], set_aside=[
        SimpleNamespace(sheet="Scratch", range="A1", reason="one cell", preview="todo"),
        SimpleNamespace(sheet="My Sheet", range="H2:H3", reason="a note", preview="")])
    assert own_workbook_notes(aside) == ["Not a table: Scratch!A1 (one cell).",
                                         "Not a table: 'My Sheet'!H2:H3 (a note)."]


def test_workbook_text_in_notes_is_shown_literally() -> None:
    title = "Q1 ![pixel](http://x.test/p.png) *big* $5 :red[alarm]"
    escaped = as_markdown_text(title)
    assert "![" not in escaped and "](" not in escaped and ":red[" not in escaped
    assert re.sub(r"\\(.)", r"\1", escaped) == title  # what Markdown shows is the text itself


# ------------------------------------------------------------------ the page


def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns: list[Any]) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(turns))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{script}")


def start_with(staff: Path) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.file_uploader(key="upload").set_value(("staff.xlsx", staff.read_bytes(), XLSX)).run()
    assert not at.exception, at.exception
    return at


def captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption]


def preview(at: AppTest) -> Any:
    """The table preview: the second table in the sheet's tab, after the columns."""
    return at.tabs[0].dataframe[1]


LAST_PERSON = "SELECT \"Name\", \"Salary\" FROM my_sheet WHERE \"Name\" = 'P70'"
EDIT = {"tool": "sheet", "args": {"actions": [
    {"action": "write", "sheet": "My Sheet", "range": "F3", "values": "Bonus"}]}}


def test_the_page_highlights_the_answers_cells_and_says_how_tables_were_read(
        staff: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(tmp_path, monkeypatch, [
        {"tool": "sql", "args": {"query": LAST_PERSON}},
        {"tool": "final_answer", "args": {"answer": 1103500}},
        EDIT,
        {"tool": "final_answer", "args": {"answer": "Proposed a Bonus column"}},
    ])
    at = start_with(staff)
    read = [e for e in at.expander if e.label == "How this table was read"]
    assert len(read) == 1 and "row 3" in read[0].markdown[0].value.lower()
    assert any("Notes" in c for c in captions(at))  # the hidden sheet, at the top of the panel
    assert not any(c.startswith("Highlighted") for c in captions(at))

    at.chat_input[0].set_value("What does P70 earn?").run()
    assert not at.exception and not at.error
    answer = at.session_state["tablepilot"].turns[-1].answer
    assert "'My Sheet'!C73" in answer.cells
    assert "Highlighted: the 2 cells the last answer used (the rows it used are shown first)" \
        in captions(at)
    assert "cells of the last answer highlighted" in at.expander[0].label
    shown = preview(at)
    assert shown.value.index[0] == 73 and shown.value.iloc[0]["Name"] == "P70"  # moved up
    styles = shown.proto.arrow_data.styler.styles
    assert "background-color: #ffe08a" in styles
    assert styles.count("row0_col") == 2  # Name and Salary of sheet row 73, nothing else
    assert any(e.label == "How this table was read" for e in at.expander)

    at.chat_input[0].set_value("Add a Bonus column").run()  # proposed, then applied: version 1
    at.button(key="apply").click().run()
    assert not at.exception
    assert at.session_state["tablepilot"].version == 1
    assert used_labels(at.session_state["tablepilot"].turns[-1].answer) == []
    # the last answer (the proposed edit) used no cells: nothing is highlighted any more
    assert not any(c.startswith("Highlighted") for c in captions(at))
    assert "#ffe08a" not in preview(at).proto.arrow_data.styler.styles


def test_an_answer_on_an_earlier_version_is_not_highlighted(
        staff: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scripted(tmp_path, monkeypatch, [
        EDIT, {"tool": "final_answer", "args": {"answer": "Proposed a Bonus column"}},
        {"tool": "sql", "args": {"query": LAST_PERSON}},
        {"tool": "final_answer", "args": {"answer": 1103500}},
    ])
    at = start_with(staff)
    at.chat_input[0].set_value("Add a Bonus column").run()
    at.button(key="apply").click().run()
    at.chat_input[0].set_value("What does P70 earn?").run()  # asked on version 1
    assert not at.exception and not at.error
    assert any(c.startswith("Highlighted: the 2 cells") for c in captions(at))
    at.button(key="undo").click().run()  # back to version 0: the answer read version 1
    assert at.session_state["tablepilot"].version == 0
    assert ("The last answer used version 1; its cells may have moved, so they are not "
            "highlighted.") in captions(at)
    assert not any(c.startswith("Highlighted") for c in captions(at))
    assert "#ffe08a" not in preview(at).proto.arrow_data.styler.styles

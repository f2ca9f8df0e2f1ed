"""The page through Streamlit's AppTest: upload, bad uploads, a question, an edit end to end.

The model is the only double (a scripted model named by TABLEPILOT_APP_MODEL); the workbook,
table detection, DuckDB and the versions are real.
"""

from __future__ import annotations

import csv
import io
import json
import socket
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from app.state import EXAMPLE_WORKBOOK, EXAMPLES, MODEL_ENV

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

DIFF_COLUMNS = ["sheet", "cell", "change", "before", "after"]
QUESTION = "Which region sold the most in Q4?"
EDIT = "Add a Year column with each region's total"
SCRIPT = EXAMPLES / "scripted_demo.json"  # the model's turns for QUESTION, then EDIT


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(MODEL_ENV, f"scripted:{SCRIPT}")
    return SCRIPT


def start() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def upload(at: AppTest, name: str, data: bytes, mime: str = XLSX) -> AppTest:
    at.file_uploader(key="upload").set_value((name, data, mime)).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def test_the_page_starts_with_an_upload_and_the_example(script: Path) -> None:
    at = start()
    assert at.file_uploader(key="upload").allowed_type == [
        ".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".tsv", ".parquet"]
    assert "Upload a workbook" in texts(at)
    at.button(key="example").click().run()
    assert not at.exception and not at.error
    assert at.expander[0].label.startswith("Workbook: sales_2025.xlsx · 2 sheet(s) · 2 table(s)")


def test_upload_shows_sheets_tables_columns_and_previews(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    assert not at.error
    assert [t.label for t in at.tabs] == ["Regions", "Orders"]
    shown = texts(at)
    assert "**regions** · `Regions!A3:G9` · header row(s) 3 · 5 rows × 7 columns" in shown
    assert "**orders** · `Orders!A2:G39` · header row(s) 2 · 36 rows × 7 columns" in shown
    assert "total row(s) 9 kept out of the data" in shown
    columns, preview = (frame.value for frame in at.tabs[0].dataframe)
    assert columns.set_index("column").loc["Q4", "type"] == "integer"
    assert preview["Region"].tolist() == ["North", "South", "East", "West", "Central"]


def test_csv_ods_and_parquet_uploads_are_read_too(script: Path, tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "people": [709_000, 10_000_000, 7_000_000]})
    frame.to_parquet(tmp_path / "cities.parquet")
    frame.to_excel(tmp_path / "cities.ods", index=False, engine="odf")  # type: ignore[arg-type]
    for name, data in [("cities.csv", frame.to_csv(index=False).encode()),
                       ("cities.ods", (tmp_path / "cities.ods").read_bytes()),
                       ("cities.parquet", (tmp_path / "cities.parquet").read_bytes())]:
        at = upload(start(), name, data, "application/octet-stream")
        assert not at.error, [e.value for e in at.error]
        assert f"Workbook: {name} · 1 sheet(s) · 1 table(s)" in at.expander[0].label
        assert "3 rows × 2 columns" in texts(at)


@pytest.mark.parametrize(("name", "data", "message"), [
    ("broken.xlsx", b"this is not a workbook", "broken.xlsx: has a .xlsx name but its content"),
    ("empty.csv", b"", "empty.csv: file is empty"),
    ("cut.xlsx", EXAMPLE_WORKBOOK.read_bytes()[:3000], "cut.xlsx: is a damaged or truncated"),
])
def test_a_bad_upload_shows_table_ios_message_not_a_traceback(
        script: Path, name: str, data: bytes, message: str) -> None:
    at = upload(start(), name, data)
    assert [e.value for e in at.error] == [at.error[0].value]
    assert at.error[0].value.startswith(message)
    assert not at.chat_input  # nothing to chat with


def test_a_question_is_answered_with_its_value_cells_and_steps(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception and not at.error
    user, assistant = at.chat_message
    assert user.markdown[0].value == QUESTION
    said = "\n".join(m.value for m in assistant.markdown)
    assert "North" in said and "**Value:** North (text)" in said
    assert "**Tables:** `regions`" in said and "`Regions!F4`" in said
    assert "Answered by scripted" in "\n".join(c.value for c in assistant.caption)
    steps = assistant.expander[0]
    assert steps.label == "Steps (1)"
    assert steps.code[0].value == "SELECT Region, Q4 FROM regions ORDER BY Q4 DESC"
    result = steps.dataframe[0].value
    assert result.iloc[0].tolist() == ["North", 341900, "Regions!4"]  # and where it is
    charts = assistant.get("vega_lite_chart")  # a few labelled numbers get a bar chart
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    assert spec["mark"]["type"] == "bar" and spec["encoding"]["y"]["field"] == "Region"


def test_an_edit_is_reviewed_applied_undone_and_downloaded(
        script: Path, downloads: dict[str, bytes]) -> None:
    original = EXAMPLE_WORKBOOK.read_bytes()
    at = upload(start(), "sales.xlsx", original)
    at.chat_input[0].set_value(QUESTION).run()
    at.chat_input[0].set_value(EDIT).run()
    assert not at.exception and not at.error
    diff = pending_diff(at)
    assert diff is not None
    rows = {(r.cell, r.change): r.after for r in diff.itertuples()}
    assert rows[("H3", "value")] == "Year" and rows[("H4", "formula")] == "=SUM(C4:F4)"
    assert rows[("H4", "value")] == "1403600"
    assert at.button(key="undo").disabled and "Version 0 (original)" in texts(at)

    at.button(key="apply").click().run()
    assert not at.exception
    assert "Applied: now at version 1" in [i.value for i in at.info]
    assert pending_diff(at) is None
    book = openpyxl.load_workbook(io.BytesIO(downloads["sales-v1.xlsx"]))
    assert book["Regions"]["H3"].value == "Year"
    assert book["Regions"]["H4"].value == "=SUM(C4:F4)"
    assert at.download_button(key="download").label == "Download .xlsx"
    applied = next(e for e in at.expander if e.label.startswith("What changed in version 1"))
    assert applied.label == "What changed in version 1 (11 cell changes)"
    assert applied.dataframe[0].value["cell"].tolist()[:3] == ["H3", "H4", "H4"]

    at.button(key="undo").click().run()
    assert "Undone: now at version 0" in [i.value for i in at.info]
    book = openpyxl.load_workbook(io.BytesIO(downloads["sales-v0.xlsx"]))
    assert book["Regions"]["H3"].value is None
    at.button(key="redo").click().run()
    assert "Redone: now at version 1" in [i.value for i in at.info]

    state = at.session_state["tablepilot"]
    assert state.upload_path.read_bytes() == original  # the upload is never changed
    table = list(csv.reader(io.StringIO(downloads["regions.csv"].decode())))  # as it is now
    assert table[0] == ["Region", "Manager", "Q1", "Q2", "Q3", "Q4", "Target", "Year"]
    assert table[1][0] == "North" and table[1][-1] == "1403600"


def pending_diff(at: AppTest) -> Any:
    """The diff table of the "Proposed change" panel, if the page shows one."""
    stack: list[Any] = [at.main]
    while stack:
        block = stack.pop()
        children = list(getattr(block, "children", {}).values())
        if any(getattr(c, "type", "") == "subheader" and c.value == "Proposed change"
               for c in children):
            return block.dataframe[0].value
        stack.extend(c for c in children if hasattr(c, "children"))
    return None


def test_a_proposed_edit_can_be_discarded(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    at.chat_input[0].set_value(EDIT).run()
    at.button(key="discard").click().run()
    assert "Discarded the proposed change: now at version 0" in [i.value for i in at.info]
    assert pending_diff(at) is None


def test_a_corrected_table_is_what_the_agent_queries(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = [{"tool": "sql", "args": {"query": "SELECT COUNT(*) AS n FROM orders"}},
             {"tool": "final_answer", "args": {"answer": 10}}]
    (tmp_path / "count.json").write_text(json.dumps(count))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'count.json'}")
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.text_input(key="range-orders").set_value("A2:G12")
    at.button(key="FormSubmitter:fix-orders-Re-read the table").click().run()
    assert not at.exception and not at.error
    assert "**orders** · `Orders!A2:G12` · header row(s) 2 · 10 rows × 7 columns" in texts(at)
    at.chat_input[0].set_value("How many orders?").run()
    steps = at.chat_message[1].expander[0]
    assert steps.dataframe[0].value["n"].tolist() == [10]


def test_a_bad_correction_is_refused_with_a_message(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.text_input(key="range-orders").set_value("G2")
    at.button(key="FormSubmitter:fix-orders-Re-read the table").click().run()
    assert not at.exception
    assert "a range looks like A3:G9" in at.error[0].value


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    monkeypatch.delenv("TABLEPILOT_BASE_URL", raising=False)
    at = start()
    at.radio(key="backend").set_value("server").run()
    at.text_input(key="base_url").set_value(f"http://127.0.0.1:{_closed_port()}/v1").run()
    assert not at.exception
    assert any("cannot reach" in e.value for e in at.error)


def test_a_failing_model_is_reported_in_the_chat_not_as_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty.json").write_text("[]")  # the model fails on its first call
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'empty.json'}")
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception
    assistant = at.chat_message[1]
    shown = [w.value for w in assistant.warning] + [e.value for e in assistant.error]
    assert any("script exhausted" in text for text in shown), shown
    at.chat_input[0].set_value("again?").run()  # the page and session stay usable
    assert not at.exception and len(at.chat_message) == 4


def scripted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns: list[Any]) -> None:
    (tmp_path / "script.json").write_text(json.dumps(turns))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'script.json'}")


def test_a_correction_holds_after_an_applied_edit_and_an_undo(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    count = [{"tool": "sql", "args": {"query": "SELECT COUNT(*) AS n FROM orders"}},
             {"tool": "final_answer", "args": {"answer": 10}}]
    edit = [{"tool": "sheet", "args": {"actions": [
        {"action": "write", "sheet": "Orders", "range": "A1", "values": "Orders 2025"}]}},
        {"tool": "final_answer", "args": {"answer": "Proposed a new title"}}]
    scripted(tmp_path, monkeypatch, edit + count + count)
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.text_input(key="range-orders").set_value("A2:G12")
    at.button(key="FormSubmitter:fix-orders-Re-read the table").click().run()
    at.chat_input[0].set_value("Retitle the orders").run()
    at.button(key="apply").click().run()
    assert "Applied: now at version 1" in [i.value for i in at.info]
    at.chat_input[0].set_value("How many orders?").run()
    assert at.chat_message[3].expander[0].dataframe[0].value["n"].tolist() == [10]
    at.button(key="undo").click().run()
    assert "Undone: now at version 0" in [i.value for i in at.info]
    at.chat_input[0].set_value("How many orders now?").run()
    assert not at.exception and not at.error
    assert at.chat_message[5].expander[0].dataframe[0].value["n"].tolist() == [10]
    assert "**orders** · `Orders!A2:G12`" in texts(at)


def test_a_parquet_upload_is_edited_as_xlsx_from_the_first_edit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: dict[str, bytes]) -> None:
    import pandas as pd

    frame = pd.DataFrame({"city": ["Oslo", "Lima", "Pune"], "people": [709_000, 10_000_000, 7_000_000]})
    frame.to_parquet(tmp_path / "cities.parquet")
    scripted(tmp_path, monkeypatch, [
        {"tool": "sheet", "args": {"actions": [
            {"action": "write", "sheet": "cities", "range": "C1", "values": "big"}]}},
        {"tool": "final_answer", "args": {"answer": "Proposed a column"}}])
    at = upload(start(), "cities.parquet", (tmp_path / "cities.parquet").read_bytes(),
                "application/octet-stream")
    assert "cities-v0.parquet" in downloads  # before an edit: the upload itself
    at.chat_input[0].set_value("Add a big column").run()
    at.button(key="apply").click().run()
    assert not at.exception and not at.error
    assert "Applied: now at version 1" in [i.value for i in at.info]
    book = openpyxl.load_workbook(io.BytesIO(downloads["cities-v1.xlsx"]))
    assert [c.value for c in book["cities"][1]] == ["city", "people", "big"]
    assert book["cities"]["B3"].value == 10_000_000


def test_effort_is_chosen_in_the_sidebar_and_kept_by_the_chat(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    effort = at.radio(key="effort")
    assert effort.options == ["fast", "balanced", "thorough"]
    assert effort.value == "fast"  # a served (here scripted) model's default
    effort.set_value("thorough").run()
    assert not at.exception
    assert "5 drafts of every query step" in texts(at)
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception and at.radio(key="effort").value == "thorough"


# ------------------------------------------------------------------ the chat box waits


def test_the_chat_box_is_enabled_again_after_an_answer(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    assert not at.chat_input[0].disabled
    at.chat_input[0].set_value(QUESTION).run()
    assert not at.exception
    state = at.session_state["tablepilot"]
    assert state.running is None and len(state.turns) == 1
    assert not at.chat_input[0].disabled


def test_the_chat_box_waits_while_another_tab_runs_a_question(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    state = at.session_state["tablepilot"]
    state.queue(QUESTION, page="another-tab")  # that tab is working on it now
    at.run()
    assert not at.exception
    assert at.chat_input[0].disabled
    assert "Working on “Which region sold the most in Q4?” (in another tab of this session)" \
        in texts(at)
    assert at.button(key="undo").disabled  # no version moves under a running question
    assert state.running == QUESTION and not state.turns  # only the asking tab runs it


def test_the_chat_box_waits_while_the_server_cannot_be_reached(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    at = start()
    at.radio(key="backend").set_value("server").run()
    at.text_input(key="base_url").set_value(f"http://127.0.0.1:{_closed_port()}/v1").run()
    at = upload(at, "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    assert at.chat_input[0].disabled
    assert "The model cannot answer now: cannot reach" in texts(at)


def test_the_chat_box_waits_while_the_local_model_is_missing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(MODEL_ENV, raising=False)
    monkeypatch.setenv("TABLEPILOT_CACHE", str(tmp_path / "no-models"))
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    assert at.chat_input[0].disabled
    assert "is not downloaded yet" in texts(at)


# ------------------------------------------------------------------ nothing lost by accident


def questions(at: AppTest) -> list[str]:
    return [m.markdown[0].value for m in at.chat_message if m.name == "user"]


def test_a_new_upload_asks_before_it_closes_the_chat_and_versions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    edit = [{"tool": "sheet", "args": {"actions": [
        {"action": "write", "sheet": "Orders", "range": "A1", "values": "Orders 2025"}]}},
        {"tool": "final_answer", "args": {"answer": "Proposed a new title"}}]
    scripted(tmp_path, monkeypatch, edit)
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value("Retitle the orders").run()
    at.button(key="apply").click().run()
    at = upload(at, "cities.csv", b"city,people\nOslo,709000\nLima,10000000\n", "text/csv")
    assert [w.value for w in at.warning] == [
        "Open cities.csv? The current chat and its 1 version will be closed — download the "
        "current version first if you need it. You can switch back to sales.xlsx under "
        "*Recent workbooks* in the sidebar."]
    assert at.expander[0].label.startswith("Workbook: sales.xlsx")  # nothing closed yet

    at.button(key="keep_current").click().run()
    assert not at.warning and questions(at) == ["Retitle the orders"]
    assert "Version 1" in texts(at)

    at.button(key="example").click().run()  # the example asks too
    at.button(key="confirm_open").click().run()
    assert not at.exception
    assert at.expander[0].label.startswith("Workbook: sales_2025.xlsx")
    assert questions(at) == [] and "Version 0 (original)" in texts(at)

    back = at.button(key="recent-0")
    assert back.label == "sales.xlsx · 1 question(s), version 1"
    back.click().run()
    assert at.expander[0].label.startswith("Workbook: sales.xlsx")
    assert questions(at) == ["Retitle the orders"] and "Version 1" in texts(at)
    assert at.button(key="recent-0").label == "sales_2025.xlsx · 0 question(s)"


def test_a_first_upload_and_one_over_an_untouched_workbook_do_not_ask(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.button(key="example").click().run()
    assert not at.warning
    assert at.expander[0].label.startswith("Workbook: sales_2025.xlsx")


def test_a_reload_finds_the_chat_again_by_the_token_in_the_address(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    token = at.query_params["s"]
    assert len(token) >= 22  # 128 random bits

    reloaded = AppTest.from_file(PAGE, default_timeout=60)  # a new browser session
    reloaded.query_params["s"] = token
    reloaded.run()
    assert not reloaded.exception
    assert questions(reloaded) == [QUESTION]
    assert reloaded.session_state["tablepilot"] is at.session_state["tablepilot"]

    stranger = AppTest.from_file(PAGE, default_timeout=60)
    stranger.query_params["s"] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    stranger.run()
    assert questions(stranger) == [] and not stranger.expander  # a fresh page, a new token
    assert stranger.query_params["s"] != token


# ------------------------------------------------------------------ proposals read as proposals


def assistant_text(message: Any) -> str:
    return "\n".join([m.value for m in message.markdown] + [c.value for c in message.caption])


def test_a_turn_that_proposed_an_edit_reads_as_a_proposal(script: Path) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    at.chat_input[0].set_value(EDIT).run()
    said = assistant_text(at.chat_message[3])
    assert said.startswith("**Proposed an edit:**\n- ")
    assert "Apply or discard it below" in said and "(no value)" not in said
    lines = at.session_state["tablepilot"].pending.summaries
    assert lines and all(said.count(line) == 1 for line in lines)  # each said once
    at.button(key="apply").click().run()
    assert "This edit was applied as version 1." in assistant_text(at.chat_message[3])


def test_a_proposal_stays_a_proposal_when_the_run_then_hits_a_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    retitle = {"tool": "sheet", "args": {"actions": [
        {"action": "write", "sheet": "Orders", "range": "A1", "values": "Orders 2025"}]}}
    scripted(tmp_path, monkeypatch, [retitle] + [
        {"tool": "sql", "args": {"query": f"SELECT {i} AS n"}} for i in range(9)])
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value("Retitle the orders").run()
    assert not at.exception
    assistant = at.chat_message[1]
    said = assistant_text(assistant)
    assert said.startswith("**Proposed an edit:**")
    # the limit is told as a note (whether the run's status says 'limit' or 'ok')
    assert "step limit reached (8 tool calls)" in said
    assert "(no value)" not in said and "Stopped:" not in said
    assert not assistant.warning and pending_diff(at) is not None


# ------------------------------------------------------------------ a chart, into the workbook


def test_a_chart_is_proposed_for_the_workbook_and_applied_as_an_excel_chart(
        script: Path, downloads: dict[str, bytes]) -> None:
    at = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    at.button(key="chart-0").click().run()
    assert not at.exception
    state = at.session_state["tablepilot"]
    actions = state.pending.actions
    assert [a["action"] for a in actions] == ["add_sheet", "write", "chart"]
    assert actions[2]["type"] == "column" and actions[2]["data"] == "B1:B6"
    summaries = state.pending.summaries  # the sheet tool's words, else the page's own
    assert summaries and any("Chart data" in line for line in summaries)
    assert any("chart" in line.casefold() for line in summaries)
    shown = texts(at)
    assert all(f"- {line}" in shown for line in summaries)
    diff = pending_diff(at)
    assert diff is not None and ("A2", "North") in {(r.cell, r.after) for r in diff.itertuples()}

    at.button(key="apply").click().run()
    assert "Applied: now at version 1" in [i.value for i in at.info]
    book = openpyxl.load_workbook(io.BytesIO(downloads["sales-v1.xlsx"]))
    sheet = book["Chart data"]
    assert [c.value for c in sheet["A"]][:3] == ["Region", "North", "West"]  # the SQL's order
    assert sheet["B2"].value == 341900
    assert len(sheet._charts) == 1  # a real Excel chart, read back from the file
    assert book.sheetnames[:2] == ["Regions", "Orders"]  # the rest is as it was


def test_formula_values_computed_for_the_preview_are_kept_apart_from_the_edit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["item", "amount"])
    for row in (["a", 1], ["b", 2], ["c", 3]):
        sheet.append(row)
    sheet.append(["Total", "=SUM(B2:B4)"])  # openpyxl saves no result for it
    book.save(tmp_path / "totals.xlsx")
    scripted(tmp_path, monkeypatch, [
        {"tool": "sheet", "args": {"actions": [
            {"action": "write", "sheet": "Data", "range": "C1", "values": "note"}]}},
        {"tool": "final_answer", "args": {"answer": "Proposed a note column"}}])
    at = upload(start(), "totals.xlsx", (tmp_path / "totals.xlsx").read_bytes())
    at.chat_input[0].set_value("Add a note column").run()
    assert not at.exception
    changes = at.session_state["tablepilot"].pending.changes
    recomputed = [c for c in changes if getattr(c, "recomputed", False)]
    diff = pending_diff(at)
    assert diff is not None and diff["cell"].tolist() == ["C1"]  # only what the edit changes
    assert [c.cell for c in recomputed] == ["B5"]  # computed: the file had no value for it
    apart = next(e for e in at.expander
                 if e.label == "1 formula value(s) recomputed, not changed by this edit")
    assert apart.dataframe[0].value["cell"].tolist() == ["B5"]


def test_behind_the_password_a_reload_finds_the_chat_after_logging_in_again(
        script: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def logged_in(at: AppTest) -> AppTest:
        at.text_input(key="login-password").set_value("a long shared passphrase")
        at.button(key="FormSubmitter:login-form-Log in").click().run()
        assert not at.exception
        return at

    open_page = upload(start(), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    open_token = open_page.query_params["s"]  # made without a login
    monkeypatch.setenv("TABLEPILOT_APP_PASSWORD", "a long shared passphrase")
    at = upload(logged_in(start()), "sales.xlsx", EXAMPLE_WORKBOOK.read_bytes())
    at.chat_input[0].set_value(QUESTION).run()
    token = at.query_params["s"]

    reloaded = AppTest.from_file(PAGE, default_timeout=60)
    reloaded.query_params["s"] = token
    reloaded.run()
    assert not reloaded.chat_message and not reloaded.file_uploader  # the login comes first
    assert questions(logged_in(reloaded)) == [QUESTION]

    other = AppTest.from_file(PAGE, default_timeout=60)  # a token of another user (no login)
    other.query_params["s"] = open_token
    other.run()
    assert not logged_in(other).expander and other.query_params["s"] != open_token

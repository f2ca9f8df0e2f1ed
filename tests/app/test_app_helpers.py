"""The page's Streamlit-free parts: uploads, model settings and status, display frames."""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from app.registry import StateRegistry
from app.state import (
    EXAMPLE_WORKBOOK,
    AppState,
    ModelSettings,
    chart_actions,
    check_server,
    file_key,
    injected_model,
    save_upload,
)
from app.views.chat import (
    answer_lines,
    chart_plan,
    proposal_lines,
    proposal_remark,
    same_code,
    without_code,
)
from app.views.data import (
    changes_frame,
    chart_columns,
    check_range,
    display_frame,
    last_sql_frame,
    paragraphs,
    parse_header_rows,
    pending_changes,
    step_frame,
    value_text,
)
from app.views.edits import is_recomputed
from table_io import Limits
from table_io.errors import LimitExceededError, UnsupportedFormatError

# ------------------------------------------------------------------ uploads


def test_save_upload_keeps_a_read_only_copy(tmp_path: Path) -> None:
    data = EXAMPLE_WORKBOOK.read_bytes()
    path = save_upload("sales.xlsx", data, tmp_path / "up")
    assert path.read_bytes() == data
    assert not path.stat().st_mode & 0o222  # nobody writes the upload again


def test_save_upload_refuses_unknown_types_and_big_files(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"unsupported file type \.docx"):
        save_upload("report.docx", b"PK..", tmp_path)
    with pytest.raises(LimitExceededError, match="limit is 1 MiB"):
        save_upload("big.csv", b"a,b\n" * 300_000, tmp_path, limits=Limits(max_file_bytes=2**20))


def test_file_key_changes_with_the_content() -> None:
    assert file_key("a.csv", b"x") == file_key("a.csv", b"x")
    assert file_key("a.csv", b"x") != file_key("a.csv", b"y")


# ------------------------------------------------------------------ model settings


def test_settings_default_to_the_local_model_without_a_server() -> None:
    assert ModelSettings.from_env({}).backend == "local"
    served = ModelSettings.from_env({"TABLEPILOT_BASE_URL": "http://127.0.0.1:9/v1",
                                     "TABLEPILOT_MODEL": "qwen"})
    assert (served.backend, served.base_url, served.model_name) == (
        "server", "http://127.0.0.1:9/v1", "qwen")
    assert "qwen at http://127.0.0.1:9/v1" in served.label()


class _Models(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/v1/models":
            body = json.dumps({"object": "list", "data": [{"id": "qwen2.5-7b"}]}).encode()
            self.send_response(200)
        else:
            body = b"{}"
            self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_check_server_reports_the_models_served_and_failures() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Models)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        up = check_server(f"http://127.0.0.1:{port}/v1/")
        assert up.ok and up.models == ("qwen2.5-7b",) and "qwen2.5-7b" in up.message
        wrong = check_server(f"http://127.0.0.1:{port}/nope")
        assert not wrong.ok and "HTTP 404" in wrong.message
        assert wrong.reachable  # something answers there: the chat may still work
    finally:
        server.shutdown()
        server.server_close()
    down = check_server(f"http://127.0.0.1:{port}/v1", timeout_s=0.5)
    assert not down.ok and "cannot reach" in down.message and not down.reachable


def test_injected_model_reads_a_json_script(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"tool": "sql", "args": {"query": "SELECT 1"}}, "done"]))
    model = injected_model({"TABLEPILOT_APP_MODEL": f"scripted:{script}"})
    assert model is not None and model.remaining == 2
    assert injected_model({}) is None
    with pytest.raises(ValueError, match="scripted:<path"):
        injected_model({"TABLEPILOT_APP_MODEL": "gpt"})


# ------------------------------------------------------------------ display helpers


def test_header_rows_and_ranges_are_parsed_or_refused_clearly() -> None:
    assert parse_header_rows("3") == [3]
    assert parse_header_rows("2-3") == [2, 3]
    assert parse_header_rows("4, 2") == [2, 4]
    with pytest.raises(ValueError, match="row numbers"):
        parse_header_rows("first")
    assert check_range(" a3:g$9 ") == "A3:G9"
    assert check_range("Regions!B2:C4") == "B2:C4"
    with pytest.raises(ValueError, match="A3:G9"):
        check_range("A3")


def test_changes_frame_has_one_row_per_cell_change() -> None:
    from table_io.diff import CellChange

    pending = {"actions": [], "changes": [CellChange("Regions", "H4", "value", None, 1500.5),
                                          CellChange("Regions", "H3", "format", None, "bold")]}
    frame = changes_frame(pending_changes(pending))
    assert frame.to_dict("records")[0] == {"sheet": "Regions", "cell": "H4", "change": "value",
                                           "before": "", "after": "1500.5"}
    assert len(frame) == 2


def test_value_text_names_the_type() -> None:
    assert value_text(1234) == "1,234 (number)"
    assert value_text("West") == "West (text)"
    assert value_text(["a", 2]) == "a; 2 (list of 2)"
    assert value_text(None) == "(no value)"


def test_a_small_category_to_number_frame_gets_a_chart() -> None:
    small = pd.DataFrame({"region": ["North", "South", "East"], "total": [3.0, 1.0, 2.0]})
    assert chart_columns(small) == ("region", "total")
    assert chart_columns(small.head(1)) is None  # one bar says nothing
    assert chart_columns(pd.DataFrame({"a": [1, 2], "b": [3, 4]})) is None  # no labels
    assert chart_columns(pd.DataFrame({"x": ["a"] * 30, "y": range(30)})) is None


def test_step_frames_come_from_frames_or_split_dicts() -> None:
    from agent.answer import Step

    def sql_step(payload: dict[str, Any], error: str | None = None) -> Step:
        return Step(1, "sql", {"query": "SELECT ..."}, "", error=error, payload=payload)

    split = {"frame": {"columns": ["region", "q4"], "data": [["West", 5], ["East", 4]]}}
    frame = step_frame(split)
    assert frame is not None and list(frame.columns) == ["region", "q4"]
    steps = [sql_step(split), sql_step({"frame": pd.DataFrame({"n": [1]})}, "boom")]
    frame = last_sql_frame(steps)
    assert frame is not None and frame["region"].tolist() == ["West", "East"]
    # The agent's payload: column names, the first rows, and the full row count.
    agent_payload = {"columns": ["region", "q4"], "preview": [["West", 5], ["East", 4]], "rows": 2}
    frame = step_frame(agent_payload)
    assert frame is not None and frame.to_dict("list") == {"region": ["West", "East"], "q4": [5, 4]}
    summed = {"columns": ["region", "total"], "preview": [["West", Decimal("5.5")], ["East", 4]]}
    assert chart_columns(step_frame(summed)) == ("region", "total")  # SUM gives Decimals
    partial = {**agent_payload, "rows": 300}  # only a preview: no chart from it
    assert last_sql_frame([sql_step(agent_payload), sql_step(partial)]) is None


def test_paragraphs_keep_line_breaks_but_leave_code_fences_alone() -> None:
    text = "North\nNorth sold 3.\n```sql\nSELECT 1\nFROM t\n```"
    assert paragraphs(text) == "North  \nNorth sold 3.  \n```sql\nSELECT 1\nFROM t\n```"


def test_display_frame_makes_columns_unique_and_text() -> None:
    frame = pd.DataFrame([[1, "x"], [2, None]], columns=["a", "a"])
    shown = display_frame(frame)
    assert list(shown.columns) == ["a", "a.1"]



# ------------------------------------------------------------------ the bundled example


def test_the_committed_example_is_what_make_examples_builds(tmp_path: Path) -> None:
    import openpyxl

    from app.examples.make_examples import build

    fresh = openpyxl.load_workbook(build(tmp_path / "fresh.xlsx"))
    committed = openpyxl.load_workbook(EXAMPLE_WORKBOOK)
    assert fresh.sheetnames == committed.sheetnames == ["Regions", "Orders"]
    for name in fresh.sheetnames:
        cells = [[c.value for c in row] for row in fresh[name].iter_rows()]
        assert cells == [[c.value for c in row] for row in committed[name].iter_rows()]


def test_the_example_has_a_title_row_and_a_total_row_kept_out_of_the_data() -> None:
    from table_io import open_workbook

    book = open_workbook(EXAMPLE_WORKBOOK)
    regions, orders = book.table("regions"), book.table("orders")
    assert (regions.title, regions.header_rows, regions.n_rows) == (
        "Quarterly sales by region, 2025 (USD)", [3], 5)
    assert regions.total_row_numbers == [9] and orders.total_row_numbers == [39]
    assert orders.n_rows == 36 and orders.frame["Revenue"].sum() > 0


# ------------------------------------------------------------------ the registry of page states


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_registry_gives_a_state_back_only_to_its_user() -> None:
    registry = StateRegistry(max_states=4, idle_s=60, clock=Clock())
    state = AppState()
    token = registry.add(state, "oidc:issuer:alice")
    assert state.token == token and len(token) >= 22
    assert registry.get(token, "oidc:issuer:alice") is state
    assert registry.get(token, "oidc:issuer:bob") is None  # a copied address hands nothing over
    assert registry.get(token, "") is None
    for bad in ["", "../x", token + "!", "a" * 200, None]:
        assert registry.get(bad, "oidc:issuer:alice") is None
    assert registry.get(registry.add(AppState(), "oidc:issuer:bob"), "oidc:issuer:bob") is not None


def test_the_registry_forgets_idle_states_and_keeps_at_most_its_maximum() -> None:
    clock = Clock()
    registry = StateRegistry(max_states=3, idle_s=60, clock=clock)
    tokens = [registry.add(AppState(), "") for _ in range(3)]
    clock.now += 30
    assert registry.get(tokens[0], "") is not None  # used: the newest now
    registry.add(AppState(), "")  # a fourth: the least recently used (tokens[1]) goes
    assert registry.get(tokens[1], "") is None
    assert registry.get(tokens[0], "") is not None and registry.get(tokens[2], "") is not None
    clock.now += 61
    assert len(registry) == 0  # all idle for over a minute


def test_tokens_are_never_shared() -> None:
    registry = StateRegistry(max_states=100, idle_s=60, clock=Clock())
    states = [AppState() for _ in range(20)]
    tokens = {registry.add(s, "") for s in states}
    assert len(tokens) == 20
    assert {id(registry.get(t, "")) for t in tokens} == {id(s) for s in states}


# ------------------------------------------------------------------ what the chat shows


@pytest.mark.parametrize(("text", "shown"), [
    ("North\nFinal answer: North", "North"),
    ("North\nNorth sold 341,900.", "North\nNorth sold 341,900."),
    ("42\nIf this is the answer, reply with final_answer (Final answer: ...).", "42"),
    ("(3 of 5 drafts of this query gave this result)\nrows: 4", "rows: 4"),
    ("**Final answer:** 12.5\n12.5", "12.5"),
    ("", ""),
])
def test_an_answer_is_said_once_without_the_agents_instructions(text: str, shown: str) -> None:
    assert answer_lines(text) == shown


def test_a_steps_note_leaves_its_code_to_the_step() -> None:
    assert without_code("Sum it:\n```sql\nSELECT 1\n```\nthen answer") == "Sum it:\n\nthen answer"
    assert same_code("SELECT a  FROM t;", "select a from t")
    assert not same_code("SELECT a FROM t", "SELECT b FROM t")


@pytest.mark.parametrize(("frame", "plan"), [
    (pd.DataFrame({"Region": ["North", "South"], "Q4": [3, 4]}), ("Region", "Q4", "bar")),
    (pd.DataFrame({"month": ["2025-01", "2025-02", "2025-03"], "sales": [1, 2, 3]}),
     ("month", "sales", "line")),
    (pd.DataFrame({"day": pd.to_datetime(["2025-01-01", "2025-01-02"]), "n": [1.0, 2.0]}),
     ("day", "n", "line")),
    (pd.DataFrame({"Year": [2023, 2024, 2025], "total": [5, 6, 7]}), ("Year", "total", "line")),
    (pd.DataFrame({"a": [1, 2], "b": [3, 4]}), None),
    (pd.DataFrame({"Region": ["North"], "Q4": [3]}), None),
])
def test_a_chart_is_a_line_over_time_and_bars_for_categories(
        frame: pd.DataFrame, plan: tuple[str, str, str] | None) -> None:
    assert chart_plan(frame) == plan


def test_a_proposal_reads_in_words() -> None:
    from agent.session import PendingEdit

    edit = PendingEdit(actions=[{"action": "formula", "sheet": "Regions", "range": "H4:H8",
                                 "formula": "=SUM(C4:F4)"}, {"action": "freeze", "cell": "B2"}])
    assert proposal_lines(edit) == ["formula Regions!H4:H8 (=SUM(C4:F4))", "freeze B2"]
    edit.summaries = ["Add a Year column to Regions!H3:H8"]  # type: ignore[attr-defined]
    assert proposal_lines(edit) == ["Add a Year column to Regions!H3:H8"]


def test_recomputed_formula_values_are_told_apart() -> None:
    from table_io.diff import CellChange

    change = CellChange(sheet="S", cell="A1", kind="value", before=None, after=1)
    assert not is_recomputed(change) and not is_recomputed({"cell": "A1"})
    assert is_recomputed({"cell": "A1", "recomputed": True})
    import dataclasses

    assert is_recomputed(dataclasses.replace(change, recomputed=True))  # as table_io marks them


def test_chart_actions_write_the_table_to_a_new_sheet_and_chart_it() -> None:
    frame = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                          "sales": [Decimal("1.5"), 2]})
    actions, summaries = chart_actions(frame, "month", "sales", kind="line",
                                       taken=["Data", "chart data"])
    assert actions[0] == {"action": "add_sheet", "name": "Chart data 2", "index": 2}  # last
    assert actions[1]["values"] == [["month", "sales"], ["2025-01-01", 1.5], ["2025-02-01", 2]]
    assert actions[2]["type"] == "line" and actions[2]["labels"] == "A2:A3"
    assert summaries[1] == "Add a line chart of sales by month on Chart data 2!D2"


@pytest.mark.parametrize(("text", "remark"), [
    ("Proposed (apply or discard it):\n- Write Year in Regions!H3\n- Sum C:F into H4:H8", ""),
    ("Proposed a Year column in H3:H8", "Proposed a Year column in H3:H8"),
    ("Write Year in Regions!H3.", ""),
    ("Stopped: step limit reached (8 tool calls). Last result: 6", ""),
])
def test_the_models_words_beside_a_proposal_do_not_repeat_it(text: str, remark: str) -> None:
    lines = ["Write Year in Regions!H3", "Sum C:F into H4:H8"]
    assert proposal_remark(text, lines) == remark


def test_a_running_question_blocks_the_chat_box_until_it_is_answered_or_lost() -> None:
    state = AppState()
    assert state.chat_blocked("tab-1") is None
    state.queue("How many regions?", "tab-1")
    assert state.chat_blocked("tab-1") == ("Working on “How many regions?”: the next question "
                                           "can be asked when the answer is in.")
    assert "(in another tab of this session)" in (state.chat_blocked("tab-2") or "")
    state.queue("Another?", "tab-2")  # one question at a time
    assert state.running == "How many regions?"
    state.ask("How many regions?")  # no workbook: answered with an error, and the box is free
    assert state.running is None and state.turns[-1].error == "open a workbook first"
    state.queue("Lost?", "tab-3")
    state.running_since -= 16 * 60  # that tab closed before its run began
    assert state.chat_blocked("tab-4") is None and state.running is None
    state.model_problem = "cannot reach `http://127.0.0.1:9/v1`"
    assert state.chat_blocked("tab-4") == ("The model cannot answer now: cannot reach "
                                           "`http://127.0.0.1:9/v1`")

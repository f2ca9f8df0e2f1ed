"""The loop with a scripted chat model and the real tools over real workbooks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from langchain_core.messages import AIMessage, ToolMessage

from agent import Answer, TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call
from agent.rules import select
from agent.toolset import python_available


def test_sql_then_final_answer(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT SUM(Revenue) AS total FROM sales WHERE Region = 'North'"),
        tool_call("final_answer", answer=350.5, explanation="sum of North revenue"),
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "Total revenue of the North region?")
    assert isinstance(answer, Answer)
    assert answer.status == "ok" and answer.value == 350.5
    assert answer.text.startswith("350.5")
    assert [s.tool for s in answer.steps] == ["sql"]
    step = answer.steps[0]
    assert step.error is None and "350.5" in step.output and step.input["query"].startswith("SELECT")
    assert step.payload["rows"] == 1 and step.payload["columns"] == ["total"]
    assert answer.tables == ["sales"] and answer.model == "scripted"
    assert answer.cells, "the cells the result came from are recorded"
    # the model was told about the tools under the contract's names, and saw the table
    names = {t["function"]["name"] for t in model.bound_tools}
    assert {"sql", "final_answer"} <= names
    first_prompt = str(model.calls[0][-1].content)
    assert "Region" in first_prompt and "Total revenue of the North region?" in first_prompt
    # the second call carries the tool result as a ToolMessage
    assert isinstance(model.calls[1][-1], ToolMessage) and "350.5" in model.calls[1][-1].content


def test_informer_names_real_values(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("final_answer", answer="x")])
    TableAgent(model, python=False).ask(sales_xlsx, "How much cocoa did the east sell?")
    prompt = str(model.calls[0][-1].content)
    assert "'Cocoa'" in prompt and "'East'" in prompt


def test_final_answer_list_and_typed_values(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT DISTINCT Product FROM sales ORDER BY Product"),
        tool_call("final_answer", answer=["Cocoa", "Coffee", "Tea"]),
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "Which products are sold?")
    assert answer.value == ["Cocoa", "Coffee", "Tea"] and answer.values == answer.value
    model = ScriptedChatModel([tool_call("sql", query="SELECT COUNT(*) FROM sales"),
                               tool_call("final_answer", answer="1,234")])
    # a number stated by the model that no tool computed is replaced by the computed one
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many rows?")
    assert answer.value == 6 and "computed result" in answer.text


def test_reference_answer_takes_the_last_result(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query="SELECT MAX(Revenue) FROM sales"),
                               "The answer is 200."])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "Highest revenue?")
    assert answer.status == "ok" and answer.value == 200


def test_recovers_from_a_wrong_column_with_the_hint(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT SUM(Sales) FROM sales WHERE Region = 'North'"),
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Region = 'North'"),
        tool_call("final_answer", answer=350.5),
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "North revenue?")
    assert answer.status == "ok" and answer.value == 350.5
    first, second = answer.steps
    assert first.error is not None and second.error is None
    # the model saw the error with the tool's hint naming the real column, and a fix exemplar
    seen = model.calls[1][-1]
    assert isinstance(seen, ToolMessage)
    assert "Revenue" in seen.content and "ERROR" in seen.content
    assert "fixed like this" in seen.content


def test_an_invented_table_name_is_repaired_in_a_query_with_bare_multiword_columns(
        tmp_path: Path) -> None:
    path = tmp_path / "pylons.xlsx"
    pd.DataFrame({"Name": ["A", "B", "C"], "Year built": [1961, 1975, 1968]}).to_excel(
        path, index=False)
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT COUNT(*) AS n FROM roster WHERE Year built < 1970"),
        tool_call("final_answer", answer=2)])
    answer = TableAgent(model, python=False).ask(path, "How many were built before 1970?")
    assert answer.steps[0].error is None and "no table 'roster'" in answer.steps[0].output
    assert answer.value == 2


def test_empty_result_names_the_closest_real_value(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("sql", query="SELECT SUM(Revenue) FROM sales WHERE Region = 'Nort'"),
        tool_call("final_answer", answer=0),
    ])
    TableAgent(model, python=False).ask(sales_xlsx, "Revenue of the Nort region?")
    assert "'North'" in model.calls[1][-1].content


def test_one_table_workbook_repairs_an_invented_table_name(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query="SELECT COUNT(*) AS n FROM orders"),
                               tool_call("final_answer", answer=6)])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many rows?")
    assert answer.steps[0].error is None and "no table 'orders'" in answer.steps[0].output
    assert answer.value == 6


@pytest.mark.skipif(not python_available()[0], reason=f"python sandbox: {python_available()[1]}")
def test_python_step(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        tool_call("python", code="sales.groupby('Region')['Revenue'].sum().idxmax()"),
        tool_call("final_answer", answer="North"),
    ])
    answer = TableAgent(model).ask(sales_xlsx, "Which region has the most revenue?")
    assert answer.status == "ok" and answer.value == "North"
    assert answer.steps[0].tool == "python" and answer.steps[0].error is None
    assert "North" in answer.steps[0].output


def test_step_limit(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query=f"SELECT {i}") for i in range(10)])
    answer = TableAgent(model, python=False, max_steps=3).ask(sales_xlsx, "loop forever")
    assert answer.status == "limit" and "step limit" in (answer.stop_reason or "")
    assert len(answer.steps) == 3


def test_token_limit(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query=f"SELECT {i}") for i in range(10)])
    answer = TableAgent(model, python=False, max_tokens=300).ask(sales_xlsx, "many tokens")
    assert answer.status == "limit" and "token limit" in (answer.stop_reason or "")
    assert answer.tokens_in + answer.tokens_out >= 300


def test_time_limit_with_a_model_that_hangs(sales_xlsx: Path) -> None:
    import threading

    release = threading.Event()

    def hang(messages: list) -> AIMessage:
        release.wait(30)
        return AIMessage(content="too late")

    model = ScriptedChatModel(hang)
    try:
        answer = TableAgent(model, python=False, timeout_s=0.5).ask(sales_xlsx, "slow")
    finally:
        release.set()
    assert answer.status == "limit" and "time limit" in (answer.stop_reason or "")


def test_repeated_tool_errors_stop_with_the_reason(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query="SELECT nope FROM sales")] * 6)
    answer = TableAgent(model, python=False, max_errors=3).ask(sales_xlsx, "bad")
    assert answer.status == "tool_error" and "3 tool errors" in (answer.stop_reason or "")
    assert all(s.error for s in answer.steps)


def test_server_errors_are_retried_then_reported(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([ConnectionError("refused"),
                               tool_call("final_answer", answer="ok")])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "q")
    assert answer.status == "ok" and answer.value == "ok"
    model = ScriptedChatModel([ConnectionError("refused")] * 10)
    agent = TableAgent(model, python=False)
    agent.limits.model_retries = 1
    answer = agent.ask(sales_xlsx, "q")
    assert answer.status == "error" and "refused" in (answer.stop_reason or "")


def test_malformed_tool_calls_go_back_to_the_model(sales_xlsx: Path) -> None:
    bad = AIMessage(content="", invalid_tool_calls=[
        {"name": "sql", "args": "{not json", "id": "c1", "error": "bad json", "type": "invalid_tool_call"}])
    model = ScriptedChatModel([bad, tool_call("final_answer", answer=1)])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "q")
    assert answer.status == "ok"
    assert "could not be parsed" in str(model.calls[1][-1].content)
    model = ScriptedChatModel([bad] * 10)
    answer = TableAgent(model, python=False).ask(sales_xlsx, "q")
    assert answer.status == "model_format"


def test_call_written_as_json_in_the_content(sales_xlsx: Path) -> None:
    # llama.cpp with tool_choice="auto" often writes the call into the content
    model = ScriptedChatModel([
        '{"name": "sql", "arguments": {"query": "SELECT COUNT(*) AS n FROM sales"}}',
        "Final answer: 6",
    ])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many rows?")
    assert answer.status == "ok" and answer.value == 6 and answer.steps[0].tool == "sql"


def test_text_protocol_mode(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        "```sql\nSELECT Product FROM sales ORDER BY Revenue DESC LIMIT 1\n```",
        "Final answer: Tea",
    ])
    answer = TableAgent(model, python=False, tool_mode="text").ask(sales_xlsx, "Top product?")
    assert answer.status == "ok" and answer.value == "Tea"
    assert not model.bound_tools  # no native tools in text mode
    assert "```sql" in str(model.calls[0][0].content)  # the protocol is in the system prompt
    assert "Result of sql" in str(model.calls[1][-1].content)


def test_dataframe_source_and_baselines(sales_frame: pd.DataFrame) -> None:
    direct = TableAgent(ScriptedChatModel(["Final answer: 6"]), strategy="direct")
    answer = direct.ask(sales_frame, "How many rows?")
    assert answer.value == 6 and answer.steps == []
    once = TableAgent(ScriptedChatModel(["```sql\nSELECT COUNT(*) FROM data\n```"]),
                      strategy="sql_once")
    answer = once.ask(sales_frame, "How many rows?")
    assert answer.value == 6 and answer.steps[0].tool == "sql"


def test_answer_round_trips_through_json(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("sql", query="SELECT 1 AS x"),
                               tool_call("final_answer", answer=1)])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "q")
    import json

    again = Answer.from_dict(json.loads(json.dumps(answer.to_dict())))
    assert again.value == 1 and again.steps[0].tool == "sql"


def test_a_query_given_as_the_final_answer_is_run(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([tool_call("final_answer", answer="SELECT COUNT(*) FROM sales"),
                               tool_call("final_answer", answer="")])
    answer = TableAgent(model, python=False).ask(sales_xlsx, "How many rows?")
    assert answer.value == 6 and answer.steps[0].tool == "sql"


def test_a_step_keeps_how_many_rows_the_query_had_beyond_those_returned(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    pd.DataFrame({"n": range(450)}).to_csv(path, index=False)
    model = ScriptedChatModel([tool_call("sql", query="SELECT n FROM many"),
                               tool_call("final_answer", answer="")])
    (step,) = TableAgent(model, python=False).ask(path, "List every n").steps
    assert step.payload["rows"] == 200 and step.payload["total_rows"] == 450


def test_the_rules_that_fire_are_recorded_and_a_rule_switched_off_does_not_fire(
        sales_xlsx: Path) -> None:
    script = [tool_call("sql", query="SELECT COUNT(*) AS n FROM orders"),  # no table 'orders'
              tool_call("final_answer", answer=99)]  # a number no result shows
    answer = TableAgent(ScriptedChatModel(script), python=False).ask(sales_xlsx, "How many rows?")
    assert answer.value == 6 and answer.steps[0].rules == ["invented-table"]
    assert [(h.rule, h.step) for h in answer.rules] == [("invented-table", 1),
                                                         ("ungrounded-number", 1)]
    assert Answer.from_dict(answer.to_dict()).rules == answer.rules
    off = TableAgent(ScriptedChatModel(script), python=False,
                     rules=["all"]).ask(sales_xlsx, "How many rows?")
    assert off.rules_fired == answer.rules_fired
    plain = TableAgent(ScriptedChatModel(script), python=False,
                       rules=select(without=["invented-table", "shape", "check"])).ask(
        sales_xlsx, "How many rows?")
    assert plain.steps[0].error is not None and "orders" in plain.steps[0].error
    assert plain.value == 99 and not {"invented-table", "ungrounded-number"} & set(
        plain.rules_fired)

"""Drafted query steps: sampled drafts run on the real DuckDB catalog and voted on by result."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from agent import TableAgent
from agent.drafts import Draft, pick, result_key
from agent.errors import UsageError
from agent.models.scripted import ScriptedChatModel, tool_call
from tools.base import ToolResult

WRONG = "SELECT COUNT(DISTINCT Year) AS n FROM sales"  # 2: a plausible but wrong query
RIGHT = "SELECT COUNT(DISTINCT Product) AS n FROM sales"  # 3


def _ask(sales_xlsx: Path, script: list, samples: int) -> tuple:
    model = ScriptedChatModel(script)
    agent = TableAgent(model, python=False, samples=samples)
    return agent.ask(sales_xlsx, "How many products are there?"), model


def test_majority_of_drafts_beats_the_greedy_query(sales_xlsx: Path) -> None:
    answer, model = _ask(sales_xlsx, [
        # first, before the conversation: the short query-only prompt's reply, a sql block
        f"```sql\n{RIGHT.replace('AS n', 'AS products')}\n```",
        tool_call("sql", query=WRONG),  # greedy
        tool_call("sql", query=RIGHT),  # sample 1
        tool_call("final_answer", answer=3),
    ], samples=3)
    assert answer.status == "ok" and answer.value == 3
    [step] = answer.steps
    assert step.input["query"] == RIGHT and "2 of 3 drafts" in step.output
    drafts = step.payload["drafts"]
    assert drafts[0]["query"] == WRONG and len(drafts) == 3
    # the short query-only prompt was asked first, greedy; then the conversation's greedy
    # reply, and a sample at a temperature with its own seed from the same messages
    options = model.call_options
    assert options[0].get("temperature") is None and len(model.calls[0]) == 1
    short = str(model.calls[0][0].content)
    assert "Write one DuckDB SQL query" in short and "How many products" in short
    assert "Product" in short  # the schema line
    assert options[1].get("temperature") is None
    assert (options[2]["temperature"], options[2]["seed"]) == (0.8, 1)
    assert model.calls[1] == model.calls[2]
    # the step's tokens count all three drafts' calls
    sent = [sum(len(str(m.content)) // 4 for m in model.calls[i]) for i in range(3)]
    assert step.tokens_in >= sum(sent)
    # the conversation continues from the chosen draft, not the greedy one
    assert model.calls[3][-2].tool_calls[0]["args"]["query"] == RIGHT


def test_a_tie_keeps_the_greedy_draft(sales_xlsx: Path) -> None:
    answer, _ = _ask(sales_xlsx, [
        tool_call("sql", query=WRONG),
        tool_call("sql", query=RIGHT),
        tool_call("final_answer", answer=2),
    ], samples=2)
    assert answer.steps[0].input["query"] == WRONG and answer.value == 2


def test_failing_and_empty_drafts_have_no_vote(sales_xlsx: Path) -> None:
    answer, _ = _ask(sales_xlsx, [
        f"```sql\n{RIGHT}\n```",  # the short prompt's draft
        tool_call("sql", query="SELECT COUNT(*) AS n FROM sales WHERE Product = 'Tee'"),  # 0
        tool_call("sql", query="SELECT COUNT(DISTINCT Prodcut) AS n FROM sales"),  # error
        tool_call("final_answer", answer=3),
    ], samples=3)
    step = answer.steps[0]
    assert step.input["query"] == RIGHT and step.error is None and answer.value == 3
    kinds = [("error" in d, d.get("result")) for d in step.payload["drafts"]]
    assert kinds[0] == (False, "(no rows, NULL or 0)") and kinds[1][0] is True
    assert kinds[2] == (False, "[3]")


def test_all_drafts_failing_reports_the_greedy_error(sales_xlsx: Path) -> None:
    bad = "SELECT Prodcut FROM sales"
    answer, _ = _ask(sales_xlsx, [
        tool_call("sql", query=bad),
        tool_call("sql", query="SELECT Prduct FROM sales"),
        tool_call("sql", query=RIGHT),  # the next step: drafted again, as nothing has a value
        tool_call("sql", query=RIGHT),
        tool_call("final_answer", answer=3),
    ], samples=2)
    assert answer.steps[0].input["query"] == bad and answer.steps[0].error
    assert "Product" in answer.steps[0].output  # the hint names the real column
    assert answer.steps[1].input["query"] == RIGHT and answer.value == 3


def test_no_drafting_once_a_query_has_a_value_or_with_one_sample(sales_xlsx: Path) -> None:
    answer, model = _ask(sales_xlsx, [
        tool_call("sql", query=RIGHT),
        tool_call("final_answer", answer=3),
    ], samples=1)
    assert len(model.calls) == 2 and "drafts" not in answer.steps[0].payload
    answer, model = _ask(sales_xlsx, [
        tool_call("sql", query=RIGHT), tool_call("sql", query=RIGHT),  # drafted: same query
        tool_call("sql", query=RIGHT + " WHERE Year = 2024"),  # a value exists: run as is
        tool_call("final_answer", answer=3),
    ], samples=2)
    assert [s.input["query"] for s in answer.steps] == [RIGHT, RIGHT + " WHERE Year = 2024"]
    assert len(model.calls) == 4


def test_text_protocol_drafts(sales_xlsx: Path) -> None:
    model = ScriptedChatModel([
        f"```sql\n{RIGHT}\n```", f"```sql\n{WRONG}\n```", f"```sql\n{RIGHT}\n```",
        "Final answer: 3",
    ])
    answer = TableAgent(model, python=False, samples=3, tool_mode="text").ask(
        sales_xlsx, "How many products are there?")
    assert answer.value == 3 and answer.steps[0].input["query"] == RIGHT
    # the conversation the model sees next shows the chosen query as its own reply
    assert RIGHT in str(model.calls[3][-2].content)


def test_result_key_normalises_and_ignores_non_answers() -> None:
    def frame_result(frame: pd.DataFrame) -> ToolResult:
        return ToolResult(observation="", payload={"frame": frame})

    a = result_key(frame_result(pd.DataFrame({"x": ["Tea", "coffee"]})))
    b = result_key(frame_result(pd.DataFrame({"y": ["COFFEE ", "tea"]})))
    assert a == b is not None
    assert result_key(frame_result(pd.DataFrame({"n": [3.0]}))) == result_key(
        frame_result(pd.DataFrame({"m": [3]})))
    assert result_key(frame_result(pd.DataFrame({"n": [0]}))) is None
    assert result_key(frame_result(pd.DataFrame({"n": []}))) is None
    assert result_key(frame_result(pd.DataFrame({"n": [None]}))) is None


def test_pick_prefers_the_largest_group_then_the_greedy() -> None:
    drafts = [Draft({"name": "sql", "args": {"query": str(i)}}, "") for i in range(4)]
    for d, key in zip(drafts, ["a", "b", "b", None], strict=True):
        d.key = key
    assert pick(drafts)[0] is drafts[1]
    drafts[2].key = "c"
    assert pick(drafts)[0] is drafts[0]


def test_samples_must_be_positive() -> None:
    with pytest.raises(ValueError, match="samples"):
        TableAgent(ScriptedChatModel([]), samples=0)


def test_an_error_message_given_as_the_answer_is_not_an_answer(sales_xlsx: Path) -> None:
    copied = ("Final answer: ERROR (query): Binder Error: Referenced column \"Prodcut\" not "
              "found in FROM clause!")
    answer, _ = _ask(sales_xlsx, [
        tool_call("sql", query="SELECT COUNT(DISTINCT Prodcut) AS n FROM sales"),
        tool_call("final_answer", answer=copied),  # sent back once: fix the query
        tool_call("final_answer", answer={"error": "Binder Error"}),
    ], samples=1)
    assert answer.status == "tool_error" and answer.value is None
    assert "error message as its answer" in answer.text


def test_a_failed_query_sent_again_is_not_rerun(sales_xlsx: Path) -> None:
    bad = "SELECT Prodcut FROM sales"
    answer, model = _ask(sales_xlsx, [tool_call("sql", query=bad)] * 3 + [
        tool_call("sql", query=RIGHT), tool_call("final_answer", answer=3)], samples=1)
    assert [s.error is not None for s in answer.steps] == [True, True, True, False]
    assert answer.steps[1].error == "the same call failed before; not run again"
    told = str(model.calls[2][-1].content)
    assert "It was not run again" in told and "Prodcut" in told and "Product" in told
    assert answer.value == 3


def test_drafts_prefer_a_new_mistake_to_a_repeated_one(sales_xlsx: Path) -> None:
    bad, other = "SELECT Prodcut FROM sales", "SELECT Prduct FROM sales"
    answer, _ = _ask(sales_xlsx, [
        tool_call("sql", query=bad), tool_call("sql", query=bad),  # step 1: both fail
        tool_call("sql", query=bad), tool_call("sql", query=other),  # step 2: greedy repeats
        tool_call("final_answer", answer="x"),
    ], samples=2)
    assert [s.input["query"] for s in answer.steps] == [bad, other]
    assert "Prduct" in answer.steps[1].error


def test_default_effort_depends_on_the_backend() -> None:
    from agent.effort import EFFORTS, LOCAL_EFFORT
    from agent.models import Backend

    local = Backend(ScriptedChatModel([]), "tiny (local llama.cpp)", "text", "local")
    assert TableAgent(local).effort == LOCAL_EFFORT
    assert TableAgent(local).samples == EFFORTS[LOCAL_EFFORT].samples
    assert TableAgent(local, samples=2).samples == 2
    assert TableAgent(local, samples=2).effort == "thorough"
    assert (TableAgent(ScriptedChatModel([])).effort, TableAgent(ScriptedChatModel([])).samples
            ) == ("fast", 1)
    assert TableAgent(ScriptedChatModel([]), effort="thorough").samples == 5
    with pytest.raises(UsageError, match="effort must be one of fast, balanced, thorough"):
        TableAgent(ScriptedChatModel([]), effort="max")


def test_a_plural_question_gets_every_value_the_query_returned(sales_xlsx: Path) -> None:
    query = "SELECT DISTINCT Region FROM sales WHERE Revenue > 90 ORDER BY Region"
    answer = TableAgent(ScriptedChatModel([
        tool_call("sql", query=query), tool_call("final_answer", answer="North"),
    ]), python=False).ask(sales_xlsx, "Which regions sold more than 90?")
    assert answer.value == ["North", "South"] and "asks for all 2 values" in answer.text
    # a singular question keeps the one the model chose
    answer = TableAgent(ScriptedChatModel([
        tool_call("sql", query=query), tool_call("final_answer", answer="North"),
    ]), python=False).ask(sales_xlsx, "Which region sold the most tea?")
    assert answer.value == "North"


def test_a_count_of_listed_values_is_replaced_by_the_values(sales_xlsx: Path) -> None:
    query = "SELECT DISTINCT Region FROM sales WHERE Revenue > 90 ORDER BY Region"
    model = ScriptedChatModel([f"```sql\n{query}\n```", "Final answer: 2"])
    answer = TableAgent(model, python=False, tool_mode="text").ask(
        sales_xlsx, "Which regions sold more than 90?")
    assert answer.value == ["North", "South"] and "asks for the values" in answer.text
    # a text-protocol model is stopped before it writes a tool's result itself
    assert all("\nResult of " in o["stop"] for o in model.call_options)
    # 'how many' keeps the count
    model = ScriptedChatModel([f"```sql\n{query}\n```", "Final answer: 2"])
    answer = TableAgent(model, python=False, tool_mode="text").ask(
        sales_xlsx, "How many regions sold more than 90?")
    assert answer.value == 2


def test_a_repair_in_a_draft_that_lost_is_recorded_on_the_step(sales_xlsx: Path) -> None:
    # the losing draft needed the invented-table repair: it still took part in the vote, so an
    # ablation without that repair must ask this question again
    answer, _ = _ask(sales_xlsx, [
        tool_call("sql", query=WRONG),  # greedy, wins the tie
        tool_call("sql", query=RIGHT.replace("FROM sales", "FROM products")),  # repaired
        tool_call("final_answer", answer=2),
    ], samples=2)
    [step] = answer.steps
    assert step.input["query"] == WRONG and "invented-table" in step.rules
    assert "invented-table" in answer.rules_fired
    again, _ = _ask(sales_xlsx, [
        tool_call("sql", query=WRONG), tool_call("sql", query=RIGHT),
        tool_call("final_answer", answer=2)], samples=2)
    assert again.steps[0].rules == []

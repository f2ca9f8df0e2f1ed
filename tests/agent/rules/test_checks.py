"""Answer checks (agent/rules/checks.py), table-driven: a final answer is sent back (with
advice), ends the run, or passes."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_cases import (
    MESSAGES,
    Case,
    answer,
    ask,
    assert_verdict,
    fired_ids,
    params,
    seen_error,
    seen_sql,
    state,
)

from agent.edit_intent import read_intent
from agent.rules.base import Seen, SendBack, Stop

NORTH_TEA = "SELECT SUM(Revenue) FROM sales WHERE Region = 'Nort'"
NONE_FOUND = seen_sql(pd.DataFrame({"Revenue": pd.Series([], dtype=float)}), NORTH_TEA)
NULL_SUM = seen_sql(pd.DataFrame({"total": [None]}), NORTH_TEA)
ZERO_COUNT = seen_sql(0, "SELECT COUNT(*) FROM sales WHERE Region = 'Tea'")
ZERO_HINTED = seen_sql(0, "SELECT COUNT(*) FROM sales WHERE Region = 'Tea'",
                       rules=("empty-result-values",))
TOTALS = seen_sql(pd.DataFrame({"Region": ["North", "South"], "Revenue": [350.5, 179.0]}),
                  "SELECT Region, SUM(Revenue) AS Revenue FROM sales GROUP BY Region")
SIX = seen_sql(6, "SELECT COUNT(*) FROM sales")
FAILED = seen_error('Binder Error: Referenced column "Sales" not found')

CHECK_FIRST = SendBack(MESSAGES["check_first"])
FIX_QUERY = SendBack(MESSAGES["empty_then_answer"])
ERROR_STOP = Stop("tool_error", "the model gave a tool's error message as its answer")



TEXT_SQL = state(text=True)

CASES = [
    # look-before-answering
    Case("look/text-before-any-step", "look-before-answering", TEXT_SQL, answer("42"),
         CHECK_FIRST),
    Case("look/native-model", "look-before-answering", state(), answer("42"), None),
    Case("look/after-a-step", "look-before-answering", state(text=True, seen=[SIX]), answer("6"),
         None),
    Case("look/reply-not-final-answer", "look-before-answering", TEXT_SQL, answer("42", "reply"),
         None),
    Case("look/no-sql-tool", "look-before-answering", state(text=True, tools=("python",)),
         answer("42"), None),
    Case("look/an-edit-request", "look-before-answering",
         state("Sort the sales by Revenue, highest first", text=True,
               tools=("sql", "python", "sheet"),
               intent=read_intent("Sort the sales by Revenue, highest first")),
         answer("done"), None),
    # empty-then-answer
    Case("empty/value-after-no-rows", "empty-then-answer", state(seen=[NONE_FOUND]),
         answer("350.5"), FIX_QUERY),
    Case("empty/value-after-null-sum", "empty-then-answer", state(seen=[NULL_SUM]),
         answer(120), FIX_QUERY),
    Case("empty/reference-after-no-rows", "empty-then-answer", state(seen=[NONE_FOUND]),
         answer("see above"), FIX_QUERY),
    Case("empty/value-after-failure", "empty-then-answer", state(seen=[SIX, FAILED]),
         answer("7"), FIX_QUERY),
    Case("empty/any-answer-after-hinted-zero", "empty-then-answer", state(seen=[ZERO_HINTED]),
         answer(0), FIX_QUERY),
    Case("empty/zero-after-no-rows", "empty-then-answer", state(seen=[NONE_FOUND]), answer("0"),
         None),
    Case("empty/value-after-unhinted-zero-count", "empty-then-answer", state(seen=[ZERO_COUNT]),
         answer(3), None),
    Case("empty/value-shown-earlier", "empty-then-answer", state(seen=[TOTALS, NONE_FOUND]),
         answer("350.5"), None),
    Case("empty/value-shown-before-failure", "empty-then-answer", state(seen=[SIX, FAILED]),
         answer("6"), None),
    Case("empty/after-rows", "empty-then-answer", state(seen=[SIX]), answer("7"), None),
    Case("empty/before-any-step", "empty-then-answer", state(), answer("7"), None),
    Case("empty/an-edit-request", "empty-then-answer",
         state("Sort the sales by Revenue, highest first", seen=[NONE_FOUND],
               intent=read_intent("Sort the sales by Revenue, highest first")),
         answer("350.5"), None),
    Case("empty/no-steps-left", "empty-then-answer", state(seen=[NONE_FOUND], steps_left=0),
         answer("350.5"), None),
    Case("empty/result-not-model", "empty-then-answer", state(seen=[NONE_FOUND]),
         answer("350.5", "result"), None),
    Case("empty/empty-python-result", "empty-then-answer",
         state(seen=[Seen("python", True, output="[]")]), answer("350.5"), None),
    # error-as-answer
    Case("error/binder-error", "error-as-answer", state(seen=[FAILED]),
         answer('Binder Error: Referenced column "Sales" not found'), ERROR_STOP),
    Case("error/error-colon", "error-as-answer", state(), answer("Error: no such table"),
         ERROR_STOP),
    Case("error/final-answer-error", "error-as-answer", state(), answer("Final answer: ERROR"),
         ERROR_STOP),
    Case("error/error-dict", "error-as-answer", state(), answer({"error": "timeout"}), ERROR_STOP),
    Case("error/all-errors-list", "error-as-answer", state(),
         answer(["Error: a", "Parser Error: b"]), ERROR_STOP),
    Case("error/traceback", "error-as-answer", state(),
         answer("Traceback (most recent call last): ..."), ERROR_STOP),
    Case("error/result-cell-with-error-text", "error-as-answer", state(),
         answer("Error: disk full", "result"), None),  # a cell's text, not the model's copy
    Case("error/number", "error-as-answer", state(), answer("42"), None),
    Case("error/word-errors", "error-as-answer", state(), answer("No errors were found"), None),
    Case("error/error-free", "error-as-answer", state(), answer("error-free"), None),
    Case("error/empty-list", "error-as-answer", state(), answer([]), None),
    Case("error/mixed-list", "error-as-answer", state(), answer(["Error: a", "42"]), None),
    Case("error/answer-dict", "error-as-answer", state(), answer({"answer": "North"}), None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_check_rule(case: Case) -> None:
    assert_verdict(ask(case), case.expected)

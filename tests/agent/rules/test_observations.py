"""Observation rules (agent/rules/observations.py), table-driven: a tool result gets a hint for
the model, or none. ``empty-result-values`` asks a real Informer over a real workbook (the
``informer`` fixture); ``error-fix-example`` asks the real Retriever over prompts/fixes.jsonl."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from rule_cases import (
    MESSAGES,
    Case,
    ask,
    assert_verdict,
    fired_ids,
    like,
    params,
    seen_error,
    seen_sql,
    state,
)

from agent.informer import Informer
from agent.retriever import Retriever
from agent.rules.base import Hint, Seen

RETRIEVER = Retriever(k=2, mode="native")
NO_ROWS = pd.DataFrame({"Revenue": pd.Series([], dtype=float)})
NULL_SUM = pd.DataFrame({"total": [None]})

NORT = "SELECT SUM(Revenue) AS total FROM sales WHERE Region = 'Nort'"
TEA_REGION = "SELECT COUNT(*) AS n FROM sales WHERE Region = 'Tea'"
ANTARCTICA = "SELECT Revenue FROM sales WHERE Region = 'Antarctica'"
REAL_VALUE = "SELECT Revenue FROM sales WHERE Region = 'North' AND Year = 1999"
EMPTY_NORT = seen_sql(NULL_SUM, NORT)
BINDER = 'Binder Error: Referenced column "Sales" not found in FROM clause'


def empty_values_case(id: str, result: Seen, expected: object, *, before: list[Seen] | None = None
                      ) -> Case:
    """A case for ``empty-result-values``: the state gets the real Informer in the test."""
    return Case(id, "empty-result-values", state(seen=before or []), result, expected,
                lookups=True)


CASES = [
    # empty-result-values
    empty_values_case("values/misspelt-value", EMPTY_NORT,
                      Hint(MESSAGES["not_a_value"].format(value="Nort", column="Region",
                                                          closest="'North'"))),
    empty_values_case("values/zero-count-other-column", seen_sql(0, TEA_REGION),
                      like(Hint, "'Tea' is not a value of Region", "closest values: none",
                           "'Tea' is found in column Product ('Tea')")),
    empty_values_case("values/in-no-column", seen_sql(NO_ROWS, ANTARCTICA),
                      like(Hint, "'Antarctica' is in no column",
                           "Region holds values like 'North', 'South', 'East'")),
    empty_values_case("values/same-query-again",
                      seen_sql(NULL_SUM, 'select sum("Revenue") as total from SALES '
                                         "where region = 'Nort'"),
                      like(Hint, MESSAGES["repeated_empty"],  # the column as the query spells it
                           "'Nort' is not a value of region"),
                      before=[replace(EMPTY_NORT, rules=("empty-result-values",))]),
    empty_values_case("values/other-query-before", EMPTY_NORT,
                      Hint(MESSAGES["not_a_value"].format(value="Nort", column="Region",
                                                          closest="'North'")),
                      before=[replace(seen_sql(0, TEA_REGION), rules=("empty-result-values",))]),
    empty_values_case("values/literal-is-a-value", seen_sql(NO_ROWS, REAL_VALUE), None),
    empty_values_case("values/rows-found", seen_sql([120.5, 200.0, 30.0],
                                                    "SELECT Revenue FROM sales WHERE "
                                                    "Region = 'Nort' OR Year = 2023"), None),
    empty_values_case("values/failed-query", seen_error("Conversion Error", NORT), None),
    empty_values_case("values/python-result", Seen("python", True, 0, True, None, NORT), None),
    Case("values/no-informer", "empty-result-values", state(), EMPTY_NORT, None),
    # result-may-answer
    Case("may-answer/text-value", "result-may-answer", state(text=True), seen_sql(6),
         Hint(MESSAGES["observation_hint"])),
    Case("may-answer/native", "result-may-answer", state(), seen_sql(6), None),
    Case("may-answer/no-value", "result-may-answer", state(text=True),
         seen_sql(pd.DataFrame({"Region": ["North"], "Revenue": [350.5]})), None),
    Case("may-answer/after-empty-values-hint", "result-may-answer", state(text=True),
         seen_sql(0, TEA_REGION, rules=("empty-result-values",)), None),
    Case("may-answer/failed", "result-may-answer", state(text=True), seen_error(BINDER), None),
    # error-fix-example
    Case("fix/native", "error-fix-example", state(retriever=RETRIEVER), seen_error(BINDER),
         like(Hint, "A similar error was fixed like this:", 'Wrong: sql(query="SELECT SUM(Sales)',
              "Fixed: sql(", "Why: Use the exact column name")),
    Case("fix/text-protocol", "error-fix-example", state(text=True, retriever=RETRIEVER),
         seen_error(BINDER), like(Hint, "\nTip: Wrong: sql(")),
    Case("fix/no-error", "error-fix-example", state(retriever=RETRIEVER), seen_sql(6), None),
    Case("fix/no-retriever", "error-fix-example", state(), seen_error(BINDER), None),
    Case("fix/no-words-to-match", "error-fix-example", state(retriever=RETRIEVER),
         seen_error("the"), None),
    Case("fix/a-sheet-error", "error-fix-example", state(retriever=RETRIEVER),
         seen_error("action 0 (sort) failed: no column 'Sales'", tool="sheet"), None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_observe_rule(case: Case, informer: Informer) -> None:
    run_state = replace(case.state, informer=informer) if case.lookups else case.state
    assert_verdict(ask(case, run_state), case.expected)

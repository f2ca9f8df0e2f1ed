"""Call rules (agent/rules/calls.py), table-driven: a call is rewritten, taken as the answer,
refused, or left alone."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_cases import (
    Case,
    ask,
    assert_verdict,
    call,
    fired_ids,
    like,
    params,
    seen_error,
    seen_sql,
    state,
)

from agent.rules.base import Accept, Refuse, Rewrite

COUNT = "SELECT COUNT(*) FROM sales"
BAD = "SELECT Sales FROM sales"
BINDER = 'Binder Error: Referenced column "Sales" not found'

CASES = [
    # tool-alias
    Case("alias/SQL-upper", "tool-alias", state(), call("SQL", query=COUNT),
         Rewrite(call("sql", query=COUNT))),
    Case("alias/functions-prefix", "tool-alias", state(), call("functions.sql", query=COUNT),
         Rewrite(call("sql", query=COUNT))),
    Case("alias/run_sql", "tool-alias", state(), call("run_sql", query=COUNT),
         Rewrite(call("sql", query=COUNT))),
    Case("alias/answer", "tool-alias", state(), call("answer", answer="42"),
         Rewrite(call("final_answer", answer="42"))),
    Case("alias/known-name-kept", "tool-alias", state(), call("sql", query=COUNT), None),
    Case("alias/final_answer-kept", "tool-alias", state(), call("final_answer", answer="42"),
         None),
    Case("alias/unknown-tool", "tool-alias", state(), call("chart", kind="bar"), None),
    Case("alias/alias-of-absent-tool", "tool-alias", state(tools=("sql",)),
         call("python_code", code="1"), None),
    # query-as-answer
    Case("query/select-as-answer", "query-as-answer", state(), call("final_answer", answer=COUNT),
         Rewrite(call("sql", query=COUNT))),
    Case("query/with-as-answer", "query-as-answer", state(),
         call("final_answer", answer="WITH t AS (SELECT 1) SELECT * FROM t"),
         Rewrite(call("sql", query="WITH t AS (SELECT 1) SELECT * FROM t"))),
    Case("query/value-answer", "query-as-answer", state(), call("final_answer", answer="42"),
         None),
    Case("query/select-without-from", "query-as-answer", state(),
         call("final_answer", answer="select the North region"), None),
    Case("query/no-sql-tool", "query-as-answer", state(tools=("python",)),
         call("final_answer", answer=COUNT), None),
    Case("query/not-final-answer", "query-as-answer", state(), call("sql", query=COUNT), None),
    Case("query/list-answer", "query-as-answer", state(), call("final_answer", answer=[COUNT]),
         None),
    # repeat-is-answer
    Case("repeat/same-query-again", "repeat-is-answer", state(seen=[seen_sql(6, COUNT)]),
         call("sql", query=COUNT),
         Accept(6, via="result", source="repeated the call that computed it")),
    Case("repeat/respelled-query", "repeat-is-answer", state(seen=[seen_sql(6, COUNT)]),
         call("sql", query="select  count(*) from SALES;"),
         Accept(6, via="result", source="repeated the call that computed it")),
    # a query that fixes a literal's case is a new query, not a resend (DuckDB compares case)
    Case("repeat/literal-case-only-differs", "repeat-is-answer",
         state(seen=[seen_sql(0, "SELECT COUNT(*) FROM sales WHERE Region = 'north'")]),
         call("sql", query="SELECT COUNT(*) FROM sales WHERE Region = 'North'"), None),
    Case("repeat/keyword-case-spacing-semicolon-differ", "repeat-is-answer",
         state(seen=[seen_sql(6, "SELECT COUNT(*) FROM sales WHERE Region = 'North'")]),
         call("sql", query="select count(*)\n from sales where Region = 'North';"),
         Accept(6, via="result", source="repeated the call that computed it")),
    Case("repeat/before-any-step", "repeat-is-answer", state(), call("sql", query=COUNT), None),
    Case("repeat/final-answer-call", "repeat-is-answer", state(seen=[seen_sql(6, COUNT)]),
         call("final_answer", answer=6), None),
    Case("repeat/other-query", "repeat-is-answer", state(seen=[seen_sql(6, COUNT)]),
         call("sql", query="SELECT COUNT(*) FROM sales WHERE Year = 2024"), None),
    Case("repeat/other-tool", "repeat-is-answer", state(seen=[seen_sql(6, COUNT)]),
         call("python", query=COUNT), None),
    Case("repeat/last-failed", "repeat-is-answer", state(seen=[seen_error(BINDER, BAD)]),
         call("sql", query=BAD), None),
    Case("repeat/last-has-no-value", "repeat-is-answer",
         state(seen=[seen_sql(pd.DataFrame({"n": [6], "total": [584.75]}), COUNT)]),
         call("sql", query=COUNT), None),
    Case("repeat/not-the-last-step", "repeat-is-answer",
         state(seen=[seen_sql(6, COUNT), seen_sql(3, "SELECT COUNT(*) FROM sales WHERE Year=2024")]),
         call("sql", query=COUNT), None),
    # failed-call-not-rerun
    Case("failed/same-call-again", "failed-call-not-rerun", state(seen=[seen_error(BINDER, BAD)]),
         call("sql", query=BAD),
         like(Refuse, "You sent this same call before and it failed", BINDER,
              "sales(Region, Year, Product, Revenue)",
              "the same call failed before; not run again")),
    Case("failed/respelled-and-after-success", "failed-call-not-rerun",
         state(seen=[seen_error(BINDER, BAD), seen_sql(6, COUNT)]),
         call("sql", query="select sales from SALES;"), like(Refuse, BINDER)),
    Case("failed/before-any-step", "failed-call-not-rerun", state(), call("sql", query=BAD), None),
    Case("failed/other-query", "failed-call-not-rerun", state(seen=[seen_error(BINDER, BAD)]),
         call("sql", query=COUNT), None),
    Case("failed/same-args-other-tool", "failed-call-not-rerun",
         state(seen=[seen_error(BINDER, BAD)]), call("python", query=BAD), None),
    Case("failed/same-call-succeeded", "failed-call-not-rerun", state(seen=[seen_sql(6, COUNT)]),
         call("sql", query=COUNT), None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_call_rule(case: Case) -> None:
    assert_verdict(ask(case), case.expected)

"""Reply rules (agent/rules/replies.py), table-driven: a text reply with no tool call is taken
as the answer, or left for the loop to nudge."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_cases import Case, ask, assert_verdict, fired_ids, params, seen_error, seen_sql, state

from agent.rules.base import Accept

SIX = seen_sql(6, "SELECT COUNT(*) FROM sales")
REGIONS = seen_sql(["North", "South"], "SELECT DISTINCT Region FROM sales WHERE Product='Tea'")
WIDE = seen_sql(pd.DataFrame({"Region": ["North"], "Revenue": [350.5]}))
FAILED = seen_error("Binder Error: column not found")
LONG_200 = "North " + "x" * 194
LONG_300 = "North " + "x" * 294


def named(value: object, text: str) -> Accept:
    return Accept(value, via="result", source="result named in the reply", explanation=text)


def reply(value: object, text: str) -> Accept:
    return Accept(value, via="reply", source="text reply", explanation=text)


CASES = [
    # reply-names-result
    Case("names/number-in-sentence", "reply-names-result", state(seen=[SIX]),
         "There are 6 sales.", named(6, "There are 6 sales.")),
    Case("names/list-all-named", "reply-names-result", state(seen=[REGIONS]),
         "  North and South sold tea.\n", named(["North", "South"], "North and South sold tea.")),
    Case("names/text-inside-a-longer-word", "reply-names-result",  # substring match
         state(seen=[seen_sql("North")]), "Northeast had no sales.",
         named("North", "Northeast had no sales.")),
    Case("names/other-number", "reply-names-result", state(seen=[SIX]), "There are 7 sales.",
         None),
    Case("names/list-partly-named", "reply-names-result", state(seen=[REGIONS]),
         "North sold tea.", None),
    Case("names/before-any-step", "reply-names-result", state(), "There are 6 sales.", None),
    Case("names/result-without-value", "reply-names-result", state(seen=[WIDE]),
         "North made 350.5.", None),
    Case("names/error-text", "reply-names-result", state(seen=[SIX]), "ERROR 6 rows failed", None),
    Case("names/blank", "reply-names-result", state(seen=[SIX]), "   ", None),
    # short-reply-after-result
    Case("short/answer-is", "short-reply-after-result", state(seen=[SIX]),
         "The answer is North.", reply("North", "The answer is North.")),
    Case("short/plan-words-but-answer-is", "short-reply-after-result", state(seen=[WIDE]),
         "Let me say it: the answer is North", reply("North", "Let me say it: the answer is North")),
    Case("short/200-chars", "short-reply-after-result", state(seen=[SIX]), LONG_200,
         reply(LONG_200, LONG_200)),
    Case("short/201-chars", "short-reply-after-result", state(seen=[SIX]), LONG_200 + "x", None),
    Case("short/plan", "short-reply-after-result", state(seen=[SIX]),
         "Let me check the totals by region first.", None),
    Case("short/ends-with-colon", "short-reply-after-result", state(seen=[SIX]),
         "The regions are:", None),
    Case("short/before-any-step", "short-reply-after-result", state(), "North", None),
    Case("short/only-failures", "short-reply-after-result", state(seen=[FAILED]), "North", None),
    Case("short/error-text", "short-reply-after-result", state(seen=[SIX]), "ERROR: no table",
         None),
    # reply-after-nudge
    Case("nudge/short-reply", "reply-after-nudge", state(nudged=True), "42", reply("42", "42")),
    Case("nudge/final-answer-line", "reply-after-nudge", state(nudged=True),
         "Final answer: North", reply("North", "Final answer: North")),
    Case("nudge/300-chars", "reply-after-nudge", state(nudged=True), LONG_300,
         reply(LONG_300, LONG_300)),
    Case("nudge/301-chars", "reply-after-nudge", state(nudged=True), LONG_300 + "x", None),
    Case("nudge/not-nudged", "reply-after-nudge", state(seen=[SIX]), "42", None),
    Case("nudge/plan", "reply-after-nudge", state(nudged=True), "I need to look at the table.",
         None),
    Case("nudge/question-back", "reply-after-nudge", state(nudged=True),
         "Which year do you mean?", None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_reply_rule(case: Case) -> None:
    assert_verdict(ask(case), case.expected)

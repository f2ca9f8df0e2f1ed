"""Shape rules (agent/rules/shaping.py), table-driven: the answer's value is replaced by a
computed result or given the question's shape, or kept."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_cases import (
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

from agent.rules.base import Replace

SIX = seen_sql(6, "SELECT COUNT(*) FROM sales")
TOTALS = seen_sql(pd.DataFrame({"Region": ["North", "South"], "Revenue": [350.5, 179.0]}),
                  "SELECT Region, SUM(Revenue) AS Revenue FROM sales GROUP BY Region")
REGIONS = seen_sql(["North", "South", "East"], "SELECT DISTINCT Region FROM sales")
YEARS = seen_sql([2023, 2024], "SELECT DISTINCT Year FROM sales")
FAILED = seen_error("Binder Error: column not found")

WHICH = "Which regions sold tea?"
HOW_MANY = "How many regions sold tea?"



CASES = [
    # reference-takes-result
    Case("reference/see-above", "reference-takes-result", state(seen=[SIX]), answer("see above"),
         Replace(6)),
    Case("reference/none", "reference-takes-result", state(seen=[SIX]), answer(None), Replace(6)),
    Case("reference/reply-empty", "reference-takes-result", state(seen=[REGIONS]),
         answer("", "reply"), Replace(["North", "South", "East"])),
    Case("reference/stated-value", "reference-takes-result", state(seen=[SIX]), answer("6"),
         None),
    Case("reference/no-result-value", "reference-takes-result", state(seen=[TOTALS]),
         answer("see above"), None),
    Case("reference/before-any-step", "reference-takes-result", state(), answer(None), None),
    Case("reference/from-result", "reference-takes-result", state(seen=[SIX]),
         answer(None, "result"), None),
    # ungrounded-number
    Case("ungrounded/invented-number", "ungrounded-number", state(seen=[SIX]), answer(7),
         Replace(6, "the model said 7; the computed result 6 is used")),
    Case("ungrounded/after-later-failure", "ungrounded-number", state(seen=[SIX, FAILED]),
         answer(7.5), Replace(6, "the model said 7.5; the computed result 6 is used")),
    Case("ungrounded/the-result", "ungrounded-number", state(seen=[SIX]), answer(6), None),
    Case("ungrounded/shown-in-an-earlier-result", "ungrounded-number", state(seen=[TOTALS, SIX]),
         answer(350.5), None),
    Case("ungrounded/text-answer", "ungrounded-number", state(seen=[SIX]), answer("seven"), None),
    Case("ungrounded/bool-answer", "ungrounded-number", state(seen=[SIX]), answer(True), None),
    Case("ungrounded/list-result", "ungrounded-number", state(seen=[REGIONS]), answer(7), None),
    Case("ungrounded/from-result", "ungrounded-number", state(seen=[SIX]), answer(7, "result"),
         None),
    Case("ungrounded/before-any-step", "ungrounded-number", state(), answer(7), None),
    # count-for-values
    Case("count/count-of-listed-values", "count-for-values", state(WHICH, seen=[REGIONS]),
         answer(3), Replace(["North", "South", "East"], "the model gave the number of values "
                            "(3); the question asks for the values")),
    Case("count/how-many-question", "count-for-values", state(HOW_MANY, seen=[REGIONS]),
         answer(3), None),
    Case("count/other-number", "count-for-values", state(WHICH, seen=[REGIONS]), answer(2),
         None),
    Case("count/numeric-values", "count-for-values", state("Which years had sales?",
                                                           seen=[YEARS]), answer(2), None),
    Case("count/single-value-result", "count-for-values", state(WHICH, seen=[SIX]), answer(1),
         None),
    Case("count/from-result", "count-for-values", state(WHICH, seen=[REGIONS]),
         answer(3, "result"), None),
    # all-of-list
    Case("all/one-of-several", "all-of-list", state(WHICH, seen=[REGIONS]), answer("north"),
         Replace(["North", "South", "East"], "the model named north; the question asks for all "
                 "3 values the query returned")),
    Case("all/two-of-three", "all-of-list", state(WHICH, seen=[REGIONS]),
         answer(["North", "East"]), Replace(
             ["North", "South", "East"], "the model named North, East; the question asks for all "
             "3 values the query returned")),
    Case("all/whole-list", "all-of-list", state(WHICH, seen=[REGIONS]),
         answer(["East", "South", "North"]), None),
    Case("all/not-in-result", "all-of-list", state(WHICH, seen=[REGIONS]), answer("West"), None),
    Case("all/asks-for-one", "all-of-list", state("What is the top region?", seen=[REGIONS]),
         answer("North"), None),
    Case("all/one-value-result", "all-of-list", state(WHICH, seen=[seen_sql(["North"])]),
         answer("North"), None),
    Case("all/from-result", "all-of-list", state(WHICH, seen=[REGIONS]),
         answer("North", "result"), None),
    # question-shape
    Case("shape/count-the-list", "question-shape", state(HOW_MANY), answer(["North", "South"]),
         Replace(2, "counted the 2 values listed")),
    Case("shape/count-from-text", "question-shape", state("How many times did North sell tea?"),
         answer("3 times"), Replace(3, "")),
    Case("shape/positive-difference", "question-shape",
         state("What is the difference in revenue between South and North?"), answer(-171.5),
         Replace(171.5, "a difference is stated as a positive number")),
    Case("shape/yes-no", "question-shape", state("Did North sell tea?"), answer(True),
         Replace("yes", "")),
    Case("shape/one-of-them", "question-shape", state("Name one region that sold tea."),
         answer(["North", "South"]), Replace("North", "the question asks for one of them")),
    Case("shape/option-named", "question-shape", state("Who sold more, north or south?"),
         answer("North region"), Replace("north", "North region is the question's 'north'")),
    Case("shape/count-already-number", "question-shape", state(HOW_MANY), answer(2), None),
    Case("shape/plain-text", "question-shape", state("Which region sold the most?"),
         answer("North"), None),
    Case("shape/positive-difference-kept", "question-shape",
         state("What is the difference in revenue between North and South?"), answer(171.5),
         None),
    Case("shape/negative-not-a-difference", "question-shape", state("What is the lowest change?"),
         answer(-3), None),
]

FIRES = fired_ids(CASES)


@pytest.mark.parametrize("case", params(CASES))
def test_shape_rule(case: Case) -> None:
    assert_verdict(ask(case), case.expected)

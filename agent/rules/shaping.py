"""Answer shaping: the loop computes, so the answer's value is checked against the results and
given the shape the question asks for. Applied in order, each to the value the previous left.
Signature: ``(state, proposed) -> Replace | None``.
"""

from __future__ import annotations

from typing import Any

from agent.rules.base import Proposed, Replace, Rule, RunState, rule
from agent.values import (
    asks_for_many,
    format_value,
    is_count_question,
    is_reference,
    numbers_in,
    shape_for_question,
)


@rule("reference-takes-result", "shape", "an empty or 'see above' answer takes the last "
      "computed result")
def reference_takes_result(state: RunState, proposed: Proposed) -> Replace | None:
    value, has_value = state.last_value()
    if proposed.from_model and has_value and is_reference(proposed.raw):
        return Replace(value)
    return None


@rule("ungrounded-number", "shape", "a number the model states that no tool computed is "
      "replaced by the computed result")
def ungrounded_number(state: RunState, proposed: Proposed) -> Replace | None:
    value, has_value = state.last_value()
    answer = proposed.value
    if not (proposed.from_model and has_value and is_number(answer) and is_number(value)):
        return None
    if grounded(answer, state):
        return None
    return Replace(value, f"the model said {format_value(answer)}; the computed result "
                          f"{format_value(value)} is used")


@rule("count-for-values", "shape", "the number of values given where the question asks for "
      "the values is replaced by the values")
def count_for_values(state: RunState, proposed: Proposed) -> Replace | None:
    value, has_value = state.last_value()
    answer = proposed.value
    if not (proposed.from_model and has_value and isinstance(value, list) and is_number(answer)):
        return None
    if answer != len(value) or is_count_question(state.question) or any(
            is_number(v) for v in value):
        return None
    return Replace(value, f"the model gave the number of values ({format_value(answer)}); the "
                          "question asks for the values")


@rule("all-of-list", "shape", "some of a listed result given where the question asks for "
      "several is replaced by the whole list")
def all_of_list(state: RunState, proposed: Proposed) -> Replace | None:
    value, has_value = state.last_value()
    if not (proposed.from_model and has_value and part_of(proposed.value, value)
            and asks_for_many(state.question)):
        return None
    return Replace(value, f"the model named {format_value(proposed.value)}; the question asks "
                          f"for all {len(value)} values the query returned")


@rule("question-shape", "shape", "the value takes the question's shape: 'how many' a number, a "
      "difference positive, yes/no, or the option the question names")
def question_shape(state: RunState, proposed: Proposed) -> Replace | None:
    shaped, note = shape_for_question(state.question, proposed.value)
    if note or shaped != proposed.value:
        return Replace(shaped, note)
    return None


def is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def grounded(number: float, state: RunState) -> bool:
    for seen in state.seen:
        if seen.error is None and any(abs(n - number) <= 1e-6 * max(1.0, abs(number))
                                      for n in numbers_in(seen.output)):
            return True
    return False


def part_of(answer: Any, result: Any) -> bool:
    """``answer`` is some, not all, of the items of a list ``result``."""
    if not isinstance(result, list) or len(result) < 2:
        return False
    items = answer if isinstance(answer, list) else [answer]
    key = [str(v).strip().casefold() for v in result]
    picked = [str(v).strip().casefold() for v in items]
    return 0 < len(set(picked)) < len(set(key)) and set(picked) <= set(key)


RULES: tuple[Rule, ...] = (reference_takes_result, ungrounded_number, count_for_values,
                           all_of_list, question_shape)

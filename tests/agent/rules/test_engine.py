"""The engine (agent/rules/engine.py): one test per way the loop asks a rule set: rewrites
chain, the first accept/refusal/reply wins, a send-back happens once per rule, shapes chain in
registry order, observation hints add up."""

from __future__ import annotations

import pytest
from rule_cases import MESSAGES, call, seen_error, seen_sql, state

from agent.informer import Informer
from agent.rules import select
from agent.rules.base import Accept, Hint, Proposed, Refuse, RunState, SendBack, Stop
from agent.rules.engine import Engine

COUNT = "SELECT COUNT(*) FROM sales"
BAD = "SELECT Sales FROM sales"
BINDER = 'Binder Error: Referenced column "Sales" not found'


def engine(run_state: RunState, rules: str | None = None, without: str | None = None) -> Engine:
    return Engine(select(rules, without=without), lambda: run_state)


@pytest.mark.parametrize(("without", "expected", "fired"), [
    pytest.param(None, call("sql", query=COUNT), ["tool-alias", "query-as-answer"],
                 id="alias-then-query"),
    pytest.param("query-as-answer", call("final_answer", answer=COUNT), ["tool-alias"],
                 id="alias-only"),
    pytest.param("tool-alias", call("answer", answer=COUNT), [], id="no-alias-no-query"),
])
def test_rewrite_chains_each_rule_on_the_call_before(without: str | None, expected: object,
                                                     fired: list[str]) -> None:
    rules = engine(state(tools=("sql",)), without=without)
    assert rules.rewrite(call("answer", answer=COUNT)) == (expected, fired)


def test_accept_takes_a_repeated_call_as_the_answer() -> None:
    run_state = state(seen=[seen_sql(6, COUNT)])
    found = engine(run_state).accept(call("sql", query=COUNT))
    assert found is not None
    assert found[0].id == "repeat-is-answer"
    assert found[1] == Accept(6, via="result", source="repeated the call that computed it")
    assert engine(run_state, without="repeat-is-answer").accept(call("sql", query=COUNT)) is None
    assert engine(run_state).accept(call("sql", query=BAD)) is None


def test_refusal_keeps_a_failed_call_from_running_again() -> None:
    run_state = state(seen=[seen_error(BINDER, BAD)])
    found = engine(run_state).refusal(call("sql", query=BAD))
    assert found is not None and found[0].id == "failed-call-not-rerun"
    assert isinstance(found[1], Refuse) and BINDER in found[1].observation
    assert engine(run_state).refusal(call("sql", query=COUNT)) is None
    assert engine(run_state, without="call").refusal(call("sql", query=BAD)) is None


def test_reply_asks_the_reply_rules_in_order() -> None:
    run_state = state(seen=[seen_sql(6, COUNT)], nudged=True)
    first = engine(run_state).reply("There are 6 sales.")
    assert first is not None and first[0].id == "reply-names-result"
    assert first[1].raw == 6 and first[1].via == "result"
    second = engine(run_state, without="reply-names-result").reply("There are 6 sales.")
    assert second is not None and second[0].id == "short-reply-after-result"
    assert second[1].raw == "There are 6 sales" and second[1].via == "reply"
    third = engine(run_state, "reply-after-nudge").reply("There are 6 sales.")
    assert third is not None and third[0].id == "reply-after-nudge"
    assert engine(run_state).reply("Let me look at the regions first.") is None


def test_check_sends_back_once_per_rule_but_always_stops() -> None:
    fresh = state(text=True)
    first = engine(fresh).check(Proposed("42", "42"))
    assert first is not None
    assert (first[0].id, first[1]) == ("look-before-answering", SendBack(MESSAGES["check_first"]))
    again = state(text=True, fired=("look-before-answering",))
    assert engine(again).check(Proposed("42", "42")) is None
    error = "Error: no such table"
    stop = engine(state(text=True, fired=("look-before-answering", "error-as-answer"))).check(
        Proposed(error, error))
    assert stop is not None and stop[0].id == "error-as-answer" and isinstance(stop[1], Stop)


def test_shape_chains_in_registry_order() -> None:
    run_state = state("How many regions sold tea?",
                      seen=[seen_sql(["North", "South"], "SELECT DISTINCT Region FROM sales")])
    shaped = engine(run_state).shape(Proposed("see above", "see above"))
    assert shaped == (2, [("reference-takes-result", ""),
                          ("question-shape", "counted the 2 values listed")])
    alone = engine(run_state, without="question-shape").shape(Proposed("see above", "see above"))
    assert alone == (["North", "South"], [("reference-takes-result", "")])
    assert engine(run_state, "none").shape(Proposed("see above", "see above")) == (
        "see above", [])


def test_observe_adds_each_hint_and_its_rule(informer: Informer) -> None:
    run_state = state(text=True)
    seen, hints = engine(run_state).observe(seen_sql(6, COUNT))
    assert seen.rules == ("result-may-answer",)
    assert hints == Hint(MESSAGES["observation_hint"]).text
    with_lookups = state(text=True, informer=informer)
    zero = seen_sql(0, "SELECT COUNT(*) AS n FROM sales WHERE Region = 'Nort'")
    seen, hints = engine(with_lookups).observe(zero)
    assert seen.rules == ("empty-result-values",)  # its hint keeps result-may-answer quiet
    assert "'Nort' is not a value of Region" in hints
    assert MESSAGES["observation_hint"] not in hints

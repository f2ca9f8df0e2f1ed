"""Typed answer values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from agent.values import coerce_answer, frame_value, mentions, parse_text_value, to_value


def test_text_values_are_typed() -> None:
    assert parse_text_value("1,234") == 1234 and parse_text_value("3.50") == 3.5
    assert parse_text_value("March 1, 2024") == "2024-03-01"
    assert parse_text_value("'Oslo'") == "Oslo" and parse_text_value("12%") == "12%"
    assert parse_text_value("1,2,3") == "1,2,3"


def test_python_and_numpy_values() -> None:
    assert to_value(np.int64(3)) == 3 and to_value(np.float64(2.0)) == 2
    assert to_value(pd.Timestamp("2024-05-01")) == "2024-05-01"
    assert to_value(dt.datetime(2024, 5, 1, 13, 30)) == "2024-05-01T13:30:00"
    assert to_value(float("nan")) is None and to_value(pd.NA) is None


def test_answers_and_frames() -> None:
    assert coerce_answer(["1", "b"]) == [1, "b"] and coerce_answer(["x"]) == "x"
    assert coerce_answer({"answer": "7"}) == 7
    assert frame_value(pd.DataFrame({"n": [5]})) == (True, 5)
    assert frame_value(pd.DataFrame({"c": ["a", "b"]})) == (True, ["a", "b"])
    assert frame_value(pd.DataFrame({"a": [1], "b": [2]}))[0] is False


def test_mentions() -> None:
    assert mentions("The total is 12,611,000.", 12611000)
    assert mentions("It is Berlin", "berlin") and not mentions("It is Bern", "Berlin")
    assert mentions("Oslo and Rome", ["Oslo", "Rome"]) and not mentions("Oslo", ["Oslo", "Rome"])


def test_other_questions_leave_out_what_they_name() -> None:
    from agent.values import shape_for_question

    q = "vajiravhud went to college at christ church. who is the other monarch that went there?"
    value, note = shape_for_question(q, ["Vajiravhud", "Andrew Bertie"])
    assert value == "Andrew Bertie" and "Vajiravhud" in note
    assert shape_for_question("which cities other than oslo won?", ["Oslo", "Bergen", "Lyon"])[
        0] == ["Bergen", "Lyon"]
    # without 'other', or when every item is named, the list stays whole
    assert shape_for_question("which cities won?", ["Oslo", "Bergen"])[0] == ["Oslo", "Bergen"]
    assert shape_for_question("besides oslo and bergen?", ["Oslo", "Bergen"])[0] == [
        "Oslo", "Bergen"]
    # a short or partial mention is not a naming: 'os' is not Oslo
    assert shape_for_question("other than os?", ["Oslo", "Bergen"])[0] == ["Oslo", "Bergen"]


def test_plural_questions() -> None:
    from agent.values import asks_for_many

    for q in ["which schools have at least 40 finals appearances?", "who were the runners up?",
              "list all players from spain", "what countries have at least 3 gold medals?"]:
        assert asks_for_many(q), q
    for q in ["which school has the most titles?", "which team had the most transfers away?",
              "what series ran the longest?", "name a school with 40 finals",
              "which address is listed first?"]:
        assert not asks_for_many(q), q


def test_a_step_shown_to_people_drops_what_was_said_to_the_model_only() -> None:
    from agent.answer import Step
    from agent.prompting import messages_text

    hint = messages_text()["observation_hint"]
    step = Step(1, "sql", {"query": "SELECT 1"},
                f"(3 of 5 drafts of this query gave this result)\n| n |\n| 42 |{hint}")
    assert step.shown == "| n |\n| 42 |"
    failed = Step(2, "sql", {"query": "SELECT x"}, "ERROR: no column x", error="no column x")
    assert failed.shown == "no column x"

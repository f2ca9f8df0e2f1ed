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

"""Column typing on raw values, one rule at a time."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from table_io.cell_types import decimal_comma, display_text, kind_of, parse_number, type_column


@pytest.mark.parametrize(
    ("text", "value"),
    [("12,345", 12345), ("8%", 0.08), ("$1.2k", 1200), ("(1,234)", -1234), ("-7.5", -7.5),
     ("€3M", 3e6), ("1 234,5", 1234.5), ("1e3", 1000), ("+4", 4), ("−2", -2), ("$-5", -5)],
)
def test_parse_number(text, value):
    assert parse_number(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["100m", "007", "12 (3)", "1,23,4", "abc", "(5", "1.2.3"])
def test_not_numbers(text):
    assert parse_number(text) is None


def test_european_numbers_when_the_column_says_so():
    assert decimal_comma(["1.234,56", "12,5"]) and not decimal_comma(["1,234.56", "1,234"])
    assert parse_number("1.234,56", european=True) == 1234.56
    assert type_column(["1.234", "2,5"]).tolist() == [1234.0, 2.5]


def test_whole_numbers_become_integers_with_missing_values():
    s = type_column([1.0, "", 3.0])
    assert str(s.dtype) == "Int64" and s.tolist()[0] == 1 and pd.isna(s[1])


def test_text_dates_day_first_only_when_needed():
    assert type_column(["03/04/2024", "05/06/2024"]).tolist()[0] == pd.Timestamp("2024-03-04")
    assert type_column(["03/04/2024", "25/06/2024"]).tolist()[0] == pd.Timestamp("2024-04-03")
    assert type_column(["12.01.2023", "13.02.2023"]).tolist()[1] == pd.Timestamp("2023-02-13")
    assert type_column(["5 Jan 2020", "N/A"]).tolist()[0] == pd.Timestamp("2020-01-05")


def test_excel_serials_in_a_date_column_only():
    assert kind_of(type_column([45000.0, 45001.0], "Invoice Date")) == "date"
    assert kind_of(type_column([45000.0, 45001.0], "Amount")) == "integer"


def test_mixed_text_stays_text_as_written():
    s = type_column(["12", "twelve", 3.0, dt.date(2020, 1, 2), None])
    assert s.dtype == "str"
    assert s.tolist()[:4] == ["12", "twelve", "3", "2020-01-02"] and pd.isna(s[4])


def test_display_text():
    assert display_text(3.0) == "3" and display_text(2.5) == "2.5" and display_text(True) == "TRUE"
    assert display_text(dt.datetime(2020, 1, 2, 3, 4)) == "2020-01-02 03:04:00"


@given(st.lists(st.integers(min_value=-10**9, max_value=10**9), min_size=1, max_size=30))
def test_formatted_integers_round_trip(values):
    texts = [f"{v:,}" if v >= 0 else f"({-v:,})" for v in values]
    assert type_column(texts).tolist() == values


@given(st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).map(lambda x: round(x, 2)), min_size=1, max_size=30))
def test_plain_floats_round_trip(values):
    assert type_column([float(v) for v in values]).astype(float).tolist() == pytest.approx(values)

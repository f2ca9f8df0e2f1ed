"""Typing and Total-row removal never lose what the source says: unit cases for each bug found by
``benchmarks/audit_wikitq_typing.py``, and a small fixed sample of WikiTQ tables."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from table_io import open_workbook
from table_io.cell_types import decimal_comma, is_empty_marker, kind_of, type_column
from table_io.model import column_index

DATA = Path(os.environ.get("TABLEPILOT_DATA") or Path(__file__).resolve().parents[2].parent / "shared" / "data")
WIKITQ = DATA / "wikitq" / "csv"


def test_one_odd_value_does_not_make_thousands_into_decimals():
    # "13,5000" is a typo; "17,189" is seventeen thousand, not 17.189
    assert not decimal_comma(["17,189", "6,902", "13,5000", "3,943"])
    s = type_column(["-", "17,189", "6,902", "13,5000"], "Attendance")
    assert kind_of(s) == "text" and s.tolist()[1] == "17,189"
    assert decimal_comma(["39,6", "31,54", "12,41"])  # a real decimal-comma column still is
    assert type_column(["39,6", "31,54", "1.234,5"]).tolist() == [39.6, 31.54, 1234.5]


def test_percentages_mixed_with_plain_amounts_stay_text():
    s = type_column(["837.27", "22.7%", "506.89", "13.7%"], "Area")
    assert kind_of(s) == "text" and s.tolist()[1] == "22.7%"
    assert type_column(["5%", "0", "7.5%"]).tolist() == [0.05, 0.0, 0.075]  # a zero is fine


def test_parentheses_in_a_rank_column_are_not_negatives():
    s = type_column(["1", "2", "3", "(2)"], "#")
    assert kind_of(s) == "text" and s.tolist()[3] == "(2)"
    assert type_column(["1,200", "(300)"], "Net").tolist() == [1200, -300]


def test_two_digit_years_are_not_put_in_the_future():
    s = type_column(["27-Jan-68", "13-Apr-75", "02-Mar-05"], "Date")
    assert [d.year for d in s] == [1968, 1975, 2005]


def test_numbers_with_only_empty_marker_text_are_numbers():
    s = type_column(["n/a", 20.0, 30.0, "TBD"], "Score")
    assert kind_of(s) == "integer" and s.isna().tolist() == [True, False, False, True]


@pytest.mark.parametrize("text", ["1st", "2-1", "1999–2000", "12 (3)", "5'11", "1:23.45", "3rd place"])
def test_text_that_is_not_a_number_or_date_stays_as_written(text):
    s = type_column([text, "4", "5"], "Result")
    assert kind_of(s) == "text" and s.tolist()[0] == text


def test_years_are_integers():
    assert type_column(["1998", "2004", "2010"], "Year").tolist() == [1998, 2004, 2010]


def _lossy_columns(path: Path) -> list[str]:
    book = open_workbook(path)
    table = book.tables[0]
    grid = book.grids[table.sheet].values
    rows = np.asarray(table.row_numbers) - 1
    out = []
    for col, letter in zip(table.columns, table.column_letters, strict=True):
        if table.meta["column_types"][col] == "text":
            continue
        raw = grid[rows, column_index(letter) - 1].tolist()
        for source, value in zip(raw, table.frame[col].tolist(), strict=True):
            if not is_empty_marker(source) and pd.isna(value):
                out.append(f"{path.name} {col}: {source!r} became missing")
                break
            if isinstance(source, str) and not is_empty_marker(source) and re.search(r"[A-Za-z]{2}|–|\d\s*\(", source) and kind_of(table.frame[col]) != "date":
                out.append(f"{path.name} {col}: {source!r} typed as {value!r}")
                break
    return out


@pytest.mark.skipif(not WIKITQ.is_dir(), reason=f"WikiTQ data not found at {WIKITQ}")
def test_a_fixed_sample_of_wikitq_tables_loses_nothing():
    files = sorted(WIKITQ.glob("*/*.csv"))[::50]
    assert len(files) >= 30
    problems = [p for path in files for p in _lossy_columns(path)]
    assert not problems, problems[:10]


@pytest.mark.skipif(not WIKITQ.is_dir(), reason=f"WikiTQ data not found at {WIKITQ}")
def test_wikitq_tables_that_broke_before():
    def table(name: str):
        return open_workbook(WIKITQ / name).tables[0]

    t = table("204-csv/795.csv")
    assert t.frame["Attendance"].tolist()[2] == "17,189"
    t = table("203-csv/694.csv")
    assert t.frame["#"].tolist()[3] == "(2)"
    t = table("200-csv/33.csv")
    assert kind_of(t.frame["Population"]) == "text"
    t = table("204-csv/350.csv")
    assert all(d.year < 2000 for d in t.frame["Date"].dropna())
    # a row named "Total rejected ballots" that adds up nothing is data; "Total valid votes" is a total
    t = table("202-csv/125.csv")
    labels = t.frame.iloc[:, 0].tolist() + (t.total_rows.iloc[:, 0].tolist() if t.total_rows is not None else [])
    assert "Total rejected ballots" in t.frame.iloc[:, 0].tolist()
    assert "Total valid votes" in labels and "Total valid votes" not in t.frame.iloc[:, 0].tolist()
    # a total whose label is in the second column (the first is a blank rank) is a total
    t = table("204-csv/703.csv")
    assert t.total_rows is not None and t.frame["Total"].sum() == 18


def test_many_rows_named_total_something_are_names_and_stay_fast():
    from table_io.detect import SheetDetector

    values = np.array([["Product", "Units"]] + [[f"Total Care {i % 3}", i] for i in range(3000)], dtype=object)
    assert SheetDetector(values).total_rows(1, 3000, 0, 1) == []

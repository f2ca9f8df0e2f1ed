"""TAP4LLM packing on real workbooks: budgets hold, named rows are shown, what is left out is said."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from table_io import open_workbook
from tools.tap import TapTool, find_matches, pack_table, pack_workbook, question_terms, sample_rows
from tools.tap.sampling import strategy_rows
from tools.tokens import estimate_tokens


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 100_000
    cities = np.array(["Oslo", "Bergen", "Paris", "Lyon", "Berlin", "Hamburg", "Madrid", "Rome"])
    frame = pd.DataFrame({
        "order_id": np.arange(1, n + 1),
        "customer": [f"Customer {i:05d}" for i in rng.integers(0, 30_000, n)],
        "city": cities[rng.integers(0, len(cities), n)],
        "amount": rng.normal(100, 30, n).round(2),
        "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
    })
    frame.loc[77_777, "customer"] = "Zebulon Quartz"
    frame.loc[12_345, "customer"] = "Ada Lovelace Ltd"
    return frame


@pytest.fixture(scope="module")
def big_workbook(orders: pd.DataFrame):
    return open_workbook(orders)


@pytest.mark.parametrize("budget", [500, 2000, 8000])
def test_100k_rows_fit_each_budget_and_show_the_named_rows(big_workbook, budget: int) -> None:
    question = "What did Zebulon Quartz and Ada Lovelace Ltd order, and for what amount?"
    view = pack_workbook(big_workbook, question, budget_tokens=budget)
    assert view.tokens <= budget
    assert estimate_tokens(view.text) == view.tokens
    assert "Zebulon Quartz" in view.text and "Ada Lovelace Ltd" in view.text
    table = big_workbook.tables[0]
    # the rows are pointed at by their sheet row numbers
    assert f"| {table.row_numbers[77_777]} |" in view.text
    assert table.cell(77_777, "customer") in view.cells
    assert any("rows not shown" in o for o in view.omitted)
    assert "more rows not shown; use sql" in view.text


@pytest.mark.parametrize("budget", [500, 2000, 8000])
def test_budget_holds_with_a_stricter_counter(big_workbook, budget: int) -> None:
    def strict(text: str) -> int:  # a tokenizer that charges one token per 2 characters
        return (len(text) + 1) // 2

    view = pack_workbook(big_workbook, "orders from Oslo in 2021", budget_tokens=budget,
                         count_tokens=strict)
    assert view.tokens == strict(view.text) <= budget


@pytest.mark.parametrize("fmt", ["markdown", "csv", "html", "json"])
def test_every_format_fits_and_keeps_the_row_column(big_workbook, fmt: str) -> None:
    view = pack_workbook(big_workbook, "Zebulon Quartz", budget_tokens=1000, fmt=fmt)
    assert view.tokens <= 1000
    assert "Zebulon Quartz" in view.text
    if fmt == "json":
        lines = [ln for ln in view.text.splitlines() if ln.startswith("{")]
        assert all("row" in json.loads(ln) for ln in lines)
    elif fmt == "csv":
        assert "\nrow,order_id," in view.text
    elif fmt == "html":
        assert "<th>row</th>" in view.text and view.text.count("<table>") == 1


def test_augmentation_describes_columns_and_matches(big_workbook) -> None:
    view = pack_workbook(big_workbook, "How many orders from Oslo in 2021?", budget_tokens=2000)
    text = view.text
    assert "100,000 rows" in text and "cells A1:" in text
    assert "city (text; values:" in text and "Oslo" in text
    assert "amount (number;" in text and "date (date; 2020-01-01 to" in text
    assert 'Question terms found in cells: "Oslo" = city "Oslo"' in text
    assert '"2021" = date "year 2021"' in text


def test_tiny_budget_never_exceeds(big_workbook) -> None:
    for budget in (1, 10, 40, 120):
        view = pack_workbook(big_workbook, "Zebulon", budget_tokens=budget)
        assert view.tokens <= budget


def test_small_table_is_shown_whole(tmp_path: Path) -> None:
    frame = pd.DataFrame({"Country": ["Norway", "France"], "Capital": ["Oslo", "Paris"]})
    view = pack_table(open_workbook(frame).tables[0], "capital of France", budget_tokens=500)
    assert "Norway" in view.text and "Paris" in view.text
    assert not any("rows not shown" in o for o in view.omitted)


def test_xlsx_workbook_with_two_sheets_gives_the_relevant_table_more(tmp_path: Path) -> None:
    path = tmp_path / "two.xlsx"
    rng = np.random.default_rng(1)
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        pd.DataFrame({"player": [f"Player {i}" for i in range(300)] + ["Kylian Mbappe"],
                      "goals": list(rng.integers(0, 30, 301))}).to_excel(writer, sheet_name="Scorers", index=False)
        pd.DataFrame({"club": [f"Club {i}" for i in range(300)],
                      "points": list(rng.integers(0, 90, 300))}).to_excel(writer, sheet_name="Clubs", index=False)
    wb = open_workbook(path)
    view = pack_workbook(wb, "How many goals did Kylian Mbappe score?", budget_tokens=1200)
    assert view.tokens <= 1200
    assert "Kylian Mbappe" in view.text
    assert "Workbook tables:" in view.text
    scorers = next(t.name for t in wb.tables if t.sheet == "Scorers")
    clubs = next(t.name for t in wb.tables if t.sheet == "Clubs")
    assert len(view.rows.get(scorers, [])) >= len(view.rows.get(clubs, []))


def test_question_terms_and_matching() -> None:
    terms = question_terms('Which team won "Copa del Rey" in 1998 against Real Madrid?')
    assert "Copa del Rey" in terms and "Real Madrid" in terms and "1998" in terms
    assert "which" not in [t.lower() for t in terms]
    frame = pd.DataFrame({"team": ["Real Madrid", "Barcelona", "Real Madrid CF"],
                          "year": [1998, 1999, 2000], "cup": ["Copa del Rey", "Liga", "Copa del Rey"]})
    kinds = {(m.column, m.value, m.kind) for m in find_matches(frame, "Real Madrid Copa del Rey 1998")}
    assert ("team", "Real Madrid", "exact") in kinds
    assert ("team", "Real Madrid CF", "word") in kinds
    assert ("year", "1998", "number") in kinds


def test_fuzzy_match_finds_a_misspelled_value() -> None:
    frame = pd.DataFrame({"city": ["Amsterdam", "Rotterdam", "Utrecht"] * 10, "n": range(30)})
    matches = find_matches(frame, "population of Amsterdm")
    assert any(m.kind == "fuzzy" and m.value == "Amsterdam" for m in matches)


def test_named_rows_come_first_then_the_strategy() -> None:
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(1000)], "v": range(1000)})
    frame.loc[500, "name"] = "target"
    sample = sample_rows(frame, "what is the value of target", limit=20)
    assert sample.rows[0] == 500 and sample.named_rows == [500]
    assert len(sample.rows) == 20


@pytest.mark.parametrize("strategy", ["even", "head_tail", "random"])
def test_strategies_give_distinct_rows_in_range(strategy: str) -> None:
    rows = strategy_rows(1000, 50, strategy, seed=3)
    assert len(rows) == len(set(rows)) == 50
    assert all(0 <= r < 1000 for r in rows)
    if strategy == "head_tail":
        assert 0 in rows and 999 in rows
    if strategy == "even":
        assert max(rows[:10]) - min(rows[:10]) > 500  # any prefix is spread out


def test_tap_tool_protocol(big_workbook) -> None:
    tool = TapTool(big_workbook)
    result = tool({"question": "Zebulon Quartz", "budget_tokens": 600})
    assert result.ok and "Zebulon Quartz" in result.observation
    assert result.payload["tokens"] <= 600
    assert result.tables == [big_workbook.tables[0].name]
    bad = tool({"question": "x", "table": "nope"})
    assert bad.error is not None and "unknown table" in bad.error.message


def test_column_formatting_matches_cell_formatting() -> None:
    from tools.tap.formats import format_column, format_value

    frame = pd.DataFrame({
        "int": [1, 2, 3, 4],
        "float": [1.5, float("nan"), 3.0, 1e-7],
        "date": pd.to_datetime(["2020-01-01", None, "2021-05-06", "2022-12-31"]),
        "stamp": pd.to_datetime(["2020-01-01 10:30", None, "2021-05-06", "2022-12-31"], format="mixed"),
        "text": ["a  b", None, "x" * 80, "line\nbreak"],
        "obj": pd.Series([1, "two", None, 2.5], dtype=object),
        "flag": [True, False, True, False],
    })
    for col in frame.columns:
        assert format_column(frame[col], 40) == [format_value(v, 40) for v in frame[col].tolist()], col


def test_huge_file_loaded_by_duckdb_is_packed_from_its_head(tmp_path: Path) -> None:
    from table_io.model import Sheet, Table, Workbook
    from tools.sql import SqlTool

    path = tmp_path / "big.csv"
    full = pd.DataFrame({"id": np.arange(50_000), "name": [f"n{i}" for i in range(50_000)]})
    full.to_csv(path, index=False)
    head = full.head(500)
    table = Table(name="big", sheet="big", range="A1:B50001", header_rows=[1], columns=["id", "name"],
                  frame=head, row_numbers=list(range(2, 502)), duckdb_source=path,
                  meta={"n_rows": 50_000, "head_sample": True})
    wb = Workbook(source="big.csv", format="csv", sheets=[Sheet("big")], tables=[table])
    view = pack_workbook(wb, "id of n40000", budget_tokens=400)
    assert view.tokens <= 400
    assert "50,000 rows" in view.text and "only the first 500 rows were searched" in view.text
    sql = SqlTool(wb)
    result = sql({"query": "SELECT id FROM big WHERE name = 'n40000'"})
    assert result.payload["frame"]["id"].tolist() == [40000]
    assert result.cells == []  # no cell provenance for rows DuckDB read itself


def test_dates_in_the_question_match_date_cells() -> None:
    frame = pd.DataFrame({"event": ["a", "b", "c"],
                          "day": pd.to_datetime(["2019-03-04", "2019-03-05", "2020-01-01"])})
    for question in ("what happened on 2019-03-05?", "what happened on March 5, 2019?"):
        found = {(m.column, m.value) for m in find_matches(frame, question)}
        assert ("day", "2019-03-05") in found, question

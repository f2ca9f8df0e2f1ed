"""Reading decisions a person corrects in the page: how a column's cells are read (AppTest).

The model is a scripted double; the file, the reading, DuckDB and the session are real."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app.state import MODEL_ENV
from tests.app.test_app_page import start, texts, upload

CSV = "text/csv"
# every day is 12 or less: the dotted dates are read day first, the slashed ones month first
ORDERS = (b"Shipped,Ordered,Zip,Qty\n"
          b"03.04.2024,03/04/2024,02134,5\n"
          b"05.06.2024,05/06/2024,00501,7\n"
          b"11.12.2024,11/12/2024,10001,2\n")


def columns(at: AppTest) -> pd.DataFrame:
    """The table's columns frame (column, cell, type, example), by column."""
    return at.tabs[0].dataframe[0].value.set_index("column")


def preview(at: AppTest) -> pd.DataFrame:
    return at.tabs[0].dataframe[1].value


def shown(at: AppTest) -> str:
    """The page's text with markdown's escapes taken out."""
    return texts(at).replace("\\", "")


def days(at: AppTest, column: str) -> list[str]:
    """The preview's dates of ``column``, as yyyy-mm-dd."""
    return [stamp.date().isoformat() for stamp in preview(at)[column]]


def pick(at: AppTest, column: str, kind: str, table: str = "orders") -> AppTest:
    at.selectbox(key=f"type-column-{table}").set_value(column).run()
    at.selectbox(key=f"type-kind-{table}-{column}").set_value(kind).run()
    at.button(key=f"type-apply-{table}").click().run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def counting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model counts the orders of 3 April, the way the table now reads it."""
    turn = [{"tool": "sql", "args": {"query": "SELECT COUNT(*) AS n FROM orders "
                                               "WHERE Shipped = DATE '2024-04-03'"}},
            {"tool": "final_answer", "args": {"answer": 0}}]
    (tmp_path / "count.json").write_text(json.dumps(turn))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'count.json'}")


def test_picking_month_first_rereads_ambiguous_dates(counting: None) -> None:
    at = upload(start(), "orders.csv", ORDERS, CSV)
    assert days(at, "Shipped") == ["2024-04-03", "2024-06-05", "2024-12-11"]
    page = shown(at)
    assert "Shipped: dates written as text, day first (dd.mm.yyyy); ambiguous" in page
    assert "Read now as: date: dates written as text, day first" in page

    pick(at, "Shipped", "date (month first)")
    assert not at.error
    assert days(at, "Shipped") == ["2024-03-04", "2024-05-06", "2024-11-12"]
    assert "Table orders re-read: Shipped as date (month first)" in [i.value for i in at.info]
    assert "Shipped: read as date (month first), as set by hand" in shown(at)
    assert at.selectbox(key="type-kind-orders-Shipped").value == "date (month first)"

    at.chat_input[0].set_value("How many orders shipped on 3 April?").run()
    steps = at.chat_message[1].expander[0]
    assert steps.dataframe[0].value["n"].tolist() == [0], "the question reads the new dates"


def test_a_code_column_kept_as_text_and_taken_back(counting: None) -> None:
    at = upload(start(), "orders.csv", ORDERS, CSV)
    pick(at, "Qty", "text")
    assert preview(at)["Qty"].tolist() == ["5", "7", "2"]
    assert columns(at).loc["Qty", "type"] == "text"
    pick(at, "Qty", "as detected")
    assert columns(at).loc["Qty", "type"] == "integer"


def test_a_column_that_does_not_read_so_says_how_many_cells_were_left_empty(counting: None) -> None:
    at = upload(start(), "orders.csv", ORDERS, CSV)
    pick(at, "Ordered", "number")
    assert not at.error
    assert "3 cell(s) that do not read as number left empty" in shown(at)


def test_a_csv_read_again_with_its_delimiter_and_encoding(counting: None) -> None:
    prices = "Item;Price, EUR;Note\nCafé;3,50;new\nThé;2,75\nCrème;4,10\n".encode("cp1252")
    at = upload(start(), "prices.csv", prices, CSV)
    assert "CSV read as CP1252 text, comma-separated" in shown(at)  # the sniffer got it wrong
    assert at.selectbox(key="csv-delimiter-prices").value == "comma"
    at.selectbox(key="csv-delimiter-prices").set_value("semicolon")
    at.text_input(key="csv-encoding-prices").set_value("windows-1252")
    at.button(key="FormSubmitter:csvfix-prices-Re-read the file").click().run()
    assert not at.exception and not at.error
    assert "**prices** · `prices!A1:C4` · header row(s) 1 · 3 rows × 3 columns" in texts(at)
    assert preview(at)["Item"].tolist() == ["Café", "Thé", "Crème"]
    assert "Table prices re-read with delimiter ';', encoding 'windows-1252'" in [i.value for i in at.info]
    assert "semicolon-separated, quotes as doubled quotes, as set by hand" in shown(at)

    at.text_input(key="csv-encoding-prices").set_value("klingon")
    at.button(key="FormSubmitter:csvfix-prices-Re-read the file").click().run()
    assert "unknown text encoding 'klingon'" in at.error[0].value

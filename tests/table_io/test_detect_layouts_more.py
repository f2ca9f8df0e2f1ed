"""More messy layouts, written with openpyxl and read back: units rows under a header, labels
merged down over their rows, page-break copies of the header, label/value blocks beside a
table, and the order and names of side-by-side tables. Each rule has cases that must change
and look-alike cases that must not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sheet_helpers import fill, only_table

from table_io import Workbook, open_workbook
from table_io.describe import describe
from table_io.layout_rules import unit_like

Block = tuple[str, list[list[object]]]  # top-left cell, rows


def book_of(tmp_path: Path, blocks: list[Block], merges: tuple[str, ...] = (), bold: tuple[str, ...] = ()) -> Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "s"
    for top_left, rows in blocks:
        fill(ws, top_left, rows)
    for rng in merges:
        ws.merge_cells(rng)
    for ref in bold:
        ws[ref].font = openpyxl.styles.Font(bold=True)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return open_workbook(path)


def values(t: Any, column: str) -> list[object]:
    return [None if pd.isna(v) else v for v in t.frame[column].tolist()]


# ---- 1. a units row under the header joins it -------------------------------------------------
UNITS_CASES = [
    pytest.param(
        "A1", [["Item", "Amount", "Weight"], [None, "(EUR)", "kg"], ["a", 1.5, 3], ["b", 2.5, 4], ["c", 3, 5]],
        ["Item", "Amount (EUR)", "Weight (kg)"], {"Amount (EUR)": "number", "Weight (kg)": "integer"}, 3,
        id="currency-in-parentheses-and-bare-kg",
    ),
    pytest.param(
        "C4", [["Product", "Price", "Stock"], [None, "$", "pcs"], ["pen", 2, 10], ["ink", "3.5", 7]],
        ["Product", "Price ($)", "Stock (pcs)"], {"Price ($)": "number", "Stock (pcs)": "integer"}, 2,
        id="dollar-sign-elsewhere-on-the-sheet",
    ),
    pytest.param(
        "B2", [["Site", "Area", "Speed", "Budget"], [None, "[m²]", "km/h", "USD"],
               ["x", 12, 50, 1000], ["y", 14, 60, 2000], ["z", 9, 70, None]],
        ["Site", "Area [m²]", "Speed (km/h)", "Budget (USD)"],
        {"Area [m²]": "integer", "Speed (km/h)": "integer", "Budget (USD)": "integer"}, 3,
        id="brackets-compound-unit-iso-code",
    ),
]


@pytest.mark.parametrize(("top_left", "rows", "columns", "types", "n_rows"), UNITS_CASES)
def test_a_units_row_joins_the_header(tmp_path, top_left, rows, columns, types, n_rows):
    t = only_table(book_of(tmp_path, [(top_left, rows)]))
    assert t.columns == columns and t.n_rows == n_rows
    assert len(t.header_rows) == 2
    for column, kind in types.items():
        assert t.meta["column_types"][column] == kind


def test_a_units_row_under_a_grouped_header(tmp_path):
    rows: list[list[object]] = [["Store", "Sales", None], [None, "Q1", "Q2"], [None, "(EUR)", "(EUR)"],
                                ["x", 1.5, 2], ["y", 3, 4]]
    t = only_table(book_of(tmp_path, [("B2", rows)], merges=("C2:D2",)))
    assert t.header_rows == [2, 3, 4] and t.columns == ["Store", "Sales Q1 (EUR)", "Sales Q2 (EUR)"]
    assert values(t, "Sales Q1 (EUR)") == [1.5, 3.0]


def test_a_units_row_under_a_titled_table_with_a_total(tmp_path):
    rows: list[list[object]] = [["Shipments"], ["Port", "Weight", "Value"], [None, "t", "(USD m)"],
                                ["Oslo", 10, 1.5], ["Riga", 20, 2.5], ["Total", 30, 4.0]]
    t = only_table(book_of(tmp_path, [("A1", rows)]))
    assert t.title == "Shipments" and t.header_rows == [2, 3]
    assert t.columns == ["Port", "Weight (t)", "Value (USD m)"] and t.n_rows == 2
    assert t.total_row_numbers == [6] and values(t, "Weight (t)") == [10, 20]


UNITS_LOOKALIKES = [
    pytest.param([["Name", "Score"], ["a", "kg"], ["b", 2], ["c", 3]], id="first-data-row-has-a-label"),
    pytest.param([["Item", "Score"], [None, "low"], ["b", 2], ["c", 3]], id="short-text-that-is-no-unit"),
    pytest.param([["Item", "Amount"], [None, "(EUR)"], ["a", "cheap"], ["b", "dear"]], id="text-column-below"),
    pytest.param([["Code", "Size"], ["A1", "M"], ["B2", "L"], ["C3", "S"]], id="short-text-values"),
    pytest.param([["Item", "Qty", "Weight"], [None, 3, "kg"], ["b", 2, 1], ["c", 3, 2]], id="a-number-in-the-row"),
]


@pytest.mark.parametrize("rows", UNITS_LOOKALIKES)
def test_a_first_data_row_of_short_texts_stays_data(tmp_path, rows):
    t = only_table(book_of(tmp_path, [("A1", rows)]))
    assert t.header_rows == [1] and t.columns == rows[0]
    assert t.n_rows == len(rows) - 1


@pytest.mark.parametrize(("text", "is_unit"), [
    ("(EUR)", True), ("kg", True), ("$", True), ("EUR/kg", True), ("€ '000", True), ("°C", True),
    ("n/a", False), ("low", False), ("12", False), ("Oslo", False), ("a much longer sentence here", False),
])
def test_unit_like_texts(text, is_unit):
    assert unit_like(text) is is_unit


# ---- 2. a label merged down over its rows fills them ----------------------------------------------
def test_a_label_merged_down_fills_every_row_it_covers(tmp_path):
    rows: list[list[object]] = [["Region", "City", "Sales"], ["North", "Oslo", 1], [None, "Bergen", 2], [None, "Tromso", 3],
            ["South", "Rome", 4], [None, "Naples", 5], ["East", "Kyiv", 6]]
    t = only_table(book_of(tmp_path, [("A1", rows)], merges=("A2:A4", "A5:A6")))
    assert t.n_rows == 6
    assert values(t, "Region") == ["North", "North", "North", "South", "South", "East"]
    assert values(t, "Sales") == [1, 2, 3, 4, 5, 6]


def test_a_merged_group_in_a_middle_column_elsewhere_on_the_sheet(tmp_path):
    rows: list[list[object]] = [["Year", "Quarter", "Month", "Units"], [2024, "Q1", "Jan", 5], [None, None, "Feb", 6],
            [None, None, "Mar", 7], [None, "Q2", "Apr", 8], [None, None, "May", 9]]
    t = only_table(book_of(tmp_path, [("C3", rows)], merges=("C4:C8", "D4:D6", "D7:D8")))
    assert values(t, "Year") == [2024] * 5 and t.meta["column_types"]["Year"] == "integer"
    assert values(t, "Quarter") == ["Q1", "Q1", "Q1", "Q2", "Q2"]
    assert values(t, "Units") == [5, 6, 7, 8, 9]


def test_unmerged_group_labels_over_blanks_are_left_as_written(tmp_path):
    # no merge, no signal that the blanks mean "same as above": nothing is guessed
    rows: list[list[object]] = [["Region", "City", "Sales"], ["North", "Oslo", 1], [None, "Bergen", 2], ["South", "Rome", 4]]
    t = only_table(book_of(tmp_path, [("A1", rows)]))
    assert values(t, "Region") == ["North", None, "South"]


# ---- 3. a page-break copy of the header is dropped -----------------------------------------------
def test_header_copies_inside_the_table_are_dropped_and_reported(tmp_path):
    rows: list[list[object]] = [["Item", "Qty", "Price"], ["a", 1, 1.5], ["b", 2, 2.5], ["Item", "Qty", "Price"], ["c", 3, 3.5],
            ["d", 4, 4.5], ["Item", " QTY ", "Price"], ["e", 5, 5.5]]
    book = book_of(tmp_path, [("B3", rows)])
    t = only_table(book)
    assert t.n_rows == 5 and values(t, "Item") == ["a", "b", "c", "d", "e"]
    assert t.meta["column_types"] == {"Item": "text", "Qty": "integer", "Price": "number"}
    assert t.meta["dropped_rows"] == {"repeated_header": [6, 9]}
    assert 6 not in t.row_numbers and t.row_numbers[2] == 7
    assert describe(book)["sheets"][0]["tables"][0]["dropped_rows"] == {"repeated_header": [6, 9]}


def test_a_repeated_header_with_its_units_row_is_dropped_whole(tmp_path):
    rows: list[list[object]] = [["Item", "Amount"], [None, "(EUR)"], ["a", 1], ["b", 2], ["Item", "Amount"], [None, "(EUR)"], ["c", 3]]
    t = only_table(book_of(tmp_path, [("A1", rows)]))
    assert t.columns == ["Item", "Amount (EUR)"] and values(t, "Amount (EUR)") == [1, 2, 3]
    assert t.meta["dropped_rows"] == {"repeated_header": [5, 6]}


HEADER_LOOKALIKES = [
    pytest.param([["Name", "Team"], ["Team", "A"], ["Bob", "B"]], 2, id="one-header-value-repeated"),
    pytest.param([["Item", "Qty"], ["Item", 5], ["b", 6]], 2, id="label-equal-to-a-header"),
    pytest.param([["City"], ["Oslo"], ["City"], ["Rome"]], 3, id="one-column-table"),
]


@pytest.mark.parametrize(("rows", "n_rows"), HEADER_LOOKALIKES)
def test_a_row_that_repeats_only_one_header_value_is_data(tmp_path, rows, n_rows):
    t = only_table(book_of(tmp_path, [("A1", rows)]))
    assert t.n_rows == n_rows and t.meta["dropped_rows"] == {}


# ---- 4. label/value blocks are metadata, not tables ------------------------------------------------
DATA: list[list[object]] = [["Item", "Qty"], ["a", 1], ["b", 2], ["c", 3], ["d", 4]]
KV_CASES = [
    pytest.param([("A1", DATA), ("D1", [["Average", 2.5], ["Max", 4]])],
                 {"Average": "2.5", "Max": "4"}, "A1:B5", id="statistics-beside"),
    pytest.param([("A1", [["Prepared by:", "J. Smith"], ["Date:", dt.datetime(2024, 3, 1)], ["Currency:", "EUR"]]),
                  ("A5", DATA)],
                 {"Prepared by": "J. Smith", "Date": "2024-03-01", "Currency": "EUR"}, "A5:B9", id="colon-labels-above"),
    pytest.param([("C2", [["Report:", "Q1 sales"], ["Owner:", "Ops"]]), ("B6", DATA), ("G6", [["Min", 1]])],
                 {"Report": "Q1 sales", "Owner": "Ops", "Min": "1"}, "B6:C10", id="above-and-beside"),
    pytest.param([("A1", DATA), ("A7", [["Prepared by:", "J. Smith"], ["Checked by:", "K. Lee"]])],
                 {"Prepared by": "J. Smith", "Checked by": "K. Lee"}, "A1:B5", id="colon-labels-below"),
    pytest.param([("A1", [["Mean", 3.2], ["Median", 3]]), ("D1", DATA)],
                 {"Mean": "3.2", "Median": "3"}, "D1:E5", id="statistics-on-the-left"),
]


@pytest.mark.parametrize(("blocks", "key_values", "rng"), KV_CASES)
def test_a_label_value_block_becomes_notes_of_the_table(tmp_path, blocks, key_values, rng):
    book = book_of(tmp_path, blocks)
    t = only_table(book)
    assert t.name == "s" and t.range == rng and t.columns == ["Item", "Qty"] and t.n_rows == 4
    assert t.meta["key_values"] == key_values
    assert [n for n in t.notes if ": " in n] == [f"{k}: {v}" for k, v in key_values.items()]
    assert describe(book)["sheets"][0]["tables"][0]["key_values"] == key_values


KV_LOOKALIKES = [
    pytest.param([("A1", DATA), ("D1", [["Region", "Sales"], ["N", 10], ["S", 20]])], id="two-column-table-with-header"),
    pytest.param([("A1", DATA), ("D1", [["Country", "Capital"], ["France", "Paris"]])], id="text-table-no-colons"),
    pytest.param([("A1", DATA), ("D1", [["Metric", "Value"], ["Average", 2.5], ["Max", 4]])], id="header-over-pairs"),
]


@pytest.mark.parametrize("blocks", KV_LOOKALIKES)
def test_a_real_two_column_table_beside_another_stays_a_table(tmp_path, blocks):
    book = book_of(tmp_path, blocks)
    assert [t.range for t in book.tables] == ["A1:B5", f"D1:E{len(blocks[1][1])}"]
    assert book.tables[1].columns == blocks[1][1][0] and book.tables[1].n_rows == len(blocks[1][1]) - 1


def test_a_bold_header_over_pairs_stays_a_table(tmp_path):
    pairs: list[list[object]] = [["Average", 2.5], ["Max", 4], ["Min", 1]]
    book = book_of(tmp_path, [("A1", DATA), ("D1", pairs)], bold=("D1", "E1"))
    assert len(book.tables) == 2 and book.tables[1].columns == ["Average", "2.5"]


def test_pairs_alone_on_a_sheet_stay_its_table(tmp_path):
    t = only_table(book_of(tmp_path, [("A1", [["Prepared by:", "J. Smith"], ["Date:", "today"]])]))
    assert t.n_rows >= 1 and t.meta["key_values"] == {}


def test_a_total_line_after_a_blank_row_still_closes_its_table(tmp_path):
    t = only_table(book_of(tmp_path, [("A1", [["Item", "Qty"], ["a", 1], ["b", 2], [None, None], ["Total", 3]])]))
    assert t.n_rows == 2 and t.total_row_numbers == [5]


# ---- 5. side-by-side tables in reading order, named from their titles -------------------------------
ORDER_CASES = [
    pytest.param([("A2", [["Item", "Qty"], ["a", 1], ["b", 2]]),
                  ("E1", [["Sales by region"], ["Region", "Sales"], ["N", 1], ["S", 2]])],
                 ["s_1", "s_sales_by_region"], id="title-right-on-the-row-above"),
    pytest.param([("B4", [["Item", "Qty"], ["a", 1], ["b", 2], ["c", 3]]),
                  ("F1", [["Costs"], [None], ["Cost", "EUR"], ["x", 1], ["y", 2]])],
                 ["s_1", "s_costs"], id="left-table-starts-lower"),
    pytest.param([("A1", [["Item", "Qty"], ["a", 1]]), ("A5", [["Totals by item"], ["Name", "Sum"], ["a", 1]]),
                  ("E5", [["Other", "Qty"], ["z", 9]])],
                 ["s_1", "s_totals_by_item", "s_3"], id="stacked-then-side-by-side"),
]


@pytest.mark.parametrize(("blocks", "names"), ORDER_CASES)
def test_tables_are_listed_top_to_bottom_then_left_to_right(tmp_path, blocks, names):
    book = book_of(tmp_path, blocks)
    assert [t.name for t in book.tables] == names
    assert book.sheets[0].table_names == names


def test_a_header_pasted_again_in_a_csv_is_dropped_too(tmp_path: Path) -> None:
    path = tmp_path / "pasted.csv"
    path.write_text("name,qty\na,1\nb,2\nname,qty\nc,3\n")
    [table] = open_workbook(path).tables
    assert table.frame["qty"].tolist() == [1, 2, 3]
    assert table.meta["dropped_rows"] == {"repeated_header": [4]}

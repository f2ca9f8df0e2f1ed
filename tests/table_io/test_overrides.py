"""A person corrects what detection found: a table's range and header rows."""

from __future__ import annotations

import openpyxl
import pytest

from table_io import TableIOError, TableNotFoundError, open_workbook, with_override


@pytest.fixture()
def book_path(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    for row in [["Region", "Units"], ["north", 5], ["south", 7], ["east", 9], ["west", 11]]:
        ws.append(row)
    other = wb.create_sheet("Raw")
    for row in [["junk line"], ["x", "y"], [1, 2], [3, 4]]:
        other.append(row)
    path = tmp_path / "o.xlsx"
    wb.save(path)
    return path


def test_override_range_by_table_name(book_path):
    book = open_workbook(book_path, overrides={"sales": {"range": "A1:B3"}})
    t = book.table("sales")
    assert t.range == "A1:B3" and t.frame["Units"].tolist() == [5, 7]
    assert t.meta["override"] == {"range": "A1:B3", "header_rows": 1}


def test_override_header_rows_zero_names_columns(book_path):
    book = with_override(open_workbook(book_path), "sales", header_rows=0)
    t = book.table("sales")
    assert t.columns == ["col_1", "col_2"] and len(t.frame) == 5
    assert t.header_rows == []


def test_override_with_sheet_and_range_key_and_new_name(book_path):
    book = open_workbook(book_path, overrides={"Raw!A2:B4": {"header_rows": 1, "name": "clean"}})
    t = book.table("clean")
    assert t.sheet == "Raw" and t.columns == ["x", "y"] and t.frame["y"].tolist() == [2, 4]
    assert book.sheet("Raw").table_names == ["clean"]


def test_override_by_sheet_name_with_two_header_rows(book_path):
    book = with_override(open_workbook(book_path), "Sales", range="A1:B5", header_rows=2)
    t = book.tables[0]
    assert t.header_rows == [1, 2] and t.columns == ["Region north", "Units 5"]
    assert len(book.tables) == 2  # the Raw table is untouched


def test_with_override_leaves_the_original_alone(book_path):
    book = open_workbook(book_path)
    before = book.table("sales").range
    with_override(book, "sales", range="A1:B2")
    assert book.table("sales").range == before


def test_bad_overrides(book_path):
    book = open_workbook(book_path)
    with pytest.raises(TableNotFoundError, match="nope"):
        with_override(book, "nope", range="A1:B2")
    with pytest.raises(TableIOError, match="A1 range"):
        with_override(book, "sales", range="first ten rows")
    with pytest.raises(TableIOError, match="does not fit"):
        with_override(book, "sales", range="A1:B2", header_rows=5)


def test_header_rows_as_sheet_row_numbers_move_the_top(book_path):
    book = open_workbook(book_path, overrides={"Raw": {"range": "A1:B4", "header_rows": [2]}})
    t = book.tables[-1]
    assert t.range == "A2:B4" and t.header_rows == [2] and t.columns == ["x", "y"]
    with pytest.raises(TableIOError, match="consecutive"):
        open_workbook(book_path, overrides={"Raw": {"header_rows": [1, 3]}})

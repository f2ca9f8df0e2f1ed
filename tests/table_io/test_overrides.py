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


# ---- how columns are read: the ``types`` setting ----------------------------------------------

@pytest.fixture()
def orders_path(tmp_path):
    """Text dates whose days are all 12 or less, zip codes stored as numbers, amounts written
    with a decimal comma, and a Total row under the table."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    for row in [["Ordered", "Zip", "Amount"], ["03/04/2024", 2134, "1.234,50"],
                ["05/06/2024", 501, "2,25"], ["11/12/2024", 10001, "n/a"], ["Total", None, "1.236,75"]]:
        ws.append(row)
    path = tmp_path / "orders.xlsx"
    wb.save(path)
    return path


def day(text):
    import pandas as pd

    return pd.Timestamp(text)


@pytest.mark.parametrize(("column", "kind", "expected"), [
    ("Ordered", "date (day first)", [day("2024-04-03"), day("2024-06-05"), day("2024-12-11")]),
    ("Ordered", "date (month first)", [day("2024-03-04"), day("2024-05-06"), day("2024-11-12")]),
    ("Ordered", "text", ["03/04/2024", "05/06/2024", "11/12/2024"]),
    ("Zip", "text", ["2134", "501", "10001"]),
    ("Amount", "number (decimal comma)", [1234.5, 2.25, None]),
    ("Amount", "number", [None, None, None]),  # '1.234,50' is no number with a decimal point
])
def test_a_column_is_read_as_told(orders_path, column, kind, expected):
    book = open_workbook(orders_path, overrides={"orders": {"types": {column: kind}}})
    t = book.table("orders")
    got = [None if v is None or v != v else v for v in t.frame[column].tolist()]
    assert got == expected
    assert t.range == "A1:C5" and t.total_row_numbers == [5], "the same cut, read otherwise"
    assert t.meta["override"] == {"types": {column: kind}}, "the range is not pinned"
    assert t.meta["read_as"] == {column: kind}
    left_empty = (t.meta["read_failed"] or {}).get(column, "")
    assert (left_empty == "2 cell(s) that do not read as number left empty: '1.234,50', '2,25'") is (
        kind == "number")


def test_ambiguous_text_dates_are_noted_with_the_order_chosen(orders_path):
    from table_io.describe import reading_notes

    t = open_workbook(orders_path).table("orders")
    assert t.frame["Ordered"][0] == day("2024-03-04")  # month first unless told
    assert t.meta["ambiguous_dates"] == {"Ordered": {"chosen": "month first", "example": "03/04/2024"}}
    [note] = [n for n in reading_notes(t) if n.startswith("Ordered:")]
    assert "month first (mm/dd/yyyy)" in note and "03/04/2024 fit both day first and month first" in note
    assert "date (day first)" in note, "the note says how to correct it"
    corrected = with_override(open_workbook(orders_path), "orders", types={"Ordered": "date (day first)"})
    notes = reading_notes(corrected.table("orders"))
    assert ("Ordered: read as date (day first), as set by hand (dates written as text, day first "
            "(dd/mm/yyyy))") in notes
    assert not any("ambiguous" in n for n in notes)
    assert not any(n.startswith("Range ") for n in notes), "no range was set by hand"


@pytest.mark.parametrize(("dates", "ambiguous"), [
    (["03/04/2024", "05/06/2024"], True),
    (["03/04/2024", "05/13/2024"], False),  # 13 can only be a day: month first for certain
    (["13/04/2024", "05/06/2024"], False),
    (["01/01/2024", "02/02/2024"], False),  # both orders give the same dates
    (["2024-03-04", "2024-05-06"], False),  # ISO: year, month, day
    (["03.04.2024", "05.06.2024"], True),
])
def test_which_text_dates_are_ambiguous(dates, ambiguous):
    from table_io.cell_types import type_column

    assert ("ambiguous_dates" in type_column(dates, "When").attrs) is ambiguous


def test_types_with_a_range_and_kept_on_the_re_cut(orders_path):
    book = open_workbook(orders_path, overrides={
        "orders": {"range": "A1:C3", "types": {"Zip": "text", "Ordered": "date (day first)"}}})
    t = book.table("orders")
    assert t.frame["Zip"].tolist() == ["2134", "501"] and t.frame["Ordered"][1] == day("2024-06-05")
    assert t.meta["override"] == {"range": "A1:C3", "header_rows": 1,
                                  "types": {"Zip": "text", "Ordered": "date (day first)"}}


def test_bad_types_name_the_column_or_the_choices(orders_path):
    from table_io.overrides import OverrideError

    book = open_workbook(orders_path)
    with pytest.raises(OverrideError, match="no column 'Zipcode'; its columns: Ordered, Zip, Amount"):
        with_override(book, "orders", types={"Zipcode": "text"})
    with pytest.raises(OverrideError, match=r"'Zip' cannot be read as 'string'; choose one of: text, "
                                            r"number, number \(decimal comma\)"):
        with_override(book, "orders", types={"Zip": "string"})
    with pytest.raises(OverrideError, match="must map column names"):
        open_workbook(book, overrides={"orders": {"types": ["Zip"]}})


def test_a_csv_column_kept_as_text_keeps_the_csv_reading(tmp_path):
    from table_io.describe import reading_notes

    path = tmp_path / "people.csv"
    path.write_text("Id;Name;;Born\n007;Bond;;01.02.1960\n012;Moneypenny;;03.04.1970\n",
                    encoding="cp1252")
    plain = open_workbook(path).table("people")
    assert plain.frame["Id"].tolist() == ["007", "012"]  # codes with a leading zero stay text
    book = open_workbook(path, overrides={"people": {"types": {"Id": "number", "Born": "date (month first)"}}})
    t = book.table("people")
    assert t.frame["Id"].tolist() == [7, 12]
    assert t.frame["Born"].tolist() == [day("1960-01-02"), day("1970-03-04")]
    assert t.columns == plain.columns, "the empty column stays, as in the CSV reading"
    assert t.meta["csv"]["delimiter"] == ";"
    assert any(n.startswith("CSV read as") and "semicolon" in n for n in reading_notes(t))


# ---- a CSV read again with the delimiter and encoding a person gives --------------------------

def test_a_csv_is_read_again_with_the_delimiter_and_encoding_given(tmp_path):
    from table_io.describe import reading_notes

    path = tmp_path / "prices.csv"
    # a comma in every line (decimal commas) and notes left off fool the sniffer into commas;
    # the file is cp1252
    path.write_bytes("Item;Price, EUR;Note\nCafé;3,50;new\nThé;2,75\nCrème;4,10\n".encode("cp1252"))
    plain = open_workbook(path).table("prices")
    assert plain.meta["csv"]["delimiter"] == ","
    book = open_workbook(path, overrides={"prices": {"csv": {"delimiter": ";", "encoding": "windows-1252"},
                                                     "types": {"Price, EUR": "number (decimal comma)"}}})
    t = book.table("prices")
    assert t.columns == ["Item", "Price, EUR", "Note"]
    assert t.frame["Item"].tolist() == ["Café", "Thé", "Crème"] and t.frame["Price, EUR"].tolist() == [3.5, 2.75, 4.1]
    assert t.meta["csv"]["delimiter"] == ";" and t.meta["csv"]["encoding"] == "cp1252"
    assert t.meta["override"] == {"types": {"Price, EUR": "number (decimal comma)"},
                                  "csv": {"delimiter": ";", "encoding": "cp1252"}}
    assert "CSV read as CP1252 text, semicolon-separated, quotes as doubled quotes, as set by hand" in (
        reading_notes(t))
    assert [r.tolist() for r in book.grids["prices"].values[:2]] == [["Item", "Price, EUR", "Note"],
                                                                   ["Café", "3,50", "new"]]
    by_name = with_override(open_workbook(path), "prices", csv={"delimiter": "semicolon"})
    assert by_name.table("prices").columns == ["Item", "Price, EUR", "Note"]


@pytest.mark.parametrize(("csv", "message"), [
    ({"delimiter": ";;"}, "one character"),
    ({"delimiter": '"'}, "one character"),
    ({"encoding": "klingon"}, "unknown text encoding 'klingon'"),
    ({"encoding": "utf-8"}, r"is not utf-8 text: byte b'\\xe9' at offset 7"),
    ({"quote": "'"}, "take a delimiter and an encoding"),
])
def test_bad_csv_settings_name_the_problem(tmp_path, csv, message):
    from table_io.overrides import OverrideError

    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\ncaf\xe9,2\n3,4\n5\n")  # cp1252
    with pytest.raises(OverrideError, match=message):
        open_workbook(path, overrides={"t": {"csv": csv}})


def test_csv_settings_on_a_workbook_are_refused(book_path):
    from table_io.overrides import OverrideError

    with pytest.raises(OverrideError, match="only a CSV or TSV file"):
        open_workbook(book_path, overrides={"sales": {"csv": {"delimiter": ";"}}})

"""Layouts the first detection tests did not cover, written with openpyxl and read back: what a
person sees (tables, ranges, header rows, columns, row counts, typed values) must come out."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from sheet_helpers import fill, only_table

from table_io import EmptyWorkbookError, Workbook, connect, open_workbook


def book_of(tmp_path: Path, rows: list[list[object]], top_left: str = "A1", setup=None) -> Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, top_left, rows)
    if setup is not None:
        setup(wb, ws)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return open_workbook(path)



def test_blank_header_cells_get_names_and_keep_their_data(tmp_path):
    t = only_table(book_of(tmp_path, [["Name", None, "Score", None], ["a", 1, 10, "x"], ["b", 2, 20, "y"]]))
    assert t.range == "A1:D3" and t.header_rows == [1]
    assert t.columns == ["Name", "col_2", "Score", "col_4"]
    assert t.frame["col_2"].tolist() == [1, 2] and t.frame["col_4"].tolist() == ["x", "y"]


def test_a_text_first_row_under_a_header_with_blanks_is_data_not_a_second_header(tmp_path):
    t = only_table(book_of(tmp_path, [["Name", None, "Score"], ["a", "x", "n/a"], ["b", "y", 20], ["c", "z", 30]]))
    assert t.header_rows == [1] and t.columns == ["Name", "col_2", "Score"]
    assert t.frame["Name"].tolist() == ["a", "b", "c"]
    assert t.meta["column_types"]["Score"] == "integer"
    assert pd.isna(t.frame["Score"][0]) and t.frame["Score"].tolist()[1:] == [20, 30]


def test_single_column_tables(tmp_path):
    t = only_table(book_of(tmp_path, [["City"], ["Oslo"], ["Rome"], ["Lima"], ["Cairo"]]))
    assert t.range == "A1:A5" and t.columns == ["City"] and t.n_rows == 4
    t = only_table(book_of(tmp_path, [["Amount"], [1], [2], [3]], top_left="B2"))
    assert t.range == "B2:B5" and t.frame["Amount"].tolist() == [1, 2, 3]


def test_numeric_ids_in_the_first_column(tmp_path):
    t = only_table(book_of(tmp_path, [["ID", "Name", "Qty"], [101, "a", 5], [102, "b", 6], [103, "c", 7]]))
    assert t.header_rows == [1] and t.frame["ID"].tolist() == [101, 102, 103]
    assert t.meta["column_types"]["ID"] == "integer"


def test_a_sheet_of_numbers_without_a_header(tmp_path):
    t = only_table(book_of(tmp_path, [[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
    assert t.header_rows == [] and t.columns == ["col_1", "col_2", "col_3"]
    assert t.frame["col_1"].tolist() == [1, 4, 7] and t.row_numbers == [1, 2, 3]


def test_numbers_as_text_with_missing_value_markers_are_numbers(tmp_path):
    t = only_table(book_of(tmp_path, [["Item", "Price"], ["a", "1,200"], ["b", "n/a"], ["c", "TBD"], ["d", "300"]]))
    assert t.meta["column_types"]["Price"] == "integer"
    assert t.frame["Price"].tolist()[0] == 1200 and t.frame["Price"].tolist()[3] == 300
    assert t.frame["Price"].isna().tolist() == [False, True, True, False]


def test_percent_formatted_floats_stay_fractions(tmp_path):
    def percent(_wb, ws):
        for r in (2, 3):
            ws.cell(r, 2).number_format = "0%"

    t = only_table(book_of(tmp_path, [["Rep", "Rate"], ["a", 0.25], ["b", 0.5]], setup=percent))
    assert t.frame["Rate"].tolist() == [0.25, 0.5] and t.meta["column_types"]["Rate"] == "number"


def test_date_cells_with_text_dates(tmp_path):
    rows = [["Event", "Date"], ["a", dt.datetime(2024, 1, 5)], ["b", "2024-02-10"], ["c", dt.datetime(2024, 3, 1)]]
    t = only_table(book_of(tmp_path, rows))
    assert t.frame["Date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2024-02-10"), pd.Timestamp("2024-03-01")]
    # a text that is no date keeps the column as text, every value as written
    t = only_table(book_of(tmp_path, [*rows, ["d", "unknown"]]))
    assert t.frame["Date"].tolist() == ["2024-01-05", "2024-02-10", "2024-03-01", "unknown"]


def test_stacked_tables_one_blank_row_apart_second_with_its_own_header(tmp_path):
    book = book_of(tmp_path, [["Name", "Age"], ["a", 1], ["b", 2], [None, None], ["City", "Pop"], ["x", 10], ["y", 20]])
    assert [(t.range, t.header_rows, t.columns) for t in book.tables] == [
        ("A1:B3", [1], ["Name", "Age"]), ("A5:B7", [5], ["City", "Pop"])]
    assert book.tables[1].frame["Pop"].tolist() == [10, 20]


def test_a_wide_table_of_60_columns(tmp_path):
    rows = [[f"c{i}" for i in range(60)], *[[r * 100 + i for i in range(60)] for r in range(5)]]
    t = only_table(book_of(tmp_path, rows))
    assert t.range == "A1:BH6" and len(t.columns) == 60 and t.n_rows == 5
    assert t.frame["c59"].tolist() == [59, 159, 259, 359, 459] and t.column_letters[-1] == "BH"


def test_one_row_tables(tmp_path):
    t = only_table(book_of(tmp_path, [["Name", "Qty", "Price"], ["a", 3, 1.5]]))
    assert t.header_rows == [1] and t.frame.to_dict("records") == [{"Name": "a", "Qty": 3, "Price": 1.5}]
    t = only_table(book_of(tmp_path, [["Name", "City"], ["Ann", "Oslo"]]))
    assert t.header_rows == [1] and t.frame.to_dict("records") == [{"Name": "Ann", "City": "Oslo"}]
    t = only_table(book_of(tmp_path, [["Report"], [None], ["Name", "Qty"], ["a", 3]]))
    assert t.title == "Report" and t.range == "A3:B4" and t.frame["Qty"].tolist() == [3]


def test_header_merged_over_three_columns_with_sub_headers_and_a_grand_total_column(tmp_path):
    def merges(_wb, ws):
        ws.merge_cells("A1:E1")
        ws.merge_cells("B3:D3")

    rows = [["Sales by region"], [None], ["Region", "2023", None, None, "Grand Total"],
            [None, "Q1", "Q2", "Q3", None], ["N", 1, 2, 3, 6], ["S", 4, 5, 6, 15], ["Grand Total", 5, 7, 9, 21]]
    t = only_table(book_of(tmp_path, rows, setup=merges))
    assert t.title == "Sales by region" and t.header_rows == [3, 4] and t.range == "A3:E7"
    assert t.columns == ["Region", "2023 Q1", "2023 Q2", "2023 Q3", "Grand Total"]
    assert t.frame["Grand Total"].tolist() == [6, 15] and t.total_row_numbers == [7]


def test_a_group_label_merged_over_the_value_columns_is_a_header_not_a_title(tmp_path):
    def merge(_wb, ws):
        ws.merge_cells("B1:C1")

    rows = [[None, "Year ended December 31,"], ["Item", "2018", "2017"], ["Revenue", 10, 9], ["Costs", 4, 3]]
    t = only_table(book_of(tmp_path, rows, setup=merge))
    assert t.title is None and t.header_rows == [1, 2]
    assert t.columns == ["Item", "Year ended December 31, 2018", "Year ended December 31, 2017"]
    assert t.frame["Year ended December 31, 2018"].tolist() == [10, 4]


def test_a_notes_block_to_the_right_is_a_note_not_a_table(tmp_path):
    def notes(_wb, ws):
        fill(ws, "E1", [["Notes:"], ["Figures are preliminary"], ["Source: ERP"]])

    t = only_table(book_of(tmp_path, [["Region", "Q1", "Q2"], ["N", 1, 2], ["S", 5, 6], ["E", 7, 8]], setup=notes))
    assert t.range == "A1:C4" and t.notes == ["Notes: / Figures are preliminary / Source: ERP"]


def test_a_sheet_with_only_a_chart_title_has_no_table(tmp_path):
    def second(wb, _ws):
        fill(wb.create_sheet("Chart"), "A1", [["Sales chart"]])

    book = book_of(tmp_path, [["k", "v"], ["a", 1]], setup=second)
    assert [t.sheet for t in book.tables] == ["Sheet"]
    assert any("Chart" in w and "Sales chart" in w for w in book.warnings)
    with pytest.raises(EmptyWorkbookError, match="Sales chart"):
        book_of(tmp_path, [["Sales chart"]])


def test_unicode_emoji_and_duplicate_headers(tmp_path):
    book = book_of(tmp_path, [["Ville 🏙️", "Température °C", "人口", "人口"], ["Paris", 12.5, 2100000, 1],
                              ["Tokyo", 16.1, 14000000, 2]])
    t = only_table(book)
    assert t.columns == ["Ville 🏙️", "Température °C", "人口", "人口_2"]
    assert t.frame["人口"].tolist() == [2100000, 14000000]
    with connect(book) as con:
        assert con.execute('SELECT sum("人口"), sum("人口_2") FROM sheet').fetchone() == (16100000, 3)


def test_very_long_text_cells_are_kept_whole(tmp_path):
    t = only_table(book_of(tmp_path, [["Id", "Description"], [1, "x" * 5000], [2, "lorem ipsum " * 300], [3, "short"]]))
    assert t.n_rows == 3 and t.notes == [] and len(t.frame["Description"][0]) == 5000


def test_formulas_written_by_openpyxl_are_computed(tmp_path):
    rows = [["Item", "Qty", "Price", "Amount"], ["a", 2, 3.5, "=B2*C2"], ["b", 4, 1.25, "=B3*C3"],
            ["Total", "=SUM(B2:B3)", None, "=SUM(D2:D3)"]]
    book = book_of(tmp_path, rows)
    t = only_table(book)
    assert t.frame["Amount"].tolist() == [7, 5] and t.total_row_numbers == [4]
    assert t.total_rows is not None and t.total_rows["Amount"].tolist() == [12]
    assert any("formulas package" in w for w in book.warnings)


def test_hidden_first_sheet_and_a_sheet_name_with_spaces_and_quotes(tmp_path):
    def sheets(wb, ws):
        ws.title = "Hidden"
        ws.sheet_state = "hidden"
        fill(wb.create_sheet("My 'Quoted' Sheet"), "A1", [["x", "y"], [1, 2], [3, 4]])

    book = book_of(tmp_path, [["k", "v"], ["a", 1]], setup=sheets)
    assert [(s.name, s.hidden) for s in book.sheets] == [("Hidden", True), ("My 'Quoted' Sheet", False)]
    t = book.table("my_quoted_sheet")
    assert t.frame["y"].tolist() == [2, 4] and t.cell(0, "y") == "'My ''Quoted'' Sheet'!B2"
    with connect(book) as con:
        assert con.execute("SELECT sum(y) FROM my_quoted_sheet").fetchone() == (6,)


def test_a_team_named_total_is_data_a_summing_total_is_not(tmp_path):
    t = only_table(book_of(tmp_path, [["Team", "Pld", "Pts"], ["Bangor City", 32, 70],
                                      ["Total Network Solutions", 32, 68], ["Rhyl", 32, 60]]))
    assert t.n_rows == 3 and t.total_row_numbers == []
    t = only_table(book_of(tmp_path, [["Party", "Votes"], ["A", 100], ["B", 50], ["Total valid votes", 150],
                                      ["Rejected", 3]]))
    assert t.total_row_numbers == [4] and t.frame["Party"].tolist() == ["A", "B", "Rejected"]


def test_a_pivot_tables_captions_are_not_column_names(tmp_path):
    rows = [["Sum of Revenue", "Column Labels"], ["Row Labels", "Coupon", "Store", "Grand Total"],
            ["May", 1.5, 2.5, 4.0], ["Jun", 2.0, 3.0, 5.0], ["Grand Total", 3.5, 5.5, 9.0]]
    t = only_table(book_of(tmp_path, rows))
    assert t.header_rows == [1, 2] and t.columns == ["Row Labels", "Coupon", "Store", "Grand Total"]
    assert t.frame["Store"].sum() == 5.5 and t.total_row_numbers == [5]


def test_stacked_text_tables_split_at_a_bold_header(tmp_path):
    from openpyxl.styles import Font

    def bold(_wb, ws):
        for cell in ("A1", "B1", "A5", "B5"):
            ws[cell].font = Font(bold=True)

    rows = [["Name", "Team"], ["a", "x"], ["b", "y"], [None, None], ["City", "Country"], ["Oslo", "NO"], ["Lima", "PE"]]
    book = book_of(tmp_path, rows, setup=bold)
    assert [(t.range, t.columns, t.n_rows) for t in book.tables] == [
        ("A1:B3", ["Name", "Team"], 2), ("A5:B7", ["City", "Country"], 2)]
    # without the bold there is nothing to tell the second header from data: one table
    assert len(book_of(tmp_path, rows).tables) == 1


def test_a_bold_section_label_after_a_blank_row_does_not_split_a_statement(tmp_path):
    from openpyxl.styles import Font

    def bold(_wb, ws):
        for cell in ("A1", "B1", "A5"):
            ws[cell].font = Font(bold=True)

    rows = [["Item", "2024"], ["Sales", 10], ["Services", 5], [None, None], ["Costs"], ["Staff", 3], ["Rent", 1]]
    t = only_table(book_of(tmp_path, rows, setup=bold))
    assert t.range == "A1:B7" and t.frame["Item"].tolist() == ["Sales", "Services", "Costs", "Staff", "Rent"]

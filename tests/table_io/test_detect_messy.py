"""Messy workbooks written with openpyxl, read back: tables, headers, row counts, typed values."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.styles import Alignment
from sheet_helpers import fill, only_table

from table_io import Limits, connect, open_workbook


def save(wb: openpyxl.Workbook, tmp_path: Path, name: str = "book.xlsx") -> Path:
    path = tmp_path / name
    wb.save(path)
    return path




def test_plain_table_types_and_provenance(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales 2024"
    fill(ws, "A1", [["id", "name", "amount", "when", "ok"],
                    [1, "a", 1.5, dt.date(2024, 1, 2), True],
                    [2, "b", 2.25, dt.date(2024, 2, 3), False]])
    book = open_workbook(save(wb, tmp_path))
    t = only_table(book)
    assert t.name == "sales_2024" and t.sheet == "Sales 2024"
    assert t.range == "A1:E3" and t.header_rows == [1]
    assert t.columns == ["id", "name", "amount", "when", "ok"]
    assert t.frame["id"].dtype == "int64"
    assert t.frame["name"].dtype == "str"
    assert t.frame["amount"].tolist() == [1.5, 2.25]
    assert pd.api.types.is_datetime64_any_dtype(t.frame["when"])
    assert t.frame["ok"].tolist() == [True, False]
    assert t.row_numbers == [2, 3]
    assert t.cell(1, "amount") == "'Sales 2024'!C3"
    assert book.path == (tmp_path / "book.xlsx").resolve()


def test_title_and_note_rows_are_not_data(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "Monthly report"
    ws.merge_cells("A1:C1")
    ws["A2"] = "Prepared by finance"
    fill(ws, "A4", [["Month", "Units", "Price"], ["Jan", 10, 2.5], ["Feb", 12, 2.0]])
    ws["A8"] = "Source: internal ledger"
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.range == "A4:C6" and t.header_rows == [4]
    assert t.title == "Monthly report / Prepared by finance"
    assert t.notes == ["Source: internal ledger"]
    assert t.frame["Units"].tolist() == [10, 12]


def test_title_directly_above_header_without_blank_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "B2", [["Inventory"], ["Item", "Qty"], ["bolt", 4], ["nut", 9]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.title == "Inventory"
    assert t.range == "B3:C5" and t.columns == ["Item", "Qty"]
    assert t.column_letters == ["B", "C"]


def test_two_row_header_with_merged_cells_is_flattened(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["Region", "Revenue", None, "Cost", None],
                    [None, "Q1", "Q2", "Q1", "Q2"],
                    ["North", 10, 11, 5, 6],
                    ["South", 20, 21, 7, 8]])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:E1")
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.header_rows == [1, 2]
    assert t.columns == ["Region", "Revenue Q1", "Revenue Q2", "Cost Q1", "Cost Q2"]
    assert t.frame["Cost Q2"].tolist() == [6, 8]
    assert len(t.frame) == 2


def test_two_row_header_without_merges(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["", "Sales", None, "Returns", None],
                    ["Store", "2023", "2024", "2023", "2024"],
                    ["A", 1, 2, 3, 4]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.columns == ["Store", "Sales 2023", "Sales 2024", "Returns 2023", "Returns 2024"]


def test_year_numbers_under_a_merged_group(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["Country", "GDP", None], [None, 2023, 2024], ["FR", 2.9, 3.0], ["DE", 4.1, 4.2]])
    ws.merge_cells("B1:C1")
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.columns == ["Country", "GDP 2023", "GDP 2024"]
    assert t.frame["GDP 2024"].tolist() == [3.0, 4.2]


def test_tables_side_by_side(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    fill(ws, "A1", [["name", "qty"], ["a", 1], ["b", 2], ["c", 3]])
    fill(ws, "D1", [["city", "pop"], ["x", 10], ["y", 20]])
    book = open_workbook(save(wb, tmp_path))
    assert [t.range for t in book.tables] == ["A1:B4", "D1:E3"]
    assert [t.name for t in book.tables] == ["data_1", "data_2"]
    assert book.sheet("Data").table_names == ["data_1", "data_2"]
    assert book.tables[1].frame["pop"].tolist() == [10, 20]


def test_stacked_tables_with_titles_get_named_by_title(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    fill(ws, "A1", [["Staff"], ["dept", "people"], ["ops", 5], ["dev", 7]])
    fill(ws, "A7", [["Budget"], ["dept", "eur"], ["ops", 100], ["dev", 200], ["hr", 50]])
    book = open_workbook(save(wb, tmp_path))
    assert [t.name for t in book.tables] == ["summary_staff", "summary_budget"]
    assert [t.n_rows for t in book.tables] == [2, 3]
    assert book.tables[1].header_rows == [8]


def test_stacked_tables_without_titles_split_at_a_new_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["item", "price"], ["a", 1.0], ["b", 2.0]])
    fill(ws, "A5", [["code", "count"], ["x", 3], ["y", 4]])
    book = open_workbook(save(wb, tmp_path))
    assert [(t.range, t.columns) for t in book.tables] == [
        ("A1:B3", ["item", "price"]), ("A5:B7", ["code", "count"])]


def test_blank_row_inside_a_table_does_not_end_it(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["city", "temp"], ["Oslo", 3], ["Rome", 18], [None, None], ["Lima", 22], ["Cairo", 30]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.range == "A1:B6"
    assert t.frame["city"].tolist() == ["Oslo", "Rome", "Lima", "Cairo"]
    assert t.row_numbers == [2, 3, 5, 6]


def test_total_and_subtotal_rows_are_kept_out_of_the_data(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["Product", "Units"], ["a", 1], ["b", 2], ["Subtotal", 3],
                    ["c", 4], ["Subtotal", 4], ["Grand Total", 7]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.frame["Units"].sum() == 7  # not doubled
    assert t.frame["Product"].tolist() == ["a", "b", "c"]
    assert t.total_row_numbers == [4, 6, 7]
    assert t.total_rows is not None
    assert t.total_rows["Units"].tolist() == [3, 4, 7]


def test_total_row_ends_a_table_before_the_next_block(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["k", "v"], ["a", 1], ["Total", 1]])
    fill(ws, "A5", [["z", 9], ["y", 8]])
    book = open_workbook(save(wb, tmp_path))
    assert len(book.tables) == 2


def test_hidden_sheet_rows_and_columns_are_reported(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Main"
    fill(ws, "A1", [["a", "b", "c"], [1, 2, 3], [4, 5, 6], [7, 8, 9]])
    ws.row_dimensions[3].hidden = True
    ws.column_dimensions["B"].hidden = True
    other = wb.create_sheet("Secret")
    other.sheet_state = "hidden"
    fill(other, "A1", [["k"], ["v"], ["w"]])
    book = open_workbook(save(wb, tmp_path))
    main, secret = book.sheets
    assert not main.hidden and secret.hidden
    assert main.hidden_rows == [3] and main.hidden_columns == ["B"]
    t = book.table("main")
    assert t.hidden_rows == [3]
    assert t.meta["hidden_columns"] == ["B"]
    assert len(t.frame) == 3  # hidden rows are still data
    assert book.table("secret").sheet == "Secret"


def test_indented_row_labels_give_row_levels(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Line", "Amount"])
    for label, level, amount in [("Revenue", 0, 100), ("Goods", 1, 60), ("Services", 1, 40),
                                 ("Costs", 0, 70), ("Staff", 1, 50), ("Bonus", 2, 5)]:
        ws.append([label, amount])
        ws.cell(ws.max_row, 1).alignment = Alignment(indent=level)
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.row_levels == [0, 1, 1, 0, 1, 2]


def test_leading_spaces_as_indentation(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in [["Item", "n"], ["Fruit", 3], ["  Apple", 1], ["  Pear", 2], ["Veg", 1], ["  Leek", 1]]:
        ws.append(row)
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.row_levels == [0, 1, 1, 0, 1]
    assert t.frame["Item"].tolist() == ["Fruit", "Apple", "Pear", "Veg", "Leek"]


def test_numbers_stored_as_text_are_typed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["a", "b", "c", "d", "e"],
                    ["12,345", "8%", "$1.2k", "(1,234)", "N/A"],
                    ["1,000", "12.5%", "$3M", "56", "7"],
                    ["-", "", "€5", "-3", "-"]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    f = t.frame
    assert f["a"].tolist()[:2] == [12345, 1000] and pd.isna(f["a"][2])
    assert f["b"].tolist()[:2] == [0.08, 0.125]
    assert f["c"].tolist() == [1200, 3_000_000, 5]
    assert f["d"].tolist() == [-1234, 56, -3]
    assert pd.isna(f["e"][0]) and f["e"][1] == 7


def test_european_decimal_comma_column(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["price", "us"], ["1.234,56", "1,234.5"], ["12,5", "2.25"], ["3,0", "10"]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.frame["price"].tolist() == [1234.56, 12.5, 3.0]
    assert t.frame["us"].tolist() == [1234.5, 2.25, 10.0]


def test_dates_serials_and_text_day_first_per_column(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["eu", "us", "iso", "order date", "year"],
                    ["31/01/2024", "01/31/2024", "2024-01-31", 45322, 2021],
                    ["05/02/2024", "02/05/2024", "2024-02-05", 45327, 2022]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    f = t.frame
    expected = [pd.Timestamp("2024-01-31"), pd.Timestamp("2024-02-05")]
    assert f["eu"].tolist() == expected
    assert f["us"].tolist() == expected
    assert f["iso"].tolist() == expected
    assert f["order date"].tolist() == expected
    assert f["year"].tolist() == [2021, 2022]  # a year is a number, not a date


def test_booleans_and_empty_markers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["flag", "text_flag", "label"], [True, "TRUE", "N/A"], [False, "false", "x"], [None, None, "-"]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.frame["flag"].tolist()[:2] == [True, False]
    assert t.frame["text_flag"].tolist()[:2] == [True, False]
    assert t.frame["label"].tolist() == ["N/A", "x", "-"]  # text keeps markers as written
    assert t.meta["column_types"] == {"flag": "boolean", "text_flag": "boolean", "label": "text"}


def test_formulas_without_cached_values_are_computed(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["a", "b", "sum"], [1, 2, "=A2+B2"], [3, 4, "=A3*B3"]])
    book = open_workbook(save(wb, tmp_path))
    assert book.tables[0].frame["sum"].tolist() == [3, 12]
    assert any("formula" in w for w in book.warnings)


def test_formulas_over_the_compute_limit_give_a_warning(tmp_path):
    from table_io import Limits

    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["a", "double"], [1, "=A2*2"], [2, "=A3*2"]])
    book = open_workbook(save(wb, tmp_path), limits=Limits(max_formulas_to_compute=1))
    assert any("no saved result" in w and "A1" not in w for w in book.warnings)
    assert book.tables[0].frame["double"].isna().all()


def test_workbook_connect_registers_every_table(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "One"
    fill(ws, "A1", [["Revenue Q1", "x"], [5, "a"], [7, "b"]])
    two = wb.create_sheet("Two")
    fill(two, "A1", [["k"], ["a"], ["b"], ["c"]])
    book = open_workbook(save(wb, tmp_path))
    con = connect(book)
    assert con.execute('SELECT sum("Revenue Q1") FROM one').fetchone() == (12,)
    assert con.execute("SELECT count(*) FROM two").fetchone() == (3,)


def test_duplicate_and_blank_headers_get_clean_names(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    fill(ws, "A1", [["x", "x", None, " spaced  name "], [1, 2, 3, 4]])
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.columns == ["x", "x_2", "col_3", "spaced name"]
    assert t.original_headers[3] == "spaced name"


def test_every_sheet_is_read_not_just_the_first(tmp_path):
    wb = openpyxl.Workbook()
    for i in range(3):
        ws = wb.active if i == 0 else wb.create_sheet()
        ws.title = f"S{i}"
        fill(ws, "A1", [["v"], [i], [i + 1]])
    book = open_workbook(save(wb, tmp_path))
    assert [t.name for t in book.tables] == ["s0", "s1", "s2"]


@pytest.mark.parametrize("fmt", ["xlsm", "ods"])
def test_other_spreadsheet_formats(tmp_path, fmt):
    frame = pd.DataFrame({"name": ["a", "b"], "value": [1.5, 2.5]})
    path = tmp_path / f"book.{fmt}"
    if fmt == "ods":
        frame.to_excel(path, index=False, engine="odf")
    else:
        wb = openpyxl.Workbook()
        fill(wb.active, "A1", [["name", "value"], ["a", 1.5], ["b", 2.5]])
        wb.save(path)
    book = open_workbook(path)
    assert book.format == fmt
    assert book.tables[0].frame["value"].tolist() == [1.5, 2.5]


def test_bytes_and_file_objects(tmp_path):
    wb = openpyxl.Workbook()
    fill(wb.active, "A1", [["a"], [1], [2]])
    path = save(wb, tmp_path)
    data = path.read_bytes()
    from_bytes = open_workbook(data, name="upload.xlsx")
    assert from_bytes.source == "upload.xlsx" and from_bytes.path is None
    with path.open("rb") as fh:
        from_file = open_workbook(fh)
    assert from_file.tables[0].frame["a"].tolist() == [1, 2]
    # the extension is only a hint: a workbook named .csv is still a workbook
    assert open_workbook(data, name="misnamed.csv").format == "xlsx"


def test_dataframe_and_workbook_sources():
    frame = pd.DataFrame({"A b": [1, 2], "c": ["x", "y"]})
    book = open_workbook(frame, name="scores")
    assert book.format == "dataframe" and book.tables[0].name == "scores"
    assert book.tables[0].columns == ["A b", "c"]
    assert open_workbook(book) is book


def test_the_source_file_is_never_written(tmp_path):
    wb = openpyxl.Workbook()
    fill(wb.active, "A1", [["a", "b"], [1, "=A2*2"]])
    path = save(wb, tmp_path)
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    connect(open_workbook(path)).close()
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_income_statement_sections_subtotals_and_notes(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "IS"
    for row in [["ACME Corp"], ["Income statement (EUR k)"], [], ["Item", 2023, 2024], ["Revenue"],
                ["  Product", 10, 20], ["  Services", 5, 6], ["Total revenue", 15, 26], [], ["Costs"],
                ["  Staff", 3, 4], ["  Rent", 1, 1], ["Total costs", 4, 5], [], ["Net income", 11, 21],
                [], ["Source: audited accounts"]]:
        ws.append(row)
    t = only_table(open_workbook(save(wb, tmp_path)))
    assert t.range == "A4:C15" and t.columns == ["Item", "2023", "2024"]
    assert t.title == "ACME Corp / Income statement (EUR k)"
    assert t.notes == ["Source: audited accounts"]
    assert t.total_row_numbers == [8, 13]
    assert t.frame["Item"].tolist() == ["Revenue", "Product", "Services", "Costs", "Staff", "Rent", "Net income"]
    assert t.row_levels == [0, 1, 1, 0, 1, 1, 0]
    assert t.frame["2024"].sum() == 52


def test_structure_scan_in_small_chunks_finds_the_same(tmp_path, monkeypatch):
    from table_io import xlsx_structure

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["label", "n", "twice"])
    for i in range(300):
        ws.append([("  " if i % 3 else "") + f"row {i}", i, f"=B{i + 2}*2"])
        if i % 7 == 0:
            ws.row_dimensions[i + 2].hidden = True
    path = save(wb, tmp_path)
    whole = open_workbook(path, limits=Limits(max_formulas_to_compute=0))
    monkeypatch.setattr(xlsx_structure, "_CHUNK", 997)
    monkeypatch.setattr(xlsx_structure, "_OVERLAP", 300)
    chunked = open_workbook(path, limits=Limits(max_formulas_to_compute=0))
    assert chunked.sheets[0].hidden_rows == whole.sheets[0].hidden_rows == [i + 2 for i in range(0, 300, 7)]
    assert chunked.warnings == whole.warnings and "300 formula cell(s)" in whole.warnings[0]

"""Reading decisions a new user met on held-out workbooks, written with openpyxl and read back:
pieces with no data are set aside (not counted as tables), names come from titles where the
sheet name says nothing, group labels written once per group are filled down, and every
decision is told in words (``reading_notes``, ``workbook_notes``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from sheet_helpers import fill, only_table

from table_io import EmptyWorkbookError, Limits, Workbook, connect, open_workbook, with_override
from table_io.describe import describe, reading_notes, workbook_notes, written_in_words
from table_io.naming import is_generic_sheet_name, title_identifier

IN_PROCESS = Limits(isolate=False)
Layout = Callable[[Any], None]


def book_of(tmp_path: Path, sheets: dict[str, Layout], *, isolate: bool = False) -> Workbook:
    """A workbook with one sheet per entry, each laid out by its function (in order)."""
    wb = openpyxl.Workbook()
    first = True
    for title, layout in sheets.items():
        ws = wb.active if first else wb.create_sheet(title)
        first = False
        ws.title = title
        layout(ws)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return open_workbook(path, limits=None if isolate else IN_PROCESS)


def cells(top_left: str, rows: list[list[Any]]) -> Layout:
    return lambda ws: fill(ws, top_left, rows)


def hidden(layout: Layout) -> Layout:
    def apply(ws: Any) -> None:
        layout(ws)
        ws.sheet_state = "hidden"
    return apply


SALES: list[list[Any]] = [["Region", "Amount"], ["North", 10], ["South", 20], ["East", 5]]


# ---------------------------------------------------------------- (a) pieces with no data


def test_a_hidden_scratch_cell_is_set_aside_not_a_table(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "calc": hidden(cells("B2", [[42]]))},
                   isolate=True)  # the set-aside list survives the isolated reader's pickling
    assert [t.name for t in book.tables] == ["sales"]
    assert [(p.sheet, p.range, p.reason, p.preview) for p in book.set_aside] == [
        ("calc", "B2:B2", "one cell, no header", "42")]
    calc = book.sheet("calc")
    assert calc.hidden and calc.table_names == []  # the sheet stays, with no table
    assert describe(book)["set_aside"] == [
        {"sheet": "calc", "range": "B2:B2", "reason": "one cell, no header", "preview": "42"}]
    assert "Set aside, not a table: calc!B2 (one cell, no header): '42'" in workbook_notes(book)
    assert "Sheet 'calc' is hidden" in workbook_notes(book)
    assert not any("calc" in w for w in book.warnings), "the set-aside list says it once"


@pytest.mark.parametrize(("label", "rows", "reason", "preview"), [
    ("a lone number", [[42]], "one cell, no header", "42"),
    ("a header with no rows", [["Name", "Email", "Phone"]], "no data rows (a header only)", "Name | Email | Phone"),
    ("a label and a value", [["Rate", 0.05]], "no data rows (a header only)", "Rate | 0.05"),
    ("two loose numbers", [[17], [42]], "loose values in one column, no header", "17 | 42"),
    ("a header and a total", [["Item", "Amount"], ["Total", 5]], "no data rows (a header and a total only)",
     "Item | Amount | Total"),
])
def test_pieces_with_no_data_beside_a_real_table_are_set_aside(
    tmp_path: Path, label: str, rows: list[list[object]], reason: str, preview: str
) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "Other": cells("C3", rows)})
    assert [t.name for t in book.tables] == ["sales"], label
    assert [(p.sheet, p.reason, p.preview) for p in book.set_aside] == [("Other", reason, preview)]


def test_a_stray_cell_on_the_sheet_of_a_table_leaves_the_table_its_sheet_name(tmp_path: Path) -> None:
    def layout(ws: Any) -> None:
        fill(ws, "A1", SALES)
        ws["H20"] = 42

    book = book_of(tmp_path, {"Sales": layout})
    assert [t.name for t in book.tables] == ["sales"]
    assert book.sheet("Sales").table_names == ["sales"]
    assert [(p.range, p.reason) for p in book.set_aside] == [("H20:H20", "one cell, no header")]


@pytest.mark.parametrize(("label", "rows", "columns", "n_rows"), [
    ("one row under a header", [["Name", "Score"], ["Ann", 3]], ["Name", "Score"], 1),
    ("one column with a header", [["Name"], ["Ann"], ["Bob"]], ["Name"], 2),
    ("numbers with no header, three rows", [[1, 2], [3, 4], [5, 6]], ["col_1", "col_2"], 3),
])
def test_genuine_small_tables_still_count(
    tmp_path: Path, label: str, rows: list[list[object]], columns: list[str], n_rows: int
) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "Small": cells("A1", rows)})
    small = book.table("small")
    assert (small.columns, small.n_rows) == (columns, n_rows), label
    assert book.set_aside == []


def test_a_key_value_block_beside_a_table_still_becomes_its_notes(tmp_path: Path) -> None:
    def layout(ws: Any) -> None:
        fill(ws, "A1", [["Prepared by:", "J. Smith"], ["Date:", "2024-01-31"]])
        fill(ws, "A4", SALES)

    book = book_of(tmp_path, {"Sales": layout})
    t = only_table(book)
    assert t.meta["key_values"] == {"Prepared by": "J. Smith", "Date": "2024-01-31"}
    assert book.set_aside == []


def test_a_lone_caption_stays_a_warning_as_before(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "Chart": cells("B2", [["Sales chart"]])})
    assert book.set_aside == [] and any("'Chart' has no table" in w for w in book.warnings)


def test_a_workbook_of_nothing_but_junk_is_an_empty_workbook(tmp_path: Path) -> None:
    with pytest.raises(EmptyWorkbookError, match=r"book\.xlsx.*has no table.*calc!B2:B2 '42': one cell"):
        book_of(tmp_path, {"calc": cells("B2", [[42]]), "tmp": cells("A1", [[7]])})


def test_a_workbook_that_is_only_an_empty_form_keeps_it_as_its_table(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Contacts": cells("A1", [["Name", "Email", "Phone"]]), "calc": cells("B2", [[42]])})
    form = only_table(book)
    assert (form.name, form.columns, form.n_rows) == ("contacts", ["Name", "Email", "Phone"], 0)
    assert [p.sheet for p in book.set_aside] == ["calc"]


def test_an_override_turns_a_set_aside_piece_into_a_table(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "Other": cells("A1", [["Rate", 0.05]])})
    fixed = with_override(book, "Other", range="A1:B1", header_rows=0)
    assert fixed.table("other").frame.values.tolist() == [["Rate", 0.05]]
    assert fixed.set_aside == [] and len(book.set_aside) == 1


# ---------------------------------------------------------------- (b) names from titles


@pytest.mark.parametrize(("name", "generic"), [
    ("Sheet1", True), ("Sheet", True), ("Sheet 2", True), ("Tabelle1", True), ("Feuil1", True),
    ("Hoja1", True), ("Foglio1", True), ("Planilha1", True), ("Blad1", True), ("Arkusz1", True),
    ("Лист1", True), ("Plan1", True),
    ("Plan", False), ("List", False), ("Data", False), ("Summary", False), ("Sales 2024", False),
    ("Sheet1 (2)", False),
])
def test_generic_sheet_names(name: str, generic: bool) -> None:
    assert is_generic_sheet_name(name) is generic


@pytest.mark.parametrize(("title", "ident"), [
    ("Quarterly Sales Report / All figures in USD", "quarterly_sales_report"),
    ("Headcount by department and region 2024", "headcount_by_department_and"),
    ("Umsätze (EUR)", "umsatze_eur"),
    ("2024", None),
    (None, None),
    ("Supercalifragilisticexpialidociousness", "supercalifragilisticexpialidoc"),
])
def test_title_identifier_keeps_whole_words(title: str | None, ident: str | None) -> None:
    assert title_identifier(title) == ident


def titled(*tables: tuple[str, str, list[list[Any]]]) -> Layout:
    """Tables under their titles: (title cell, title, rows); the rows start two rows lower."""
    def apply(ws: Any) -> None:
        for at, title, rows in tables:
            ws[at] = title
            cell = ws[at]
            fill(ws, f"{cell.column_letter}{cell.row + 2}", rows)
    return apply


DEPTS: list[list[Any]] = [["Dept", "People"], ["Ops", 5], ["IT", 3], ["HR", 2]]


@pytest.mark.parametrize(("label", "sheets", "names"), [
    ("a default sheet name: the title names the table",
     {"Sheet1": titled(("A1", "Quarterly Sales Report", SALES))}, ["quarterly_sales_report"]),
    ("a default sheet name without a title keeps the sheet's name",
     {"Sheet1": cells("A1", SALES)}, ["sheet1"]),
    ("a meaningful sheet name keeps today's name",
     {"Sales 2024": titled(("A1", "Regional Sales 2024", SALES))}, ["sales_2024"]),
    ("several tables: sheet name and title, a long title cut at a word",
     {"Summary": titled(("A1", "Revenue by region for the financial year 2024", SALES),
                        ("E1", "Headcount", DEPTS))},
     ["summary_revenue_by_region_for_the", "summary_headcount"]),
    ("several titled tables on a default sheet: the titles alone",
     {"Sheet1": titled(("A1", "Revenue", SALES), ("E1", "Headcount", DEPTS))}, ["revenue", "headcount"]),
    ("several tables, one untitled: its position",
     {"Report": titled(("A1", "Revenue", SALES)) , "Other": cells("A1", SALES)}, ["report", "other"]),
    ("a title never takes another sheet's name",
     {"Sheet1": titled(("A1", "Stock", SALES)), "Stock": cells("A1", DEPTS)}, ["stock_2", "stock"]),
])
def test_table_names(tmp_path: Path, label: str, sheets: dict[str, Layout], names: list[str]) -> None:
    book = book_of(tmp_path, sheets)
    assert [t.name for t in book.tables] == names, label
    assert [n for s in book.sheets for n in s.table_names] == names


def test_an_untitled_table_beside_a_titled_one_is_named_by_position(tmp_path: Path) -> None:
    def layout(ws: Any) -> None:
        titled(("A1", "Revenue", SALES))(ws)
        fill(ws, "E3", DEPTS)

    book = book_of(tmp_path, {"Report": layout})
    assert [t.name for t in book.tables] == ["report_revenue", "report_2"]


# ---------------------------------------------------------------- (c) group labels filled down

GROUPED: list[list[Any]] = [["Region", "Rep", "Amount"], ["North", "Ann", 10], [None, "Bob", 20], [None, "Cid", 5],
           ["South", "Dee", 7], [None, "Eve", 3], [None, "Fay", 1]]


def test_group_labels_written_once_are_filled_down(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", GROUPED)})
    t = only_table(book)
    assert t.frame["Region"].tolist() == ["North"] * 3 + ["South"] * 3
    assert t.meta["filled_down"] == ["Region"]
    assert describe(book)["sheets"][0]["tables"][0]["filled_down"] == ["Region"]
    with connect(book) as con:
        assert con.execute("SELECT sum(Amount) FROM sales WHERE Region = 'North'").fetchone() == (35,)


def test_two_levels_of_group_labels_are_filled_down(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Region", "City", "Rep", "Amount"],
            ["North", "Oslo", "Ann", 1], [None, None, "Bob", 2], [None, "Bergen", "Cid", 3], [None, None, "Dan", 4],
            ["South", "Rome", "Eve", 5], [None, None, "Fay", 6], [None, "Bari", "Gus", 7], [None, None, "Hal", 8]]
    t = only_table(book_of(tmp_path, {"Sales": cells("A1", rows)}))
    assert t.meta["filled_down"] == ["Region", "City"]
    assert t.frame["City"].tolist() == ["Oslo", "Oslo", "Bergen", "Bergen", "Rome", "Rome", "Bari", "Bari"]


@pytest.mark.parametrize(("label", "rows"), [
    ("blanks after the last labels to the end: missing values",
     [["Name", "Score"], ["Ann", 1], ["Bob", 2], ["Cid", 3], [None, 4], [None, 5], [None, 6]]),
    ("one group only",
     [["Region", "Rep", "Amount"], ["North", "Ann", 1], [None, "Bob", 2], [None, "Cid", 3]]),
    ("here and there blanks, not groups",
     [["Name", "Score"], ["Ann", 1], [None, 2], ["Bob", 3], ["Cid", 4], ["Dee", 5], [None, 6]]),
    ("numbers written as text in the first column",
     [["Code", "Score"], ["101", 1], [None, 2], ["102", 3], [None, 4]]),
    ("a missing-value marker among the labels",
     [["Region", "Score"], ["North", 1], [None, 2], ["-", 3], [None, 4]]),
    ("section rows with nothing else on them",
     [["Region", "Rep", "Amount"], ["North", None, None], [None, "Ann", 1], [None, "Bob", 2],
      ["South", None, None], [None, "Cid", 3], [None, "Dee", 4]]),
])
def test_blanks_that_mean_missing_are_not_filled(tmp_path: Path, label: str, rows: list[list[object]]) -> None:
    t = only_table(book_of(tmp_path, {"Data": cells("A1", rows)}))
    assert t.meta["filled_down"] == [], label
    first = t.columns[0]
    assert t.frame[first].isna().sum() == sum(r[0] is None for r in rows[1:]), label


def test_blanks_in_a_numeric_column_stay_missing(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["Region", "Amount", "Qty"], ["North", 10, 1], ["North", None, 2], ["South", 7, 3],
            ["South", None, 4], ["East", 3, 5], ["East", None, 6]]
    t = only_table(book_of(tmp_path, {"Data": cells("A1", rows)}))
    assert t.meta["filled_down"] == [] and t.frame["Amount"].isna().sum() == 3


# ---------------------------------------------------------------- (d) the decisions in words


@pytest.mark.parametrize(("written", "words"), [
    ("number text: thousands separators", "numbers written as text with thousands separators"),
    ("number text: decimal comma", "numbers written as text with a decimal comma (1.234,56 read as 1234.56)"),
    ("number text: percent (8% -> 0.08)", "numbers written as text with percent signs (8% read as 0.08)"),
    ("number text: currency, thousands separators",
     "numbers written as text with currency symbols and thousands separators"),
    ("date text %d/%m/%Y", "dates written as text, day first (dd/mm/yyyy)"),
    ("date text %m/%d/%Y", "dates written as text, month first (mm/dd/yyyy)"),
    ("date text %Y-%m-%d", "dates written as text (yyyy-mm-dd)"),
    ("date text %d %b %Y", "dates written as text (dd Mon yyyy)"),
    ("TRUE/FALSE text", "TRUE/FALSE written as text, read as yes/no values"),
])
def test_how_text_was_written_in_words(written: str, words: str) -> None:
    assert written_in_words(written) == words


def test_reading_notes_tell_every_decision(tmp_path: Path) -> None:
    def layout(ws: Any) -> None:
        ws["A1"] = "Hours by project"
        fill(ws, "A3", [
            ["Project", "Date", "Hours", "Amount"],
            ["Apollo", "31/01/2024", "7,5", "1,200"],
            [None, "01/02/2024", "8,25", "13,450"],
            ["Hermes", "02/02/2024", "6,0", "2,000"],
            [None, "13/02/2024", "7,75", "900"],
            ["Total", None, "29,5", "17,550"],
        ])
        ws.row_dimensions[5].hidden = True

    book = book_of(tmp_path, {"Hours": layout})
    notes = reading_notes(only_table(book))
    assert notes == [
        "Title above the table, not part of the data: 'Hours by project'",
        "Header: row 3",
        "Date: dates written as text, day first (dd/mm/yyyy)",
        "Hours: numbers written as text with a decimal comma (1.234,56 read as 1234.56)",
        "Amount: numbers written as text with thousands separators",
        "Row 8 'Total' kept out of the data (a total, so sums are not counted twice)",
        "Project: group labels written once per group were filled down into the blank rows below them",
        "Row 5 hidden in the sheet but kept in the data",
    ]


def test_reading_notes_for_a_two_row_header_and_page_break_copies(tmp_path: Path) -> None:
    def layout(ws: Any) -> None:
        fill(ws, "A1", [["Region", "Revenue", None], [None, "Q1", "Q2"], ["North", 1, 2], ["South", 3, 4],
                        ["Region", "Revenue", None], [None, "Q1", "Q2"], ["East", 5, 6]])
        ws.merge_cells("B1:C1")

    assert reading_notes(only_table(book_of(tmp_path, {"Sales": layout}))) == [
        "Header: rows 1-2, read as one name per column, e.g. 'Revenue Q1'",
        "Rows 5, 6 left out of the data: copies of the header (page breaks)",
    ]


def test_reading_notes_say_how_a_csv_was_read(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes("Name;Amount\nAnn;1.234,50\nBob;2.000,00\nCid;17,25\n".encode("cp1252"))
    book = open_workbook(path, limits=IN_PROCESS)
    t = only_table(book)
    assert t.meta["csv"] == {"encoding": "utf-8", "delimiter": ";", "quotes": "doubled quotes"}
    notes = reading_notes(t)
    assert "Amount: numbers written as text with a decimal comma (1.234,56 read as 1234.56)" in notes
    assert notes[-1] == "CSV read as UTF-8 text, semicolon-separated, quotes as doubled quotes"


def test_a_plain_table_has_nothing_to_note() -> None:
    book = open_workbook(pd.DataFrame({"Region": ["North"], "Amount": [1]}))
    assert reading_notes(book.tables[0]) == [] and workbook_notes(book) == []


def test_workbook_notes_carry_the_warnings(tmp_path: Path) -> None:
    book = book_of(tmp_path, {"Sales": cells("A1", SALES), "Chart": cells("A1", [["Sales chart"]])})
    assert workbook_notes(book) == book.warnings and any("Sales chart" in w for w in book.warnings)

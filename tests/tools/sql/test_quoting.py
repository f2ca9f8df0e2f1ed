"""table_io.quoting: the one rule for SQL identifiers and for sheet names in cell references."""

from __future__ import annotations

import duckdb
import pytest
from openpyxl.formula.tokenizer import Tokenizer

from table_io.quoting import quote_ident, quote_sheet
from tools.sheet.refs import split_sheet


@pytest.mark.parametrize(("name", "quoted"), [
    ("Sales", "Sales"),
    ("sales_2024", "sales_2024"),
    ("Q_2024.v2", "Q_2024.v2"),
    ("My Sheet", "'My Sheet'"),
    ("2024", "'2024'"),  # starts with a digit
    ("Q1", "'Q1'"),  # reads as a cell
    ("AB12", "'AB12'"),
    ("R2C4", "'R2C4'"),  # reads as an R1C1 reference
    ("C", "'C'"),
    ("Bob's", "'Bob''s'"),
    ("Données", "'Données'"),
    ("a-b", "'a-b'"),
])
def test_quote_sheet_follows_excel(name: str, quoted: str) -> None:
    assert quote_sheet(name) == quoted
    assert split_sheet(f"{quoted}!A1") == (name, "A1")  # and reads back


def test_quoted_sheet_is_one_range_operand_in_a_formula() -> None:
    sheet = quote_sheet("Bob's data")
    tokens = Tokenizer(f"=SUM({sheet}!A1:B2)").items
    assert [t.value for t in tokens if t.subtype == "RANGE"] == ["'Bob''s data'!A1:B2"]


@pytest.mark.parametrize("name", ["Revenue Q1", "select", 'say "hi"', "Year"])
def test_quote_ident_reads_back_in_duckdb(name: str) -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t ({quote_ident(name)} INTEGER)")
    assert con.execute("SELECT column_name FROM duckdb_columns()").fetchone() == (name,)

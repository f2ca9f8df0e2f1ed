"""CSV/TSV sniffing (encoding, delimiter, escapes, decimal comma) and the DuckDB direct path."""

from __future__ import annotations

import pandas as pd
import pytest

from table_io import Limits, connect, open_workbook


def write(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_utf8_bom_and_name_from_stem(tmp_path):
    book = open_workbook(write(tmp_path, "Café Sales.csv", "\ufeffcity,n\nZürich,3\nLyon,4\n".encode()))
    t = book.tables[0]
    assert t.name == "cafe_sales" and t.columns == ["city", "n"]
    assert t.frame["city"].tolist() == ["Zürich", "Lyon"]
    assert book.format == "csv"


def test_cp1252(tmp_path):
    t = open_workbook(write(tmp_path, "w.csv", "name,price\nCrème,€5\nNaïve,€7\n".encode("cp1252"))).tables[0]
    assert t.frame["name"].tolist() == ["Crème", "Naïve"]
    assert t.frame["price"].tolist() == [5, 7]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiters(tmp_path, sep):
    text = sep.join(["a", "b", "c"]) + "\n" + sep.join(["x", "1", "2"]) + "\n" + sep.join(["y", "3", "4"]) + "\n"
    t = open_workbook(write(tmp_path, "d.txt", text.encode())).tables[0]
    assert t.columns == ["a", "b", "c"]
    assert t.frame["c"].tolist() == [2, 4]


def test_tsv_with_commas_in_values(tmp_path):
    t = open_workbook(write(tmp_path, "t.tsv", b"name\tamount\nSmith, J\t1,234\nDoe, A\t5,678\n")).tables[0]
    assert t.frame["name"].tolist() == ["Smith, J", "Doe, A"]
    assert t.frame["amount"].tolist() == [1234, 5678]


def test_semicolon_with_decimal_comma(tmp_path):
    t = open_workbook(write(tmp_path, "eu.csv", b"Produkt;Preis\nA;1.234,50\nB;12,75\n")).tables[0]
    assert t.frame["Preis"].tolist() == [1234.5, 12.75]


def test_quoted_fields_with_doubled_quotes(tmp_path):
    t = open_workbook(write(tmp_path, "q.csv", b'title,n\n"Say ""hi"", then go",1\n"a\nb",2\n')).tables[0]
    assert t.frame["title"].tolist() == ['Say "hi", then go', "a\nb"]


def test_backslash_escapes_as_in_wikitq(tmp_path):
    t = open_workbook(write(tmp_path, "w.csv", b'"Title","Year"\n"The \\"Best\\" Song, ever","1999"\n"Plain","2001"\n')).tables[0]
    assert t.frame["Title"].tolist() == ['The "Best" Song, ever', "Plain"]
    assert t.frame["Year"].tolist() == [1999, 2001]


def test_csv_total_row_kept_out(tmp_path):
    t = open_workbook(write(tmp_path, "m.csv", b"Nation,Gold\nA,3\nB,2\nTotal,5\n")).tables[0]
    assert t.frame["Gold"].sum() == 5 and t.total_row_numbers == [4]


def test_huge_csv_goes_straight_to_duckdb(tmp_path):
    rows = "".join(f"{i};item {i};{i * 1.5}\n" for i in range(5000))
    path = write(tmp_path, "big.csv", ("id;name;value\n" + rows).encode())
    book = open_workbook(path, limits=Limits(direct_load_bytes=10_000, head_sample_rows=100))
    t = book.tables[0]
    assert t.duckdb_source == path.resolve() or t.duckdb_source == path
    assert len(t.frame) == 100 and t.n_rows == 5000
    assert any("DuckDB" in w for w in book.warnings)
    con = connect(book)
    assert con.execute("SELECT count(*), max(id) FROM big").fetchone() == (5000, 4999)
    assert con.execute("SELECT name FROM big WHERE id = 7").fetchone() == ("item 7",)


def test_huge_csv_from_bytes(tmp_path):
    data = ("a,b\n" + "".join(f"{i},{i}\n" for i in range(3000))).encode()
    book = open_workbook(data, name="up.csv", limits=Limits(direct_load_bytes=1000))
    assert connect(book).execute("SELECT sum(a) FROM up").fetchone() == (sum(range(3000)),)


def test_parquet_small_and_direct(tmp_path):
    frame = pd.DataFrame({"k": list(range(300)), "v": [f"x{i}" for i in range(300)]})
    path = tmp_path / "p.parquet"
    frame.to_parquet(path)
    small = open_workbook(path)
    assert small.format == "parquet" and small.tables[0].frame["k"].tolist() == list(range(300))
    big = open_workbook(path, limits=Limits(direct_load_bytes=1, head_sample_rows=50))
    t = big.tables[0]
    assert len(t.frame) == 50 and t.n_rows == 300 and t.duckdb_source is not None
    assert connect(big).execute("SELECT count(*) FROM p").fetchone() == (300,)
    from_bytes = open_workbook(path.read_bytes(), name="p.parquet", limits=Limits(direct_load_bytes=1))
    assert connect(from_bytes).execute("SELECT max(k) FROM p").fetchone() == (299,)


def test_csv_title_and_note_lines(tmp_path):
    text = "Exported sales report\n\nregion,units\nnorth,3\nsouth,4\n\nGenerated automatically by the export tool\n"
    t = open_workbook(write(tmp_path, "r.csv", text.encode())).tables[0]
    assert t.title == "Exported sales report" and t.columns == ["region", "units"]
    assert t.frame["units"].tolist() == [3, 4]
    assert t.notes == ["Generated automatically by the export tool"]
    assert t.range == "A3:B5" and t.row_numbers == [4, 5]

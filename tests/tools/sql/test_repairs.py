"""The SQL repairs as fixture pairs: (bad query, schema) -> (fixed query, note), rows where a
repair must not apply, and the sql tool with repairs on (default) and off, over real files."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from table_io import open_workbook
from table_io.quoting import quote_ident
from tools.sql import AFTER_ERROR, REPAIRS, Repair, RepairContext, SqlTool, apply
from tools.sql.guard import Catalog, guard

SALES = {"sales": ["City", "Revenue Q1", "year"]}
TWO = {**SALES, "people": ["name", "age"]}
PYLONS = {"pylons": ["Name", "Year built"]}
BY_ID = {r.id: r for r in (*REPAIRS, *AFTER_ERROR)}


def fix(repair_id: str, query: str, ctx: RepairContext) -> tuple[str, str] | None:
    return BY_ID[repair_id].fix(query, ctx)


# --------------------------------------------------------------------------- before the guard

BEFORE = [  # (repair id, bad query, schema, fixed query, note substring)
    ("error-marker", "SELECT year FROM sales WHERE City =  <<here>> 'Paris'", SALES,
     "SELECT year FROM sales WHERE City = 'Paris'", "removed the <<here>> marker"),
    ("quote-bare-columns", "SELECT City, revenue  q1 FROM sales", SALES,
     'SELECT City, "Revenue Q1" FROM sales', 'bare column name Revenue Q1 as "Revenue Q1"'),
    ("invented-table", "SELECT COUNT(*) AS n FROM orders", SALES,
     "SELECT COUNT(*) AS n FROM sales", "there is no table 'orders'; the query ran on table 'sales'"),
    ("invented-table", "SELECT COUNT(*) AS n FROM roster WHERE Year built < 1970", PYLONS,
     'SELECT COUNT(*) AS n FROM pylons WHERE "Year built" < 1970', "no table 'roster'"),
    ("invented-table", "SELECT o.City FROM orders AS o JOIN clients ON TRUE", SALES,
     "SELECT o.City FROM sales AS o JOIN sales ON TRUE", "no table 'clients', 'orders'"),
]


@pytest.mark.parametrize(("repair_id", "query", "schema", "fixed", "note"), BEFORE)
def test_repair_fixes_the_query_and_says_so(repair_id: str, query: str,
                                            schema: Mapping[str, Sequence[str]], fixed: str,
                                            note: str) -> None:
    out = fix(repair_id, query, RepairContext.for_schema(schema))
    assert out is not None
    assert out[0] == fixed and note in out[1]
    guard(out[0], Catalog({t: list(c) for t, c in schema.items()}))  # and it passes the guard


NOT_BEFORE = [  # (repair id, query, schema, sheet aliases): each left alone
    ("error-marker", "SELECT year FROM sales", SALES, {}),
    ("quote-bare-columns", "SELECT 'Revenue Q1' AS label, \"Revenue Q1\" FROM sales", SALES, {}),
    ("quote-bare-columns", "SELECT a % 2 FROM t", {"t": ["%", "a"]}, {}),
    ("invented-table", "SELECT COUNT(*) FROM orders", TWO, {}),  # two tables: which one?
    ("invented-table", "SELECT * FROM SALES", SALES, {}),  # the table, in another case
    ("invented-table", "WITH o AS (SELECT * FROM sales) SELECT * FROM o", SALES, {}),
    ("invented-table", 'SELECT * FROM "Sales 2024"', SALES, {"sales 2024": "sales"}),
    ("invented-table", "SELECT * FROM 'f.csv'", SALES, {}),  # a file stays a refusal
    ("invented-table", "SELECT * FROM other.main.orders", SALES, {}),
    ("invented-table", "SELECT * FROM read_csv('x.csv')", SALES, {}),
    ("invented-table", "SELEC * FRM orders", SALES, {}),  # does not parse: the guard says so
]


@pytest.mark.parametrize(("repair_id", "query", "schema", "aliases"), NOT_BEFORE)
def test_repair_does_not_apply(repair_id: str, query: str, schema: Mapping[str, Sequence[str]],
                               aliases: dict[str, str]) -> None:
    catalog = Catalog({t: list(c) for t, c in schema.items()}, aliases=aliases)
    assert fix(repair_id, query, RepairContext(catalog)) is None


def test_apply_runs_the_repairs_in_order_and_lists_what_fired() -> None:
    query = "SELECT Year built FROM roster WHERE Name = <<here>> 'A'"
    fixed, fired = apply(query, RepairContext.for_schema(PYLONS))
    assert [repair_id for repair_id, _ in fired] == ["error-marker", "quote-bare-columns",
                                                     "invented-table"]
    assert fixed == "SELECT \"Year built\" FROM pylons WHERE Name = 'A'"
    assert apply(query, RepairContext.for_schema(PYLONS), ()) == (query, [])


# --------------------------------------------------------------------------- after DuckDB's error


def duckdb_error(sql: str, schema: Mapping[str, Sequence[str]]) -> str:
    """The error real DuckDB gives for ``sql`` over empty tables with ``schema``."""
    con = duckdb.connect()
    for table, columns in schema.items():
        con.execute(f"CREATE TABLE {quote_ident(table)} "
                    f"({', '.join(quote_ident(c) + ' VARCHAR' for c in columns)})")
    with pytest.raises(duckdb.Error) as info:
        con.execute(sql)
    return str(info.value)


AFTER = [  # (repair id, query DuckDB rejects, fixed query, note substring)
    ("unknown-column", "SELECT revenue_q1 FROM sales", 'SELECT "Revenue Q1" FROM sales',
     'read column revenue_q1 as "Revenue Q1"'),
    ("wrong-qualifier", "SELECT T1.City FROM sales", "SELECT sales.City FROM sales",
     "read T1.<column> as sales.<column>: the query never defines T1"),
    ("dialect-reading", 'SELECT year FROM sales WHERE City = "Oslo"',
     "SELECT year FROM sales WHERE City = 'Oslo'", "ran it read as MySQL"),
]


@pytest.mark.parametrize(("repair_id", "query", "fixed", "note"), AFTER)
def test_after_error_repair_fixes_what_duckdb_rejected(repair_id: str, query: str, fixed: str,
                                                       note: str) -> None:
    catalog = Catalog({t: list(c) for t, c in SALES.items()})
    failed = guard(query, catalog)
    ctx = RepairContext(catalog, error=duckdb_error(failed.sql, SALES), failed=failed)
    out = fix(repair_id, failed.sql, ctx)
    assert out is not None
    assert out[0] == fixed and note in out[1]
    assert fix(repair_id, failed.sql, RepairContext(catalog)) is None  # no error: no repair


NOT_AFTER = [  # (repair id, query DuckDB rejects, schema)
    ("unknown-column", "SELECT revenue FROM sales", SALES),  # no column spelled that way
    ("unknown-column", "SELECT ab FROM t", {"t": ["a b", "a_b"]}),  # two: which one?
    ("wrong-qualifier", "SELECT T1.City FROM sales JOIN people ON TRUE", TWO),
    ("wrong-qualifier", "SELECT revenue_q1 FROM sales", SALES),  # a column error, not a qualifier
    ("dialect-reading", "SELECT nosuch FROM sales", SALES),  # every dialect reads it the same
]


@pytest.mark.parametrize(("repair_id", "query", "schema"), NOT_AFTER)
def test_after_error_repair_does_not_apply(repair_id: str, query: str,
                                           schema: Mapping[str, Sequence[str]]) -> None:
    catalog = Catalog({t: list(c) for t, c in schema.items()})
    failed = guard(query, catalog)
    ctx = RepairContext(catalog, error=duckdb_error(failed.sql, schema), failed=failed)
    assert fix(repair_id, failed.sql, ctx) is None


def test_dialect_reading_offers_each_reading_once() -> None:
    catalog = Catalog({t: list(c) for t, c in SALES.items()})
    failed = guard('SELECT year FROM sales WHERE City = "Oslo"', catalog)
    error = duckdb_error(failed.sql, SALES)
    first = fix("dialect-reading", failed.sql, RepairContext(catalog, error=error, failed=failed))
    assert first is not None
    again = fix("dialect-reading", failed.sql,
                RepairContext(catalog, error=error, failed=failed, tried=frozenset({first[0]})))
    assert again is None or again[0] != first[0]


def test_repairs_have_unique_kebab_ids_and_one_line_purposes() -> None:
    repairs: list[Repair] = [*REPAIRS, *AFTER_ERROR]
    assert len({r.id for r in repairs}) == len(repairs)
    for r in repairs:
        assert re.fullmatch(r"[a-z]+(-[a-z]+)*", r.id) and r.purpose and "\n" not in r.purpose


# --------------------------------------------------------------------------- in the sql tool


@pytest.fixture(scope="module")
def pylons_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "pylons.xlsx"
    frame = pd.DataFrame({"Name": ["A", "B", "C"], "Year built": [1961, 1975, 1968],
                          "Revenue Q1": [1.5, 2.5, 4.0]})
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Pylon list", index=False)
    return path


TOOL_CASES = [  # (query, repair ids the default tool reports, a value it returns)
    ("SELECT COUNT(*) AS n FROM roster WHERE Year built < 1970", ["quote-bare-columns",
                                                                 "invented-table"], 2),
    ("SELECT SUM(revenue_q1) AS n FROM {t}", ["unknown-column"], 8.0),
    ("SELECT COUNT(*) AS n FROM {t} WHERE Name = \"B\"", ["dialect-reading"], 1),
    ("SELECT COUNT(*) AS n FROM {t} WHERE Name = <<here>> 'B'", ["error-marker"], 1),
]


@pytest.mark.parametrize(("query", "ids", "value"), TOOL_CASES)
def test_the_tool_repairs_by_default_and_not_with_repairs_off(pylons_xlsx: Path, query: str,
                                                              ids: list[str], value: float) -> None:
    workbook = open_workbook(pylons_xlsx)
    query = query.format(t=workbook.tables[0].name)
    repaired = SqlTool(workbook)({"query": query})
    assert repaired.ok, repaired.observation
    assert repaired.payload["repairs"] == ids
    assert repaired.payload["frame"]["n"].iloc[0] == value
    assert repaired.observation.startswith("note: ")
    plain = SqlTool(workbook, repairs=())({"query": query})
    assert not plain.ok


def test_a_subset_of_repairs_switches_the_others_off(pylons_xlsx: Path) -> None:
    workbook = open_workbook(pylons_xlsx)
    only_quoting = SqlTool(workbook, repairs=[BY_ID["quote-bare-columns"]])
    failed = only_quoting({"query": "SELECT COUNT(*) AS n FROM roster WHERE Year built < 1970"})
    assert not failed.ok and "unknown table 'roster'" in failed.error.message
    table = workbook.tables[0].name
    ok = only_quoting({"query": f"SELECT COUNT(*) AS n FROM {table} WHERE Year built < 1970"})
    assert ok.ok and ok.payload["repairs"] == ["quote-bare-columns"]


def test_the_sheet_name_is_not_an_invented_table(pylons_xlsx: Path) -> None:
    tool = SqlTool(open_workbook(pylons_xlsx))
    result = tool({"query": 'SELECT COUNT(*) AS n FROM "Pylon list"'})
    assert result.ok and result.payload["repairs"] == []
    assert "read sheet 'Pylon list'" in result.observation


@pytest.fixture(scope="module")
def visits_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import datetime as dt

    path = tmp_path_factory.mktemp("wb") / "visits.xlsx"
    frame = pd.DataFrame({"Who": ["Ana", "Ben", "Ana", "Cy"],
                          "Day": [dt.date(2024, 3, 5), dt.date(2024, 3, 20),
                                  dt.date(2024, 4, 1), dt.date(2023, 3, 9)],
                          "Hours": [2.0, 3.5, 1.0, 4.0]})
    frame.to_excel(path, index=False, sheet_name="Visits")
    return path


@pytest.mark.parametrize(("where", "value"), [
    ("Day LIKE '2024-03%'", 5.5),
    ("Day ILIKE '2024-03-%' AND Who LIKE 'A%'", 2.0),  # a text column stays as it was
    ("Day NOT LIKE '2024%'", 4.0),
])
def test_a_date_matched_with_like_is_matched_as_its_text(visits_xlsx: Path, where: str,
                                                         value: float) -> None:
    workbook = open_workbook(visits_xlsx)
    table = workbook.tables[0].name
    query = f"SELECT SUM(Hours) AS n FROM {table} WHERE {where}"
    repaired = SqlTool(workbook)({"query": query})
    assert repaired.ok, repaired.observation
    assert repaired.payload["repairs"] == ["date-as-text"]
    assert repaired.payload["frame"]["n"].iloc[0] == value
    assert "LIKE needs text: matched Day" in repaired.observation
    assert not SqlTool(workbook, repairs=())({"query": query}).ok


def test_date_as_text_leaves_other_errors_alone() -> None:
    catalog = Catalog({t: list(c) for t, c in SALES.items()})
    failed = guard("SELECT City FROM sales WHERE City LIKE 'O%' AND nosuch = 1", catalog)
    ctx = RepairContext(catalog, error=duckdb_error(failed.sql, SALES), failed=failed)
    assert fix("date-as-text", failed.sql, ctx) is None
    assert fix("date-as-text", failed.sql, RepairContext(catalog)) is None

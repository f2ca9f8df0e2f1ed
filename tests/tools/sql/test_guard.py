"""The sqlglot guard on its own: what it lets through, what it refuses, and how it rewrites."""

from __future__ import annotations

import pytest

from tools.base import ToolFailure
from tools.sql.guard import Catalog, guard
from tools.sql.repairs import RepairContext, apply, quote_bare_columns

CATALOG = Catalog({"sales": ["City", "Revenue Q1", "year"], "people": ["name", "age"]})


def refused(query: str) -> str:
    with pytest.raises(ToolFailure) as info:
        guard(query, CATALOG)
    return info.value.error.message + " " + (info.value.error.hint or "")


@pytest.mark.parametrize("query", [
    "SELECT 1; DROP TABLE sales",
    "WITH x AS (DELETE FROM sales RETURNING *) SELECT * FROM x",
    "WITH x AS (SELECT 1), y AS (UPDATE sales SET year = 0 RETURNING *) SELECT * FROM y",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('f.csv')",
    "SELECT * FROM 'f.csv'",
    "SELECT * FROM glob('*')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM sales, LATERAL read_parquet('x.parquet')",
    "SELECT read_text('/etc/passwd')",
    "SELECT getenv('HOME')",
    "SELECT current_setting('enable_external_access')",
    "ATTACH 'other.db' AS o",
    "COPY sales TO 'out.csv'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA version",
    "CALL pragma_version()",
    "DESCRIBE sales",
    "SUMMARIZE sales",
    "EXPORT DATABASE 'dump'",
    "CREATE TABLE x AS SELECT * FROM sales",
    "CREATE MACRO m(x) AS x",
    "INSERT INTO sales VALUES ('x', 1, 2)",
    "UPDATE sales SET year = 1",
    "DELETE FROM sales",
    "DROP TABLE sales",
    "ALTER TABLE sales ADD COLUMN z INT",
    "SELECT 1 INTO t2",
    "SELECT * INTO t2 FROM sales",
    "SELECT * FROM df",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM other.main.sales",
    "VACUUM",
    "CHECKPOINT",
    "BEGIN TRANSACTION",
    "",
    "```sql\n```",
])
def test_refused(query: str) -> None:
    message = refused(query)
    assert message.strip()


def test_refusals_say_why() -> None:
    assert "2 statements" in refused("SELECT 1; DROP TABLE sales")
    assert "WITH" in refused("WITH x AS (DELETE FROM sales RETURNING *) SELECT * FROM x")
    assert "read_csv" in refused("SELECT * FROM read_csv('f.csv')")
    assert "files cannot be read" in refused("SELECT * FROM 'f.csv'")
    assert "unknown table 'df'" in refused("SELECT * FROM df")
    assert "sales" in refused("SELECT * FROM df")  # lists the real tables


def test_unknown_table_suggests_nearest() -> None:
    message = refused("SELECT * FROM sale")
    assert '"sales"' in message


def test_syntax_error_has_position() -> None:
    with pytest.raises(ToolFailure) as info:
        guard("SELECT City FROM sales WHERE (year > 2019", CATALOG)
    error = info.value.error
    assert error.location and "line 1" in error.location


@pytest.mark.parametrize(("query", "expected"), [
    ("select `Revenue Q1` from sales order by year desc limit 1", '"Revenue Q1"'),
    ("SELECT TOP 3 [Revenue Q1] FROM sales", "LIMIT 3"),
    ("SELECT City FROM sales WHERE City ILIKE 'o%'", "ILIKE"),
    ("SELECT City, year FROM sales ORDER BY year DESC LIMIT 1", "LIMIT 1"),
    ("SELECT City FROM sales LIMIT 2, 5", "OFFSET"),  # MySQL's LIMIT offset, count
    ("FROM sales", "SELECT *"),
    ("WITH a AS (SELECT * FROM sales) SELECT * FROM a UNION ALL SELECT * FROM sales", "UNION ALL"),
    ("SELECT * FROM sales s JOIN people p ON s.City = p.name", "JOIN"),
    ("SELECT * FROM (VALUES (1), (2)) v(x)", "VALUES"),
    ("SELECT x FROM UNNEST([1, 2]) AS u(x)", "UNNEST"),
])
def test_allowed_and_transpiled(query: str, expected: str) -> None:
    result = guard(query, CATALOG)
    assert expected in result.sql
    assert set(result.tables) <= {"sales", "people"}


def test_tables_read_are_reported() -> None:
    result = guard("WITH a AS (SELECT * FROM SALES) SELECT * FROM a JOIN People ON true", CATALOG)
    assert sorted(result.tables) == ["people", "sales"]


def test_cte_names_are_not_tables_outside_their_query() -> None:
    assert guard("WITH df AS (SELECT 1 AS x) SELECT x FROM df", CATALOG).tables == []


def test_bare_multiword_column_is_quoted_by_the_repairs_then_passes() -> None:
    text, fired = apply("SELECT City, Revenue Q1 FROM sales WHERE revenue  q1 > 2",
                        RepairContext(CATALOG))
    assert guard(text, CATALOG).sql.count('"Revenue Q1"') == 2
    assert [repair_id for repair_id, _ in fired] == ["quote-bare-columns"]


def test_quoting_leaves_strings_alone() -> None:
    text, notes = quote_bare_columns("SELECT 'Revenue Q1' AS label, \"Revenue Q1\"", ["Revenue Q1"])
    assert text == "SELECT 'Revenue Q1' AS label, \"Revenue Q1\""
    assert notes == []


def test_comments_are_dropped_from_what_runs() -> None:
    result = guard("SELECT City /* a comment */ FROM sales -- trailing", CATALOG)
    assert "comment" not in result.sql and "trailing" not in result.sql


def test_symbol_only_column_names_are_not_rewritten() -> None:
    text, notes = quote_bare_columns("SELECT a % 2, b + 1 FROM t", ["%", "+", "Pop. %"])
    assert text == "SELECT a % 2, b + 1 FROM t" and notes == []
    text, _ = quote_bare_columns("SELECT Pop. % FROM t", ["%", "Pop. %"])
    assert text == 'SELECT "Pop. %" FROM t'


@pytest.mark.parametrize("query", [
    "SELECT repeat('-', 20) AS rule FROM sales",
    "SELECT lpad(City, 10, ' ') FROM sales",
    "SELECT unnest(range(0, 100, 5)) AS i",
    "SELECT printf('%.2f', year) FROM sales",
    "SELECT replace(City, 'o', '0') FROM sales",
])
def test_small_values_are_left_as_written(query: str) -> None:
    assert "ERROR(" not in guard(query, CATALOG).sql


@pytest.mark.parametrize("query", [
    "SELECT repeat('x', 2000000000)",
    "SELECT len(range(400000000))",
    "SELECT lpad(City, 50000000, '0') FROM sales",
    "SELECT printf('%900000000d', 1)",
    "SELECT repeat('x', CAST('9' AS INT))",
])
def test_oversized_or_unknowable_values_are_refused(query: str) -> None:
    with pytest.raises(ToolFailure) as caught:
        guard(query, CATALOG)
    assert caught.value.error.message.startswith("refused")


def test_counts_from_the_data_are_clamped_at_run_time() -> None:
    sql = guard("SELECT repeat(City, year) FROM sales", CATALOG).sql
    assert "CASE WHEN year >" in sql and "ERROR(" in sql

"""The sql tool over real workbooks: results, errors the model can act on, limits, and that
nothing a query does changes the catalog or the disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from table_io import open_workbook
from tools.sql import SqlTool


@pytest.fixture(scope="module")
def sales_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "sales.xlsx"
    frame = pd.DataFrame({
        "City": ["Oslo", "Bergen", "Paris", "Lyon", "Oslo"],
        "Revenue Q1": [10.5, 20.0, 30.0, 5.0, 7.5],
        "year": [2019, 2020, 2021, 2022, 2020],
    })
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Sales", index=False)
        pd.DataFrame({"name": ["Ann", "Bob"], "age": [31, 42]}).to_excel(
            writer, sheet_name="People", index=False)
    return path


@pytest.fixture
def tool(sales_xlsx: Path) -> SqlTool:
    return SqlTool(open_workbook(sales_xlsx), timeout_s=5)


def table_name(tool: SqlTool, sheet: str) -> str:
    return next(t.name for t in tool.workbook.tables if t.sheet == sheet)


def checksums(tool: SqlTool) -> dict[str, tuple]:
    """Row count and per-column hash sums of every catalog table, read past the guard."""
    con = tool.connection
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() ORDER BY table_name").fetchall()]
    out = {}
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        out[name] = con.execute(
            f"SELECT count(*), sum(hash(COLUMNS(*))::HUGEINT) FROM {quoted}").fetchone()
    out["__settings__"] = con.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration')"
    ).fetchone()
    return out


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_select_returns_frame_preview_tables_and_cells(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f'SELECT City, "Revenue Q1" FROM {sales} WHERE year = 2021'})
    assert result.ok, result.observation
    frame = result.payload["frame"]
    assert frame.to_dict("records") == [{"City": "Paris", "Revenue Q1": 30.0}]
    assert "Paris" in result.observation and "1 row" in result.observation
    assert result.tables == [sales]
    table = tool.workbook.table(sales)
    assert table.cell(2, "City") in result.cells
    assert result.payload["sql"].startswith("SELECT")


def test_aggregate_provenance_points_at_matching_rows(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT SUM(\"Revenue Q1\") AS total FROM {sales} WHERE City = 'Oslo'"})
    assert result.payload["frame"]["total"].iloc[0] == 18.0
    table = tool.workbook.table(sales)
    assert {table.cell(0, "Revenue Q1"), table.cell(4, "Revenue Q1")} <= set(result.cells)


def test_long_result_is_truncated_with_counts(tmp_path: Path) -> None:
    wb = open_workbook(pd.DataFrame({"n": np.arange(1000)}))
    tool = SqlTool(wb, max_rows=50)
    result = tool({"query": "SELECT n FROM data"})
    assert result.payload["total_rows"] == 1000
    assert len(result.payload["frame"]) == 50
    assert "of 1000 rows" in result.observation
    assert len(result.observation) < 4200


def test_mysql_spelling_is_transpiled(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT `City` FROM {sales} ORDER BY `Revenue Q1` DESC LIMIT 1"})
    assert result.ok, result.observation
    assert result.payload["frame"]["City"].tolist() == ["Paris"]


def test_bare_multiword_and_wrong_case_columns_work(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT CITY, revenue q1 FROM {sales.upper()} WHERE YEAR = 2019"})
    assert result.ok, result.observation
    assert result.payload["frame"].iloc[0].tolist() == ["Oslo", 10.5]
    assert "note:" in result.observation


def test_snake_case_column_is_read_as_the_real_one(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT SUM(revenue_q1) AS s FROM {sales}"})
    assert result.ok, result.observation
    assert result.payload["frame"]["s"].iloc[0] == 73.0
    assert '"Revenue Q1"' in result.observation


def test_undefined_qualifier_over_one_table_is_read_as_that_table(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT T1.City FROM {sales} WHERE T1.year = 2021"})
    assert result.ok, result.observation
    assert result.payload["frame"]["City"].tolist() == ["Paris"]
    assert "never defines T1" in result.observation
    aliased = tool({"query": f"SELECT T2.City FROM {sales} AS T1 WHERE T1.year = 2022"})
    assert aliased.ok and aliased.payload["frame"]["City"].tolist() == ["Lyon"]
    # over two tables the qualifier is ambiguous: the error and its hint go back to the model
    people = table_name(tool, "People")
    joined = tool({"query": f"SELECT T3.City FROM {sales} JOIN {people} ON TRUE"})
    assert not joined.ok and "alias given in FROM" in joined.error.hint


def test_wrong_column_names_nearest_with_table_and_quoting(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT Revenu FROM {sales}"})
    assert not result.ok
    assert result.error.kind == "query"
    assert '"Revenue Q1"' in result.error.hint and sales in result.error.hint
    assert result.error.location and "Revenu" in result.error.location


def test_python_variable_name_is_not_a_table(tool: SqlTool) -> None:
    df = pd.DataFrame({"secret": [1]})  # a local the old replacement scan would have found
    assert len(df) == 1
    result = tool({"query": "SELECT * FROM df"})
    assert not result.ok
    assert "unknown table 'df'" in result.error.message


ADVERSARIAL = [
    "SELECT 1; DROP TABLE {t}",
    "WITH x AS (DELETE FROM {t} RETURNING *) SELECT * FROM x",
    "SELECT * FROM read_csv('{file}')",
    "SELECT * FROM '{file}'",
    "SELECT * FROM glob('*')",
    "SELECT * FROM query('DELETE FROM {t}')",
    "ATTACH '{dir}/x.db' AS x",
    "COPY {t} TO '{dir}/out.csv'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_profiling",
    "SELECT * FROM df",
    "UPDATE {t} SET year = 0",
    "CREATE TABLE evil AS SELECT 1",
    "SELECT 1 INTO evil",
]


@pytest.mark.parametrize("template", ADVERSARIAL)
def test_adversarial_sql_is_refused_and_changes_nothing(
        template: str, sales_xlsx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "f.csv").write_text("a\n1\n")
    tool = SqlTool(open_workbook(sales_xlsx), timeout_s=5)
    before, digest, files = checksums(tool), file_digest(sales_xlsx), sorted(tmp_path.iterdir())
    query = template.format(t=table_name(tool, "Sales"), file=tmp_path / "f.csv", dir=tmp_path)
    result = tool({"query": query})
    assert not result.ok
    assert result.error.kind == "query"
    assert result.error.message
    assert checksums(tool) == before
    assert file_digest(sales_xlsx) == digest
    assert sorted(tmp_path.iterdir()) == files


def test_catalog_wall_holds_even_past_the_guard(tool: SqlTool) -> None:
    con = tool.connection
    for statement in ("SET enable_external_access = true", "SELECT * FROM read_csv('/etc/passwd')",
                      "INSTALL httpfs"):
        with pytest.raises(Exception):  # noqa: B017 - any DuckDB refusal will do
            con.execute(statement)


def test_cross_join_stops_at_the_limit_and_the_next_query_runs() -> None:
    wb = open_workbook(pd.DataFrame({"a": np.arange(100_000)}))
    tool = SqlTool(wb, timeout_s=1)
    result = tool({"query": "SELECT count(*) FROM data x CROSS JOIN data y "
                            "WHERE (x.a * 31 + y.a) % 1000003 = 7"})
    assert not result.ok
    assert result.error.kind == "limit"
    streamed = tool({"query": "SELECT * FROM data x CROSS JOIN data y"})
    assert streamed.error is not None and streamed.error.kind == "limit"
    after = tool({"query": "SELECT count(*) AS n FROM data"})
    assert after.ok and after.payload["frame"]["n"].iloc[0] == 100_000


def test_refresh_sees_edits(tool: SqlTool) -> None:
    wb = open_workbook(pd.DataFrame({"x": [1, 2, 3]}))
    tool.refresh(wb)
    assert tool.query_frame("SELECT sum(x) AS s FROM data")["s"].iloc[0] == 6


def test_langchain_tool_returns_the_observation(tool: SqlTool) -> None:
    lc = tool.as_langchain()
    out = lc.invoke({"query": f"SELECT count(*) AS n FROM {table_name(tool, 'People')}"})
    assert "2" in out


# --------------------------------------------------------------------------- property test

_PIECES = st.sampled_from([
    "SELECT", "*", "City", '"Revenue Q1"', "year", "FROM", "{t}", "WHERE", "year > 2019", ",",
    "(", ")", ";", "DELETE FROM {t}", "DROP TABLE {t}", "INSERT INTO {t} VALUES ('x', 1, 2)",
    "UPDATE {t} SET year = 0", "WITH x AS", "AS", "x", "RETURNING *", "UNION ALL", "count(*)",
    "CREATE TABLE y AS", "TRUNCATE {t}", "ORDER BY year", "LIMIT 1", "GROUP BY City",
    "read_csv('f.csv')", "SET threads = 1", "ALTER TABLE {t} RENAME TO z", "max(year)",
])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(_PIECES, min_size=1, max_size=12))
def test_anything_the_guard_allows_leaves_the_catalog_unchanged(pieces: list[str], tool: SqlTool) -> None:
    query = " ".join(pieces).format(t=table_name(tool, "Sales"))
    before = checksums(tool)
    tool({"query": query})
    assert checksums(tool) == before


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(write=st.sampled_from(["DELETE FROM {t} RETURNING *", "UPDATE {t} SET year = 0 RETURNING *",
                              "INSERT INTO {t} VALUES ('x', 1, 2) RETURNING *"]),
       depth=st.integers(min_value=0, max_value=3))
def test_writes_hidden_in_nested_ctes_are_refused(write: str, depth: int, tool: SqlTool) -> None:
    query = f"WITH w AS ({write.format(t=table_name(tool, 'Sales'))}) SELECT * FROM w"
    for i in range(depth):
        query = f"WITH o{i} AS ({query}) SELECT * FROM o{i}"
    before = checksums(tool)
    result = tool({"query": query})
    assert not result.ok
    assert checksums(tool) == before


def test_provenance_of_ordered_and_star_queries(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    table = tool.workbook.table(sales)
    top = tool({"query": f'SELECT City FROM {sales} ORDER BY "Revenue Q1" DESC LIMIT 1'})
    assert top.payload["frame"]["City"].tolist() == ["Paris"]
    assert table.cell(2, "City") in top.cells and table.cell(2, "Revenue Q1") in top.cells
    assert "__tablepilot_rowid" not in top.payload["frame"].columns
    star = tool({"query": f"SELECT * FROM {sales} WHERE City = 'Lyon'"})
    assert set(star.cells) == {table.cell(3, c) for c in table.columns}
    many = tool({"query": f"SELECT * FROM {sales}, {table_name(tool, 'People')}"})
    assert many.ok and many.cells == []


def test_double_quoted_string_is_read_the_mysql_way(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f'SELECT year FROM {sales} WHERE City = "Paris"'})
    assert result.ok, result.observation
    assert result.payload["frame"]["year"].tolist() == [2021]
    assert "MySQL" in result.observation and "'Paris'" in result.payload["sql"]


def test_a_quoted_column_is_never_read_as_text_to_hide_another_error(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    # replace() over a number column fails; read the MySQL way, "year" and "Revenue Q1" would
    # become text and the query would run, answering nothing about the columns
    result = tool({"query": f'SELECT "Revenue Q1" FROM {sales} WHERE City = \'Oslo\' '
                            f'ORDER BY replace("year", \',\', \'\') LIMIT 1'})
    assert not result.ok and "MySQL" not in result.error.render()
    assert "replace" in result.error.render()


def test_foreign_function_gets_the_duckdb_spelling(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    translated = tool({"query": f"SELECT nvl(City, 'x') AS c FROM {sales}"})  # sqlglot knows this one
    assert translated.ok and "COALESCE" in translated.payload["sql"]
    result = tool({"query": f"SELECT julianday(year) FROM {sales}"})
    assert not result.ok
    assert "julian(" in result.error.hint and "julian" in result.error.message


def test_sheet_name_reads_its_table(tool: SqlTool) -> None:
    result = tool({"query": 'SELECT count(*) AS n FROM "People"'})
    assert result.ok, result.observation
    assert result.payload["frame"]["n"].iloc[0] == 2


def test_query_frame_caps_rows() -> None:
    tool = SqlTool(open_workbook(pd.DataFrame({"n": np.arange(5000)})))
    assert len(tool.query_frame("SELECT n FROM data", max_rows=10)) == 10
    assert len(tool.query_frame("SELECT n FROM data")) == 5000


def test_sum_over_a_text_column_hints_how_to_take_its_number(tmp_path: Path) -> None:
    path = tmp_path / "doneness.csv"
    path.write_text("Term,USDA recommended\nRare,\nMedium,145 °F\nWell done,\"1,160 °F\"\n",
                    encoding="utf-8")
    tool = SqlTool(open_workbook(path))
    name = tool.workbook.tables[0].name
    failed = tool({"query": f'SELECT SUM("USDA recommended") FROM {name}'})
    assert not failed.ok and "'145 °F'" in failed.error.hint
    fixed = failed.error.hint.split("it: ", 1)[1]
    result = tool({"query": f"SELECT SUM({fixed}) AS s FROM {name}"})
    assert result.ok, result.observation
    assert result.payload["frame"]["s"].iloc[0] == 1305.0


def test_the_error_marker_copied_into_a_query_is_removed(tool: SqlTool) -> None:
    sales = table_name(tool, "Sales")
    result = tool({"query": f"SELECT year FROM {sales} WHERE City =  <<here>> 'Paris'"})
    assert result.ok, result.observation
    assert result.payload["frame"]["year"].tolist() == [2021]
    assert "removed the <<here>> marker" in result.observation

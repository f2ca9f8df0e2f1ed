"""Where each row of a query's result is on the sheet (``payload['source_rows']``), over real
DuckDB: a plain SELECT's own rows, a group's rows, an aggregate's kept rows; none where it
cannot be known; and the frame the model sees stays as the plain query gives it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from table_io import open_workbook
from table_io.limits import Limits
from tools.sql import SqlTool
from tools.sql.provenance import SOURCE_FRAME_ROWS, SOURCE_GROUP_ROWS


@pytest.fixture(scope="module")
def orders_xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Orders on rows 2-7 (header on row 1): A City, B Amount, C Year."""
    path = tmp_path_factory.mktemp("wb") / "orders.xlsx"
    frame = pd.DataFrame({
        "City": ["Oslo", "Bergen", "Paris", "Lyon", "Oslo", "Paris"],
        "Amount": [10.5, 20.0, 30.0, 5.0, 7.5, 1.0],
        "Year": [2019, 2020, 2021, 2022, 2020, 2021],
    })
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Orders", index=False)
        pd.DataFrame({"name": ["Ann", "Bob"], "age": [31, 42]}).to_excel(
            writer, sheet_name="People", index=False)
    return path


@pytest.fixture(scope="module")
def tool(orders_xlsx: Path) -> SqlTool:
    return SqlTool(open_workbook(orders_xlsx), timeout_s=5)


def orders(tool: SqlTool) -> str:
    return next(t.name for t in tool.workbook.tables if t.sheet == "Orders")


def people(tool: SqlTool) -> str:
    return next(t.name for t in tool.workbook.tables if t.sheet == "People")


def run(tool: SqlTool, query: str) -> dict[str, Any]:
    return payload_of(tool, query.format(orders=orders(tool), people=people(tool)))


def payload_of(tool: SqlTool, query: str) -> dict[str, Any]:
    result = tool({"query": query})
    assert result.ok, result.observation
    return dict(result.payload or {})


@pytest.mark.parametrize(("query", "frame", "rows", "counts", "columns"), [
    # a plain SELECT: each row's own sheet row, in the result's order
    ("SELECT City FROM {orders} WHERE Amount > 9 ORDER BY Amount DESC",
     [["Paris"], ["Bergen"], ["Oslo"]], [[4], [3], [2]], [1, 1, 1], ["A", "B"]),
    ("SELECT * FROM {orders} WHERE City = 'Lyon'",
     [["Lyon", 5.0, 2022]], [[5]], [1], ["A", "B", "C"]),
    # GROUP BY: each group's rows, in sheet order, whatever order the groups come in
    ("SELECT City, SUM(Amount) AS total FROM {orders} GROUP BY City ORDER BY total DESC",
     [["Paris", 31.0], ["Bergen", 20.0], ["Oslo", 18.0], ["Lyon", 5.0]],
     [[4, 7], [3], [2, 6], [5]], [2, 1, 2, 1], ["A", "B"]),
    ("SELECT Year, count(*) FROM {orders} WHERE City <> 'Lyon' GROUP BY 1 HAVING count(*) > 1 "
     "ORDER BY 1", [[2020, 2], [2021, 2]], [[3, 6], [4, 7]], [2, 2], ["A", "C"]),
    # an aggregate over the table: the one row came from the rows its WHERE kept
    ("SELECT SUM(Amount) AS total FROM {orders} WHERE City = 'Oslo'",
     [[18.0]], [[2, 6]], [2], ["A", "B"]),
    ("SELECT max(Year) FROM {orders}", [[2022]], [[2, 3, 4, 5, 6, 7]], [6], ["C"]),
])
def test_each_result_row_names_its_sheet_rows(
        tool: SqlTool, query: str, frame: list[list[Any]], rows: list[list[int]],
        counts: list[int], columns: list[str]) -> None:
    payload = run(tool, query)
    assert payload["frame"].values.tolist() == frame
    assert not any(str(c).startswith("__tablepilot") for c in payload["frame"].columns)
    assert payload["source_rows"] == rows
    assert payload["source_counts"] == counts
    assert payload["source_sheet"] == "Orders"
    assert payload["source_columns"] == columns


@pytest.mark.parametrize("query", [
    "SELECT o.City FROM {orders} o JOIN {people} p ON TRUE",  # two tables
    "WITH c AS (SELECT City FROM {orders}) SELECT City FROM c",  # a CTE
    "SELECT City FROM {orders} WHERE Amount > (SELECT avg(Amount) FROM {orders})",  # subquery
    "SELECT DISTINCT City FROM {orders}",  # distinct rows have no one source
    "SELECT City, count(*) OVER () FROM {orders}",  # a window: the traced form would change it
    "SELECT City, count(*) AS n FROM {orders} GROUP BY ALL ORDER BY ALL",  # would sort by it
])
def test_no_sources_where_they_cannot_be_known(tool: SqlTool, query: str) -> None:
    payload = run(tool, query)
    assert payload["source_rows"] is None and payload["source_counts"] is None
    assert payload["source_sheet"] is None and payload["source_columns"] is None


def test_the_observation_and_frame_are_those_of_the_plain_query(tool: SqlTool) -> None:
    name = orders(tool)
    query = f"SELECT City, SUM(Amount) AS total FROM {name} GROUP BY City ORDER BY total DESC"
    traced = tool({"query": query})
    plain = SqlTool(tool.workbook, timeout_s=5, provenance=False)({"query": query})
    assert traced.observation == plain.observation
    traced_payload: dict[str, Any] = dict(traced.payload or {})
    plain_payload: dict[str, Any] = dict(plain.payload or {})
    pd.testing.assert_frame_equal(traced_payload["frame"], plain_payload["frame"])
    assert plain_payload["source_rows"] is None


def test_long_results_and_big_groups_are_cut() -> None:
    frame = pd.DataFrame({"g": np.arange(300) % 2, "n": np.arange(300)})
    tool = SqlTool(open_workbook(frame), max_rows=100)
    plain = payload_of(tool, "SELECT n FROM data")
    assert len(plain["frame"]) == 100 and len(plain["source_rows"]) == SOURCE_FRAME_ROWS
    assert plain["source_rows"][:3] == [[2], [3], [4]]  # a frame's rows start below its header
    grouped = payload_of(tool, "SELECT g, count(*) FROM data GROUP BY g ORDER BY g")
    assert grouped["source_counts"] == [150, 150]
    assert [len(rows) for rows in grouped["source_rows"]] == [SOURCE_GROUP_ROWS] * 2
    assert grouped["source_rows"][1][:3] == [3, 5, 7]


def test_a_table_queried_in_place_has_no_sources(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("city,n\n" + "".join(f"c{i},{i}\n" for i in range(50)))
    tool = SqlTool(open_workbook(path, limits=Limits(direct_load_bytes=1)))
    assert tool.workbook.tables[0].duckdb_source is not None
    payload = payload_of(tool, "SELECT city FROM big WHERE n < 3")
    assert payload["frame"]["city"].tolist() == ["c0", "c1", "c2"]
    assert payload["source_rows"] is None

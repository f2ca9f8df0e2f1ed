"""Rule fixture tests: the real lookups the observation rules need, an Informer over a tiny
workbook with the real SQL tool (the case helpers are in tests/rule_cases.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from agent.informer import Informer, informer_for
from table_io import open_workbook
from tools.sql import SqlTool


@pytest.fixture(scope="module")
def sql_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqlTool]:
    """The SQL tool over one sheet 'sales' (Region, Year, Product, Revenue)."""
    path = tmp_path_factory.mktemp("rules") / "sales.xlsx"
    pd.DataFrame({
        "Region": ["North", "South", "North", "East", "South", "North"],
        "Year": [2023, 2023, 2024, 2024, 2024, 2023],
        "Product": ["Tea", "Coffee", "Tea", "Cocoa", "Tea", "Coffee"],
        "Revenue": [120.5, 80.0, 200.0, 55.25, 99.0, 30.0],
    }).to_excel(path, index=False, sheet_name="sales")
    tool = SqlTool(open_workbook(path), timeout_s=10)
    yield tool
    tool.close()


@pytest.fixture(scope="module")
def informer(sql_tool: SqlTool) -> Informer:
    """The Informer as agent/runs.py::turn_context builds it."""
    return informer_for(sql_tool.workbook, sql_tool)

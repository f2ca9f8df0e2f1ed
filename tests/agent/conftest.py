"""Agent test fixtures (tests/conftest.py blocks all but loopback network for the whole suite)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest


@pytest.fixture
def sales_frame() -> pd.DataFrame:
    return pd.DataFrame({
        "Region": ["North", "South", "North", "East", "South", "North"],
        "Year": [2023, 2023, 2024, 2024, 2024, 2023],
        "Product": ["Tea", "Coffee", "Tea", "Cocoa", "Tea", "Coffee"],
        "Revenue": [120.5, 80.0, 200.0, 55.25, 99.0, 30.0],
    })


@pytest.fixture
def sales_xlsx(tmp_path: Path, sales_frame: pd.DataFrame) -> Path:
    path = tmp_path / "sales.xlsx"
    sales_frame.to_excel(path, index=False, sheet_name="Sales")
    return path

"""Agent tests: no network beyond loopback (the local model server runs on 127.0.0.1)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

_real_connect = socket.socket.connect


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") and \
            self.family in (socket.AF_INET, socket.AF_INET6):
        raise OSError(f"network blocked in tests: {address}")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.delenv("TABLEPILOT_BASE_URL", raising=False)
    yield


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

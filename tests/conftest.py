"""Suite-wide guard: tests reach nothing but loopback (local model server, streamlit, sandboxes)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# property tests check results, not timings: a busy 2-core CI box must not fail them on a
# per-example deadline (Hypothesis' default is 200 ms)
settings.register_profile("tablepilot", deadline=None)
settings.load_profile("tablepilot")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # unix sockets are local
    host = address[0] if isinstance(address, tuple) else str(address)
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise OSError(f"network access blocked in tests: {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    _check(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    # a developer's endpoint settings must not leak into the suite
    for var in ("TABLEPILOT_BASE_URL", "TABLEPILOT_MODEL", "TABLEPILOT_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """The bytes Streamlit was given for each download button, by download file name (the app's
    tests: tests/app and tests/security)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    seen: dict[str, bytes] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def record(self: Any, path_or_data: Any, mimetype: str, kind: Any,
               filename: str | None = None) -> str:
        if filename and isinstance(path_or_data, bytes):
            seen[filename] = path_or_data
        return real(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return seen

"""Which engine serves the local model, and the command each is started with (no server is
started here: the real one runs in test_agent_local_llm.py)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from agent.models import local
from agent.models.local import LocalServer, LocalServerError, llama_server_binary, pick_engine


def _fake_binary(folder: Path) -> Path:
    path = folder / "llama-server"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_llama_server_is_preferred_when_built(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _fake_binary(tmp_path)
    monkeypatch.setenv(local.ENV_LLAMA_SERVER, str(binary))
    monkeypatch.delenv(local.ENV_ENGINE, raising=False)
    assert llama_server_binary() == binary and pick_engine() == "llama-server"


def test_the_engine_can_be_chosen_and_a_missing_one_is_named(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local.ENV_LLAMA_SERVER, str(tmp_path / "absent"))
    monkeypatch.setenv(local.ENV_ENGINE, "llama-server")
    with pytest.raises(LocalServerError, match="llama-server is not built: run "
                                               "scripts/build-llama-server"):
        pick_engine()
    monkeypatch.setenv(local.ENV_ENGINE, "ollama")
    with pytest.raises(LocalServerError, match="must be one of llama-server, llama-cpp-python"):
        pick_engine()


def test_llama_server_keeps_slots_a_shared_cache_and_reuse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(local.ENV_LLAMA_SERVER, str(_fake_binary(tmp_path)))
    server = LocalServer(tmp_path / "m.gguf", name="m", engine="llama-server", n_threads=2)
    cmd = server.command()
    def flag(name: str) -> str:
        return cmd[cmd.index(name) + 1]

    assert cmd[0] == os.environ[local.ENV_LLAMA_SERVER] and server.parallel_drafts
    assert flag("--parallel") == str(local.SLOTS) and "--kv-unified" in cmd
    assert flag("--cache-reuse") == str(local.CACHE_REUSE) and flag("--host") == "127.0.0.1"
    fallback = LocalServer(tmp_path / "m.gguf", name="m", engine="llama-cpp-python")
    assert "llama_cpp.server" in fallback.command() and not fallback.parallel_drafts

"""The local CPU model: a managed ``llama_cpp.server`` on 127.0.0.1, used through the same
OpenAI-compatible client as vLLM, so the agent has one code path for every backend.

The server is started on first use (a free port, health-waited), shared by every agent in the
process that uses the same model file, and stopped at exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from agent.local_model import LocalModelError, default_model_name, require

DEFAULT_CTX = 8192


class LocalServerError(RuntimeError):
    """The local server could not start; the message says why and what to do."""


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """One ``python -m llama_cpp.server`` process serving one GGUF file."""

    def __init__(self, model_path: Path, *, name: str, n_ctx: int = DEFAULT_CTX,
                 n_threads: int | None = None, chat_format: str | None = None) -> None:
        self.model_path = Path(model_path)
        self.name = name
        self.n_ctx = n_ctx
        self.n_threads = n_threads or int(os.environ.get("TABLEPILOT_THREADS", 0)) or (
            os.cpu_count() or 2)
        self.chat_format = chat_format
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"tablepilot-llama-{os.getpid()}-{name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
               "--model_alias", self.name, "--host", "127.0.0.1", "--port", str(self.port),
               "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads)]
        if self.chat_format:
            cmd += ["--chat_format", self.chat_format]
        return cmd

    def start(self, timeout_s: float = 180.0) -> LocalServer:
        if self.running:
            return self
        if not llama_cpp_available():
            raise LocalServerError(
                "llama-cpp-python is not installed: pip install 'tablepilot[local]' "
                "(or ./scripts/setup), or point TABLEPILOT_BASE_URL at a server")
        self.port = _free_port()
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        self._wait_healthy(timeout_s)
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        delay = 0.2
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise LocalServerError(f"the local model server exited ({self.proc.returncode}):\n"
                                       f"{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        self.stop()
        raise LocalServerError(f"the local model server did not become healthy in {timeout_s:.0f}s:"
                               f"\n{self.log_tail()}")

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


_SERVERS: dict[tuple[str, str | None, int], LocalServer] = {}
_LOCK = threading.Lock()


def get_server(name: str | None = None, *, n_ctx: int = DEFAULT_CTX,
               chat_format: str | None = None) -> LocalServer:
    """The shared, running server for local model ``name`` (started on first use)."""
    name = name or default_model_name()
    try:
        path = require(name)
    except LocalModelError as exc:
        raise LocalServerError(str(exc)) from None
    key = (str(path), chat_format, n_ctx)
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = _SERVERS[key] = LocalServer(path, name=name, n_ctx=n_ctx,
                                                 chat_format=chat_format)
        server.start()
        return server


def stop_all() -> None:
    with _LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()


atexit.register(stop_all)


def local_chat_model(name: str | None = None, *, n_ctx: int = DEFAULT_CTX,
                     chat_format: str | None = None, timeout_s: float = 300.0,
                     max_tokens: int = 512, **kwargs: Any) -> Any:
    """A ChatOpenAI client for the managed local server (started if needed)."""
    from agent.models.openai_compat import openai_chat_model

    server = get_server(name, n_ctx=n_ctx, chat_format=chat_format)
    return openai_chat_model(server.base_url, server.name, api_key="local", timeout_s=timeout_s,
                             max_retries=1, max_tokens=max_tokens, **kwargs)

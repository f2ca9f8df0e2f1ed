"""The local CPU model: a managed llama.cpp server on 127.0.0.1, used through the same
OpenAI-compatible client as vLLM, so the agent has one code path for every backend.

Two engines serve it. llama.cpp's own ``llama-server`` (built by ``scripts/build-llama-server``
from the llama.cpp sources that llama-cpp-python vendors) is preferred: it keeps several slots,
each with its own prompt cache, so the short draft prompt never evicts the conversation, it reuses
a shifted prefix (``--cache-reuse``), it decodes ``n`` drafts from one processed prompt in one
batch, and it reports where the time went (``timings``). ``python -m llama_cpp.server`` (the
``local`` extra) is the fallback: one slot, drafts one at a time (docs/speed.md has the figures).

The server is started on first use (a free port, health-waited), shared by every agent in the
process that uses the same model file, and dies with the process: it runs in its own process
group, which is stopped at exit (atexit) and on SIGTERM/SIGHUP, and on Linux the kernel sends
it SIGTERM when tablepilot dies some other way (PR_SET_PDEATHSIG, even after SIGKILL).
"""

from __future__ import annotations

import atexit
import ctypes
import importlib.util
import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from agent.errors import AgentError
from agent.models.weights import LocalModelError, default_model_name, require

DEFAULT_CTX = 8192
SLOTS = 4  # llama-server: the conversation and its drafts (n - 1 more) plus the short prompt
CACHE_REUSE = 256  # llama-server: reuse a cached chunk this long even when it moved
ENV_ENGINE = "TABLEPILOT_LOCAL_ENGINE"  # 'llama-server' or 'llama-cpp-python' (default: the first found)
ENV_LLAMA_SERVER = "TABLEPILOT_LLAMA_SERVER"  # the llama-server binary (default: next to python)
ENGINES = ("llama-server", "llama-cpp-python")


class LocalServerError(AgentError, RuntimeError):
    """The local server could not start; the message says why and what to do."""


def llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def llama_server_binary() -> Path | None:
    """The ``llama-server`` binary: $TABLEPILOT_LLAMA_SERVER, else the one installed next to
    this Python (``scripts/build-llama-server`` puts it in .venv/bin), else on PATH."""
    import shutil

    named = os.environ.get(ENV_LLAMA_SERVER)
    if named:
        return Path(named) if Path(named).is_file() else None
    beside = Path(sys.executable).parent / "llama-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def pick_engine() -> str:
    """Which engine serves the local model: $TABLEPILOT_LOCAL_ENGINE, else llama-server when
    built, else llama-cpp-python. Raises when the one asked for (or any) is missing."""
    wanted = os.environ.get(ENV_ENGINE, "").strip()
    if wanted and wanted not in ENGINES:
        raise LocalServerError(f"{ENV_ENGINE} must be one of {', '.join(ENGINES)}, not {wanted!r}")
    if wanted in ("", "llama-server") and llama_server_binary() is not None:
        return "llama-server"
    if wanted == "llama-server":
        raise LocalServerError(
            "llama-server is not built: run scripts/build-llama-server (or ./scripts/setup), or "
            f"set {ENV_LLAMA_SERVER} to the binary")
    if llama_cpp_available():
        return "llama-cpp-python"
    raise LocalServerError(
        "no local model server: run ./scripts/setup (builds llama-server), or pip install "
        "'tablepilot[local]', or point TABLEPILOT_BASE_URL at a server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ child processes

_CHILDREN: set[subprocess.Popen[bytes]] = set()
_CHILDREN_LOCK = threading.RLock()  # re-entrant: the signal handler runs on the main thread
_PR_SET_PDEATHSIG = 1
_prctl: Any = None  # looked up here, not in the forked child
if sys.platform.startswith("linux"):
    try:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # pragma: no cover - no libc to call
        _prctl = None


def _die_with_parent(parent_pid: int) -> None:
    """In the child, before exec: the kernel sends SIGTERM when the parent dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


_launch_jobs: queue.SimpleQueue[tuple[Callable[[], Any], queue.SimpleQueue[Any]]] = (
    queue.SimpleQueue())
_launcher_thread: threading.Thread | None = None


def _launcher_loop() -> None:
    while True:
        job, reply = _launch_jobs.get()
        try:
            reply.put((True, job()))
        except BaseException as exc:
            reply.put((False, exc))


def _in_launcher(job: Callable[[], Any]) -> Any:
    """Run ``job`` on one long-lived daemon thread. PR_SET_PDEATHSIG fires when the *thread*
    that forked the child ends, so a server started from a batch worker must not be forked
    by that worker."""
    global _launcher_thread
    with _CHILDREN_LOCK:
        if _launcher_thread is None:
            _launcher_thread = threading.Thread(target=_launcher_loop, daemon=True,
                                                name="tablepilot-launcher")
            _launcher_thread.start()
    reply: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()
    _launch_jobs.put((job, reply))
    ok, value = reply.get()
    if ok:
        return value
    raise value


def launch(cmd: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``cmd`` as a child that dies with this process: its own process group (stopped at
    exit and on SIGTERM/SIGHUP) and, on Linux, PR_SET_PDEATHSIG=SIGTERM."""
    install_signal_handlers()

    parent_pid = os.getpid()

    def start() -> subprocess.Popen[bytes]:
        with log_path.open("wb") as log:
            return subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                process_group=0,
                preexec_fn=(lambda: _die_with_parent(parent_pid)) if _prctl is not None else None)

    proc: subprocess.Popen[bytes] = _in_launcher(start)
    with _CHILDREN_LOCK:
        _CHILDREN.add(proc)
    return proc


def terminate(proc: subprocess.Popen[bytes], timeout_s: float = 10.0) -> None:
    """Stop ``proc``'s process group: SIGTERM, then SIGKILL after ``timeout_s``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            proc.poll()
            break
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            continue
        break
    with _CHILDREN_LOCK:
        _CHILDREN.discard(proc)


def stop_children(timeout_s: float = 10.0) -> None:
    """Stop every child started by ``launch`` that is still running."""
    with _CHILDREN_LOCK:
        children = list(_CHILDREN)
    for proc in children:
        terminate(proc, timeout_s)


_previous_handlers: dict[int, Any] = {}


def _on_exit_signal(signum: int, frame: FrameType | None) -> None:
    stop_children(timeout_s=3.0)
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:  # die of the signal, as without this handler
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def install_signal_handlers() -> None:
    """Stop the children on SIGTERM/SIGHUP, then do what the signal did before. Only from the
    main thread, and only where no one has set a handler (ours chains to the previous one)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is None or int(sig) in _previous_handlers:
            continue
        current = signal.getsignal(sig)
        if current != signal.SIG_DFL:
            continue
        _previous_handlers[int(sig)] = current
        signal.signal(sig, _on_exit_signal)


class LocalServer:
    """One server process (``engine``: llama-server or llama-cpp-python's) for one GGUF file."""

    def __init__(self, model_path: Path, *, name: str, n_ctx: int = DEFAULT_CTX,
                 n_threads: int | None = None, chat_format: str | None = None,
                 engine: str | None = None) -> None:
        self.model_path = Path(model_path)
        self.name = name
        self.engine = engine or pick_engine()
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

    @property
    def parallel_drafts(self) -> bool:
        """Whether one request can return several sampled completions (``n``) in one batch."""
        return self.engine == "llama-server"

    def command(self) -> list[str]:
        if self.engine == "llama-server":
            binary = llama_server_binary()
            if binary is None:
                raise LocalServerError("llama-server is not built: run scripts/build-llama-server")
            # one KV buffer shared by the slots: a slot may use the whole context, and the
            # slots together never hold more than it
            return [str(binary), "--model", str(self.model_path), "--alias", self.name,
                    "--host", "127.0.0.1", "--port", str(self.port),
                    "--ctx-size", str(self.n_ctx * 2), "--parallel", str(SLOTS), "--kv-unified",
                    "--cache-reuse", str(CACHE_REUSE), "--threads", str(self.n_threads),
                    "--no-webui"]
        cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model_path),
               "--model_alias", self.name, "--host", "127.0.0.1", "--port", str(self.port),
               "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads)]
        if self.chat_format:
            cmd += ["--chat_format", self.chat_format]
        return cmd

    def start(self, timeout_s: float = 180.0) -> LocalServer:
        if self.running:
            return self
        if self.engine == "llama-cpp-python" and not llama_cpp_available():
            raise LocalServerError(
                "llama-cpp-python is not installed: pip install 'tablepilot[local]' "
                "(or ./scripts/setup), or point TABLEPILOT_BASE_URL at a server")
        self.port = _free_port()
        self.proc = launch(self.command(), self.log_path)
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
        terminate(self.proc)
        self.proc = None


_SERVERS: dict[tuple[str, str | None, int, str], LocalServer] = {}
_LOCK = threading.Lock()


def get_server(name: str | None = None, *, n_ctx: int = DEFAULT_CTX,
               chat_format: str | None = None) -> LocalServer:
    """The shared, running server for local model ``name`` (started on first use)."""
    name = name or default_model_name()
    try:
        path = require(name)
    except LocalModelError as exc:
        raise LocalServerError(str(exc)) from None
    engine = pick_engine()
    key = (str(path), chat_format, n_ctx, engine)
    with _LOCK:
        server = _SERVERS.get(key)
        if server is None:
            server = _SERVERS[key] = LocalServer(path, name=name, n_ctx=n_ctx,
                                                 chat_format=chat_format, engine=engine)
        server.start()
        return server


def stop_all() -> None:
    """Stop every managed server (and any other child ``launch`` started)."""
    with _LOCK:
        for server in _SERVERS.values():
            server.stop()
        _SERVERS.clear()
    stop_children()


atexit.register(stop_all)


def local_chat_model(name: str | None = None, *, n_ctx: int = DEFAULT_CTX,
                     chat_format: str | None = None, timeout_s: float = 300.0,
                     max_tokens: int = 512, **kwargs: Any) -> Any:
    """A ChatOpenAI client for the managed local server (started if needed)."""
    from agent.models.openai_compat import openai_chat_model

    server = get_server(name, n_ctx=n_ctx, chat_format=chat_format)
    return openai_chat_model(server.base_url, server.name, api_key="local", timeout_s=timeout_s,
                             max_retries=1, max_tokens=max_tokens, **kwargs)

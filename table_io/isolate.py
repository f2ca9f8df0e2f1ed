"""Parse untrusted files in a child process whose memory and time are capped.

A parser that allocates without bound (calamine sizing a grid from a lying address, a
shared-strings bomb, an XML parser deep in recursion) or crashes outright must take down only
itself, never the app that serves everyone's sessions. So :func:`read_isolated` hands the file
to a child with ``RLIMIT_AS`` (address space: ``Limits.max_read_memory_bytes`` above what the
child starts with), ``RLIMIT_CPU`` and a wall-clock timeout (``Limits.read_timeout_s``), and
turns its death into a :class:`LimitExceededError` or :class:`CorruptFileError` naming the file.

Children are forked from a small *reader zygote*: one process per parent, started on first use,
that imports table_io once and forks for each file (a fork costs milliseconds; a fresh
interpreter that imports pandas costs a second). The zygote is single-threaded, so forking it
is safe, unlike forking a threaded server such as Streamlit. Each request forks a *supervisor*
that forks the *reader*, waits for it and reports how it ended and its peak memory; the reader
sends the pickled Workbook (or the TableIOError) over the same socket. The zygote's code is
:mod:`table_io.reader_zygote`; this module is the parent's side.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from table_io.errors import CorruptFileError, LimitExceededError, ReadTimeoutError, TableIOError
from table_io.limits import Limits

if TYPE_CHECKING:
    from table_io.model import Workbook
    from table_io.sources import Source

_START_TIMEOUT_S = 60.0


class IsolationUnavailable(RuntimeError):
    """The reader zygote cannot be started here; the caller reads in-process instead."""


@dataclass
class ReadReport:
    """How the last isolated read ended: for benchmarks and tests."""

    outcome: str  # "ok", "error", "killed", "timeout"
    peak_rss_bytes: int
    seconds: float


last_report: ReadReport | None = None


def isolation_available() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "fork")


def read_isolated(src: Source, limits: Limits) -> Workbook:
    """open_workbook's reading step for ``src``, run in a capped child process."""
    global last_report
    started = time.monotonic()
    conn = _connect()
    reader_pid: int | None = None
    answer: tuple[Any, ...] | None = None
    if src.path is not None and not src.path.is_absolute():  # the reader has its own cwd
        src = dataclasses.replace(src, path=src.path.absolute())
    try:
        conn.send_bytes(pickle.dumps((src, limits), protocol=pickle.HIGHEST_PROTOCOL))
        # the reader sends ("pid", n), then ("ok", rss, workbook) or ("error", rss, ...); if it
        # dies first, its supervisor sends ("exit", status, rss)
        while answer is None:
            message = _receive(conn, src, limits, started, reader_pid)
            if message[0] == "pid":
                reader_pid = message[1]
            else:
                answer = message
    finally:
        conn.close()
    seconds = time.monotonic() - started
    if answer[0] == "exit":
        last_report = ReadReport("killed", answer[2], seconds)
        raise _death(answer[1], src, limits)
    last_report = ReadReport(answer[0], answer[1], seconds)
    if answer[0] == "ok":
        workbook: Workbook = answer[2]
        return workbook
    raise _rebuild_error(answer[2:], src)


def _receive(conn: Connection, src: Source, limits: Limits, started: float, reader_pid: int | None) -> Any:
    global last_report
    left = limits.read_timeout_s - (time.monotonic() - started)
    if left <= 0 or not conn.poll(left):
        if reader_pid is not None:
            _kill(reader_pid)
        last_report = ReadReport("timeout", 0, time.monotonic() - started)
        raise ReadTimeoutError(
            f"reading it took longer than {limits.read_timeout_s} s and was stopped (raise the "
            "limit with TABLEPILOT_READ_TIMEOUT_S or Limits(read_timeout_s=...))",
            source=src.name,
        )
    try:
        message = pickle.loads(conn.recv_bytes())
    except Exception:  # EOF, a message cut short by a killed reader
        if reader_pid is not None:
            _kill(reader_pid)
        raise CorruptFileError("the reader process stopped without a complete answer",
                               source=src.name) from None
    if not isinstance(message, tuple) or not message:
        raise CorruptFileError("the reader process sent a malformed answer", source=src.name)
    return message


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _death(status: int, src: Source, limits: Limits) -> TableIOError:
    mb = limits.max_read_memory_bytes / 2**20
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return ReadTimeoutError(
            f"reading it used more than {limits.read_timeout_s} s of CPU and was stopped (raise the "
            "limit with TABLEPILOT_READ_TIMEOUT_S)", source=src.name)
    how = f"signal {os.WTERMSIG(status)}" if os.WIFSIGNALED(status) else f"exit code {os.WEXITSTATUS(status)}"
    return LimitExceededError(
        f"the reader stopped ({how}) while reading this .{src.format} file: it ran out of the "
        f"{mb:,.0f} MB memory limit or crashed the parser, so the file is refused (raise the limit "
        "with TABLEPILOT_MAX_READ_MEMORY_BYTES or Limits(max_read_memory_bytes=...))",
        source=src.name,
    )


def _rebuild_error(payload: tuple[str, str, str, str | None], src: Source) -> TableIOError:
    module, qualname, message, source = payload
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        cls = CorruptFileError
    if not (isinstance(cls, type) and issubclass(cls, TableIOError)):
        cls = CorruptFileError
    error: TableIOError = cls.__new__(cls)
    Exception.__init__(error, message)
    error.source = source
    return error


# ---- the parent's handle on its zygote ----------------------------------------------------

class _Zygote:
    def __init__(self) -> None:
        self.folder = tempfile.mkdtemp(prefix="tablepilot-reader-")
        self.address = os.path.join(self.folder, "socket")
        package_root = str(Path(__file__).resolve().parent.parent)
        paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = {k: v for k, v in os.environ.items() if _harmless(k)}
        env["PYTHONPATH"] = os.pathsep.join(paths)
        # no idle BLAS threads in the zygote: it forks, and a fork copies only the calling thread
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        # stdin stays open while this process lives: its EOF tells the zygote to exit
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "table_io.reader_zygote", self.address],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
            )
        except OSError as exc:
            raise IsolationUnavailable(f"cannot start the reader process: {exc}") from None
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], _START_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.process.kill()
            raise IsolationUnavailable("the reader process did not start")

    def alive(self) -> bool:
        return self.process.poll() is None

    def connect(self) -> Connection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self.address)
        return Connection(sock.detach())


def _harmless(variable: str) -> bool:
    """What the reader may see of the environment: none of the server's secrets."""
    if any(word in variable.upper() for word in ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")):
        return False
    return variable in ("PATH", "HOME", "LANG", "TMPDIR", "TZ") or variable.startswith(("LC_", "TABLEPILOT_"))


_lock = threading.Lock()
_current: _Zygote | None = None


def _zygote(*, fresh: bool = False) -> _Zygote:
    global _current
    with _lock:
        if fresh and _current is not None:
            _current.process.kill()
        if fresh or _current is None or not _current.alive():
            _current = _Zygote()
        return _current


def _connect() -> Connection:
    try:
        return _zygote().connect()
    except OSError:  # its socket was cleaned out of /tmp, or it just died: start another
        try:
            return _zygote(fresh=True).connect()
        except OSError as exc:
            raise IsolationUnavailable(f"cannot reach the reader process: {exc}") from None

"""The reader zygote: the process table_io.isolate starts once, then forks for each file.

It runs as ``python -m table_io.reader_zygote SOCKET``. It imports the readers once and warms
their caches; for each request on SOCKET it forks a *supervisor*, which forks the *reader*: the
reader caps its own memory and CPU, parses the file and sends back the pickled Workbook (or the
TableIOError); the supervisor waits for it and reports how it ended and its peak memory. It
lives apart from isolate.py, the parent's side, because it imports table_io.open, which
imports isolate.py.
"""

from __future__ import annotations

import gc
import importlib
import os
import pickle
import resource
import select
import signal
import socket
import sys
from multiprocessing.connection import Connection
from typing import Any

from table_io.errors import CorruptFileError, TableIOError
from table_io.limits import Limits
from table_io.open import read_source
from table_io.sources import Source, resolve

# what a read may import lazily: paid once by the zygote instead of once per file
_PRELOAD = ("table_io.formula_values", "duckdb", "openpyxl")  # table_io.open: imported above


def serve(address: str) -> None:
    """The zygote's loop: accept a request, fork a supervisor for it, go on."""
    for module in _PRELOAD:  # imported once here, inherited by every fork
        try:
            importlib.import_module(module)
        except ImportError:
            pass

    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # supervisors are reaped by the kernel
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(address)
    os.chmod(address, 0o600)
    server.listen(64)
    _warm_up()
    gc.freeze()  # forks then share these objects' pages instead of copying them on the next GC
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        readable, _, _ = select.select([server, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            break  # the parent is gone
        if server in readable:
            client, _ = server.accept()
            if os.fork() == 0:
                server.close()
                _supervise(client)
            client.close()
    server.close()
    os.unlink(address)
    os.rmdir(os.path.dirname(address))


def _warm_up() -> None:
    """Read a tiny workbook and CSV once, so every fork starts with warm lazy caches."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["name", "value", "when"], ["a", 1, "2024-01-02"], ["b", 2.5, "2024-02-03"]):
        sheet.append(row)
    buf = io.BytesIO()
    book.save(buf)
    limits = Limits(isolate=False)
    for data, name in ((buf.getvalue(), "warm.xlsx"), (b"name,value\na,1\nb,2\n", "warm.csv")):
        try:
            read_source(resolve(data, name, limits), limits)
        except TableIOError:
            pass


def _supervise(client: socket.socket) -> None:
    code = 0
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        conn = Connection(client.detach())
        request = conn.recv_bytes()
        pid = os.fork()
        if pid == 0:
            _read(conn, request)
        _, status, usage = os.wait4(pid, 0)
        conn.send_bytes(pickle.dumps(("exit", status, usage.ru_maxrss * 1024)))
    except BaseException:
        code = 1
    os._exit(code)


def _read(conn: Connection, request: bytes) -> None:
    code = 0
    src: Source | None = None
    try:
        conn.send_bytes(pickle.dumps(("pid", os.getpid())))
        src, limits = pickle.loads(request)
        _cap(limits)
        try:
            workbook = read_source(src, limits)
            answer: tuple[Any, ...] = ("ok", _peak_rss(), workbook)
        except TableIOError as exc:
            answer = _error_answer(exc)
        conn.send_bytes(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    except MemoryError:
        code = 3
    except BaseException as exc:  # a bug of ours (an answer that does not pickle): say which
        code = 2
        try:
            name = src.name if src is not None else None
            conn.send_bytes(pickle.dumps(_error_answer(CorruptFileError(
                f"the reader failed ({type(exc).__name__}: {str(exc)[:200]})", source=name))))
            code = 0
        except BaseException:
            pass
    os._exit(code)


def _error_answer(exc: TableIOError) -> tuple[Any, ...]:
    return ("error", _peak_rss(), type(exc).__module__, type(exc).__qualname__,
            Exception.__str__(exc), exc.source)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cap(limits: Limits) -> None:
    start = _address_space_bytes()
    cap = start + limits.max_read_memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    cpu = max(1, int(limits.read_timeout_s))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _address_space_bytes() -> int:
    with open("/proc/self/status", "rb") as fh:
        for line in fh:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    serve(sys.argv[1])

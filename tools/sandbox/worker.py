"""The warm worker: runs INSIDE the bubblewrap sandbox, never in the host process.

Started as ``python -I -S -B worker.py CONFIG_JSON``, as pid 1 of its own pid namespace, with a
control socket on fd 0. Each request arrives on that socket with the write end of a fresh pipe
attached; the one reply goes into that pipe, which is then closed (see ``protocol.py``). It sets
its own resource limits before importing anything heavy. Requests:

- ``{"op": "hello"}``: the first one; the reply says whether the worker is ready.

- ``{"op": "load", "tables": {name: path}}``: read Parquet files (a read-only folder) into
  DataFrames bound under their names and in the dict ``tables``.
- ``{"op": "exec", "code": str, "cpu_s": float}``: run the code; reply with stdout, stderr, the
  last expression's value, new or changed DataFrames (Parquet blobs) and figures (PNG blobs).

Only the code in an ``exec`` message is ever executed; table values are data, never code.
Every reply repeats its request's ``id``. After each call the worker checks that the code left
no Python thread running; if one is, the reply says ``retire`` and the worker exits right after
it, which ends every thread with it (the host starts a fresh worker for the next call). While
it waits for a request, more than ``idle_cpu_s`` of CPU (native threads left burning it) makes
the worker exit the same way, with status ``IDLE_EXIT``.
This file imports nothing from the project: only ``protocol.py`` next to it.
"""

from __future__ import annotations

import ast
import builtins
import difflib
import errno
import io
import json
import math
import os
import resource
import select
import signal
import socket
import sys
import time
import traceback
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import protocol

MIB = 1024 * 1024
CODE_FILE = "<code>"
AVAILABLE_MODULES = "the standard library, pandas, numpy, pyarrow and matplotlib"


class CpuTimeLimit(BaseException):
    """Raised from the SIGXCPU handler; a BaseException so `except Exception` cannot swallow it."""


def _on_cpu_limit(signum: int, frame: Any) -> None:
    raise CpuTimeLimit()


class CappedText(io.TextIOBase):
    """A text stream that keeps the first ``limit`` characters and counts the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.kept, self.total = limit, 0, 0
        self.parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        text = str(text)
        self.total += len(text)
        room = self.limit - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)
        return len(text)

    def getvalue(self) -> str:
        text = "".join(self.parts)
        if self.total > self.kept:
            text += f"\n... [{self.total - self.kept} more characters cut]"
        return text


# --------------------------------------------------------------------------- setup


def apply_limits(cfg: dict[str, Any]) -> None:
    """Hard and soft limits for this process and everything it starts; they only go down."""

    def both(kind: int, value: int) -> None:
        resource.setrlimit(kind, (value, value))

    both(resource.RLIMIT_CORE, 0)
    both(resource.RLIMIT_AS, int(cfg["memory_mb"]) * MIB)
    both(resource.RLIMIT_NOFILE, int(cfg["max_open_files"]))
    both(resource.RLIMIT_FSIZE, int(cfg["max_file_mb"]) * MIB)
    # Counts tasks (processes and threads) of this uid inside the sandbox's user namespace.
    both(resource.RLIMIT_NPROC, int(cfg["max_processes"]))
    both(resource.RLIMIT_CPU, int(cfg["session_cpu_s"]))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big write fails with EFBIG instead
    signal.signal(signal.SIGXCPU, _on_cpu_limit)


def take_control_socket() -> socket.socket:
    """The control socket on a private descriptor; fd 0/1/2 of user code lead nowhere.

    Every other inherited descriptor is closed: nothing of the launcher reaches the code.
    """
    control = os.dup(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.set_inheritable(control, False)
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    os.closerange(3, control)
    os.closerange(control + 1, min(limit, 1 << 16))
    return socket.socket(fileno=control)


def recv_exact(sock: socket.socket, n: int, first: bytes = b"") -> bytes:
    chunks, left = [first], n - len(first)
    while left > 0:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise EOFError("host closed the control socket")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(sock: socket.socket) -> tuple[dict[str, Any], int]:
    """The next request and the descriptor its reply goes to."""
    data, fds, _flags, _address = socket.recv_fds(sock, protocol.PREFIX_BYTES, 4)
    if not data:
        for fd in fds:
            os.close(fd)
        raise EOFError("host closed the control socket")
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise EOFError("a request came without exactly one reply channel")
    prefix = recv_exact(sock, protocol.PREFIX_BYTES, data)
    header = protocol.decode_header(recv_exact(sock, protocol.header_length(prefix)))
    return header, fds[0]


def send(fd: int, header: dict[str, Any], blobs: list[bytes] | None = None) -> None:
    """Write one reply into its pipe and close the pipe (the host then sees end-of-file)."""
    try:
        data = memoryview(protocol.encode(header, blobs or []))
        while data:
            data = data[os.write(fd, data):]
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def _other_thread_states() -> int:
    """Python thread states besides this one. A thread started by ``threading``, ``_thread``
    or an executor has one from before its OS thread exists, a ctypes callback on a raw thread
    while it runs Python; the libraries' native pools (pyarrow, OpenBLAS) have none."""
    import ctypes

    api = ctypes.pythonapi
    api.PyInterpreterState_Get.restype = ctypes.c_void_p
    api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
    api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
    api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
    api.PyThreadState_Next.restype = ctypes.c_void_p
    count, state = 0, api.PyInterpreterState_ThreadHead(api.PyInterpreterState_Get())
    while state:  # the GIL is held throughout (pythonapi), so no state is freed meanwhile
        count += 1
        state = api.PyThreadState_Next(state)
    return count - 1


def python_threads_left(grace_s: float = 0.25) -> int:
    """How many other Python threads are still alive (after a grace to finish). A native
    thread that burns CPU is caught by ``wait_idle`` instead."""
    deadline = time.monotonic() + grace_s
    while True:
        left = _other_thread_states()
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.01)


IDLE_EXIT = 75  # the worker's exit status when threads used CPU while no call ran


def wait_idle(sock: socket.socket, idle_cpu_s: float, tick_s: float = 0.2) -> None:
    """Wait for the next request; exit if the process burns CPU meanwhile (a thread left
    behind). Polls the CPU clock, so no signal has to reach the waiting thread."""
    def cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    start = cpu()
    while not select.select([sock], [], [], tick_s)[0]:
        if cpu() - start > idle_cpu_s:
            os._exit(IDLE_EXIT)  # pid 1 leaving ends every thread and the sandbox with it


# --------------------------------------------------------------------------- the session


class Session:
    def __init__(self, cfg: dict[str, Any]) -> None:
        import numpy as np
        import pandas as pd

        self.cfg, self.pd, self.np = cfg, pd, np
        self.pid = os.getpid()
        self.tables: dict[str, Any] = {}
        self.ns: dict[str, Any] = {}
        self._reset_namespace()

    def _reset_namespace(self) -> None:
        self.ns.clear()
        self.ns.update({"__builtins__": builtins, "__name__": "__main__", "pd": self.pd,
                        "np": self.np, "tables": dict(self.tables)})
        for name, frame in self.tables.items():
            if name.isidentifier() and name not in ("pd", "np", "tables"):
                self.ns[name] = frame

    def load(self, msg: dict[str, Any]) -> dict[str, Any]:
        tables = {}
        for name, path in msg["tables"].items():
            tables[name] = self.pd.read_parquet(path)
        self.tables = tables
        self._reset_namespace()
        return {"ok": True, "tables": {n: list(f.shape) for n, f in tables.items()}}

    # ---- exec

    def execute(self, msg: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
        code = str(msg["code"])
        out, err = CappedText(int(self.cfg["stdout_chars"])), CappedText(int(self.cfg["stdout_chars"]) // 4)
        before = self._frame_snapshot()
        reply: dict[str, Any] = {"ok": True}
        blobs: list[bytes] = []
        value, has_value = None, False
        saved = sys.stdout, sys.stderr, sys.stdin
        sys.stdout, sys.stderr, sys.stdin = out, err, io.StringIO("")
        self._set_cpu_budget(float(msg.get("cpu_s", self.cfg["cpu_s"])))
        try:
            value, has_value = self._run(code)
        except BaseException as exc:  # everything the code raises goes back to the model
            self._leave_if_forked()
            reply = {"ok": False, "error": self._describe_error(exc, code)}
        finally:
            self._set_cpu_budget(None)
            self._leave_if_forked()
            sys.stdout, sys.stderr, sys.stdin = saved
            self._kill_strays()
        reply["stdout"] = out.getvalue()
        reply["stderr"] = err.getvalue()
        try:
            if reply["ok"] and has_value and value is not None:  # like a notebook: None is not shown
                reply.update(self._describe_value(value, blobs))
            reply["frames"] = self._changed_frames(before, blobs)
            reply["figures"] = self._figures(blobs)
        except MemoryError:
            reply = {"ok": False, "stdout": reply["stdout"], "stderr": reply["stderr"],
                     "error": self._limit_error("memory", "the memory limit was reached "
                                                f"while sending the result back ({self.cfg['memory_mb']} MiB)")}
            blobs = []
        except Exception as exc:  # a value whose repr or export fails (too deep, broken __repr__)
            reply = {"ok": False, "stdout": reply["stdout"], "stderr": reply["stderr"],
                     "error": {"kind": "code", "type": type(exc).__name__,
                               "message": f"the result could not be sent back: {type(exc).__name__}: "
                                          f"{str(exc)[:200]}",
                               "hint": "return a simpler value (a number, text, list or DataFrame)"}}
            blobs = []
        reply["cpu_used_s"] = self._cpu_used()
        return reply, blobs

    def _run(self, code: str) -> tuple[Any, bool]:
        tree = ast.parse(code, filename=CODE_FILE, mode="exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body[-1].value)
            tree.body.pop()
        exec(compile(tree, CODE_FILE, "exec"), self.ns)
        if last is None:
            return None, False
        return eval(compile(last, CODE_FILE, "eval"), self.ns), True

    def _leave_if_forked(self) -> None:
        if os.getpid() != self.pid:  # a child the code forked must never answer the host
            os._exit(0)

    def _kill_strays(self) -> None:
        """End every process the code started (only possible where seccomp is unavailable)."""
        try:
            os.kill(-1, signal.SIGKILL)  # every process here but this one
        except OSError:
            pass
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        except ChildProcessError:
            pass

    def _cpu_used(self) -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    def _set_cpu_budget(self, seconds: float | None) -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = hard if seconds is None else min(hard, math.ceil(self._cpu_used() + seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))

    # ---- results

    def _describe_value(self, value: Any, blobs: list[bytes]) -> dict[str, Any]:
        pd = self.pd
        limit = int(self.cfg["value_chars"])
        if isinstance(value, pd.Series):
            value = value.to_frame(name=value.name if value.name is not None else "value")
        if isinstance(value, pd.DataFrame):
            shape = list(value.shape)
            with pd.option_context("display.max_rows", 20, "display.max_columns", 30,
                                   "display.width", 200):
                text = f"DataFrame with {shape[0]} rows x {shape[1]} columns\n{value!r}"
            frame = self._frame_blob(value, blobs)
            return {"value_repr": text[:limit], "value_frame": frame, "value_type": "DataFrame"}
        plain = _plain(value)
        simple = plain is not _NOT_PLAIN and not hasattr(value, "isoformat")
        try:
            text = repr(plain) if simple else repr(value)  # 13.5, not np.float64(13.5)
        except RecursionError:  # nested too deep for repr: a bounded summary instead
            import reprlib

            text = reprlib.Repr().repr(value)
        if len(text) > limit:
            text = text[:limit] + f"... [{len(text) - limit} more characters cut]"
        reply: dict[str, Any] = {"value_repr": text, "value_type": type(value).__name__}
        if plain is not _NOT_PLAIN and len(json.dumps(plain, default=str)) <= limit:
            reply["value"] = plain
        return reply

    def _frame_snapshot(self) -> dict[str, tuple[int, Any, Any]]:
        pd = self.pd
        return {name: (id(obj), obj.copy(deep=False), _buffers(obj))
                for name, obj in self.ns.items()
                if isinstance(obj, pd.DataFrame) and not name.startswith("_")}

    def _changed_frames(self, before: dict[str, tuple[int, Any, Any]], blobs: list[bytes]) -> list[dict[str, Any]]:
        pd = self.pd
        changed = []
        for name, obj in self.ns.items():
            if not isinstance(obj, pd.DataFrame) or name.startswith("_"):
                continue
            if name in before:
                _, snap, buffers = before[name]
                if _buffers(obj) == buffers and buffers is not None and obj.columns.equals(snap.columns) \
                        and obj.index.equals(snap.index):
                    continue
                if obj.shape == snap.shape and obj.equals(snap) and obj.columns.equals(snap.columns):
                    continue
            changed.append(name)
        out = []
        for name in changed[: int(self.cfg["max_frames"])]:
            entry = self._frame_blob(self.ns[name], blobs)
            entry["name"] = name
            out.append(entry)
        if len(changed) > len(out):
            out.append({"name": None, "omitted": changed[len(out):]})
        return out

    def _frame_blob(self, frame: Any, blobs: list[bytes]) -> dict[str, Any]:
        rows = int(self.cfg["max_frame_rows"])
        part = frame.head(rows)
        buf = io.BytesIO()
        try:
            _safe_for_parquet(part).to_parquet(buf)
        except Exception as exc:  # an odd object column: still say what the frame is
            return {"shape": list(frame.shape), "blob": None, "note": f"not serialisable: {exc}"}
        blobs.append(buf.getvalue())
        return {"shape": list(frame.shape), "blob": len(blobs) - 1, "truncated": len(frame) > rows}

    def _figures(self, blobs: list[bytes]) -> list[int]:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is None:
            return []
        indexes = []
        for num in plt.get_fignums()[: int(self.cfg["max_figures"])]:
            buf = io.BytesIO()
            plt.figure(num).savefig(buf, format="png", dpi=100, bbox_inches="tight")
            blobs.append(buf.getvalue())
            indexes.append(len(blobs) - 1)
        plt.close("all")
        return indexes

    # ---- errors

    def _limit_error(self, what: str, message: str, hint: str | None = None) -> dict[str, Any]:
        return {"kind": "limit", "type": what, "message": message, "hint": hint}

    def _describe_error(self, exc: BaseException, code: str) -> dict[str, Any]:
        cfg = self.cfg
        line_no, line = _user_line(exc, code)
        location = f"line {line_no}: {line.strip()}" if line_no else None
        name = type(exc).__name__
        if isinstance(exc, CpuTimeLimit):
            return {**self._limit_error("cpu", f"CPU time limit reached ({cfg['cpu_s']} s of CPU for one call)",
                                        "do less work per call: filter rows first, avoid Python loops over rows"),
                    "location": location}
        if isinstance(exc, MemoryError):
            return {**self._limit_error("memory", f"memory limit reached ({cfg['memory_mb']} MiB)",
                                        "work on fewer rows or columns; avoid building huge objects"),
                    "location": location}
        if isinstance(exc, OSError) and exc.errno == errno.EMFILE:
            return {**self._limit_error("open_files", f"open files limit reached ({cfg['max_open_files']})",
                                        "close files you open; the tables are already loaded as DataFrames"),
                    "location": location}
        if isinstance(exc, OSError) and exc.errno == errno.EFBIG:
            return {**self._limit_error("file_size", f"file size limit reached ({cfg['max_file_mb']} MiB per file)"),
                    "location": location}
        if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            return {**self._limit_error("scratch", f"scratch space is full ({cfg['scratch_mb']} MiB)"),
                    "location": location}
        if isinstance(exc, PermissionError) and exc.errno == errno.EPERM and exc.filename is None:
            return {**self._limit_error("processes", "starting processes is not allowed in the sandbox "
                                        "(fork, exec and shell commands are refused)",
                                        "use pandas and numpy in this process"),
                    "location": location}
        if (isinstance(exc, OSError) and exc.errno == errno.EAGAIN) or (
                isinstance(exc, RuntimeError) and "new thread" in str(exc)):
            return {**self._limit_error("processes", f"process limit reached ({cfg['max_processes']} processes and threads)",
                                        "do not start processes or threads; use pandas directly"),
                    "location": location}
        message = f"{name}: {exc}"
        if isinstance(exc, SyntaxError):
            line_no = exc.lineno or 0
            line = code.splitlines()[line_no - 1] if 0 < line_no <= len(code.splitlines()) else (exc.text or "")
            location = f"line {line_no}: {line.strip()}" if line_no else None
            message = f"SyntaxError: {exc.msg}"
        return {"kind": "code", "type": name, "message": message,
                "hint": self._hint(exc), "location": location}

    def _hint(self, exc: BaseException) -> str | None:
        frames = {n: o for n, o in self.ns.items() if isinstance(o, self.pd.DataFrame) and not n.startswith("_")}
        if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
            key = exc.args[0]
            return _columns_hint(key, frames) or (
                f"tables: {sorted(self.tables)}" if not frames else None)
        if isinstance(exc, AttributeError) and "DataFrame" in str(exc):
            attr = getattr(exc, "name", None) or str(exc).rsplit("'", 2)[-2]
            return _columns_hint(attr, frames, attribute=True)
        if isinstance(exc, NameError):
            names = sorted(n for n in self.ns if not n.startswith("_"))
            missing = getattr(exc, "name", None) or ""
            close = difflib.get_close_matches(missing, names, n=3)
            return (f"did you mean {close}? " if close else "") + f"defined names: {names}"
        if isinstance(exc, ImportError):
            return f"only {AVAILABLE_MODULES} can be imported; nothing can be installed"
        if isinstance(exc, (FileNotFoundError, PermissionError)):
            return "no files outside /scratch and /tmp; the tables are already loaded as DataFrames"
        if isinstance(exc, OSError) and exc.errno in (errno.ENETUNREACH, errno.ECONNREFUSED,
                                                      errno.EAFNOSUPPORT, errno.EHOSTUNREACH):
            return "there is no network in the sandbox"
        return None


_NOT_PLAIN = object()


def _plain(value: Any, depth: int = 0) -> Any:
    """A JSON-able copy of simple values (numbers, text, lists, dicts), else ``_NOT_PLAIN``."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        try:
            value = item()
        except (TypeError, ValueError):
            return _NOT_PLAIN
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return None  # a missing cell
        return value if math.isfinite(value) else str(value)
    if hasattr(value, "isoformat") and callable(value.isoformat):
        return value.isoformat()
    if depth < 6 and isinstance(value, (list, tuple, set, frozenset)) and len(value) <= 1000:
        items = [_plain(v, depth + 1) for v in value]
        return _NOT_PLAIN if any(i is _NOT_PLAIN for i in items) else items
    if depth < 6 and isinstance(value, dict) and len(value) <= 1000:
        out = {}
        for k, v in value.items():
            pv = _plain(v, depth + 1)
            if pv is _NOT_PLAIN or not isinstance(k, (str, int, float, bool)):
                return _NOT_PLAIN
            out[str(k)] = pv
        return out
    return _NOT_PLAIN


def _buffers(frame: Any) -> tuple[Any, ...] | None:
    """Addresses of a frame's data buffers: a write (copy-on-write) always changes one."""
    try:
        found: list[Any] = []
        for block in frame._mgr.blocks:
            values = block.values
            arrays = [values, getattr(values, "_ndarray", None), getattr(values, "_data", None),
                      getattr(values, "_mask", None)]
            pointers = [a.__array_interface__["data"][0] for a in arrays
                        if a is not None and hasattr(a, "__array_interface__")]
            chunked = getattr(values, "_pa_array", None)
            if chunked is not None:
                pointers += [b.address for c in chunked.chunks for b in c.buffers() if b is not None]
            if not pointers:
                return None
            found.append((tuple(block.mgr_locs.as_array.tolist()), tuple(pointers)))
        return tuple(found)
    except Exception:
        return None


def _safe_for_parquet(frame: Any) -> Any:
    """Mixed-type object columns become text so Arrow can write them."""

    fixed = None
    for i, dtype in enumerate(frame.dtypes):
        if dtype is object or str(dtype) == "object":
            col = frame.iloc[:, i]
            kinds = {type(v) for v in col.dropna().head(1000)}
            if len(kinds) > 1 or (kinds and not kinds <= {str, bytes, bool, int, float}):
                fixed = frame.copy() if fixed is None else fixed
                fixed.isetitem(i, col.map(lambda v: None if _missing(v) else str(v)))
    if not all(isinstance(c, str) for c in frame.columns):
        fixed = frame.copy() if fixed is None else fixed
        fixed.columns = [str(c) for c in fixed.columns]
    return frame if fixed is None else fixed


def _missing(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _columns_hint(key: str, frames: dict[str, Any], *, attribute: bool = False) -> str | None:
    if not frames:
        return None
    described, every = [], []
    for name, frame in list(frames.items())[:6]:
        cols = [str(c) for c in frame.columns]
        every += cols
        shown = cols if len(cols) <= 40 else [*cols[:40], "..."]
        described.append(f"{name}: {shown}")
    if attribute and key in every:
        return f"use square brackets for columns: df[{key!r}]"
    close = difflib.get_close_matches(str(key), every, n=3, cutoff=0.5)
    lower = [c for c in every if c.lower() == str(key).lower()]
    near = list(dict.fromkeys(lower + close))
    head = f"{key!r} is not a column; nearest: {near}. " if near else f"{key!r} is not a column. "
    return head + "Columns: " + "; ".join(described)


def _user_line(exc: BaseException, code: str) -> tuple[int, str]:
    line_no = 0
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == CODE_FILE:
            line_no = lineno
    lines = code.splitlines()
    return (line_no, lines[line_no - 1]) if 0 < line_no <= len(lines) else (0, "")


def start(cfg: dict[str, Any]) -> Session:
    apply_limits(cfg)
    for path in cfg.get("site_dirs", []):
        if path not in sys.path:
            sys.path.append(path)  # no site.addsitedir: .pth files never run
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    os.environ.pop("LD_LIBRARY_PATH", None)
    session = Session(cfg)
    try:
        import pyarrow

        pyarrow.set_cpu_count(1)
        pyarrow.set_io_thread_count(1)
    except Exception:
        pass
    return session


def answer(session: Session, msg: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    op = msg.get("op")
    if op == "exec":
        return session.execute(msg)
    if op == "load":
        try:
            return session.load(msg), []
        except Exception as exc:
            return {"ok": False, "error": {"kind": "internal", "type": type(exc).__name__,
                                           "message": f"loading the tables failed: {exc}"}}, []
    if op == "ping":
        return {"ok": True, "cpu_used_s": session._cpu_used()}, []
    return {"ok": False, "error": {"kind": "internal", "message": f"unknown op {op!r}"}}, []


def main() -> None:
    cfg = json.loads(sys.argv[1])
    control = take_control_socket()
    try:
        hello, reply_fd = receive(control)
    except (EOFError, OSError, protocol.ProtocolError):
        raise SystemExit(1) from None
    try:
        session = start(cfg)
    except BaseException as exc:
        send(reply_fd, {"ok": False, "id": hello.get("id"),
                        "error": {"kind": "unavailable", "type": type(exc).__name__,
                                  "message": f"sandbox worker failed to start: {exc!r}"}})
        raise SystemExit(1) from exc
    send(reply_fd, {"ok": True, "ready": True, "id": hello.get("id"), "pid": os.getpid(),
                    "python": sys.version.split()[0], "pandas": session.pd.__version__})
    while True:
        try:
            wait_idle(control, float(cfg.get("idle_cpu_s", 2.0)))
            msg, reply_fd = receive(control)
        except (EOFError, OSError, protocol.ProtocolError):
            return
        reply, blobs = answer(session, msg)
        reply["id"] = msg.get("id")
        left = python_threads_left() if msg.get("op") == "exec" else 0
        if left:
            reply["retire"] = f"the code left {left} thread(s) running after it returned"
        send(reply_fd, reply, blobs)
        if left:
            os._exit(0)


if __name__ == "__main__":
    main()

"""The ``python`` tool: model-written pandas code, run in a bubblewrap sandbox with a warm worker.

The code never runs in this process. ``PythonTool`` exports the workbook's tables as Parquet
into a read-only folder once per workbook version, keeps one sandboxed worker warm, and turns
its replies into a ``ToolResult``. Where the sandbox cannot start, the tool is disabled: it
answers with an ``unavailable`` error and never falls back to running code unsandboxed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import weakref
from typing import Any, ClassVar

import pandas as pd
from pydantic import BaseModel, Field

from table_io.model import Table, Workbook
from tools.base import Tool, ToolError, ToolFailure, ToolResult
from tools.payloads import PythonPayload
from tools.sandbox import (
    DEFAULT_LIMITS,
    SandboxLimits,
    SandboxUnavailable,
    Worker,
    WorkerGone,
    probe,
)
from tools.sandbox.launcher import TABLES_DIR, Layout

MAX_CODE_CHARS = 100_000
MAX_FRAME_COLUMNS = 10_000  # columns of one DataFrame the sandbox may send back
MAX_DECODED_FACTOR = 4  # a frame may decode to at most this many times max_reply_mb


class PythonArgs(BaseModel):
    code: str = Field(description="Python code to run; the value of its last line is returned.",
                      min_length=1, max_length=MAX_CODE_CHARS)


class PythonTool(Tool):
    """Run Python code with pandas on the workbook's tables, in an isolated sandbox.

    - Every table is a pandas DataFrame in a variable named after the table (for example
      `sales`), and also in the dict `tables` (`tables["sales"]`).
    - `pd` (pandas) and `np` (numpy) are already imported. matplotlib works: figures you draw
      are returned as images.
    - Like a notebook cell: the value of the last expression is returned, and so is everything
      you print(). Variables stay defined for later calls unless the sandbox had to restart.
    - New or changed DataFrames are returned to the app; the workbook itself is not edited.
    - There is no network and no package installation; files can only be written under
      /scratch or /tmp. Each call has limits on CPU time, memory and wall-clock time.
    - On an error you get the exception, the failing line and a hint (for example the real
      column names); fix the code and call again.
    """

    name: ClassVar[str] = "python"
    Args: ClassVar[type[BaseModel]] = PythonArgs

    def __init__(self, workbook: Workbook, *, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or DEFAULT_LIMITS
        self._workbook = workbook
        self._version = 0
        self._lock = threading.Lock()
        self._worker: Worker | None = None
        self._starts = 0
        self._layout: Layout | None = None
        self._exported: dict[str, str] | None = None
        self._finalizer = weakref.finalize(self, PythonTool._cleanup, [None], None)
        self.startup_s: float | None = None

    # ---- availability and lifecycle

    @staticmethod
    def check_available() -> tuple[bool, str]:
        """(True, bwrap path) where the sandbox starts here, else (False, the reason)."""
        return probe()

    def start(self) -> None:
        """Start the worker and load the tables now (e.g. from a thread while the model thinks)."""
        ok, reason = self.check_available()
        if not ok:
            raise ToolFailure(f"the python tool is disabled: {reason}", kind="unavailable")
        with self._lock:
            self._ensure_worker()
            self._ensure_tables()

    def refresh(self, workbook: Workbook) -> None:
        """Use a new version of the workbook (after an edit); tables are re-exported lazily."""
        with self._lock:
            self._workbook = workbook
            self._version += 1
            self._exported = None

    def close(self) -> None:
        """Kill the worker and remove the exported tables."""
        with self._lock:
            self._finalizer()
            self._worker = None
            self._layout = None
            self._exported = None

    def __enter__(self) -> PythonTool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _cleanup(worker_box: list[Worker | None], layout: Layout | None) -> None:
        worker = worker_box[0]
        if worker is not None:
            worker.kill()
        if layout is not None:
            layout.remove()

    def _track(self) -> None:
        """Re-register the finalizer so GC and interpreter exit kill the current worker."""
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, PythonTool._cleanup, [self._worker], self._layout)

    # ---- running

    def run(self, args: Any) -> ToolResult:
        ok, reason = self.check_available()
        if not ok:
            raise ToolFailure(f"the python tool is disabled: {reason}", kind="unavailable",
                              hint="use the sql tool instead")
        with self._lock:
            return self._run_locked(str(args.code))

    def _run_locked(self, code: str) -> ToolResult:
        for attempt in range(2):
            restarted = self._ensure_worker()
            assert self._worker is not None
            try:
                reloaded = self._ensure_tables() and not restarted
                reply, blobs = self._worker.call(
                    {"op": "exec", "code": code, "cpu_s": self.limits.cpu_s}, self.limits.wall_s)
                break
            except WorkerGone as exc:
                self._worker = None
                if exc.reason == "idle" and attempt == 0:
                    continue  # the worker ended itself before reading the call: run it afresh
                return self._gone(exc, code)
        assert self._worker is not None
        payload = self._payload(reply, blobs, code, restarted)
        text = self._observation(reply, payload)
        if self._worker.retired:
            note = (f"(note: {self._worker.retired}; the sandbox was stopped and will restart on "
                    "the next call, so variables from earlier calls will be gone)")
            text = f"{text}\n{note}" if text else note
        if restarted:
            text = "(note: the sandbox was restarted; variables from earlier calls are gone)\n" + text
        elif reloaded:
            text = "(note: the workbook changed; tables were reloaded and earlier variables are gone)\n" + text
        error = reply.get("error") if not reply.get("ok") else None
        if isinstance(error, dict):
            kind = error.get("kind") if error.get("kind") in ("code", "limit", "internal") else "code"
            tool_error = ToolError(kind=str(kind), message=str(error.get("message")),
                                   hint=_text_or_none(error.get("hint")),
                                   location=_text_or_none(error.get("location")))
            text = (text + "\n" if text else "") + tool_error.render()
            if tool_error.kind == "limit":
                text += "\n(the sandbox is still running; later calls work)"
            return ToolResult(observation=text, payload=payload, error=tool_error,
                              tables=self._tables_named(code))
        return ToolResult(observation=text or "(no output)", payload=payload,
                          tables=self._tables_named(code))

    def _ensure_worker(self) -> bool:
        """Start the worker if needed (True when it replaces an earlier one)."""
        worker = self._worker
        if worker is not None and worker.alive and \
                worker.cpu_used_s + self.limits.cpu_s < self.limits.session_cpu_s - 1:
            return False
        if worker is not None:
            worker.kill()
        if self._layout is None:
            self._layout = Layout.create()
            self._exported = None
        try:
            self._worker = Worker(self.limits, self._layout)
        except (WorkerGone, SandboxUnavailable, OSError, subprocess.SubprocessError) as exc:
            self._worker = None
            self._track()
            raise ToolFailure(f"the sandbox could not start: {exc}", kind="unavailable") from exc
        self.startup_s = self._worker.startup_s
        self._starts += 1
        self._track()
        return self._starts > 1

    def _ensure_tables(self) -> bool:
        """Load the current workbook version into the worker; True if it replaced another."""
        assert self._worker is not None and self._layout is not None
        if self._exported is None:
            self._exported = self._export(self._layout)
        if self._worker.loaded_version == self._version:
            return False
        replaced = self._worker.loaded_version is not None
        reply, _ = self._worker.call({"op": "load", "tables": self._exported}, self.limits.startup_s)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            raise ToolFailure(str(error.get("message", "the sandbox could not load the tables")),
                              kind="internal")
        self._worker.loaded_version = self._version
        return replaced

    def _export(self, layout: Layout) -> dict[str, str]:
        """Each table as Parquet in a folder the sandbox sees read-only at /tables."""
        for old in layout.tables.iterdir():
            shutil.rmtree(old, ignore_errors=True)
        folder = layout.tables / f"v{self._version}"
        folder.mkdir(mode=0o755)
        folder.chmod(0o755)
        mapping = {}
        for i, table in enumerate(self._workbook.tables):
            path = folder / f"t{i}.parquet"
            _write_parquet(table, path)
            path.chmod(0o644)
            mapping[table.name] = f"{TABLES_DIR}/v{self._version}/t{i}.parquet"
        return mapping

    def _tables_named(self, code: str) -> list[str]:
        return [t.name for t in self._workbook.tables if re.search(rf"\b{re.escape(t.name)}\b", code)]

    # ---- results

    def _payload(self, reply: dict[str, Any], blobs: list[bytes], code: str, restarted: bool) -> PythonPayload:
        frames: dict[str, pd.DataFrame] = {}
        omitted: list[str] = []
        for entry in reply.get("frames") or []:
            if not isinstance(entry, dict):
                continue
            if entry.get("name") is None:
                omitted += [str(n) for n in entry.get("omitted") or []]
                continue
            frame = _blob_frame(blobs, entry.get("blob"), self.limits)
            if frame is not None:
                frames[str(entry["name"])] = frame
        value: Any = reply.get("value")
        if isinstance(reply.get("value_frame"), dict):
            value = _blob_frame(blobs, reply["value_frame"].get("blob"), self.limits)
        figures = [blobs[i] for i in reply.get("figures") or []
                   if isinstance(i, int) and 0 <= i < len(blobs) and blobs[i].startswith(b"\x89PNG")]
        return PythonPayload(code=code, stdout=str(reply.get("stdout") or ""),
                             stderr=str(reply.get("stderr") or ""), value=value,
                             value_repr=reply.get("value_repr"), value_type=reply.get("value_type"),
                             frames=frames, frames_omitted=omitted, figures=figures,
                             restarted=restarted)

    def _observation(self, reply: dict[str, Any], payload: PythonPayload) -> str:
        parts = []
        if payload["stdout"]:
            parts.append("stdout:\n" + payload["stdout"].rstrip())
        if payload["stderr"].strip():
            parts.append("stderr:\n" + payload["stderr"].rstrip())
        if reply.get("value_repr") is not None:
            parts.append(f"value ({reply.get('value_type')}):\n{reply['value_repr']}")
        if payload["frames"]:
            shapes = ", ".join(f"{n} ({f.shape[0]} rows x {f.shape[1]} cols)" for n, f in payload["frames"].items())
            parts.append(f"new or changed DataFrames returned: {shapes}")
        if payload["frames_omitted"]:
            parts.append(f"not returned (too many frames): {', '.join(payload['frames_omitted'])}")
        if payload["figures"]:
            parts.append(f"figures returned: {len(payload['figures'])}")
        return "\n".join(parts)

    def _gone(self, exc: WorkerGone, code: str) -> ToolResult:
        if exc.reason == "timeout":
            message = (f"wall-clock limit reached ({self.limits.wall_s:g} s): the code was stopped and "
                       "the sandbox will restart on the next call (variables from earlier calls are gone)")
            hint = "do less per call: filter first, avoid loops over rows, never wait for input"
        elif exc.reason == "protocol":
            message = f"{exc}; the sandbox was stopped and will restart on the next call"
            hint = "do not write to the sandbox's own pipes"
        else:
            message = (f"{exc}, probably at a memory, CPU or process limit; the sandbox will "
                       "restart on the next call (variables from earlier calls are gone)")
            hint = "use less memory and CPU per call"
        error = ToolError(kind="limit", message=message, hint=hint)
        return ToolResult(observation=error.render(), error=error,
                          payload=PythonPayload(code=code, stdout="", stderr="", value=None,
                                                value_repr=None, value_type=None, frames={},
                                                frames_omitted=[], figures=[], restarted=False))


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _blob_frame(blobs: list[bytes], index: Any, limits: SandboxLimits) -> pd.DataFrame | None:
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        return None
    try:
        return read_bounded_parquet(blobs[index], max_rows=limits.max_frame_rows,
                                    max_bytes=MAX_DECODED_FACTOR * limits.max_reply_mb * 1024 * 1024)
    except Exception:  # a malformed or oversized blob is dropped, never trusted
        return None


class BlobRefused(ValueError):
    """A Parquet blob from the sandbox would decode to more than the limits allow."""


def read_bounded_parquet(data: bytes, *, max_rows: int, max_bytes: int) -> pd.DataFrame:
    """A DataFrame from Parquet bytes the sandbox sent, refused before it could decode to more
    than ``max_rows`` rows, ``MAX_FRAME_COLUMNS`` columns or ``max_bytes`` of values.

    The blob is untrusted (the code may have written it): a few bytes of dictionary-encoded
    text can stand for terabytes once decoded, so text columns are read as dictionaries and
    their decoded size is summed before anything is expanded. Nested columns never come from
    the worker (it writes such cells as text) and are refused.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(pa.BufferReader(data)).metadata
    if meta.num_rows > max_rows or meta.num_columns > MAX_FRAME_COLUMNS:
        raise BlobRefused(f"{meta.num_rows} rows x {meta.num_columns} columns")
    declared = sum(meta.row_group(g).column(c).total_uncompressed_size
                   for g in range(meta.num_row_groups) for c in range(meta.num_columns))
    if declared > max_bytes:
        raise BlobRefused(f"{declared} bytes uncompressed")
    schema = pq.ParquetFile(pa.BufferReader(data)).schema_arrow
    if any(pa.types.is_nested(f.type) for f in schema):
        raise BlobRefused("nested columns")
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
            or pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)]
    table = pq.ParquetFile(pa.BufferReader(data), read_dictionary=text).read()
    if table.num_rows > max_rows:
        raise BlobRefused(f"{table.num_rows} rows")
    decoded = 0
    for column in table.columns:
        for chunk in column.chunks:
            if pa.types.is_dictionary(chunk.type):
                lengths = pc.binary_length(chunk.dictionary)
                decoded += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
            else:
                decoded += chunk.nbytes
    if decoded > max_bytes:
        raise BlobRefused(f"{decoded} bytes decoded")
    for i, field in enumerate(schema):
        if field.name in text and pa.types.is_dictionary(table.schema.field(i).type):
            table = table.set_column(i, field, table.column(i).cast(field.type))
    return table.to_pandas()


def _write_parquet(table: Table, path: Any) -> None:
    if table.duckdb_source is not None and table.frame.empty:
        import duckdb

        source = str(table.duckdb_source).replace("'", "''")
        target = str(path).replace("'", "''")
        reader = (f"read_parquet('{source}')" if source.lower().endswith(".parquet")
                  else f"read_csv('{source}'{table.meta.get('duckdb_csv_options', '')})")
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM {reader}) TO '{target}' (FORMAT parquet)")
        return
    frame = table.frame
    try:
        frame.to_parquet(path)
    except Exception:  # mixed-type object columns: write them as text
        fixed = frame.copy()
        fixed.columns = [str(c) for c in fixed.columns]
        for column in fixed.columns:
            if fixed[column].dtype == object:
                fixed[column] = fixed[column].map(lambda v: None if _missing(v) else str(v))
        fixed.to_parquet(path)


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # list-like cell values
        return False

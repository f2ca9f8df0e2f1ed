"""tablepilot as an MCP server: its reading, guarded SQL, sandboxed Python and versioned edits,
for any MCP client (Claude Desktop, VS Code, Cursor, an agent of your own).

    server = build_server(Config(roots=[Path("~/reports").expanduser()]))
    server.run()                                      # stdio
    server.run("streamable-http", host="127.0.0.1", port=8765)

Three parts:

- ``Roots``: the folders the person allowed (``--root``). Every path a client names is resolved
  (symlinks followed) and refused unless it lies inside one of them; the server's own state
  folder is never reachable, even when a root contains it.
- ``Workbooks``: one ``agent.session.Session`` per opened file (its id is stable for the file),
  with its own work folder under a private state folder, its sql and python tools bound to the
  current version. Every call on a workbook holds that workbook's lock, so concurrent clients
  share one version history and never lose an edit; before each call the history is re-read,
  so several server processes sharing ``--state-dir`` see each other's versions too (a stale
  writer gets the VersionStore's conflict error, nothing written).
- ``build_server``: the MCP tools and resources. A tool's failure comes back as an MCP tool
  error (``isError``) whose text is exactly what tablepilot's own model gets
  (``ERROR (kind): ...``, ``at: ...``, ``hint: ...``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from pydantic import Field

from table_io.errors import TableIOError, VersionError
from tools.base import ToolResult
from tools.payloads import cell_changes, python_payload, sheet_payload, sql_payload

if TYPE_CHECKING:
    from agent.core import TableAgent
    from agent.session import Session
    from table_io.model import Table, Workbook
    from tools.base import Tool

SERVER_NAME = "tablepilot"
SAVE_SUFFIXES = {".xlsx", ".xlsm"}
VIEW_TOKENS = 2000
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

# the tools' arguments, as MCP clients see them
BookId = Annotated[str, Field(description="the workbook id open_workbook returned")]
OpenPath = Annotated[str, Field(description="a file inside the allowed folders (relative: "
                                            "from the first one)")]
SavePath = Annotated[str, Field(description="the new file, inside the allowed folders")]
Overwrite = Annotated[bool, Field(description="replace an existing file (never an original)")]
Sql = Annotated[str, Field(description="one DuckDB SELECT")]
Code = Annotated[str, Field(description="Python code; the last line's value is returned")]
Actions = Annotated[list[dict[str, Any]],
                    Field(min_length=1, description="sheet actions, see the description")]
FromVersion = Annotated[int | None, Field(description="from this version (default: the "
                                                       "current one's parent)")]
ToVersion = Annotated[int | None, Field(description="to this version (default: the current)")]
Question = Annotated[str, Field(description="a question, or an edit to make, in plain words")]

INSTRUCTIONS = """\
tablepilot reads messy spreadsheets (title rows, merged multi-row headers, total rows, several
tables per sheet) and lets you query and edit them safely.
Start with open_workbook(path): it returns the workbook id and every table with its columns.
Answer questions with query (one DuckDB SELECT over the tables) or run_python (pandas, sandboxed).
Change the workbook with edit (typed sheet actions, one new version per call, undoable); the
original file is never written: save_as writes the current version to a new file.
Errors say what went wrong and, after "hint:", how to fix it."""


# ---------------------------------------------------------------- paths


class PathRefused(ValueError):
    """A path the person did not allow (outside the roots, the original, an existing file)."""


class Roots:
    """The folders a client may read from and write to, resolved once (symlinks followed).

    ``private`` folders (the server's state) are refused even when a root contains them."""

    def __init__(self, folders: list[Path], *, private: list[Path] | None = None) -> None:
        if not folders:
            raise ValueError("at least one root folder is needed")
        self.folders: list[Path] = []
        for folder in folders:
            resolved = Path(folder).expanduser().resolve()
            if not resolved.is_dir():
                raise ValueError(f"--root {folder}: not a folder")
            self.folders.append(resolved)
        self.private = [Path(p).resolve() for p in private or []]

    def describe(self) -> str:
        return ", ".join(str(f) for f in self.folders)

    def resolve(self, path: str) -> Path:
        """``path`` (absolute, or relative to the first root) with every symlink resolved;
        PathRefused unless it lies inside a root and outside the server's private folders."""
        if not path or "\x00" in path:
            raise PathRefused("an empty path or one with a NUL byte is not a path")
        given = Path(path).expanduser()
        if not given.is_absolute():
            given = self.folders[0] / given
        resolved = given.resolve()  # follows every symlink, collapses ..
        if any(resolved.is_relative_to(p) for p in self.private) or not any(
                resolved.is_relative_to(root) for root in self.folders):
            raise PathRefused(
                f"{path!r} is outside the folders this server may use ({self.describe()}); "
                "symlinks and '..' are resolved first. Start the server with --root FOLDER to "
                "allow another folder.")
        return resolved

    def readable(self, path: str) -> Path:
        """An existing regular file inside the roots."""
        resolved = self.resolve(path)
        if not resolved.is_file():
            raise PathRefused(f"{path!r}: no such file (looked at {resolved})")
        return resolved

    def writable(self, path: str, *, overwrite: bool, protected: list[Path]) -> Path:
        """A target inside the roots whose folder exists; an existing file only with
        ``overwrite`` and never one of ``protected`` (the opened originals)."""
        resolved = self.resolve(path)
        if not resolved.parent.is_dir():
            raise PathRefused(f"{path!r}: the folder {resolved.parent} does not exist")
        if resolved.is_dir():
            raise PathRefused(f"{path!r} is a folder; give a file name")
        for original in protected:
            if resolved == original or (resolved.exists() and original.exists()
                                        and os.path.samefile(resolved, original)):
                raise PathRefused(f"{path!r} is the original file {original.name}, which is "
                                  "never written; save to a new file name")
        if resolved.exists() and not overwrite:
            raise PathRefused(f"{path!r} already exists; pass overwrite=true to replace it, "
                              "or choose another name")
        return resolved


def write_copy(source: Path, target: Path, *, overwrite: bool) -> None:
    """Copy ``source`` to ``target`` atomically: a temporary file in the target's folder,
    fsynced, then linked (refused if the name appeared meanwhile) or renamed over it."""
    from table_io.versions import fsync_dir, publish

    fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        shutil.copyfile(source, tmp)
        if overwrite:
            publish(tmp, target)
            return
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, target)  # atomic, and never replaces a file that appeared meanwhile
        except FileExistsError:
            raise PathRefused(f"{target.name} already exists; pass overwrite=true to replace "
                              "it") from None
        fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------- workbooks


@dataclass
class OpenWorkbook:
    """One opened file: its session (versions), tools bound to the current version, a lock."""

    id: str
    source: Path
    workdir: Path  # its versions, in the server's private state folder
    session: Session
    stamp: tuple[int, int]  # the source's (mtime_ns, size) when it was opened
    seen: int = 0  # the version `session.workbook` shows (a stale writer's store moves ahead)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tools: dict[str, Tool] = field(default_factory=dict)

    @property
    def workbook(self) -> Workbook:
        return self.session.workbook

    def tool(self, name: str) -> Tool:
        """The sql or python tool over the current version, made at first use."""
        if name not in self.tools:
            if name == "sql":
                from tools.sql import SqlTool

                self.tools[name] = SqlTool(self.workbook)
            else:
                from tools.python import PythonTool

                self.tools[name] = PythonTool(self.workbook)
        return self.tools[name]

    def rebind(self) -> None:
        """Point the tools at the session's current version (after a version change)."""
        self.seen = self.session.version
        for tool in self.tools.values():
            refresh = getattr(tool, "refresh", None)
            if callable(refresh):
                refresh(self.workbook)

    def close(self) -> None:
        from agent.toolset import close_tools

        close_tools(list(self.tools.values()))
        self.tools.clear()


def stamp(path: Path) -> tuple[int, int]:
    """What tells that a file changed: its modification time and size."""
    info = path.stat()
    return info.st_mtime_ns, info.st_size


class Workbooks:
    """The workbooks opened on this server, by id; each with its own work folder in ``state``."""

    def __init__(self, roots: Roots, state: Path, agent: TableAgent) -> None:
        self.roots = roots
        self.state = state
        self.agent = agent
        self._open: dict[str, OpenWorkbook] = {}
        self._lock = threading.Lock()

    @staticmethod
    def id_for(path: Path) -> str:
        """A short id, stable for a file: its name and a hash of its full path."""
        stem = re.sub(r"[^A-Za-z0-9]+", "-", path.stem).strip("-").lower()[:24] or "book"
        return f"{stem}-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}"

    def open(self, path: str) -> tuple[OpenWorkbook, list[str]]:
        """The opened workbook for ``path`` (opened now unless it already is) and notes. A file
        changed on disk since it was opened starts a new version history from its new content."""
        source = self.roots.readable(path)
        book_id = self.id_for(source)
        with self._lock:
            entry = self._open.get(book_id)
        if entry is None:
            # read outside the lock (a big file takes seconds); the first one in is kept
            workdir = self.state / book_id
            session = self._session(source, workdir)
            made = OpenWorkbook(book_id, source, workdir, session, stamp(source),
                                seen=session.version)
            with self._lock:
                entry = self._open.setdefault(book_id, made)
            return entry, []
        with entry.lock:
            if entry.stamp == stamp(source):
                return entry, []
            entry.close()
            entry.workdir = self.state / f"{book_id}.{len(list(self.state.glob(book_id + '*')))}"
            entry.session = self._session(source, entry.workdir)
            entry.stamp = stamp(source)
            entry.rebind()
        return entry, [f"{source.name} changed on disk since it was opened: its versions start "
                       "again from the file as it is now (version 0)"]

    def _session(self, source: Path, workdir: Path) -> Session:
        from agent.session import Session

        return Session(self.agent, source, workdir=workdir)

    def get(self, book_id: str) -> OpenWorkbook:
        with self._lock:
            entry = self._open.get(book_id)
            known = sorted(self._open)
        if entry is None:
            listed = ", ".join(known) if known else "none yet"
            raise ToolError(f"unknown workbook id {book_id!r} (open workbooks: {listed}); "
                            "call open_workbook(path) first and use the id it returns")
        return entry

    @contextmanager
    def using(self, book_id: str) -> Iterator[OpenWorkbook]:
        """The workbook, locked, showing the newest version (another server process sharing the
        state folder may have moved it)."""
        entry = self.get(book_id)
        with entry.lock:
            session = entry.session
            if session.has_versions:
                if session.versions.refresh() != entry.seen:
                    self.reopen(entry)
            elif (entry.workdir / "versions" / "journal.json").exists():
                self.reopen(entry)  # another process sharing the state folder edited it
            yield entry

    def reopen(self, entry: OpenWorkbook) -> None:
        """Open the current version again (after an edit or another writer's move)."""
        turns = entry.session.turns
        try:
            entry.session = self._session(entry.source, entry.workdir)  # resumes the versions
        except VersionError as exc:
            raise ToolError(f"ERROR: {entry.source.name} changed on disk since it was opened "
                            f"({exc}); call open_workbook again to start from the file as it "
                            "is now") from None
        entry.session.turns = turns
        entry.rebind()

    def originals(self) -> list[Path]:
        with self._lock:
            return [e.source for e in self._open.values()]

    def close(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        for entry in entries:
            entry.close()


# ---------------------------------------------------------------- results


def failed(result: ToolResult) -> ToolError:
    """A tablepilot tool failure as an MCP tool error, with the text the model gets inside."""
    return ToolError(result.observation)


def user_error(exc: Exception) -> ToolError:
    """A mistake of the caller (a path, a file tablepilot cannot read) in plain words."""
    return ToolError(f"ERROR: {exc}")


def guarded(call: Callable[[], T]) -> T:
    """Run ``call``; refused paths and table_io errors become clear tool errors."""
    try:
        return call()
    except (PathRefused, TableIOError) as exc:
        raise user_error(exc) from None


def jsonable(value: Any) -> Any:
    """``value`` with only what JSON holds: numpy scalars as numbers, dates as ISO text,
    NaN and infinities as null, anything else as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):  # DuckDB's SUM of integers, DECIMAL columns
        return int(value) if value == value.to_integral_value() else jsonable(float(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    if hasattr(value, "item"):
        try:
            return jsonable(value.item())
        except (TypeError, ValueError):
            pass
    return str(value)


def frame_rows(frame: Any, limit: int) -> dict[str, Any]:
    """The first ``limit`` rows of a DataFrame as columns + rows of JSON values."""
    from table_io.describe import plain_value

    head = frame.head(limit)
    return {"columns": [str(c) for c in head.columns],
            "rows": [[plain_value(v) for v in row] for row in head.itertuples(index=False)]}


def version_info(session: Session) -> dict[str, Any]:
    return {"version": session.version, "can_undo": session.can_undo,
            "can_redo": session.can_redo}


def table_named(workbook: Workbook, name: str) -> Table:
    tables = {t.name.lower(): t for t in workbook.tables}
    table = tables.get(name.lower())
    if table is None:
        raise ResourceNotFoundError(f"no table {name!r}; tables: "
                                    + ", ".join(t.name for t in workbook.tables))
    return table


# ---------------------------------------------------------------- the server


@dataclass
class Config:
    """What the person allowed and chose on the command line."""

    roots: list[Path]
    state_dir: Path | None = None  # default: a new private temporary folder
    agent: TableAgent | None = None  # the agent `ask` runs (None: `ask` explains how to set one)
    model_hint: str = ("no model is configured for ask: start the server with --base-url URL "
                       "[--model NAME] (or set TABLEPILOT_BASE_URL, TABLEPILOT_MODEL and "
                       "TABLEPILOT_API_KEY), or with --local for the local CPU model; query, "
                       "run_python and edit work without one")
    python: bool = True


def described(intro: str, tool: type[Tool]) -> str:
    """An MCP tool's description: what differs over MCP, then the tablepilot tool's own."""
    return f"{intro}\n\n{tool.description()}"


def build_server(config: Config) -> MCPServer:
    """The MCP server over the folders ``config.roots``."""
    from agent.core import TableAgent
    from tools.python import PythonTool
    from tools.sheet import SheetTool
    from tools.sql import SqlTool

    state = config.state_dir or Path(tempfile.mkdtemp(prefix="tablepilot-mcp-"))
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    roots = Roots(config.roots, private=[state])
    # the sessions' agent: its model is resolved only when `ask` runs with one configured
    books = Workbooks(roots, state, config.agent or TableAgent(python=config.python))
    server: MCPServer = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS)
    server.workbooks = books  # type: ignore[attr-defined]  # tests, shutdown

    def tool(description: str | None = None) -> Callable[[F], F]:
        """Register a tool; its description is ``description`` or its docstring, dedented."""
        def register(fn: F) -> F:
            server.add_tool(fn, description=description or inspect.cleandoc(fn.__doc__ or ""))
            return fn
        return register

    @tool()
    def open_workbook(path: OpenPath) -> dict[str, Any]:
        """Open a spreadsheet (.xlsx .xlsm .xls .ods .csv .tsv .parquet) inside the allowed
        folders. Returns its id (pass it as `workbook` to the other tools), the current version,
        and every sheet and table found: cell range, header rows, row count, column names and
        types, title, total rows kept out of the data, notes. Opening the same file again returns
        the same id and version history. Relative paths start at the first allowed folder."""
        from table_io.describe import describe

        entry, notes = guarded(lambda: books.open(path))
        with books.using(entry.id) as entry:
            data = describe(entry.workbook)
            data["source"] = entry.source.name
            data["warnings"] = notes + data["warnings"]
            return jsonable({"workbook": entry.id, **version_info(entry.session),
                             "resources": {t.name: table_uris(entry.id, t.name)
                                           for t in entry.workbook.tables}, **data})

    @tool(description=described(
        "Query the workbook `workbook` (an id from open_workbook), current version. Returns "
        "what tablepilot's sql tool returns (row count and first rows, as text), the rows as "
        "data (up to 200), the tables read and the source cells. What tablepilot's own model "
        "is told:", SqlTool))
    def query(workbook: BookId, sql: Sql) -> dict[str, Any]:
        """tools.sql.SqlTool over the current version (its description is the MCP one)."""
        with books.using(workbook) as entry:
            result = entry.tool("sql")({"query": sql})
        if not result.ok:
            raise failed(result)
        payload = sql_payload(result)
        frame = payload["frame"] if payload is not None else None
        rows = frame_rows(frame, 200) if frame is not None else {}
        return jsonable({"result": result.observation, **rows,
                         "total_rows": payload.get("total_rows") if payload is not None else None,
                         "sql": payload.get("sql") if payload is not None else None,
                         "tables": result.tables, "cells": result.cells})

    @tool(description=described(
        "Run `code` on the tables of the workbook `workbook` (an id from open_workbook), "
        "current version; the workbook is not edited (use edit). Variables persist between "
        "calls on one workbook. What tablepilot's own model is told:", PythonTool))
    def run_python(workbook: BookId, code: Code) -> dict[str, Any]:
        """tools.python.PythonTool (the sandbox) over the current version."""
        if not config.python:
            raise ToolError("ERROR (unavailable): the python tool is turned off on this server\n"
                            "hint: use query instead")
        with books.using(workbook) as entry:
            result = entry.tool("python")({"code": code})
        if not result.ok:
            raise failed(result)
        payload = python_payload(result)
        if payload is None:
            return jsonable({"result": result.observation, "stdout": "", "value": None, "figures": 0})
        return jsonable({"result": result.observation, "stdout": payload["stdout"],
                         "value": payload.get("value_repr"),
                         "figures": len(payload.get("figures") or [])})

    @tool(description=described(
        "Edit the workbook `workbook` (an id from open_workbook): `actions` are applied "
        "together as one new version (formulas recalculated; undo with undo); the original "
        "file is never written. Returns the new version and its cell changes. What "
        "tablepilot's own model is told about the actions:", SheetTool))
    def edit(workbook: BookId, actions: Actions) -> dict[str, Any]:
        """tools.sheet.SheetTool on the workbook's versions, then the tools rebound."""
        from agent.session import session_sheet_tool

        with books.using(workbook) as entry:
            result = session_sheet_tool(entry.session)({"actions": actions})
            if not result.ok:
                raise failed(result)
            books.reopen(entry)
            changes = cell_changes(result) or []
            payload = sheet_payload(result)
            return jsonable({"result": result.observation, **version_info(entry.session),
                             "summaries": list(payload["summaries"]) if payload else [],
                             "changes": [c.to_dict() for c in changes[:500]],
                             "changes_total": len(changes)})

    @tool()
    def versions(workbook: BookId) -> dict[str, Any]:
        """The workbook's versions: number, what made it (actions), when, and which is
        current. Version 0 is the original file."""
        with books.using(workbook) as entry:
            session = entry.session
            if not session.has_versions:
                listed = [{"n": 0, "note": "original", "parent": None}]
            else:
                listed = [{k: e.get(k) for k in ("n", "note", "parent", "created", "actions")}
                          for e in session.versions.versions]
            return jsonable({**version_info(session), "versions": listed})

    @tool()
    def undo(workbook: BookId) -> dict[str, Any]:
        """Go back to the version before the current one (redo brings it back)."""
        return move(workbook, "undo")

    @tool()
    def redo(workbook: BookId) -> dict[str, Any]:
        """Bring back the version the last undo left."""
        return move(workbook, "redo")

    def move(workbook: BookId, how: str) -> dict[str, Any]:
        with books.using(workbook) as entry:
            step = entry.session.undo if how == "undo" else entry.session.redo
            try:
                step()
            except TableIOError as exc:  # nothing to undo, or another writer moved first
                raise user_error(exc) from None
            finally:
                if entry.session.version != entry.seen:  # moved (by us or, first, another)
                    entry.rebind()
            return version_info(entry.session)

    @tool()
    def diff(workbook: BookId, a: FromVersion = None, b: ToVersion = None) -> dict[str, Any]:
        """Cell changes from version `a` to version `b` (default: from the current version's
        parent to the current version). Each change: sheet, cell, kind (value, formula, format,
        sheet), before, after."""
        from table_io.diff import summarize

        with books.using(workbook) as entry:
            session = entry.session
            if not session.has_versions:
                return {"a": 0, "b": 0, "summary": "no changes: no edit was made", "changes": []}
            store = session.versions
            if b is None:
                b = store.version
            if a is None:
                a = store.versions[b]["parent"] if 0 <= b < len(store.versions) else None
                a = b if a is None else a
            changes = guarded(lambda: store.diff(int(a), int(b)))
            return jsonable({"a": a, "b": b, "summary": summarize(changes),
                             "changes": [c.to_dict() for c in changes[:500]],
                             "changes_total": len(changes)})

    @tool()
    def save_as(workbook: BookId, path: SavePath, overwrite: Overwrite = False) -> dict[str, Any]:
        """Write the current version to a new file inside the allowed folders (.xlsx, or .xlsm
        for a workbook with macros). Never the original file; an existing file only with
        overwrite=true. The write is atomic."""
        with books.using(workbook) as entry:
            def target_and_source() -> tuple[Path, Path]:
                target = books.roots.writable(path, overwrite=overwrite,
                                              protected=books.originals())
                current = entry.session.versions.current_path  # version 0 is made if needed
                if target.suffix.lower() != current.suffix.lower():
                    raise PathRefused(f"save as {current.suffix} (the version's format), not "
                                      f"{target.suffix or 'a name without an extension'}")
                return target, current

            target, current = guarded(target_and_source)
            guarded(lambda: write_copy(current, target, overwrite=overwrite))
            return {"path": str(target), **version_info(entry.session)}

    @tool()
    def ask(workbook: BookId, question: Question) -> dict[str, Any]:
        """Ask tablepilot's own agent a question about the workbook (or to make an edit) in
        plain words; it plans, queries, computes and answers with the cells it used. Needs a
        model configured on the server; the same conversation continues across calls."""
        if config.agent is None:
            raise ToolError(f"ERROR (unavailable): {config.model_hint}")
        with books.using(workbook) as entry:
            before = entry.session.version
            try:
                answer = entry.session.send(question)
            except TableIOError as exc:
                raise user_error(exc) from None
            except Exception as exc:  # the model's endpoint failed: say so, not "crashed"
                raise ToolError(f"ERROR (unavailable): the model could not answer: "
                                f"{type(exc).__name__}: {exc}") from exc
            if entry.session.version != before:  # the session reopened it; now the tools
                entry.rebind()
            return jsonable({"answer": answer.text, "value": answer.value,
                             "status": answer.status, "stop_reason": answer.stop_reason,
                             "cells": answer.cells, "tables": answer.tables,
                             "steps": [{"tool": s.tool, "input": s.input,
                                        "error": s.error} for s in answer.steps],
                             **version_info(entry.session)})

    @server.resource("tablepilot://workbooks/{workbook}", mime_type="application/json")
    def workbook_resource(workbook: BookId) -> str:
        """The workbook's sheets and tables (what open_workbook returns), current version."""
        from table_io.describe import describe

        with resource_book(books, workbook) as entry:
            return json.dumps(jsonable(describe(entry.workbook)), indent=1)

    @server.resource("tablepilot://workbooks/{workbook}/tables/{table}/schema",
                     mime_type="application/json")
    def table_schema(workbook: BookId, table: str) -> str:
        """One table's schema: range, header rows, row count, columns with types."""
        from table_io.describe import describe

        with resource_book(books, workbook) as entry:
            name = table_named(entry.workbook, table).name
            for sheet in describe(entry.workbook)["sheets"]:
                for item in sheet["tables"]:
                    if item["name"] == name:
                        return json.dumps(jsonable({"sheet": sheet["name"], **item}), indent=1)
            raise ResourceNotFoundError(f"no table {table!r}")

    @server.resource("tablepilot://workbooks/{workbook}/tables/{table}/view",
                     mime_type="text/markdown")
    def table_view(workbook: BookId, table: str) -> str:
        """One table as tablepilot's model sees it: TAP's packed view (column types, ranges,
        distinct values and a sample of rows, the `row` column is the sheet row) in a token
        budget; long tables are never sent whole."""
        from tools.tap import pack_table

        with resource_book(books, workbook) as entry:
            found = table_named(entry.workbook, table)
            return pack_table(found, "", budget_tokens=VIEW_TOKENS).text

    return server


def table_uris(book_id: str, table: str) -> dict[str, str]:
    base = f"tablepilot://workbooks/{book_id}/tables/{table}"
    return {"schema": f"{base}/schema", "view": f"{base}/view"}


@contextmanager
def resource_book(books: Workbooks, book_id: str) -> Iterator[OpenWorkbook]:
    """``books.using`` for a resource: an unknown id is a not-found resource error."""
    try:
        books.get(book_id)
    except ToolError as exc:
        raise ResourceNotFoundError(str(exc)) from None
    try:
        with books.using(book_id) as entry:
            yield entry
    except (ToolError, TableIOError) as exc:  # e.g. the file changed on disk
        raise ResourceError(str(exc)) from None


def serve(config: Config, *, http: bool = False, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Run the server (stdio, or streamable HTTP at http://HOST:PORT/mcp) until stopped; a
    state folder the server made for itself is removed at the end."""
    made = config.state_dir is None
    if made:
        config.state_dir = Path(tempfile.mkdtemp(prefix="tablepilot-mcp-"))
    server = build_server(config)
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a client stopping its server; uvicorn raises it again after its own
        # shutdown) ends the server through the cleanup below
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        if http:
            # the SDK turns DNS-rebinding protection on for a loopback host
            server.run("streamable-http", host=host, port=port)
        else:
            server.run()
    finally:
        server.workbooks.close()  # type: ignore[attr-defined]
        if made and config.state_dir is not None:
            shutil.rmtree(config.state_dir, ignore_errors=True)


def _exit_on_signal(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)

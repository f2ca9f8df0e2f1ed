"""The tools a run gets: built per question (or per session) from the workbook by a factory,
so the tool set is injectable (``TableAgent(tools=my_factory)``)."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from table_io.model import Workbook
from tools.base import Tool

ToolFactory = Callable[[Workbook], list[Tool]]

_python_ok: tuple[bool, str] | None = None
_python_lock = threading.Lock()


def python_available() -> tuple[bool, str]:
    """Whether the sandboxed python tool can run here (checked once per process)."""
    global _python_ok
    with _python_lock:
        if _python_ok is None:
            try:
                from tools.python import PythonTool
            except ImportError as exc:
                _python_ok = (False, f"tools.python is not available: {exc}")
            else:
                try:
                    _python_ok = PythonTool.check_available()
                except Exception as exc:
                    _python_ok = (False, f"{type(exc).__name__}: {exc}")
        return _python_ok


class SqlPool:
    """Ready SQL tools (each a loaded DuckDB catalog) per workbook, reused across questions:
    loading a 10,000-row table costs far more than the query. Thread-safe; a tool is used by
    one question at a time."""

    def __init__(self, per_workbook: int = 8, workbooks: int = 16,
                 repairs: Sequence[Any] | None = None) -> None:
        self.repairs = repairs  # the SQL repairs its tools apply (None: all)
        self.per_workbook = per_workbook
        self.workbooks = workbooks
        self._free: OrderedDict[int, tuple[weakref.ref[Workbook], list[Tool]]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, workbook: Workbook) -> Tool:
        with self._lock:
            entry = self._free.get(id(workbook))
            if entry is not None and entry[0]() is workbook and entry[1]:
                self._free.move_to_end(id(workbook))
                return entry[1].pop()
        from tools.sql import SqlTool

        return SqlTool(workbook, repairs=self.repairs)

    def release(self, workbook: Workbook, tool: Tool) -> None:
        evicted: list[Tool] = []
        with self._lock:
            entry = self._free.get(id(workbook))
            if entry is None or entry[0]() is not workbook:
                entry = (weakref.ref(workbook), [])
                self._free[id(workbook)] = entry
            if len(entry[1]) < self.per_workbook:
                entry[1].append(tool)
            else:
                evicted.append(tool)
            while len(self._free) > self.workbooks:
                evicted.extend(self._free.popitem(last=False)[1][1])
        close_tools(evicted)

    def close(self) -> None:
        with self._lock:
            tools = [t for _, free in self._free.values() for t in free]
            self._free.clear()
        close_tools(tools)


def default_tools(workbook: Workbook, *, versions: Any = None, python: bool = True,
                  sql_max_rows: int = 200, sql_pool: SqlPool | None = None,
                  sql_repairs: Sequence[Any] | None = None) -> list[Tool]:
    """sql, python (when its sandbox works here) and, with a VersionStore, sheet.
    ``sql_repairs``: the SQL repairs to apply (None: all; see tools/sql/repairs.py)."""
    from tools.sql import SqlTool

    sql = sql_pool.acquire(workbook) if sql_pool is not None else SqlTool(
        workbook, max_rows=sql_max_rows, repairs=sql_repairs)
    tools: list[Tool] = [sql]
    if python and python_available()[0]:
        from tools.python import PythonTool

        tools.append(PythonTool(workbook))
    if versions is not None:
        from tools.sheet import SheetTool

        tools.append(SheetTool(versions))
    return tools


def close_tools(tools: list[Tool]) -> None:
    for tool in tools:
        close = getattr(tool, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                pass


def find_tool(tools: list[Tool], name: str) -> Tool | None:
    return next((t for t in tools if t.name == name), None)

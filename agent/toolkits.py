"""tablepilot's tools for another agent: LangChain tools over one workbook, with versions.

    from agent import toolkit
    from langgraph.prebuilt import create_react_agent

    with toolkit("book.xlsx", workdir="book-versions") as kit:
        graph = create_react_agent(model, kit.tools)      # or list(kit): the same tools
        graph.invoke({"messages": [("user", "Add a VAT column")]})
        kit.save_as("book-edited.xlsx")

The tools are tablepilot's own (``sql``, ``python``, ``sheet``) plus ``inspect``; each one's name,
description and argument schema are the ones tablepilot's own model sees (``Tool.as_langchain``).
They share one ``agent.session.Session``: the original file is never written, each edit is a new
version file in ``workdir``, and sql/python read the current version (after an edit, an undo or
a redo). A failed call comes back to the calling agent as the tool's observation, with the same
kind, location and hint as inside tablepilot (a LangChain ``ToolMessage`` with status "error"),
never as an exception. For a loop of your own: ``kit.specs()`` (OpenAI-style function schemas,
also ``tablepilot tools --json``) and ``kit.call(name, arguments)`` (the observation text).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast, overload

from pydantic import BaseModel, Field, ValidationError

from agent.toolset import close_tools, find_tool
from table_io.describe import describe
from table_io.model import Workbook
from tools.base import Tool, ToolError, ToolResult
from tools.payloads import InspectPayload, pending_payload

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from agent.core import TableAgent
    from agent.session import Session
    from table_io.versions import VersionStore

TOOL_NAMES = ("sql", "python", "sheet", "inspect")


# ---------------------------------------------------------------- the inspect tool


class InspectArgs(BaseModel):
    head: int = Field(0, ge=0, le=50,
                      description="also return the first N data rows of each table (0: none)")


class InspectTool(Tool):
    """Describe the workbook as JSON: its sheets and the tables found on them.

    For each table: the name to use in sql and python, its cell range, header rows, number of
    data rows, column names and types, title, notes, total rows (kept out of the data) and
    hidden rows; for each sheet: hidden rows and columns and merged cells. Call it first to
    learn the table and column names; it always shows the current version (after edits).
    """

    name: ClassVar[str] = "inspect"
    Args: ClassVar[type[BaseModel]] = InspectArgs

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook

    def refresh(self, workbook: Workbook) -> None:
        """Describe ``workbook`` from now on (a new version)."""
        self.workbook = workbook

    def run(self, args: Any) -> ToolResult:
        data = describe(self.workbook, head=args.head)
        return ToolResult(observation=json.dumps(data, ensure_ascii=False, default=str),
                          payload=cast(InspectPayload, data))


# ---------------------------------------------------------------- plain specs


def tool_specs(*, python: bool = True, sheet: bool = True, full: bool = False) -> list[dict[str, Any]]:
    """The OpenAI-style function schemas of the tools (sql, python, sheet, inspect).

    ``full``: the sheet tool's complete typed schema (every action's fields) instead of the
    small one tablepilot sends (action names only; its description lists the fields). Arguments
    are validated against the complete schema either way."""
    from tools.python import PythonTool
    from tools.sheet import SheetTool
    from tools.sql import SqlTool

    classes: list[type[Tool]] = [SqlTool]
    if python:
        classes.append(PythonTool)
    if sheet:
        classes.append(SheetTool)
    classes.append(InspectTool)
    return [spec_of(cls, full=full) for cls in classes]


def spec_of(tool: type[Tool] | Tool, *, full: bool = False) -> dict[str, Any]:
    """One tool's OpenAI-style function schema (``full``: see ``tool_specs``)."""
    spec = tool.spec()
    if full and tool.name == "sheet":
        parameters = tool.Args.model_json_schema()
        parameters.pop("title", None)
        spec["function"]["parameters"] = parameters
    return spec


# ---------------------------------------------------------------- the toolkit


class Toolkit(Sequence["BaseTool"]):
    """tablepilot's tools over one workbook, for another agent; iterating gives the tools.

    ``source``: a path (.xlsx .xlsm .xls .ods .csv .tsv .parquet), a DataFrame or a Workbook.
    ``workdir``: where the versions are kept (default: a new temporary folder; a folder that
    already holds versions of the same file resumes them). ``python``: offer the sandboxed
    python tool (where its sandbox works here). ``read_only``: no sheet tool. ``auto_apply``:
    False makes an edit only a proposal, held until ``apply_pending()``. ``agent``: the
    TableAgent of ``session`` (for ``session.send``; its model is only resolved if asked, and
    its own ``python`` setting then counts instead of ``python``).

    ``tools`` are LangChain ``BaseTool``s; ``session`` is the ``agent.session.Session`` they
    share. Calls are serialised (a LangGraph node may run several at once). ``close()`` (or the
    ``with`` block) stops the python sandbox and the SQL catalog; the versions stay in workdir.
    """

    def __init__(self, source: Any, *, workdir: str | Path | None = None, python: bool = True,
                 read_only: bool = False, auto_apply: bool = True,
                 agent: TableAgent | None = None) -> None:
        from agent.core import TableAgent
        from agent.session import Session

        self.session: Session = Session(agent or TableAgent(python=python), source,
                                         auto_apply=auto_apply, workdir=workdir)
        self.read_only = read_only
        self._lock = threading.RLock()
        # sql, python and sheet exactly as a chat turn of the session gets them (the sheet tool
        # makes the version store at its first use; auto_apply=False makes it propose)
        inner: list[Tool] = self.session.make_tools()
        if read_only:
            inner = [t for t in inner if t.name != "sheet"]
        inner.append(InspectTool(self.session.workbook))
        self._inner = inner
        self._seen = self.session.workbook
        self._closed = False
        self.tools: list[BaseTool] = [self._langchain(t) for t in inner]

    # ---------------------------------------------------------------- the tools

    @property
    def names(self) -> list[str]:
        return [t.name for t in self._inner]

    @overload
    def __getitem__(self, index: int) -> BaseTool: ...

    @overload
    def __getitem__(self, index: slice) -> list[BaseTool]: ...

    def __getitem__(self, index: int | slice) -> BaseTool | list[BaseTool]:
        return self.tools[index]

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self) -> Iterator[BaseTool]:
        return iter(self.tools)

    def get(self, name: str) -> BaseTool | None:
        """The LangChain tool called ``name``, or None."""
        return next((t for t in self.tools if t.name == name), None)

    def specs(self, *, full: bool = False) -> list[dict[str, Any]]:
        """This toolkit's tools as OpenAI-style function schemas (``full``: see tool_specs)."""
        return [spec_of(t, full=full) for t in self._inner]

    def run(self, name: str, arguments: dict[str, Any] | None = None) -> ToolResult:
        """Call tool ``name`` on the current version; every failure is a ToolResult's error."""
        tool = find_tool(self._inner, name)
        if tool is None:
            error = ToolError("arguments", f"there is no tool {name!r}",
                              hint=f"the tools are {', '.join(self.names)}")
            return ToolResult(observation=error.render(), error=error)
        with self._lock:
            if self._closed:
                error = ToolError("unavailable", "this toolkit is closed",
                                  hint="the workbook session ended; nothing more can be run")
                return ToolResult(observation=error.render(), error=error)
            self._sync()
            result = tool(arguments or {})
            if name == "sheet" and self._changed_versions(result):
                self.session.reload()  # the new version (or another writer's, on a conflict)
            self._sync()
        return result

    def call(self, name: str, arguments: dict[str, Any] | str | None = None) -> str:
        """Call tool ``name`` with a dict or a JSON object (as a model's tool call carries it);
        returns the observation text the model should see (errors included, with the hint)."""
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                error = ToolError("arguments", f"the arguments are not valid JSON: {exc}",
                                  hint="send the arguments as one JSON object")
                return error.render()
            if not isinstance(arguments, dict):
                error = ToolError("arguments", "the arguments must be a JSON object",
                                  hint=f"for example {{\"{_first_field(name, self._inner)}\": ...}}")
                return error.render()
        return self.run(name, arguments).observation

    def _changed_versions(self, result: ToolResult) -> bool:
        if result.error is not None:
            return result.error.kind == "conflict"
        return pending_payload(result) is None

    def _sync(self) -> None:
        """Point every tool at the session's current version when it moved since the last call
        (an edit, an undo, a redo, an applied proposal)."""
        workbook = self.session.workbook
        if workbook is self._seen:
            return
        for tool in self._inner:
            refresh = getattr(tool, "refresh", None)
            if callable(refresh):
                refresh(workbook)
        self._seen = workbook

    def _langchain(self, tool: Tool) -> BaseTool:
        """``tool.as_langchain()``'s name, description and schema, run through this toolkit."""
        from langchain_core.tools import StructuredTool, ToolException

        shown = tool.as_langchain()
        name = tool.name

        def call(**kwargs: Any) -> str:
            result = self.run(name, kwargs)
            if result.error is not None:
                raise ToolException(result.observation)  # the observation, status "error"
            return result.observation

        def invalid(exc: ValidationError) -> str:
            return invalid_arguments(tool, exc).render()

        lc: BaseTool = StructuredTool.from_function(
            func=call, name=shown.name, description=shown.description,
            args_schema=shown.args_schema, handle_tool_error=True,
            handle_validation_error=invalid)
        return lc

    # ---------------------------------------------------------------- versions

    @property
    def version(self) -> int:
        """The current version (0: the original, before any edit)."""
        return self.session.version

    @property
    def versions(self) -> list[dict[str, Any]]:
        """Every version's journal entry (n, file, parent, actions, note, created); empty until
        the sheet tool is first used (that makes version 0, the original's copy)."""
        return self.session.versions.versions if self.session.has_versions else []

    @property
    def store(self) -> VersionStore:
        """The version store (made now if no edit made it yet)."""
        return self.session.versions

    @property
    def workbook_path(self) -> Path:
        """The current version's file (the original until the first edit; read it, never
        write it)."""
        return self.session.workbook_path

    @property
    def pending(self) -> Any:
        """The proposed edit waiting for ``apply_pending`` (with ``auto_apply=False``), or None."""
        return self.session.pending

    def undo(self) -> int:
        """Go back one edit; returns the version now current. The tools read it next call."""
        with self._lock:
            return self.session.undo()

    def redo(self) -> int:
        with self._lock:
            return self.session.redo()

    def restore(self, n: int) -> int:
        """Make version ``n`` current (later versions stay restorable)."""
        with self._lock:
            return self.session.restore(n)

    def apply_pending(self) -> int:
        """Apply the proposed edit as a new version; returns its number."""
        with self._lock:
            return self.session.apply_pending()

    def discard_pending(self) -> None:
        with self._lock:
            self.session.discard_pending()

    def save_as(self, path: str | Path) -> Path:
        """Copy the current version to ``path``; never over the original or the versions."""
        target = Path(path).resolve()
        original = self.session.source_path.resolve()
        versions = (self.session.workdir / "versions").resolve()
        if target == original or (target.exists() and target.samefile(original)):
            raise ValueError(f"{path} is the original file, which is never written; "
                             "save the edited workbook under another name")
        if target.is_relative_to(versions):
            raise ValueError(f"{path} is inside the version folder {versions}; save elsewhere")
        with self._lock:
            return self.session.save(target)

    # ---------------------------------------------------------------- lifecycle

    def close(self) -> None:
        """Stop the python sandbox and close the SQL catalog (calls then return an error)."""
        with self._lock:
            self._closed = True
            close_tools(self._inner)

    def __enter__(self) -> Toolkit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"Toolkit({self.session.source_path.name!r}, tools={self.names}, "
                f"version={self.version})")


def toolkit(source: Any, *, workdir: str | Path | None = None, python: bool = True,
            read_only: bool = False, auto_apply: bool = True,
            agent: TableAgent | None = None) -> Toolkit:
    """tablepilot's tools (sql, python, sheet, inspect) over ``source`` for another agent:
    a ``Toolkit``, iterable as its LangChain tools. See ``Toolkit`` for the options."""
    return Toolkit(source, workdir=workdir, python=python, read_only=read_only,
                   auto_apply=auto_apply, agent=agent)


def invalid_arguments(tool: Tool | type[Tool], exc: ValidationError) -> ToolError:
    """A validation error as the tool itself reports one (``Tool.__call__``)."""
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                         for e in exc.errors())
    return ToolError("arguments", f"invalid arguments for {tool.name}: {problems}",
                     hint=f"expected arguments: {list(tool.Args.model_fields)}")


def _first_field(name: str, tools: list[Tool]) -> str:
    tool = find_tool(tools, name)
    return next(iter(tool.Args.model_fields), "...") if tool is not None else "..."


__all__ = ["InspectTool", "Toolkit", "spec_of", "tool_specs", "toolkit"]

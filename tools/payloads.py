"""What each tool puts in ``ToolResult.payload``: one ``TypedDict`` per tool.

Payloads stay plain dicts at run time (the app, the run log and the tests index them); these
types only let mypy check every key that a tool writes and a consumer reads. ``ToolResult``
does not say which tool made it, so a consumer reads a payload through the accessor of the
tool it expects (``sql_payload(result)`` ...): each one recognises its payload by a key that
tool always writes, and returns None for any other result (an error, another tool, a crash).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, TypeAlias, TypedDict, cast

if TYPE_CHECKING:
    import pandas as pd

    from table_io.diff import CellChange
    from tools.base import ToolResult
    from tools.sheet.readback import Readback


class Timed(TypedDict, total=False):
    """What ``Tool.__call__`` adds to every dict payload."""

    duration_s: float
    """Seconds the call took, validation included (set by ``Tool.__call__``; nothing reads it
    yet: the step's duration is measured by the loop)."""


class SqlPayload(Timed):
    """The ``sql`` tool's result (tools/sql/tool.py)."""

    frame: pd.DataFrame
    """The rows returned, at most ``max_rows`` of them. Read by agent/steps.py (the step's
    value and preview), agent/loop.py (``Seen.frame``), agent/drafts.py (voting),
    agent/baselines.py and app/mcp_server.py (``query``)."""
    sql: str
    """The DuckDB SQL that ran (after repairs and dialect translation). Read by agent/steps.py,
    agent/loop.py and app/mcp_server.py."""
    total_rows: int
    """How many rows the whole query gives (may exceed ``len(frame)``). Read by
    app/mcp_server.py."""
    dialect: str
    """The SQL dialect the query was parsed as. Not read outside the tool."""
    truncated: bool
    """Whether ``frame`` holds fewer rows than ``total_rows``. Not read outside the tool."""
    repairs: list[str]
    """Ids of the repairs that fired, in order. Read by agent/loop.py (recorded as rules)."""
    source_rows: list[list[int]] | None
    """Per row of ``frame`` (the first 50), the sheet rows it came from (1-based, as on the
    sheet): its own row for a plain SELECT, a group's first 50 rows for GROUP BY, the rows the
    WHERE kept for an aggregate without GROUP BY. None when unknown (joins, CTEs, big tables
    queried in place, a repaired query). Read by agent/steps.py (the app's step table)."""
    source_counts: list[int] | None
    """Per row of ``source_rows``, how many sheet rows it came from (more than listed when a
    group's list was cut). Read by agent/steps.py."""
    source_sheet: str | None
    """The sheet of ``source_rows``. Read by agent/steps.py."""
    source_columns: list[str] | None
    """A1 letters of the table columns the query names: with ``source_rows``, the cells each
    result row came from. Read by agent/steps.py."""


class PythonPayload(Timed):
    """The ``python`` tool's result (tools/python.py), also on a sandbox limit or crash."""

    code: str
    """The code that ran. Not read outside the tool."""
    stdout: str
    """What the code printed. Read by agent/steps.py and app/mcp_server.py (``run_python``)."""
    stderr: str
    """What the code wrote to stderr. Shown in the observation only."""
    value: Any
    """The last expression's value: a plain value, or a DataFrame. Read by agent/steps.py (a
    scalar becomes the step's value)."""
    value_repr: str | None
    """The value's repr, as the model saw it. Read by app/mcp_server.py."""
    value_type: str | None
    """The value's type name. Shown in the observation only."""
    frames: dict[str, pd.DataFrame]
    """DataFrames the code made or changed, by variable name. Shown in the observation only."""
    frames_omitted: list[str]
    """Names of changed DataFrames that were not returned (too many). Observation only."""
    figures: list[bytes]
    """PNG images of the figures the code drew. Read by agent/steps.py (their count) and
    app/mcp_server.py."""
    restarted: bool
    """Whether the sandbox was restarted before the call. Not read outside the tool."""


class SheetPayload(Timed):
    """The ``sheet`` tool's result after an edit was saved (tools/sheet/tool.py)."""

    version: int
    """The number of the new version. Read by agent/steps.py and agent/runlog.py (the
    answer's version)."""
    changes: list[CellChange]
    """The cells the edit changed. Read by agent/steps.py (the step's changes) and
    app/mcp_server.py (``edit``)."""
    recalc: str | None
    """What the formula recalculation reported, or None. Observation only."""
    notes: list[str]
    """Notes from the actions. Observation only."""
    warnings: list[str]
    """The version store's warnings. Not read outside the tool."""
    summaries: list[str]
    """One line in words per action ("Sort Sheet1!A1:D41 by Sex, A to Z"). Read by
    agent/loop.py (the answer's edits), agent/session.py and the app."""
    readback: Readback
    """What the draft shows, read back for the edit checks (tools/sheet/readback.py). Read by
    agent/loop.py (``Seen.edit``)."""


class PendingEditPayload(Timed):
    """A proposed sheet edit that waits for the user (agent/session.py's pending sheet tool)."""

    pending: Literal[True]
    """True: nothing was saved. Read by agent/session.py (no reload) and
    agent/toolkits.py (the version did not move)."""
    changes: list[CellChange]
    """The changes the proposal would make. Read by agent/steps.py."""
    summaries: list[str]
    """One line in words per action ("Sort Sheet1!A1:D41 by Sex, A to Z"). Read by
    agent/loop.py (the answer's edits), agent/session.py and the app."""
    readback: Readback
    """What the draft shows, read back for the edit checks (tools/sheet/readback.py). Read by
    agent/loop.py (``Seen.edit``)."""


class ViewPayload(Timed):
    """The ``tap`` tool's packed view of a table or the workbook (tools/tap/__init__.py)."""

    tokens: int
    """Tokens the view takes. Not read outside the tool."""
    omitted: list[str]
    """Tables left out of the view for the budget. Not read outside the tool."""
    rows: dict[str, list[int]]
    """Sheet rows shown, by table. Not read outside the tool."""


class InspectPayload(Timed):
    """The ``inspect`` tool's description of the workbook (agent/toolkits.py, from
    ``table_io.describe.describe``; the observation is this dict as JSON)."""

    source: str | None
    """Where the workbook came from. Not read outside the tool."""
    format: str
    """The workbook's file format. Not read outside the tool."""
    warnings: list[str]
    """What reading the workbook warned about. Not read outside the tool."""
    sheets: list[dict[str, Any]]
    """Each sheet with its tables and columns. Not read outside the tool."""


class CrashPayload(Timed):
    """Any tool's result when it raised an unexpected exception (tools/base.py)."""

    traceback: str
    """The formatted traceback. Read by agent/steps.py (kept in the step, last 4000 chars)."""


ToolPayload: TypeAlias = (SqlPayload | PythonPayload | SheetPayload | PendingEditPayload
                          | ViewPayload | InspectPayload | CrashPayload)
"""Every payload a tool result may carry (``ToolResult.payload`` is this or None)."""


def _having(result: ToolResult, key: str) -> dict[str, Any] | None:
    payload = result.payload
    return cast(dict[str, Any], payload) if isinstance(payload, dict) and key in payload else None


def sql_payload(result: ToolResult) -> SqlPayload | None:
    """The payload of a ``sql`` result (it holds ``frame``), else None."""
    return cast("SqlPayload | None", _having(result, "frame"))


def python_payload(result: ToolResult) -> PythonPayload | None:
    """The payload of a ``python`` result (it holds ``stdout``), else None."""
    return cast("PythonPayload | None", _having(result, "stdout"))


def sheet_payload(result: ToolResult) -> SheetPayload | None:
    """The payload of a saved ``sheet`` edit (it holds ``version``), else None."""
    return cast("SheetPayload | None", _having(result, "version"))


def pending_payload(result: ToolResult) -> PendingEditPayload | None:
    """The payload of a proposed edit that was not saved (``pending`` is true), else None."""
    payload = _having(result, "pending")
    return cast(PendingEditPayload, payload) if payload is not None and payload["pending"] else None


def crash_payload(result: ToolResult) -> CrashPayload | None:
    """The payload of a tool that crashed (it holds ``traceback``), else None."""
    return cast("CrashPayload | None", _having(result, "traceback"))


def cell_changes(result: ToolResult) -> list[CellChange] | None:
    """The cell changes of a saved or proposed sheet edit, else None."""
    payload = _having(result, "changes")
    return cast("list[CellChange]", payload["changes"]) if payload is not None else None

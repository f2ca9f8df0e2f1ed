"""Turning a tool result into what the run log keeps: its value, and JSON-safe extras for the
app and the log (never frames or bytes)."""

from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from typing import Any

from agent.values import frame_value, to_value
from tools.base import ToolResult
from tools.payloads import (
    SqlPayload,
    cell_changes,
    crash_payload,
    python_payload,
    sheet_payload,
    sql_payload,
)


def result_value(name: str, result: ToolResult) -> tuple[Any, bool]:
    """The result's value (one cell, or one column as a list) and whether it has one."""
    sql = sql_payload(result)
    if sql is not None and sql["frame"] is not None and hasattr(sql["frame"], "shape"):
        has_value, value = frame_value(sql["frame"])
        return value, has_value
    python = python_payload(result) if name == "python" else None
    if python is not None and python.get("value") is not None:
        value = python["value"]
        if isinstance(value, int | float | str):
            return to_value(value), True
    return None, False


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters not shown]"


def jsonable_args(args: Any) -> dict[str, Any]:
    try:
        return dict(json.loads(json.dumps(dict(args), default=str)))
    except (TypeError, ValueError):
        return {str(k): str(v) for k, v in dict(args).items()}


def step_payload(result: ToolResult, drafts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"tables": list(result.tables), "cells": list(result.cells)[:200]}
    if drafts:
        out["drafts"] = drafts
    sql, python, sheet = sql_payload(result), python_payload(result), sheet_payload(result)
    frame = sql["frame"] if sql is not None else None
    if sql is not None and frame is not None and hasattr(frame, "columns"):
        out["sql"] = sql.get("sql")
        out["columns"] = [str(c) for c in frame.columns]
        out["rows"] = len(frame)  # rows returned (at most the tool's max_rows)
        out["total_rows"] = sql.get("total_rows", len(frame))  # rows the query had
        out["preview"] = [[to_value(v) for v in row]
                          for row in frame.head(20).itertuples(index=False)]
        out.update(_row_sources(sql, len(out["preview"])))
    if python is not None:
        out["stdout"] = python["stdout"][:4000]
    if sheet is not None:
        out["version"] = sheet["version"]
    changes = cell_changes(result)
    if changes is not None:
        out["changes"] = [_change_dict(c) for c in list(changes)[:200]]
    if python is not None and python.get("figures"):
        out["figures"] = len(python["figures"])
    crash = crash_payload(result)
    if crash is not None:
        out["traceback"] = str(crash["traceback"])[-4000:]
    return out


def _row_sources(sql: SqlPayload, shown: int) -> dict[str, Any]:
    """Where each previewed row is on the sheet (tools/sql/provenance.py), for the app's step
    table: ``source_rows`` (sheet rows per row), ``source_counts``, ``source_sheet`` and
    ``source_columns`` (A1 letters); nothing when the tool could not tell."""
    rows = sql.get("source_rows")
    if not isinstance(rows, list) or not sql.get("source_sheet"):
        return {}
    return {"source_rows": [[int(n) for n in r] for r in rows[:shown]],
            "source_counts": [int(n) for n in (sql.get("source_counts") or [])[:shown]],
            "source_sheet": str(sql.get("source_sheet")),
            "source_columns": [str(c) for c in sql.get("source_columns") or []]}


def _change_dict(change: Any) -> Any:
    to_dict = getattr(change, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if is_dataclass(change) and not isinstance(change, type):
        return {k: to_value(v) if not isinstance(v, str) else v for k, v in asdict(change).items()}
    return change if isinstance(change, dict | str) else str(change)

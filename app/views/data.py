"""Turn answers, steps, tables and cell changes into small frames for display. No Streamlit here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

from table_io.cell_types import kind_of

CHART_MAX_ROWS = 25


def cell_text(value: Any) -> str:
    """One cell value as display text (frames shown by the page hold text, not mixed types)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def value_text(value: Any) -> str:
    """An answer's typed value, with its type, e.g. `1,234.5 (number)`."""
    if value is None:
        return "(no value)"
    if isinstance(value, list | tuple):
        return "; ".join(value_text(v).rsplit(" (", 1)[0] for v in value) + f" (list of {len(value)})"
    if isinstance(value, bool):
        return f"{value} (yes/no)"
    if isinstance(value, int | float):
        return f"{value:,} (number)" if isinstance(value, int) else f"{value:,.6g} (number)"
    if isinstance(value, dt.date | dt.datetime):
        return f"{cell_text(value)} (date)"
    if hasattr(value, "item"):  # numpy scalar
        return value_text(value.item())
    return f"{value} (text)"


def paragraphs(text: str) -> str:
    """Keep the model's line breaks in Markdown (outside fenced code, which keeps its own)."""
    lines, fenced = [], False
    for line in (text or "").strip().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            lines.append(line)
        else:
            lines.append(line if fenced else line + "  ")
    return "\n".join(lines)


def columns_frame(table: Any) -> pd.DataFrame:
    """A table's columns with their types and a sample value."""
    frame: pd.DataFrame = table.frame
    rows = []
    for j, name in enumerate(table.columns):
        series = frame[name] if name in frame.columns else pd.Series(dtype=object)
        sample = next((v for v in series if not _is_blank(v)), None)
        letter = table.column_letters[j] if j < len(getattr(table, "column_letters", [])) else ""
        rows.append({"column": name, "cell": letter, "type": type_name(series),
                     "example": cell_text(sample)})
    return pd.DataFrame(rows, columns=["column", "cell", "type", "example"])


def type_name(series: pd.Series) -> str:
    kind = kind_of(series)
    return "yes/no" if kind == "boolean" else kind


def _is_blank(value: Any) -> bool:
    try:
        return bool(pd.isna(value)) or value == ""
    except (TypeError, ValueError):
        return False


def display_frame(frame: pd.DataFrame, *, limit: int = 200) -> pd.DataFrame:
    """A frame safe for Arrow: unique text column names, object columns as text."""
    shown = frame.head(limit).copy()
    names = [str(c) for c in shown.columns]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            seen[name] += 1
            names[i] = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
    shown.columns = pd.Index(names)
    for name in shown.columns:
        if shown[name].dtype == object:
            shown[name] = shown[name].map(cell_text)
    return shown


def parse_header_rows(text: str) -> list[int]:
    """'3' -> [3]; '2-3' -> [2, 3]; '2, 3' -> [2, 3]. Raises ValueError with a clear message."""
    rows: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        low, sep, high = part.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            raise ValueError(f"header rows must be row numbers like 3 or 2-3, not {text!r}")
        a, b = int(low), int(high) if sep else int(low)
        rows.extend(range(min(a, b), max(a, b) + 1))
    if not rows or min(rows) < 1:
        raise ValueError(f"header rows must be row numbers like 3 or 2-3, not {text!r}")
    return sorted(set(rows))


RANGE = re.compile(r"^\$?[A-Za-z]{1,3}\$?\d+:\$?[A-Za-z]{1,3}\$?\d+$")


def check_range(text: str) -> str:
    """'a3:g9' -> 'A3:G9'. Raises ValueError when it is not an A1 range."""
    value = text.strip().replace("$", "").upper()
    if "!" in value:
        value = value.split("!", 1)[1]
    if not RANGE.match(value):
        raise ValueError(f"a range looks like A3:G9, not {text!r}")
    return value


# ---------------------------------------------------------------- edits


def changes_frame(changes: Iterable[Any]) -> pd.DataFrame:
    """Cell-level diff: one row per changed cell (CellChange or dict)."""
    rows = []
    for change in changes:
        get = change.get if isinstance(change, dict) else lambda k, c=change: getattr(c, k, None)
        rows.append({"sheet": cell_text(get("sheet")), "cell": cell_text(get("cell")),
                     "change": cell_text(get("kind")), "before": cell_text(get("before")),
                     "after": cell_text(get("after"))})
    return pd.DataFrame(rows, columns=["sheet", "cell", "change", "before", "after"])


def pending_changes(pending: Any) -> list[Any]:
    """The cell changes of a pending edit, whatever its container looks like."""
    if pending is None:
        return []
    if isinstance(pending, dict):
        return list(pending.get("changes") or [])
    if isinstance(pending, list | tuple):
        return list(pending)
    return list(getattr(pending, "changes", None) or [])


def pending_actions(pending: Any) -> list[Any]:
    if pending is None or isinstance(pending, list | tuple):
        return []
    if isinstance(pending, dict):
        return list(pending.get("actions") or [])
    return list(getattr(pending, "actions", None) or [])


# ---------------------------------------------------------------- steps and charts


def step_frame(payload: dict[str, Any]) -> pd.DataFrame | None:
    """The result table a step carries, if any: the agent's `columns` + `preview` rows (the
    first 20; `rows` is the full count), or a DataFrame / split dict / records."""
    columns = payload.get("columns")
    preview = payload.get("preview")
    if isinstance(columns, list) and isinstance(preview, list):
        try:
            return numbers_as_numbers(pd.DataFrame(preview, columns=[str(c) for c in columns]))
        except (ValueError, TypeError):
            return None
    for key in ("frame", "result", "records", "table"):
        frame = _as_frame(payload.get(key))
        if frame is not None:
            return frame
    return None


def _as_frame(value: Any) -> pd.DataFrame | None:
    if isinstance(value, pd.DataFrame):
        return value
    if isinstance(value, dict) and "columns" in value:
        data = value.get("data", value.get("rows", []))
        try:
            return pd.DataFrame(data, columns=value["columns"])
        except (ValueError, TypeError):
            return None
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        return pd.DataFrame(value)
    return None


def numbers_as_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns that hold only numbers (ints, floats, Decimals from SUM) get a numeric dtype."""
    import decimal

    for name in frame.columns:
        values = [v for v in frame[name] if v is not None]
        if frame[name].dtype == object and values and all(
                isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool)
                for v in values):
            frame[name] = pd.to_numeric(frame[name])
    return frame


def step_rows(payload: dict[str, Any]) -> int | None:
    """How many rows the step's full result had (the preview, and the rows returned, may be
    fewer; logs older than ``total_rows`` hold only the rows returned)."""
    rows = payload.get("total_rows", payload.get("rows"))
    return rows if isinstance(rows, int) else None


def last_sql_frame(steps: Iterable[Any]) -> pd.DataFrame | None:
    """The whole result of the last SQL step that succeeded (None when only a part is known)."""
    found = None
    for step in steps:
        if getattr(step, "tool", "") == "sql" and not getattr(step, "error", None):
            payload = getattr(step, "payload", {}) or {}
            frame = step_frame(payload)
            total = step_rows(payload)
            complete = frame is not None and (total is None or total == len(frame))
            found = frame if complete else None
    return found


def chart_columns(frame: pd.DataFrame | None) -> tuple[str, str] | None:
    """(category, number) when a bar chart says it better: a few labelled numbers."""
    if frame is None or not 2 <= len(frame) <= CHART_MAX_ROWS or frame.shape[1] < 2:
        return None
    numbers = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c])]
    labels = [c for c in frame.columns if c not in numbers]
    if len(labels) != 1 or not numbers or frame[labels[0]].duplicated().any():
        return None
    return str(labels[0]), str(numbers[0])


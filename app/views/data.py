"""Turn answers, steps, tables and cell changes into small frames for display. No Streamlit here."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from table_io.cell_types import COLUMN_KINDS, kind_of
from table_io.describe import written_in_words

if TYPE_CHECKING:
    from pandas.io.formats.style import Styler

CHART_MAX_ROWS = 25


def cell_text(value: Any) -> str:
    """One cell value as display text (frames shown by the page hold text, not mixed types):
    blanks as "", whole floats without ".0", dates without a midnight time or seconds noise."""
    if value is None or is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return date_text(value)
    if isinstance(value, str) and ISO_DATETIME.match(value):
        return date_text(pd.Timestamp(value))
    return str(value)


# What agent.values.to_value makes of a timestamp with a time (a step's preview rows).
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$")


def is_missing(value: Any) -> bool:
    """None, NaN, NaT or pd.NA (a container is never missing)."""
    if value is None:
        return True
    if isinstance(value, str | bytes | list | tuple | dict | set):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def date_text(value: dt.date | dt.datetime) -> str:
    """2024-03-01 for a date or a midnight timestamp, else 2024-03-01 09:30 (seconds only when
    there are any, after rounding away the microsecond noise of spreadsheet times)."""
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    stamp = pd.Timestamp(value).round("s")
    return stamp.strftime(date_format([stamp]))


def date_format(stamps: Iterable[Any]) -> str:
    """One strftime format for a column of timestamps: as short as its values allow."""
    present = [pd.Timestamp(v).round("s") for v in stamps if not is_missing(v)]
    if all(v == v.normalize() for v in present):
        return "%Y-%m-%d"
    if all(v.second == 0 for v in present):
        return "%Y-%m-%d %H:%M"
    return "%Y-%m-%d %H:%M:%S"


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
        write = column_formatter(str(name), series) if sample is not None else None
        rows.append({"column": name, "cell": letter, "type": type_name(series),
                     "example": write(sample) if write else cell_text(sample)})
    return pd.DataFrame(rows, columns=["column", "cell", "type", "example"])


def type_name(series: pd.Series) -> str:
    kind = kind_of(series)
    return "yes/no" if kind == "boolean" else kind


def _is_blank(value: Any) -> bool:
    try:
        return bool(pd.isna(value)) or value == ""
    except (TypeError, ValueError):
        return False


def display_frame(frame: pd.DataFrame, *, limit: int = 200,
                  highlight: Iterable[tuple[int, str]] = (),
                  row_labels: Sequence[int] | None = None) -> Styler:
    """A frame as people read it, ready for st.dataframe.

    Safe for Arrow (unique text column names, object columns as text); formatted by a pandas
    Styler, so the values keep their types and sort as numbers and dates: thousands separators
    (not for years and IDs), dates without 00:00:00, blanks as empty cells. ``highlight`` colours
    the cells at (row position, column name); ``row_labels`` become the index (sheet rows)."""
    shown = frame.head(limit).copy()
    max_cells = int(pd.get_option("styler.render.max_elements"))
    if shown.size > max_cells:  # Streamlit refuses a Styler over pandas' limit
        shown = shown.head(max(1, max_cells // max(1, shown.shape[1])))
    positions = {name: j for j, name in reversed(list(enumerate(map(str, shown.columns))))}
    shown.columns = pd.Index(unique_names([str(c) for c in shown.columns]))
    if row_labels is not None:
        shown.index = pd.Index(list(row_labels)[: len(shown)], name="row")
    else:
        shown.index = pd.RangeIndex(len(shown))
    for name in shown.columns:
        if shown[name].dtype == object or pd.api.types.is_string_dtype(shown[name]):
            shown[name] = shown[name].map(cell_text).astype(object)
    styler = shown.style.format(
        {name: column_formatter(name, shown[name]) for name in shown.columns}, na_rep="")
    marks = {(i, positions[name]) for i, name in highlight
             if 0 <= i < len(shown) and name in positions}
    if marks:
        css = pd.DataFrame("", index=shown.index, columns=shown.columns)
        for i, j in marks:
            css.iat[i, j] = HIGHLIGHT_CSS
        styler = styler.apply(lambda _: css, axis=None)
    return styler


HIGHLIGHT_CSS = "background-color: #ffe08a; color: #1f1f1f"
# Numbers that are names, not amounts: no thousands separator (2,024 is not a year).
PLAIN_NUMBER_NAME = re.compile(r"(^|[^a-z])(year|yr|id|code|no|zip|postcode|phone)([^a-z]|$)|#",
                               re.IGNORECASE)


def unique_names(names: list[str]) -> list[str]:
    """Column names made unique for Arrow: a repeated 'a' becomes 'a.1', 'a.2', ..."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def column_formatter(name: str, series: pd.Series) -> Callable[[Any], str] | None:
    """How one column's values are written (None: as they are)."""
    if pd.api.types.is_bool_dtype(series) or not (
            pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series)):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        fmt = date_format(series)
        return lambda v: pd.Timestamp(v).round("s").strftime(fmt)
    return plain_number if plain_numbers(name, series) else number_text


def plain_numbers(name: str, series: pd.Series) -> bool:
    """Whole numbers that name things (years, IDs, codes) are written without separators."""
    values = pd.to_numeric(series, errors="coerce").dropna()
    if values.empty or not (values == values.round()).all():
        return False
    return bool(PLAIN_NUMBER_NAME.search(name)) or bool(values.between(1900, 2100).all())


def number_text(value: Any) -> str:
    """1234567 -> '1,234,567'; 1234.5 -> '1,234.5' (up to 12 significant digits)."""
    number = float(value)
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:,.12g}"


def plain_number(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else str(value)


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


# how a person can say a column is to be read: as detected, or one of table_io's kinds
AS_DETECTED = "as detected"
READ_CHOICES = (AS_DETECTED, *COLUMN_KINDS)


def column_reading(table: Any, column: str) -> str:
    """How ``column`` was read, in words: 'date: dates written as text, month first
    (mm/dd/yyyy); 03/04/2024 also fits day first', or 'text, as you set it'."""
    meta = getattr(table, "meta", None) or {}
    series = table.frame[column] if column in table.frame.columns else pd.Series(dtype=object)
    kind = type_name(series)
    read_as = (meta.get("read_as") or {}).get(column)
    written = (meta.get("parsed_from_text") or {}).get(column)
    if read_as:
        failed = (meta.get("read_failed") or {}).get(column)
        return (f"{read_as}, as you set it" + (f" ({written_in_words(written)})" if written else "")
                + (f"; {failed}" if failed else ""))
    text = f"{kind}: {written_in_words(written)}" if written else kind
    ambiguous = (meta.get("ambiguous_dates") or {}).get(column)
    if ambiguous:
        other = "day first" if ambiguous.get("chosen") == "month first" else "month first"
        text += f"; {ambiguous.get('example', 'every date')} also fits {other}"
    return text


def chosen_reading(table: Any, column: str) -> str:
    """The choice that stands for ``column`` now: the kind a person set, else as detected."""
    meta = getattr(table, "meta", None) or {}
    kind = (meta.get("read_as") or {}).get(column)
    return kind if kind in READ_CHOICES else AS_DETECTED


def reading_choice(choice: str) -> str | None:
    """A choice of READ_CHOICES as the session's ``types`` value (None: as detected)."""
    if choice not in READ_CHOICES:
        raise ValueError(f"read a column as one of: {', '.join(READ_CHOICES)}; not {choice!r}")
    return None if choice == AS_DETECTED else choice


# the delimiters a person can pick to read a CSV file again with
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def delimiter_name(delimiter: str) -> str:
    """',' -> 'comma'; a delimiter with no name is shown as itself."""
    return next((name for name, char in DELIMITERS.items() if char == delimiter), delimiter)


def csv_choice(table: Any, delimiter: str, encoding: str) -> dict[str, str]:
    """The CSV settings a person picked that differ from how ``table`` was read (what
    ``correct_table(csv=...)`` takes); {} when nothing changes."""
    read = (getattr(table, "meta", None) or {}).get("csv") or {}
    wanted = {"delimiter": DELIMITERS.get(delimiter, delimiter), "encoding": encoding.strip().lower()}
    return {key: value for key, value in wanted.items() if value and value != read.get(key)}


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


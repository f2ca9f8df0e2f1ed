"""Typed answer values: numbers parsed, dates in ISO form, frames turned into values."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd

_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d")
_EMPTY_REFERENCES = {"", "none", "null", "see above", "the result", "result", "above"}


def parse_text_value(text: str) -> Any:
    """'1,234' -> 1234, '3.50' -> 3.5, 'March 1, 2024' -> '2024-03-01'; other text as is."""
    s = text.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1].strip()
    if _NUMBER.match(s):
        return to_value(float(s.replace(",", "")) if "." in s else int(s.replace(",", "")))
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            continue
    return s


def to_value(x: Any) -> Any:
    """A JSON-safe, typed Python value: numpy scalars unwrapped, integral floats as int,
    timestamps as ISO dates (with the time only when it is not midnight), NaN as None."""
    if isinstance(x, list | tuple):
        return [to_value(v) for v in x]
    if x is None:
        return None
    if isinstance(x, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(x)
        if pd.isna(ts):
            return None
        if ts.hour == ts.minute == ts.second == 0 and ts.microsecond == 0:
            return ts.date().isoformat()
        return ts.isoformat()
    if isinstance(x, dt.date):
        return x.isoformat()
    if hasattr(x, "item") and not isinstance(x, str | bytes):
        try:
            x = x.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(x, bool):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if x.is_integer() and abs(x) < 1e15:
            return int(x)
        return round(x, 10)
    if isinstance(x, str):
        return x
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return x


def coerce_answer(raw: Any) -> Any:
    """The model's final_answer argument as a typed value (a list stays a list)."""
    if isinstance(raw, dict):
        for key in ("answer", "value", "values", "result"):
            if key in raw:
                return coerce_answer(raw[key])
        return str(raw)
    if isinstance(raw, list | tuple):
        items = [coerce_answer(v) for v in raw]
        return items[0] if len(items) == 1 else items
    if isinstance(raw, str):
        return parse_text_value(raw)
    return to_value(raw)


def is_reference(raw: Any) -> bool:
    """True when the model's answer points at the last result instead of stating it."""
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in _EMPTY_REFERENCES)


def frame_value(frame: pd.DataFrame) -> tuple[bool, Any]:
    """(True, value) when a result frame is an answer by itself: one cell, or one column."""
    if frame is None or frame.shape[1] != 1 or len(frame) == 0 or len(frame) > 50:
        return False, None
    values = [to_value(v) for v in frame.iloc[:, 0].tolist()]
    return True, values[0] if len(values) == 1 else values


def format_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1e6 else f"{value:g}"
    return "" if value is None else str(value)


def numbers_in(text: str) -> list[float]:
    out = []
    for m in re.finditer(r"-?\d[\d,]*(?:\.\d+)?", text):
        try:
            out.append(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


def mentions(text: str, value: Any) -> bool:
    """Does ``text`` state ``value`` (numbers compared as numbers, text case-insensitively)?"""
    if isinstance(value, list):
        return bool(value) and all(mentions(text, v) for v in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return any(math.isclose(n, float(value), rel_tol=1e-6, abs_tol=1e-9) or
                   (isinstance(value, float) and abs(n - value) < 0.005 * max(1.0, abs(value)))
                   for n in numbers_in(text))
    return str(value).strip().lower() in text.lower()

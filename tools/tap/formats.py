"""Render table rows as markdown, CSV, HTML or JSON lines, one line per row.

Every format is a header (zero or more lines), one line per row and a footer, so the packer
can count each row's tokens once and pick how many rows fit.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

FORMATS = ("markdown", "csv", "html", "json")


def format_value(value: Any, max_chars: int = 60) -> str:
    """A short, readable text form of one cell value ('' for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return ""
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        if 1e-4 <= abs(number) < 1e15:  # plain decimals, at most 6 places: 1234567.891, 0.3
            return f"{number:.6f}".rstrip("0").rstrip(".")
        return f"{number:.3g}"
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        if ts.hour == ts.minute == ts.second == ts.microsecond == 0 and ts.nanosecond == 0:
            return ts.strftime("%Y-%m-%d")
        return ts.isoformat(sep=" ")
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    text = " ".join(str(value).split())
    if len(text) > max_chars:
        text = text[: max(1, max_chars - 1)] + "…"
    return text


def json_value(value: Any, max_chars: int = 60) -> Any:
    """A JSON-safe value: numbers stay numbers, everything else becomes short text."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if math.isnan(value) or math.isinf(value):
            return None
        number = float(value)
        return int(number) if number.is_integer() and abs(number) < 1e15 else round(number, 6)
    text = format_value(value, max_chars)
    return text if text != "" else None


def format_column(series: pd.Series, max_chars: int = 60) -> list[str]:
    """``format_value`` over a column, with a fast path per dtype (for short slices)."""
    if len(series) == 0:
        return []
    if pd.api.types.is_datetime64_any_dtype(series) and getattr(series.dt, "tz", None) is None:
        values = series.to_numpy(dtype="datetime64[ns]")
        days = values.astype("datetime64[D]")
        present = ~np.isnat(values)
        if bool((days[present] == values[present]).all()):
            iso = np.datetime_as_string(days, unit="D").tolist()
            return [t if ok else "" for t, ok in zip(iso, present.tolist(), strict=True)]
    elif pd.api.types.is_integer_dtype(series) and not pd.api.types.is_bool_dtype(series) \
            and not series.hasnans:
        return [str(v) for v in series.tolist()]
    elif pd.api.types.is_string_dtype(series):
        out: list[str] = []
        for v in series.tolist():
            if not isinstance(v, str):
                out.append(format_value(v, max_chars))
                continue
            text = " ".join(v.split())
            out.append(text if len(text) <= max_chars else text[: max(1, max_chars - 1)] + "…")
        return out
    return [format_value(v, max_chars) for v in series.tolist()]


def format_rows(frame: pd.DataFrame, max_chars: int = 60) -> list[list[str]]:
    """Every cell of ``frame`` as short text, row by row."""
    columns = [format_column(frame.iloc[:, j], max_chars) for j in range(frame.shape[1])]
    return [list(row) for row in zip(*columns, strict=True)] if columns else [[] for _ in range(len(frame))]


@dataclass
class Rendered:
    header: str  # lines before the rows (ends with a newline, or empty)
    rows: list[str]  # one line per row, no trailing newline
    footer: str  # lines after the rows (starts with a newline, or empty)

    def text(self, keep: Sequence[int] | None = None) -> str:
        rows = self.rows if keep is None else [self.rows[i] for i in keep]
        return self.header + "\n".join(rows) + self.footer


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(fmt: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
           max_chars: int = 60, *, preformatted: bool = False) -> Rendered:
    """Render ``rows`` (raw values in ``columns`` order; or text from ``format_rows`` when
    ``preformatted``, which JSON does not take) in ``fmt``."""
    def cell(value: Any) -> str:
        return value if preformatted and isinstance(value, str) else format_value(value, max_chars)

    if fmt == "markdown":
        header = "| " + " | ".join(_md_cell(str(c)) for c in columns) + " |\n"
        header += "|" + "---|" * len(columns) + "\n"
        lines = ["| " + " | ".join(_md_cell(cell(v)) for v in r) + " |" for r in rows]
        return Rendered(header, lines, "")
    if fmt == "csv":
        def line(values: Sequence[str]) -> str:
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(values)
            return buf.getvalue()
        lines = [line([cell(v) for v in r]) for r in rows]
        return Rendered(line([str(c) for c in columns]) + "\n", lines, "")
    if fmt == "html":
        head = "<table>\n<tr>" + "".join(f"<th>{html.escape(str(c))}</th>" for c in columns) + "</tr>\n"
        lines = ["<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in r)
                 + "</tr>" for r in rows]
        return Rendered(head, lines, "\n</table>")
    if fmt == "json":
        keys = [str(c) for c in columns]
        lines = [json.dumps(dict(zip(keys, (json_value(v, max_chars) for v in r), strict=True)),
                            ensure_ascii=False) for r in rows]
        return Rendered("", lines, "")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def frame_preview(frame: pd.DataFrame, *, max_chars: int = 4000, max_rows: int = 50,
                  fmt: str = "markdown", cell_chars: int = 60) -> tuple[str, int]:
    """The first rows of ``frame`` rendered within ``max_chars``; returns (text, rows shown)."""
    head = frame.head(max_rows)
    rendered = render(fmt, [str(c) for c in frame.columns], head.itertuples(index=False, name=None),
                      cell_chars) if len(head) else render(fmt, [str(c) for c in frame.columns], [], cell_chars)
    used = len(rendered.header) + len(rendered.footer)
    shown = 0
    for line in rendered.rows:
        if used + len(line) + 1 > max_chars:
            break
        used += len(line) + 1
        shown += 1
    if used > max_chars and cell_chars > 12:  # a very wide header: shorten cells and names
        narrow = frame.rename(columns=lambda c: format_value(c, 20))
        return frame_preview(narrow, max_chars=max_chars, max_rows=max_rows, fmt=fmt, cell_chars=12)
    text = rendered.text(range(shown))
    return text[:max_chars], shown

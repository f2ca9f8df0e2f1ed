"""TAP4LLM augmenting: what the model should know about a table besides its rows.

Column types, ranges, null counts and the distinct values of categorical columns; the table's
size and provenance (sheet, cell range); the question terms found in real cell values. Column
statistics are computed with vectorized pandas and cached for the frame's lifetime.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from table_io.model import Table
from table_io.quoting import sheet_label
from tools.tap.formats import format_value
from tools.tap.sampling import Match, TextColumn, is_text, text_index

CATEGORICAL_MAX_DISTINCT = 12


@dataclass
class ColumnSummary:
    name: str
    kind: str  # number, text, date, bool, empty
    nulls: int
    distinct: int | None = None
    low: str | None = None
    high: str | None = None
    categories: list[str] | None = None  # all distinct values, when few

    def describe(self, detail: int) -> str:
        """One line: detail 2 = everything, 1 = type and range, 0 = type only."""
        name = self.name
        if detail <= 0:
            return f"{name} ({self.kind})"
        parts = [self.kind]
        if self.categories is not None and detail >= 2:
            parts.append("values: " + ", ".join(self.categories))
        elif self.low is not None and self.high is not None:
            parts.append(f"{self.low} to {self.high}" if self.low != self.high else f"all {self.low}")
        if self.distinct is not None and self.categories is None and self.kind == "text" and detail >= 2:
            parts.append(f"{self.distinct:,} distinct")
        if self.nulls and self.kind != "empty":
            parts.append(f"{self.nulls:,} empty")
        return f"{name} ({'; '.join(parts)})"


_STATS: dict[int, list[ColumnSummary]] = {}


def summarize(frame: pd.DataFrame) -> list[ColumnSummary]:
    """Per-column summaries (cached while the frame lives)."""
    key = id(frame)
    if key in _STATS:
        return _STATS[key]
    index = text_index(frame)
    out = [_summarize_column(str(col), frame[col], index.get(str(col))) for col in frame.columns]
    try:
        weakref.finalize(frame, _STATS.pop, key, None)
    except TypeError:
        return out
    _STATS[key] = out
    return out


def _summarize_column(name: str, series: pd.Series, text: TextColumn | None) -> ColumnSummary:
    nulls = int(series.isna().sum())
    if nulls == len(series):
        return ColumnSummary(name, "empty", nulls)
    if pd.api.types.is_bool_dtype(series):
        return ColumnSummary(name, "bool", nulls, 2, categories=["true", "false"])
    if pd.api.types.is_numeric_dtype(series):
        values = series.to_numpy(dtype=float, na_value=np.nan)
        low, high = np.nanmin(values), np.nanmax(values)
        return ColumnSummary(name, "number", nulls, None, format_value(low), format_value(high))
    if pd.api.types.is_datetime64_any_dtype(series):
        return ColumnSummary(name, "date", nulls, None, format_value(series.min()),
                             format_value(series.max()))
    if text is not None and is_text(series):
        originals = text.originals
        distinct = len(originals)
        summary = ColumnSummary(name, "text", nulls, distinct)
        if distinct <= CATEGORICAL_MAX_DISTINCT and distinct < max(2, len(series) // 2):
            summary.categories = [format_value(v, 30) for v in originals]
        else:
            lengths = pd.Series(originals.astype(str)).str.len()
            summary.low = f"{int(lengths.min())} chars" if len(lengths) else None
            summary.high = f"{int(lengths.max())} chars" if len(lengths) else None
            if summary.low == summary.high:
                summary.low = summary.high = None
        return summary
    return ColumnSummary(name, "mixed", nulls)


def provenance_line(table: Table, shown_columns: int) -> str:
    sheet = sheet_label(table.sheet)  # prose: the model reads it; nothing parses it
    cols = len(table.columns)
    col_note = f"{cols} columns" if shown_columns >= cols else f"{cols} columns ({shown_columns} shown)"
    title = f' titled "{table.title}"' if table.title else ""
    return f"Table {table.name}{title}: sheet {sheet}, cells {table.range}, {table.n_rows:,} rows x {col_note}"


def matches_line(table: Table, matches: Sequence[Match], limit: int = 8) -> str | None:
    """'Question terms found in cells: "oslo" = City "Oslo" (rows 2, 17), ...'."""
    if not matches:
        return None
    best: dict[tuple[str, str], Match] = {}
    rank = {"exact": 0, "number": 1, "word": 2, "fuzzy": 3}
    for m in sorted(matches, key=lambda m: (rank[m.kind], len(m.rows))):
        best.setdefault((m.term.lower(), m.column), m)
    parts = []
    for m in list(best.values())[:limit]:
        rows = [_sheet_row(table, int(r)) for r in m.rows[:3]]
        where = ", ".join(str(r) for r in rows)
        more = f" +{len(m.rows) - 3:,} more" if len(m.rows) > 3 else ""
        how = "" if m.kind in ("exact", "number") else f" ({m.kind})"
        parts.append(f'"{m.term}" = {m.column} "{format_value(m.value, 40)}"{how} in row {where}{more}')
    extra = f"; {len(best) - limit} more" if len(best) > limit else ""
    return "Question terms found in cells: " + "; ".join(parts) + extra


def _sheet_row(table: Table, position: int) -> int:
    if table.row_numbers and position < len(table.row_numbers):
        return int(table.row_numbers[position])
    return position + 1 + len(table.header_rows)


def sheet_rows(table: Table, positions: Sequence[int]) -> list[int]:
    return [_sheet_row(table, p) for p in positions]

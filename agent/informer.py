"""Informer: read-only SQL the loop runs itself to tell the planner facts about the sheet.

Before the first step it names the real cell values that words in the question refer to (so the
model writes WHERE country = 'Italy', not an invented spelling); after a query that returned no
rows it checks the string literals the query compared against and names the closest real values.
Distinct values are cached per table, so a batch over one table pays for them once.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from table_io.catalog import quote_ident
from table_io.model import Table, Workbook

QueryFrame = Callable[[str], pd.DataFrame]
MAX_DISTINCT = 5000
_WORDS = re.compile(r"[\w'&.-]+", re.U)


class LiteralHint(NamedTuple):
    column: str
    literal: str
    closest: list[str]
    examples: list[str]  # some values of the column, when none is close to the literal


_cache: dict[int, tuple[weakref.ref[Table], dict[str, list[str]]]] = {}
_cache_lock = threading.Lock()


def _text_columns(table: Table) -> list[str]:
    cols = []
    for col in table.columns:
        dtype = table.frame[col].dtype if col in table.frame.columns else None
        if dtype is None or pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            cols.append(col)
    return cols


def distinct_values(table: Table, query: QueryFrame | None) -> dict[str, list[str]]:
    """Text column -> its distinct values (cached for the life of the table object)."""
    key = id(table)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0]() is table:
            return hit[1]
    values: dict[str, list[str]] = {}
    for col in _text_columns(table):
        try:
            if query is not None:
                frame = query(f"SELECT DISTINCT {quote_ident(col)} AS v FROM "
                              f"{quote_ident(table.name)} WHERE {quote_ident(col)} IS NOT NULL "
                              f"LIMIT {MAX_DISTINCT + 1}")
                items = frame["v"].astype(str).tolist()
            else:
                items = table.frame[col].dropna().astype(str).unique().tolist()[:MAX_DISTINCT + 1]
        except Exception:  # the informer is best effort; the planner can still explore
            continue
        if len(items) <= MAX_DISTINCT:
            values[col] = [v for v in items if 0 < len(v) <= 80]
    with _cache_lock:
        _cache[key] = (weakref.ref(table), values)
        if len(_cache) > 512:
            for k in [k for k, (ref, _) in _cache.items() if ref() is None]:
                del _cache[k]
    return values


_lowered_cache: dict[int, tuple[list[str], list[str]]] = {}


def _lowered(values: list[str]) -> list[str]:
    hit = _lowered_cache.get(id(values))
    if hit is not None and hit[0] is values:
        return hit[1]
    lowered = [v.lower().strip() for v in values]
    if len(_lowered_cache) > 4096:
        _lowered_cache.clear()
    _lowered_cache[id(values)] = (values, lowered)
    return lowered


def _ngrams(question: str, n_max: int = 4) -> list[str]:
    words = _WORDS.findall(question)
    grams = []
    for n in range(1, n_max + 1):
        for i in range(len(words) - n + 1):
            gram = " ".join(words[i:i + n]).strip(".'")
            if len(gram) >= 3:
                grams.append(gram)
    return grams


class Informer:
    def __init__(self, workbook: Workbook, query: QueryFrame | None = None,
                 max_matches: int = 8) -> None:
        self.workbook = workbook
        self.query = query
        self.max_matches = max_matches

    def matches(self, question: str) -> list[tuple[str, str, str]]:
        """(table, column, value) for cell values the question mentions, best first."""
        grams = _ngrams(question)
        if not grams:
            return []
        lowered_grams = [g.lower() for g in grams]
        gram_set = set(lowered_grams)
        scored: list[tuple[float, str, str, str]] = []
        for table in self.workbook.tables:
            for col, values in distinct_values(table, self.query).items():
                if not values:
                    continue
                lowered = _lowered(values)
                for idx, v in enumerate(lowered):  # exact mentions of a whole value
                    if v in gram_set:
                        scored.append((200.0 + len(v), table.name, col, values[idx]))
                scores = process.cdist(lowered_grams, lowered, scorer=fuzz.ratio,
                                       score_cutoff=85, workers=1)
                rows, cols = np.nonzero(scores)
                for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
                    scored.append((float(scores[r, c]), table.name, col, values[c]))
        scored.sort(key=lambda s: -s[0])
        seen: set[tuple[str, str, str]] = set()
        out: list[tuple[str, str, str]] = []
        for _, t, col_name, v in scored:
            if (t, col_name, v) not in seen:
                seen.add((t, col_name, v))
                out.append((t, col_name, v))
            if len(out) >= self.max_matches:
                break
        return out

    def notes(self, question: str) -> str:
        found = self.matches(question)
        if not found:
            return ""
        multi = len(self.workbook.tables) > 1
        lines = [f"- {t + '.' if multi else ''}{c}: {v!r}" for t, c, v in found]
        return "\n".join(lines)

    def literal_hints(self, sql: str) -> list[LiteralHint]:
        """For ``col = 'text'`` comparisons whose text is not a value of ``col``: the closest
        values, or (when none is close) a few of the column's values to show what it holds."""
        try:
            import sqlglot
            from sqlglot import exp

            tree = sqlglot.parse_one(sql, read="duckdb")
        except Exception:
            return []
        columns: dict[str, list[str]] = {}
        for table in self.workbook.tables:
            for col, values in distinct_values(table, self.query).items():
                columns.setdefault(col.lower(), []).extend(values)
        hints = []
        for node in tree.find_all(exp.EQ, exp.Like, exp.ILike):
            left, right = node.this, node.expression
            if isinstance(right, exp.Column) and isinstance(left, exp.Literal):
                left, right = right, left
            if not (isinstance(left, exp.Column) and isinstance(right, exp.Literal)
                    and right.is_string):
                continue
            values = columns.get(left.name.lower()) or []
            literal = right.this
            if not values or literal in values:
                continue
            if isinstance(node, exp.Like | exp.ILike):
                literal = literal.strip("%")
                needle = literal.lower()
                if "%" in literal or "_" in literal or not literal or any(
                        needle in v for v in _lowered(values)):
                    continue  # a pattern that matches (or one too complex to check)
            close = [m[0] for m in process.extract(literal, values, scorer=fuzz.WRatio, limit=3,
                                                   score_cutoff=60)]
            hints.append(LiteralHint(left.name, literal, close, [] if close else values[:4]))
        return hints

    def columns_holding(self, literal: str, exclude: str = "") -> list[tuple[str, str]]:
        """(column, value) for other text columns that hold ``literal`` (or a close or longer
        spelling of it): the model compared against the wrong column."""
        needle = literal.lower().strip()
        if len(needle) < 3:
            return []
        found: list[tuple[str, str]] = []
        for table in self.workbook.tables:
            for col, values in distinct_values(table, self.query).items():
                if col.lower() == exclude.lower():
                    continue
                lowered = _lowered(values)
                hit = next((values[i] for i, v in enumerate(lowered) if v == needle), None)
                if hit is None:
                    hit = next((values[i] for i, v in enumerate(lowered)
                                if len(needle) >= 4 and needle in v), None)
                if hit is None:
                    best = process.extractOne(needle, lowered, scorer=fuzz.ratio,
                                              score_cutoff=90)
                    hit = values[best[2]] if best else None
                if hit is not None:
                    found.append((col, hit))
        return found[:3]


def informer_for(workbook: Workbook, sql_tool: Any | None) -> Informer:
    query = getattr(sql_tool, "query_frame", None) if sql_tool is not None else None
    return Informer(workbook, query)

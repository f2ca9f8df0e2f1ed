"""What the planner sees of the workbook: TAP4LLM's packed view within a token budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from table_io.model import Workbook


@dataclass
class View:
    text: str
    tokens: int
    tables: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)


_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {"all", "and", "as", "asc", "by", "case", "cast", "check", "column", "default",
             "desc", "end", "from", "group", "having", "in", "is", "join", "limit", "not", "on",
             "or", "order", "select", "table", "to", "union", "user", "when", "where", "with"}


def sql_name(name: str) -> str:
    """A table or column name as SQL needs it: bare when plain, else in double quotes."""
    if _PLAIN.match(name) and name.lower() not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def schema_line(schema: dict[str, list[str]]) -> str:
    """'t(a, "Total Sales")': every table with its columns, quoted exactly as SQL needs them."""
    return "; ".join(f"{sql_name(t)}({', '.join(sql_name(c) for c in cols)})"
                     for t, cols in schema.items())


def estimate_tokens(text: str) -> int:
    try:
        from tools.tokens import estimate_tokens as estimate
    except ImportError:  # pragma: no cover - tools/tokens is part of the package
        return max(1, len(text) // 4)
    return int(estimate(text))


def packed_view(workbook: Workbook, question: str, *, budget_tokens: int = 1500,
                count_tokens: Callable[[str], int] | None = None) -> View:
    """TAP's packed view of the tables that matter for ``question``; never whole long tables."""
    try:
        from tools.tap import pack_workbook
    except ImportError:
        return _simple_view(workbook, budget_tokens)
    packed = pack_workbook(workbook, question, budget_tokens=budget_tokens,
                           count_tokens=count_tokens)
    return View(text=packed.text, tokens=packed.tokens, tables=list(packed.tables),
                cells=list(getattr(packed, "cells", []) or []),
                omitted=list(getattr(packed, "omitted", []) or []))


def _simple_view(workbook: Workbook, budget_tokens: int) -> View:
    """Schema and the first rows of each table (used only when tools.tap is unavailable)."""
    parts: list[str] = []
    for table in workbook.tables:
        cols = ", ".join(f"{c} ({table.frame[c].dtype})" for c in table.columns)
        head = table.frame.head(5).to_csv(index=False)
        parts.append(f"Table {table.name} ({table.n_rows} rows; sheet {table.sheet}!{table.range})\n"
                     f"columns: {cols}\nfirst rows:\n{head}")
    text = "\n".join(parts)
    limit = budget_tokens * 4
    omitted = ["rows beyond the budget"] if len(text) > limit else []
    text = text[:limit]
    return View(text=text, tokens=estimate_tokens(text),
                tables=[t.name for t in workbook.tables], omitted=omitted)

"""What the planner sees of the workbook: TAP4LLM's packed view within a token budget."""

from __future__ import annotations

import re
from collections.abc import Callable

from table_io.model import Workbook
from tools.tap import PackedView, pack_workbook

View = PackedView  # what the planner sees of the workbook: TAP's packed view


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


def packed_view(workbook: Workbook, question: str, *, budget_tokens: int = 1500,
                count_tokens: Callable[[str], int] | None = None) -> View:
    """TAP's packed view of the tables that matter for ``question``; never whole long tables."""
    return pack_workbook(workbook, question, budget_tokens=budget_tokens,
                         count_tokens=count_tokens)

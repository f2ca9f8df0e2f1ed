"""DuckDB's error, made into a failure the model can act on: a short message, where in the SQL
it happened, and a hint (the nearest real column, the DuckDB spelling of a borrowed function,
how to take the number out of a text cell)."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd
from sqlglot import exp

from table_io.model import Table
from table_io.quoting import quote_ident
from tools.base import ToolFailure
from tools.sql.guard import Catalog, GuardedQuery, describe_columns, nearest_columns
from tools.sql.parsing import ERROR_MARK

# DuckDB's wording for a missing column (0-2) and for a missing table qualifier (3).
COLUMN_ERRORS = (
    re.compile(r'Referenced column "(?P<name>[^"]+)" not found'),
    re.compile(r'does not have a column named "(?P<name>[^"]+)"'),
    re.compile(r'column "(?P<name>[^"]+)" (?:does not exist|not found)', re.I),
    re.compile(r'Referenced table "(?P<table>[^"]+)" not found'),
)

# Functions small models borrow from other databases, and what to write in DuckDB.
FUNCTION_HINTS = {
    "julianday": "julian(d) gives the Julian day; date_diff('day', a, b) counts days",
    "datediff": "date_diff('day', start, end) (the unit comes first)",
    "nvl": "coalesce(a, b)",
    "isnull": "coalesce(a, b) or a IS NULL",
    "to_char": "strftime(d, '%Y-%m-%d')",
    "date_format": "strftime(d, '%Y-%m-%d')",
    "str_to_date": "strptime(text, '%d/%m/%Y')",
    "to_date": "strptime(text, '%Y-%m-%d')::DATE",
    "len": "length(text)",
    "charindex": "instr(text, part)",
    "getdate": "current_date",
    "datepart": "date_part('year', d) or year(d)",
}


def explain(text: str, guarded: GuardedQuery, catalog: Catalog,
            tables: Mapping[str, Table]) -> ToolFailure:
    """The failure to show for DuckDB's error ``text`` on ``guarded``."""
    summary = error_summary(text) if text else "DuckDB error"
    location = duckdb_location(text)
    for pattern in COLUMN_ERRORS:
        m = pattern.search(text)
        if not m:
            continue
        if "table" in m.groupdict() and m.group("table"):
            return ToolFailure(summary, kind="query", location=location,
                               hint="use the table name or the alias given in FROM")
        name = m.group("name").split(".")[-1]
        location = location or locate(guarded.sql, name)
        near = nearest_columns(name, catalog, prefer=guarded.tables)
        column_hint = f"column {name!r} does not exist"
        if near:
            column_hint += (f"; nearest: {describe_columns(near)}; "
                            f"write it as {quote_ident(near[0][1])}")
        return ToolFailure(summary, kind="query", hint=column_hint, location=location)
    hint: str | None = None
    if "GROUP BY" in text:
        hint = "every selected column must be aggregated or listed in GROUP BY"
    elif "Conversion Error" in text or "Could not convert" in text:
        hint = "cast explicitly, e.g. TRY_CAST(x AS DOUBLE), and check the column's values"
    elif re.search(r"'(sum|avg)\(VARCHAR\)'", text, re.I):
        hint = text_number_hint(guarded, tables) or function_hint(text)
    elif "Function" in text and ("does not exist" in text or "No function matches" in text):
        hint = function_hint(text)
    return ToolFailure(summary, kind="query", hint=hint, location=location)


def text_number_hint(guarded: GuardedQuery, tables: Mapping[str, Table]) -> str | None:
    """SUM/AVG over a text column (cells like '145 °F'): show a cell and how to take its number."""
    if guarded.tree is None:
        return None
    for agg in guarded.tree.find_all(exp.Sum, exp.Avg):
        for column in agg.find_all(exp.Column):
            for name in guarded.tables:
                table = tables.get(name)
                if table is None or column.name not in table.frame.columns:
                    continue
                values = table.frame[column.name].dropna()
                if values.empty or pd.api.types.is_numeric_dtype(values):
                    continue
                q = quote_ident(column.name)
                return (f"{q} is text (e.g. {str(values.iloc[0])!r}); take the number in "
                        f"it: TRY_CAST(regexp_extract(replace({q}, ',', ''), "
                        f"'-?[0-9]+(\\.[0-9]+)?') AS DOUBLE)")
    return None


def function_hint(text: str) -> str:
    m = re.search(r"with name (\w+) does not exist|given name and argument types '(\w+)\(", text)
    name = next((g for g in m.groups() if g), "").lower() if m else ""
    if name in FUNCTION_HINTS:
        return f"{name}() is not a DuckDB function; in DuckDB: {FUNCTION_HINTS[name]}"
    return "use DuckDB functions (e.g. strftime(date, '%Y'), year(date), date_diff('day', a, b))"


def first_line(text: str) -> str:
    return text.splitlines()[0] if text else "DuckDB error"


def error_summary(text: str) -> str:
    """DuckDB's first line, plus its 'Did you mean' and the first candidate signatures."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = lines[:1]
    out += [ln for ln in lines[1:] if ln.startswith("Did you mean")][:1]
    candidates = [ln for ln in lines[1:] if "(" in ln and "->" in ln][:3]
    if candidates:
        out.append("candidates: " + "; ".join(candidates))
    return " ".join(out)


def locate(sql: str, name: str) -> str | None:
    """Where ``name`` first appears in the SQL that ran: line, column and an excerpt."""
    m = re.search(rf'(?<![\w"]){re.escape(name)}(?![\w"])|"{re.escape(name)}"', sql, re.I)
    if m is None:
        return None
    line = sql.count("\n", 0, m.start()) + 1
    col = m.start() - (sql.rfind("\n", 0, m.start()) + 1) + 1
    excerpt = sql[max(0, m.start() - 40):m.start()] + ERROR_MARK + sql[m.start():m.end() + 30]
    return f"line {line}, column {col} of the SQL run: {' '.join(excerpt.split())}"


def duckdb_location(text: str) -> str | None:
    """DuckDB's 'LINE 1: ... ^' excerpt, compacted to one line."""
    m = re.search(r"LINE (\d+):(.*)\n(\s*)\^", text)
    if not m:
        return None
    line_text = m.group(2)
    caret = len(m.group(3)) - len(f"LINE {m.group(1)}:")
    caret = max(0, min(caret, len(line_text)))
    excerpt = line_text[max(0, caret - 40):caret] + ERROR_MARK + line_text[caret:caret + 30]
    return f"line {m.group(1)} of the SQL run: {excerpt.strip()}"

"""Rewrites that turn a query a small model got slightly wrong into the one it meant.

Each repair is one ``Repair``: an id, a one-line purpose, and ``fix(query, ctx)`` that returns
``(fixed_query, note for the model)`` or None when it does not apply. The sql tool runs
``REPAIRS`` in order on the query text before the guard checks it, and, when DuckDB rejects the
guarded query, tries ``AFTER_ERROR`` (whose context holds DuckDB's error) until a rewrite runs.
Every rewrite still goes through the guard's checks: a repair never widens what may run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlglot import exp

from table_io.quoting import quote_ident
from tools.base import ToolFailure
from tools.sql.guard import IDENT, Catalog, GuardedQuery, check_tree, render, squash
from tools.sql.hints import COLUMN_ERRORS, first_line
from tools.sql.parsing import ERROR_MARK, parse_one


@dataclass(frozen=True)
class RepairContext:
    """What repairs read: the locked catalog (schema and sheet aliases), the dialect the text is
    parsed in, and, after DuckDB rejected a query, its error, the rejected guarded query and
    the rewrites already tried."""

    catalog: Catalog
    dialect: str = "duckdb"
    error: str = ""
    failed: GuardedQuery | None = None
    tried: frozenset[str] = field(default_factory=frozenset)

    @property
    def schema(self) -> Mapping[str, list[str]]:
        """table -> its column names."""
        return self.catalog.tables

    @classmethod
    def for_schema(cls, schema: Mapping[str, Sequence[str]],
                   aliases: Mapping[str, str] | None = None) -> RepairContext:
        """A context over ``schema`` (table -> columns) and lower-case sheet ``aliases``."""
        return cls(Catalog({t: list(cols) for t, cols in schema.items()}, aliases=dict(aliases or {})))


Fix = Callable[[str, RepairContext], tuple[str, str] | None]


@dataclass(frozen=True)
class Repair:
    """One rewrite: ``id`` (kebab-case, recorded when it fires), ``purpose`` (one line), and
    ``fix(query, ctx)`` -> ``(fixed_query, note for the model)``, or None when it does not apply."""

    id: str
    purpose: str
    fix: Fix


def apply(query: str, ctx: RepairContext,
          repairs: Iterable[Repair] | None = None) -> tuple[str, list[tuple[str, str]]]:
    """Run ``repairs`` (default ``REPAIRS``) in order; the fixed query and (id, note) fired."""
    fired: list[tuple[str, str]] = []
    for repair in REPAIRS if repairs is None else repairs:
        out = repair.fix(query, ctx)
        if out is not None:
            query, note = out
            fired.append((repair.id, note))
    return query, fired


# --------------------------------------------------------------------------- before the guard


def remove_error_marker(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    if ERROR_MARK.strip() not in query:  # small models copy the error excerpt's marker
        return None
    return (re.sub(r"\s*<<here>>\s*", " ", query).strip(),
            "removed the <<here>> marker copied from an error message")


_SQL_WORDS = {
    "select", "from", "where", "group", "by", "order", "having", "limit", "and", "or", "not",
    "null", "is", "in", "as", "on", "join", "left", "right", "inner", "outer", "union", "all",
    "distinct", "case", "when", "then", "else", "end", "asc", "desc", "like", "between",
}
# Quoted strings, quoted identifiers and comments: left alone by the text repairs.
_PROTECTED = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?\*/", re.S)


def _code_segments(text: str) -> Iterator[tuple[bool, str]]:
    """Split into (is_code, piece): quoted strings, identifiers and comments are not code."""
    pos = 0
    for m in _PROTECTED.finditer(text):
        if m.start() > pos:
            yield True, text[pos:m.start()]
        yield False, m.group(0)
        pos = m.end()
    if pos < len(text):
        yield True, text[pos:]


def quote_bare_columns(text: str, columns: Sequence[str]) -> tuple[str, list[str]]:
    """Wrap unquoted occurrences of non-identifier column names ("Revenue Q1") in quotes."""
    # names with a letter or digit only: a column called "%" must not eat the modulo operator
    special = sorted({c for c in columns if not IDENT.match(c) and re.search(r"[^\W_]", c)},
                     key=len, reverse=True)
    special = [c for c in special if not all(w.lower() in _SQL_WORDS for w in c.split())]
    if not special:
        return text, []
    patterns = []
    for col in special:
        body = r"\s+".join(re.escape(part) for part in col.split())
        patterns.append((col, re.compile(rf"(?<![\w\"'`]){body}(?![\w\"'`])", re.I)))
    notes: list[str] = []
    out: list[str] = []
    for is_code, piece in _code_segments(text):
        if is_code:
            for col, pattern in patterns:
                if pattern.search(piece):
                    piece = pattern.sub(quote_ident(col).replace("\\", "\\\\"), piece)
                    notes.append(f"read the bare column name {col} as {quote_ident(col)}")
        out.append(piece)
    return "".join(out), notes


def _quote_bare(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    text, notes = quote_bare_columns(query, [c for _, c in ctx.catalog.all_columns()])
    return (text, "; ".join(notes)) if notes else None


def _looks_like_a_file(name: str) -> bool:
    return any(ch in name for ch in "./\\")


def invented_table(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    """Over a one-table catalog, a table name that resolves to nothing (not a table, sheet alias
    or CTE) is read as that table: small models copy table names from examples."""
    if len(ctx.schema) != 1:
        return None
    (table, columns), = ctx.schema.items()
    text, _ = quote_bare_columns(query, columns)  # or "Year built" < 1970 will not parse
    try:
        tree = parse_one(text, ctx.dialect)
    except ToolFailure:
        return None
    ctes = {str(c.alias_or_name).lower() for c in tree.find_all(exp.CTE)}
    wrong = [t for t in tree.find_all(exp.Table)
             if isinstance(t.this, exp.Identifier) and t.name and not t.db and not t.catalog
             and t.name.lower() not in ctes and not ctx.catalog.resolves(t.name)
             and not _looks_like_a_file(t.name)]  # a file name stays a refusal
    if not wrong:
        return None
    names = sorted({t.name for t in wrong})
    for node in wrong:
        node.set("this", exp.to_identifier(table))
    fixed = tree.sql(dialect="duckdb")
    return fixed, (f"there is no table {', '.join(repr(n) for n in names)}; "
                   f"the query ran on table {table!r}: {fixed}")


REPAIRS: tuple[Repair, ...] = (
    Repair("error-marker", "drop the <<here>> marker copied from an error message",
           remove_error_marker),
    Repair("quote-bare-columns", 'quote column names written bare: Revenue Q1 -> "Revenue Q1"',
           _quote_bare),
    Repair("invented-table", "read an unknown table name as the only table of the workbook",
           invented_table),
)


# --------------------------------------------------------------------------- after DuckDB's error


def unknown_column(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    """``revenue_q1`` for the only column of the tables read spelled that way ("Revenue Q1")."""
    failed = ctx.failed
    m = COLUMN_ERRORS[0].search(ctx.error) or COLUMN_ERRORS[1].search(ctx.error)
    if m is None or failed is None or failed.tree is None:
        return None
    wrong = m.group("name").split(".")[-1]
    key = squash(wrong)
    matches = {c for t in failed.tables for c in ctx.schema.get(t, []) if squash(c) == key}
    if len(matches) != 1:
        return None
    real = matches.pop()
    tree = failed.tree.copy()
    columns = [c for c in tree.find_all(exp.Column) if str(c.name) == wrong]
    for column in columns:
        column.set("this", exp.to_identifier(real, quoted=True))
    return _checked(tree, ctx, f"read column {wrong} as {quote_ident(real)}") if columns else None


def wrong_qualifier(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    """``T1.x`` in a query over one table that never defines ``T1``: qualify with that table."""
    failed = ctx.failed
    m = COLUMN_ERRORS[3].search(ctx.error)
    if m is None or failed is None or failed.tree is None:
        return None
    wrong = m.group("table")
    tree = failed.tree.copy()
    sources = list(tree.find_all(exp.Table))
    if len(sources) != 1 or not sources[0].name:
        return None
    real = sources[0].alias_or_name
    columns = [c for c in tree.find_all(exp.Column) if c.table == wrong]
    for column in columns:
        column.set("table", exp.to_identifier(real))
    note = f"read {wrong}.<column> as {real}.<column>: the query never defines {wrong}"
    return _checked(tree, ctx, note) if columns else None


def _checked(tree: exp.Expression, ctx: RepairContext, note: str) -> tuple[str, str] | None:
    try:
        check_tree(tree, ctx.catalog)
    except ToolFailure:  # the rewrite would be refused: keep DuckDB's own error instead
        return None
    return render(tree), note


_TEXT_MATCH_ON_TIME = re.compile(
    r"No function matches the given name and argument types '!?~~\*?\((DATE|TIMESTAMP|TIME)")


def date_as_text(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    """``Date LIKE '2024-03%'`` where Date is a date: match the date's text, which DuckDB
    writes as 2024-03-05 (a timestamp as 2024-03-05 00:00:00)."""
    failed = ctx.failed
    if failed is None or failed.tree is None or not _TEXT_MATCH_ON_TIME.search(ctx.error):
        return None
    tree = failed.tree.copy()
    cast: list[str] = []
    for node in tree.find_all(exp.Like, exp.ILike):
        if isinstance(node.this, exp.Column):  # a text column cast to text is unchanged
            cast.append(node.this.sql(dialect="duckdb"))
            node.set("this", exp.cast(node.this.copy(), "VARCHAR"))
    if not cast:
        return None
    note = (f"LIKE needs text: matched {', '.join(dict.fromkeys(cast))} as text (a date reads "
            "2024-03-05); for dates, year(col) = 2024 or col >= DATE '2024-03-01' is clearer")
    return _checked(tree, ctx, note)


_DIALECT_NAMES = {"mysql": "MySQL", "postgres": "PostgreSQL", "sqlite": "SQLite", "tsql": "T-SQL"}


def dialect_reading(query: str, ctx: RepairContext) -> tuple[str, str] | None:
    """The next other-dialect reading of the text not yet tried (MySQL's "Oslo" is a string)."""
    if ctx.failed is None:
        return None
    for dialect, other in ctx.failed.alternatives():
        if other not in ctx.tried:
            return other, (f"DuckDB rejected the query as written ({first_line(ctx.error)}); "
                           f"ran it read as {_DIALECT_NAMES.get(dialect, dialect)}: {other}")
    return None


AFTER_ERROR: tuple[Repair, ...] = (
    Repair("wrong-qualifier", "qualify columns with the one table read when T1.x names no table",
           wrong_qualifier),
    Repair("unknown-column", "read a column spelled differently (revenue_q1) as the real one",
           unknown_column),
    Repair("date-as-text", "match a date column with LIKE as its text: Date LIKE '2024-03%'",
           date_as_text),
    Repair("dialect-reading", "run another SQL dialect's reading of the text DuckDB rejected",
           dialect_reading),
)

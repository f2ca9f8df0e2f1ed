"""The SQL guard: parse a query with sqlglot and let through only one read-only SELECT.

Fail closed. A query passes only when sqlglot parses it cleanly (no warnings, no generic
``Command``) into exactly one statement whose root is a SELECT (or WITH ... SELECT, UNION, ...),
when no node anywhere in it writes, defines, loads, attaches, copies or sets anything, when
every table it reads is a catalog table, a sheet name standing for one (the catalog's aliases)
or a CTE, and when it calls no table function and no file- or settings-reading function. Calls
that can build huge values (repeat, range, lpad, printf, replace, ...) are bounded or refused
(tools/sql/bounds.py). What runs is sqlglot's DuckDB rendering of the checked tree (comments
dropped), never the model's text.

DuckDB spelling is tried first; MySQL, PostgreSQL, SQLite and T-SQL spellings (backticks,
``[a b]``, ``TOP n``, SQLite ``strftime(fmt, d)``...) are transpiled to DuckDB. Rewrites that
guess what the model meant live in tools/sql/repairs.py, not here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from table_io.quoting import quote_ident
from tools.base import ToolFailure
from tools.sql.bounds import Bounds, bound_sizes
from tools.sql.parsing import DIALECTS, ERROR_MARK, first_reading, parse_one, refuse

__all__ = ["DIALECTS", "ERROR_MARK", "Catalog", "GuardedQuery", "check_tree", "clean", "guard",
           "nearest_columns", "quote_ident", "refuse", "render", "squash", "unknown_table"]

# Statement and clause types that change or reach outside the catalog.
FORBIDDEN_NODES: tuple[type, ...] = (
    exp.DDL, exp.DML, exp.Drop, exp.Alter, exp.Command, exp.Copy, exp.Attach, exp.Detach,
    exp.Install, exp.Pragma, exp.Set, exp.Use, exp.Transaction, exp.Commit, exp.Rollback,
    exp.Describe, exp.Summarize, exp.LoadData, exp.Export, exp.Refresh, exp.Analyze, exp.Into,
)

# Functions refused wherever they appear (files, settings, catalog internals, extensions).
FORBIDDEN_FUNCTION_PREFIXES = (
    "read_", "glob", "query", "sniff_", "parquet_", "duckdb_", "pragma_", "current_setting",
    "getenv", "load", "install", "export", "sqlite_", "postgres_", "mysql_", "iceberg_", "delta_",
    "http", "scan_", "checkpoint", "force_checkpoint", "which_secret", "read", "write",
    "json_execute", "arrow_scan", "pandas_scan", "python_",
)
_HARMLESS = {"query_to_json"}

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class Catalog:
    """What a query may read: table name -> its column names."""

    tables: dict[str, list[str]]
    aliases: dict[str, str] = field(default_factory=dict)  # lower-case sheet name -> its table
    bounds: Bounds = field(default_factory=Bounds)  # value-size limits (tools/sql/bounds.py)

    def find_table(self, name: str) -> str | None:
        lowered = name.lower()
        for table in self.tables:
            if table.lower() == lowered:
                return table
        return None

    def resolves(self, name: str) -> bool:
        """Whether ``name`` reads a catalog table: its name or a sheet alias (any case)."""
        return self.find_table(name) is not None or name.lower() in self.aliases

    def all_columns(self) -> list[tuple[str, str]]:
        return [(t, c) for t, cols in self.tables.items() for c in cols]


@dataclass
class GuardedQuery:
    sql: str  # DuckDB SQL to run, rendered from the checked tree
    tables: list[str]  # catalog tables read
    dialect: str  # the dialect that parsed it
    notes: list[str] = field(default_factory=list)  # rewrites made, shown to the model
    tree: exp.Expression | None = None
    text: str = ""  # the query as parsed
    catalog: Catalog | None = None

    def alternatives(self) -> list[tuple[str, str]]:
        """Other dialects' readings that pass the guard, as (dialect, DuckDB SQL); tried when
        DuckDB rejects the first reading (MySQL's "Oslo" is a string, DuckDB's a column)."""
        if self.catalog is None:
            return []
        columns = {c.casefold() for _, c in self.catalog.all_columns()}
        out: list[tuple[str, str]] = []
        for dialect in DIALECTS:
            if dialect == self.dialect:
                continue
            try:
                other = parse_one(self.text, dialect)
                check_tree(other, self.catalog)
            except ToolFailure:
                continue
            if any(lit.is_string and lit.this.casefold() in columns
                   for lit in other.find_all(exp.Literal)):
                continue  # it reads a column name as text: that hides the real error
            other_sql = render(other)
            if other_sql != self.sql and other_sql not in {s for _, s in out}:
                out.append((dialect, other_sql))
        return out


def clean(query: str) -> str:
    """The query without code fences and trailing semicolons; refuse an empty one."""
    text = query.strip()
    fence = re.match(r"^```[A-Za-z]*\s*\n?(.*?)\n?```$", text, re.S)
    if fence:
        text = fence.group(1).strip()
    text = text.rstrip().rstrip(";").rstrip()
    if not text:
        raise refuse("the query is empty", hint="write one SELECT statement")
    return text


def guard(query: str, catalog: Catalog) -> GuardedQuery:
    """Check ``query`` and return the DuckDB SQL to run; raise ``ToolFailure`` to refuse."""
    text = clean(query)
    dialect, tree = first_reading(text)
    notes = resolve_sheet_names(tree, catalog)
    tables = check_tree(tree, catalog)  # the first clean reading decides: refusal is final
    return GuardedQuery(sql=render(tree), tables=tables, dialect=dialect, notes=notes, tree=tree,
                        text=text, catalog=catalog)


def render(tree: exp.Expression) -> str:
    return tree.sql(dialect="duckdb", comments=False)


# --------------------------------------------------------------------------- tree checks


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    return node.sql_name().lower()


def check_tree(tree: exp.Expression, catalog: Catalog) -> list[str]:
    """Refuse anything but a read-only query over catalog tables; return the tables read."""
    if not isinstance(tree, exp.Query) or isinstance(tree, exp.Values):
        kind = type(tree).__name__.upper()
        raise refuse(f"refused: only SELECT queries are allowed (got {kind})",
                     hint="read with SELECT ... FROM <table>; the workbook cannot be changed with sql")
    cte_names = {str(cte.alias_or_name).lower() for cte in tree.find_all(exp.CTE)}
    tables: list[str] = []
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            what = type(node).__name__.upper()
            raise refuse(f"refused: {what} is not allowed; the sql tool only reads",
                         hint="use a plain SELECT (also inside WITH ... AS (...))")
        if isinstance(node, exp.CTE) and not isinstance(node.this, exp.Query):
            raise refuse("refused: every WITH part must be a SELECT")
        if isinstance(node, exp.Lambda | exp.Comprehension):
            # a lambda or comprehension multiplies what its body builds by the list's length,
            # inside list code that neither DuckDB's memory limit nor its interrupt reaches
            raise refuse("refused: lambda functions and list comprehensions are not allowed",
                         hint="work on rows instead: UNNEST a list, then WHERE / GROUP BY / "
                              "string_agg over the rows")
        if isinstance(node, exp.Func) and not isinstance(node, exp.Unnest):
            name = _function_name(node)
            if name.startswith(FORBIDDEN_FUNCTION_PREFIXES) and name not in _HARMLESS:
                raise refuse(f"refused: function {name}() is not allowed",
                             hint="only the workbook's tables can be read; no files or settings")
        if isinstance(node, exp.Table):
            tables.extend(_check_table(node, catalog, cte_names))
    _check_scopes(tree, catalog)
    bound_sizes(tree, catalog.bounds)  # refuses or clamps calls that build oversized values
    return list(dict.fromkeys(tables))


def _check_table(node: exp.Table, catalog: Catalog, cte_names: set[str]) -> list[str]:
    inner = node.this
    if not isinstance(inner, exp.Identifier):
        if isinstance(inner, exp.Func):
            fname = _function_name(inner)
            raise refuse(f"refused: table function {fname}() is not allowed",
                         hint=f"read the workbook's tables instead: {_table_list(catalog)}")
        raise refuse("refused: only the workbook's tables can be read",
                     hint=f"tables: {_table_list(catalog)}")
    name = str(inner.this)
    db, cat = node.db, node.catalog
    if (db and db.lower() not in {"main"}) or (cat and cat.lower() not in {"memory"}):
        raise refuse(f"refused: {node.sql(dialect='duckdb')} is outside the workbook",
                     hint=f"tables: {_table_list(catalog)}")
    if not db and not cat and name.lower() in cte_names:
        return []
    real = catalog.find_table(name)
    if real is None:
        raise unknown_table(name, catalog)
    return [real]


def resolve_sheet_names(tree: exp.Expression, catalog: Catalog) -> list[str]:
    """``FROM "Sales 2024"`` (a sheet holding one table) reads that table: rewrite, and say so."""
    if not catalog.aliases:
        return []
    cte_names = {str(cte.alias_or_name).lower() for cte in tree.find_all(exp.CTE)}
    notes = []
    for node in list(tree.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier) or node.db or node.catalog:
            continue
        name = str(node.this.this)
        lowered = name.lower()
        if lowered in cte_names or catalog.find_table(name) or lowered not in catalog.aliases:
            continue
        real = catalog.aliases[lowered]
        node.set("this", exp.to_identifier(real, quoted=not IDENT.match(real)))
        if not node.alias:
            node.set("alias", exp.TableAlias(this=exp.to_identifier(name, quoted=True)))
        notes.append(f"read sheet {name!r} as its table {real}")
    return notes


def _check_scopes(tree: exp.Expression, catalog: Catalog) -> None:
    """Every real (non-CTE) source in every scope must be a catalog table."""
    try:
        scopes = traverse_scope(tree)
    except Exception:  # scope analysis gave up; the per-node checks above still hold
        return
    for scope in scopes:
        for source in scope.sources.values():
            if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier) \
                    and catalog.find_table(source.name) is None:
                raise unknown_table(source.name, catalog)


def _table_list(catalog: Catalog) -> str:
    return ", ".join(quote_ident(t) if not IDENT.match(t) else t for t in catalog.tables) or "none"


def unknown_table(name: str, catalog: Catalog) -> ToolFailure:
    if any(ch in name for ch in "./\\") or name.lower().endswith((".csv", ".parquet", ".json")):
        return refuse(f"refused: {name!r} is not a table of this workbook; files cannot be read",
                      hint=f"tables: {_table_list(catalog)}")
    near = process.extract(name, list(catalog.tables), scorer=fuzz.WRatio, limit=3, score_cutoff=50)
    hint = f"tables: {_table_list(catalog)}"
    if near:
        hint = f"did you mean {', '.join(quote_ident(n) for n, _, _ in near)}? " + hint
    return refuse(f"unknown table {name!r}", hint=hint)


def nearest_columns(name: str, catalog: Catalog, prefer: Sequence[str] = (),
                    limit: int = 3) -> list[tuple[str, str]]:
    """The catalog columns closest to ``name``: (table, column), tables in ``prefer`` first."""
    pairs = catalog.all_columns()
    if not pairs:
        return []
    key = squash(name)
    exact = [(t, c) for t, c in pairs if squash(c) == key]
    choices = [c for _, c in pairs]
    scored = process.extract(name, choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=55)
    ranked = exact + [pairs[i] for _, _, i in scored if pairs[i] not in exact]
    preferred = {p.lower() for p in prefer}
    ranked.sort(key=lambda tc: 0 if tc[0].lower() in preferred else 1)
    return ranked[:limit]


def squash(name: str) -> str:
    """Lower-case letters and digits only: 'Revenue Q1' and revenue_q1 agree."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def describe_columns(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{quote_ident(c)} (table {t})" for t, c in pairs)

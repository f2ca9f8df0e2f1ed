"""Which cells a query's result came from, and which sheet rows each result row came from.

Provenance is given for a plain one-table SELECT only (no joins, subqueries or CTEs): DuckDB's
``rowid`` is the row's position in the table's frame (insertion order is preserved), so the
rows a query used map back to sheet cells.

Per result row (``RowSources``): a plain SELECT gets each row's own rowid in the same pass; a
GROUP BY (or an aggregate over the whole table) gets each group's rowids as an extra list column
of the same query, cut to the first ``SOURCE_GROUP_ROWS``, with the group's full count beside
it. The extra columns are taken off the frame before anyone sees it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import duckdb
import pandas as pd
from sqlglot import exp

from table_io.model import Table, column_letter
from tools.base import ToolFailure
from tools.sql.guard import GuardedQuery, render

PROVENANCE_MAX_ROWS = 20
ROWID = "__tablepilot_rowid"
ROW_LIST = "__tablepilot_rows"
ROW_COUNT = "__tablepilot_row_count"
SOURCE_FRAME_ROWS = 50  # result rows that get their sheet rows (a step previews 20)
SOURCE_GROUP_ROWS = 50  # sheet rows kept per result row (a group's first, in sheet order)


@dataclass(frozen=True)
class RowSources:
    """Where each of a result's first rows is on the sheet."""

    sheet: str
    columns: list[str]
    """A1 letters of the table columns the query names (all of them for ``*``)."""
    rows: list[list[int]]
    """Per result row (the first ``SOURCE_FRAME_ROWS``), its sheet rows in sheet order: one for
    a plain SELECT, a group's first ``SOURCE_GROUP_ROWS`` for GROUP BY."""
    counts: list[int]
    """Per result row, how many sheet rows it came from (more than ``len(rows[i])`` when a
    group's list was cut)."""


def single_source(guarded: GuardedQuery, tables: Mapping[str, Table]) -> tuple[Table, exp.Select] | None:
    """The table and tree of a plain one-table SELECT (no joins, subqueries or CTEs)."""
    tree = guarded.tree
    if tree is None or not isinstance(tree, exp.Select) or len(guarded.tables) != 1:
        return None
    if tree.args.get("with_") or tree.args.get("with"):
        return None
    table = tables.get(guarded.tables[0])
    if table is None or not table.row_numbers or table.duckdb_source is not None:
        return None
    if any(str(c).lower() == "rowid" for c in table.columns):
        return None
    if any(isinstance(n, exp.Subquery | exp.Join | exp.Union | exp.Lateral) for n in tree.walk()):
        return None
    return table, tree


def aggregates(tree: exp.Select) -> bool:
    return bool(tree.args.get("group") or tree.args.get("distinct")) or any(
        isinstance(n, exp.AggFunc) for e in tree.expressions for n in e.walk())


def groups_traced(tree: exp.Select) -> bool:
    """Whether the query can carry each result row's rowids as an extra aggregate column: a
    GROUP BY, or aggregates over the whole table, without DISTINCT or window functions (an added
    aggregate would change what those return) and without ORDER BY ALL (it would sort by it)."""
    if tree.args.get("distinct") or any(isinstance(n, exp.Window) for n in tree.walk()):
        return False
    order = tree.args.get("order")
    if order is not None and any(str(o.this.sql()).lower() == "all"
                                 for o in order.expressions if isinstance(o, exp.Ordered)):
        return False
    return bool(tree.args.get("group")) or any(
        isinstance(n, exp.AggFunc) for e in tree.expressions for n in e.walk())


def with_row_lists(tree: exp.Select) -> str:
    """The grouped query with each group's first rowids (``ROW_LIST``) and its row count
    (``ROW_COUNT``) added as the last columns."""
    augmented = tree.copy()
    rows = exp.Bracket(
        this=exp.ArrayAgg(this=exp.Order(this=exp.column("rowid"),
                                         expressions=[exp.Ordered(this=exp.column("rowid"))])),
        expressions=[exp.Slice(this=exp.Literal.number(1),
                               expression=exp.Literal.number(SOURCE_GROUP_ROWS))])
    augmented.append("expressions", exp.alias_(rows, ROW_LIST, quoted=True))
    augmented.append("expressions", exp.alias_(exp.Count(this=exp.Star()), ROW_COUNT, quoted=True))
    return render(augmented)


def take_row_lists(table: Table, tree: exp.Select, frame: pd.DataFrame) -> RowSources | None:
    """Pops ``ROW_LIST`` and ``ROW_COUNT`` off ``frame`` (of ``with_row_lists``): the sources
    of its first rows, or None when a rowid falls outside the table's sheet rows."""
    lists = frame.pop(ROW_LIST).tolist()[:SOURCE_FRAME_ROWS]
    counts = [int(c) for c in frame.pop(ROW_COUNT).tolist()[:SOURCE_FRAME_ROWS]]
    ids = [[int(r) for r in (ids if ids is not None else [])] for ids in lists]
    return row_sources(table, tree, ids, counts)


def row_sources(table: Table, tree: exp.Select, row_ids: list[list[int]],
                counts: list[int] | None = None) -> RowSources | None:
    """``RowSources`` of result rows that came from ``row_ids`` (frame positions, per row)."""
    numbers = table.row_numbers
    if len(numbers) < len(table.frame):
        return None
    try:
        rows = [[numbers[r] for r in ids] for ids in row_ids[:SOURCE_FRAME_ROWS]]
    except IndexError:
        return None
    letters = table.column_letters or [column_letter(j + 1) for j in range(len(table.columns))]
    where = {name: letters[j] for j, name in enumerate(table.columns) if j < len(letters)}
    return RowSources(sheet=table.sheet, columns=[where[c] for c in named_columns(table, tree)
                                                 if c in where],
                      rows=rows, counts=list(counts or [len(r) for r in rows])[:len(rows)])


def with_rowid(tree: exp.Select) -> str:
    """The query with DuckDB's rowid added as the column ``ROWID``."""
    augmented = tree.copy()
    augmented.append("expressions", exp.alias_(exp.column("rowid"), ROWID, quoted=True))
    return render(augmented)


def probe_cells(table: Table, tree: exp.Select,
                run: Callable[[str, int], tuple[pd.DataFrame, int]]) -> list[str]:
    """Source cells of a small aggregate: the rows its WHERE keeps (if at most 20)."""
    probe = tree.copy()
    probe.set("expressions", [exp.column("rowid")])
    for key in ("distinct", "group", "having", "order", "offset", "qualify"):
        probe.set(key, None)
    probe.set("limit", exp.Limit(expression=exp.Literal.number(PROVENANCE_MAX_ROWS + 1)))
    try:
        frame, total = run(render(probe), PROVENANCE_MAX_ROWS + 1)
    except (duckdb.Error, ToolFailure):
        return []
    if total > PROVENANCE_MAX_ROWS:
        return []
    return cells(table, tree, [int(r) for r in frame.iloc[:, 0].tolist()])


def cells(table: Table, tree: exp.Select, row_ids: list[int]) -> list[str]:
    """A1 references of the columns the query names, in the rows it used."""
    columns = named_columns(table, tree)
    try:
        return [table.cell(r, c) for r in row_ids for c in columns]
    except (ValueError, IndexError):
        return []


def named_columns(table: Table, tree: exp.Select) -> list[str]:
    """The table's columns the query names, in table order (all of them for ``*``)."""
    wanted = {str(c.name).lower() for c in tree.find_all(exp.Column)}
    columns = [c for c in table.columns if str(c).lower() in wanted]
    if not columns or any(isinstance(e, exp.Star) for e in tree.expressions):
        columns = list(table.columns)
    return columns

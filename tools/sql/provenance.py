"""Which cells a query's result came from.

Provenance is given for a plain one-table SELECT only (no joins, subqueries or CTEs): DuckDB's
``rowid`` is the row's position in the table's frame (insertion order is preserved), so the
rows a query used map back to sheet cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import duckdb
import pandas as pd
from sqlglot import exp

from table_io.model import Table
from tools.base import ToolFailure
from tools.sql.guard import GuardedQuery, render

PROVENANCE_MAX_ROWS = 20
ROWID = "__tablepilot_rowid"


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
    wanted = {str(c.name).lower() for c in tree.find_all(exp.Column)}
    columns = [c for c in table.columns if str(c).lower() in wanted]
    if not columns or any(isinstance(e, exp.Star) for e in tree.expressions):
        columns = list(table.columns)
    try:
        return [table.cell(r, c) for r in row_ids for c in columns]
    except (ValueError, IndexError):
        return []

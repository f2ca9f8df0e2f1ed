"""The ``sql`` tool: one read-only DuckDB query over the workbook's tables.

Three walls: the sqlglot guard (tools/sql/guard.py) lets through one SELECT over catalog
tables; DuckDB's own parser must agree that it is one SELECT, and it runs inside a READ ONLY
transaction (tools/sql/run.py); the catalog connection has external access off and its
configuration locked (table_io/catalog.py). Before the guard, the repairs of
tools/sql/repairs.py fix what small models often get wrong, and say so at the top of the
observation; the ids that fired are in ``payload["repairs"]``.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import sqlglot
import sqlglot.errors
from pydantic import BaseModel, Field
from sqlglot import exp

from table_io.catalog import connect
from table_io.model import Table, Workbook
from table_io.quoting import quote_ident
from tools.base import Tool, ToolFailure, ToolResult
from tools.payloads import SqlPayload
from tools.sql import provenance
from tools.sql.bounds import Bounds
from tools.sql.guard import Catalog, GuardedQuery, guard
from tools.sql.hints import explain
from tools.sql.repairs import AFTER_ERROR, REPAIRS, Repair, RepairContext, apply
from tools.sql.run import SQL_TIMEOUT_S, run_select
from tools.tap.formats import frame_preview


class SqlArgs(BaseModel):
    query: str = Field(description="One DuckDB SELECT query over the workbook's tables.")


class SqlTool(Tool):
    """Run one read-only SQL query (DuckDB dialect) over the workbook's tables.

    Only SELECT is allowed (WITH ... SELECT and UNION too); the tables cannot be changed here.
    Quote names with spaces or capitals in double quotes: SELECT "Revenue Q1" FROM sales.
    Strings use single quotes. Names are case-insensitive. Returns the first rows of the result
    and the total row count; aggregate (COUNT, SUM, GROUP BY) rather than listing many rows.
    """

    name = "sql"
    Args = SqlArgs

    def __init__(self, workbook: Workbook, *, max_rows: int = 200, timeout_s: float = SQL_TIMEOUT_S,
                 preview_chars: int = 4000, preview_rows: int = 30, provenance: bool = True,
                 repairs: Sequence[Repair] | None = None, **catalog_settings: Any) -> None:
        """``repairs``: the rewrites to apply (None: all of REPAIRS and AFTER_ERROR; a subset
        switches the others off; ``()`` none)."""
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        self.preview_chars = preview_chars
        self.preview_rows = preview_rows
        self.provenance = provenance
        chosen = (*REPAIRS, *AFTER_ERROR) if repairs is None else tuple(repairs)
        self.after_error = tuple(r for r in chosen if r in AFTER_ERROR)
        self.repairs = tuple(r for r in chosen if r not in AFTER_ERROR)
        self._settings = {"max_execution_ms": int(timeout_s * 1000), **catalog_settings}
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.refresh(workbook)

    # ------------------------------------------------------------------ catalog

    def refresh(self, workbook: Workbook) -> None:
        """Rebuild the catalog from ``workbook`` (after an edit)."""
        con = connect(workbook.tables, **self._settings)  # first: a failure keeps the old one
        with self._lock:
            old = self._con
            self.workbook = workbook
            self._tables = {t.name: t for t in workbook.tables}
            self.catalog = Catalog({t.name: [str(c) for c in t.columns] for t in workbook.tables},
                                   aliases=_sheet_aliases(workbook),
                                   bounds=Bounds(catalog_text=_longest_text(con, workbook)))
            self._con = con
            if old is not None:
                old.close()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise ToolFailure("the sql tool is closed", kind="unavailable")
        return self._con

    # ------------------------------------------------------------------ running

    def query_frame(self, sql: str, *, max_rows: int | None = 100_000) -> pd.DataFrame:
        """Repair, guard and run ``sql`` like the tool (notes dropped); the result (up to
        ``max_rows`` rows) as a DataFrame. For internal read-only use (the Informer); raises
        ``ToolFailure`` like the tool."""
        text, _ = apply(sql, RepairContext(self.catalog), self.repairs)
        frame, _, _ = self._execute(guard(text, self.catalog), limit=max_rows,
                                    after_error=self.after_error)
        return frame

    def run(self, args: Any) -> ToolResult:
        text, fired = apply(args.query, RepairContext(self.catalog), self.repairs)
        guarded = guard(text, self.catalog)
        source = provenance.single_source(guarded, self._tables) if self.provenance else None
        traced = self._run_traced(*source) if source is not None else None
        row_ids: list[int] | None = None
        rows: provenance.RowSources | None = None
        if traced is None:
            frame, total, late = self._execute(guarded, limit=self.max_rows,
                                               after_error=self.after_error)
            fired += late
            source = provenance.single_source(guarded, self._tables) if self.provenance else None
        else:
            frame, total, row_ids, rows = traced
        notes = [note for _, note in fired] + guarded.notes
        payload = SqlPayload(frame=frame, sql=guarded.sql, total_rows=total,
                             dialect=guarded.dialect, truncated=total > len(frame),
                             repairs=[repair_id for repair_id, _ in fired],
                             source_rows=rows.rows if rows else None,
                             source_counts=rows.counts if rows else None,
                             source_sheet=rows.sheet if rows else None,
                             source_columns=rows.columns if rows else None)
        return ToolResult(observation=self._observation(frame, total, notes), payload=payload,
                          tables=guarded.tables, cells=self._cells(source, row_ids, total))

    def _run_traced(self, table: Table, tree: exp.Select) -> tuple[
            pd.DataFrame, int, list[int] | None, provenance.RowSources | None] | None:
        """Run a one-table query in one pass with where its rows came from: a plain SELECT
        with DuckDB's rowid (the row's frame position), a grouped one with each group's
        rowids. Returns the frame as the plain query gives it, the row count, the rowids of a
        plain SELECT and the result rows' sources; None when the query cannot be traced or
        DuckDB rejects the traced form (the plain query then runs, with its repairs)."""
        grouped = provenance.aggregates(tree)
        if grouped and not provenance.groups_traced(tree):
            return None
        sql = provenance.with_row_lists(tree) if grouped else provenance.with_rowid(tree)
        try:
            frame, total = self._run_sql(sql, self.max_rows)
        except duckdb.InterruptException as exc:
            raise self._limit_failure(exc) from None
        except duckdb.Error:
            return None
        if grouped:
            return frame, total, None, provenance.take_row_lists(table, tree, frame)
        row_ids = [int(r) for r in frame.pop(provenance.ROWID).tolist()]
        return frame, total, row_ids, provenance.row_sources(table, tree, [[r] for r in row_ids])

    def _observation(self, frame: pd.DataFrame, total: int, notes: list[str]) -> str:
        lines = ["note: " + "; ".join(notes)] if notes else []
        if total == 0:
            lines += ["0 rows", " | ".join(str(c) for c in frame.columns)]
            return "\n".join(lines)
        preview, shown = frame_preview(frame, max_chars=self.preview_chars, max_rows=self.preview_rows)
        count = f"{total} row{'s' if total != 1 else ''}"
        if shown < total:
            count += f" (showing first {shown} of {total} rows)"
        return "\n".join([*lines, count, preview])

    def _cells(self, source: Any, row_ids: list[int] | None, total: int) -> list[str]:
        if source is None or total > provenance.PROVENANCE_MAX_ROWS:
            return []
        table, tree = source
        if row_ids is not None:
            return provenance.cells(table, tree, row_ids)
        if tree.args.get("where") is not None or len(table.frame) <= provenance.PROVENANCE_MAX_ROWS:
            return provenance.probe_cells(table, tree, self._run_sql)
        return []  # every row counts: too many cells

    def _execute(self, guarded: GuardedQuery, *, limit: int | None,
                 after_error: Sequence[Repair]) -> tuple[pd.DataFrame, int, list[tuple[str, str]]]:
        """Run the guarded SQL; when DuckDB rejects it, try the ``after_error`` rewrites in
        order (each until it has nothing new) and keep the first that runs. Updates
        ``guarded`` to what ran; returns the frame, the row count and the (id, note) fired."""
        try:
            frame, total = self._run_sql(guarded.sql, limit)
            return frame, total, []
        except duckdb.InterruptException as exc:
            raise self._limit_failure(exc) from None
        except duckdb.Error as first:
            error = str(first) or type(first).__name__
        tried: set[str] = set()
        for repair in after_error:
            while True:
                ctx = RepairContext(self.catalog, error=error, failed=guarded,
                                    tried=frozenset(tried))
                out = repair.fix(guarded.sql, ctx)
                if out is None or out[0] in tried:
                    break
                sql, note = out
                tried.add(sql)
                try:
                    frame, total = self._run_sql(sql, limit)
                except duckdb.InterruptException as exc:
                    raise self._limit_failure(exc) from None
                except duckdb.Error:
                    continue
                guarded.sql, guarded.tree = sql, _tree_of(sql)
                return frame, total, [(repair.id, note)]
        raise explain(error, guarded, self.catalog, self._tables) from None

    def _run_sql(self, sql: str, limit: int | None) -> tuple[pd.DataFrame, int]:
        with self._lock:
            return run_select(self.connection, sql, limit, self.timeout_s)

    def _limit_failure(self, exc: Exception) -> ToolFailure:
        return ToolFailure(
            f"the query was stopped after {self.timeout_s:g} s ({str(exc).splitlines()[0]})",
            kind="limit",
            hint="avoid cross joins and huge intermediate results; filter or aggregate first")


def _tree_of(sql: str) -> exp.Expression | None:
    """The tree of a rewrite that ran (rendered from a checked tree), for provenance."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.SqlglotError:
        return None
    return tree if isinstance(tree, exp.Expression) else None


def _longest_text(con: duckdb.DuckDBPyConnection, workbook: Workbook) -> int:
    """The longest value, as text, of any catalog column: the guard's size bound for columns."""
    longest = 0
    for table in workbook.tables:
        if table.duckdb_source is not None:  # a big file loaded directly: not scanned again
            longest = max(longest, Bounds().catalog_text)
            continue
        if not len(table.columns):
            continue
        try:
            row = con.execute(f"SELECT max(length(CAST(COLUMNS(*) AS VARCHAR))) "
                              f"FROM {quote_ident(table.name)}").fetchone()
        except duckdb.Error:
            return Bounds().catalog_text
        longest = max([longest, *(int(v) for v in (row or ()) if v is not None)])
    return longest


def _sheet_aliases(workbook: Workbook) -> dict[str, str]:
    """Sheet names that hold exactly one table, for models that query the sheet by name."""
    by_sheet: dict[str, list[str]] = {}
    for t in workbook.tables:
        by_sheet.setdefault(t.sheet.lower(), []).append(t.name)
    return {sheet: names[0] for sheet, names in by_sheet.items() if len(names) == 1}

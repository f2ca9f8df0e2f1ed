"""The ``sql`` tool: one read-only DuckDB query over the workbook's tables.

Three walls: the sqlglot guard (tools/sql_guard.py) lets through one SELECT over catalog tables;
DuckDB's own parser must agree that it is one SELECT, and it runs inside a READ ONLY
transaction; the catalog connection has external access off and its configuration locked
(table_io/catalog.py). Calls that could build huge values are bounded or refused by the guard
(tools/sql_bounds.py). A query that runs past ``timeout_s`` is stopped by DuckDB's
``max_execution_time`` and, as a backstop, by ``interrupt()`` from a watchdog thread; the
result kept is capped in rows and in bytes (``TABLEPILOT_SQL_MAX_RESULT_BYTES``).
"""

from __future__ import annotations

import os
import re
import threading
import time
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
from pydantic import BaseModel, Field
from sqlglot import exp

from table_io.model import Table, Workbook
from tools.base import Tool, ToolFailure, ToolResult
from tools.sql_bounds import Bounds
from tools.sql_guard import (
    ERROR_MARK,
    Catalog,
    GuardedQuery,
    check_tree,
    describe_columns,
    guard,
    nearest_columns,
    quote_ident,
    refuse,
    render,
    squash,
)
from tools.tap.formats import frame_preview

PROVENANCE_MAX_ROWS = 20


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


SQL_TIMEOUT_S = _env_number("TABLEPILOT_SQL_TIMEOUT_S", 10.0)
# bytes of result kept in memory (Arrow buffers); the row count is still counted past it
MAX_RESULT_BYTES = int(_env_number("TABLEPILOT_SQL_MAX_RESULT_BYTES", 64 * 1024 * 1024))
# rows per Arrow batch read from DuckDB: with values capped by the guard (tools/sql_bounds),
# one batch can hold at most this many times the value limit
_BATCH_ROWS = 256

_COLUMN_ERRORS = (
    re.compile(r'Referenced column "(?P<name>[^"]+)" not found'),
    re.compile(r'does not have a column named "(?P<name>[^"]+)"'),
    re.compile(r'column "(?P<name>[^"]+)" (?:does not exist|not found)', re.I),
    re.compile(r'Referenced table "(?P<table>[^"]+)" not found'),
)


class _Watchdog:
    """One daemon thread for all sql tools: interrupts a connection whose query runs too long.

    The backstop behind DuckDB's own ``max_execution_time``; cheaper per call than a Timer.
    """

    POLL_S = 0.25

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._armed: dict[int, tuple[float, duckdb.DuckDBPyConnection]] = {}
        self._thread: threading.Thread | None = None
        self._next = 0

    def arm(self, con: duckdb.DuckDBPyConnection, seconds: float) -> int:
        with self._cond:
            self._next += 1
            self._armed[self._next] = (time.monotonic() + seconds, con)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="sql-watchdog", daemon=True)
                self._thread.start()
            return self._next  # no notify: waking the thread on every call costs GIL hand-offs

    def disarm(self, token: int) -> None:
        with self._cond:
            self._armed.pop(token, None)

    def _loop(self) -> None:
        with self._cond:
            while True:
                self._cond.wait(self.POLL_S)
                now = time.monotonic()
                for token, (deadline, con) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[token]
                        try:
                            con.interrupt()
                        except duckdb.Error:
                            pass


_WATCHDOG = _Watchdog()


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
                 **catalog_settings: Any) -> None:
        self.max_rows = max_rows
        self.timeout_s = timeout_s
        self.preview_chars = preview_chars
        self.preview_rows = preview_rows
        self.provenance = provenance
        self._settings = {"max_execution_ms": int(timeout_s * 1000), **catalog_settings}
        self._lock = threading.RLock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self.refresh(workbook)

    # ------------------------------------------------------------------ catalog

    def refresh(self, workbook: Workbook) -> None:
        """Rebuild the catalog from ``workbook`` (after an edit)."""
        con = workbook.connect(**self._settings)  # first: a failure leaves the old catalog in place
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
        """Guard and run ``sql``; the result (up to ``max_rows`` rows) as a DataFrame.

        For internal read-only use (the Informer); raises ``ToolFailure`` like the tool."""
        guarded = guard(sql, self.catalog)
        frame, _ = self._execute(guarded, limit=max_rows)
        return frame

    def run(self, args: Any) -> ToolResult:
        guarded = guard(args.query, self.catalog)
        source = self._single_source(guarded) if self.provenance else None
        row_ids: list[int] | None = None
        if source is not None and not _aggregates(source[1]):
            # one pass: the query plus DuckDB's rowid, which is the row's frame position
            try:
                frame, total = self._run_sql(_with_rowid(source[1]), self.max_rows)
                row_ids = [int(r) for r in frame.pop(_ROWID).tolist()]
            except duckdb.InterruptException as exc:
                raise self._limit_failure(exc) from None
            except duckdb.Error:
                row_ids = None
        if row_ids is None:
            frame, total = self._execute(guarded, limit=self.max_rows)
            source = self._single_source(guarded) if self.provenance else None  # tree may change
        preview, shown = frame_preview(frame, max_chars=self.preview_chars, max_rows=self.preview_rows)
        lines = []
        if guarded.notes:
            lines.append("note: " + "; ".join(guarded.notes))
        if total == 0:
            lines.append("0 rows")
            lines.append(" | ".join(str(c) for c in frame.columns))
        else:
            count = f"{total} row{'s' if total != 1 else ''}"
            if shown < total:
                count += f" (showing first {shown} of {total} rows)"
            lines.append(count)
            lines.append(preview)
        cells: list[str] = []
        if source is not None and total <= PROVENANCE_MAX_ROWS:
            table, tree = source
            if row_ids is not None:
                cells = _cells(table, tree, row_ids)
            elif tree.args.get("where") is not None or len(table.frame) <= PROVENANCE_MAX_ROWS:
                cells = self._probe_cells(table, tree)  # else every row counts: too many cells
        payload = {"frame": frame, "sql": guarded.sql, "total_rows": total,
                   "dialect": guarded.dialect, "truncated": total > len(frame)}
        return ToolResult(observation="\n".join(lines), payload=payload, tables=guarded.tables,
                          cells=cells)

    def _execute(self, guarded: GuardedQuery, *, limit: int | None) -> tuple[pd.DataFrame, int]:
        """Run the guarded SQL; on a DuckDB error try the other dialects' readings."""
        try:
            return self._run_sql(guarded.sql, limit)
        except duckdb.InterruptException as exc:
            raise self._limit_failure(exc) from None
        except duckdb.Error as first:
            repaired = self._repair_column(first, guarded)
            if repaired is not None:
                try:
                    result = self._run_sql(repaired.sql, limit)
                except duckdb.InterruptException as exc:
                    raise self._limit_failure(exc) from None
                except duckdb.Error:
                    pass
                else:
                    guarded.sql, guarded.tree = repaired.sql, repaired.tree
                    guarded.notes.extend(repaired.notes)
                    return result
            for dialect, other in guarded.alternatives():
                try:
                    result = self._run_sql(other, limit)
                except duckdb.InterruptException as exc:
                    raise self._limit_failure(exc) from None
                except duckdb.Error:
                    continue
                guarded.notes.append(f"DuckDB rejected the query as written ({_first_line(first)}); "
                                     f"ran it read as {_DIALECT_NAMES.get(dialect, dialect)}: {other}")
                guarded.sql, guarded.tree = other, None
                return result
            raise self._explain(first, guarded) from None

    def _run_sql(self, sql: str, limit: int | None) -> tuple[pd.DataFrame, int]:
        statements = duckdb.extract_statements(sql)
        if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
            raise refuse("refused: DuckDB does not read this as a single SELECT")
        with self._lock:
            con = self.connection
            con.execute("BEGIN TRANSACTION READ ONLY")
            token = _WATCHDOG.arm(con, self.timeout_s + 1.0)
            try:
                reader = con.sql(sql).to_arrow_reader(_BATCH_ROWS)
                kept: list[pa.RecordBatch] = []
                n_kept = total = kept_bytes = 0
                try:
                    for batch in reader:
                        total += batch.num_rows
                        if (limit is None or n_kept < limit) and kept_bytes < MAX_RESULT_BYTES:
                            take = batch if limit is None else batch.slice(0, limit - n_kept)
                            take = _within_bytes(take, MAX_RESULT_BYTES - kept_bytes)
                            kept.append(take)
                            n_kept += take.num_rows
                            kept_bytes += take.nbytes
                except (OSError, pa.ArrowException) as exc:  # DuckDB errors while streaming
                    message = str(exc)
                    if "INTERRUPT" in message or "execution time" in message:
                        raise duckdb.InterruptException(message) from None
                    raise duckdb.Error(message) from None
                schema = reader.schema
            finally:
                _WATCHDOG.disarm(token)
                try:
                    con.execute("ROLLBACK")
                except duckdb.Error:
                    pass
        table = pa.Table.from_batches(kept, schema=schema)
        return table.to_pandas(), total

    def _limit_failure(self, exc: Exception) -> ToolFailure:
        return ToolFailure(
            f"the query was stopped after {self.timeout_s:g} s ({str(exc).splitlines()[0]})",
            kind="limit",
            hint="avoid cross joins and huge intermediate results; filter or aggregate first")

    # ------------------------------------------------------------------ errors

    def _repair_column(self, error: duckdb.Error, guarded: GuardedQuery) -> GuardedQuery | None:
        """``revenue_q1`` for the only column spelled that way ("Revenue Q1"), or ``T1.x`` in a
        query over one table that never defines ``T1``: fix and say so."""
        qualifier = _COLUMN_ERRORS[3].search(str(error))
        if qualifier is not None:
            return self._repair_qualifier(qualifier.group("table"), guarded)
        m = _COLUMN_ERRORS[0].search(str(error)) or _COLUMN_ERRORS[1].search(str(error))
        if m is None or guarded.tree is None:
            return None
        wrong = m.group("name").split(".")[-1]
        key = squash(wrong)
        matches = {c for t in guarded.tables for c in self.catalog.tables.get(t, []) if squash(c) == key}
        if len(matches) != 1:
            return None
        real = matches.pop()
        tree = guarded.tree.copy()
        changed = False
        for column in tree.find_all(exp.Column):
            if str(column.name) == wrong:
                column.set("this", exp.to_identifier(real, quoted=True))
                changed = True
        if not changed:
            return None
        check_tree(tree, self.catalog)
        return GuardedQuery(sql=render(tree), tables=guarded.tables, dialect=guarded.dialect,
                            notes=[f"read column {wrong} as {quote_ident(real)}"], tree=tree)

    def _repair_qualifier(self, wrong: str, guarded: GuardedQuery) -> GuardedQuery | None:
        if guarded.tree is None:
            return None
        tree = guarded.tree.copy()
        sources = list(tree.find_all(exp.Table))
        if len(sources) != 1 or not sources[0].name:
            return None
        real = sources[0].alias_or_name
        changed = False
        for column in tree.find_all(exp.Column):
            if column.table == wrong:
                column.set("table", exp.to_identifier(real))
                changed = True
        if not changed:
            return None
        check_tree(tree, self.catalog)
        return GuardedQuery(sql=render(tree), tables=guarded.tables, dialect=guarded.dialect,
                            notes=[f"read {wrong}.<column> as {real}.<column>: the query "
                                   f"never defines {wrong}"], tree=tree)

    def _explain(self, error: duckdb.Error, guarded: GuardedQuery) -> ToolFailure:
        text = str(error)
        first_line = _error_summary(text) if text else type(error).__name__
        location = _duckdb_location(text)
        for pattern in _COLUMN_ERRORS:
            m = pattern.search(text)
            if not m:
                continue
            if "table" in m.groupdict() and m.group("table"):
                return ToolFailure(first_line, kind="query", location=location,
                                   hint="use the table name or the alias given in FROM")
            name = m.group("name").split(".")[-1]
            location = location or _locate(guarded.sql, name)
            near = nearest_columns(name, self.catalog, prefer=guarded.tables)
            column_hint = f"column {name!r} does not exist"
            if near:
                column_hint += (f"; nearest: {describe_columns(near)}; "
                                f"write it as {quote_ident(near[0][1])}")
            return ToolFailure(first_line, kind="query", hint=column_hint, location=location)
        hint: str | None = None
        if "GROUP BY" in text:
            hint = "every selected column must be aggregated or listed in GROUP BY"
        elif "Conversion Error" in text or "Could not convert" in text:
            hint = "cast explicitly, e.g. TRY_CAST(x AS DOUBLE), and check the column's values"
        elif re.search(r"'(sum|avg)\(VARCHAR\)'", text, re.I):
            hint = self._text_number_hint(guarded) or _function_hint(text)
        elif "Function" in text and ("does not exist" in text or "No function matches" in text):
            hint = _function_hint(text)
        return ToolFailure(first_line, kind="query", hint=hint, location=location)

    def _text_number_hint(self, guarded: GuardedQuery) -> str | None:
        """SUM/AVG over a text column (cells like '145 °F'): show a cell and how to take its
        number."""
        if guarded.tree is None:
            return None
        for agg in guarded.tree.find_all(exp.Sum, exp.Avg):
            for column in agg.find_all(exp.Column):
                for name in guarded.tables:
                    table = self._tables.get(name)
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

    # ------------------------------------------------------------------ provenance

    def _single_source(self, guarded: GuardedQuery) -> tuple[Table, exp.Select] | None:
        """The table and tree of a plain one-table SELECT (no joins, subqueries or CTEs)."""
        tree = guarded.tree
        if tree is None or not isinstance(tree, exp.Select) or len(guarded.tables) != 1:
            return None
        if tree.args.get("with_") or tree.args.get("with"):
            return None
        table = self._tables.get(guarded.tables[0])
        if table is None or not table.row_numbers or table.duckdb_source is not None:
            return None
        if any(str(c).lower() == "rowid" for c in table.columns):
            return None
        if any(isinstance(n, exp.Subquery | exp.Join | exp.Union | exp.Lateral) for n in tree.walk()):
            return None
        return table, tree

    def _probe_cells(self, table: Table, tree: exp.Select) -> list[str]:
        """Source cells of a small aggregate: the rows its WHERE keeps (if at most 20)."""
        probe = tree.copy()
        probe.set("expressions", [exp.column("rowid")])
        for key in ("distinct", "group", "having", "order", "offset", "qualify"):
            probe.set(key, None)
        probe.set("limit", exp.Limit(expression=exp.Literal.number(PROVENANCE_MAX_ROWS + 1)))
        try:
            frame, total = self._run_sql(render(probe), PROVENANCE_MAX_ROWS + 1)
        except (duckdb.Error, ToolFailure):
            return []
        if total > PROVENANCE_MAX_ROWS:
            return []
        return _cells(table, tree, [int(r) for r in frame.iloc[:, 0].tolist()])


_ROWID = "__tablepilot_rowid"


def _within_bytes(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The first rows of ``batch`` that fit in ``budget`` bytes (at least one row)."""
    if batch.nbytes <= budget or batch.num_rows <= 1:
        return batch
    per_row = max(batch.nbytes // batch.num_rows, 1)
    return batch.slice(0, max(budget // per_row, 1))


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


def _aggregates(tree: exp.Select) -> bool:
    return bool(tree.args.get("group") or tree.args.get("distinct")) or any(
        isinstance(n, exp.AggFunc) for e in tree.expressions for n in e.walk())


def _with_rowid(tree: exp.Select) -> str:
    augmented = tree.copy()
    augmented.append("expressions", exp.alias_(exp.column("rowid"), _ROWID, quoted=True))
    return render(augmented)


def _cells(table: Table, tree: exp.Select, row_ids: list[int]) -> list[str]:
    """A1 references of the columns the query names, in the rows it used."""
    wanted = {str(c.name).lower() for c in tree.find_all(exp.Column)}
    columns = [c for c in table.columns if str(c).lower() in wanted]
    if not columns or any(isinstance(e, exp.Star) for e in tree.expressions):
        columns = list(table.columns)
    try:
        return [table.cell(r, c) for r in row_ids for c in columns]
    except (ValueError, IndexError):
        return []


def _sheet_aliases(workbook: Workbook) -> dict[str, str]:
    """Sheet names that hold exactly one table, for models that query the sheet by name."""
    by_sheet: dict[str, list[str]] = {}
    for t in workbook.tables:
        by_sheet.setdefault(t.sheet.lower(), []).append(t.name)
    return {sheet: names[0] for sheet, names in by_sheet.items() if len(names) == 1}


_DIALECT_NAMES = {"mysql": "MySQL", "postgres": "PostgreSQL", "sqlite": "SQLite", "tsql": "T-SQL"}

# Functions small models borrow from other databases, and what to write in DuckDB.
_FUNCTION_HINTS = {
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


def _first_line(error: Exception) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


def _error_summary(text: str) -> str:
    """DuckDB's first line, plus its 'Did you mean' and the first candidate signatures."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    out = lines[:1]
    out += [ln for ln in lines[1:] if ln.startswith("Did you mean")][:1]
    candidates = [ln for ln in lines[1:] if "(" in ln and "->" in ln][:3]
    if candidates:
        out.append("candidates: " + "; ".join(candidates))
    return " ".join(out)


def _function_hint(text: str) -> str:
    m = re.search(r"with name (\w+) does not exist|given name and argument types '(\w+)\(", text)
    name = next((g for g in m.groups() if g), "").lower() if m else ""
    if name in _FUNCTION_HINTS:
        return f"{name}() is not a DuckDB function; in DuckDB: {_FUNCTION_HINTS[name]}"
    return "use DuckDB functions (e.g. strftime(date, '%Y'), year(date), date_diff('day', a, b))"


def _locate(sql: str, name: str) -> str | None:
    """Where ``name`` first appears in the SQL that ran: line, column and an excerpt."""
    m = re.search(rf'(?<![\w"]){re.escape(name)}(?![\w"])|"{re.escape(name)}"', sql, re.I)
    if m is None:
        return None
    line = sql.count("\n", 0, m.start()) + 1
    col = m.start() - (sql.rfind("\n", 0, m.start()) + 1) + 1
    excerpt = sql[max(0, m.start() - 40):m.start()] + ERROR_MARK + sql[m.start():m.end() + 30]
    return f"line {line}, column {col} of the SQL run: {' '.join(excerpt.split())}"


def _duckdb_location(text: str) -> str | None:
    """DuckDB's 'LINE 1: ... ^' excerpt, compacted to one line."""
    m = re.search(r"LINE (\d+):(.*)\n(\s*)\^", text)
    if not m:
        return None
    line_text = m.group(2)
    caret = len(m.group(3)) - len(f"LINE {m.group(1)}:")
    caret = max(0, min(caret, len(line_text)))
    excerpt = line_text[max(0, caret - 40):caret] + ERROR_MARK + line_text[caret:caret + 30]
    return f"line {m.group(1)} of the SQL run: {excerpt.strip()}"

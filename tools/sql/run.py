"""Running one checked SELECT on the catalog connection: read-only, timed, and capped.

DuckDB's parser must agree that the SQL is one SELECT, and it runs inside a READ ONLY
transaction. A query past its time is stopped by DuckDB's ``max_execution_time`` and, as a
backstop, by ``interrupt()`` from a watchdog thread. The result kept is capped in rows and in
bytes (``TABLEPILOT_SQL_MAX_RESULT_BYTES``); the row count is still counted past the caps.
"""

from __future__ import annotations

import os
import threading
import time

import duckdb
import pandas as pd
import pyarrow as pa

from tools.sql.parsing import refuse


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, "") or default)
    except ValueError:
        return default


SQL_TIMEOUT_S = _env_number("TABLEPILOT_SQL_TIMEOUT_S", 10.0)
# bytes of result kept in memory (Arrow buffers); the row count is still counted past it
MAX_RESULT_BYTES = int(_env_number("TABLEPILOT_SQL_MAX_RESULT_BYTES", 64 * 1024 * 1024))
# rows per Arrow batch read from DuckDB: with values capped by the guard (tools/sql/bounds.py),
# one batch can hold at most this many times the value limit
_BATCH_ROWS = 256


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


def run_select(con: duckdb.DuckDBPyConnection, sql: str, limit: int | None,
               timeout_s: float) -> tuple[pd.DataFrame, int]:
    """The first ``limit`` rows of ``sql`` (within ``MAX_RESULT_BYTES``) and the total row count.

    The caller holds the connection's lock. Raises ``duckdb.InterruptException`` when stopped,
    ``duckdb.Error`` when DuckDB rejects the query, ``ToolFailure`` when it is not one SELECT."""
    statements = duckdb.extract_statements(sql)
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise refuse("refused: DuckDB does not read this as a single SELECT")
    con.execute("BEGIN TRANSACTION READ ONLY")
    token = _WATCHDOG.arm(con, timeout_s + 1.0)
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
    return pa.Table.from_batches(kept, schema=schema).to_pandas(), total


def _within_bytes(batch: pa.RecordBatch, budget: int) -> pa.RecordBatch:
    """The first rows of ``batch`` that fit in ``budget`` bytes (at least one row)."""
    if batch.nbytes <= budget or batch.num_rows <= 1:
        return batch
    per_row = max(batch.nbytes // batch.num_rows, 1)
    return batch.slice(0, max(budget // per_row, 1))

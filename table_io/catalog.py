"""The in-process DuckDB catalog: every table registered under its name, then locked down.

The lock-down is the second wall behind the SQL guard in tools/sql. The connection starts with
extension autoload/autoinstall, community extensions and Python replacement scans off (a
query cannot reach a Python variable by its name), with memory and thread limits. Once the
tables are loaded: spilling goes to a private temp directory with a size cap, external access
is switched off (no files, no network, no ATTACH, no INSTALL), queries stop after
``max_execution_ms``, and the configuration is locked so no query can undo any of it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from table_io.errors import CorruptFileError, LimitExceededError
from table_io.quoting import quote_ident  # re-exported: agent/informer.py imports it here

if TYPE_CHECKING:
    from table_io.model import Table

# Settings in force on every catalog connection (besides the per-call limits).
LOCKED_SETTINGS = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_unsigned_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "preserve_insertion_order": True,  # rowid == frame position: provenance relies on it
}


# Per-connection limits; the server's operator may change them (docs/security.md).
MEMORY_LIMIT = os.environ.get("TABLEPILOT_SQL_MEMORY_LIMIT") or "1GB"
_THREADS = os.environ.get("TABLEPILOT_SQL_THREADS", "")
THREADS = int(_THREADS) if _THREADS.isdigit() and int(_THREADS) > 0 else 2
MAX_TEMP_SIZE = os.environ.get("TABLEPILOT_SQL_MAX_TEMP_SIZE") or "2GB"


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(
    tables: Iterable[Table],
    *,
    memory_limit: str = MEMORY_LIMIT,
    threads: int = THREADS,
    max_execution_ms: int = 10_000,
    temp_dir: str | Path | None = None,
    max_temp_size: str = MAX_TEMP_SIZE,
) -> duckdb.DuckDBPyConnection:
    """A locked-down in-memory connection with every table loaded under ``table.name``.

    ``tables``: a Workbook (it iterates over its tables) or any tables:
    ``connect(workbook)``, ``connect([workbook.table("sales")])``.
    """
    con = duckdb.connect(
        ":memory:",
        config={**LOCKED_SETTINGS, "threads": int(threads), "memory_limit": memory_limit},
    )
    for table in tables:
        _load(con, table)
    if temp_dir:
        spill = Path(temp_dir)
        spill.mkdir(parents=True, exist_ok=True)
    else:
        spill = Path(tempfile.mkdtemp(prefix="tablepilot-duckdb-"))
        weakref.finalize(con, shutil.rmtree, spill, True)
    con.execute(f"SET temp_directory = {quote_literal(spill.as_posix())}")
    con.execute(f"SET max_temp_directory_size = {quote_literal(max_temp_size)}")
    con.execute("SET enable_progress_bar = false")  # it would print to the server's terminal
    con.execute("SET enable_external_access = false")
    con.execute(f"SET max_execution_time = {max(1, int(max_execution_ms))}")
    con.execute("SET lock_configuration = true")
    return con


def _load(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    target = quote_ident(table.name)
    source = table.duckdb_source
    if source is not None:  # a big CSV/Parquet file DuckDB reads itself, under its memory limit
        path = quote_literal(str(source))
        reader = "read_parquet" if str(source).lower().endswith(".parquet") else "read_csv"
        options = "" if reader == "read_parquet" else table.meta.get("duckdb_csv_options", "")
        try:
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM {reader}({path}{options})")
        except duckdb.OutOfMemoryException as exc:
            raise LimitExceededError(
                f"table {table.name!r} does not fit the SQL engine's memory limit "
                f"(TABLEPILOT_SQL_MEMORY_LIMIT): {str(exc).splitlines()[0][:200]}",
                source=Path(str(source)).name) from None
        except duckdb.Error as exc:
            raise CorruptFileError(f"table {table.name!r} cannot be loaded: "
                                   f"{str(exc).splitlines()[0][:200]}",
                                   source=Path(str(source)).name) from None
        return
    try:
        _load_frame(con, target, table.frame)
    except duckdb.Error:  # mixed-type object columns: load them as text
        _load_frame(con, target, _object_columns_as_text(table.frame))


def _load_frame(con: duckdb.DuckDBPyConnection, target: str, frame: pd.DataFrame) -> None:
    con.register("__tablepilot_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM __tablepilot_frame")
    finally:
        con.unregister("__tablepilot_frame")


def _object_columns_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    return out

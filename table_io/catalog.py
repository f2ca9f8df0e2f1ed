"""The in-process DuckDB catalog: every table registered under its name, then locked down.

The lock-down is the second wall behind the SQL guard in tools/sql: once the tables are loaded,
external access is switched off and the configuration is locked, so even a query that slipped
past the guard cannot read files, load extensions or change settings.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    from table_io.model import Table


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def connect(
    tables: Iterable[Table],
    *,
    memory_limit: str = "1GB",
    threads: int = 2,
    max_execution_ms: int = 10_000,
    temp_dir: str | Path | None = None,
    max_temp_size: str = "2GB",
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "python_enable_replacements": False,
            "threads": threads,
            "memory_limit": memory_limit,
        },
    )
    for table in tables:
        _load(con, table)
    spill = Path(temp_dir) if temp_dir else Path(tempfile.mkdtemp(prefix="tablepilot-duckdb-"))
    con.execute(f"SET temp_directory = '{spill.as_posix()}'")
    con.execute(f"SET max_temp_directory_size = '{max_temp_size}'")
    con.execute("SET enable_external_access = false")
    try:
        con.execute(f"SET max_execution_time = {int(max_execution_ms)}")
    except duckdb.Error:  # older DuckDB: tools/sql falls back to interrupt() from a timer
        pass
    con.execute("SET lock_configuration = true")
    return con


def _load(con: duckdb.DuckDBPyConnection, table: Table) -> None:
    target = quote_ident(table.name)
    source = table.duckdb_source
    if source is not None:
        path = str(source).replace("'", "''")
        if str(source).lower().endswith(".parquet"):
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM read_parquet('{path}')")
        else:
            options = table.meta.get("duckdb_csv_options", "")
            con.execute(f"CREATE TABLE {target} AS SELECT * FROM read_csv('{path}'{options})")
        return
    frame = table.frame
    con.register("__tablepilot_frame", frame)
    try:
        con.execute(f"CREATE TABLE {target} AS SELECT * FROM __tablepilot_frame")
    finally:
        con.unregister("__tablepilot_frame")

"""Parquet: small files into a pandas frame, big ones straight into DuckDB (head sample kept)."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq

from table_io.errors import CorruptFileError, LimitExceededError
from table_io.limits import Limits
from table_io.model import Table, column_letter
from table_io.sources import Source


def read_parquet_table(src: Source, limits: Limits) -> tuple[Table, list[str]]:

    stem = Path(src.name).stem or "data"
    try:
        handle = pq.ParquetFile(src.path if src.path is not None else io.BytesIO(src.read_bytes()))
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ...
        raise CorruptFileError(f"is not a readable Parquet file ({str(exc)[:200]})", source=src.name) from None
    n_rows = handle.metadata.num_rows
    direct = src.size >= limits.direct_load_bytes
    _check_declared(handle, src.name, limits, whole=not direct)
    try:
        if direct:
            batches = handle.iter_batches(batch_size=limits.head_sample_rows)
            first = next(batches, None)
            frame = first.to_pandas() if first is not None else handle.schema_arrow.empty_table().to_pandas()
        else:
            frame = handle.read().to_pandas()
    except Exception as exc:
        raise CorruptFileError(f"Parquet data cannot be read ({str(exc)[:200]})", source=src.name) from None
    frame.columns = [str(c) for c in frame.columns]
    columns = list(frame.columns)
    table = Table(
        name=stem, sheet=stem, range=f"A1:{column_letter(max(len(columns), 1))}{n_rows + 1}",
        header_rows=[1], columns=columns, frame=frame.reset_index(drop=True),
        row_numbers=list(range(2, len(frame) + 2)),
        column_letters=[column_letter(j + 1) for j in range(len(columns))],
        original_headers=list(columns),
    )
    warnings: list[str] = []
    if direct:
        from table_io.csv_read import _spill

        table.duckdb_source = src.path if src.path is not None else _spill(src, ".parquet")
        if not str(table.duckdb_source).lower().endswith(".parquet"):
            table.duckdb_source = _spill(src, ".parquet")
        table.meta.update({"n_rows": n_rows, "head_sample": True})
        warnings.append(
            f"{src.name} is large ({src.size / 1e6:.0f} MB): loaded straight into DuckDB; the "
            f"table's frame holds the first {len(frame)} rows only"
        )
    return table, warnings


def _check_declared(handle: pq.ParquetFile, display: str, limits: Limits, *, whole: bool) -> None:
    """Refuse what the footer declares beyond the limits before any data page is decoded."""
    meta = handle.metadata
    n_cols = meta.num_columns
    if n_cols > limits.max_columns:
        raise LimitExceededError(
            f"declares {n_cols:,} columns, over the {limits.max_columns:,} column limit (raise it "
            "with TABLEPILOT_MAX_COLUMNS or Limits(max_columns=...))", source=display)
    if not whole:  # a big file goes to DuckDB; only its head is read here
        return
    cells = meta.num_rows * max(n_cols, 1)
    if cells > limits.max_cells:
        raise LimitExceededError(
            f"declares {meta.num_rows:,} rows x {n_cols:,} columns = {cells:,} cells, over the "
            f"{limits.max_cells:,} cell limit (raise it with TABLEPILOT_MAX_CELLS)", source=display)
    expanded = sum(max(meta.row_group(i).total_byte_size, 0) for i in range(meta.num_row_groups))
    if expanded > limits.max_uncompressed_bytes:
        raise LimitExceededError(
            f"declares {expanded / 1e6:,.0f} MB of uncompressed data, over the "
            f"{limits.max_uncompressed_bytes / 1e6:,.0f} MB limit (raise it with "
            "TABLEPILOT_MAX_UNCOMPRESSED_BYTES)", source=display)

"""Upload and parsing limits. Override per call or through TABLEPILOT_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw and raw.isdigit() else default


def _env_bool(name: str, default: bool) -> bool:
    raw = (os.environ.get(name) or "").strip().lower()
    if raw in ("0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    return default


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = _env_int("TABLEPILOT_MAX_FILE_BYTES", 200 * 1024 * 1024)
    max_cells: int = _env_int("TABLEPILOT_MAX_CELLS", 50_000_000)
    # CSV and Parquet have no format limit on columns (Excel stops at 16,384)
    max_columns: int = _env_int("TABLEPILOT_MAX_COLUMNS", 100_000)
    max_sheets: int = _env_int("TABLEPILOT_MAX_SHEETS", 500)
    max_zip_entries: int = 10_000
    max_uncompressed_bytes: int = _env_int("TABLEPILOT_MAX_UNCOMPRESSED_BYTES", 2 * 1024**3)
    max_compression_ratio: float = 200.0
    # text that shared strings expand to: every cell counts the length of the string it uses
    max_text_bytes: int = _env_int("TABLEPILOT_MAX_TEXT_BYTES", 1024**3)
    # CSV/Parquet files at least this big go straight into DuckDB; the frame keeps a head sample
    direct_load_bytes: int = _env_int("TABLEPILOT_DIRECT_LOAD_BYTES", 64 * 1024 * 1024)
    head_sample_rows: int = 1000
    # formulas without a cached value are computed (formulas package) up to this many cells
    max_formulas_to_compute: int = 2000
    # files are parsed in a child process (table_io.isolate) whose memory and time are capped,
    # so a parser that aborts or runs away takes down that child, never the app
    isolate: bool = _env_bool("TABLEPILOT_ISOLATE_READS", True)
    max_read_memory_bytes: int = _env_int("TABLEPILOT_MAX_READ_MEMORY_BYTES", 4 * 1024**3)
    read_timeout_s: int = _env_int("TABLEPILOT_READ_TIMEOUT_S", 300)


DEFAULT_LIMITS = Limits()

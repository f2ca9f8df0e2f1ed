"""Upload and parsing limits. Override per call or through TABLEPILOT_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw and raw.isdigit() else default


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = _env_int("TABLEPILOT_MAX_FILE_BYTES", 200 * 1024 * 1024)
    max_cells: int = _env_int("TABLEPILOT_MAX_CELLS", 50_000_000)
    max_zip_entries: int = 10_000
    max_uncompressed_bytes: int = _env_int("TABLEPILOT_MAX_UNCOMPRESSED_BYTES", 2 * 1024**3)
    max_compression_ratio: float = 200.0
    # CSV/Parquet files at least this big go straight into DuckDB; the frame keeps a head sample
    direct_load_bytes: int = _env_int("TABLEPILOT_DIRECT_LOAD_BYTES", 64 * 1024 * 1024)
    head_sample_rows: int = 1000
    # formulas without a cached value are computed (formulas package) up to this many cells
    max_formulas_to_compute: int = 2000


DEFAULT_LIMITS = Limits()

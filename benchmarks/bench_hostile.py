"""Open each hostile file of tests/security/test_hostile_files.py next to an honest file of the
same size: outcome, peak memory of the reading child and time, in one run.

    .venv/bin/python benchmarks/bench_hostile.py
    .venv/bin/python benchmarks/bench_hostile.py --repeat 5   # the isolation cost, more runs

Every file is opened through the isolated reader (``Limits(isolate=True)``, the app's path), so
peak memory is the reading child's own ru_maxrss (its pages shared with the reader zygote
included). A second table shows what isolation costs on honest workbooks: the median open time
in-process and isolated.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from table_io import Limits, TableIOError, isolate, open_workbook  # noqa: E402


def _hostile_module() -> Any:
    path = ROOT / "tests" / "security" / "test_hostile_files.py"
    spec = importlib.util.spec_from_file_location("hostile_files", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def honest_like(name: str, size: int, hostile: Any) -> bytes:
    """An honest file of the same format, grown until it is about ``size`` bytes."""
    suffix = Path(name).suffix
    rows = 8
    while True:
        data = _honest(suffix, rows, hostile)
        if len(data) >= size or rows > 2_000_000:
            return data
        rows = max(rows + 1, int(rows * min(size / max(len(data), 1), 4.0) * 1.05))


def _honest(suffix: str, rows: int, hostile: Any) -> bytes:
    if suffix == ".csv":
        return ("id,region,units,price\n" + "".join(
            f"{i},region {i % 17},{i % 97},{i * 1.25:.2f}\n" for i in range(rows))).encode()
    if suffix == ".ods":
        import pandas as pd

        frame = pd.DataFrame({"id": range(rows), "region": [f"region {i % 17}" for i in range(rows)]})
        buf = io.BytesIO()
        frame.to_excel(buf, engine="odf", index=False)
        return buf.getvalue()
    return hostile.xlsx_from_parts(hostile.sheet_xml(hostile.table_rows(rows)))


def measure(data: bytes, name: str, limits: Limits) -> tuple[str, float, float]:
    """(outcome, peak MB of the reading child, seconds)."""
    started = time.perf_counter()
    try:
        open_workbook(data, name=name, limits=limits)
        outcome = "opened"
    except TableIOError as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
    report = isolate.last_report
    peak = report.peak_rss_bytes / 1e6 if report else float("nan")
    return outcome, peak, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per file for the isolation cost")
    args = parser.parse_args()
    hostile = _hostile_module()
    limits = Limits(isolate=True, read_timeout_s=120)
    open_workbook(hostile.xlsx_from_parts(hostile.sheet_xml(hostile.table_rows())), name="warm.xlsx",
                  limits=limits)  # starts the reader zygote, so no row pays for it

    print(f"{'hostile file':<30}{'bytes':>10}  {'outcome':<20}{'peak MB':>8}{'ms':>8}   |"
          f"  {'honest bytes':>12}  {'outcome':<8}{'peak MB':>8}{'ms':>8}")
    cases: dict[str, tuple[Callable[[], bytes], str, Any, Any, dict[str, int]]] = hostile.HOSTILE
    for case, (build, name, _error, _words, extra) in cases.items():
        data = build()
        case_limits = Limits(**{**extra, "isolate": True, "read_timeout_s": 120})
        outcome, peak, seconds = measure(data, name, case_limits)
        honest = honest_like(name, len(data), hostile)
        h_outcome, h_peak, h_seconds = measure(honest, name, case_limits)
        print(f"{case:<30}{len(data):>10,}  {outcome:<20}{peak:>8.0f}{seconds * 1000:>8.0f}   |"
              f"  {len(honest):>12,}  {h_outcome:<8}{h_peak:>8.0f}{h_seconds * 1000:>8.0f}")

    # with the pre-parse checks switched off, only the reader's memory cap stands in the way
    unchecked = Limits(isolate=True, max_cells=10**15, max_text_bytes=10**15,
                       max_read_memory_bytes=1024**3, read_timeout_s=120)
    for case in ("far_cell", "shared_strings_bomb"):
        build, name = cases[case][0], cases[case][1]
        data = build()
        outcome, peak, seconds = measure(data, name, unchecked)
        print(f"{case + ' (checks off)':<30}{len(data):>10,}  {outcome:<20}{peak:>8.0f}{seconds * 1000:>8.0f}   |"
              "  (1 GiB memory cap, the reader killed)")

    print()
    print("isolation cost on honest workbooks (median ms of", args.repeat, "opens)")
    print(f"{'workbook':<28}{'bytes':>11}{'in-process':>12}{'isolated':>10}{'extra':>8}")
    for rows in (10, 1_000, 20_000, 100_000):
        data = hostile.xlsx_from_parts(hostile.sheet_xml(hostile.table_rows(rows)))
        timings = {}
        for isolated in (False, True):
            runs = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                open_workbook(data, name="honest.xlsx", limits=Limits(isolate=isolated))
                runs.append(time.perf_counter() - started)
            timings[isolated] = statistics.median(runs) * 1000
        print(f"{f'{rows:,} rows x 2 columns':<28}{len(data):>11,}{timings[False]:>12.0f}"
              f"{timings[True]:>10.0f}{timings[True] - timings[False]:>8.0f}")


if __name__ == "__main__":
    main()

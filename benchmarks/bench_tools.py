"""Benchmark the query tools; prints one table.

    .venv/bin/python benchmarks/bench_tools.py [--rows 1000000] [--repeat 30]

- sql: the sql tool's time per call minus a bare DuckDB query on the same connection, on a
  1M-row table (target: < 5 ms added per call). Measured with provenance on (default; small
  results also run a rowid probe) and off.
- tap: packing a 100k-row table into 500/2,000/8,000 tokens, for a table seen for the first
  time (value index and column statistics built) and again (cached) (target: < 100 ms). The
  obvious alternative, pasting the whole table as markdown, is timed for the ratio.
- python: cold start and warm call of the sandboxed python tool (target: warm < 50 ms), when
  the sandbox is available on this machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from table_io import open_workbook
from tools.sql import SqlTool
from tools.tap import pack_workbook

Row = tuple[str, str, str, str]


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of ``repeat`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired(base: Callable[[], object], other: Callable[[], object], repeat: int
           ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """Interleaved calls, so a busy machine slows both alike: (wall, CPU) seconds of each."""
    base()
    other()
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for _ in range(repeat):
        for fn, out in ((base, a), (other, b)):
            wall, cpu = time.perf_counter(), time.process_time()
            fn()
            out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return a, b


def make_frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cities = np.array(["Oslo", "Bergen", "Paris", "Lyon", "Berlin", "Hamburg", "Madrid", "Rome"])
    frame = pd.DataFrame({
        "order_id": np.arange(1, n + 1),
        "customer": [f"Customer {i:05d}" for i in rng.integers(0, 30_000, n)],
        "city": cities[rng.integers(0, len(cities), n)],
        "amount": rng.normal(100, 30, n).round(2),
        "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
    })
    frame.loc[n * 3 // 4, "customer"] = "Zebulon Quartz"
    return frame


def _bare(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def bench_sql(rows: int, repeat: int) -> list[Row]:
    wb = open_workbook(make_frame(rows))
    out: list[Row] = []
    queries = {
        "group by": "SELECT city, count(*) AS n, avg(amount) AS avg FROM data GROUP BY city ORDER BY city",
        "filter, 1 row": "SELECT * FROM data WHERE customer = 'Zebulon Quartz'",
        "top 10": "SELECT customer, amount FROM data ORDER BY amount DESC LIMIT 10",
    }
    for provenance in (True, False):
        tool = SqlTool(wb, provenance=provenance)
        con = tool.connection
        for label, sql in queries.items():
            bare, full = paired(partial(_bare, con, sql), partial(tool, {"query": sql}), repeat)
            cpu_added = statistics.median(y[1] - x[1] for x, y in zip(bare, full, strict=True)) * 1000
            wall_best = (min(y[0] for y in full) - min(x[0] for x in bare)) * 1000
            wall_median = statistics.median(y[0] - x[0] for x, y in zip(bare, full, strict=True)) * 1000
            note = "provenance on" if provenance else "provenance off"
            out.append((f"sql tool overhead, {label} ({note})", f"{cpu_added:.2f} ms CPU",
                        f"bare DuckDB .df() {statistics.median(x[1] for x in bare) * 1000:.1f} ms CPU; "
                        f"wall added: best-of {wall_best:.1f} ms, median {wall_median:.1f} ms",
                        "< 5 ms" + (" ok" if cpu_added < 5 else " MISSED")))
        if provenance:
            out.append(_fixed_cost(tool, con, repeat))
        tool.close()
    return out


def _fixed_cost(tool: SqlTool, con: duckdb.DuckDBPyConnection, repeat: int) -> Row:
    """CPU time the tool adds to a query DuckDB answers at once: hardly disturbed by a busy
    machine, unlike wall time."""
    sql = "SELECT customer, amount FROM data LIMIT 5"
    tool({"query": sql})

    def cpu(fn: Callable[[], object]) -> float:
        start = time.process_time()
        for _ in range(repeat * 5):
            fn()
        return (time.process_time() - start) / (repeat * 5)

    bare = cpu(partial(_bare, con, sql))
    full = cpu(partial(tool, {"query": sql}))
    added = (full - bare) * 1000
    return ("sql tool fixed cost (CPU time), LIMIT 5 query", f"{added:.2f} ms",
            f"bare DuckDB .df() {bare * 1000:.2f} ms CPU, tool {full * 1000:.2f} ms CPU "
            "(guard, DuckDB parse check, read-only transaction, rowid provenance, preview)",
            "< 5 ms" + (" ok" if added < 5 else " MISSED"))


def bench_tap(repeat: int) -> list[Row]:
    out: list[Row] = []
    question = "What did Zebulon Quartz order from Oslo in 2021, and for what amount?"
    frames = [make_frame(100_000, seed=s) for s in range(repeat + 1)]
    paste = timed(lambda: frames[0].to_csv(index=False), 3)  # the obvious alternative: paste it all
    pack_workbook(open_workbook(make_frame(1000, seed=99)), question, budget_tokens=500)  # imports
    for budget in (500, 2000, 8000):
        cold_wall, cold_cpu, warm_wall = [], [], []
        for frame in frames[1:]:  # a table packed for the first time: index and stats are built
            wb = open_workbook(frame.copy())
            wall, cpu = time.perf_counter(), time.process_time()
            view = pack_workbook(wb, question, budget_tokens=budget)
            cold_wall.append(time.perf_counter() - wall)
            cold_cpu.append(time.process_time() - cpu)
            assert view.tokens <= budget and "Zebulon Quartz" in view.text
            wall = time.perf_counter()
            pack_workbook(wb, question, budget_tokens=budget)
            warm_wall.append(time.perf_counter() - wall)
        cold = statistics.median(cold_wall)
        out.append((f"tap pack 100k rows -> {budget} tokens", f"{cold * 1000:.1f} ms",
                    f"first pack of a table (CPU {statistics.median(cold_cpu) * 1000:.1f} ms, "
                    f"best {min(cold_wall) * 1000:.1f} ms); packed again: "
                    f"{statistics.median(warm_wall) * 1000:.1f} ms; whole table as CSV: "
                    f"{paste * 1000:.0f} ms, ~{len(frames[0].to_csv()) // 4:,} tokens",
                    "< 100 ms" + (" ok" if cold < 0.1 else " MISSED")))
    return out


def bench_python(repeat: int) -> list[Row]:
    try:
        from tools.python import PythonTool
    except Exception as exc:
        return [("python tool", "n/a", f"cannot import tools.python: {exc}", "warm < 50 ms")]
    available, reason = PythonTool.check_available()
    if not available:
        return [("python tool", "n/a", f"sandbox unavailable: {reason}", "warm < 50 ms")]
    wb = open_workbook(make_frame(10_000))
    start = time.perf_counter()
    tool = PythonTool(wb)
    try:
        first = tool({"code": "len(data)"})
        cold = time.perf_counter() - start
        if not first.ok:
            return [("python tool", "error", first.observation[:120], "warm < 50 ms")]
        calls = iter(range(10**9))  # a different snippet each call: no cached answer

        def warm_call() -> None:
            result = tool({"code": f"data['amount'].sum() + {next(calls)}"})
            assert result.ok, result.observation

        warm = timed(warm_call, repeat)
    finally:
        tool.close()
    return [("python tool cold start (first call)", f"{cold * 1000:.0f} ms", "worker start + tables in", "-"),
            ("python tool warm call", f"{warm * 1000:.1f} ms", "data['amount'].sum() on 10k rows",
             "< 50 ms" + (" ok" if warm < 0.05 else " MISSED"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the sql table")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per figure")
    parser.add_argument("--skip-python", action="store_true")
    args = parser.parse_args()
    rows: list[Row] = []
    rows += bench_sql(args.rows, args.repeat)
    rows += bench_tap(max(5, args.repeat // 4))
    rows += [] if args.skip_python else bench_python(args.repeat)
    header: Row = ("measure", "value", "detail", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"(machine: {os.cpu_count()} CPUs, load average {load:.1f} while measuring. sql: median "
          f"CPU time added over {args.repeat} interleaved pairs (wall time on a busy machine is "
          "mostly waiting); tap: median wall time over fresh tables, CPU time beside)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

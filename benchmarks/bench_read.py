"""Read a big .xlsx: tablepilot's open_workbook against pandas.read_excel(engine="openpyxl").

    .venv/bin/python benchmarks/bench_read.py             # 200,000 x 12 (the default)
    .venv/bin/python benchmarks/bench_read.py --rows 20000  # a quick run

The workbook (numbers, text, dates) is generated once into a cache folder. Each contender runs in
its own subprocess, so peak memory (ru_maxrss) is its own; the table prints wall time, peak
memory and the speed ratio against pandas+openpyxl.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("TABLEPILOT_BENCH_CACHE", Path.home() / ".cache" / "tablepilot" / "bench"))
N_COLS = 12


def make_workbook(rows: int) -> Path:
    """A rows x 12 sheet: ids, floats, ints, text, dates, booleans. Written once with write_only."""
    path = CACHE / f"bench_{rows}x{N_COLS}.xlsx"
    if path.exists():
        return path
    import openpyxl

    CACHE.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Data")
    ws.append(["id", "region", "product", "units", "price", "revenue", "cost", "order_date",
               "ship_date", "rep", "returned", "score"])
    regions = ["North", "South", "East", "West", "Central"]
    products = [f"Product {i}" for i in range(40)]
    reps = [f"Rep {chr(65 + i)}" for i in range(26)]
    start = dt.datetime(2020, 1, 1)
    for i in range(rows):
        units = rng.randint(1, 500)
        price = round(rng.uniform(1, 300), 2)
        order = start + dt.timedelta(days=rng.randint(0, 1500))
        ws.append([i + 1, rng.choice(regions), rng.choice(products), units, price,
                   round(units * price, 2), round(units * price * rng.uniform(0.4, 0.9), 2),
                   order, order + dt.timedelta(days=rng.randint(1, 20)), rng.choice(reps),
                   rng.random() < 0.05, round(rng.gauss(50, 15), 3)])
    tmp = path.with_suffix(".tmp.xlsx")
    wb.save(tmp)
    tmp.replace(path)
    return path


CONTENDERS = {
    "tablepilot open_workbook": (
        "from table_io import open_workbook\n"
        "wb = open_workbook(PATH)\n"
        "n = sum(t.n_rows for t in wb.tables)\n"
    ),
    "pandas read_excel(calamine)": (
        "import pandas as pd\n"
        "n = len(pd.read_excel(PATH, engine='calamine'))\n"
    ),
    "pandas read_excel(openpyxl)": (
        "import pandas as pd\n"
        "n = len(pd.read_excel(PATH, engine='openpyxl'))\n"
    ),
}

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
PATH = {path!r}
t0 = time.perf_counter()
{code}
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": elapsed, "peak_mb": peak, "rows": n}}))
"""


def run_contender(code: str, path: Path) -> dict[str, float]:
    script = CHILD.format(root=str(ROOT), path=str(path), code=code)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--skip-pandas", action="store_true", help="time open_workbook only")
    parser.add_argument("--no-calamine", action="store_true", help="leave out the pandas+calamine reference")
    args = parser.parse_args()
    t0 = time.perf_counter()
    path = make_workbook(args.rows)
    made = time.perf_counter() - t0
    size_mb = path.stat().st_size / 1e6
    print(f"workbook: {path} ({args.rows:,} x {N_COLS}, {size_mb:.1f} MB; ready in {made:.1f} s)")
    results: dict[str, dict[str, float]] = {}
    for label, code in CONTENDERS.items():
        if args.skip_pandas and label.startswith("pandas"):
            continue
        if args.no_calamine and "calamine" in label:
            continue
        results[label] = run_contender(code, path)
    base = results.get("pandas read_excel(openpyxl)")
    print(f"\n{'contender':<30} {'seconds':>9} {'peak MB':>9} {'rows':>9} {'vs openpyxl':>12}")
    for label, r in results.items():
        ratio = f"{base['seconds'] / r['seconds']:.1f}x" if base else "-"
        print(f"{label:<30} {r['seconds']:>9.2f} {r['peak_mb']:>9.0f} {int(r['rows']):>9,} {ratio:>12}")
    mine = results.get("tablepilot open_workbook")
    if base and mine:
        verdict = "meets" if base["seconds"] / mine["seconds"] >= 10 else "MISSES"
        print(f"\nopen_workbook is {base['seconds'] / mine['seconds']:.1f}x faster than pandas+openpyxl "
              f"({verdict} the 10x target); it also finds tables, headers and types.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

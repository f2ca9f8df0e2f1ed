"""Audit: does typing or Total-row removal lose information on WikiTQ's csv tables?

For every column table_io types as a number, date or boolean, each non-empty source value that is
not an empty marker must give a value (not NaN/NaT), and text that is not a plain number or date
(``1st``, ``2-1``, ``1999–2000``, ``12 (3)``) must not be turned into one. Rows kept out as
totals must have a label that is a total ("Total", "Grand total"), not a name that starts with
the word ("Total Network Solutions").

    .venv/bin/python benchmarks/audit_wikitq_typing.py [--limit N] [--show 20]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

# TABLEPILOT_CODE=/path/to/another/checkout audits that code instead (a before/after figure)
sys.path.insert(0, os.environ.get("TABLEPILOT_CODE") or str(Path(__file__).resolve().parents[1]))

from table_io import open_workbook
from table_io.cell_types import is_empty_marker
from table_io.model import column_index

ROOT = Path("/work/shared/data/wikitq/csv")
# text a person reads as a plain number: digits with separators, sign, currency, %, k/M/B
_PLAIN_NUMBER = re.compile(
    r"^[-−+(]?\s*[$€£¥₹]?\s*[-−]?(\d[\d,.\s\u00a0']*|[.,]\d+)(e[-+]?\d+)?\s*(k|K|M|mn|bn|B)?\s*[$€£¥₹]?\s*%?\)?$"
)
_TOTAL_LABEL = re.compile(
    r"^\s*(grand\s+|sub[-\s]?)?totals?\s*:?\s*(\([^()]*\))?\s*:?\s*$|\btotals?\s*:?\s*$", re.IGNORECASE
)


def suspicious(raw: str, kind: str) -> bool:
    text = raw.strip()
    if kind in ("integer", "number"):
        return not _PLAIN_NUMBER.match(text)
    if kind == "date":
        return bool(re.search(r"[–—]|\d\s*\(|\d(st|nd|rd|th)\b", text))
    return False


def meaning_changed(raw: list[object], values: list[object], kind: str) -> list[str]:
    """Source texts whose typed value means something else: 22.7% next to plain amounts,
    "(2)" read as -2 in a column with no other accounting notation, "17,189" read as 17.189,
    a two-digit year put in the future."""
    texts = [s.strip() for s in raw if isinstance(s, str) and not is_empty_marker(s)]
    out: list[str] = []
    if kind in ("integer", "number"):
        pct = [t for t in texts if "%" in t]
        plain = [t for t, v in zip(raw, values, strict=True)
                 if isinstance(t, str) and not is_empty_marker(t) and "%" not in t and v not in (0, None)]
        if pct and plain:
            out += [f"{pct[0]} next to {plain[0]}"]
        if any(t.startswith("(") for t in texts) and not any(re.search(r"[,.$€£¥₹]", t) for t in texts):
            out += [f"{t} read as negative" for t in texts if t.startswith("(")][:2]
        for t, v in zip(raw, values, strict=True):
            if isinstance(t, str) and re.fullmatch(r"\d{1,3},\d{3}", t.strip()) and isinstance(v, float) and v < 1000:
                out.append(f"{t} read as {v}")
                break
    if kind == "date":
        years = [getattr(v, "year", None) for v in values]
        future = [str(s) for s, y in zip(raw, years, strict=True)
                  if y is not None and y > time.gmtime().tm_year + 10 and not re.search(r"\d{4}", str(s))]
        out += [f"{s} read as a date after {time.gmtime().tm_year + 10}" for s in future[:2]]
    return out


def audit(paths: list[Path]) -> dict[str, Any]:
    lost_cols: list[tuple[str, str, list[str]]] = []
    odd_cols: list[tuple[str, str, list[str]]] = []
    changed_cols: list[tuple[str, str, list[str]]] = []
    decimal_comma_cols: list[tuple[str, str, list[str]]] = []
    totals: list[tuple[str, str]] = []
    typed = n_totals = 0
    tables_lost: set[str] = set()
    failed: list[str] = []
    for path in paths:
        key = f"{path.parent.name}/{path.name}"
        try:
            book = open_workbook(path)
        except Exception as exc:
            failed.append(f"{key}: {exc}")
            continue
        table = book.tables[0]
        grid = book.grids[table.sheet].values
        for r in table.total_row_numbers:
            label = next((str(v) for v in grid[r - 1, :2].tolist() if str(v).strip()), "")
            n_totals += 1
            if not _TOTAL_LABEL.search(label):
                totals.append((key, label))
        kinds = table.meta["column_types"]
        rows = [r - 1 for r in table.row_numbers]
        for col, letter in zip(table.columns, table.column_letters, strict=True):
            kind = kinds[col]
            if kind == "text":
                continue
            typed += 1
            c = column_index(letter) - 1
            raw = grid[rows, c].tolist()
            values = table.frame[col].tolist()
            lost = [str(s) for s, v in zip(raw, values, strict=True)
                    if not is_empty_marker(s) and (v is None or v is pd.NA or v is pd.NaT or v != v)]
            odd = [str(s) for s in raw if isinstance(s, str) and not is_empty_marker(s) and suspicious(s, kind)]
            if lost:
                lost_cols.append((key, col, lost[:5]))
                tables_lost.add(key)
            if odd:
                odd_cols.append((key, col, sorted(set(odd))[:6]))
                tables_lost.add(key)
            changed = meaning_changed(raw, values, kind)
            if changed:
                changed_cols.append((key, col, changed[:4]))
                tables_lost.add(key)
            note = table.meta["parsed_from_text"].get(col, "")
            if "decimal comma" in note:
                decimal_comma_cols.append((key, col, [str(s) for s in raw[:6]]))
    return {
        "tables": len(paths), "failed": failed, "typed_columns": typed,
        "lost": lost_cols, "changed": changed_cols, "odd": odd_cols, "decimal_comma": decimal_comma_cols,
        "bad_totals": totals, "n_totals": n_totals, "tables_losing": tables_lost,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--show", type=int, default=15)
    args = parser.parse_args()
    paths = sorted(ROOT.glob("*/*.csv"))
    if args.limit:
        paths = paths[: args.limit]
    start = time.perf_counter()
    res = audit(paths)
    took = time.perf_counter() - start
    print(f"tables read: {res['tables']} in {took:.1f} s; failed: {len(res['failed'])}")
    print(f"typed (number/date/boolean) columns: {res['typed_columns']}")
    for label, key in [("columns with values turned into NaN/NaT", "lost"),
                       ("columns typed from text that is not a plain number/date", "odd"),
                       ("columns whose typed values say something else than the text", "changed"),
                       ("columns read with a decimal comma", "decimal_comma")]:
        rows = res[key]
        assert isinstance(rows, list)
        print(f"\n{label}: {len(rows)}")
        for item in rows[: args.show]:
            print("  ", item)
    bad = res["bad_totals"]
    assert isinstance(bad, list)
    print(f"\nrows kept out as totals: {res['n_totals']}; of these, label not a plain total "
          f"(kept out because the row sums the rows above, or by the old rule): {len(bad)}")
    for item in bad[: args.show]:
        print("  ", item)
    losing = res["tables_losing"]
    assert isinstance(losing, set)
    print(f"\ntables with at least one lossy or dubious column: {len(losing)}")
    for f in res["failed"][: args.show]:  # type: ignore[index]
        print("  failed:", f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Audit: do the FeTaQA and AIT-QA tables load into the tables a person sees?

FeTaQA tables are written as CSV (as the evals do). AIT-QA tables, whose headers are
hierarchical, are written as .xlsx with the upper header levels merged over their columns and the
row header levels as leading columns, the way the airline reports lay them out. For each, the
table count, header rows, columns, row count and values are compared with the source.

    .venv/bin/python benchmarks/audit_datasets.py [--show 10]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

sys.path.insert(0, os.environ.get("TABLEPILOT_CODE") or str(Path(__file__).resolve().parents[1]))

from table_io import open_workbook
from table_io.cell_types import is_empty_marker, parse_number

DATA = Path("/work/shared/data")
skipped = 0


def lost_values(raw_rows: list[list[str]], frame: pd.DataFrame, kinds: dict[str, str]) -> list[str]:
    out = []
    for j, col in enumerate(frame.columns):
        if kinds[col] == "text":
            continue
        for i, value in enumerate(frame[col].tolist()):
            src = raw_rows[i][j] if i < len(raw_rows) and j < len(raw_rows[i]) else ""
            if not is_empty_marker(src) and pd.isna(value):
                out.append(f"{col}[{i}]={src!r}")
    return out


def csv_tables(examples: list[tuple[str, list[list[str]]]], problems: list[str]) -> int:
    """Each (id, rows) written as CSV the way the evals write it, read back and compared."""
    for ident, rows in examples:
        buf = io.StringIO()
        csv.writer(buf, escapechar="\\", doublequote=False).writerows(rows)
        t = open_workbook(buf.getvalue().encode(), name=f"t-{ident}.csv").tables[0]
        body = [r for r in rows[1:] if any(c.strip() for c in r)]
        if len(t.columns) != len(rows[0]):
            problems.append(f"{ident}: {len(t.columns)} columns, source {len(rows[0])}")
        if t.n_rows + len(t.total_row_numbers) != len(body):
            problems.append(f"{ident}: {t.n_rows}+{len(t.total_row_numbers)} rows, source {len(body)}")
        lost = lost_values([rows[r - 1] for r in t.row_numbers], t.frame, t.meta["column_types"])
        if lost:
            problems.append(f"{ident}: values lost {lost[:3]}")
    return len(examples)


def fetaqa(problems: list[str]) -> int:
    with (DATA / "fetaqa" / "fetaQA-v1_dev.jsonl").open() as fh:
        examples = [(str(ex["feta_id"]), ex["table_array"]) for ex in map(json.loads, fh)]
    return csv_tables(examples, problems)


def aitqa_csv(problems: list[str]) -> int:
    """AIT-QA flattened to one header row, as ``evals.aitqa`` gives it to the agent."""
    from evals.aitqa import table_rows

    with (DATA / "aitqa" / "aitqa_tables.jsonl").open() as fh:
        examples = [(t["id"], table_rows(t)) for t in map(json.loads, fh)]
    return csv_tables(examples, problems)


def aitqa_workbook(table: dict[str, Any]) -> tuple[bytes, int, int, list[str]]:
    """(xlsx bytes, header depth, row-label columns, expected flattened column names)."""
    col_paths = [[p.strip() for p in path] for path in table["column_header"]]
    depth = max(len(p) for p in col_paths)
    col_paths = [p + [""] * (depth - len(p)) for p in col_paths]
    row_paths = table["row_header"] or []
    row_depth = max((len(p) for p in row_paths), default=0)
    wb = openpyxl.Workbook()
    ws = wb.active
    lead = row_depth
    for level in range(depth):
        j = 0
        while j < len(col_paths):
            label = col_paths[j][level]
            k = j
            while (k + 1 < len(col_paths) and col_paths[k + 1][: level + 1] == col_paths[j][: level + 1]
                   and level < depth - 1):
                k += 1
            if label:
                ws.cell(level + 1, lead + j + 1, label)
                if k > j:
                    ws.merge_cells(start_row=level + 1, start_column=lead + j + 1, end_row=level + 1,
                                   end_column=lead + k + 1)
            j = k + 1
    for level in range(row_depth):
        ws.cell(depth, level + 1, "Item" if level == row_depth - 1 else f"Group {level + 1}")
    for i, data in enumerate(table["data"]):
        labels = row_paths[i] if i < len(row_paths) else []
        labels = [""] * (row_depth - len(labels)) + list(labels)
        for j, v in enumerate([*labels, *data]):
            if v != "":
                number = parse_number(v) if j >= row_depth else None  # Excel holds numbers
                ws.cell(depth + 1 + i, j + 1, v if number is None or "%" in v else number)
    buf = io.BytesIO()
    wb.save(buf)
    names = [("Item" if lvl == row_depth - 1 else f"Group {lvl + 1}") for lvl in range(row_depth)]
    for p in col_paths:
        parts: list[str] = []
        for x in p:
            if x and (not parts or parts[-1] != x):
                parts.append(x)
        names.append(" ".join(" ".join(parts).split()))
    return buf.getvalue(), depth, row_depth, names


def regular(table: dict[str, Any]) -> bool:
    """Header paths a sheet can show: each level groups the one below (no level repeats in
    another order), at most 3 levels."""
    paths = table["column_header"]
    depth = max(len(p) for p in paths)
    if depth > 3 or any(len(p) != depth for p in paths):
        return False
    for level in range(depth - 1):  # an upper label spans one run of columns
        runs = [p[level] for i, p in enumerate(paths) if i == 0 or paths[i - 1][: level + 1] != p[: level + 1]]
        if len(runs) != len(set(runs)):
            return False
    return all(p[-1].strip() for p in paths)


def aitqa(problems: list[str]) -> int:
    global skipped
    n = 0
    with (DATA / "aitqa" / "aitqa_tables.jsonl").open() as fh:
        for line in fh:
            table = json.loads(line)
            if not regular(table):
                skipped += 1
                continue
            data, depth, _lead, names = aitqa_workbook(table)
            book = open_workbook(data, name=f"{table['id']}.xlsx")
            n += 1
            if len(book.tables) != 1:
                problems.append(f"aitqa {table['id']}: {len(book.tables)} tables "
                                f"{[(t.range, t.header_rows) for t in book.tables]}")
                continue
            t = book.tables[0]
            if len(t.header_rows) != depth:
                problems.append(f"aitqa {table['id']}: header rows {t.header_rows}, source depth {depth}")
            if t.n_rows + len(t.total_row_numbers) != len(table["data"]):
                problems.append(f"aitqa {table['id']}: {t.n_rows}+{len(t.total_row_numbers)} rows, "
                                f"source {len(table['data'])}")
            want = [n.casefold() for n in names]
            got = [c.casefold() for c in t.original_headers]
            if got != want:
                diff = [(g, w) for g, w in zip(got, want, strict=False) if g != w][:2]
                problems.append(f"aitqa {table['id']}: columns differ {diff}")
    return n


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", type=int, default=15)
    args = parser.parse_args()
    for label, fn in [("FeTaQA dev (CSV)", fetaqa), ("AIT-QA flattened (CSV)", aitqa_csv),
                      ("AIT-QA (.xlsx, merged headers)", aitqa)]:
        problems: list[str] = []
        n = fn(problems)
        extra = f" ({skipped} AIT-QA tables with irregular header paths skipped)" if fn is aitqa else ""
        print(f"{label}: {n} tables, {len(problems)} problems{extra}")
        for p in problems[: args.show]:
            print("  ", p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

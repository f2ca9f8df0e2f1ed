"""`tablepilot inspect FILE`: show what tablepilot found in a file, and let the user correct it.

    tablepilot inspect book.xlsx
    tablepilot inspect book.xlsx --range report_1=A4:E9 --header-rows report_1=2
    tablepilot inspect book.xlsx --range "Sales!B3:F20" --head 5 --json
"""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import print_json, print_styled, with_examples
from table_io.describe import describe, plain_value

__all__ = ["describe", "plain_value", "register", "render"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="show the sheets and tables found in a file (ranges, headers, types)",
        description="Print each sheet and table that tablepilot finds in FILE: cell range, header "
        "rows, row count, column names and types, hidden sheets/rows/columns, totals and notes.",
        **with_examples(
            "tablepilot inspect app/examples/sales_2025.xlsx",
            'tablepilot inspect app/examples/sales_2025.xlsx --range "Orders!A2:G39" --head 5',
            "tablepilot inspect book.xlsx --range report_1=A4:E9 --header-rows report_1=2 --json"),
    )
    parser.add_argument("file", help="a .xlsx .xlsm .xls .ods .csv .tsv or .parquet file")
    parser.add_argument(
        "--range", action="append", default=[], metavar="TABLE=RANGE",
        help="re-cut a table: TABLE is a table or sheet name, RANGE like A4:E9; or give "
        "'Sheet!A4:E9' alone (repeatable)",
    )
    parser.add_argument(
        "--header-rows", action="append", default=[], metavar="TABLE=N",
        help="how many rows of TABLE's range are header rows (repeatable)",
    )
    parser.add_argument("--head", type=int, default=0, metavar="N", help="also print the first N data rows")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(func=run)


def overrides_from_args(ranges: list[str], header_rows: list[str]) -> dict[str, dict[str, Any]]:
    """`--range` / `--header-rows` values as the `overrides` argument of open_workbook."""
    out: dict[str, dict[str, Any]] = {}
    for item in ranges:
        if "=" in item:
            key, rng = item.split("=", 1)
            out.setdefault(key.strip(), {})["range"] = rng.strip()
        else:
            out.setdefault(item.strip(), {})
    for item in header_rows:
        key, _, count = item.partition("=")
        if not count.strip().isdigit():
            raise SystemExit(f"error: --header-rows wants TABLE=N, got {item!r}")
        out.setdefault(key.strip(), {})["header_rows"] = int(count)
    return out


def run(args: argparse.Namespace) -> int:
    from table_io import open_workbook

    overrides = overrides_from_args(args.range, args.header_rows)
    workbook = open_workbook(args.file, overrides=overrides or None)
    if args.json:
        print_json(describe(workbook, head=args.head))
    else:
        print_styled(render(workbook, head=args.head), STYLES)
    return 0


# How `render`'s lines look on a terminal: by what each line starts with.
STYLES = [
    (r"^\S", "bold"),  # the file, or a sheet
    (r"^  warning: ", "yellow"),
    (r"^  table ", "bold cyan"),
    (r"^    note: ", "yellow"),
    (r"^    \| ", "dim"),
    (r"^    (title|total rows|hidden rows|indented)", "dim"),
]


def _rows(numbers: list[int]) -> str:
    if not numbers:
        return "-"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"{numbers[0]}-{numbers[-1]}"
    shown = ", ".join(str(n) for n in numbers[:12])
    return shown + (f" (+{len(numbers) - 12} more)" if len(numbers) > 12 else "")


def render(workbook: Any, head: int = 0) -> str:
    data = describe(workbook, head=head)
    n_tables = sum(len(s["tables"]) for s in data["sheets"])
    lines = [f"{data['source']} ({data['format']}): {len(data['sheets'])} sheet(s), {n_tables} table(s)"]
    for warning in data["warnings"]:
        lines.append(f"  warning: {warning}")
    for sheet in data["sheets"]:
        flags = " [hidden sheet]" if sheet["hidden"] else ""
        lines.append(f"\nsheet {sheet['name']!r}{flags}: {sheet['rows']} rows x {sheet['columns']} columns")
        if sheet["hidden_rows"]:
            lines.append(f"  hidden rows: {_rows(sheet['hidden_rows'])}")
        if sheet["hidden_columns"]:
            lines.append(f"  hidden columns: {', '.join(sheet['hidden_columns'])}")
        if sheet["merged_ranges"]:
            lines.append(f"  merged cells: {', '.join(sheet['merged_ranges'][:10])}")
        if not sheet["tables"]:
            lines.append("  (no table)")
        for piece in data.get("set_aside", []):
            if piece["sheet"] == sheet["name"]:
                shown = f" ({piece['preview']!r})" if piece.get("preview") else ""
                lines.append(f"  set aside {piece['range']}: {piece['reason']}{shown}")
        for t in sheet["tables"]:
            lines.append(
                f"  table {t['name']}  range {t['range']}  header rows {_rows(t['header_rows'])}  "
                f"{t['rows']} data rows x {len(t['columns'])} columns"
                + ("  (loaded by DuckDB)" if t.get("loaded_by") else "")
            )
            if t["title"]:
                lines.append(f"    title: {t['title']}")
            lines.append("    columns: " + ", ".join(
                f"{c['name']} ({c['type']}" + (f"; {c['from_text']}" if c.get("from_text") else "") + ")"
                for c in t["columns"]
            ))
            if t["total_rows"]:
                lines.append(f"    total rows (kept out of the data): {_rows(t['total_rows'])}")
            if t["hidden_rows"]:
                lines.append(f"    hidden rows in the data: {_rows(t['hidden_rows'])}")
            if t["row_levels"]:
                lines.append(f"    indented row labels: levels {sorted(set(t['row_levels']))}")
            if t.get("filled_down"):
                lines.append(f"    group labels filled down: {', '.join(t['filled_down'])}")
            for note in t["notes"]:
                lines.append(f"    note: {note}")
            for row in t.get("head", []):
                lines.append("    | " + " | ".join("" if v is None else str(v) for v in row))
    return "\n".join(lines)

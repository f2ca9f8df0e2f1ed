"""Build the bundled example workbook: `python app/examples/make_examples.py`.

`sales_2025.xlsx` looks like a real report: two sheets, each with a title row above the
header, number formats, a frozen header and a Total row at the bottom. Values are fixed
(seeded), so rebuilding gives the same cells.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE / "sales_2025.xlsx"

REGIONS = [
    ("North", "Alice Martin"),
    ("South", "Bruno Costa"),
    ("East", "Chen Wei"),
    ("West", "Dana Okafor"),
    ("Central", "Emil Novak"),
]
PRODUCTS = [("Laptop", 1150.0), ("Monitor", 240.0), ("Keyboard", 45.0), ("Headset", 85.0),
            ("Docking station", 190.0)]

TITLE = Font(bold=True, size=14)
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
TOTAL = Font(bold=True)
TOP_LINE = Border(top=Side(style="thin"))
MONEY = '#,##0.00 "USD"'


def _header(ws, row: int, names: list[str]) -> None:
    for j, name in enumerate(names, start=1):
        cell = ws.cell(row=row, column=j, value=name)
        cell.font, cell.fill = HEADER, HEADER_FILL
        cell.alignment = Alignment(horizontal="center")


def _total_row(ws, row: int, label: str, totals: dict[int, float], fmt: str) -> None:
    ws.cell(row=row, column=1, value=label).font = TOTAL
    for col, value in totals.items():
        cell = ws.cell(row=row, column=col, value=value)
        cell.font, cell.number_format = TOTAL, fmt
    for j in range(1, ws.max_column + 1):
        ws.cell(row=row, column=j).border = TOP_LINE


def regions_sheet(wb: Workbook, rng: random.Random) -> None:
    ws = wb.active
    ws.title = "Regions"
    ws["A1"] = "Quarterly sales by region, 2025 (USD)"
    ws["A1"].font = TITLE
    quarters = ["Q1", "Q2", "Q3", "Q4"]
    _header(ws, 3, ["Region", "Manager", *quarters, "Target"])
    row = 4
    sums = {c: 0.0 for c in range(3, 8)}
    for region, manager in REGIONS:
        base = rng.randint(180, 420) * 1000
        values = [round(base * rng.uniform(0.85, 1.25), -2) for _ in quarters]
        target = round(base * 4.2, -3)
        ws.cell(row=row, column=1, value=region)
        ws.cell(row=row, column=2, value=manager)
        for j, value in enumerate([*values, target], start=3):
            ws.cell(row=row, column=j, value=value).number_format = "#,##0"
            sums[j] += value
        row += 1
    # Literal totals (not formulas): a file written by a library has no cached formula values.
    _total_row(ws, row, "Total", sums, "#,##0")
    ws.freeze_panes = "A4"
    for j, width in enumerate([12, 16, 12, 12, 12, 12, 12], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width


def orders_sheet(wb: Workbook, rng: random.Random) -> None:
    ws = wb.create_sheet("Orders")
    ws["A1"] = "Order log, 2025"
    ws["A1"].font = TITLE
    _header(ws, 2, ["Order ID", "Date", "Region", "Product", "Units", "Unit price", "Revenue"])
    row = 3
    start = dt.date(2025, 1, 6)
    units_sum = revenue_sum = 0.0
    for i in range(36):
        region = rng.choice(REGIONS)[0]
        product, price = rng.choice(PRODUCTS)
        units = rng.randint(1, 40)
        revenue = round(units * price, 2)
        ws.cell(row=row, column=1, value=f"SO-{1001 + i}")
        ws.cell(row=row, column=2, value=start + dt.timedelta(days=10 * i)).number_format = (
            "yyyy-mm-dd"
        )
        ws.cell(row=row, column=3, value=region)
        ws.cell(row=row, column=4, value=product)
        ws.cell(row=row, column=5, value=units)
        ws.cell(row=row, column=6, value=price).number_format = MONEY
        ws.cell(row=row, column=7, value=revenue).number_format = MONEY
        units_sum += units
        revenue_sum += revenue
        row += 1
    _total_row(ws, row, "Total", {5: units_sum, 7: round(revenue_sum, 2)}, "#,##0.00")
    ws.cell(row=row, column=5).number_format = "#,##0"
    ws.freeze_panes = "A3"
    for j, width in enumerate([10, 12, 10, 18, 8, 14, 14], start=1):
        ws.column_dimensions[get_column_letter(j)].width = width


def build(path: Path = EXAMPLE) -> Path:
    rng = random.Random(2025)
    wb = Workbook()
    regions_sheet(wb, rng)
    orders_sheet(wb, rng)
    wb.properties.creator = "tablepilot examples"
    wb.save(path)
    return path


if __name__ == "__main__":
    out = build(Path(sys.argv[1]) if len(sys.argv) > 1 else EXAMPLE)
    print(f"wrote {out}")

"""Sheet-tool benchmark: 100 actions applied and saved on a 5,000-row styled workbook, and the
recalculation of 1,000 formulas.

    .venv/bin/python benchmarks/bench_sheet.py [--rows 5000] [--formulas 1000] [--single 5]

Prints a table; the ratio compares one 100-action batch (one load, one save) with the obvious
alternative, one version per action (measured on --single actions and scaled to 100).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

import openpyxl
from openpyxl.styles import Border, Font, PatternFill, Side

from table_io.recalc import recalculate
from table_io.versions import VersionStore
from tools.sheet import SheetTool


def styled_workbook(path: Path, rows: int) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["id", "region", "product", "units", "price", "discount", "date", "rep", "channel", "note"])
    rng = random.Random(7)
    thin = Side(style="thin")
    for i in range(2, rows + 2):
        ws.append([i - 1, rng.choice(["North", "South", "East", "West"]), f"P{rng.randint(1, 40)}",
                   rng.randint(1, 500), round(rng.uniform(1, 99), 2), round(rng.uniform(0, 0.3), 3),
                   f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", f"rep{rng.randint(1, 30)}",
                   rng.choice(["web", "store", "phone"]), "ok"])
        ws.cell(i, 5).number_format = "#,##0.00"
        ws.cell(i, 6).number_format = "0.0%"
        if i % 2:
            for c in range(1, 11):
                ws.cell(i, c).fill = PatternFill("solid", fgColor="F2F2F2")
        ws.cell(i, 1).border = Border(left=thin, right=thin)
    for c in range(1, 11):
        ws.cell(1, c).font = Font(bold=True, color="FFFFFF")
        ws.cell(1, c).fill = PatternFill("solid", fgColor="305496")
    ws.freeze_panes = "A2"
    wb.save(path)
    return path


def hundred_actions(rows: int) -> list[dict]:
    actions: list[dict] = []
    for k in range(40):
        actions.append({"action": "write", "sheet": "Data", "range": f"J{2 + k * 97 % rows}", "values": f"note {k}"})
    for k in range(20):
        actions.append({"action": "format", "sheet": "Data", "range": f"D{2 + k * 211 % rows}:F{3 + k * 211 % rows}",
                        "bold": True, "fill": "light yellow"})
    for k in range(10):
        actions.append({"action": "cond_format", "sheet": "Data", "range": f"D2:D{rows + 1}", "rule": "cell",
                        "op": "gt", "value": 400 + k, "fill": "light red"})
    for k in range(10):
        actions.append({"action": "size", "sheet": "Data", "cols": "ABCDEFGHIJ"[k], "width": 12 + k})
    for k in range(10):
        actions.append({"action": "merge", "sheet": "Data", "range": f"L{2 + 3 * k}:M{2 + 3 * k}"})
    actions.append({"action": "sort", "sheet": "Data", "by": ["region", "units"], "desc": [False, True]})
    actions.append({"action": "filter", "sheet": "Data", "column": "channel", "value": "web"})
    actions.append({"action": "summary", "sheet": "Data", "rows": ["region"], "values": ["units"], "to_sheet": "Summary"})
    actions.append({"action": "chart", "sheet": "Summary", "type": "column", "data": "B1:B5", "labels": "A2:A5"})
    actions.append({"action": "convert", "sheet": "Data", "range": f"G2:G{rows + 1}", "to": "date"})
    actions.append({"action": "freeze", "sheet": "Data", "cell": "B2"})
    actions.append({"action": "validate", "sheet": "Data", "range": f"I2:I{rows + 1}", "kind": "list",
                    "values": ["web", "store", "phone"]})
    actions.append({"action": "hide", "sheet": "Data", "cols": "K"})
    actions.append({"action": "link", "sheet": "Data", "cell": "N1", "url": "https://example.com"})
    actions.append({"action": "insert_cols", "sheet": "Data", "at": "K"})
    assert len(actions) == 100, len(actions)
    return actions


def formula_workbook(path: Path, n: int) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["a", "b", "sum", "label", "lookup"])
    for i in range(2, n // 4 + 2):
        ws.append([i, i * 3, f"=A{i}+B{i}", f'=IF(C{i}>100,"big","small")', f"=VLOOKUP(A{i},A$2:B${n // 4 + 1},2,FALSE)"])
    ws["G1"] = f"=SUM(C2:C{n // 4 + 1})"
    for i in range(2, n - 3 * (n // 4) + 1):
        ws[f"G{i}"] = f"=G{i - 1}+1"
    wb.save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--formulas", type=int, default=1000)
    parser.add_argument("--single", type=int, default=5, help="actions run one version each (the alternative)")
    args = parser.parse_args()
    table: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        source = styled_workbook(tmp / "styled.xlsx", args.rows)
        actions = hundred_actions(args.rows)

        tool = SheetTool(VersionStore(source, tmp / "batch"))
        started = time.perf_counter()
        result = tool({"actions": actions})
        batch = time.perf_counter() - started
        assert result.ok, result.observation
        table.append((f"100 actions, one batch, {args.rows:,} rows (apply+save+diff)", batch,
                      f"{len(result.payload['changes']):,} cell changes"))

        single_tool = SheetTool(VersionStore(source, tmp / "single"))
        started = time.perf_counter()
        for action in actions[: args.single]:
            assert single_tool({"actions": [action]}).ok
        per_action = (time.perf_counter() - started) / args.single
        table.append((f"one version per action (x{args.single}, scaled to 100)", per_action * 100,
                      f"{per_action:.2f} s per action"))

        formulas = formula_workbook(tmp / "formulas.xlsx", args.formulas)
        started = time.perf_counter()
        report = recalculate(formulas)
        recalc = time.perf_counter() - started
        table.append((f"recalculate {report.formulas:,} formulas (formulas pkg + write <v>)", recalc,
                      f"{report.computed:,} values cached"))
        wb = openpyxl.load_workbook(formulas)
        started = time.perf_counter()
        wb.save(tmp / "plain.xlsx")
        plain = time.perf_counter() - started
        table.append(("openpyxl save of the same file, no values (the alternative)", plain, "formulas read as empty"))

        few = openpyxl.load_workbook(source)
        for i in range(2, 12):
            few["Data"].cell(i, 12, f"=D{i}*E{i}")
        few["Data"]["M1"] = "=SUM(D2:D101)"
        few.save(tmp / "few.xlsx")
        started = time.perf_counter()
        recalculate(tmp / "few.xlsx")
        ours = time.perf_counter() - started
        from table_io.recalc import _compute

        started = time.perf_counter()
        _compute(tmp / "few.xlsx")
        stock = time.perf_counter() - started
        table.append((f"recalculate 11 formulas on the {args.rows:,}-row sheet (cells they read only)", ours, ""))
        table.append(("same with the stock formulas ExcelModel (every cell loaded)", stock,
                      f"{stock / max(ours, 1e-9):.1f}x slower"))

    width = max(len(name) for name, _, _ in table)
    print(f"{'measurement'.ljust(width)}  {'seconds':>8}  note")
    for name, seconds, note in table:
        print(f"{name.ljust(width)}  {seconds:8.2f}  {note}")
    print(f"\nbatch vs one-version-per-action: {table[1][1] / table[0][1]:.1f}x faster")
    print(f"recalculation cost over a plain save: {recalc / max(plain, 1e-9):.0f}x "
          f"({recalc / max(report.formulas, 1) * 1000:.1f} ms per formula)")


if __name__ == "__main__":
    main()

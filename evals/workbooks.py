"""Messy-workbook questions: five generated .xlsx files laid out the way real spreadsheets are
(a title over a merged two-row header, two tables side by side, a totals row, the data on a
second sheet beside a hidden scratch sheet, numbers and dates stored as European text), and
twenty questions about them of the kinds users ask.

Everything is generated from fixed seeds: the cell values, and each question's gold answer,
computed in Python from the same rows that are written (never typed by hand). Each question also
carries ``reference_sql`` over the table names and columns ``table_io`` gives the files, so a
test can run it through the sql tool and check that gold, reader and SQL agree. Scoring is the
official WikiTQ denotation check, as for WikiTQ.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from evals.tasks import EvalItem, EvalTask, format_item
from evals.wikitq_scoring import check_denotation, to_value_list

VERSION = 1  # names the folder the files are written to; bump when the set changes meaning
SEED = 20241


@dataclass(frozen=True)
class WorkbookQuestion:
    """One question about one generated workbook; ``gold`` holds the answer items as text."""

    workbook: str  # file name
    question: str
    gold: list[str]
    category: str
    reference_sql: str


@dataclass
class GeneratedWorkbook:
    """A workbook built in memory (``book``), to be saved as ``file_name``, and its questions."""

    file_name: str
    book: Workbook
    questions: list[WorkbookQuestion]


def _gold(*values: Any) -> list[str]:
    return [format_item(v) for v in values]


def _only_best(scores: Mapping[str, float], *, highest: bool = True) -> str:
    """The key with the highest (lowest) score; an error when it is tied, since a tied argmax
    question would have two right answers."""
    best = max(scores.values()) if highest else min(scores.values())
    keys = [k for k, v in scores.items() if v == best]
    if len(keys) != 1:
        raise ValueError(f"argmax/argmin tie between {keys}: change the seed")
    return keys[0]


def _write_rows(ws: Worksheet, top: int, left: int, rows: Iterable[Iterable[Any]]) -> None:
    for i, row in enumerate(rows):
        for j, value in enumerate(row):
            if value is not None:
                ws.cell(row=top + i, column=left + j, value=value)


def _bold_row(ws: Worksheet, row: int, left: int, width: int) -> None:
    for j in range(width):
        ws.cell(row=row, column=left + j).font = Font(bold=True)


def _eu_number(x: float, decimals: int | None = None) -> str:
    """1234.5 -> '1.234,50' (decimals=2); 7.5 -> '7,5', 8.0 -> '8' (None: the digits needed)."""
    text = f"{x:,.{decimals}f}" if decimals is not None else f"{x:,}".rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _accounting(x: int) -> str:
    """-1250 -> '(1,250)', 1250 -> '1,250'."""
    return f"({-x:,})" if x < 0 else f"{x:,}"


# ---------------------------------------------------------------- 1 sales: title + two-row header

_REGIONS = {"North": ["Anna Berg", "Jonas Lund", "Mia Holm", "Erik Dahl"],
            "South": ["Carla Ruiz", "Tomas Vidal", "Lucia Mora", "Pablo Sanz"],
            "East": ["Piotr Nowak", "Ewa Kowal", "Jan Zelinski", "Olga Marek"],
            "West": ["Liam Byrne", "Aoife Walsh", "Sean Doyle", "Niamh Kelly"]}


def sales_workbook(rng: random.Random) -> GeneratedWorkbook:
    """Sheet 'Sales 2024': a merged title, a note line, a header over two rows (Revenue and
    Units over Q1 | Q2), sixteen reps grouped by region, each group closed by a 'North Total'
    row of SUM formulas, then a Grand Total row and a source note."""
    rows = [(region, rep, rng.randrange(60, 240) * 100, rng.randrange(60, 240) * 100,
             rng.randrange(40, 300), rng.randrange(40, 300))
            for region, reps in _REGIONS.items() for rep in reps]
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Sales 2024"
    ws["A1"] = "Regional Sales 2024"
    ws["A1"].font = Font(bold=True, size=14)
    ws.merge_cells("A1:F1")
    ws["A2"] = "All revenue figures in EUR"
    _write_rows(ws, 4, 1, [["Region", "Sales rep", "Revenue", None, "Units", None],
                           [None, None, "Q1", "Q2", "Q1", "Q2"]])
    for rng_a1 in ("A4:A5", "B4:B5", "C4:D4", "E4:F4"):
        ws.merge_cells(rng_a1)
    _bold_row(ws, 4, 1, 6)
    _bold_row(ws, 5, 1, 6)
    row, subtotal_rows = 6, []
    for region in _REGIONS:
        block = [r for r in rows if r[0] == region]
        _write_rows(ws, row, 1, block)
        end = row + len(block)
        _write_rows(ws, end, 1, [[f"{region} Total", None,
                                  *(f"=SUM({c}{row}:{c}{end - 1})" for c in "CDEF")]])
        _bold_row(ws, end, 1, 6)
        subtotal_rows.append(end)
        row = end + 1
    _write_rows(ws, row, 1, [["Grand Total", None,
                              *("=" + "+".join(f"{c}{r}" for r in subtotal_rows) for c in "CDEF")]])
    _bold_row(ws, row, 1, 6)
    ws.cell(row=row + 2, column=1, value="Source: CRM export, 3 January 2025")

    rep = rows[6]
    west_q2 = [r[3] for r in rows if r[0] == "West"]
    units = {r[1]: r[4] + r[5] for r in rows}
    file_name = "sales_by_region.xlsx"
    t = "sales_2024"
    questions = [
        WorkbookQuestion(file_name, f"What was {rep[1]}'s revenue in Q2?", _gold(rep[3]),
                         "lookup", f"""SELECT "Revenue Q2" FROM {t} WHERE "Sales rep" = '{rep[1]}'"""),
        WorkbookQuestion(file_name, "What was the total Q1 revenue of the East region?",
                         _gold(sum(r[2] for r in rows if r[0] == "East")), "sum",
                         f"""SELECT sum("Revenue Q1") FROM {t} WHERE Region = 'East'"""),
        WorkbookQuestion(file_name, "Which sales rep sold the most units over Q1 and Q2 combined?",
                         _gold(_only_best(units)), "argmax",
                         f"""SELECT "Sales rep" FROM {t} ORDER BY "Units Q1" + "Units Q2" DESC LIMIT 1"""),
        WorkbookQuestion(file_name, "What was the average Q2 revenue per sales rep in the West "
                         "region?", _gold(sum(west_q2) / len(west_q2)), "average",
                         f"""SELECT avg("Revenue Q2") FROM {t} WHERE Region = 'West'"""),
    ]
    return GeneratedWorkbook(file_name, book, questions)


# ---------------------------------------------------------------- 2 staff: two tables side by side

_DEPARTMENTS = [("Engineering", "Grace Hopper", 3), ("Sales", "Dale Carnegie", 2),
                ("Finance", "Luca Pacioli", 4), ("Support", "Florence Night", 1),
                ("Marketing", "Mary Wells", 2)]
_FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonah",
          "Kira", "Leo", "Maya", "Nils", "Omar", "Petra", "Quinn", "Rosa"]
_LAST = ["Alder", "Brook", "Cole", "Drake", "Ellis", "Frost", "Grey", "Hale", "Irwin"]


def staff_workbook(rng: random.Random) -> GeneratedWorkbook:
    """Sheet 'Roster': an 'Employees' table (A3:E21) and a 'Departments' table (H3:J8) side by
    side, each under its own title; start dates are real date cells."""
    names = [f"{first} {rng.choice(_LAST)}" for first in _FIRST]
    staff = []
    for i, name in enumerate(names, start=1):
        dept = _DEPARTMENTS[rng.randrange(len(_DEPARTMENTS))][0]
        start = dt.date(2016, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 8))
        staff.append((f"E{100 + i}", name, dept, rng.choice("ABCD"), start))
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Roster"
    ws["A1"] = "Employees"
    ws["H1"] = "Departments"
    ws["A1"].font = ws["H1"].font = Font(bold=True)
    _write_rows(ws, 3, 1, [["Employee ID", "Name", "Department", "Grade", "Start date"], *staff])
    _write_rows(ws, 3, 8, [["Department", "Manager", "Floor"], *_DEPARTMENTS])
    _bold_row(ws, 3, 1, 5)
    _bold_row(ws, 3, 8, 3)
    for row in range(4, 4 + len(staff)):
        ws.cell(row=row, column=5).number_format = "DD/MM/YYYY"

    floor_of = {d: f for d, _, f in _DEPARTMENTS}
    manager_of = {d: m for d, m, _ in _DEPARTMENTS}
    person = staff[4]
    cutoff = dt.date(2020, 1, 1)
    file_name = "staff_roster.xlsx"
    emp, dep = "roster_employees", "roster_departments"
    questions = [
        WorkbookQuestion(file_name, "How many employees work in Engineering?",
                         _gold(sum(s[2] == "Engineering" for s in staff)), "count",
                         f"SELECT count(*) FROM {emp} WHERE Department = 'Engineering'"),
        WorkbookQuestion(file_name, "How many employees work on floor 2?",
                         _gold(sum(floor_of[s[2]] == 2 for s in staff)), "two-table",
                         f"SELECT count(*) FROM {emp} e JOIN {dep} d ON e.Department = "
                         "d.Department WHERE d.Floor = 2"),
        WorkbookQuestion(file_name, f"Who manages the department {person[1]} works in?",
                         _gold(manager_of[person[2]]), "two-table",
                         f"SELECT d.Manager FROM {emp} e JOIN {dep} d ON e.Department = "
                         f"d.Department WHERE e.Name = '{person[1]}'"),
        WorkbookQuestion(file_name, "How many employees started before 1 January 2020?",
                         _gold(sum(s[4] < cutoff for s in staff)), "date-filter",
                         f"""SELECT count(*) FROM {emp} WHERE "Start date" < DATE '2020-01-01'"""),
    ]
    return GeneratedWorkbook(file_name, book, questions)


# ---------------------------------------------------------------- 3 budget: text numbers + total

_CATEGORIES = ["Salaries", "Travel", "Software", "Hardware", "Training", "Marketing",
               "Office rent", "Consulting", "Insurance", "Events"]


def budget_workbook(rng: random.Random) -> GeneratedWorkbook:
    """Sheet 'FY2024': Budget, Actual and Variance (budget minus actual, overspends in
    accounting brackets: '(1,250)') typed as text with thousands separators, as a CSV import
    leaves them; a Total row under the data and a notes line."""
    rows = []
    for category in _CATEGORIES:
        budget = rng.randrange(10, 400) * 500
        actual = budget + rng.randrange(-60, 60) * 125
        rows.append((category, budget, actual))
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "FY2024"
    _write_rows(ws, 1, 1, [["Cost category", "Budget", "Actual", "Variance", "Owner"]])
    _bold_row(ws, 1, 1, 5)
    owners = ["HR", "Ops", "IT", "IT", "HR", "Sales", "Ops", "Finance", "Finance", "Sales"]
    _write_rows(ws, 2, 1, [(c, f"{b:,}", f"{a:,}", _accounting(b - a), o)
                           for (c, b, a), o in zip(rows, owners, strict=True)])
    total_row = 2 + len(rows)
    budget_total, actual_total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    _write_rows(ws, total_row, 1, [("Total", f"{budget_total:,}", f"{actual_total:,}",
                                    _accounting(budget_total - actual_total))])
    _bold_row(ws, total_row, 1, 5)
    ws.cell(row=total_row + 2, column=1, value="Note: actuals to 31 December, unaudited")

    overspend = {c: a - b for c, b, a in rows}
    lookup = rows[5]
    file_name = "budget_vs_actual.xlsx"
    t = "fy2024"
    questions = [
        WorkbookQuestion(file_name, "What was the total actual spend across all cost categories?",
                         _gold(sum(r[2] for r in rows)), "sum", f"SELECT sum(Actual) FROM {t}"),
        WorkbookQuestion(file_name, "How many cost categories went over budget?",
                         _gold(sum(a > b for _, b, a in rows)), "count",
                         f"SELECT count(*) FROM {t} WHERE Actual > Budget"),
        WorkbookQuestion(file_name, "Which cost category overspent its budget by the most?",
                         _gold(_only_best(overspend)), "argmax",
                         f"""SELECT "Cost category" FROM {t} ORDER BY Actual - Budget DESC LIMIT 1"""),
        WorkbookQuestion(file_name, f"What was the budget for {lookup[0]}?", _gold(lookup[1]),
                         "lookup", f"""SELECT Budget FROM {t} WHERE "Cost category" = '{lookup[0]}'"""),
    ]
    return GeneratedWorkbook(file_name, book, questions)


# ---------------------------------------------------------------- 4 inventory: several sheets

_WAREHOUSES = [("WH-1", "Rotterdam", "Sanne de Vries"), ("WH-2", "Hamburg", "Jonas Becker"),
               ("WH-3", "Lyon", "Claire Martin")]
_ITEMS = [("Hex bolt M8", 0.35), ("Washer 8mm", 0.05), ("Hinge 60mm", 2.4),
          ("Drawer slide", 7.85), ("Cabinet handle", 3.1), ("Wood screw 4x40", 0.08),
          ("Shelf bracket", 1.95), ("Door stop", 4.6)]


def inventory_workbook(rng: random.Random) -> GeneratedWorkbook:
    """Sheets 'Warehouses' (first), 'Stock' (the data, second) and a hidden 'Scratch' sheet of
    old, pre-restock counts in the same shape as 'Stock': an answer read from it is wrong."""
    stock = []
    for i, (item, cost) in enumerate(_ITEMS):
        for code, _, _ in rng.sample(_WAREHOUSES, rng.randrange(1, 4)):
            stock.append((f"SKU-{1000 + 10 * i + int(code[-1])}", item, code,
                          rng.randrange(5, 900), cost))
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Warehouses"
    _write_rows(ws, 1, 1, [["Warehouse", "City", "Manager"], *_WAREHOUSES])
    sheet = book.create_sheet("Stock")
    _write_rows(sheet, 1, 1, [["SKU", "Item", "Warehouse", "Qty on hand", "Unit cost"], *stock])
    scratch = book.create_sheet("Scratch")
    scratch.sheet_state = "hidden"
    _write_rows(scratch, 1, 1, [["SKU", "Item", "Warehouse", "Qty on hand", "Unit cost"],
                                *[(s, i, w, rng.randrange(0, 120), c)
                                  for s, i, w, _, c in stock[::2]]])

    item = _ITEMS[2][0]
    city = _WAREHOUSES[1][1]
    code_of = {c: code for code, c, _ in _WAREHOUSES}
    value = round(sum(q * c for _, _, w, q, c in stock if w == code_of[city]), 2)
    file_name = "inventory.xlsx"
    questions = [
        WorkbookQuestion(file_name, f"How many units of {item} are in stock across all "
                         "warehouses?", _gold(sum(q for _, i, _, q, _ in stock if i == item)),
                         "right-sheet",
                         f"""SELECT sum("Qty on hand") FROM stock WHERE Item = '{item}'"""),
        WorkbookQuestion(file_name, "Which item has the lowest unit cost?",
                         _gold(_only_best({i: c for i, c in _ITEMS}, highest=False)), "argmin",
                         """SELECT Item FROM stock ORDER BY "Unit cost" LIMIT 1"""),
        WorkbookQuestion(file_name, f"What is the total value (quantity times unit cost) of the "
                         f"stock held in the {city} warehouse?", _gold(value), "two-table",
                         """SELECT round(sum(s."Qty on hand" * s."Unit cost"), 2) FROM stock s """
                         f"JOIN warehouses w ON s.Warehouse = w.Warehouse WHERE w.City = '{city}'"),
        WorkbookQuestion(file_name, "How many stock lines have fewer than 100 units on hand?",
                         _gold(sum(q < 100 for _, _, _, q, _ in stock)), "count",
                         """SELECT count(*) FROM stock WHERE "Qty on hand" < 100"""),
    ]
    return GeneratedWorkbook(file_name, book, questions)


# ---------------------------------------------------------------- 5 hours: European text

_PROJECTS = ["Apollo", "Hermes", "Vesta"]
_PEOPLE = ["Sophie", "Lukas", "Marie", "Noah"]


def hours_workbook(rng: random.Random) -> GeneratedWorkbook:
    """Sheet 'Timesheet' as a European export: dates as 'dd/mm/yyyy' text, hours with a decimal
    comma ('7,5'), amounts with thousands dots and a decimal comma ('1.035,00'), all as text."""
    entries = []
    day = dt.date(2024, 2, 26)
    for _ in range(30):
        day += dt.timedelta(days=rng.randrange(1, 4))
        entries.append((day, rng.choice(_PEOPLE), rng.choice(_PROJECTS),
                        rng.randrange(4, 37) / 4))
    rate = {p: 85 + 10 * i for i, p in enumerate(_PEOPLE)}
    book = Workbook()
    ws = book.active
    assert ws is not None
    ws.title = "Timesheet"
    _write_rows(ws, 1, 1, [["Date", "Employee", "Project", "Hours", "Amount (EUR)"]])
    _write_rows(ws, 2, 1, [(d.strftime("%d/%m/%Y"), e, p, _eu_number(h),
                            _eu_number(h * rate[e], 2)) for d, e, p, h in entries])

    person = _PEOPLE[1]
    march = [h for d, e, _, h in entries if e == person and d.month == 3]
    per_day: dict[dt.date, float] = defaultdict(float)
    for d, _, _, h in entries:
        per_day[d] += h
    hermes = [h for _, _, p, h in entries if p == "Hermes"]
    file_name = "project_hours.xlsx"
    questions = [
        WorkbookQuestion(file_name, "How many hours were logged on project Apollo in total?",
                         _gold(sum(h for _, _, p, h in entries if p == "Apollo")), "sum",
                         "SELECT sum(Hours) FROM timesheet WHERE Project = 'Apollo'"),
        WorkbookQuestion(file_name, f"How many hours did {person} log in March 2024?",
                         _gold(sum(march)), "date-filter",
                         f"SELECT sum(Hours) FROM timesheet WHERE Employee = '{person}' AND "
                         "Date >= DATE '2024-03-01' AND Date < DATE '2024-04-01'"),
        WorkbookQuestion(file_name, "What is the average number of hours per timesheet entry "
                         "on project Hermes, rounded to two decimals?",
                         _gold(round(sum(hermes) / len(hermes), 2)), "average",
                         "SELECT round(avg(Hours), 2) FROM timesheet WHERE Project = 'Hermes'"),
        WorkbookQuestion(file_name, "On which date were the most hours logged in total?",
                         _gold(dt.date.fromisoformat(_only_best(
                             {d.isoformat(): h for d, h in per_day.items()}))), "argmax",
                         "SELECT Date FROM timesheet GROUP BY Date ORDER BY sum(Hours) DESC "
                         "LIMIT 1"),
    ]
    return GeneratedWorkbook(file_name, book, questions)


BUILDERS: list[Callable[[random.Random], GeneratedWorkbook]] = [
    sales_workbook, staff_workbook, budget_workbook, inventory_workbook, hours_workbook]


def build_workbooks() -> list[GeneratedWorkbook]:
    """The five workbooks and their questions, in memory; the same on every call."""
    return [build(random.Random(SEED + i)) for i, build in enumerate(BUILDERS)]


def interleaved(workbooks: list[GeneratedWorkbook]) -> list[WorkbookQuestion]:
    """Questions taken round-robin over the workbooks, so a ``--limit`` slice spans them."""
    rounds = max(len(w.questions) for w in workbooks)
    return [w.questions[i] for i in range(rounds) for w in workbooks if i < len(w.questions)]


def fingerprint(book: Workbook) -> str:
    """A digest of what a workbook holds (sheets, visibility, merged ranges, cell values and
    formulas), to tell a cached file written by an older generator from a current one."""
    digest = hashlib.sha256()
    for ws in book.worksheets:
        digest.update(repr((ws.title, ws.sheet_state, sorted(map(str, ws.merged_cells.ranges)),
                            [tuple(r) for r in ws.iter_rows(values_only=True)])).encode())
    return digest.hexdigest()


FINGERPRINTS = "fingerprints.json"


def write_workbooks(folder: Path, workbooks: list[GeneratedWorkbook] | None = None) -> list[Path]:
    """Save each workbook under ``folder`` (atomically) unless the same one is there already:
    a file is rewritten only when it is missing or ``fingerprints.json`` says an older
    generator wrote it."""
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / FINGERPRINTS
    known: dict[str, str] = json.loads(record.read_text()) if record.exists() else {}
    current = dict(known)
    paths = []
    for generated in workbooks if workbooks is not None else build_workbooks():
        dest = folder / generated.file_name
        current[generated.file_name] = fingerprint(generated.book)
        if not dest.exists() or known.get(generated.file_name) != current[generated.file_name]:
            tmp = dest.with_name(f".{dest.name}.tmp")
            generated.book.save(tmp)
            tmp.replace(dest)
        paths.append(dest)
    if current != known:
        tmp = record.with_name(f".{FINGERPRINTS}.tmp")
        tmp.write_text(json.dumps(current, indent=1, sort_keys=True))
        tmp.replace(record)
    return paths


class WorkbooksTask(EvalTask):
    """Messy-workbook questions, scored with the official WikiTQ denotation accuracy."""

    name = "workbooks"

    def __init__(self, folder: Path | str | None = None) -> None:
        """``folder``: where to write the workbooks (default ``<workdir>/workbooks_vN``)."""
        self.given_folder = Path(folder) if folder else None
        self.folder: Path | None = self.given_folder  # the folder of the last load: run.json

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        folder = self.given_folder or (
            (workdir or Path("runs") / "workbooks") / f"workbooks_v{VERSION}")
        self.folder = folder
        workbooks = build_workbooks()
        write_workbooks(folder, workbooks)
        questions = interleaved(workbooks)
        if limit is not None:
            questions = questions[:limit]
        return [
            EvalItem(id=f"wb-{i:02d}", question=q.question, source=str(folder / q.workbook),
                     gold=list(q.gold), category=q.category,
                     extra={"reference_sql": q.reference_sql, "workbook": q.workbook})
            for i, q in enumerate(questions, start=1)
        ]

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        return float(check_denotation(to_value_list(item.gold), to_value_list(prediction)))

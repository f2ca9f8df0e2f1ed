"""The messy-workbook set checks itself: every generated workbook is read back by table_io's
real reader into the tables a user would see, every question's reference SQL run through the
real sql tool gives an answer the task scores right against its computed gold, and the set is
the same on every load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from langchain_core.messages import BaseMessage

from agent import TableAgent
from agent.answer import Answer
from agent.models.scripted import ScriptedChatModel
from agent.values import format_value, frame_value
from app.cli import build_parser
from app.commands.eval import _make_task
from evals.runner import run_eval
from evals.workbooks import FINGERPRINTS, VERSION, WorkbooksTask
from table_io import Workbook, open_workbook
from tools.payloads import sql_payload
from tools.sql import SqlTool


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("workbooks")


@pytest.fixture(scope="module")
def task() -> WorkbooksTask:
    return WorkbooksTask()


@pytest.fixture(scope="module")
def items(task: WorkbooksTask, workdir: Path) -> list[Any]:
    return task.load(workdir=workdir)


@pytest.fixture(scope="module")
def books(items: list[Any]) -> dict[str, Workbook]:
    """Each workbook opened once by the real reader (the formula totals take a few seconds)."""
    return {Path(s).name: open_workbook(s) for s in dict.fromkeys(i.source for i in items)}


# ---------------------------------------------------------------- the reader sees the tables

# file -> {table name: (sheet, columns, data rows, total rows kept out)}
EXPECTED_TABLES: dict[str, dict[str, tuple[str, list[str], int, list[int]]]] = {
    "sales_by_region.xlsx": {
        "sales_2024": ("Sales 2024", ["Region", "Sales rep", "Revenue Q1", "Revenue Q2",
                                      "Units Q1", "Units Q2"], 16, [10, 15, 20, 25, 26])},
    "staff_roster.xlsx": {
        "roster_employees": ("Roster", ["Employee ID", "Name", "Department", "Grade",
                                        "Start date"], 18, []),
        "roster_departments": ("Roster", ["Department", "Manager", "Floor"], 5, [])},
    "budget_vs_actual.xlsx": {
        "fy2024": ("FY2024", ["Cost category", "Budget", "Actual", "Variance", "Owner"], 10,
                   [12])},
    "inventory.xlsx": {
        "warehouses": ("Warehouses", ["Warehouse", "City", "Manager"], 3, []),
        "stock": ("Stock", ["SKU", "Item", "Warehouse", "Qty on hand", "Unit cost"], 17, []),
        "scratch": ("Scratch", ["SKU", "Item", "Warehouse", "Qty on hand", "Unit cost"], 9, [])},
    "project_hours.xlsx": {
        "timesheet": ("Timesheet", ["Date", "Employee", "Project", "Hours", "Amount (EUR)"],
                      30, [])},
}


def test_every_workbook_is_written_in_a_versioned_folder(items: list[Any], workdir: Path) -> None:
    folder = workdir / f"workbooks_v{VERSION}"
    assert sorted(p.name for p in folder.iterdir()) == sorted([*EXPECTED_TABLES, FINGERPRINTS])
    assert {Path(i.source).parent for i in items} == {folder}


@pytest.mark.parametrize("file_name", sorted(EXPECTED_TABLES))
def test_the_reader_finds_the_expected_tables(file_name: str, books: dict[str, Workbook]) -> None:
    book = books[file_name]
    found = {t.name: (t.sheet, t.columns, t.n_rows, t.total_row_numbers) for t in book.tables}
    assert found == EXPECTED_TABLES[file_name]


def test_the_messy_parts_are_read_as_a_user_means_them(books: dict[str, Workbook]) -> None:
    sales = books["sales_by_region.xlsx"].table("sales_2024")
    assert sales.title == "Regional Sales 2024 / All revenue figures in EUR"
    assert sales.header_rows == [4, 5] and sales.notes == ["Source: CRM export, 3 January 2025"]
    # the region subtotals and the grand total (formulas, computed on reading) add up the data
    assert sales.total_rows is not None
    totals = sales.total_rows.set_index("Region")
    assert totals.loc["Grand Total", "Revenue Q1"] == sales.frame["Revenue Q1"].sum()
    assert totals.loc["East Total", "Units Q2"] == \
        sales.frame.loc[sales.frame["Region"] == "East", "Units Q2"].sum()
    roster = books["staff_roster.xlsx"]
    assert [t.title for t in roster.tables] == ["Employees", "Departments"]
    budget = books["budget_vs_actual.xlsx"].table("fy2024")
    assert budget.meta["column_types"]["Actual"] == "integer"
    assert budget.meta["parsed_from_text"]["Actual"] == "number text: thousands separators"
    assert (budget.frame["Variance"] == budget.frame["Budget"] - budget.frame["Actual"]).all()
    assert (budget.frame["Variance"] < 0).any()  # read from '(1,250)'
    inventory = books["inventory.xlsx"]
    assert [(s.name, s.hidden) for s in inventory.sheets] == [
        ("Warehouses", False), ("Stock", False), ("Scratch", True)]
    hours = books["project_hours.xlsx"].table("timesheet")
    assert hours.meta["parsed_from_text"] == {
        "Date": "date text %d/%m/%Y", "Hours": "number text: decimal comma",
        "Amount (EUR)": "number text: decimal comma"}
    assert hours.frame["Hours"].dtype.kind == "f"


# ---------------------------------------------------------------- gold, reader and SQL agree


def test_the_set_spreads_over_the_question_kinds(items: list[Any]) -> None:
    assert [i.id for i in items] == [f"wb-{n:02d}" for n in range(1, 21)]
    kinds = {i.category for i in items}
    assert kinds == {"lookup", "count", "sum", "average", "argmax", "argmin", "right-sheet",
                     "two-table", "date-filter"}
    # a --limit 5 slice already touches every workbook
    assert len({i.extra["workbook"] for i in items[:5]}) == 5


def sql_answer(tool: SqlTool, question: str, query: str) -> Answer:
    """The answer the sql_once strategy makes of a query's result."""
    result = tool({"query": query})
    assert result.error is None, result.error.render()
    payload = sql_payload(result)
    assert payload is not None
    ok, value = frame_value(payload["frame"])
    assert ok
    return Answer(question=question, value=value, text=format_value(value))


def test_every_reference_query_gives_the_gold_answer(task: WorkbooksTask, items: list[Any],
                                                     books: dict[str, Workbook]) -> None:
    tools = {name: SqlTool(book) for name, book in books.items()}
    for item in items:
        answer = sql_answer(tools[item.extra["workbook"]], item.question,
                            item.extra["reference_sql"])
        prediction = task.prediction(answer)
        assert task.score(item, prediction) == 1.0, (item.id, item.gold, prediction)


@pytest.mark.parametrize(("item_id", "trap_sql"), [
    # the hidden scratch sheet holds old counts
    ("wb-04", "SELECT sum(\"Qty on hand\") FROM scratch WHERE Item = 'Hinge 60mm'"),
    # summing over every table of the workbook instead of the right one
    ("wb-19", "SELECT count(*) FROM (SELECT \"Qty on hand\" FROM stock UNION ALL "
              "SELECT \"Qty on hand\" FROM scratch) WHERE \"Qty on hand\" < 100"),
])
def test_the_traps_score_wrong(item_id: str, trap_sql: str, task: WorkbooksTask,
                               items: list[Any], books: dict[str, Workbook]) -> None:
    item = next(i for i in items if i.id == item_id)
    answer = sql_answer(SqlTool(books[item.extra["workbook"]]), item.question, trap_sql)
    assert task.score(item, task.prediction(answer)) == 0.0


def test_scoring_is_the_wikitq_denotation_check(task: WorkbooksTask, items: list[Any]) -> None:
    by_id = {i.id: i for i in items}
    total = by_id["wb-03"]  # the Total row counted twice is wrong
    assert task.score(total, [str(2 * int(total.gold[0]))]) == 0.0
    assert task.score(total, [f"{float(total.gold[0])}"]) == 1.0
    date = by_id["wb-20"]
    assert task.score(date, [date.gold[0]]) == 1.0 and task.score(date, ["2024-01-01"]) == 0.0
    name = by_id["wb-11"]
    assert task.score(name, [name.gold[0].upper()]) == 1.0 and task.score(name, []) == 0.0


# ---------------------------------------------------------------- deterministic, cached


def cell_values(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    book = openpyxl.load_workbook(path)
    return {ws.title: [tuple(row) for row in ws.iter_rows(values_only=True)]
            for ws in book.worksheets}


def test_loads_are_deterministic_and_cached(items: list[Any], workdir: Path,
                                            tmp_path: Path) -> None:
    again = WorkbooksTask().load(workdir=tmp_path)

    def comparable(item: Any) -> dict[str, Any]:
        return {**item.__dict__, "source": Path(item.source).name}

    assert [comparable(i) for i in again] == [comparable(i) for i in items]
    for item in {i.source: i for i in items}.values():
        first, second = Path(item.source), tmp_path / f"workbooks_v{VERSION}" / Path(item.source).name
        assert cell_values(first) == cell_values(second)
    folder = tmp_path / f"workbooks_v{VERSION}"
    cached = {p: p.stat().st_mtime_ns for p in folder.iterdir()}
    WorkbooksTask().load(limit=3, workdir=tmp_path)
    assert {p: p.stat().st_mtime_ns for p in cached} == cached
    # a file an older generator wrote is replaced; the others stay
    stale = folder / "inventory.xlsx"
    stale.write_bytes(b"an older workbook")
    record = json.loads((folder / FINGERPRINTS).read_text())
    (folder / FINGERPRINTS).write_text(json.dumps({**record, stale.name: "older"}))
    WorkbooksTask().load(workdir=tmp_path)
    assert cell_values(stale) == cell_values(workdir / f"workbooks_v{VERSION}" / stale.name)
    assert json.loads((folder / FINGERPRINTS).read_text()) == record
    assert all(p.stat().st_mtime_ns == t for p, t in cached.items()
               if p.name not in (stale.name, FINGERPRINTS))
    assert [i.id for i in WorkbooksTask().load(limit=3, workdir=tmp_path)] == \
        ["wb-01", "wb-02", "wb-03"]


# ---------------------------------------------------------------- the runner runs it


def test_the_cli_knows_the_set() -> None:
    args = build_parser().parse_args(["eval", "workbooks", "--limit", "5"])
    assert args.dataset == "workbooks" and args.limit == 5
    assert isinstance(_make_task(args), WorkbooksTask)


def test_the_runner_scores_a_sql_once_run(task: WorkbooksTask, items: list[Any],
                                          tmp_path: Path) -> None:
    """The eval runner over four questions (one per workbook but the slow sales one), with a
    scripted sql_once model that writes each question's reference SQL: all four right."""
    few = items[1:5]
    sql_of = {i.question: i.extra["reference_sql"] for i in few}

    def responder(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        return next(f"```sql\n{sql}\n```" for q, sql in sql_of.items() if q in prompt)

    agent = TableAgent(ScriptedChatModel(responder), strategy="sql_once")
    outcome = run_eval(task, few, agent, tmp_path / "run", concurrency=1, progress=False,
                       config={"strategy": "sql_once", "model": "scripted"})
    assert (outcome.report["n_correct"], outcome.report["n_total"]) == (4, 4)

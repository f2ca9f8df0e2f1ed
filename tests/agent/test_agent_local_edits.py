"""End to end: the default local model (Qwen2.5-Coder 1.5B on llama.cpp) carries out the edits
people ask for most, on a workbook with a title row and amounts stored as text, through a chat
session (propose, then apply), checked by reading the saved .xlsx back.

Runs when a local engine is there and the default model is fetched (``./scripts/test`` fetches
it). Each request is bounded by the agent's own time limit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from agent.models.local import llama_cpp_available, llama_server_binary
from agent.models.weights import DEFAULT_MODEL, is_fetched

pytestmark = [
    pytest.mark.llm,
    pytest.mark.timeout(1500),
    pytest.mark.skipif(not llama_server_binary() and not llama_cpp_available(),
                       reason="no local engine: run scripts/build-llama-server"),
    pytest.mark.skipif(not is_fetched(DEFAULT_MODEL),
                       reason=f"default model {DEFAULT_MODEL} not fetched (python -m "
                              f"agent.models.weights fetch {DEFAULT_MODEL})"),
]

ROWS = [("2024-03-14", "North", "Tea", 12, 4.5, "1,250.00"),
        ("2024-01-05", "South", "Coffee", 4, 6.0, "980.50"),
        ("2024-02-20", "East", "Tea", 9, 4.5, "2,100.00"),
        ("2024-01-28", "North", "Cocoa", 7, 5.25, "450.25"),
        ("2024-03-02", "South", "Tea", 15, 4.5, "1,775.00"),
        ("2024-02-11", "East", "Coffee", 6, 6.0, "610.00"),
        ("2024-01-17", "West", "Cocoa", 3, 5.25, "320.75"),
        ("2024-03-25", "West", "Tea", 11, 4.5, "1,430.00")]


def orders_book(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws.append(["Orders, Q1 2024"])
    ws.append(["Date", "Region", "Product", "Qty", "Price", "Amount"])
    for day, region, product, qty, price, amount in ROWS:
        ws.append([dt.datetime.fromisoformat(day), region, product, qty, price, amount])
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def agent() -> Iterator[Any]:
    from agent import TableAgent
    from agent.models.local import stop_all

    try:
        yield TableAgent(local=DEFAULT_MODEL, python=False, timeout_s=300)
    finally:
        stop_all()


def data_rows(ws: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows(min_row=3, max_row=2 + len(ROWS))]


def amounts() -> list[float]:
    return [float(a.replace(",", "")) for *_, a in ROWS]


def check_total_column(wb: Any, values: Any) -> None:
    ws, vs = wb["Orders"], values["Orders"]
    header = [c.value for c in ws[2]]
    col = next(i for i, h in enumerate(header) if isinstance(h, str) and h.strip() == "Total")
    got = [vs.cell(r, col + 1).value for r in range(3, 3 + len(ROWS))]
    assert got == pytest.approx([qty * price for *_, qty, price, _ in ROWS])


def check_sorted_oldest_first(wb: Any, values: Any) -> None:
    dates = [row[0] for row in data_rows(wb["Orders"])]
    assert dates == sorted(dates) and len(dates) == len(ROWS)


def check_amounts_are_numbers(wb: Any, values: Any) -> None:
    got = [row[5] for row in data_rows(wb["Orders"])]
    assert got == pytest.approx(amounts())


def check_summary_sheet(wb: Any, values: Any) -> None:
    added = [name for name in values.sheetnames if name != "Orders"]
    assert added, "a new sheet"
    cells = {(str(r[0].value).strip(), r[1].value) for r in values[added[0]].iter_rows()
             if len(r) > 1 and r[0].value is not None}
    totals: dict[str, float] = {}
    for (_, region, *_), amount in zip(ROWS, amounts(), strict=True):
        totals[region] = totals.get(region, 0.0) + amount
    for region, total in totals.items():
        assert any(name == region and isinstance(v, int | float) and abs(v - total) < 0.01
                   for name, v in cells), (region, total, cells)


def check_bar_chart(wb: Any, values: Any) -> None:
    charts = [c for ws in wb.worksheets for c in ws._charts]
    assert charts and charts[0].tagname == "barChart"


CASES: list[tuple[str, Callable[[Any, Any], None]]] = [
    ("Add a column Total that multiplies Qty by Price", check_total_column),
    ("Sort the orders by Date, oldest first", check_sorted_oldest_first),
    ("The Amount column holds numbers stored as text; convert them to numbers",
     check_amounts_are_numbers),
    ("Make a summary of the total Amount per Region on a new sheet", check_summary_sheet),
    ("Add a bar chart of Qty by Product", check_bar_chart),
]


@pytest.mark.parametrize(("request_text", "check"), CASES, ids=[c[1].__name__ for c in CASES])
def test_the_default_model_makes_a_common_edit(agent: Any, tmp_path: Path, request_text: str,
                                               check: Callable[[Any, Any], None]) -> None:
    book = orders_book(tmp_path / "orders.xlsx")
    before = book.read_bytes()
    session = agent.chat(book, workdir=tmp_path / "w", auto_apply=False)
    answer = session.send(request_text)
    trace = [(s.tool, s.input, (s.error or "")[:200]) for s in answer.steps]
    assert answer.status == "ok" and session.pending is not None, (answer.text, trace)
    assert answer.edits and answer.edit_pending and answer.text.startswith(("Proposed", answer.text))
    session.apply_pending()
    saved = session.save(tmp_path / "edited.xlsx")
    check(openpyxl.load_workbook(saved), openpyxl.load_workbook(saved, data_only=True))
    assert book.read_bytes() == before, "the user's file is never changed"

"""Agent overhead per question, and (optionally) the local CPU model's accuracy and speed.

    .venv/bin/python benchmarks/bench_agent.py                # overhead, scripted model
    .venv/bin/python benchmarks/bench_agent.py --local qwen2.5-coder-0.5b   # + the real model

Overhead = everything the agent does for a question except the model's own time: opening the
tools, TAP packing, the Informer's lookups, exemplar retrieval, running the SQL, building
messages and the Answer. Measured on a 10,000-row workbook with a scripted model that answers
instantly (one SQL step, then final_answer); target: median under 50 ms. The obvious
alternative it is compared with is the bare DuckDB query the step runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from langchain_core.messages import ToolMessage

from agent import TableAgent
from agent.models.contract import ChatModel
from agent.models.scripted import ScriptedChatModel, tool_call
from table_io import connect, open_workbook

QUESTIONS = [
    ("What is the total revenue of the North region?",
     "SELECT SUM(revenue) AS total FROM orders WHERE region = 'North'"),
    ("How many orders did customer c42 place?",
     "SELECT COUNT(*) AS n FROM orders WHERE customer = 'c42'"),
    ("Which product sold the most units?",
     "SELECT product FROM orders GROUP BY product ORDER BY SUM(units) DESC LIMIT 1"),
    ("What was the average revenue in 2024?",
     "SELECT AVG(revenue) FROM orders WHERE year(order_date) = 2024"),
]


def make_workbook(folder: Path, rows: int = 10_000) -> Path:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "order_id": np.arange(1, rows + 1),
        "order_date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), "D"),
        "region": rng.choice(["North", "South", "East", "West"], rows),
        "customer": [f"c{i}" for i in rng.integers(0, 2000, rows)],
        "product": rng.choice([f"Product {i}" for i in range(40)], rows),
        "units": rng.integers(1, 50, rows),
        "revenue": rng.normal(200, 50, rows).round(2),
    })
    path = folder / "orders.xlsx"
    frame.to_excel(path, index=False, sheet_name="orders")
    return path


class Timed:
    """Wraps ChatModel.complete (the model contract) to add up the time spent in the model."""

    model_s = 0.0

    def __enter__(self) -> Timed:
        self.original = ChatModel.complete
        timer = self

        def timed(model: ChatModel, *args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return timer.original(model, *args, **kwargs)
            finally:
                timer.model_s += time.perf_counter() - t0

        ChatModel.complete = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        ChatModel.complete = self.original  # type: ignore[method-assign]


def bench_overhead(path: Path, repeats: int) -> None:
    t0 = time.perf_counter()
    workbook = open_workbook(path)
    open_s = time.perf_counter() - t0
    con = connect(workbook)
    totals, overheads, models, bare = [], [], [], []
    script = {q: sql for q, sql in QUESTIONS}

    def respond(messages: list[Any]) -> Any:
        if isinstance(messages[-1], ToolMessage):
            return tool_call("final_answer", answer="")  # "": the last result is the answer
        question = str(messages[-1].content).rsplit("Question: ", 1)[-1].strip()
        return tool_call("sql", query=script[question])

    agent = TableAgent(ScriptedChatModel(respond), python=True)  # one agent, as in a batch
    for r in range(repeats + 1):
        for question, sql in QUESTIONS:
            with Timed() as timer:
                t0 = time.perf_counter()
                answer = agent.ask(workbook, question)
                total = time.perf_counter() - t0
            assert answer.status == "ok", answer.text
            t0 = time.perf_counter()
            con.execute(sql).fetchall()
            bare_s = time.perf_counter() - t0
            if r == 0:
                continue  # warm-up round (first packing, distinct-value cache, imports)
            totals.append(total)
            models.append(timer.model_s)
            overheads.append(total - timer.model_s)
            bare.append(bare_s)
    med = statistics.median
    p90 = lambda xs: sorted(xs)[int(0.9 * (len(xs) - 1))]  # noqa: E731
    print(f"\nagent overhead per question, scripted model, {len(workbook.tables[0].frame):,}-row "
          f"workbook ({len(totals)} questions; workbook opened once in {open_s * 1000:.0f} ms)")
    print(f"{'':34s}{'median':>10s}{'p90':>10s}")
    for name, xs in [("ask() total", totals), ("  of which scripted model calls", models),
                     ("  agent overhead (target < 50 ms)", overheads),
                     ("bare DuckDB query (alternative)", bare)]:
        print(f"{name:34s}{med(xs) * 1000:9.1f}ms{p90(xs) * 1000:9.1f}ms")
    print(f"overhead / bare query: {med(overheads) / max(med(bare), 1e-9):.0f}x; "
          f"target met: {'yes' if med(overheads) < 0.05 else 'NO'}")


LOCAL_QUESTIONS = [
    ("Which city has the largest population?", "Berlin"),
    ("What is the total population of all cities?", 12611000),
    ("What is the population of Oslo?", 709000),
    ("How many cities have a population over 3,000,000?", 2),
    ("In which country is Rome?", "Italy"),
]


def bench_local(name: str, tool_mode: str | None) -> None:
    from agent.models.local import stop_all

    frame = pd.DataFrame({
        "city": ["Oslo", "Paris", "Rome", "Berlin", "Madrid"],
        "country": ["Norway", "France", "Italy", "Germany", "Spain"],
        "population": [709000, 2161000, 2873000, 3645000, 3223000],
    })
    agent = TableAgent(local=name, tool_mode=tool_mode, python=False, max_steps=4, timeout_s=300)
    t0 = time.perf_counter()
    backend = agent.backend
    start_s = time.perf_counter() - t0
    print(f"\nlocal model {backend.describe()} (server start {start_s:.1f}s)")
    correct, seconds = 0, []
    try:
        for question, gold in LOCAL_QUESTIONS:
            t0 = time.perf_counter()
            answer = agent.ask(frame, question)
            seconds.append(time.perf_counter() - t0)
            ok = answer.value == gold
            correct += ok
            print(f"  {'ok ' if ok else 'BAD'} {seconds[-1]:6.1f}s {answer.status:6s} "
                  f"{question!r} -> {answer.value!r} (gold {gold!r}; {len(answer.steps)} steps, "
                  f"{answer.tokens_in}/{answer.tokens_out} tokens)")
    finally:
        stop_all()
    print(f"accuracy {correct}/{len(LOCAL_QUESTIONS)}; median {statistics.median(seconds):.1f} "
          f"s/question, mean {statistics.mean(seconds):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--local", action="append", default=[],
                        help="also run the 5 simple questions on this local model (repeatable)")
    parser.add_argument("--tool-mode", choices=["native", "text"], default=None)
    parser.add_argument("--no-overhead", action="store_true")
    args = parser.parse_args()
    if not args.no_overhead:
        with tempfile.TemporaryDirectory() as tmp:
            bench_overhead(make_workbook(Path(tmp)), args.repeats)
    for name in args.local:
        bench_local(name, args.tool_mode)


if __name__ == "__main__":
    main()

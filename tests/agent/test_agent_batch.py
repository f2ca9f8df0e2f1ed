"""Batch runs: bounded concurrency, streamed JSONL results, interruption and resume."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent import TableAgent
from agent.batch import load_items, read_done
from agent.models.scripted import ScriptedChatModel, tool_call

REPO = Path(__file__).resolve().parents[2]


def arithmetic_model(delay: float = 0.0) -> ScriptedChatModel:
    """Asks SQL to add one to the number in the question, then answers with the result."""

    def respond(messages: list[BaseMessage]) -> AIMessage:
        if delay:
            time.sleep(delay)
        if isinstance(messages[-1], ToolMessage):
            return tool_call("final_answer", answer="")  # "" = the last result
        n = int(re.findall(r"number (\d+)", str(messages[-1].content))[-1])
        return tool_call("sql", query=f"SELECT {n} + 1 AS v")

    return ScriptedChatModel(respond)


def make_items(source: Path, n: int = 50) -> list[dict[str, Any]]:
    return [{"id": f"q{i}", "source": str(source), "question": f"What is number {i} plus one?",
             "gold": i + 1} for i in range(n)]


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_batch_interrupted_and_resumed_answers_each_item_once(sales_xlsx: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    items = make_items(sales_xlsx)
    agent = TableAgent(arithmetic_model(), python=False)
    first = []
    for item_id, _answer in agent.batch(items, concurrency=8, out=out, progress=False):
        first.append(item_id)
        if len(first) == 20:
            break  # interrupted
    assert len(lines_of(out)) == 20
    with out.open("a") as fh:  # a process killed in the middle of a line
        fh.write('{"id": "q49", "answer": {"val')
    model = arithmetic_model()
    agent = TableAgent(model, python=False)
    second = [item_id for item_id, _ in agent.batch(items, concurrency=8, out=out,
                                                    progress=False)]
    assert len(second) == 30 and not set(first) & set(second)
    records = lines_of(out)  # every line is valid JSON again
    ids = [r["id"] for r in records]
    assert sorted(ids) == sorted(i["id"] for i in items) and len(ids) == len(set(ids)) == 50
    for r in records:
        assert r["answer"]["status"] == "ok" and r["answer"]["value"] == r["gold"]
    # each model conversation of the second run was for an item not finished before
    asked = {re.findall(r"number (\d+)", str(c[-1].content))[-1]
             for c in model.calls if not isinstance(c[-1], ToolMessage)}
    assert {f"q{n}" for n in asked} == set(second)
    # a third run has nothing left to do
    assert list(agent.batch(items, out=out, progress=False)) == []


def test_batch_survives_a_killed_process(sales_xlsx: Path, tmp_path: Path) -> None:
    out = tmp_path / "killed.jsonl"
    items_file = tmp_path / "items.jsonl"
    items_file.write_text("".join(json.dumps(i) + "\n" for i in make_items(sales_xlsx)))
    script = tmp_path / "run_batch.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_agent_batch import arithmetic_model
        from agent import TableAgent
        from agent.batch import load_items
        agent = TableAgent(arithmetic_model(delay=0.05), python=False)
        for _ in agent.batch(load_items({str(items_file)!r}), concurrency=8,
                             out={str(out)!r}, progress=False):
            pass
    """))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_text().count("\n") >= 10:
            break
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail(f"batch process ended early: {proc.stderr.read().decode()[-2000:]}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = read_done(out)
    assert 10 <= len(done_before) < 50
    agent = TableAgent(arithmetic_model(), python=False)
    rest = [i for i, _ in agent.batch(load_items(items_file), concurrency=8, out=out,
                                      progress=False)]
    assert not set(rest) & set(done_before)
    ids = [r["id"] for r in lines_of(out)]
    assert len(ids) == len(set(ids)) == 50


def test_a_workbook_that_fails_to_load_is_reported_and_the_rest_go_on(
        sales_xlsx: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    items = [*make_items(sales_xlsx, 3), {"id": "bad", "source": str(broken), "question": "number 1?"}]
    out = tmp_path / "out.jsonl"
    results = dict(TableAgent(arithmetic_model(), python=False).batch(
        items, concurrency=2, out=out, progress=False))
    assert results["bad"].status == "error" and "broken.xlsx" in results["bad"].text
    assert all(results[f"q{i}"].status == "ok" for i in range(3))
    assert len(lines_of(out)) == 4


def test_load_items_resolves_relative_sources(sales_xlsx: Path) -> None:
    items_file = sales_xlsx.parent / "items.jsonl"
    items_file.write_text(json.dumps({"source": sales_xlsx.name, "question": "q"}) + "\n")
    (item,) = load_items(items_file)
    assert item["source"] == str(sales_xlsx) and item["id"] == "1"

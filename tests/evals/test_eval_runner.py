"""The runner end to end: 20 WikiTQ dev questions through the real TableAgent with a scripted
chat model (the only double), interrupted and resumed, then the report files and compare."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call
from app.cli import main
from evals.compare import compare_runs, render_comparison
from evals.runner import run_eval
from evals.tasks import EvalItem, WikiTQTask, load_slice
from evals.wikitq import dev_questions_path, tagged_path_for
from evals.wikitq_scoring import read_predictions, score_file
from table_io import open_workbook

DEV = dev_questions_path()
pytestmark = pytest.mark.skipif(not DEV.exists(), reason=f"WikiTQ data not found at {DEV}")

# What the scripted model does for question i of the first 20 dev questions.
PLAN = (["correct"] * 11 + ["wrong"] * 3 + ["tool_error"] * 2 + ["limit"]
        + ["model_format"] * 2 + ["correct"])
EXPECTED_ERRORS = {"wrong_answer": 3, "tool_error": 2, "limit_reached": 1, "model_format": 2,
                   "error": 0, "not_run": 0}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Script:
    """A responder keyed on the question in the prompt, so the batch's threads can interleave:
    sql first, then final_answer, or the misbehaviour PLAN asks for."""

    def __init__(self, items: list[EvalItem], interrupt_at: str | None = None) -> None:
        self.by_question = {it.question: (i, it) for i, it in enumerate(items)}
        self.tables = {it.id: open_workbook(it.source).tables[0].name for it in items}
        self.interrupt_at = interrupt_at

    def question_of(self, messages: list[BaseMessage]) -> tuple[int, EvalItem]:
        for m in messages:
            if isinstance(m, HumanMessage) and "Question: " in str(m.content):
                asked = str(m.content).rsplit("Question: ", 1)[1].strip()
                return self.by_question[asked]
        raise AssertionError("no question in the prompt")

    def __call__(self, messages: list[BaseMessage]) -> Any:
        i, item = self.question_of(messages)
        if item.id == self.interrupt_at:
            self.interrupt_at = None
            raise KeyboardInterrupt  # as if Ctrl-C arrived while this question ran
        plan = PLAN[i]
        table = self.tables[item.id]
        observed = sum(isinstance(m, ToolMessage) for m in messages)
        if plan == "tool_error":
            return tool_call("sql", query=f"SELECT no_such_column FROM {table}")
        if plan == "model_format":
            return AIMessage(content="", invalid_tool_calls=[{
                "name": "sql", "args": "{not json", "id": f"bad{observed}", "error": "bad JSON",
                "type": "invalid_tool_call"}])
        if plan == "limit":  # a new query every step, never an answer
            return tool_call("sql", query=f"SELECT 'nope' AS try{observed} FROM {table} LIMIT 1")
        gold = item.gold if plan == "correct" else ["definitely wrong"]
        if observed == 0:
            cols = ", ".join(f"{_quote(g)} AS a{k}" for k, g in enumerate(gold))
            return tool_call("sql", query=f"SELECT {cols} FROM {table} LIMIT 1")
        return tool_call("final_answer", answer=gold if len(gold) > 1 else gold[0])


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return WikiTQTask(DEV).load(limit=20)


def _agent(script: Script) -> TableAgent:
    return TableAgent(ScriptedChatModel(script), max_steps=4, python=False)


def test_twenty_questions_interrupted_and_resumed(tmp_path: Path, items: list[EvalItem]) -> None:
    task = WikiTQTask(DEV)
    task.load(limit=20)
    out = tmp_path / "run"
    config = {"strategy": "agent", "model": "scripted"}

    first = run_eval(task, items, _agent(Script(items, interrupt_at=items[9].id)), out,
                     concurrency=1, progress=False, config=config)
    assert first.interrupted
    assert first.finished_now == 9
    assert len(read_predictions(out / "predictions.tsv")) == 9
    assert first.report["n_finished"] == 9 and first.report["errors"]["not_run"] == 11
    answers = (out / "answers.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in answers] == [it.id for it in items[:9]]

    second = run_eval(task, items, _agent(Script(items)), out, concurrency=4, progress=False,
                      config=config)
    assert not second.interrupted and second.finished_now == 11  # only the rest ran
    report = json.loads((out / "report.json").read_text())
    assert (report["n_total"], report["n_finished"], report["n_correct"]) == (20, 20, 12)
    assert report["errors"] == EXPECTED_ERRORS
    assert report["accuracy"] == pytest.approx(0.6)
    low, high = report["ci95"]
    assert low == pytest.approx(0.3866, abs=1e-3) and high == pytest.approx(0.7812, abs=1e-3)
    assert sum(g["n"] for g in report["by_answer_type"].values()) == 20
    assert report["by_tool"]["sql"]["n"] == 18  # all but the two model-format failures
    assert report["by_steps"]["1"]["correct"] == 12
    assert report["by_steps"]["4"]["n"] == 3  # the step limit and the two tool-error runs
    assert report["by_steps"]["0"]["n"] == 2  # the model-format failures ran no tool
    assert report["questions_with_tool_errors"] == 2
    assert report["tokens_per_question"]["in"] > 0 and report["latency_s"]["p95"] > 0
    assert report["questions_per_minute"] > 0
    md = (out / "report.md").read_text()
    assert "60.0%" in md and "limit reached | 1" in md and "model-format failure | 2" in md

    # predictions.tsv is in the official format, in question order, and scores the same
    preds = read_predictions(out / "predictions.tsv")
    assert list(preds) == [it.id for it in items]
    official = score_file(out / "predictions.tsv", tagged_path_for(DEV))
    assert official.n_correct == 12 and official.n_total == 3537

    # a third call finds nothing to do and rewrites the same report
    third = run_eval(task, items, _agent(Script(items)), out, concurrency=2, progress=False,
                     config=config)
    assert third.finished_now == 0 and third.report["n_correct"] == 12


def test_a_slice_of_the_questions_by_offset_and_limit(items: list[EvalItem]) -> None:
    task = WikiTQTask(DEV)
    assert [it.id for it in load_slice(task, offset=5, limit=10)] == [it.id for it in items[5:15]]
    assert [it.id for it in load_slice(task, limit=3)] == [it.id for it in items[:3]]
    assert load_slice(task, offset=3)[0].id == items[3].id
    with pytest.raises(ValueError, match="offset must be 0 or more, not -1"):
        load_slice(task, offset=-1)
    with pytest.raises(ValueError, match="limit must be 1 or more, not 0"):
        load_slice(task, limit=0)


def test_a_run_folder_refuses_another_strategy(tmp_path: Path, items: list[EvalItem]) -> None:
    task = WikiTQTask(DEV)
    run_eval(task, items[:2], _agent(Script(items)), tmp_path, concurrency=1, progress=False,
             config={"strategy": "agent", "model": "scripted", "samples": 1})
    with pytest.raises(ValueError, match="strategy"):
        run_eval(task, items[:2], _agent(Script(items)), tmp_path, progress=False,
                 config={"strategy": "direct", "model": "scripted"})
    with pytest.raises(ValueError, match="samples=1, not 5"):  # drafts change answers too
        run_eval(task, items[:2], _agent(Script(items)), tmp_path, progress=False,
                 config={"strategy": "agent", "model": "scripted", "samples": 5})


def test_baselines_side_by_side_and_compare(tmp_path: Path, items: list[EvalItem],
                                            capsys: pytest.CaptureFixture) -> None:
    task = WikiTQTask(DEV)
    few = items[:6]
    tables = {it.question: (it, open_workbook(it.source).tables[0].name) for it in few}

    def direct(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        it = next(it for q, (it, _) in tables.items() if q in prompt)
        return f"Answer: {it.gold[0]}" if it.id != few[0].id else "Answer: no idea"

    def sql_once(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        it, table = next(v for q, v in tables.items() if q in prompt)
        return f"SELECT {_quote(it.gold[0])} AS answer FROM {table} LIMIT 1"

    reports = {}
    for strategy, responder in (("direct", direct), ("sql_once", sql_once)):
        agent = TableAgent(ScriptedChatModel(responder), strategy=strategy)
        outcome = run_eval(task, few, agent, tmp_path / strategy, concurrency=2, progress=False,
                           config={"strategy": strategy, "model": "scripted"})
        reports[strategy] = outcome.report
    assert reports["direct"]["n_correct"] == 5
    assert reports["sql_once"]["n_correct"] == 6
    assert reports["sql_once"]["by_tool"]["sql"]["n"] == 6

    cmp = compare_runs(tmp_path / "direct", tmp_path / "sql_once")
    assert (len(cmp.fixed), len(cmp.broken), cmp.both_right, cmp.both_wrong) == (1, 0, 5, 0)
    assert cmp.delta == pytest.approx(1 / 6)
    assert "fixed (wrong in A, right in B): 1" in render_comparison(cmp)
    assert main(["eval", "compare", str(tmp_path / "direct"), str(tmp_path / "sql_once")]) == 0
    out = capsys.readouterr().out
    assert "delta +16.7 points" in out and "1 fixed vs 0 broken): p = 1" in out

    # two slices pooled on each side; a question in two runs of one side is refused
    halves = {}
    for strategy, responder in (("direct", direct), ("sql_once", sql_once)):
        for half, part in (("a", few[:3]), ("b", few[3:])):
            agent = TableAgent(ScriptedChatModel(responder), strategy=strategy)
            run_eval(task, part, agent, tmp_path / f"{strategy}-{half}", progress=False,
                     config={"strategy": strategy, "model": "scripted"})
            halves[strategy, half] = tmp_path / f"{strategy}-{half}"
    pooled = compare_runs([halves["direct", "a"], halves["direct", "b"]],
                          [halves["sql_once", "a"], halves["sql_once", "b"]])
    assert (pooled.common, len(pooled.fixed), pooled.accuracy_b) == (6, 1, 1.0)
    spec = f"{halves['direct', 'a']},{halves['direct', 'b']}"
    assert main(["eval", "compare", spec, str(tmp_path / "sql_once")]) == 0
    assert "common questions: 6" in capsys.readouterr().out
    assert main(["eval", "compare", f"{spec},{tmp_path / 'direct'}", spec]) == 2
    assert "more than one of the runs" in capsys.readouterr().err


@pytest.mark.parametrize("task_name", ["tabfact", "aitqa", "fetaqa"])
def test_other_datasets_run_through_the_same_runner(tmp_path: Path, task_name: str) -> None:
    from evals.aitqa import AITQATask
    from evals.fetaqa import FeTaQATask
    from evals.tabfact import TabFactTask

    task = {"tabfact": TabFactTask, "aitqa": AITQATask, "fetaqa": FeTaQATask}[task_name]()
    try:
        few = task.load(limit=4, workdir=tmp_path)
    except FileNotFoundError:
        pytest.skip(f"{task_name} data not found")
    by_question = {it.question: it for it in few}

    def direct(messages: list[BaseMessage]) -> str:
        prompt = str(messages[-1].content)
        it = next(it for q, it in by_question.items() if q in prompt)
        return f"Answer: {it.gold[0]}" if it.id != few[-1].id else "Answer: 12345 no"

    outcome = run_eval(task, few, TableAgent(ScriptedChatModel(direct), strategy="direct"),
                       tmp_path / "run", concurrency=2, progress=False,
                       config={"strategy": "direct", "model": "scripted"})
    report = outcome.report
    assert report["dataset"] == task_name and report["n_finished"] == 4
    assert report["n_correct"] == 3
    if task_name == "fetaqa":
        assert report["metric"] == "rouge_l" and 0.75 <= report["accuracy"] < 1.0
    else:
        assert report["accuracy"] == 0.75
    assert len(read_predictions(tmp_path / "run" / "predictions.tsv")) == 4


def test_the_report_counts_drafted_and_overruled_steps(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("City,Visits\nOslo,3\nLyon,5\nRome,4\n", encoding="utf-8")
    items = [EvalItem(id=f"q{i}", question="Which city had the most visits?",
                      source=str(table), gold=["Lyon"], category="string") for i in range(2)]
    wrong = "SELECT City FROM t ORDER BY Visits ASC LIMIT 1"
    right = "SELECT City FROM t ORDER BY Visits DESC LIMIT 1"

    def respond(messages: list[BaseMessage]) -> Any:
        sent = [m for m in messages if isinstance(m, ToolMessage)]
        if sent:
            return tool_call("final_answer", answer="Lyon")
        respond.calls += 1  # type: ignore[attr-defined]
        # per question: the short-prompt draft, the greedy reply, a sample. q0's greedy reply
        # is wrong and the other two drafts outvote it; in q1 all three agree
        return tool_call("sql", query=wrong if respond.calls == 2 else right)  # type: ignore

    respond.calls = 0  # type: ignore[attr-defined]
    agent = TableAgent(ScriptedChatModel(respond), samples=3, python=False)
    outcome = run_eval(WikiTQTask(DEV), items, agent, tmp_path / "run", concurrency=1,
                       progress=False, config={"strategy": "agent", "samples": 3})
    assert outcome.report["n_correct"] == 2
    assert outcome.report["drafts"] == {"questions_drafted": 2, "questions_overruled": 1,
                                        "overruled_correct": 1}
    markdown = (tmp_path / "run" / "report.md").read_text()
    assert "the vote overruled the greedy query in 1, of which 1 ended right" in markdown

"""Rules in evals: the per-rule report, rule sets in run folders, reusing a base run's answers
where no switched-off rule fired, and the ablation table.

Base runs come from ``ReplayAgent``, which hands the runner ready-made Answers with the rule hits
a real run would log (made-up rule ids: the evals read ids, not the registry). The run that
reuses them is the real TableAgent over a real CSV table with a scripted chat model, which
records which questions it was asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage

from agent import TableAgent
from agent.answer import Answer, RuleHit, Step
from agent.models.scripted import ScriptedChatModel, tool_call
from app.cli import build_parser, main
from app.commands.eval import rule_set
from evals.ablation import ablation_rows, render_table, sub_run_dir
from evals.compare import ROW_HEADER, compare_runs, comparison_row
from evals.report import ItemResult, build_report, fired_rules, render_markdown
from evals.reuse import ReuseError, open_base
from evals.runner import load_answers, run_eval
from evals.tasks import EvalItem, EvalTask

GOLD = {"q0": "Lyon", "q1": "Rome", "q2": "Oslo", "q3": "Lyon", "q4": "Rome"}
CONFIG = {"strategy": "agent", "model": "scripted", "samples": 1, "max_steps": 4,
          "questions": "tiny", "limit": None, "offset": 0, "rules_off": []}


class TinyTask(EvalTask):
    """Exact-match questions over one small CSV table."""

    name = "tiny"

    def __init__(self, items: list[EvalItem]) -> None:
        self.items = items

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        return self.items[:limit]

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        return float(prediction == item.gold)


@pytest.fixture
def items(tmp_path: Path) -> list[EvalItem]:
    table = tmp_path / "t.csv"
    table.write_text("City,Visits\nOslo,3\nLyon,5\nRome,4\n", encoding="utf-8")
    return [EvalItem(id=i, question=f"Question {i}: which city?", source=str(table), gold=[g])
            for i, g in GOLD.items()]


Plan = dict[str, tuple[str, list[str], list[str]]]  # id -> (value, rule hits, step rules)


class ReplayAgent:
    """Answers each question with a ready-made Answer: ``plan[id] = (value, hits, step_rules)``."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan

    def batch(self, items: Iterable[dict[str, Any]], *, concurrency: int = 1, out: Any = None,
              progress: bool = False) -> Iterator[tuple[str, Answer]]:
        for it in items:
            if it["id"] not in self.plan:
                continue
            value, hits, step_rules = self.plan[it["id"]]
            step = Step(index=1, tool="sql", input={"query": "SELECT 1"}, output="1",
                        rules=step_rules)
            yield it["id"], Answer(question=it["question"], value=value, text=value,
                                   steps=[step], rules=[RuleHit(rule=r, step=1) for r in hits])


# q0: right, call.a fired; q1: wrong, call.a and reply.b fired (b only in the step's log);
# q2: right, nothing fired; q3: right, reply.b fired; q4 was never answered in the base.
BASE_PLAN: Plan = {"q0": ("Lyon", ["call.a"], []), "q1": ("Oslo", ["call.a"], ["reply.b"]),
             "q2": ("Oslo", [], []), "q3": ("Lyon", [], ["reply.b"])}


def _base(tmp_path: Path, items: list[EvalItem], plan: Any = None, **config: Any) -> Path:
    out = tmp_path / "base"
    run_eval(TinyTask(items), items, ReplayAgent(plan or BASE_PLAN), out, progress=False,
             config={**CONFIG, **config})
    return out


def test_the_report_counts_each_rule_where_it_fired(tmp_path: Path,
                                                    items: list[EvalItem]) -> None:
    task = TinyTask(items)
    records = {i: {"id": i, "answer": Answer(question="", value=v, text=v, steps=[Step(
        index=1, tool="sql", input={}, output="", rules=s)], rules=[RuleHit(rule=r, step=1)
                                                                 for r in h]).to_dict(),
        "prediction": [v]} for i, (v, h, s) in BASE_PLAN.items()}
    # an old record, written before rules were logged: no rule fired there
    records["q4"] = {"id": "q4", "answer": {"status": "ok", "steps": [{"tool": "sql"}]},
                     "prediction": ["Rome"]}
    results = [ItemResult.from_record(task, it, records[it.id]) for it in items]
    assert [r.rules for r in results] == [["call.a"], ["call.a", "reply.b"], [], ["reply.b"], []]
    report = build_report(task, results, config={**CONFIG, "rules_off": ["shape.z"]})
    assert report["by_rule"] == {
        "call.a": {"n": 2, "correct": 1, "accuracy": 0.5},
        "reply.b": {"n": 2, "correct": 1, "accuracy": 0.5}}
    assert report["no_rule_fired"] == {"n": 2, "correct": 2, "accuracy": 1.0}
    markdown = render_markdown(report)
    assert "Rules off: `shape.z`." in markdown
    assert "| `call.a` | 2 | 1 | 50.0% |" in markdown
    assert "| (no rule fired) | 2 | 2 | 100.0% |" in markdown


@pytest.mark.parametrize("answer, fired", [
    ({}, []),
    ({"rules": [{"rule": "a", "step": 0}, {"rule": "b", "step": 2}, {"rule": "a", "step": 3}]},
     ["a", "b"]),
    ({"steps": [{"rules": ["c"]}, {"rules": []}, {}], "rules": [{"rule": "a"}]}, ["a", "c"]),
])
def test_fired_rules_from_a_logged_answer(answer: dict[str, Any], fired: list[str]) -> None:
    assert fired_rules(answer) == fired


class AskedScript:
    """The scripted model: the gold answer after one query; notes which questions it saw."""

    def __init__(self, items: list[EvalItem]) -> None:
        self.by_question = {it.question: it for it in items}
        self.asked: set[str] = set()

    def __call__(self, messages: list[BaseMessage]) -> Any:
        asked = next(str(m.content).rsplit("Question: ", 1)[1].strip() for m in messages
                     if isinstance(m, HumanMessage) and "Question: " in str(m.content))
        item = self.by_question[asked]
        self.asked.add(item.id)
        if not any(isinstance(m, ToolMessage) for m in messages):
            return tool_call("sql", query="SELECT City FROM t LIMIT 1")
        return tool_call("final_answer", answer=item.gold[0])


@pytest.mark.parametrize("rules_off, asked", [
    (["call.a"], {"q0", "q1", "q4"}),
    (["reply.b"], {"q1", "q3", "q4"}),
    (["call.a", "reply.b", "never.fired"], {"q0", "q1", "q3", "q4"}),
    (["never.fired"], {"q4"}),
])
def test_reuse_copies_only_the_answers_where_no_switched_off_rule_fired(
        tmp_path: Path, items: list[EvalItem], rules_off: list[str], asked: set[str]) -> None:
    base = _base(tmp_path, items)
    config = {**CONFIG, "dataset": "tiny", "rules_off": rules_off}
    script = AskedScript(items)
    agent = TableAgent(ScriptedChatModel(script), max_steps=4, python=False)
    out = tmp_path / "ablated"
    outcome = run_eval(TinyTask(items), items, agent, out, progress=False, config=config,
                       reuse=open_base(base, config))
    assert script.asked == asked
    assert (outcome.reused_now, outcome.finished_now) == (5 - len(asked), len(asked))
    records = load_answers(out / "answers.jsonl")
    base_records = load_answers(base / "answers.jsonl")
    for i, record in records.items():
        if i in asked:
            assert "reused_from" not in record
        else:  # the base's answer, word for word, marked
            assert record["reused_from"] == str(base)
            assert record["answer"] == base_records[i]["answer"]
    # the scripted model answers right: q4 (not in the base) is right, and q1 (wrong in the
    # base) turns right when it is asked again
    assert outcome.report["n_correct"] == 4 + ("q1" in asked)
    assert outcome.report["reused"] == 5 - len(asked)
    info = json.loads((out / "run.json").read_text())
    assert info["reused_from"] == str(base) and info["reused"] == 5 - len(asked)

    # resumed: nothing left to ask or copy
    again = run_eval(TinyTask(items), items, agent, out, progress=False, config=config,
                     reuse=open_base(base, config))
    assert (again.reused_now, again.finished_now) == (0, 0)


@pytest.mark.parametrize("base_config, run_config, message", [
    ({}, {"model": "other"}, "differs in more than the rules (model='scripted' there, "
                             "'other' here"),
    ({}, {"limit": 3, "offset": 1}, "limit=None there, 3 here; offset=0 there, 1 here"),
    ({}, {"max_steps": 8}, "max_steps=4 there, 8 here"),
    ({"rules_off": ["call.a"]}, {"rules_off": ["reply.b"]},
     "ran with call.a off, which this run has on"),
    ({"rules_off": None}, {}, "records no rule set"),
])
def test_a_base_that_differs_in_more_than_the_rules_is_refused(
        tmp_path: Path, items: list[EvalItem], base_config: dict[str, Any],
        run_config: dict[str, Any], message: str) -> None:
    base = _base(tmp_path, items, **base_config)
    if base_config.get("rules_off", []) is None:  # an old base: no rules_off at all
        info = json.loads((base / "run.json").read_text())
        del info["config"]["rules_off"]
        (base / "run.json").write_text(json.dumps(info))
    with pytest.raises(ReuseError, match=re.escape(message)):
        open_base(base, {**CONFIG, "dataset": "tiny", "rules_off": ["call.a"], **run_config})
    with pytest.raises(ReuseError, match=r"no run\.json"):
        open_base(tmp_path / "nowhere", CONFIG)


def test_a_run_folder_refuses_to_resume_with_other_rules(tmp_path: Path,
                                                         items: list[EvalItem]) -> None:
    base = _base(tmp_path, items, rules_off=["call.a"])
    with pytest.raises(ValueError, match=r"the rules \[call.a\] off, not \[none\]: a resumed "
                                         "run must use the same --rules/--without"):
        run_eval(TinyTask(items), items, ReplayAgent(BASE_PLAN), base, progress=False,
                 config={**CONFIG, "rules_off": []})
    with pytest.raises(ValueError, match="max_steps=4, not 6"):
        run_eval(TinyTask(items), items, ReplayAgent(BASE_PLAN), base, progress=False,
                 config={**CONFIG, "rules_off": ["call.a"], "max_steps": 6})
    run_eval(TinyTask(items), items, ReplayAgent(BASE_PLAN), base, progress=False,
             config={**CONFIG, "rules_off": ["call.a"]})  # the same rules resume


def test_the_ablation_table_pairs_each_run_with_the_base(
        tmp_path: Path, items: list[EvalItem], capsys: pytest.CaptureFixture) -> None:
    base = _base(tmp_path, items, plan={**BASE_PLAN, "q4": ("Rome", [], [])},
                 rules_off=["shape.z"])
    task = TinyTask(items)
    # without call: q0 breaks, q1 is fixed, the rest are reused (all as in the base)
    call_config = {**CONFIG, "dataset": "tiny", "rules_off": ["call.a", "call.c", "shape.z"]}
    rerun: Plan = {"q0": ("Oslo", [], []), "q1": ("Rome", [], ["reply.b"])}
    run_eval(task, items, ReplayAgent(rerun), sub_run_dir(base, "call"), progress=False,
             config=call_config, reuse=open_base(base, call_config))
    # without reply: q1 and q3 rerun, q3 breaks
    reply_config = {**CONFIG, "dataset": "tiny", "rules_off": ["reply.b", "shape.z"]}
    rerun = {"q1": ("Oslo", ["call.a"], []), "q3": ("Oslo", [], [])}
    run_eval(task, items, ReplayAgent(rerun), sub_run_dir(base, "reply"), progress=False,
             config=reply_config, reuse=open_base(base, reply_config))

    rows = ablation_rows(base, ["call", "reply", "check"])
    call, reply, check = rows
    assert call.rules_off == ["call.a", "call.c"] and call.fired_in_base == {"call.a": 2}
    assert (call.rerun, call.reused) == (2, 3)
    assert call.comparison is not None
    assert (len(call.comparison.fixed), len(call.comparison.broken)) == (1, 1)
    assert reply.fired_in_base == {"reply.b": 2} and reply.rerun == 2
    assert check.comparison is None
    table = render_table(rows).splitlines()
    assert table[0].startswith("| family or rule | rules in it that fired in base")
    assert table[2] == ("| call | 1 of 2: `call.a` (2) | 2 | 1 | 1 | 1 | 80.0% -> 80.0% |")
    assert table[3] == ("| reply | 1 of 1: `reply.b` (2) | 2 | 0 | 1 | 1 | 80.0% -> 60.0% |")
    assert table[4].startswith("| check | (not run: no report in")

    # the CLI prints the same table from the folders there, running nothing
    code = main(["eval", "ablate", "wikitq", "--base", str(base), "--families",
                 "call,reply,check", "--table-only"])
    assert code == 0
    assert capsys.readouterr().out.strip().splitlines()[2:4] == table[2:4]

    # and `eval compare --row` gives one row of the same numbers
    cmp = compare_runs(base, sub_run_dir(base, "reply"))
    assert comparison_row(cmp, "reply") == "| reply | 0 | 1 | 1 | 80.0% -> 60.0% |"
    assert ROW_HEADER.count("|") == 2 * 6
    assert main(["eval", "compare", str(base), str(sub_run_dir(base, "reply")), "--row",
                 "reply"]) == 0
    assert capsys.readouterr().out.strip() == "| reply | 0 | 1 | 1 | 80.0% -> 60.0% |"


def test_the_ablation_table_needs_a_base_report(tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(FileNotFoundError, match=r"run\.json"):
        ablation_rows(tmp_path / "nothing", ["call"])
    assert main(["eval", "ablate", "wikitq", "--base", str(tmp_path / "nothing"),
                 "--table-only"]) == 2
    assert "not found" in capsys.readouterr().err


def test_rule_options_parse_and_unknown_names_are_refused(
        capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    args = build_parser().parse_args([
        "eval", "wikitq", "--without", "call", "--without", "reply,check", "--rules", "all",
        "--reuse-unfired", "runs/base"])
    assert args.without == ["call", "reply,check"] and args.rules == "all"
    assert args.reuse_unfired == Path("runs/base")
    off = set(rule_set(args).off())
    every = set(rule_set(build_parser().parse_args(["eval", "wikitq", "--rules", "none"])).off())
    assert off <= every
    from agent.rules import RULES

    assert off == {r.id for r in RULES if r.family in ("call", "reply", "check")}
    assert main(["eval", "wikitq", "--without", "no-such-rule", "--out",
                 str(tmp_path / "x")]) == 2
    assert "no rule or family named 'no-such-rule'" in capsys.readouterr().err
    assert main(["eval", "wikitq", "--strategies", "agent,direct", "--reuse-unfired",
                 str(tmp_path), "--out", str(tmp_path / "y")]) == 2
    assert "agent strategy alone" in capsys.readouterr().err
    args = build_parser().parse_args(["eval", "ablate", "tabfact", "--base", "runs/b",
                                      "--families", "sql,call", "--limit", "50", "--local"])
    assert (args.dataset, args.families, args.limit, args.local) == ("tabfact", "sql,call", 50,
                                                                     "")


def test_an_ablation_runs_with_the_base_settings_unless_given() -> None:
    from app.commands.eval import _ablation_args

    base_config = {"questions": "/data/dev.tsv", "limit": 20, "offset": 40, "samples": 5,
                   "max_steps": 6, "rules_off": []}
    args = build_parser().parse_args(["eval", "ablate", "wikitq", "--base", "runs/b",
                                      "--limit", "10", "--local"])
    sub = _ablation_args(args, base_config, "sql", sub_run_dir(Path("runs/b"), "sql"))
    assert (sub.questions, sub.limit, sub.offset, sub.samples, sub.max_steps) == (
        Path("/data/dev.tsv"), 10, 40, 5, 6)
    assert (sub.without, sub.rules, sub.reuse_unfired, sub.out, sub.strategy) == (
        ["sql"], None, Path("runs/b"), Path("runs/b-without-sql"), "agent")
    assert sub.local == ""

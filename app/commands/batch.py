"""`tablepilot batch INPUT.jsonl --out OUT.jsonl`: many questions, concurrently, resumable.

An item whose question is empty is not sent to the model: it is written to --out as failed,
with the reason. The run ends with a summary line on stderr and exits 1 when any item failed."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from app.cli import with_examples
from app.commands.ask import (
    add_model_options,
    add_rule_options,
    agent_from_args,
    positive_int,
    question_problem,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch", help="answer many questions from a JSONL file (resumable)",
        description="Each input line: {\"id\": ..., \"source\": FILE, \"question\": ...}. "
                    "Results are appended to --out as they finish; run again to resume. "
                    "Exits 1 when any item failed.",
        **with_examples(
            "tablepilot batch questions.jsonl --out results.jsonl",
            "tablepilot batch questions.jsonl --out results.jsonl -c 16 "
            "--model openai:qwen@http://localhost:8000/v1",
            "tablepilot batch questions.jsonl --out results.jsonl --no-progress  # in a script"))
    p.add_argument("input", help="JSONL file of items")
    p.add_argument("--out", required=True, help="JSONL file of results (appended, resumable)")
    p.add_argument("--concurrency", "-c", type=positive_int, default=8, metavar="N",
                   help="questions answered at once (default: 8; 1 with the local model)")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar on stderr")
    add_model_options(p)
    add_rule_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from agent.batch import load_items

    agent = agent_from_args(args)  # a bad --model or --rules fails before the input is read
    try:
        items = load_items(args.input)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    askable = record_refusals(items, out)
    counts: Counter[str] = Counter()
    for _, answer in agent.batch(askable, concurrency=args.concurrency, out=out,
                                 progress=not args.no_progress):
        counts[answer.status] += 1
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do"
    print(f"{sum(counts.values())} answered this run ({summary}); results in {args.out}")
    answered, failed = outcome(items, out)
    print(f"{answered} answered, {failed} failed (see {args.out})", file=sys.stderr)
    return 1 if failed else 0


def record_refusals(items: list[dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """The items that can be asked. Each one whose question is empty (or not text) and not in
    ``out`` yet is appended there as failed, the reason in its answer, as the agent's batch
    would write it (so a rerun skips it like any finished item)."""
    from agent.answer import Answer
    from agent.batch import _append, _record, read_done

    refused = [(item, problem) for item in items
               if (problem := question_problem(item["question"]))]
    if not refused:
        return items
    done = read_done(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab", buffering=0) as fh:
        for item, problem in refused:
            if str(item["id"]) not in done:
                answer = Answer(question=str(item["question"]), value=None,
                                text=f"Not asked: {problem}.", status="error",
                                stop_reason=problem)
                _append(fh, _record(item, answer))
    skip = {id(item) for item, _ in refused}
    return [item for item in items if id(item) not in skip]


def outcome(items: list[dict[str, Any]], out: Path) -> tuple[int, int]:
    """(answered, failed) over the input's items as ``out`` records them, earlier runs
    included: a resumed run still reports the failures it did not redo."""
    from agent.batch import read_done

    done = read_done(out)
    statuses = [done[key].get("answer", {}).get("status") for key in
                (str(item["id"]) for item in items) if key in done]
    answered = sum(status == "ok" for status in statuses)
    return answered, len(statuses) - answered

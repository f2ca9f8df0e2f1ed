"""`tablepilot batch INPUT.jsonl --out OUT.jsonl`: many questions, concurrently, resumable."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from app.commands.ask import add_model_options, add_rule_options, agent_from_args


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "batch", help="answer many questions from a JSONL file (resumable)",
        description="Each input line: {\"id\": ..., \"source\": FILE, \"question\": ...}. "
                    "Results are appended to --out as they finish; run again to resume.")
    p.add_argument("input", help="JSONL file of items")
    p.add_argument("--out", required=True, help="JSONL file of results (appended, resumable)")
    p.add_argument("--concurrency", "-c", type=int, default=8)
    p.add_argument("--no-progress", action="store_true")
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
    counts: Counter[str] = Counter()
    for _, answer in agent.batch(items, concurrency=args.concurrency, out=args.out,
                                 progress=not args.no_progress):
        counts[answer.status] += 1
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "nothing to do"
    print(f"{sum(counts.values())} answered this run ({summary}); results in {args.out}")
    return 0

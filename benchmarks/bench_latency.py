"""Time to an answer with the local CPU model: before/after, accuracy paired, time split.

    .venv/bin/python benchmarks/bench_latency.py                      # default set, all configs
    .venv/bin/python benchmarks/bench_latency.py --configs before,balanced --wikitq 10
    .venv/bin/python benchmarks/bench_latency.py --table-only         # print from the runs

Each configuration (an engine serving the model, and an effort setting) answers the same
questions: the first N of WikiTQ's dev set and the first N messy-workbook questions
(evals/workbooks.py). Each run is a `tablepilot eval` run folder under --out, so an interrupted
benchmark resumes and `tablepilot eval compare` works on any two. One configuration runs at a
time, in its own process: one model server at a time on the machine.

The table gives per configuration: accuracy (official WikiTQ scoring) and its paired change
against the first configuration (fixed/broken, McNemar p), median and 95th-percentile seconds
to the final answer, input tokens per question sent and actually processed (after the server's
prompt cache), and where the time went: prompt processing, generation, tools, the rest
(tablepilot's own work). A second table splits the time per step. llama-cpp-python's server
reports no cache or timings per call: for it, processed tokens and the prompt/generation split
come from its log (whole-run totals).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evals.compare import compare_runs  # noqa: E402
from evals.stats import percentile  # noqa: E402


@dataclass(frozen=True)
class Config:
    name: str
    engine: str  # llama-server | llama-cpp-python
    effort: str  # fast | balanced | thorough
    examples: str = "similar"  # the exemplars most like the question, or the same ones


CONFIGS = {c.name: c for c in (
    Config("before", "llama-cpp-python", "thorough"),  # the default before docs/speed.md
    Config("thorough", "llama-server", "thorough"),
    Config("balanced", "llama-server", "balanced"),
    Config("fast", "llama-server", "fast"),
    Config("balanced-fixed", "llama-server", "balanced", "fixed"),
    Config("fast-fixed", "llama-server", "fast", "fixed"),
)}
DATASETS = ("wikitq", "workbooks")
_PERF = re.compile(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens.*?\n.*?"
                   r"\beval time =\s*([\d.]+) ms", re.S)


def run_config(config: Config, dataset: str, limit: int, model: str, out: Path,
               timeout_s: float) -> Path:
    """One `tablepilot eval` run (resumed if it exists), in its own process."""
    folder = out / config.name / dataset
    answers = folder / "answers.jsonl"
    if answers.exists() and sum(1 for _ in answers.open()) >= limit:
        return folder
    env = {**os.environ, "TABLEPILOT_LOCAL_ENGINE": config.engine}
    cmd = [sys.executable, "-m", "app.cli", "eval", dataset, "--limit", str(limit),
           "--local", model, "--effort", config.effort, "--examples", config.examples,
           "--out", str(folder), "--no-progress"]
    print(f"== {config.name} ({config.engine}, {config.effort}, {config.examples} exemplars) "
          f"on {dataset}: "
          f"{' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    proc.wait(timeout=timeout_s)
    if config.engine == "llama-cpp-python":
        log = Path("/tmp") / f"tablepilot-llama-{proc.pid}-{model}.log"
        if log.exists():
            _keep_perf(log, folder / "server-perf.json")
    return folder


def _keep_perf(log: Path, into: Path) -> None:
    """llama-cpp-python's per-call perf lines, summed (it reports nothing per response)."""
    calls = _PERF.findall(log.read_text(errors="replace"))
    earlier = json.loads(into.read_text()) if into.exists() else {
        "calls": 0, "prompt_tokens": 0, "prompt_s": 0.0, "generate_s": 0.0}
    earlier["calls"] += len(calls)
    earlier["prompt_tokens"] += sum(int(n) for _, n, _ in calls)
    earlier["prompt_s"] += sum(float(ms) for ms, _, _ in calls) / 1000
    earlier["generate_s"] += sum(float(ms) for _, _, ms in calls) / 1000
    into.write_text(json.dumps(earlier))


def _answers(folder: Path) -> list[dict[str, Any]]:
    path = folder / "answers.jsonl"
    return [json.loads(line) for line in path.open()] if path.exists() else []


def summary(config: Config, folders: list[Path], base: list[Path] | None) -> dict[str, Any]:
    records = [r for f in folders for r in _answers(f)]
    answers = [r["answer"] for r in records]
    n = len(answers)
    if not n:
        return {"config": config.name, "n": 0}
    seconds = [a["duration_s"] for a in answers]
    tokens_in = sum(a["tokens_in"] for a in answers) / n
    perf = [json.loads((f / "server-perf.json").read_text()) for f in folders
            if (f / "server-perf.json").exists()]
    if perf:  # whole-run totals from the server's log
        processed = sum(p["prompt_tokens"] for p in perf) / n
        prompt_s = sum(p["prompt_s"] for p in perf) / n
        generate_s = sum(p["generate_s"] for p in perf) / n
    else:
        processed = sum(a["tokens_in"] - a.get("tokens_cached", 0) for a in answers) / n
        prompt_s = sum(a.get("prompt_s", 0.0) for a in answers) / n
        generate_s = sum(a.get("generate_s", 0.0) for a in answers) / n
    model_s = sum(a.get("model_s", 0.0) for a in answers) / n
    tools_s = sum(s["duration_s"] for a in answers for s in a["steps"]) / n
    total_s = sum(seconds) / n
    row: dict[str, Any] = {
        "config": config.name, "engine": config.engine,
        "effort": config.effort + (", fixed exemplars" if config.examples == "fixed" else ""),
        "n": n,
        "accuracy": sum(r["score"] for r in records) / n,
        "p50_s": statistics.median(seconds), "p95_s": percentile(seconds, 95),
        "tokens_in": tokens_in, "processed": processed,
        "prompt_s": prompt_s, "generate_s": generate_s,
        "model_other_s": max(0.0, model_s - prompt_s - generate_s) if model_s else 0.0,
        "tools_s": tools_s, "rest_s": max(0.0, total_s - (model_s or prompt_s + generate_s)
                                          - tools_s),
        "mean_s": total_s,
    }
    if base is not None:
        cmp = compare_runs(base, folders)
        row["paired"] = (f"{cmp.delta * 100:+.1f} pts (+{len(cmp.fixed)} / -{len(cmp.broken)}, "
                         f"p={cmp.p_value:.2f})")
    return row


def per_step(config: Config, folders: list[Path]) -> list[tuple[str, int, float, float, float,
                                                                 float]]:
    """Mean seconds per step position: (step, count, prompt, generation, model, tool)."""
    buckets: dict[str, list[dict[str, Any]]] = {}
    for folder in folders:
        for record in _answers(folder):
            for step in record["answer"]["steps"]:
                key = str(step["index"]) if step["index"] < 4 else "4+"
                buckets.setdefault(key, []).append(step)
    rows = []
    for key in sorted(buckets):
        steps = buckets[key]
        k = len(steps)
        rows.append((key, k, sum(s.get("prompt_s", 0.0) for s in steps) / k,
                     sum(s.get("generate_s", 0.0) for s in steps) / k,
                     sum(s.get("model_s", 0.0) for s in steps) / k,
                     sum(s["duration_s"] for s in steps) / k))
    return rows


def render(rows: list[dict[str, Any]], steps: dict[str, list[tuple]]) -> str:
    head = ("| config | engine | effort | n | accuracy | paired vs first | p50 s | p95 s | "
            "tokens in/q | processed/q | prompt s/q | generate s/q | tools s/q | rest s/q |")
    lines = [head, "|" + "---|" * 14]
    first = rows[0] if rows else None
    for r in rows:
        if not r["n"]:
            lines.append(f"| {r['config']} | | | 0 | | | | | | | | | | |")
            continue
        ratio = (f" ({first['p50_s'] / r['p50_s']:.1f}x)" if first and first is not r
                 and r["p50_s"] else "")
        lines.append(
            f"| {r['config']} | {r['engine']} | {r['effort']} | {r['n']} | "
            f"{r['accuracy'] * 100:.1f}% | {r.get('paired', '(base)')} | "
            f"{r['p50_s']:.1f}{ratio} | {r['p95_s']:.1f} | {r['tokens_in']:,.0f} | "
            f"{r['processed']:,.0f} | {r['prompt_s']:.1f} | {r['generate_s']:.1f} | "
            f"{r['tools_s']:.2f} | {r['rest_s']:.1f} |")
    lines += ["", "Per step (mean seconds): prompt processing / generation / all model time "
              "(drafts included) / the tool", "",
              "| config | step | steps | prompt s | generate s | model s | tool s |",
              "|---|---|---|---|---|---|---|"]
    for name, per in steps.items():
        for key, k, p, g, m, t in per:
            split = f"{p:.1f} | {g:.1f}" if p or g else "- | -"  # not reported by the server
            lines.append(f"| {name} | {key} | {k} | {split} | {m:.1f} | {t:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.environ.get("TABLEPILOT_LOCAL_MODEL",
                                                      "qwen2.5-coder-1.5b"))
    ap.add_argument("--configs", default=",".join(CONFIGS),
                    help=f"comma-separated, first is the base: {', '.join(CONFIGS)}")
    ap.add_argument("--wikitq", type=int, default=10, metavar="N", help="WikiTQ dev questions")
    ap.add_argument("--workbooks", type=int, default=10, metavar="N",
                    help="messy-workbook questions")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-latency")
    ap.add_argument("--timeout", type=float, default=4 * 3600, help="per run, seconds")
    ap.add_argument("--table-only", action="store_true", help="run nothing, print the table")
    args = ap.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in names if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown config {', '.join(unknown)}; choose from {', '.join(CONFIGS)}")
    configs = [CONFIGS[c] for c in names]
    limits = {"wikitq": args.wikitq, "workbooks": args.workbooks}
    out = args.out / args.model
    if not args.table_only:
        for config in configs:
            for dataset in DATASETS:
                if limits[dataset]:
                    run_config(config, dataset, limits[dataset], args.model, out, args.timeout)
    tables = []
    for dataset in [d for d in DATASETS if limits[d]] + ["all"]:
        chosen = [d for d in DATASETS if limits[d]] if dataset == "all" else [dataset]
        folders = {c.name: [out / c.name / d for d in chosen
                            if (out / c.name / d / "answers.jsonl").exists()] for c in configs}
        base = folders[configs[0].name] or None
        rows = [summary(c, folders[c.name], base if c is not configs[0] else None)
                for c in configs if folders[c.name]]
        steps = {c.name: per_step(c, folders[c.name]) for c in configs if folders[c.name]}
        tables.append(f"## {dataset} ({args.model}, {os.cpu_count()} CPU threads)\n\n"
                      + render(rows, steps if dataset == "all" else {}))
    print("\n\n".join(tables))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

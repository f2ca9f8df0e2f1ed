"""The agent on SheetCopilot tasks: Exec@1 and Pass@1, per category, with latency, tokens and the
kind of each failure.

For each task: ``agent.chat(task workbook)`` -> ``session.send(context + instructions)`` -> the
session's current workbook is saved to ``OUT/results/<task>.xlsx`` and checked with
``evals.sheetcopilot.check_task``. Exec@1 counts runs that ended normally (status ``ok``) with at least
one edit; Pass@1 those whose workbook matched a reference solution. Each finished task is
appended to ``OUT/results.jsonl`` at once (its whole answer to ``OUT/answers/<task>.json``); a
rerun skips the tasks already there, and refuses a folder made with other settings.

Task sets: ``sample20`` is SheetCopilot's own 20-task sample (``dataset_20Samples.xlsx``, the
subset its paper ran GPT-4 on); ``stratified`` is a fixed slice of the 221 tasks with
``PER_CATEGORY`` tasks for each of the six categories, none of them in the sample; ``all`` is
the 221 tasks in file order.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from agent import TableAgent
from agent.batch import read_done
from evals.stats import percentile, wilson_interval

RESULTS = "results.jsonl"
RUN_INFO = "run.json"
TASK_SETS = ("sample20", "stratified", "all")
CATEGORIES = ("Entry and manipulation", "Formula", "Formatting", "Charts", "Pivot Table",
              "Management")
PER_CATEGORY = 3
SAMPLE_FILE = "dataset_20Samples.xlsx"
# What must not change when a run folder is resumed.
SAME_RUN_KEYS = ("task_set", "model", "effort", "max_steps", "timeout_s", "rules_off")
FAILURE_KINDS = ("limit", "format", "tool error", "no edit", "wrong action", "wrong range",
                 "wrong arguments", "crash")


def category(name: str) -> str:
    """A category as SheetCopilot spells it, whatever the case in the task row."""
    for known in CATEGORIES:
        if name.strip().lower() == known.lower():
            return known
    return name.strip()


def _stable_order(task_id: str) -> str:
    return hashlib.sha256(task_id.encode()).hexdigest()


def stratified(tasks: list[Any], exclude: Iterable[str] = (), per_category: int = PER_CATEGORY
               ) -> list[Any]:
    """``per_category`` tasks whose first category is each of the six (a fixed pseudo-random
    choice by task id), none of ``exclude``; in dataset order."""
    left_out = set(exclude)
    chosen: list[Any] = []
    for name in CATEGORIES:
        pool = sorted((t for t in tasks if t.id not in left_out and t.categories
                       and category(t.categories[0]) == name), key=lambda t: _stable_order(t.id))
        if len(pool) < per_category:  # a rare first category: take tasks that list it anywhere
            taken = {t.id for t in pool}
            pool += sorted((t for t in tasks if t.id not in left_out and t.id not in taken
                            and name in {category(c) for c in t.categories}),
                           key=lambda t: _stable_order(t.id))
        picked = [t for t in pool if t not in chosen][:per_category]
        chosen += picked
    return sorted(chosen, key=lambda t: t.order)


def select_tasks(task_set: str = "all", data_dir: Path | str | None = None, *,
                 limit: int | None = None, ids: Iterable[str] | None = None) -> list[Any]:
    """The tasks of ``task_set`` (see the module docstring), or those named by ``ids``."""
    from evals.sheetcopilot import load_tasks

    if task_set not in TASK_SETS:
        raise ValueError(f"unknown task set {task_set!r}; choose from {', '.join(TASK_SETS)}")
    root = Path(data_dir) if data_dir else None
    if task_set == "sample20":
        tasks = load_tasks(root, file=SAMPLE_FILE)
    elif task_set == "stratified":
        sample = {t.id for t in load_tasks(root, file=SAMPLE_FILE)}
        tasks = stratified(load_tasks(root), exclude=sample)
    else:
        tasks = load_tasks(root)
    if ids is not None:
        wanted = list(ids)
        known = {t.id for t in tasks}
        if missing := [i for i in wanted if i not in known]:
            raise ValueError(f"no task {missing[0]!r} in the {task_set} set")
        tasks = [t for t in tasks if t.id in set(wanted)]
    return tasks[:limit] if limit is not None else tasks


def sheet_actions(answer: Any) -> list[str]:
    """The action names of the edits that ran without error, in order."""
    names = []
    for step in answer.steps:
        if step.tool == "sheet" and step.error is None:
            for action in (step.input or {}).get("actions") or []:
                if isinstance(action, dict):
                    names.append(str(action.get("action", "?")))
    return names


def failure_kind(record: dict[str, Any]) -> str | None:
    """Why a task failed, in one of ``FAILURE_KINDS``; None when it passed."""
    if record.get("passed"):
        return None
    status = record.get("status")
    if status == "error" and not record.get("steps"):
        return "crash"
    if not record.get("actions"):
        return {"limit": "limit", "model_format": "format",
                "tool_error": "tool error"}.get(str(status), "no edit")
    reason = str(record.get("reason", ""))
    if any(k in reason for k in ("sheet count", " charts, expected", "pivot/summary tables",
                                 "conditional format rules", "frozen panes", "no column with header",
                                 "visible (filtered)")):
        return "wrong action"
    if "rows x" in reason or "anchored at" in reason:
        return "wrong range"
    if status == "limit":
        return "limit"
    return "wrong arguments"


def run_task(agent: TableAgent, task: Any, out_dir: Path, data_dir: Path | None) -> dict[str, Any]:
    """One task, never raising: the record for results.jsonl."""
    from evals.sheetcopilot import check_task

    started = time.monotonic()
    record: dict[str, Any] = {"id": task.id, "categories": [category(c) for c in task.categories],
                              "executed": False, "passed": False, "status": "error", "reason": ""}
    try:
        session = agent.chat(task.workbook, workdir=out_dir / "work" / task.id)
        answer = session.send(task.prompt)
        result_path = session.save(out_dir / "results" / f"{task.id}.xlsx")
        answers = out_dir / "answers"
        answers.mkdir(exist_ok=True)
        (answers / f"{task.id}.json").write_text(
            json.dumps(answer.to_dict(), ensure_ascii=False, default=str), encoding="utf-8")
        record.update(status=answer.status, steps=len(answer.steps),
                      tools=[s.tool for s in answer.steps], actions=sheet_actions(answer),
                      tokens_in=answer.tokens_in, tokens_out=answer.tokens_out,
                      tokens_cached=answer.tokens_cached, model_s=round(answer.model_s, 3),
                      rules=answer.rules_fired, text=answer.text[:500],
                      version=session.versions.version, workbook=str(result_path))
        # an edit request that ended without an edit did not execute anything
        record["executed"] = answer.status == "ok" and bool(record["actions"])
        check = check_task(result_path, task.id, data_dir=data_dir)
        record["passed"] = bool(record["executed"] and check.passed)
        record["reason"] = check.reason if check.passed or record["executed"] else (
            f"run ended with {answer.status}: {answer.stop_reason}; {check.reason}")
    except Exception as exc:  # one failing task must not end the run
        record["reason"] = f"{type(exc).__name__}: {exc}"
    record["duration_s"] = round(time.monotonic() - started, 3)
    record["failure"] = failure_kind(record)
    return record


def _check_same_run(out: Path, config: dict[str, Any]) -> None:
    path = out / RUN_INFO
    if path.exists():
        before = json.loads(path.read_text(encoding="utf-8")).get("config", {})
        for key in SAME_RUN_KEYS:
            if key in before and before[key] != config.get(key):
                raise ValueError(f"{out} holds a run with {key}={before[key]!r}, not "
                                 f"{config.get(key)!r}; use another --out folder, or delete "
                                 "this one to start over")
    path.write_text(json.dumps({"config": config}, indent=2, default=str), encoding="utf-8")


def run_sheetcopilot_tasks(model: Any, *, label: str = "", limit: int | None = None,
                           out_dir: Path | str = "runs/sheetcopilot",
                           data_dir: Path | str | None = None, max_steps: int | None = None,
                           progress: bool = True, task_set: str = "all",
                           ids: Iterable[str] | None = None,
                           agent_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the tasks not yet in ``out_dir`` and write ``report.json`` / ``report.md`` over all
    of them. ``agent_options`` go to ``TableAgent`` (effort, rules, timeout_s ...)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(data_dir) if data_dir else None
    tasks = select_tasks(task_set, root, limit=limit, ids=ids)
    options = dict(agent_options or {})
    if max_steps:
        options["max_steps"] = max_steps
    agent = TableAgent(model, **options)
    config = {"task_set": task_set, "model": label, "effort": getattr(agent, "effort", None),
              "max_steps": agent.limits.max_steps, "timeout_s": agent.limits.timeout_s,
              "rules_off": list(agent.rules.off())}
    _check_same_run(out, config)
    done = read_done(out / RESULTS)
    pending = [t for t in tasks if t.id not in done]
    bar = None
    if progress and pending:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), unit="task",
                   desc=f"sheetcopilot {task_set}")
    try:
        with open(out / RESULTS, "a", encoding="utf-8") as f:
            for task in pending:
                record = run_task(agent, task, out, root)
                done[task.id] = record
                f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                f.flush()
                os.fsync(f.fileno())
                if bar is not None:
                    bar.set_postfix_str(f"{sum(1 for r in done.values() if r.get('passed'))} passed")
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report = build_sheet_report([done.get(t.id) for t in tasks], [t.id for t in tasks],
                                label=label, config=config)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out / "report.md").write_text(render_sheet_report(report), encoding="utf-8")
    return report


def _rates(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    executed = sum(1 for r in rows if r.get("executed"))
    passed = sum(1 for r in rows if r.get("passed"))
    times = [float(r["duration_s"]) for r in rows if r.get("duration_s") is not None]
    return {"n": n, "executed": executed, "passed": passed,
            "exec_at_1": executed / n if n else 0.0, "pass_at_1": passed / n if n else 0.0,
            "pass_ci": wilson_interval(passed, n) if n else (0.0, 0.0),
            "p50_s": percentile(times, 50) if times else None,
            "tokens_in": sum(int(r.get("tokens_in") or 0) for r in rows) / n if n else 0.0,
            "tokens_out": sum(int(r.get("tokens_out") or 0) for r in rows) / n if n else 0.0}


def build_sheet_report(records: list[dict[str, Any] | None], ids: list[str], *,
                       label: str = "", config: dict[str, Any] | None = None) -> dict[str, Any]:
    n = len(ids)
    rows = [r or {"id": i, "executed": False, "passed": False, "reason": "not run",
                  "failure": None, "categories": []}
            for r, i in zip(records, ids, strict=True)]
    overall = _rates(rows)
    per_category = {name: _rates([r for r in rows if name in r.get("categories", [])])
                    for name in CATEGORIES}
    failures: dict[str, int] = {}
    for r in rows:
        kind = r.get("failure") if "failure" in r else failure_kind(r)
        if kind:
            failures[kind] = failures.get(kind, 0) + 1
    return {"dataset": "sheetcopilot", "model": label, "config": config or {}, "n_total": n,
            "executed": overall["executed"], "passed": overall["passed"],
            "exec_at_1": overall["exec_at_1"], "pass_at_1": overall["pass_at_1"],
            "pass_ci": overall["pass_ci"], "p50_s": overall["p50_s"],
            "tokens_in": overall["tokens_in"], "tokens_out": overall["tokens_out"],
            "categories": {k: v for k, v in per_category.items() if v["n"]},
            "failures": failures, "tasks": rows}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def render_sheet_report(report: dict[str, Any]) -> str:
    low, high = report.get("pass_ci", (0.0, 0.0))
    p50 = report.get("p50_s")
    config = report.get("config") or {}
    lines = [f"# SheetCopilot: {report['model']}", ""]
    if config:
        lines += ["Settings: " + ", ".join(f"{k}={v}" for k, v in config.items()), ""]
    lines += [f"- Exec@1: {_pct(report['exec_at_1'])} ({report['executed']}/{report['n_total']})",
              f"- Pass@1: {_pct(report['pass_at_1'])} ({report['passed']}/{report['n_total']}, "
              f"95% CI {_pct(low)}-{_pct(high)})",
              f"- p50 latency: {p50:.1f} s per task" if p50 is not None else "- p50 latency: -",
              f"- tokens per task: {report.get('tokens_in', 0):.0f} in / "
              f"{report.get('tokens_out', 0):.0f} out", ""]
    if report.get("categories"):
        lines += ["| category | tasks | Exec@1 | Pass@1 |", "|---|---:|---:|---:|"]
        for name, c in report["categories"].items():
            lines.append(f"| {name} | {c['n']} | {_pct(c['exec_at_1'])} | "
                         f"{_pct(c['pass_at_1'])} ({c['passed']}) |")
        lines.append("")
    if report.get("failures"):
        lines += ["Failures: " + ", ".join(f"{k} {v}" for k, v in sorted(
            report["failures"].items(), key=lambda kv: -kv[1])), ""]
    lines += ["| task | executed | passed | failure | actions | reason |", "|---|---|---|---|---|---|"]
    for r in report["tasks"]:
        reason = " ".join(str(r.get("reason", "")).split()).replace("|", "\\|")[:120]
        actions = ", ".join(r.get("actions") or [])[:60]
        lines.append(f"| {r['id']} | {r['executed']} | {r['passed']} | {r.get('failure') or ''} | "
                     f"{actions} | {reason} |")
    return "\n".join(lines) + "\n"

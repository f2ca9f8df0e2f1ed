"""The agent on SheetCopilot tasks: Exec@1 and Pass@1.

For each task: ``agent.chat(task workbook)`` -> ``session.send(context + instructions)`` -> the
session's current workbook is saved to ``OUT/results/<task>.xlsx`` and checked with
``evals.sheetcopilot.check_task``. Exec@1 counts runs that ended normally (status ``ok``) and
left a workbook; Pass@1 those whose workbook matched a reference solution. Each finished task is
appended to ``OUT/results.jsonl`` at once; a rerun skips the tasks already there.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from agent import TableAgent
from agent.batch import read_done

RESULTS = "results.jsonl"


def run_task(agent: TableAgent, task: Any, out_dir: Path, data_dir: Path | None) -> dict[str, Any]:
    """One task, never raising: the record for results.jsonl."""
    from evals.sheetcopilot import check_task

    started = time.monotonic()
    record: dict[str, Any] = {"id": task.id, "categories": task.categories, "executed": False,
                              "passed": False, "status": "error", "reason": ""}
    try:
        session = agent.chat(task.workbook, workdir=out_dir / "work" / task.id)
        answer = session.send(task.prompt)
        result_path = session.save(out_dir / "results" / f"{task.id}.xlsx")
        record.update(status=answer.status, steps=len(answer.steps),
                      tools=[s.tool for s in answer.steps], tokens_in=answer.tokens_in,
                      tokens_out=answer.tokens_out, text=answer.text[:500],
                      version=session.versions.version, workbook=str(result_path))
        record["executed"] = answer.status == "ok"
        check = check_task(result_path, task.id, data_dir=data_dir)
        record["passed"] = bool(record["executed"] and check.passed)
        record["reason"] = check.reason if not check.passed else "pass"
        if not record["executed"]:
            record["reason"] = f"run ended with {answer.status}: {answer.stop_reason}"
    except Exception as exc:  # one failing task must not end the run
        record["reason"] = f"{type(exc).__name__}: {exc}"
    record["duration_s"] = round(time.monotonic() - started, 3)
    return record


def run_sheetcopilot_tasks(model: Any, *, label: str = "", limit: int | None = None,
                           out_dir: Path | str = "runs/sheetcopilot",
                           data_dir: Path | str | None = None, max_steps: int | None = None,
                           progress: bool = True) -> dict[str, Any]:
    from evals.sheetcopilot import load_tasks

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    root = Path(data_dir) if data_dir else None
    tasks = load_tasks(root)[:limit] if limit is not None else load_tasks(root)
    done = read_done(out / RESULTS)
    pending = [t for t in tasks if t.id not in done]
    kwargs: dict[str, Any] = {"max_steps": max_steps} if max_steps else {}
    agent = TableAgent(model, **kwargs)
    bar = None
    if progress and pending:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), unit="task",
                   desc="sheetcopilot")
    try:
        with open(out / RESULTS, "a", encoding="utf-8") as f:
            for task in pending:
                record = run_task(agent, task, out, root)
                done[task.id] = record
                f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
                f.flush()
                os.fsync(f.fileno())
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    report = build_sheet_report([done.get(t.id) for t in tasks], [t.id for t in tasks],
                                label=label)
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    (out / "report.md").write_text(render_sheet_report(report), encoding="utf-8")
    return report


def build_sheet_report(records: list[dict[str, Any] | None], ids: list[str], *,
                       label: str = "") -> dict[str, Any]:
    n = len(ids)
    rows = [r or {"id": i, "executed": False, "passed": False, "reason": "not run"}
            for r, i in zip(records, ids, strict=True)]
    executed = sum(1 for r in rows if r["executed"])
    passed = sum(1 for r in rows if r["passed"])
    return {"dataset": "sheetcopilot", "model": label, "n_total": n, "executed": executed,
            "passed": passed, "exec_at_1": executed / n if n else 0.0,
            "pass_at_1": passed / n if n else 0.0, "tasks": rows}


def render_sheet_report(report: dict[str, Any]) -> str:
    lines = [f"# SheetCopilot: {report['model']}", "",
             f"- Exec@1: {100 * report['exec_at_1']:.1f}% ({report['executed']}/{report['n_total']})",
             f"- Pass@1: {100 * report['pass_at_1']:.1f}% ({report['passed']}/{report['n_total']})",
             "", "| task | executed | passed | reason |", "|---|---|---|---|"]
    for r in report["tasks"]:
        reason = " ".join(str(r.get("reason", "")).split()).replace("|", "\\|")[:120]
        lines.append(f"| {r['id']} | {r['executed']} | {r['passed']} | {reason} |")
    return "\n".join(lines) + "\n"

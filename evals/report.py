"""Run reports: accuracy with its 95% interval, breakdowns, error kinds, latency and tokens,
and per rule (agent/rules/) the questions where it fired and how many of those ended right."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals.stats import mean_interval, percentile, wilson_interval
from evals.tasks import EvalItem, EvalTask

# How an unanswered-correctly question ended, from Answer.status.
ERROR_KINDS = {
    "ok": "wrong_answer",
    "tool_error": "tool_error",
    "limit": "limit_reached",
    "model_format": "model_format",
    "error": "error",
}
ERROR_LABELS = {
    "wrong_answer": "wrong answer",
    "tool_error": "tool error",
    "limit_reached": "limit reached",
    "model_format": "model-format failure",
    "error": "crashed (other error)",
    "not_run": "not run (no prediction)",
}


@dataclass
class ItemResult:
    """One question's outcome, flattened for reports and comparisons."""

    id: str
    question: str
    category: str
    gold: list[str]
    finished: bool
    prediction: list[str] = field(default_factory=list)
    score: float = 0.0
    status: str = "not_run"
    stop_reason: str | None = None
    steps: int = 0
    tools: list[str] = field(default_factory=list)
    tool_errors: int = 0
    duration_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    text: str = ""
    drafted: int = 0  # query steps drafted several times (agent ``samples``)
    overruled: int = 0  # of those, steps where the vote chose another draft than the greedy one
    rules: list[str] = field(default_factory=list)  # ids of the rules that fired, first first

    @property
    def correct(self) -> bool:
        return self.score >= 1.0 - 1e-9

    @classmethod
    def from_record(cls, task: EvalTask, item: EvalItem,
                    record: dict[str, Any] | None) -> ItemResult:
        if record is None:
            return cls(id=item.id, question=item.question, category=item.category,
                       gold=item.gold, finished=False)
        answer = record.get("answer") or {}
        steps = answer.get("steps") or []
        prediction = [str(p) for p in record.get("prediction") or []]
        return cls(
            id=item.id, question=item.question, category=item.category, gold=item.gold,
            finished=True, prediction=prediction, score=task.score(item, prediction),
            status=str(answer.get("status") or "ok"), stop_reason=answer.get("stop_reason"),
            steps=len(steps), tools=list(dict.fromkeys(s.get("tool", "?") for s in steps)),
            tool_errors=sum(1 for s in steps if s.get("error")),
            duration_s=float(answer.get("duration_s") or 0.0),
            tokens_in=int(answer.get("tokens_in") or 0),
            tokens_out=int(answer.get("tokens_out") or 0),
            text=str(answer.get("text") or ""),
            drafted=sum(1 for s in steps if _drafts(s)),
            overruled=sum(1 for s in steps if _drafts(s) and _drafts(s)[0].get("query")
                          != (s.get("input") or {}).get("query")),
            rules=fired_rules(answer),
        )

    @property
    def outcome(self) -> str:
        """'correct', or the kind of failure (a key of ERROR_LABELS)."""
        if not self.finished:
            return "not_run"
        if self.correct:
            return "correct"
        return ERROR_KINDS.get(self.status, "error")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["correct"] = self.correct
        data["outcome"] = self.outcome
        return data


def fired_rules(answer: dict[str, Any]) -> list[str]:
    """The distinct ids of the rules that fired in a logged answer (``Answer.to_dict()``): its
    ``rules`` hits and its steps' ``rules``, in order of first firing. A record written before
    rules were logged has neither: no rule fired."""
    ids = [str(h["rule"]) for h in answer.get("rules") or []
           if isinstance(h, dict) and h.get("rule")]
    ids += [str(r) for s in answer.get("steps") or [] for r in s.get("rules") or [] if r]
    return list(dict.fromkeys(ids))


def _by_rule(results: list[ItemResult]) -> dict[str, dict[str, Any]]:
    """Per rule: questions where it fired, of those right, and the mean score among them;
    the rules that fired most first."""
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        for rule_id in r.rules:
            groups[rule_id].append(r)
    order = sorted(groups, key=lambda k: (-len(groups[k]), k))
    return {k: {"n": len(groups[k]), "correct": sum(r.correct for r in groups[k]),
                "accuracy": sum(r.score for r in groups[k]) / len(groups[k])} for k in order}


def _drafts(step: dict[str, Any]) -> list[dict[str, Any]]:
    """The drafts a logged step was chosen from (the first is the greedy one)."""
    return list((step.get("payload") or {}).get("drafts") or [])


def _group(results: list[ItemResult], key: Any) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[ItemResult]] = defaultdict(list)
    for r in results:
        for k in key(r):
            groups[k].append(r)
    out = {}
    for k in sorted(groups, key=_natural):
        rs = groups[k]
        total = sum(r.score for r in rs)
        out[k] = {"n": len(rs), "correct": sum(r.correct for r in rs),
                  "accuracy": total / len(rs)}
    return out


def _natural(key: str) -> tuple[int, int, str]:
    return (0, int(key), "") if key.isdigit() else (1, 0, key)


def build_report(task: EvalTask, results: list[ItemResult], *, wall_s: float = 0.0,
                 finished: int | None = None, config: dict[str, Any] | None = None
                 ) -> dict[str, Any]:
    """The report over every item (an item without a prediction scores 0)."""
    n = len(results)
    done = [r for r in results if r.finished]
    n_correct = sum(r.correct for r in results)
    scores = [r.score for r in results]
    if task.binary:
        accuracy = n_correct / n if n else 0.0
        low, high = wilson_interval(n_correct, n)
    else:
        accuracy, low, high = mean_interval(scores)
    errors = {kind: 0 for kind in ERROR_LABELS}
    for r in results:
        if r.outcome != "correct":
            errors[r.outcome] += 1
    durations = [r.duration_s for r in done]
    tokens_in = sum(r.tokens_in for r in done)
    tokens_out = sum(r.tokens_out for r in done)
    finished = len(done) if finished is None else finished
    minutes = wall_s / 60 if wall_s > 0 else 0.0
    report: dict[str, Any] = {
        "dataset": task.name,
        "metric": task.metric,
        "config": config or {},
        "n_total": n,
        "n_finished": len(done),
        "n_correct": n_correct,
        "accuracy": accuracy,
        "ci95": [low, high],
        "by_answer_type": _group(results, lambda r: [r.category or "?"]),
        "by_steps": _group(done, lambda r: [str(r.steps)]),
        "by_tool": _group(done, lambda r: r.tools or ["(no tool)"]),
        "by_rule": _by_rule(done),
        "no_rule_fired": _group(done, lambda r: [] if r.rules else ["(none)"]).get(
            "(none)", {"n": 0, "correct": 0, "accuracy": 0.0}),
        "errors": errors,
        "questions_with_tool_errors": sum(1 for r in done if r.tool_errors),
        "drafts": {"questions_drafted": sum(1 for r in done if r.drafted),
                   "questions_overruled": sum(1 for r in done if r.overruled),
                   "overruled_correct": sum(1 for r in done if r.overruled and r.correct)},
        "latency_s": {"p50": percentile(durations, 50), "p95": percentile(durations, 95),
                      "mean": sum(durations) / len(durations) if durations else 0.0},
        "tokens_per_question": {"in": tokens_in / len(done) if done else 0.0,
                                "out": tokens_out / len(done) if done else 0.0},
        "tokens_total": {"in": tokens_in, "out": tokens_out},
        "wall_s": wall_s,
        "questions_per_minute": finished / minutes if minutes else 0.0,
        "tokens_per_second": (tokens_in + tokens_out) / wall_s if wall_s > 0 else 0.0,
        "output_tokens_per_second": tokens_out / wall_s if wall_s > 0 else 0.0,
        "questions": [r.to_dict() for r in results],
    }
    if task.metric == "rouge_l":
        from evals.rouge import sacrebleu_corpus

        bleu = sacrebleu_corpus([" ".join(r.prediction) for r in results],
                                [r.gold[0] if r.gold else "" for r in results])
        if bleu is not None:
            report["sacrebleu"] = bleu
    return report


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _table(title: str, groups: dict[str, dict[str, Any]], label: str) -> list[str]:
    lines = [f"## {title}", "", f"| {label} | n | correct | score |", "|---|---:|---:|---:|"]
    lines += [f"| {k} | {g['n']} | {g['correct']} | {_pct(g['accuracy'])} |"
              for k, g in groups.items()]
    return [*lines, ""]


def render_markdown(report: dict[str, Any], *, max_failures: int = 40) -> str:
    cfg = report.get("config", {})
    metric = "accuracy" if report["metric"] == "accuracy" else f"mean {report['metric']}"
    low, high = report["ci95"]
    lines = [
        f"# {report['dataset']} eval: {cfg.get('strategy', '?')} strategy",
        "",
        f"- model: `{cfg.get('model', '?')}`; questions: `{cfg.get('questions', '?')}`",
        f"- **{metric}: {_pct(report['accuracy'])}** ({report['n_correct']}/{report['n_total']}"
        f" exactly right), 95% interval {_pct(low)} to {_pct(high)}",
        f"- finished {report['n_finished']}/{report['n_total']}"
        + (" (run interrupted: rerun the same command to resume)" if report.get("interrupted")
           else ""),
        "",
        "## Errors",
        "",
        "| kind | questions |",
        "|---|---:|",
    ]
    lines += [f"| {ERROR_LABELS[k]} | {v} |" for k, v in report["errors"].items()]
    lines += [f"| (questions with a failed tool call, any outcome) | "
              f"{report['questions_with_tool_errors']} |", ""]
    drafts = report.get("drafts") or {}
    if drafts.get("questions_drafted"):
        lines += [f"Drafted query steps (agent samples={cfg.get('samples', '?')}): in "
                  f"{drafts['questions_drafted']} questions; the vote overruled the greedy "
                  f"query in {drafts['questions_overruled']}, of which "
                  f"{drafts['overruled_correct']} ended right.", ""]
    lines += _table("By answer type", report["by_answer_type"], "type")
    lines += _table("By steps taken", report["by_steps"], "steps")
    lines += _table("By tool used", report["by_tool"], "tool")
    lines += _rules_table(report)
    lat, tok = report["latency_s"], report["tokens_per_question"]
    lines += [
        "## Cost",
        "",
        "| latency p50 | latency p95 | tokens in / question | tokens out / question "
        "| questions / min | tokens / s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {lat['p50']:.2f} s | {lat['p95']:.2f} s | {tok['in']:.0f} | {tok['out']:.0f} "
        f"| {report['questions_per_minute']:.2f} | {report['tokens_per_second']:.1f} |",
        "",
    ]
    if "sacrebleu" in report:
        lines += [f"sacreBLEU: {report['sacrebleu']:.2f}", ""]
    failures = [q for q in report["questions"] if not q["correct"]][:max_failures]
    if failures:
        lines += [f"## Failures (first {len(failures)})", "",
                  "| id | outcome | question | gold | prediction |", "|---|---|---|---|---|"]
        for q in failures:
            lines.append("| {} | {} | {} | {} | {} |".format(
                q["id"], q["outcome"], _cell(q["question"]), _cell(" | ".join(q["gold"])),
                _cell(" | ".join(q["prediction"]))))
        lines.append("")
    return "\n".join(lines)


def _rules_table(report: dict[str, Any]) -> list[str]:
    """Which rules were off, and per rule that fired: questions, of those right, accuracy."""
    cfg = report.get("config", {})
    if "rules_off" not in cfg and not report.get("by_rule"):
        return []  # a run without the agent's rules (a baseline strategy, an old run)
    lines = ["## Rules", ""]
    if "rules_off" in cfg:
        off = cfg["rules_off"] or []
        lines += [f"Rules off: {', '.join(f'`{r}`' for r in off) if off else 'none'}.", ""]
    by_rule = report.get("by_rule") or {}
    if not by_rule:
        return [*lines, "No rule fired.", ""]
    lines += ["| rule | fired in | right | accuracy when fired |", "|---|---:|---:|---:|"]
    lines += [f"| `{k}` | {g['n']} | {g['correct']} | {_pct(g['accuracy'])} |"
              for k, g in by_rule.items()]
    none = report.get("no_rule_fired") or {}
    if none.get("n"):
        lines.append(f"| (no rule fired) | {none['n']} | {none['correct']} | "
                     f"{_pct(none['accuracy'])} |")
    return [*lines, ""]


def rules_summary(report: dict[str, Any], *, top: int = 12) -> str:
    """A few plain lines for the terminal: the rules off, and the rules that fired most."""
    cfg = report.get("config", {})
    lines = []
    if "rules_off" in cfg:
        lines.append("rules off: " + (", ".join(cfg["rules_off"]) or "none"))
    by_rule = list((report.get("by_rule") or {}).items())
    if by_rule:
        width = max(len(k) for k, _ in by_rule[:top])
        lines.append(f"{'rule':<{width}}  fired  right  accuracy")
        lines += [f"{k:<{width}}  {g['n']:>5}  {g['correct']:>5}  {_pct(g['accuracy']):>8}"
                  for k, g in by_rule[:top]]
        if len(by_rule) > top:
            lines.append(f"... {len(by_rule) - top} more in report.md")
    return "\n".join(lines)


def _cell(text: str, width: int = 80) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= width else text[: width - 1] + "…"


def write_report(out_dir: Path, report: dict[str, Any]) -> None:
    for name, text in (("report.json", json.dumps(report, indent=2, ensure_ascii=False,
                                                  default=str)),
                       ("report.md", render_markdown(report))):
        tmp = out_dir / (name + ".tmp")
        tmp.write_text(text + "\n", encoding="utf-8")
        tmp.replace(out_dir / name)


def load_report(run_dir: Path | str) -> dict[str, Any]:
    path = Path(run_dir) / "report.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: is {run_dir} a finished eval run folder?")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data

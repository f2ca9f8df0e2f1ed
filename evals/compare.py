"""Compare two runs question by question: what got fixed, what broke, the accuracy delta."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.report import load_report
from evals.stats import mcnemar_exact


@dataclass
class Comparison:
    name_a: str
    name_b: str
    accuracy_a: float
    accuracy_b: float
    common: int  # questions in both runs
    fixed: list[dict[str, Any]] = field(default_factory=list)  # wrong in A, right in B
    broken: list[dict[str, Any]] = field(default_factory=list)  # right in A, wrong in B
    both_right: int = 0
    both_wrong: int = 0
    only_a: int = 0
    only_b: int = 0
    # accuracy over the common questions only, for a like-for-like delta
    common_accuracy_a: float = 0.0
    common_accuracy_b: float = 0.0

    @property
    def delta(self) -> float:
        return self.common_accuracy_b - self.common_accuracy_a

    @property
    def p_value(self) -> float:
        """Exact McNemar p-value of the difference on the common questions."""
        return mcnemar_exact(len(self.fixed), len(self.broken))


RunDirs = Path | str | Sequence[Path | str]


def _questions(runs: RunDirs) -> tuple[str, dict[str, dict[str, Any]], float]:
    """One run folder, or several over different questions (slices of one set) pooled."""
    dirs = [runs] if isinstance(runs, Path | str) else list(runs)
    questions: dict[str, dict[str, Any]] = {}
    for d in dirs:
        for q in load_report(d)["questions"]:
            if q["id"] in questions:
                raise ValueError(f"question {q['id']} is in more than one of the runs "
                                 f"{', '.join(map(str, dirs))}: pool runs over different questions")
            questions[q["id"]] = q
    accuracy = sum(q["score"] for q in questions.values()) / len(questions) if questions else 0.0
    return " + ".join(map(str, dirs)), questions, accuracy


def compare_runs(run_a: RunDirs, run_b: RunDirs) -> Comparison:
    """Compare run B with run A on the questions both answered. Either side may be several run
    folders over different questions (e.g. two slices of the dev set), pooled."""
    name_a, qa, accuracy_a = _questions(run_a)
    name_b, qb, accuracy_b = _questions(run_b)
    common = [i for i in qa if i in qb]
    cmp = Comparison(name_a=name_a, name_b=name_b, accuracy_a=accuracy_a,
                     accuracy_b=accuracy_b, common=len(common),
                     only_a=len(qa) - len(common), only_b=sum(1 for i in qb if i not in qa))
    score_a = score_b = 0.0
    for i in common:
        a, b = qa[i], qb[i]
        score_a += a["score"]
        score_b += b["score"]
        if a["correct"] and b["correct"]:
            cmp.both_right += 1
        elif not a["correct"] and not b["correct"]:
            cmp.both_wrong += 1
        else:
            row = {"id": i, "question": a["question"], "gold": a["gold"],
                   "prediction_a": a["prediction"], "prediction_b": b["prediction"],
                   "outcome_a": a["outcome"], "outcome_b": b["outcome"]}
            (cmp.fixed if b["correct"] else cmp.broken).append(row)
    if common:
        cmp.common_accuracy_a = score_a / len(common)
        cmp.common_accuracy_b = score_b / len(common)
    return cmp


def render_comparison(cmp: Comparison, *, verbose: bool = True) -> str:
    lines = [f"A: {cmp.name_a}  accuracy {100 * cmp.accuracy_a:.1f}%",
             f"B: {cmp.name_b}  accuracy {100 * cmp.accuracy_b:.1f}%",
             f"common questions: {cmp.common}"
             + (f" (only in A: {cmp.only_a}, only in B: {cmp.only_b})"
                if cmp.only_a or cmp.only_b else "")]

    def show(title: str, rows: list[dict[str, Any]]) -> None:
        lines.append(f"{title}: {len(rows)}")
        if verbose:
            for r in rows:
                lines.append(f"  {r['id']}\t{r['question']}\n"
                             f"      gold {r['gold']}  A {r['prediction_a']} ({r['outcome_a']})"
                             f"  B {r['prediction_b']} ({r['outcome_b']})")

    show("fixed (wrong in A, right in B)", cmp.fixed)
    show("broken (right in A, wrong in B)", cmp.broken)
    lines.append(f"both right: {cmp.both_right}")
    lines.append(f"both wrong: {cmp.both_wrong}")
    lines.append(f"accuracy on common questions: A {100 * cmp.common_accuracy_a:.1f}% -> "
                 f"B {100 * cmp.common_accuracy_b:.1f}% (delta {100 * cmp.delta:+.1f} points)")
    if cmp.common:
        lines.append(f"paired test (exact McNemar, {len(cmp.fixed)} fixed vs {len(cmp.broken)} "
                     f"broken): p = {cmp.p_value:.3g}"
                     + ("" if cmp.p_value < 0.05 else "; not a significant difference at 5%"))
    return "\n".join(lines)


ROW_HEADER = ("| run | fixed | broken | p (exact McNemar) | accuracy A -> B |\n"
              "|---|---:|---:|---:|---|")


def comparison_row(cmp: Comparison, label: str | None = None) -> str:
    """The comparison as one markdown table row (under ``ROW_HEADER``): B's label, fixed and
    broken questions, the two-sided exact McNemar p, and the accuracy on the common questions."""
    return (f"| {label or cmp.name_b} | {len(cmp.fixed)} | {len(cmp.broken)} | "
            f"{cmp.p_value:.3g} | {100 * cmp.common_accuracy_a:.1f}% -> "
            f"{100 * cmp.common_accuracy_b:.1f}% |")

"""Rule ablations: the eval rerun with one family (or rule) switched off, paired against the
base run with every default rule on.

Each ablation lives beside the base, in ``BASE-without-NAME/``, run with ``--without NAME
--reuse-unfired BASE`` (so only the questions where a rule of NAME fired are asked again). The
table pairs each with the base question by question: fixed (wrong in the base, right without),
broken (right in the base, wrong without) and the two-sided exact McNemar p, as ``eval
compare`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from evals.compare import Comparison, compare_runs
from evals.report import load_report
from evals.runner import ANSWERS, RUN_INFO, load_answers, read_run_info


def sub_run_dir(base: Path | str, name: str) -> Path:
    """Where the ablation of ``name`` (a family or a rule id) of ``base`` is run."""
    base = Path(base)
    return base.with_name(f"{base.name}-without-{name}")


@dataclass
class AblationRow:
    """One family's (or rule's) ablation against the base; ``comparison`` is None until its
    run folder has a report."""

    name: str
    run_dir: Path
    rules_off: list[str] = field(default_factory=list)  # switched off here, on in the base
    fired_in_base: dict[str, int] = field(default_factory=dict)  # of those: rule -> questions
    rerun: int = 0  # questions asked again
    reused: int = 0  # questions copied from the base
    comparison: Comparison | None = None


def ablation_row(base: Path | str, name: str) -> AblationRow:
    """Read the ablation of ``name`` beside ``base`` (both run folders with reports)."""
    base = Path(base)
    run_dir = sub_run_dir(base, name)
    row = AblationRow(name=name, run_dir=run_dir)
    if not (run_dir / "report.json").exists():
        return row
    base_off = set(read_run_info(base).get("config", {}).get("rules_off") or [])
    run_off = read_run_info(run_dir).get("config", {}).get("rules_off") or []
    row.rules_off = [r for r in run_off if r not in base_off]
    by_rule = load_report(base).get("by_rule") or {}
    row.fired_in_base = {r: int(by_rule[r]["n"]) for r in row.rules_off if r in by_rule}
    row.comparison = compare_runs(base, run_dir)
    asked = {q["id"] for q in load_report(run_dir)["questions"] if q["finished"]}
    records = load_answers(run_dir / ANSWERS)
    row.reused = sum(1 for i in asked if (records.get(i) or {}).get("reused_from"))
    row.rerun = len(asked) - row.reused
    return row


def ablation_rows(base: Path | str, names: list[str]) -> list[AblationRow]:
    """The rows for ``names`` in that order; FileNotFoundError when the base has no report."""
    base = Path(base)
    if not (base / RUN_INFO).exists():
        raise FileNotFoundError(f"{base / RUN_INFO} not found: is {base} an eval run folder?")
    load_report(base)
    return [ablation_row(base, name) for name in names]


def _fired(row: AblationRow) -> str:
    if not row.rules_off:
        return "no rule newly off"
    fired = ", ".join(f"`{r}` ({n})" for r, n in sorted(row.fired_in_base.items(),
                                                        key=lambda kv: (-kv[1], kv[0])))
    return f"{len(row.fired_in_base)} of {len(row.rules_off)}" + (f": {fired}" if fired else "")


TABLE_HEADER = ("| family or rule | rules in it that fired in base (questions) | questions rerun "
                "| fixed | broken | p | accuracy base -> without |\n"
                "|---|---|---:|---:|---:|---:|---|")


def render_table(rows: list[AblationRow]) -> str:
    """The ablation table in markdown (fixed/broken/p over the questions both runs hold)."""
    lines = [TABLE_HEADER]
    for row in rows:
        cmp = row.comparison
        if cmp is None:
            lines.append(f"| {row.name} | (not run: no report in {row.run_dir}) | | | | | |")
            continue
        lines.append(
            f"| {row.name} | {_fired(row)} | {row.rerun} | {len(cmp.fixed)} | "
            f"{len(cmp.broken)} | {cmp.p_value:.3g} | {100 * cmp.common_accuracy_a:.1f}% -> "
            f"{100 * cmp.common_accuracy_b:.1f}% |")
    return "\n".join(lines)

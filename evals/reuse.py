"""Cheap ablation: copy a base run's answers where the rules switched off never fired.

With the same model, seeds, drafts and step limit, a run with some rules off is identical to
the base run up to the first point one of those rules would act. A question where none of them
fired in the base (neither in ``answer["rules"]`` nor in a step's ``rules``) would come out the
same, so its base record is copied instead of asked again. That holds only when the base ran
with every other setting equal and with no rule off that this run has on: ``open_base``
refuses anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.report import fired_rules
from evals.runner import ANSWERS, RUN_INFO, load_answers, read_run_info

# The settings that must match between the base run and the run reusing its answers.
REUSE_KEYS = ("dataset", "strategy", "model", "samples", "effort", "max_steps", "questions",
              "limit", "offset")


class ReuseError(ValueError):
    """The base run cannot stand in for this one (the message says why)."""


@dataclass(frozen=True)
class ReuseBase:
    """A base run's records and the rules this run switches off that the base had on."""

    dir: Path
    newly_off: frozenset[str]
    records: dict[str, dict[str, Any]]

    def record_for(self, item_id: str) -> dict[str, Any] | None:
        """The base's record for this question, marked ``reused_from``, when none of the
        newly switched-off rules fired in it; else None (the question must be asked)."""
        record = self.records.get(item_id)
        if record is None or self.newly_off & set(fired_rules(record.get("answer") or {})):
            return None
        return {**record, "reused_from": str(self.dir)}

    def reusable(self, item_ids: list[str]) -> int:
        return sum(1 for i in item_ids if self.record_for(i) is not None)


def open_base(base_dir: Path | str, config: dict[str, Any]) -> ReuseBase:
    """The base run at ``base_dir`` for a run with ``config`` (which carries ``rules_off``);
    ReuseError when it is not a run folder, records no rule set, or differs in more than its
    rules."""
    base_dir = Path(base_dir)
    if not (base_dir / RUN_INFO).exists():
        raise ReuseError(f"cannot reuse answers from {base_dir}: it has no {RUN_INFO} "
                         "(is it an eval run folder?)")
    base_config = read_run_info(base_dir).get("config", {})
    if "rules_off" not in config:
        raise ReuseError("cannot reuse answers: this run records no rule set (only the agent "
                         "strategy runs rules)")
    if "rules_off" not in base_config:
        raise ReuseError(f"cannot reuse answers from {base_dir}: its run records no rule set "
                         "(it was made before rules were recorded, or not by the agent)")
    differ = [f"{key}={base_config.get(key)!r} there, {config.get(key)!r} here"
              for key in REUSE_KEYS if base_config.get(key) != config.get(key)]
    if differ:
        raise ReuseError(f"cannot reuse answers from {base_dir}: its run differs in more than "
                         f"the rules ({'; '.join(differ)}); rerun the base with the same "
                         "settings, or drop --reuse-unfired")
    base_off, run_off = set(base_config["rules_off"]), set(config["rules_off"])
    turned_on = sorted(base_off - run_off)
    if turned_on:
        raise ReuseError(f"cannot reuse answers from {base_dir}: it ran with "
                         f"{', '.join(turned_on)} off, which this run has on (whether they "
                         "would have fired there is unknown); use a base with those rules on")
    return ReuseBase(dir=base_dir, newly_off=frozenset(run_off - base_off),
                     records=load_answers(base_dir / ANSWERS))

"""What a run has done so far: steps, results as the rules see them, rules fired, tokens; and
the ``Answer`` it ends with."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from agent.answer import Answer, RuleHit, Status, Step
from agent.models.contract import Usage
from agent.rules.base import Seen
from agent.values import format_value
from agent.wording import restates
from tools.payloads import pending_payload, sheet_payload


@dataclass
class RunLog:
    question: str
    model: str
    view_tables: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    hits: list[RuleHit] = field(default_factory=list)
    sources: list[tuple[list[str], list[str]]] = field(default_factory=list)  # tables, cells
    usage: Usage = field(default_factory=Usage)
    pending: Usage = field(default_factory=Usage)  # tokens since the last step
    version: int | None = None  # the workbook version after an edit
    edits: list[str] = field(default_factory=list)  # the kept edits in words
    edit_pending: bool = False
    started: float = field(default_factory=time.monotonic)

    def charge(self, usage: Usage) -> None:
        self.usage += usage
        self.pending += usage

    def fire(self, rule_id: str, note: str = "", *, step: int | None = None) -> None:
        self.hits.append(RuleHit(rule_id, len(self.steps) if step is None else step, note))

    def add(self, step: Step, seen: Seen, result: Any) -> None:
        """Keep a finished step (its tokens are the ones charged since the last step)."""
        spent = self.pending
        step.tokens_in, step.tokens_out = spent.input_tokens, spent.output_tokens
        step.tokens_cached = spent.cached_tokens
        step.model_s, step.prompt_s, step.generate_s = (
            round(spent.model_s, 3), round(spent.prompt_s, 3), round(spent.generate_s, 3))
        self.pending = Usage()
        for rule_id in step.rules:
            self.fire(rule_id, step=step.index)
        self.steps.append(step)
        self.seen.append(seen)
        if step.error is None:
            self.sources.append((list(result.tables), list(result.cells)))
            version = sheet["version"] if (sheet := sheet_payload(result)) is not None else None
            if step.tool == "sheet" and isinstance(version, int):
                self.version = version
            if seen.edit is not None:
                self.edits.extend(seen.edit.summaries)
                self.edit_pending = pending_payload(result) is not None

    def answer(self, status: Status, value: Any, text: str, reason: str | None) -> Answer:
        tables: list[str] = []
        cells: list[str] = []
        for used_tables, used_cells in self.sources:
            tables.extend(t for t in used_tables if t not in tables)
            cells.extend(c for c in used_cells if c not in cells)
        return Answer(question=self.question, value=value, text=text, steps=self.steps,
                      status=status, stop_reason=reason, tables=tables or list(self.view_tables),
                      cells=cells[:500], model=self.model, tokens_in=self.usage.input_tokens,
                      tokens_out=self.usage.output_tokens,
                      duration_s=round(time.monotonic() - self.started, 6), version=self.version,
                      rules=list(self.hits), tokens_cached=self.usage.cached_tokens,
                      model_s=round(self.usage.model_s, 3), prompt_s=round(self.usage.prompt_s, 3),
                      generate_s=round(self.usage.generate_s, 3), edits=list(self.edits),
                      edit_pending=self.edit_pending)

    def edit_answer(self, note: str = "") -> Answer:
        """The run ends with its edits as the answer: what was changed (or proposed), in words."""
        head = "Proposed (apply or discard it):" if self.edit_pending else "Changed:"
        text = "\n".join([head, *(f"- {line}" for line in self.edits)])
        if note:
            text += f"\n({note})"
        return self.answer("ok", "; ".join(self.edits), text, None)


def shown_explanation(value: Any, explanation: str) -> str:
    """The model's explanation as the answer shows it: '' when it only restates the value or
    is too long to show."""
    explanation = explanation.strip()
    return "" if restates(explanation, value) or len(explanation) >= 400 else explanation


def answer_text(value: Any, explanation: str, notes: list[str],
                sentence: str | None = None) -> str:
    """The answer for a person: the value, the model's explanation (or, when it gave none, the
    ``sentence`` that says what the value is: agent/wording.py), and why a rule changed it."""
    text = format_value(value)
    said = shown_explanation(value, explanation) or sentence or ""
    if said:
        text = f"{text}\n{said}" if text else said
    if notes:
        text = f"{text}\n({'; '.join(notes)})"
    return text


def stopped_text(reason: str, value: Any, has_value: bool) -> str:
    return f"Stopped: {reason}." + (f" Last result: {format_value(value)}" if has_value else "")

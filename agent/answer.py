"""Steps and answers: the run log that the app, the CLI and the evals all read."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "limit", "tool_error", "model_format", "error"]


@dataclass
class Step:
    """One tool call: what the model asked for and what it saw back."""

    index: int
    tool: str
    input: dict[str, Any]
    output: str  # the observation the model saw
    error: str | None = None  # None when the call succeeded
    duration_s: float = 0.0  # running the tool
    tokens_in: int = 0
    tokens_out: int = 0
    thought: str = ""  # text the model wrote alongside the call
    payload: dict[str, Any] = field(default_factory=dict)  # JSON-safe extras for the app/log
    rules: list[str] = field(default_factory=list)  # ids of the rules that fired on this step
    # the model calls that led to this step (drafts included): input reused from the server's
    # cache, seconds waiting on the model, and the server's split of them where it reports one
    tokens_cached: int = 0
    model_s: float = 0.0
    prompt_s: float = 0.0
    generate_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def shown(self) -> str:
        """The result for a person: the output without what was only said to the model (the
        'reply with final_answer' prompt, the drafts' vote line)."""
        return for_people(self.error or self.output)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Step:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass
class RuleHit:
    """A rule that fired: which, after how many steps, and what it did (agent/rules/)."""

    rule: str
    step: int  # the number of steps done when it fired (0: before the first tool call)
    note: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleHit:
        return cls(rule=str(data["rule"]), step=int(data.get("step", 0)),
                   note=str(data.get("note", "")))


@dataclass
class Answer:
    """The outcome of one question.

    ``value`` is typed: a number, a string, a date (ISO string in JSON), or a list of them.
    ``status`` says how the run ended; ``stop_reason`` says why in words when it is not 'ok'.
    """

    question: str
    value: Any
    text: str
    steps: list[Step] = field(default_factory=list)
    status: Status = "ok"
    stop_reason: str | None = None
    tables: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    model: str = ""
    tokens_in: int = 0
    tokens_out: int = 0
    duration_s: float = 0.0
    version: int | None = None  # workbook version after the run, when it edited
    rules: list[RuleHit] = field(default_factory=list)  # every rule that fired, in order
    tokens_cached: int = 0  # of tokens_in, reused from the server's cache (not processed)
    model_s: float = 0.0  # of duration_s, waiting on the model
    prompt_s: float = 0.0  # the server's own split of model_s, where it reports one
    generate_s: float = 0.0
    edits: list[str] = field(default_factory=list)  # the edits this run made, one line each
    edit_pending: bool = False  # they wait for the person to apply them (not saved yet)

    @property
    def values(self) -> list[Any]:
        """The answer as a list of items (WikiTQ style)."""
        if self.value is None:
            return []
        return list(self.value) if isinstance(self.value, list | tuple) else [self.value]

    @property
    def rules_fired(self) -> list[str]:
        """The distinct ids of the rules that fired, in order of first firing."""
        return list(dict.fromkeys(h.rule for h in self.rules))

    @property
    def tools_used(self) -> list[str]:
        return [s.tool for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["value"] = _jsonable(self.value)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Answer:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["steps"] = [Step.from_dict(s) for s in data.get("steps", [])]
        known["rules"] = [RuleHit.from_dict(r) for r in data.get("rules", [])]
        return cls(**known)


def _jsonable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    return value


_VOTE = re.compile(r"\(\d+ of \d+ drafts? of this query gave this result\)\s*")
# what the loop says to the model only (prompts/messages.yaml); it may come back in a result or
# in text a small model echoes
_MODEL_ONLY = ("observation_hint", "nudge_tool", "check_first")


def for_people(text: str) -> str:
    """``text`` less what the loop adds for the model only: the 'reply with final_answer'
    prompt, the nudges and the drafts' vote line."""
    from agent.prompting import messages_text

    messages = messages_text()
    text = _VOTE.sub("", text)
    for key in _MODEL_ONLY:
        said = messages[key].strip()
        text = re.sub(r"\s*" + re.escape(said), "", text)
    return text.rstrip()

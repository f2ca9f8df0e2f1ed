"""What a rule is, what it sees and what it may answer.

A rule is a named, pure function of a read-only ``RunState`` (and the call, reply, answer or
tool result it is asked about) that returns a verdict or None. The driver (agent/loop.py) asks
each family at its point of the loop, in order, and records every verdict in the run log.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.models.contract import Call

Family = Literal["call", "reply", "check", "shape", "observe", "sql", "edit"]

FAMILIES: dict[str, str] = {
    "call": "call rewrites: before a tool call runs, it may be rewritten, taken as the answer "
            "or not run",
    "reply": "text replies: a reply with no tool call may be taken as the answer",
    "check": "answer checks: a final answer may be sent back once, with advice, or refused",
    "shape": "answer shaping: the answer's value may be replaced (grounded in a result, or "
             "given the shape the question asks for)",
    "observe": "observation hints: a tool result may get a hint added for the model",
    "sql": "SQL repairs (tools/sql/repairs.py): a query is fixed before it runs, with a note",
    "edit": "edit checks: a drafted edit is read back and compared with the request; a "
            "mismatch is taken back and sent to the model once, with a hint; an edit that does "
            "everything asked ends the run",
}

__all__ = ["FAMILIES", "Accept", "Call", "Drafted", "Family", "Hint", "Proposed", "Refuse", "Replace",
           "Rewrite", "Rule", "RunState", "Seen", "SendBack", "Stop", "Verdict", "canonical",
           "rule"]


@dataclass(frozen=True)
class Seen:
    """One tool result as the rules see it."""

    tool: str
    ok: bool
    value: Any = None  # the result's value (one cell, or a list), when it has one
    has_value: bool = False
    frame: Any = None  # the query's result frame (sql), else None
    sql: str = ""
    input: Mapping[str, Any] = field(default_factory=dict)  # the call's arguments, as run
    output: str = ""  # the observation the model saw
    error: str | None = None
    rules: tuple[str, ...] = ()  # rules that fired on that step
    edit: Any = None  # a sheet step's Drafted (its actions, words and read-back), else None


@dataclass(frozen=True)
class RunState:
    """What a rule may read: the question, the tools, and what happened so far."""

    question: str
    tools: tuple[str, ...] = ()  # tool names, final_answer excluded
    text_protocol: bool = False  # the model writes calls as text (small local models)
    schema: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # table -> columns
    seen: tuple[Seen, ...] = ()  # every tool result so far, in order
    fired: tuple[str, ...] = ()  # ids of the rules that fired so far in this run
    nudged: bool = False  # the model was already asked for a tool call or an answer
    steps_left: int = 8
    informer: Any = None  # agent.informer.Informer (read-only lookups), or None
    retriever: Any = None  # agent.retriever.Retriever, or None
    messages: Mapping[str, str] = field(default_factory=dict)  # prompts/messages.yaml
    intent: Any = None  # agent.edit_intent.EditIntent of the request, or None

    def edits(self) -> list[Any]:
        """The edits kept so far in this run (``Drafted``), in order."""
        return [s.edit for s in self.seen if s.ok and s.edit is not None]

    def last_value(self) -> tuple[Any, bool]:
        """The value of the last successful query or python result."""
        for s in reversed(self.seen):
            if s.ok and s.tool in ("sql", "python"):
                return s.value, s.has_value
        return None, False

    @property
    def any_ok(self) -> bool:
        return any(s.ok for s in self.seen)

    def msg(self, key: str, **fields: Any) -> str:
        text = self.messages.get(key, key)
        return text.format(**fields) if fields else text


@dataclass(frozen=True)
class Drafted:
    """A sheet edit as the edit checks see it: its actions, one line in words per action, and
    what the draft shows (tools/sheet/readback.py's ``Readback``)."""

    actions: tuple[Mapping[str, Any], ...]
    summaries: tuple[str, ...]
    readback: Any

    @property
    def action_names(self) -> set[str]:
        return {str(a.get("action", "")) for a in self.actions}


@dataclass(frozen=True)
class Proposed:
    """An answer on its way out: the model's raw value and the value so far."""

    raw: Any
    value: Any
    via: Literal["final_answer", "reply", "result"] = "final_answer"  # who proposed it

    @property
    def from_model(self) -> bool:
        return self.via != "result"


# ------------------------------------------------------------------ verdicts


@dataclass(frozen=True)
class Rewrite:
    """Run this call instead (the note is shown to the model with the result)."""

    call: Call
    note: str = ""


@dataclass(frozen=True)
class Accept:
    """End the run with this answer (shape rules still apply)."""

    raw: Any
    via: Literal["final_answer", "reply", "result"]
    source: str
    explanation: str = ""


@dataclass(frozen=True)
class Refuse:
    """Do not run the call; the model sees ``observation`` as its result."""

    observation: str
    error: str


@dataclass(frozen=True)
class SendBack:
    """Do not end the run: the model gets ``message`` and tries again (once per rule)."""

    message: str


@dataclass(frozen=True)
class Stop:
    """End the run without an answer."""

    status: Literal["tool_error", "model_format"]
    reason: str


@dataclass(frozen=True)
class Hint:
    """Add ``text`` to the observation the model sees."""

    text: str


@dataclass(frozen=True)
class Replace:
    """Use ``value`` as the answer instead (``note`` tells the reader why; may be empty)."""

    value: Any
    note: str = ""


Verdict = Rewrite | Accept | Refuse | SendBack | Stop | Hint | Replace


@dataclass(frozen=True)
class Rule:
    """A named rule: ``check`` is the pure function the driver calls (see each family)."""

    id: str
    family: Family
    purpose: str
    check: Callable[..., Any]
    default: bool = True

    def __call__(self, *args: Any) -> Any:
        return self.check(*args)


def rule(id: str, family: Family, purpose: str, *, default: bool = True
         ) -> Callable[[Callable[..., Any]], Rule]:
    """Decorator: the function becomes a ``Rule`` with this id, family and purpose."""

    def wrap(fn: Callable[..., Any]) -> Rule:
        return Rule(id=id, family=family, purpose=purpose, check=fn, default=default)

    return wrap


def canonical(args: Mapping[str, Any]) -> str:
    """A call's arguments in one spelling, to recognise a resend: spacing, a trailing semicolon
    and the case of everything outside quotes do not count (``'North'`` and ``'north'`` are
    different values, so the case inside quotes does)."""
    try:
        text = json.dumps(args, sort_keys=True, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = str(sorted((str(k), str(v)) for k, v in args.items()))
    text = re.sub(r"(\\n|\s)+", " ", text)
    text = re.sub(r"\s*;\s*(?=\"|$)", "", text)
    parts = re.split(r"('(?:[^']|'')*')", text)  # SQL string literals kept as written
    return "".join(p if i % 2 else p.lower() for i, p in enumerate(parts)).strip()

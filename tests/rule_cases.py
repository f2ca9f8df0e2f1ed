"""Shared pieces of the rule fixture tables: a ``RunState`` factory, ``Seen`` builders for a
query's result or a failed call, a fixed-id ``call``, and ``Case``/``like``/``assert_verdict``
for the tables (conftest.py puts this folder on sys.path)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
import pytest

from agent.prompting import messages_text
from agent.rules import by_id
from agent.rules.base import Call, Proposed, RunState, Seen
from agent.values import frame_value

MESSAGES: Mapping[str, str] = messages_text()
SCHEMA: Mapping[str, tuple[str, ...]] = {"sales": ("Region", "Year", "Product", "Revenue")}


def state(question: str = "What is the total revenue?", *, seen: Sequence[Seen] = (),
          tools: Sequence[str] = ("sql", "python"), text: bool = False,
          fired: Sequence[str] = (), nudged: bool = False, steps_left: int = 8,
          informer: Any = None, retriever: Any = None, intent: Any = None) -> RunState:
    """A run's state as the loop builds it (agent/loop.py), with the real prompt messages."""
    return RunState(question, tuple(tools), text, SCHEMA, tuple(seen), tuple(fired), nudged,
                    steps_left, informer, retriever, MESSAGES, intent)


def as_frame(result: Any) -> pd.DataFrame:
    """A frame as given, a list as one column, anything else as one cell."""
    if isinstance(result, pd.DataFrame):
        return result
    return pd.DataFrame({"value": result if isinstance(result, list) else [result]})


def seen_sql(result: Any, query: str = "SELECT SUM(Revenue) FROM sales", *,
             rules: Sequence[str] = ()) -> Seen:
    """A successful sql step: value and observation derived from the frame as the loop does."""
    frame = as_frame(result)
    has_value, value = frame_value(frame)
    output = "0 rows" if len(frame) == 0 else frame.to_string(index=False)
    return Seen("sql", True, value, has_value, frame, query, {"query": query}, output,
                None, tuple(rules))


def seen_error(error: str, query: str = "SELECT Sales FROM sales", *, tool: str = "sql") -> Seen:
    """A failed step: the model saw the error as the observation."""
    args = {"query": query} if tool == "sql" else {"code": query}
    return Seen(tool, False, None, False, None, query if tool == "sql" else "", args,
                f"ERROR: {error}", error)


def answer(value: Any, via: Literal["final_answer", "reply", "result"] = "final_answer"
           ) -> Proposed:
    """An answer proposed as ``value`` (raw and value alike) by ``via``."""
    return Proposed(value, value, via)


def call(name: str, **args: Any) -> Call:
    """A native call with a fixed id, so rewritten calls compare exactly."""
    return Call(name, args, id="call_1", native=True)


@dataclass(frozen=True)
class Like:
    """An expected verdict of ``kind`` whose text holds every piece of ``pieces``."""

    kind: type
    pieces: tuple[str, ...] = ()


def like(kind: type, *pieces: str) -> Like:
    return Like(kind, pieces)


@dataclass(frozen=True)
class Case:
    """One fixture row: ask ``rule`` about ``subject`` in ``state``; expect ``expected``
    (an exact verdict, None, or a ``Like``). ``lookups``: give the state the real Informer."""

    id: str
    rule: str
    state: RunState
    subject: Any
    expected: Any
    lookups: bool = False

    @property
    def fires(self) -> bool:
        return self.expected is not None


def params(cases: Iterable[Case]) -> list[Any]:
    return [pytest.param(c, id=c.id) for c in cases]


def fired_ids(cases: Iterable[Case]) -> set[str]:
    return {c.rule for c in cases if c.fires}


def verdict_text(verdict: Any) -> str:
    """Every text a verdict carries, joined (message, observation, note, reason...)."""
    fields = ("message", "observation", "error", "text", "note", "reason", "source",
              "explanation")
    return "\n".join(str(getattr(verdict, f)) for f in fields if hasattr(verdict, f))


def ask(case: Case, run_state: RunState | None = None) -> Any:
    return by_id(case.rule)(run_state or case.state, case.subject)


def assert_verdict(got: Any, expected: Any) -> None:
    if isinstance(expected, Like):
        assert isinstance(got, expected.kind), got
        text = verdict_text(got)
        for piece in expected.pieces:
            assert piece in text, f"{piece!r} not in {text!r}"
    else:
        assert got == expected

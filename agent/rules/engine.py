"""Asking a rule set: each family at its point of the loop, in registry order. The engine only
reads (a fresh ``RunState`` for every question); the driver records what fired."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from agent.rules import RuleSet
from agent.rules.base import (
    Accept,
    Call,
    Drafted,
    Proposed,
    Refuse,
    Replace,
    Rewrite,
    Rule,
    RunState,
    Seen,
    SendBack,
    Stop,
)


class Engine:
    def __init__(self, rules: RuleSet, state: Callable[[], RunState]) -> None:
        self.rules = rules
        self.state = state

    def _first(self, family: Any, subject: Any, kind: type | tuple[type, ...]
               ) -> tuple[Rule, Any] | None:
        state = self.state()
        for r in self.rules.family(family):
            verdict = r(state, subject)
            if isinstance(verdict, kind):
                return r, verdict
        return None

    def rewrite(self, call: Call) -> tuple[Call, list[str]]:
        """The call after every rewrite rule, each seeing the one before; the ids that fired."""
        fired = []
        for r in self.rules.family("call"):
            verdict = r(self.state(), call)
            if isinstance(verdict, Rewrite):
                fired.append(r.id)
                call = verdict.call
        return call, fired

    def accept(self, call: Call) -> tuple[Rule, Accept] | None:
        """A call rule that takes this call as the answer."""
        return self._first("call", call, Accept)

    def refusal(self, call: Call) -> tuple[Rule, Refuse] | None:
        """A call rule that keeps this call from running."""
        return self._first("call", call, Refuse)

    def reply(self, text: str) -> tuple[Rule, Accept] | None:
        """A reply rule that takes this text reply as the answer."""
        return self._first("reply", text, Accept)

    def check(self, proposed: Proposed) -> tuple[Rule, SendBack | Stop] | None:
        """The first check (or edit check) that sends the answer back (once per rule) or stops
        the run."""
        state = self.state()
        for r in (*self.rules.family("check"), *self.rules.family("edit")):
            verdict = r(state, proposed)
            if isinstance(verdict, Stop) or (isinstance(verdict, SendBack)
                                             and r.id not in state.fired):
                return r, verdict
        return None

    def edit(self, drafted: Drafted) -> tuple[Rule, SendBack | Accept] | None:
        """After a sheet edit: the first edit check that takes it back (once per rule), or the
        rule that ends the run with it."""
        state = self.state()
        objected = False  # a check that already had its one send-back still blocks the end
        for r in self.rules.family("edit"):
            verdict = r(state, drafted)
            if isinstance(verdict, SendBack):
                if r.id not in state.fired:
                    return r, verdict
                objected = True
            if isinstance(verdict, Accept) and not objected:
                return r, verdict
        return None

    def shape(self, proposed: Proposed) -> tuple[Any, list[tuple[str, str]]]:
        """The value after every shape rule, each given the value the one before left."""
        fired = []
        for r in self.rules.family("shape"):
            verdict = r(self.state(), proposed)
            if isinstance(verdict, Replace):
                fired.append((r.id, verdict.note))
                proposed = replace(proposed, value=verdict.value)
        return proposed.value, fired

    def observe(self, seen: Seen) -> tuple[Seen, str]:
        """The result with the observe rules that fired added to its ``rules``, and their hints."""
        hints = ""
        for r in self.rules.family("observe"):
            verdict = r(self.state(), seen)
            if verdict is not None:
                seen = replace(seen, rules=(*seen.rules, r.id))
                hints += verdict.text
        return seen, hints

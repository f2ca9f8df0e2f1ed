"""Drafts: several sampled versions of one query step, voted on by what they return.

Small planners write a wrong query as often as a right one, and repeat a failing query word for
word. When ``Limits.samples`` > 1, a query step is drafted that many times (the greedy reply plus
samples at a temperature, each with its own seed so runs repeat), every distinct read-only query
is executed, and the result most drafts agree on wins (self-consistency over execution results,
as in Binder and MBR-exec). Drafts that fail, return nothing or count 0 get no vote; when none
has a vote the greedy draft stands. Only SQL is drafted: it is read-only and runs in
milliseconds; python and sheet edits are never run speculatively.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.values import empty_or_zero, frame_value, to_value
from tools.base import ToolResult


@dataclass
class Draft:
    call: dict[str, Any]
    text: str  # the reply that proposed it
    message: Any = None  # that reply as an AIMessage
    result: ToolResult | None = None
    args: dict[str, Any] = field(default_factory=dict)  # as run (after table repair)
    note: str = ""
    duration_s: float = 0.0
    key: str | None = None  # what its result says; None: no vote

    @property
    def query(self) -> str:
        return str(self.call["args"].get("query", ""))


def result_key(result: ToolResult) -> str | None:
    """A canonical form of a query's answer, for voting: the value when the result is one cell
    or one column (order-free, case-free, numbers rounded), else all rows order-free.
    None for an error, no rows, only NULLs, or a single 0."""
    if result.error is not None:
        return None
    payload = result.payload if isinstance(result.payload, dict) else {}
    frame = payload.get("frame")
    if frame is None or not hasattr(frame, "shape") or empty_or_zero(frame):
        return None
    has_value, value = frame_value(frame)
    if has_value:
        items = [_norm(v) for v in (value if isinstance(value, list) else [value])]
    else:
        items = [tuple(_norm(to_value(v)) for v in row)
                 for row in frame.head(200).itertuples(index=False)]
    return json.dumps(sorted(items, key=str), default=str)


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        rounded = round(float(value), 6)
        return int(rounded) if rounded.is_integer() else rounded
    return str(value).strip().casefold()


def pick(drafts: list[Draft]) -> tuple[Draft, str]:
    """The winning draft (index 0 is the greedy one) and a note on the vote for the log."""
    votes: dict[str, list[int]] = {}
    for i, d in enumerate(drafts):
        if d.key is not None:
            votes.setdefault(d.key, []).append(i)
    if not votes:
        return drafts[0], ""
    key = max(votes, key=lambda k: (len(votes[k]), 0 in votes[k], -votes[k][0]))
    chosen = drafts[votes[key][0]]
    n = len(drafts)
    return chosen, f"{len(votes[key])} of {n} drafts of this query gave this result"


def draft_log(drafts: list[Draft]) -> list[dict[str, Any]]:
    """JSON-safe record of every draft, for the step's payload (the run log)."""
    out = []
    for d in drafts:
        entry: dict[str, Any] = {"query": d.args.get("query", d.query)}
        if d.result is None:
            entry["result"] = "(same as an earlier draft)"
        elif d.result.error is not None:
            entry["error"] = d.result.error.render()[:300]
        else:
            entry["result"] = d.key if d.key is not None else "(no rows, NULL or 0)"
        out.append(entry)
    return out


def run_drafts(drafts: list[Draft], execute: Callable[[dict[str, Any]], Draft]) -> None:
    """Execute each distinct query once; a repeated query shares the first one's result."""
    seen: dict[str, Draft] = {}
    for i, d in enumerate(drafts):
        canon = " ".join(d.query.split()).rstrip(";").casefold()
        if canon in seen:
            first = seen[canon]
            d.result, d.args, d.note, d.key = first.result, first.args, first.note, first.key
            continue
        done = execute(d.call)
        d.result, d.args, d.note, d.duration_s = done.result, done.args, done.note, done.duration_s
        d.key = result_key(d.result) if d.result is not None else None
        seen[canon] = drafts[i]

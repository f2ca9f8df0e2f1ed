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
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage

from agent.context import Limits, TurnContext
from agent.errors import ModelCallError
from agent.models import text_protocol as tp
from agent.models.contract import Call, ChatModel, Reply, Usage
from agent.prompting import draft_prompt
from agent.values import empty_or_zero, frame_value, to_value
from tools.base import ToolResult
from tools.payloads import sql_payload


@dataclass
class Draft:
    call: Call
    reply: Reply | None = None  # the reply that proposed it (None: the greedy reply)
    result: ToolResult | None = None
    duration_s: float = 0.0
    key: str | None = None  # what its result says; None: no vote

    @property
    def query(self) -> str:
        return str(self.call.args.get("query", ""))


@dataclass
class Drafted:
    """The outcome of drafting one query step."""

    chosen: Draft
    vote: str  # e.g. '3 of 5 drafts of this query gave this result'; '' when none had a vote
    log: list[dict[str, Any]] | None  # every draft, for the step's payload
    usage: Usage  # the extra drafts' tokens
    # rules that acted on any draft (a SQL repair in a draft that lost still shaped the vote):
    # recorded on the step, so an ablation knows every question a rule touched
    rules: list[str] = field(default_factory=list)


def should_draft(samples: int, call: Call, n_calls: int, tools: Sequence[str],
                 have_value: bool) -> bool:
    """Draft a query step (and only one alone in its reply) until some query returned a value."""
    return (samples > 1 and n_calls == 1 and call.name == "sql" and "sql" in tools
            and isinstance(call.args.get("query"), str) and not have_value)


def draft_step(model: ChatModel, greedy: Call, messages: list[BaseMessage],
               tools: Sequence[dict[str, Any]], *, samples: int,
               temperature: float, short: Reply | None, may_sample: Callable[[], bool],
               deadline: float, execute: Callable[[Call], ToolResult],
               failed_before: Callable[[Call], bool], in_doubt_only: bool = False) -> Drafted:
    """Sample ``samples - 1`` more drafts of this query step from ``messages`` (the conversation
    before the greedy reply), run each distinct query, and keep the one most agree on. ``short``:
    the short prompt's reply, used as the last draft of the first step. ``in_doubt_only``: run
    the greedy query first and draft only when its result leaves doubt (no vote: an error, no
    rows, NULL or 0)."""
    drafts = [Draft(greedy)]
    usage = Usage()
    if in_doubt_only:
        run_drafts(drafts, execute)
        if drafts[0].key is not None:
            return Drafted(drafts[0], "", None, usage, _repairs(drafts[0].result))
    for reply in sampled_replies(model, messages, tools, samples - 1 - (short is not None),
                                 temperature=temperature, may_sample=may_sample,
                                 deadline=deadline) + ([short] if short is not None else []):
        if reply is not short:  # the short prompt's call was charged when it was made
            usage += reply.usage
        calls = list(reply.calls) or [  # the short prompt's reply is a sql block
            Call(c.name, c.args) for c in tp.parse(reply.text, {"sql"}).calls[:1]]
        if (len(calls) == 1 and calls[0].name == "sql"
                and isinstance(calls[0].args.get("query"), str)):
            drafts.append(Draft(calls[0].with_(native=greedy.native, id=greedy.id), reply))
    run_drafts(drafts, execute)
    chosen, vote = pick(drafts)
    rules = list(dict.fromkeys(r for d in drafts for r in _repairs(d.result)))
    if not vote and failed_before(chosen.call):
        # nothing succeeded: a new mistake teaches more than the same one again
        chosen = next((d for d in drafts if not failed_before(d.call)), chosen)
        rules.append("failed-call-not-rerun")
    return Drafted(chosen, vote, draft_log(drafts) if len(drafts) > 1 else None, usage, rules)


def sampled_replies(model: ChatModel, messages: list[BaseMessage],
                    tools: Sequence[dict[str, Any]], wanted: int, *, temperature: float,
                    may_sample: Callable[[], bool], deadline: float) -> list[Reply]:
    """``wanted`` sampled replies to ``messages``: from one request when the server decodes
    several completions of one prompt together, else (or for what it did not return) one call
    each, seeded 1, 2, ... so runs repeat. Stops early at the run's limits or a failed call."""
    replies: list[Reply] = []
    if wanted <= 0 or not may_sample():
        return replies
    if model.parallel_drafts and wanted > 1:
        try:
            replies = model.complete_many(messages, tools, wanted, temperature=temperature,
                                          seed=1, deadline=deadline)
        except ModelCallError:
            return replies
    while len(replies) < wanted and (not replies or may_sample()):
        try:
            replies.append(model.complete(messages, tools, deadline=deadline,
                                          temperature=temperature, seed=len(replies) + 1))
        except ModelCallError:
            break
    return replies


def _repairs(result: ToolResult | None) -> list[str]:
    sql = sql_payload(result) if result is not None else None
    return [str(r) for r in sql.get("repairs", [])] if sql else []


def result_key(result: ToolResult) -> str | None:
    """A canonical form of a query's answer, for voting: the value when the result is one cell
    or one column (order-free, case-free, numbers rounded), else all rows order-free.
    None for an error, no rows, only NULLs, or a single 0."""
    if result.error is not None:
        return None
    sql = sql_payload(result)
    frame = sql["frame"] if sql is not None else None
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
        entry: dict[str, Any] = {"query": d.query}
        if d.result is None:
            entry["result"] = "(same as an earlier draft)"
        elif d.result.error is not None:
            entry["error"] = d.result.error.render()[:300]
        else:
            entry["result"] = d.key if d.key is not None else "(no rows, NULL or 0)"
        out.append(entry)
    return out


def run_drafts(drafts: list[Draft], execute: Callable[[Call], ToolResult]) -> None:
    """Execute each distinct query once; a repeated query shares the first one's result."""
    seen: dict[str, Draft] = {}
    for i, d in enumerate(drafts):
        canon = " ".join(d.query.split()).rstrip(";").casefold()
        if d.result is not None:  # run already (the greedy draft, when drafting on doubt)
            seen.setdefault(canon, d)
            continue
        if canon in seen:
            first = seen[canon]
            d.result, d.key = first.result, first.key
            continue
        started = time.perf_counter()
        d.result = execute(d.call)
        d.duration_s = time.perf_counter() - started
        d.key = result_key(d.result)
        seen[canon] = drafts[i]


def short_draft(model: ChatModel, ctx: TurnContext, question: str, limits: Limits,
                tools: Sequence[str], deadline: float,
                charge: Callable[[Usage], None]) -> Reply | None:
    """With 3+ drafts, one draft of the first query comes from a short query-only prompt
    (agent/prompting.py): another view of the task, so its mistakes differ. It is asked before
    the conversation: a single-slot server (llama.cpp) keeps one prompt in its cache, and asking
    between turns would evict the conversation's. Question answering only (no edits, no chat)."""
    if (limits.samples < 3 or not limits.short_prompt or limits.draft_on != "every"
            or "sql" not in tools or "sheet" in tools or ctx.history):
        return None
    try:
        reply = model.complete([HumanMessage(draft_prompt(ctx, question))], (), deadline=deadline)
    except ModelCallError:
        return None
    charge(reply.usage)
    return reply

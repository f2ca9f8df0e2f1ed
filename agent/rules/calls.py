"""Call rewrites: asked when a tool call arrives (rewrite it, or take it as the answer) and again
right before it runs (refuse it). Signature: ``(state, call) -> Rewrite | Accept | Refuse | None``.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models import text_protocol as tp
from agent.rules.base import Accept, Call, Refuse, Rewrite, Rule, RunState, canonical, rule
from agent.view import schema_line


@rule("tool-alias", "call", "a call to a tool under another name (SQL, functions.sql, "
      "run_sql, answer) goes to the tool it means")
def tool_alias(state: RunState, call: Call) -> Rewrite | None:
    known = {*state.tools, "final_answer"}
    if call.name in known:
        return None
    name = tp.normalise_name(call.name, known)
    return Rewrite(call.with_(name=name)) if name in known else None


@rule("query-as-answer", "call", "a final answer that is a SQL query is run as a query (small "
      "models give the query instead of its result)")
def query_as_answer(state: RunState, call: Call) -> Rewrite | None:
    if call.name != "final_answer" or "sql" not in state.tools:
        return None
    answer = call.args.get("answer")
    if not is_sql(answer):
        return None
    return Rewrite(call.with_(name="sql", args={"query": answer}))


@rule("repeat-is-answer", "call", "the model sending again the call that computed a value has "
      "answered with that value")
def repeat_is_answer(state: RunState, call: Call) -> Accept | None:
    if call.name == "final_answer" or not state.seen:
        return None
    last = state.seen[-1]
    if not (last.ok and last.has_value and last.tool == call.name):
        return None
    if canonical(call.args) != canonical(last.input):
        return None
    return Accept(last.value, via="result", source="repeated the call that computed it")


@rule("failed-call-not-rerun", "call", "a call that already failed is not run again; the "
      "model gets the error and the tables' columns")
def failed_call_not_rerun(state: RunState, call: Call) -> Refuse | None:
    earlier = earlier_failure(state, call)
    if earlier is None:
        return None
    schema = schema_line({t: list(c) for t, c in state.schema.items()})[:1500]
    return Refuse(state.msg("repeated_failure", error=earlier, schema=schema),
                  "the same call failed before; not run again")


def earlier_failure(state: RunState, call: Call) -> str | None:
    """The error of an earlier step that ran this very call and failed."""
    key = canonical(call.args)
    for seen in state.seen:
        if seen.error is not None and seen.tool == call.name and canonical(seen.input) == key:
            return seen.error
    return None


def is_sql(x: Any) -> bool:
    return isinstance(x, str) and bool(re.match(r"\s*(select|with)\s", x, re.I)) and bool(
        re.search(r"\bfrom\b", x, re.I))


RULES: tuple[Rule, ...] = (tool_alias, query_as_answer, repeat_is_answer, failed_call_not_rerun)

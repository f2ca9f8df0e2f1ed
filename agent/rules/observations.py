"""Observation hints: asked, in order, about each tool result before the model sees it.
Signature: ``(state, seen) -> Hint | None``; ``seen.rules`` holds the hints given so far on
this result.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from agent.rules.base import Hint, Rule, RunState, Seen, rule
from agent.values import empty_or_zero
from agent.view import sql_name


@rule("empty-result-values", "observe", "a query that found nothing (or counted 0) is told which "
      "text it compared is not a value of its column, and the closest real values")
def empty_result_values(state: RunState, seen: Seen) -> Hint | None:
    if (seen.tool != "sql" or not seen.ok or seen.frame is None or state.informer is None
            or not empty_or_zero(seen.frame)):
        return None
    hints = state.informer.literal_hints(seen.sql)
    if not hints:
        return None
    notes = []
    key = sql_key(seen.sql)
    if any("empty-result-values" in s.rules and sql_key(s.sql) == key for s in state.seen):
        notes.append(state.msg("repeated_empty"))
    for col, lit, close, examples in hints:
        elsewhere = state.informer.columns_holding(lit, exclude=col)
        if close or elsewhere or not examples:
            notes.append(state.msg("not_a_value", value=lit, column=col,
                                   closest=", ".join(repr(c) for c in close) or "none"))
        else:  # in no column at all: the table may be about it, or the words mean a value
            notes.append(state.msg("in_no_column", value=lit, column=col,
                                   examples=", ".join(repr(c) for c in examples)))
        if elsewhere:
            notes.append(state.msg("in_other_column", value=lit, columns=", ".join(
                f"{sql_name(c)} ({v!r})" for c, v in elsewhere)))
    return Hint("".join(notes))


@rule("result-may-answer", "observe", "for a small model, a result that is a value is followed "
      "by 'if this is the answer, reply with final answer'")
def result_may_answer(state: RunState, seen: Seen) -> Hint | None:
    if (not state.text_protocol or not seen.ok or not seen.has_value
            or "empty-result-values" in seen.rules):
        return None
    return Hint(state.msg("observation_hint"))


@rule("error-fix-example", "observe", "a failed call is followed by how a similar error was "
      "fixed (prompts/fixes.jsonl)")
def error_fix_example(state: RunState, seen: Seen) -> Hint | None:
    if seen.error is None or state.retriever is None or seen.tool not in ("sql", "python"):
        return None  # the fixes are of queries and code; a sheet error names its own fix
    fixes = state.retriever.fixes(seen.error, set(state.tools))
    if not fixes:
        return None
    key = "fix_notes" if state.text_protocol else "fix_examples"
    return Hint(state.msg(key, examples="\n\n".join(fixes)))


def sql_key(sql: str) -> str:
    """A query in one spelling (quoting, case, spacing), to recognise the same query again."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        for ident in tree.find_all(exp.Identifier):
            ident.set("quoted", False)
        return tree.sql(dialect="duckdb").casefold()
    except Exception:  # not parseable: compare the text
        return " ".join(sql.split()).casefold()


RULES: tuple[Rule, ...] = (empty_result_values, result_may_answer, error_fix_example)

"""Answer checks: asked about a final answer before it is accepted. A ``SendBack`` rule sends the
answer back at most once per run. Signature: ``(state, proposed) -> SendBack | Stop | None``.
"""

from __future__ import annotations

import re
from typing import Any

from agent.rules.base import Proposed, Rule, RunState, SendBack, Stop, rule
from agent.values import coerce_answer, empty_or_zero, is_reference, mentions


@rule("look-before-answering", "check", "a small model's answer before any query is sent back "
      "once: check it with one query first")
def look_before_answering(state: RunState, proposed: Proposed) -> SendBack | None:
    if (proposed.via != "final_answer" or not state.text_protocol or state.seen
            or "sql" not in state.tools or (state.intent is not None and state.intent.is_edit)):
        return None  # an edit request is checked by the edit rules instead
    return SendBack(state.msg("check_first"))


@rule("empty-then-answer", "check", "an answer right after a query that failed or found nothing, "
      "stating a value no result shows, is sent back once with advice to fix the query")
def empty_then_answer(state: RunState, proposed: Proposed) -> SendBack | None:
    if proposed.via != "final_answer" or state.steps_left <= 0 or (
            state.intent is not None and state.intent.is_edit):
        return None  # about queries; an edit request is checked by the edit rules
    return SendBack(state.msg("empty_then_answer")) if unsupported_after_empty(
        state, proposed.raw) else None


@rule("error-as-answer", "check", "a tool's error message given as the answer ends the run as a "
      "tool error, not as an answer")
def error_as_answer(state: RunState, proposed: Proposed) -> Stop | None:
    if not proposed.from_model or not is_error_copy(proposed.raw):  # a cell may read "Error"
        return None
    return Stop("tool_error", "the model gave a tool's error message as its answer")


def unsupported_after_empty(state: RunState, raw: Any) -> bool:
    """The last query failed or returned no rows, and the answer appears in no tool result."""
    if not state.seen:
        return False
    last = state.seen[-1]
    if not last.ok:
        seen = "\n".join(s.output for s in state.seen if s.error is None)
        return is_reference(raw) or not mentions(seen, coerce_answer(raw))
    if last.tool != "sql" or last.frame is None or not empty_or_zero(last.frame):
        return False
    if "empty-result-values" in last.rules:  # it compared against text that is not a value
        return True
    frame = last.frame
    if not (len(frame) == 0 or bool(frame.isna().all().all())):
        return False
    if is_reference(raw):
        return True
    answer = coerce_answer(raw)
    if isinstance(answer, int | float) and not isinstance(answer, bool) and answer == 0:
        return False  # 'none found' is a fine answer to 'how many'
    earlier = "\n".join(s.output for s in state.seen[:-1] if s.error is None)
    return not mentions(earlier, answer)


_ERROR_TEXT = re.compile(r"\s*(final answer:\s*)?error\b\s*(\(|:|$)", re.I)
_ERROR_KINDS = re.compile(r"\b(binder|parser|catalog|conversion|syntax|invalid input) error\b|"
                          r"^\s*\{\s*['\"]error['\"]|Traceback \(most recent", re.I)


def is_error_copy(raw: Any) -> bool:
    """The model copied a tool's error message as its answer."""
    if isinstance(raw, dict):
        return "error" in raw
    if isinstance(raw, list):
        return bool(raw) and all(is_error_copy(x) for x in raw)
    return isinstance(raw, str) and bool(_ERROR_TEXT.match(raw) or _ERROR_KINDS.search(raw))


RULES: tuple[Rule, ...] = (look_before_answering, empty_then_answer, error_as_answer)

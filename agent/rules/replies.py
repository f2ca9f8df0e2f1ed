"""Text replies: a reply with no tool call may be the answer. Asked in order; a reply none of
them takes goes back to the model with a nudge (a format error, counted against the limit).
Signature: ``(state, text) -> Accept | None``.
"""

from __future__ import annotations

import re
from typing import Any

from agent.models import text_protocol as tp
from agent.rules.base import Accept, Rule, RunState, rule
from agent.values import mentions


@rule("reply-names-result", "reply", "a text reply that states the last computed result is "
      "answered with that result")
def reply_names_result(state: RunState, text: str) -> Accept | None:
    stripped = text.strip()
    value, has_value = state.last_value()
    if not usable(stripped) or not has_value or not mentions(stripped, value):
        return None
    return Accept(value, via="result", source="result named in the reply", explanation=stripped)


@rule("short-reply-after-result", "reply", "a short text reply (not a plan) after a successful "
      "result is the answer")
def short_reply_after_result(state: RunState, text: str) -> Accept | None:
    return _short_reply(text, state.any_ok, 200)


@rule("reply-after-nudge", "reply", "after the model was asked for a call or an answer, a short "
      "text reply (not a plan) is the answer")
def reply_after_nudge(state: RunState, text: str) -> Accept | None:
    return _short_reply(text, state.nudged, 300)


def _short_reply(text: str, when: bool, max_chars: int) -> Accept | None:
    """``text`` as the model's answer, when ``when`` holds and it is short and not a plan."""
    stripped = text.strip()
    if not when or not usable(stripped) or looks_like_plan(stripped) or len(stripped) > max_chars:
        return None
    return Accept(answer_from_sentence(stripped), via="reply", source="text reply",
                  explanation=stripped)


def usable(text: str) -> bool:
    return bool(text) and not text.startswith("ERROR")


_PLAN = re.compile(r"^(let me|let's|i will|i'll|i need|first|next|now i|to answer|we need)\b|[:?]$",
                   re.I)


def looks_like_plan(text: str) -> bool:
    return bool(_PLAN.search(text.strip())) and "answer is" not in text.lower()


def answer_from_sentence(text: str) -> Any:
    """'The answer is 42.' -> '42'; a short reply is taken whole."""
    parsed = tp.parse(text, {"final_answer"})
    if parsed.call is not None:
        return parsed.call.args["answer"]
    m = re.search(r"(?:answer|result)\s+(?:is|was|=|:)\s*(.+?)\s*\.?\s*$", text, re.I | re.S)
    if m:
        return tp.parse_answer_text(m.group(1))
    return tp.parse_answer_text(text)


RULES: tuple[Rule, ...] = (reply_names_result, short_reply_after_result, reply_after_nudge)

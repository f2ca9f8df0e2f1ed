"""How hard the agent works on a question: ``fast``, ``balanced`` or ``thorough``.

Effort is how many drafts of a query step the model writes, and when. A small local model
writes a wrong query about as often as a right one, so drafting (agent/drafts.py) buys accuracy
with model time. ``balanced`` drafts only when the first query leaves doubt (an error, no rows,
NULL or 0), where the extra drafts pay; ``thorough`` drafts every query step until one returns a
value, and adds a draft from a short query-only prompt; ``fast`` never drafts. docs/speed.md
has each setting's measured accuracy and latency.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from agent.errors import UsageError

DraftOn = Literal["every", "doubt"]


@dataclass(frozen=True)
class Effort:
    name: str
    samples: int  # drafts of a query step (the greedy one included)
    draft_on: DraftOn  # every query step (until one returns a value), or only after doubt
    short_prompt: bool  # one of the first step's drafts comes from the short query prompt
    summary: str


EFFORTS: dict[str, Effort] = {e.name: e for e in (
    Effort("fast", 1, "every", False, "one query per step, no drafts"),
    Effort("balanced", 5, "doubt", False,
           "one query; 5 drafts, voted on, only when it errs or returns nothing"),
    Effort("thorough", 5, "every", True,
           "5 drafts of every query step until one returns a value, voted on"),
)}
LOCAL_EFFORT = "balanced"  # the local CPU model's default (measured: docs/speed.md)
REMOTE_EFFORT = "fast"  # a served model (vLLM, an API): strong enough not to need drafts


def effort(name: str) -> Effort:
    try:
        return EFFORTS[name]
    except KeyError:
        raise UsageError(f"effort must be one of {', '.join(EFFORTS)}, not {name!r}") from None

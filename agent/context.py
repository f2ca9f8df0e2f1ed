"""What a run is given besides the question: its limits and the turn's context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import BaseMessage


@dataclass
class Limits:
    max_steps: int = 8  # tool calls
    max_tokens: int = 60_000  # prompt + completion tokens over the whole run
    timeout_s: float = 300.0  # wall time of the run
    max_errors: int = 4  # tool errors in a row before giving up
    max_format_errors: int = 3  # replies with no usable action
    model_retries: int = 3  # transient model-server failures, with backoff
    observation_chars: int = 3000  # what the model sees of one tool result
    view_tokens: int = 1500  # TAP budget for the packed view
    samples: int = 1  # drafts of a query step, voted on by their results (agent/drafts.py)
    sample_temperature: float = 0.8
    draft_on: Literal["every", "doubt"] = "every"  # every query step, or only after doubt
    short_prompt: bool = True  # a draft of the first step from the short query prompt (3+)


@dataclass
class TurnContext:
    """Everything a run needs besides the question."""

    view_text: str = ""
    informer_notes: str = ""
    history: list[BaseMessage] = field(default_factory=list)
    view_tables: list[str] = field(default_factory=list)
    schema: dict[str, list[str]] = field(default_factory=dict)  # every table -> its columns
    intent: Any = None  # agent.edit_intent.EditIntent when the turn may edit, else None
    workbook: Any = None  # table_io Workbook, for the edit prompt's layout (agent/edit_prompt.py)

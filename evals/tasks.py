"""What the runner needs from a dataset: items to ask, and how to turn an Answer into a
prediction and a score. WikiTQ lives here; the other datasets have their own modules."""

from __future__ import annotations

import csv
import datetime as dt
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.answer import Answer
from evals import wikitq
from evals.wikitq_scoring import check_denotation, to_value_list


@dataclass
class EvalItem:
    """One question for the agent. ``source`` is a table file; ``gold`` the gold items as text;
    ``category`` the bucket for the report's by-type breakdown."""

    id: str
    question: str
    source: str
    gold: list[str]
    category: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_agent_item(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "question": self.question}


class EvalTask(ABC):
    """A dataset in the runner's shape. Subclasses set ``name``/``metric`` and override
    ``load`` and ``score``; ``prediction`` defaults to the answer's items as text."""

    name = "task"
    metric = "accuracy"  # "accuracy" (0/1 per question) or a mean score such as "rouge_l"
    binary = True

    @abstractmethod
    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        """The dataset's items (the first ``limit``), tables written under ``workdir`` if needed."""

    def prediction(self, answer: Answer) -> list[str]:
        return answer_items(answer)

    @abstractmethod
    def score(self, item: EvalItem, prediction: list[str]) -> float:
        """1.0/0.0 for a binary metric, else the item's score."""


def load_slice(task: EvalTask, *, offset: int = 0, limit: int | None = None,
               workdir: Path | None = None) -> list[EvalItem]:
    """Questions ``offset + 1`` to ``offset + limit`` of the task (all after ``offset`` when
    ``limit`` is None), in the dataset's order."""
    if offset < 0:
        raise ValueError(f"the offset must be 0 or more, not {offset}")
    if limit is not None and limit < 1:
        raise ValueError(f"the limit must be 1 or more, not {limit}")
    wanted = None if limit is None else offset + limit
    return task.load(limit=wanted, workdir=workdir)[offset:]


def write_table_csv(rows: Sequence[Sequence[str]], dest: Path) -> Path:
    """Write rows (the first is the header) as a CSV that ``table_io`` reads back cell for cell
    (backslash escapes, no doubled quotes), atomically and only once."""
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            csv.writer(f, escapechar="\\", doublequote=False).writerows(rows)
        tmp.replace(dest)
    return dest


def format_item(value: Any) -> str:
    """One answer item as text the official scorer parses back to the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def answer_items(answer: Answer) -> list[str]:
    """The answer as WikiTQ items: its typed values, else (for a run that ended normally) its
    text, else nothing: a stopped run's "Stopped: ..." message is no prediction."""
    values = answer.values
    if values:
        return [format_item(v) for v in values]
    if answer.status != "ok":
        return []
    text = (answer.text or "").strip()
    return [text] if text else []


class WikiTQTask(EvalTask):
    """WikiTableQuestions with the official denotation accuracy."""

    name = "wikitq"

    def __init__(self, questions: Path | str | None = None) -> None:
        self.questions = Path(questions) if questions else wikitq.dev_questions_path()
        self._gold: dict[str, wikitq.WikiTQExample] = {}

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        examples = wikitq.load_with_canon(self.questions, limit=limit)
        if examples and not examples[0].table_path.exists():
            raise FileNotFoundError(
                f"the tables of {self.questions} are not found (first: {examples[0].context}, "
                f"looked beside the file and in {wikitq.wikitq_dir()}); keep question files in "
                "the dataset's data/ folder or set TABLEPILOT_DATA")
        self._gold = {ex.id: ex for ex in examples}
        return [
            EvalItem(id=ex.id, question=ex.utterance, source=str(ex.table_path),
                     gold=ex.target_value, category=ex.answer_type)
            for ex in examples
        ]

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        ex = self._gold.get(item.id)
        gold = ex.gold if ex else to_value_list(item.gold)
        return float(check_denotation(gold, to_value_list(prediction)))

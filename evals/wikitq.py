"""WikiTableQuestions: the question TSVs, the CoreNLP-tagged files and the tables.

The data folder defaults to ``../shared/data`` beside the repository; ``TABLEPILOT_DATA``
overrides it. ``context`` paths (``csv/204-csv/590.csv``) are relative to ``<data>/wikitq``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from evals.wikitq_scoring import Value, to_value_list, tsv_unescape, tsv_unescape_list

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SET = "pristine-seen-tables"


def data_dir() -> Path:
    """The shared benchmark data folder (``TABLEPILOT_DATA`` or ``../shared/data``)."""
    env = os.environ.get("TABLEPILOT_DATA")
    return Path(env).expanduser() if env else (REPO_ROOT.parent / "shared" / "data").resolve()


def wikitq_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "wikitq"


def dev_questions_path(root: Path | None = None) -> Path:
    return wikitq_dir(root) / "data" / f"{DEV_SET}.tsv"


def tagged_path_for(questions: Path) -> Path:
    """``.../wikitq/data/X.tsv`` -> ``.../wikitq/tagged/X.tagged`` (a ``.tagged`` path stays)."""
    if questions.suffix == ".tagged":
        return questions
    return questions.parent.parent / "tagged" / f"{questions.stem}.tagged"


@dataclass
class WikiTQExample:
    """One question. ``target_value`` holds the raw gold items; ``target_canon`` their canonical
    forms (only from a tagged file); ``canon_type`` is number, date, string or mixed."""

    id: str
    utterance: str
    context: str
    target_value: list[str]
    target_canon: list[str] | None = None
    canon_type: str | None = None
    base_dir: Path | None = None  # the wikitq folder ``context`` is relative to

    @property
    def table_path(self) -> Path:
        return (self.base_dir or wikitq_dir()) / self.context

    @property
    def gold(self) -> list[Value]:
        """The gold Values the official scorer compares against."""
        return to_value_list(self.target_value, self.target_canon)

    @property
    def answer_type(self) -> str:
        """number, date, string or list (more than one gold item), for report breakdowns."""
        if len(self.target_value) > 1 or self.canon_type == "mixed":
            return "list"
        if self.canon_type in ("number", "date", "string"):
            return self.canon_type
        return type(self.gold[0]).__name__.removesuffix("Value").lower() if self.gold else "string"


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                yield dict(zip(header, line.rstrip("\n").split("\t"), strict=False))


def _base_dir(path: Path, context: str | None = None) -> Path:
    """The wikitq folder ``context`` paths are relative to: the parent of ``data/`` or
    ``tagged/`` when the table is there, else the question file's own folder, else the dataset
    in the data folder (a sample of questions saved elsewhere still finds its tables)."""
    path = path.resolve()
    candidates = [path.parent.parent, path.parent, wikitq_dir()]
    if context:
        for base in candidates:
            if (base / context).exists():
                return base
    return candidates[0]


def load_questions(path: Path | str, *, limit: int | None = None) -> list[WikiTQExample]:
    """Read a question TSV (``id, utterance, context, targetValue``) or a tagged file.

    From a tagged file the canonical targets come along; ``\\n``, ``\\p`` and ``\\\\`` are
    unescaped in the utterance and in every target item.
    """
    path = Path(path)
    base: Path | None = None
    examples = []
    for row in _rows(path):
        if base is None:
            base = _base_dir(path, row.get("context"))
        canon = row.get("targetCanon")
        examples.append(WikiTQExample(
            id=row["id"],
            utterance=tsv_unescape(row["utterance"]),
            context=row["context"],
            target_value=tsv_unescape_list(row["targetValue"]),
            target_canon=tsv_unescape_list(canon) if canon is not None else None,
            canon_type=row.get("targetCanonType"),
            base_dir=base,
        ))
        if limit is not None and len(examples) >= limit:
            break
    return examples


def load_tagged(path: Path | str) -> dict[str, WikiTQExample]:
    return {ex.id: ex for ex in load_questions(path)}


def load_with_canon(questions: Path | str, *, limit: int | None = None) -> list[WikiTQExample]:
    """Questions in file order, with canonical targets from the matching tagged file if present."""
    questions = Path(questions)
    examples = load_questions(questions, limit=limit)
    tagged = tagged_path_for(questions)
    if tagged != questions and tagged.exists():
        canon = load_tagged(tagged)
        for ex in examples:
            if ex.id in canon:
                ex.target_canon = canon[ex.id].target_canon
                ex.canon_type = canon[ex.id].canon_type
    return examples

"""TabFact: is a statement about a table entailed (true) or refuted (false)? Binary accuracy.

``val_examples.json`` maps a table file to ``[statements, labels, caption]``; the tables in
``all_csv/`` are ``#``-separated, so the loader rewrites each one as a plain CSV in the run's
``tables/`` folder. Statements are taken in a fixed shuffled order (seed 0) so that a ``--limit``
slice covers many tables and both labels.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from evals.tasks import EvalItem, EvalTask, write_table_csv
from evals.wikitq import data_dir
from evals.wikitq_scoring import normalize

TRUE_WORDS = {"true", "yes", "entailed", "1", "correct", "supported"}
FALSE_WORDS = {"false", "no", "refuted", "0", "incorrect", "not supported"}
STRONG_WORDS = {"true", "false", "entailed", "refuted"}


def tabfact_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "tabfact"


def parse_verdict(items: list[str]) -> bool | None:
    """True/False from a prediction's first item ("True", "yes", "refuted", ...), else None."""
    if not items:
        return None
    text = normalize(items[0])
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raw_first = text.split(" ", 1)[0]
    first = raw_first.strip(",.:;!")
    # "True, because ..." counts; "yes"/"no" only with punctuation ("No, ..." but not "no idea").
    if first in STRONG_WORDS or (first in ("yes", "no") and raw_first != first):
        return first in TRUE_WORDS
    return None


def convert_table(src: Path, dest: Path) -> Path:
    """Rewrite a ``#``-separated TabFact table as a comma-separated CSV (once)."""
    if dest.exists():
        return dest
    with open(src, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("#") for line in f if line.strip()]
    return write_table_csv(rows, dest)


class TabFactTask(EvalTask):
    name = "tabfact"

    def __init__(self, path: Path | str | None = None, *, seed: int = 0) -> None:
        self.path = Path(path) if path else tabfact_dir() / "val_examples.json"
        self.seed = seed

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        entries = []
        for table_file, (statements, labels, caption) in data.items():
            for i, (statement, label) in enumerate(zip(statements, labels, strict=True)):
                entries.append((table_file, i, statement, int(label), caption))
        random.Random(self.seed).shuffle(entries)
        if limit is not None:
            entries = entries[:limit]
        tables = (workdir or Path("runs") / "tabfact") / "tables"
        items = []
        for table_file, i, statement, label, caption in entries:
            source = convert_table(self.path.parent / "all_csv" / table_file, tables / table_file)
            question = (f'Table: "{caption}". Is this statement true or false? '
                        f'"{statement}" Answer with exactly one word: true or false.')
            items.append(EvalItem(
                id=f"{Path(table_file).stem}-{i}", question=question, source=str(source),
                gold=["true" if label else "false"],
                category="entailed" if label else "refuted",
                extra={"statement": statement, "caption": caption},
            ))
        return items

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        verdict = parse_verdict(prediction)
        return float(verdict is not None and verdict == (item.gold[0] == "true"))

"""AIT-QA: questions over airline tables with hierarchical row and column headers.

Each table is written as a CSV in the run's ``tables/`` folder: one column per row-header level
(``Group``, ..., ``Row``) then one per data column, named by its header path joined with
`` / ``. Metric: exact match under the WikiTQ value semantics, where a gold answer such as
``$5,813``, ``24%`` or ``(1,844)`` also counts as the number 5813, 24 or -1844 (as WikiTQ's gold
``100,000`` counts as 100000), so a prediction matches the exact text or the exact number.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from evals.tasks import EvalItem, EvalTask, write_table_csv
from evals.wikitq import data_dir
from evals.wikitq_scoring import NumberValue, Value, check_denotation, to_value, to_value_list

_ACCOUNTING_NEGATIVE = re.compile(r"^\((.*)\)$")


def aitqa_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "aitqa"


def canonical_number(text: str) -> str | None:
    """``$5,813`` -> ``5813``; ``(0.5)%`` -> ``-0.5``; None when the text is not a number."""
    t = text.strip().replace("$", "").replace(",", "").replace("%", "").replace(" ", "")
    m = _ACCOUNTING_NEGATIVE.match(t)
    if m:
        t = "-" + m.group(1)
    return t if t and NumberValue.parse(t) is not None else None


def gold_values(answers: list[str]) -> list[Value]:
    return list(dict.fromkeys(to_value(a, canonical_number(a) or a) for a in answers))


def table_rows(table: dict[str, Any]) -> list[list[str]]:
    """Header row + data rows, the hierarchical headers flattened as described above."""
    col_paths = table["column_header"]
    row_paths = table["row_header"] or []
    depth = max((len(p) for p in row_paths), default=0)
    group_names = [f"Group {i + 1}" if depth > 2 else "Group" for i in range(depth - 1)]
    header = [*group_names, "Row"] if depth else []
    seen: dict[str, int] = {}
    for path in col_paths:
        name = " / ".join(dict.fromkeys(p.strip() for p in path if p.strip())) or "Value"
        seen[name] = seen.get(name, 0) + 1
        header.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    rows = [header]
    for i, data in enumerate(table["data"]):
        labels = list(row_paths[i]) if i < len(row_paths) else []
        labels = [""] * (depth - len(labels)) + labels if depth else []
        rows.append([*labels, *data])
    return rows


class AITQATask(EvalTask):
    name = "aitqa"

    def __init__(self, folder: Path | str | None = None) -> None:
        self.folder = Path(folder) if folder else aitqa_dir()

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        with open(self.folder / "aitqa_tables.jsonl", encoding="utf-8") as f:
            tables = {t["id"]: t for t in map(json.loads, filter(str.strip, f))}
        with open(self.folder / "aitqa_questions.jsonl", encoding="utf-8") as f:
            questions = [json.loads(line) for line in f if line.strip()]
        if limit is not None:
            questions = questions[:limit]
        folder = (workdir or Path("runs") / "aitqa") / "tables"
        items = []
        for q in questions:
            dest = folder / f"{q['table_id']}.csv"
            if not dest.exists():
                write_table_csv(table_rows(tables[q["table_id"]]), dest)
            hierarchy = "row-hierarchy" if q.get("row_hierarchy_needed") == "Yes" else "flat"
            items.append(EvalItem(
                id=q["id"], question=q["question"], source=str(dest), gold=list(q["answers"]),
                category=f"{q.get('type', '')}/{hierarchy}",
            ))
        return items

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        return float(check_denotation(gold_values(item.gold), to_value_list(prediction)))

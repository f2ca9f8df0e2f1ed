"""FeTaQA: free-form answers to questions over Wikipedia tables. Metric: ROUGE-L F1 of the
answer sentence against the reference (sacreBLEU too in the report when installed)."""

from __future__ import annotations

import json
from pathlib import Path

from agent.answer import Answer
from evals.rouge import rouge_l_f
from evals.tasks import EvalItem, EvalTask, answer_items, write_table_csv
from evals.wikitq import data_dir


def fetaqa_dir(root: Path | None = None) -> Path:
    return (root or data_dir()) / "fetaqa"


class FeTaQATask(EvalTask):
    name = "fetaqa"
    metric = "rouge_l"
    binary = False

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path else fetaqa_dir() / "fetaQA-v1_dev.jsonl"

    def load(self, *, limit: int | None = None, workdir: Path | None = None) -> list[EvalItem]:
        folder = (workdir or Path("runs") / "fetaqa") / "tables"
        items = []
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                ex = json.loads(line)
                dest = write_table_csv(ex["table_array"], folder / f"feta-{ex['feta_id']}.csv")
                question = (f"{ex['question']} (Table: {ex['table_page_title']}, section "
                            f"{ex['table_section_title']}.) Answer with one complete sentence.")
                items.append(EvalItem(
                    id=f"feta-{ex['feta_id']}", question=question, source=str(dest),
                    gold=[ex["answer"]], category="free-form",
                    extra={"highlighted_cells": ex.get("highlighted_cell_ids", [])},
                ))
                if limit is not None and len(items) >= limit:
                    break
        return items

    def prediction(self, answer: Answer) -> list[str]:
        text = (answer.text or "").strip()
        return [text] if text else answer_items(answer)

    def score(self, item: EvalItem, prediction: list[str]) -> float:
        return rouge_l_f(" ".join(prediction), item.gold[0])

"""The few-shot exemplars are data the model copies: every one must be valid and run."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import prompts
from agent.retriever import Retriever
from table_io.versions import VersionStore
from tools.sheet import SheetTool


def test_sheet_exemplars_apply_to_a_real_workbook(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"Item": [f"i{n}" for n in range(40)], "Price": range(40),
                      "Qty": [2] * 40}).to_excel(writer, sheet_name="Orders", index=False)
        pd.DataFrame({"Region": ["N", "S"] * 99 + ["E"], "Product": ["p"] * 199,
                      "Revenue": range(0, 1990, 10)}).to_excel(writer, sheet_name="Sales",
                                                              index=False)
    sheet_steps = [(e["id"], s) for e in prompts.load_jsonl("exemplars.jsonl")
                   for s in e["steps"] if s["tool"] == "sheet"]
    assert len(sheet_steps) >= 4
    for exemplar_id, step in sheet_steps:
        versions = VersionStore(path, tmp_path / exemplar_id)
        result = SheetTool(versions)(step["args"])
        assert result.error is None, (exemplar_id, result.observation)
        assert versions.version == 1


def test_retriever_picks_relevant_exemplars_and_fixes() -> None:
    retriever = Retriever(k=2)
    (first, _) = retriever.examples("Which team won the most medals?", {"sql"})
    assert "GROUP BY" in first
    edits = retriever.examples("Sort the table by price, highest first", {"sql", "sheet"})
    assert any('"sort"' in e for e in edits)
    assert not retriever.examples("Sort by price", {"sql"})[0].count('"sort"')
    (fix,) = retriever.fixes('Binder Error: Referenced column "Sales" not found', {"sql"})
    assert "exact column name" in fix


def test_fixed_exemplars_give_every_question_the_same_prompt_up_to_the_question(
        tmp_path: Path) -> None:
    from agent import TableAgent
    from agent.models import Backend
    from agent.models.scripted import ScriptedChatModel

    path = tmp_path / "sales.csv"
    path.write_text("region,revenue\nNorth,10\nSouth,20\n")
    sent: dict[str, list[list[str]]] = {"similar": [], "fixed": []}
    for choice in ("similar", "fixed"):
        for question in ("What is the total revenue?", "Which region is last?"):
            model = ScriptedChatModel(["```sql\nSELECT 1\n```", "Final answer: 1"])
            agent = TableAgent(Backend(model, "tiny", "text", "local"), python=False,
                               example_choice=choice)  # type: ignore[arg-type]
            agent.ask(path, question)
            sent[choice].append([str(m.content) for m in model.calls[0]])
    first, second = sent["fixed"]
    assert first[:-1] == second[:-1] and first[-1] != second[-1]  # only the question differs
    assert first[-1].split("Question:")[0] == second[-1].split("Question:")[0]
    assert sent["similar"][0][:-1] != sent["similar"][1][:-1]  # exemplars follow the question

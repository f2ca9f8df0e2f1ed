"""TabFact, AIT-QA and FeTaQA: loaders, scorers, ROUGE-L and the report statistics."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.answer import Answer
from evals.aitqa import AITQATask, aitqa_dir, canonical_number, table_rows
from evals.fetaqa import FeTaQATask, fetaqa_dir
from evals.rouge import lcs_length, rouge_l, rouge_l_f, tokenize
from evals.stats import mcnemar_exact, mean_interval, percentile, wilson_interval
from evals.tabfact import TabFactTask, parse_verdict, tabfact_dir
from evals.tasks import EvalItem, answer_items, format_item
from table_io import open_workbook

# ---------------------------------------------------------------- ROUGE-L and statistics


def test_rouge_l_matches_the_reference_implementation() -> None:
    # rouge-score's README example: P 5/9, R 5/8, F 0.5882.
    p, r, f = rouge_l("The quick brown fox jumps over the lazy dog",
                      "The quick brown dog jumps on the log.")
    assert (p, r) == (5 / 9, 5 / 8)
    assert f == pytest.approx(0.5882352941176471)
    assert rouge_l_f("", "anything") == 0.0
    assert tokenize("Hello, World! 42-x") == ["hello", "world", "42", "x"]


@given(st.lists(st.sampled_from("abcd"), max_size=12), st.lists(st.sampled_from("abcd"),
                                                                 max_size=12))
def test_lcs_is_symmetric_and_bounded(a: list[str], b: list[str]) -> None:
    n = lcs_length(a, b)
    assert n == lcs_length(b, a) and 0 <= n <= min(len(a), len(b))
    if a:
        assert lcs_length(a, a) == len(a)


def test_wilson_interval_and_percentiles() -> None:
    low, high = wilson_interval(10, 20)
    assert low == pytest.approx(0.2993, abs=1e-4) and high == pytest.approx(0.7007, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 0.0)
    low, high = wilson_interval(20, 20)
    assert high == 1.0 and 0.83 < low < 0.84
    assert percentile([1, 2, 3, 4], 50) == 2.5 and percentile([5], 95) == 5
    assert mean_interval([0.5, 0.5])[0] == 0.5


def test_exact_mcnemar_counts_only_the_questions_that_differ() -> None:
    assert mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 5) == pytest.approx(2 / 32)  # 5 of 5 one way: not yet significant
    assert mcnemar_exact(6, 0) == pytest.approx(2 / 64)  # 6 of 6: significant at 5%
    assert mcnemar_exact(2, 9) == mcnemar_exact(9, 2) == pytest.approx(2 * 67 / 2048)


def test_answer_items_format_typed_values() -> None:
    import datetime as dt

    assert format_item(12.0) == "12" and format_item(0.5) == "0.5" and format_item(True) == "true"
    assert format_item(dt.date(2008, 4, 13)) == "2008-04-13"
    assert format_item(dt.datetime(2008, 4, 13)) == "2008-04-13"
    assert answer_items(Answer(question="q", value=[3, "Italy"], text="3, Italy")) == ["3", "Italy"]
    assert answer_items(Answer(question="q", value=None, text=" Rome ")) == ["Rome"]
    assert answer_items(Answer(question="q", value=None, text="")) == []
    stopped = Answer(question="q", value=None, text="Stopped: step limit.", status="limit")
    assert answer_items(stopped) == []


# ---------------------------------------------------------------- TabFact


def test_tabfact_verdicts() -> None:
    assert parse_verdict(["True"]) is True and parse_verdict(["refuted"]) is False
    assert parse_verdict(["False."]) is False and parse_verdict(["yes, it is"]) is True
    assert parse_verdict(["maybe"]) is None and parse_verdict([]) is None
    item = EvalItem(id="t", question="?", source="x", gold=["false"])
    task = TabFactTask(Path("unused.json"))
    assert task.score(item, ["false"]) == 1.0 and task.score(item, ["true"]) == 0.0
    assert task.score(item, ["no idea"]) == 0.0


@pytest.mark.skipif(not (tabfact_dir() / "val_examples.json").exists(),
                    reason="TabFact data not found")
def test_tabfact_loader_writes_readable_tables(tmp_path: Path) -> None:
    items = TabFactTask().load(limit=12, workdir=tmp_path)
    assert len(items) == 12 and len({i.id for i in items}) == 12
    assert {i.gold[0] for i in items} <= {"true", "false"}
    assert all("true or false" in i.question for i in items)
    wb = open_workbook(items[0].source)
    assert wb.tables[0].frame.shape[0] >= 1 and wb.tables[0].frame.shape[1] >= 2
    # the same seed gives the same slice
    assert [i.id for i in TabFactTask().load(limit=12, workdir=tmp_path)] == [i.id for i in items]


# ---------------------------------------------------------------- AIT-QA


def test_aitqa_gold_number_forms() -> None:
    assert canonical_number("$5,813") == "5813"
    assert canonical_number("(0.5)%") == "-0.5"
    assert canonical_number("(1,844)") == "-1844"
    assert canonical_number("United") is None
    task = AITQATask(Path("unused"))
    item = EvalItem(id="q", question="?", source="x", gold=["$5,813"])
    assert task.score(item, ["5813"]) == 1.0 and task.score(item, ["$5,813"]) == 1.0
    assert task.score(item, ["5,813"]) == 0.0  # a string that is not the gold text
    assert task.score(item, ["5814"]) == 0.0
    pct = EvalItem(id="p", question="?", source="x", gold=["24%"])
    assert task.score(pct, ["24"]) == 1.0 and task.score(pct, ["0.24"]) == 0.0


def test_aitqa_flattens_hierarchical_headers() -> None:
    table = {"column_header": [["Year Ended", "2018"], ["Year Ended", "2017"]],
             "row_header": [["Consolidated", "Passengers"], ["Consolidated", "Miles"]],
             "data": [["158,330", "148,067"], ["230,155", "216,261"]]}
    rows = table_rows(table)
    assert rows[0] == ["Group", "Row", "Year Ended / 2018", "Year Ended / 2017"]
    assert rows[1] == ["Consolidated", "Passengers", "158,330", "148,067"]
    flat = table_rows({"column_header": [["Year"], ["Fuel"]], "row_header": [],
                       "data": [["2018", "4,137"]]})
    assert flat == [["Year", "Fuel"], ["2018", "4,137"]]


@pytest.mark.skipif(not (aitqa_dir() / "aitqa_questions.jsonl").exists(),
                    reason="AIT-QA data not found")
def test_aitqa_loader(tmp_path: Path) -> None:
    items = AITQATask().load(limit=10, workdir=tmp_path)
    assert len(items) == 10 and items[0].gold == ["$5,813"]
    frame = open_workbook(items[0].source).tables[0].frame
    assert frame.shape == (3, 6)


# ---------------------------------------------------------------- FeTaQA


@pytest.mark.skipif(not (fetaqa_dir() / "fetaQA-v1_dev.jsonl").exists(),
                    reason="FeTaQA data not found")
def test_fetaqa_loader_and_rouge_scoring(tmp_path: Path) -> None:
    task = FeTaQATask()
    items = task.load(limit=5, workdir=tmp_path)
    assert len(items) == 5 and items[0].id == "feta-2275"
    assert open_workbook(items[0].source).tables[0].columns[:2] == ["Year", "Award"]
    gold = items[0].gold[0]
    assert task.score(items[0], [gold]) == 1.0
    assert 0.0 < task.score(items[0], [" ".join(gold.split()[:5])]) < 1.0
    answer = Answer(question="q", value="Rocky", text=gold)
    assert task.prediction(answer) == [gold]

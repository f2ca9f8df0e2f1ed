"""The loaders and the scorer on the real WikiTQ dev set (skipped without ../shared/data)."""

from __future__ import annotations

import collections
from pathlib import Path

import pytest

from app.cli import main
from evals.wikitq import (
    data_dir,
    dev_questions_path,
    load_questions,
    load_tagged,
    load_with_canon,
    tagged_path_for,
)
from evals.wikitq_scoring import score_file, write_predictions

DEV = dev_questions_path()
pytestmark = pytest.mark.skipif(not DEV.exists(), reason=f"WikiTQ data not found at {DEV}")


def test_data_dir_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TABLEPILOT_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert dev_questions_path() == tmp_path / "wikitq" / "data" / "pristine-seen-tables.tsv"


def test_dev_set_loads_with_canonical_targets() -> None:
    examples = load_with_canon(DEV)
    assert len(examples) == 3537
    first = examples[0]
    assert (first.id, first.target_value, first.target_canon) == ("ns-0", ["10 years"], ["10.0"])
    assert first.table_path.exists() and first.table_path.suffix == ".csv"
    assert all(ex.target_canon is not None for ex in examples)
    types = collections.Counter(ex.answer_type for ex in examples)
    assert set(types) == {"number", "date", "string", "list"}
    assert sum(len(ex.target_value) > 1 for ex in examples) == types["list"]


def test_limit_and_tagged_lookup() -> None:
    assert [ex.id for ex in load_questions(DEV, limit=3)] == ["ns-0", "ns-1", "ns-2"]
    tagged = tagged_path_for(DEV)
    assert tagged.name == "pristine-seen-tables.tagged" and tagged.exists()
    assert load_tagged(tagged)["ns-1"].canon_type == "string"


def test_gold_answers_score_one_on_the_dev_set(tmp_path: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    examples = load_questions(DEV)
    preds = tmp_path / "gold.tsv"
    write_predictions(preds, [(ex.id, ex.target_value) for ex in examples])
    report = score_file(preds, tagged_path_for(DEV))
    assert (report.n_correct, report.n_total) == (3537, 3537)
    assert main(["eval", "score", str(preds), "--tagged", str(tagged_path_for(DEV))]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "accuracy: 1.0000 (3537/3537)"


def test_partial_predictions_count_every_question(tmp_path: Path) -> None:
    examples = load_questions(DEV)
    preds = tmp_path / "half.tsv"
    write_predictions(preds, [(ex.id, ex.target_value) for ex in examples[:100]]
                      + [(ex.id, ["definitely wrong"]) for ex in examples[100:150]])
    report = score_file(preds, tagged_path_for(DEV))
    assert (report.n_correct, report.n_total, len(report.missing)) == (100, 3537, 3387)

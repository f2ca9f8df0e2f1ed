"""`tablepilot eval` argument handling and the side-by-side table (no model needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli import build_parser, main
from app.commands.eval import _strategies, model_options, side_by_side


def test_wikitq_options_parse() -> None:
    args = build_parser().parse_args([
        "eval", "wikitq", "--questions", "q.tsv", "--limit", "20", "--concurrency", "8",
        "--local", "--strategies", "agent,direct", "--out", "runs/x"])
    assert args.dataset == "wikitq" and args.limit == 20 and args.concurrency == 8
    assert _strategies(args) == ["agent", "direct"]
    assert model_options(args) == {"base_url": None, "model_name": None, "local": True}
    args = build_parser().parse_args(["eval", "tabfact", "--baselines", "--local",
                                      "qwen2.5-coder-0.5b", "--model", "m"])
    assert _strategies(args) == ["agent", "direct", "sql_once"]
    assert model_options(args)["local"] == "qwen2.5-coder-0.5b"
    args = build_parser().parse_args(["eval", "aitqa", "--base-url", "http://127.0.0.1:9/v1"])
    assert _strategies(args) == ["agent"] and model_options(args)["local"] is None


def test_unknown_strategy_is_refused() -> None:
    args = build_parser().parse_args(["eval", "wikitq", "--strategies", "agent,magic"])
    with pytest.raises(SystemExit, match="magic"):
        _strategies(args)


def test_side_by_side_table() -> None:
    def report(acc: float, n: int) -> dict:
        return {"accuracy": acc, "ci95": [acc - 0.1, acc + 0.1], "n_correct": round(acc * n),
                "n_total": n, "errors": {"wrong_answer": 3, "tool_error": 1, "limit_reached": 0},
                "latency_s": {"p50": 2.0}, "tokens_per_question": {"in": 900.0, "out": 40.0},
                "questions_per_minute": 12.5}

    text = side_by_side([("agent", report(0.6, 20)), ("direct", report(0.35, 20))])
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["strategy", "score", "95%"]
    assert lines[2].split()[:2] == ["agent", "60.0%"] and "12/20" in lines[2]
    assert lines[3].split()[:2] == ["direct", "35.0%"]


def test_sheetcopilot_check_needs_a_task(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["eval", "sheetcopilot", "--check", str(tmp_path / "r.xlsx")]) == 2
    assert "--task" in capsys.readouterr().err
    assert main(["eval", "sheetcopilot"]) == 2


def test_score_reports_missing_files(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["eval", "score", str(tmp_path / "none.tsv"), "--tagged",
                 str(tmp_path / "none.tagged")]) == 2
    assert "not found" in capsys.readouterr().err


def test_compare_needs_run_folders(capsys: pytest.CaptureFixture, tmp_path: Path) -> None:
    assert main(["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "report.json" in capsys.readouterr().err

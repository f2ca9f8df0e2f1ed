"""`tablepilot eval sheetcopilot`: --check wiring and the Exec@1/Pass@1 runner with a scripted
model (skipped without ../shared/data/sheetcopilot)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.models.scripted import ScriptedChatModel, tool_call
from app.cli import main
from evals.sheetcopilot import default_data_dir
from evals.sheetcopilot_run import run_sheetcopilot_tasks

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(not (DATA / "dataset.xlsx").exists(),
                                reason=f"SheetCopilot data not found at {DATA}")
TASK = "1_BoomerangSales"


def test_check_command_passes_a_reference_and_fails_the_source(
        capsys: pytest.CaptureFixture) -> None:
    gt = DATA / "task_sheet_answers_v2" / "BoomerangSales" / TASK / f"{TASK}_gt1.xlsx"
    assert main(["eval", "sheetcopilot", "--check", str(gt), "--task", TASK]) == 0
    assert capsys.readouterr().out.strip() == "pass"
    source = DATA / "task_sheets" / "BoomerangSales.xlsx"
    assert main(["eval", "sheetcopilot", "--check", str(source), "--task", TASK]) == 1
    assert capsys.readouterr().out.startswith("fail: ")


def test_runner_records_exec_and_pass_and_resumes(tmp_path: Path) -> None:
    model = ScriptedChatModel(lambda messages: tool_call("final_answer", answer="done"))
    report = run_sheetcopilot_tasks(model, label="scripted", limit=2, out_dir=tmp_path,
                                    progress=False)
    # an answer with no edit executed nothing: SheetCopilot's tasks all ask for a change
    assert (report["n_total"], report["executed"], report["passed"]) == (2, 0, 0)
    assert report["exec_at_1"] == 0.0 and report["pass_at_1"] == 0.0
    assert report["failures"] == {"no edit": 2}
    assert all(Path(t["workbook"]).exists() for t in report["tasks"])
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["1_BoomerangSales", "2_BoomerangSales"]
    again = run_sheetcopilot_tasks(model, label="scripted", limit=2, out_dir=tmp_path,
                                   progress=False)
    assert again["n_total"] == 2
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2  # nothing re-ran
    assert "Pass@1: 0.0%" in (tmp_path / "report.md").read_text()

"""The CLI's model specs and rule options, end to end: `tablepilot ask --model scripted:PATH`
over real files, `tablepilot rules`, and the one-line errors (exit 2 for the user's mistakes,
1 for the rest) that every command prints instead of a traceback."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import openpyxl
import pytest

from agent.rules import FAMILIES, RULES, select
from app.cli import build_parser, main
from app.commands.app import model_env, streamlit_args
from app.commands.ask import rules_from_args
from app.state import MODEL_ENV, injected_model, spec_label

COUNT_THEN_ANSWER = [{"tool": "sql", "args": {"query": "SELECT COUNT(*) AS n FROM cities"}},
                     {"tool": "final_answer", "args": {"answer": "3"}}]


@pytest.fixture
def cities_csv(tmp_path: Path) -> Path:
    path = tmp_path / "cities.csv"
    path.write_text("city,population\nOslo,709000\nBergen,291000\nTromso,77000\n")
    return path


@pytest.fixture
def cities_xlsx(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "cities"
    for row in (["city", "population"], ["Oslo", 709000], ["Bergen", 291000],
                ["Tromso", 77000]):
        ws.append(row)
    path = tmp_path / "cities.xlsx"
    wb.save(path)
    return path


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "count.json"
    path.write_text(json.dumps(COUNT_THEN_ANSWER))
    return path


def ask_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["ask", *args, "--json"]) == 0, capsys.readouterr().err
    answer: dict[str, object] = json.loads(capsys.readouterr().out)
    return answer


@pytest.mark.parametrize("table", ["cities_csv", "cities_xlsx"])
def test_ask_with_a_scripted_spec_runs_the_real_query(table: str, script: Path,
                                                      request: pytest.FixtureRequest,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = request.getfixturevalue(table)
    answer = ask_json(capsys, "--model", f"scripted:{script}", str(source), "How many cities?")
    assert answer["status"] == "ok" and answer["value"] == 3
    assert answer["model"] == "scripted:count.json"
    steps = answer["steps"]
    assert isinstance(steps, list) and "| 3 |" in steps[0]["output"]


def test_a_yaml_script_works_the_same(tmp_path: Path, cities_csv: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "count.yaml"
    script.write_text("- tool: sql\n  args: {query: SELECT MAX(population) AS m FROM cities}\n"
                      "- tool: final_answer\n  args: {answer: '709000'}\n")
    answer = ask_json(capsys, "--model", f"scripted:{script}", str(cities_csv), "Largest?",
                      "--rules", "none")
    assert answer["status"] == "ok" and answer["value"] == 709000


def test_rule_options_choose_the_rule_set(cities_csv: Path, script: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    families = list(FAMILIES)
    args = parser.parse_args(["ask", "f.csv", "q", "--rules", f"{families[0]},{families[1]}",
                              "--rules", families[2], "--without", families[1]])
    assert rules_from_args(args) == select([families[0], families[2]])
    default = parser.parse_args(["ask", "f.csv", "q"])
    assert rules_from_args(default) == select()
    assert rules_from_args(argparse.Namespace()) == select()  # a command without the options
    answer = ask_json(capsys, "--model", f"scripted:{script}", str(cities_csv), "How many?",
                      "--without", ",".join(families))
    assert answer["value"] == 3


@pytest.mark.parametrize("command", ["ask", "chat", "batch"])
def test_effort_is_an_option_of_every_asking_command(command: str, script: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from app.commands.ask import agent_from_args

    parser = build_parser()
    target = ["items.jsonl", "--out", "o.jsonl"] if command == "batch" else ["f.csv"] + (["q"] if command == "ask"
                                                                     else [])
    args = parser.parse_args([command, *target, "--model", f"scripted:{script}",
                              "--effort", "thorough"])
    agent = agent_from_args(args)
    assert (agent.effort, agent.samples) == ("thorough", 5)
    with pytest.raises(SystemExit):
        parser.parse_args([command, *target, "--effort", "max"])
    assert "invalid choice: 'max'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["ask", "chat", "batch"])
@pytest.mark.parametrize("option", ["--without", "--rules"])
def test_an_unknown_rule_is_a_usage_error(command: str, option: str, tmp_path: Path,
                                          cities_csv: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = {"ask": [str(cities_csv), "q"], "chat": [str(cities_csv)],
            "batch": [str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out.jsonl")]}[command]
    assert main([command, *args, option, "bogus-rule"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "'bogus-rule'" in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize(("spec", "problem"), [
    ("opnai:m@http://127.0.0.1:9/v1", "did you mean openai:?"),
    ("local:gpt-17", "no local model named 'gpt-17'"),
    ("openai:m@ftp://x", "must start with http://"),
    ("scripted:{tmp}/missing.json", "cannot read it"),
])
def test_a_bad_model_spec_is_a_usage_error(spec: str, problem: str, tmp_path: Path,
                                           cities_csv: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--model", spec.format(tmp=tmp_path), str(cities_csv), "q"]) == 2
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_agent_error_that_is_not_the_users_exits_1(tmp_path: Path, cities_csv: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TABLEPILOT_CACHE", str(tmp_path))  # the local model is not fetched
    assert main(["ask", "--model", "local:qwen2.5-coder-0.5b", str(cities_csv), "q"]) == 1
    err = capsys.readouterr().err
    assert "python -m agent.models.weights fetch qwen2.5-coder-0.5b" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_missing_table_file_is_reported_in_one_line(tmp_path: Path, script: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--model", f"scripted:{script}", str(tmp_path / "none.csv"), "q"]) == 2
    err = capsys.readouterr().err
    assert "none.csv" in err and "Traceback" not in err


def test_batch_with_a_scripted_spec(tmp_path: Path, cities_csv: Path, script: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "in.jsonl"
    items.write_text(json.dumps({"id": "q1", "source": str(cities_csv),
                                 "question": "How many cities?"}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["batch", str(items), "--out", str(out), "--model", f"scripted:{script}",
                 "--no-progress", "-c", "1"]) == 0
    result = json.loads(out.read_text().splitlines()[0])
    assert result["id"] == "q1" and result["answer"]["value"] == 3


# ------------------------------------------------------------------ `tablepilot rules`


def test_rules_json_lists_exactly_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["families"] == dict(FAMILIES)
    assert [r["id"] for r in listed["rules"]] == [r.id for r in RULES]
    for shown, rule in zip(listed["rules"], RULES, strict=True):
        assert shown == {"id": rule.id, "family": rule.family, "default": rule.default,
                         "purpose": rule.purpose}


def test_rules_table_shows_every_rule_under_its_family(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    text = capsys.readouterr().out
    if not RULES:
        assert text.strip() == "no rules are registered"
        return
    family = None
    printed: dict[str, tuple[str | None, str]] = {}
    for line in text.splitlines():
        if line.startswith("  "):
            rule_id, state, *_ = line.split()
            printed[rule_id] = (family, state)
        elif ": " in line and line.split(":", 1)[0] in FAMILIES:
            family = line.split(":", 1)[0]
            assert line == f"{family}: {FAMILIES[family]}"
    assert set(printed) == {r.id for r in RULES}
    for rule in RULES:
        assert printed[rule.id] == (rule.family, "on" if rule.default else "off")
    assert f"{len(RULES)} rules, {sum(r.default for r in RULES)} on by default" in text


# ------------------------------------------------------------------ the app's --model


def test_app_model_option_sets_the_apps_model(tmp_path: Path, script: Path) -> None:
    assert model_env([]) == {}
    assert model_env(["--model", f"scripted:{script}"]) == {MODEL_ENV: f"scripted:{script}"}
    assert model_env(["--model", "local:"]) == {MODEL_ENV: "local:"}
    assert model_env(["--model", "Qwen/Qwen2.5-7B-Instruct"]) == {
        "TABLEPILOT_MODEL": "Qwen/Qwen2.5-7B-Instruct"}
    args = streamlit_args(["--model", "local:", "--server.headless", "true"], env={},
                          cwd=tmp_path)
    assert "--model" not in args and "local:" not in args and "--server.headless" in args


def test_app_refuses_a_bad_model_before_starting(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["app", "--model", "opnai:m@http://127.0.0.1:9/v1"]) == 2
    assert "did you mean openai:?" in capsys.readouterr().err


def test_app_model_env_takes_any_spec(tmp_path: Path, script: Path) -> None:
    scripted = injected_model({MODEL_ENV: f"scripted:{script}"})
    assert scripted is not None and scripted.remaining == 2
    spec = injected_model({MODEL_ENV: "openai:m@http://user:secret@gpu:8000/v1"})
    assert spec is not None and spec.kind == "openai"
    label = spec_label(spec)
    assert label == "m at http://gpu:8000/v1" and "secret" not in label
    with pytest.raises(ValueError, match="does not start with local:, openai: or scripted:"):
        injected_model({MODEL_ENV: "gpt"})


def test_ask_names_the_rules_that_fired_on_the_step_and_the_answer(
        tmp_path: Path, cities_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "invented.json"
    script.write_text(json.dumps([
        {"tool": "sql", "args": {"query": "SELECT COUNT(*) AS n FROM towns"}},  # no 'towns'
        {"tool": "final_answer", "args": {"answer": "3"}}]))
    assert main(["ask", "--model", f"scripted:{script}", str(cities_csv), "How many?"]) == 0
    out = capsys.readouterr().out
    assert "1. sql ok" in out and "rules: invented-table" in out
    assert out.count("invented-table") == 2  # on the step, and in the answer's summary
    assert main(["ask", "--model", f"scripted:{script}", str(cities_csv), "How many?",
                 "--without", "invented-table,check"]) == 0
    out = capsys.readouterr().out
    assert "unknown table 'towns'" in out and "invented-table" not in out

"""`tablepilot tools`: the tools' OpenAI-style function schemas, and a readable list."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from app.cli import main
from tools.sheet import SheetTool
from tools.sql import SqlTool


def printed_specs(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["tools", "--json", *args]) == 0
    specs = json.loads(capsys.readouterr().out)
    assert isinstance(specs, list)
    return specs


def test_json_prints_function_schemas(capsys: pytest.CaptureFixture[str]) -> None:
    specs = printed_specs(capsys)
    assert [s["function"]["name"] for s in specs] == ["sql", "python", "sheet", "inspect"]
    for spec in specs:
        assert set(spec) == {"type", "function"} and spec["type"] == "function"
        function = spec["function"]
        assert set(function) == {"name", "description", "parameters"}
        assert function["description"].strip()
        parameters = function["parameters"]
        assert parameters["type"] == "object"
        Draft202012Validator.check_schema(parameters)
    by_name = {s["function"]["name"]: s for s in specs}
    assert by_name["sql"] == SqlTool.spec()
    assert by_name["sheet"] == SheetTool.spec(), "the small schema tablepilot sends models"
    sql = Draft202012Validator(by_name["sql"]["function"]["parameters"])
    assert sql.is_valid({"query": "SELECT 1"}) and not sql.is_valid({})
    sheet = Draft202012Validator(by_name["sheet"]["function"]["parameters"])
    assert sheet.is_valid({"actions": [{"action": "write", "range": "A1", "values": 1}]})
    assert not sheet.is_valid({"actions": [{"action": "explode"}]})


def test_full_gives_the_sheet_tools_typed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    specs = printed_specs(capsys, "--full", "--no-python")
    assert [s["function"]["name"] for s in specs] == ["sql", "sheet", "inspect"]
    sheet = specs[1]["function"]["parameters"]
    Draft202012Validator.check_schema(sheet)
    validator = Draft202012Validator(sheet)
    assert validator.is_valid({"actions": [{"action": "formula", "range": "C2",
                                            "formula": "=A2*B2"}]})
    assert not validator.is_valid({"actions": [{"action": "formula", "range": "C2"}]}), \
        "the full schema knows each action's required fields"
    assert len(json.dumps(sheet)) > 10 * len(json.dumps(SheetTool.parameters()))


def test_read_only_leaves_out_the_sheet_tool(capsys: pytest.CaptureFixture[str]) -> None:
    names = [s["function"]["name"] for s in printed_specs(capsys, "--read-only")]
    assert names == ["sql", "python", "inspect"]


def test_readable_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sql: Run one read-only SQL query (DuckDB dialect) over the workbook's "
                          "tables.\n  query (string, required): One DuckDB SELECT query")
    assert "\nsheet: Edit the workbook with a list of actions" in out
    assert "  actions (array of object, required)" in out
    assert "write, formula, fill" in out
    assert "\ninspect: Describe the workbook as JSON" in out
    assert "  head (integer, optional, default 0)" in out

"""Tool payloads against their types (tools/payloads.py): each real tool writes exactly the keys
its TypedDict declares, exactly one accessor recognises it, and mypy rejects a misspelt key."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import openpyxl
import pandas as pd
import pytest
from pydantic import BaseModel

from table_io import open_workbook
from table_io.versions import VersionStore
from tools import payloads
from tools.base import Tool, ToolResult
from tools.python import PythonTool
from tools.sandbox import SandboxLimits
from tools.sheet import SheetTool
from tools.sql import SqlTool
from tools.tap import TapTool

ACCESSORS: dict[str, Callable[[ToolResult], Any]] = {
    "sql": payloads.sql_payload, "python": payloads.python_payload,
    "sheet": payloads.sheet_payload, "pending": payloads.pending_payload,
    "crash": payloads.crash_payload,
}


class NoArgs(BaseModel):
    pass


class Broken(Tool):
    """A tool with a bug: it always raises."""

    name: ClassVar[str] = "broken"
    Args: ClassVar[type[BaseModel]] = NoArgs

    def run(self, args: Any) -> ToolResult:
        raise RuntimeError("bug")


@pytest.fixture
def xlsx(tmp_path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Sales"
    for row in (["Region", "Units"], ["North", 10], ["South", 4]):
        ws.append(row)
    path = tmp_path / "sales.xlsx"
    wb.save(path)
    return path


def _sql(xlsx: Path, _: Path) -> ToolResult:
    tool = SqlTool(open_workbook(xlsx), timeout_s=5)
    name = tool.workbook.tables[0].name
    return tool({"query": f'SELECT sum("Units") AS n FROM "{name}"'})


def _sheet(xlsx: Path, tmp: Path) -> ToolResult:
    tool = SheetTool(VersionStore(xlsx, tmp / "versions"))
    return tool({"actions": [{"action": "write", "range": "A2", "values": "West"}]})


def _tap(xlsx: Path, _: Path) -> ToolResult:
    return TapTool(open_workbook(xlsx))({"question": "units in the North?"})


def _crash(xlsx: Path, _: Path) -> ToolResult:
    return Broken()({})


CASES = [  # (tool run, its payload type, the accessor that must recognise it, or None)
    (_sql, payloads.SqlPayload, "sql"),
    (_sheet, payloads.SheetPayload, "sheet"),
    (_tap, payloads.ViewPayload, None),
    (_crash, payloads.CrashPayload, "crash"),
]


def check_keys(payload: Any, typed: Any) -> None:
    keys = set(payload)
    assert typed.__required_keys__ <= keys, f"missing: {typed.__required_keys__ - keys}"
    assert keys <= set(typed.__annotations__), f"undeclared: {keys - set(typed.__annotations__)}"
    assert "duration_s" in keys  # Tool.__call__ times every dict payload


@pytest.mark.parametrize(("run", "typed", "accessor"), CASES,
                         ids=lambda c: getattr(c, "__name__", ""))
def test_each_tool_writes_its_declared_keys_and_one_accessor_finds_them(
        run: Callable[[Path, Path], ToolResult], typed: Any, accessor: str | None,
        xlsx: Path, tmp_path: Path) -> None:
    result = run(xlsx, tmp_path)
    assert isinstance(result.payload, dict), result.observation
    check_keys(result.payload, typed)
    found = {name for name, get in ACCESSORS.items() if get(result) is not None}
    assert found == ({accessor} if accessor else set())


def test_sheet_changes_are_read_the_same_way_for_saved_and_proposed_edits(
        xlsx: Path, tmp_path: Path) -> None:
    saved = _sheet(xlsx, tmp_path)
    proposal = ToolResult(observation="", payload=payloads.PendingEditPayload(
        pending=True, changes=SheetTool(VersionStore(xlsx, tmp_path / "v2")).preview(
            [{"action": "write", "range": "B2", "values": 1}])))
    assert [c.cell for c in payloads.cell_changes(saved) or []] == ["A2"]
    assert [c.cell for c in payloads.cell_changes(proposal) or []] == ["B2"]
    assert payloads.pending_payload(proposal) is not None
    assert payloads.sheet_payload(proposal) is None
    assert payloads.cell_changes(_sql(xlsx, tmp_path)) is None


def test_python_payload_keys(xlsx: Path) -> None:
    limits = SandboxLimits(cpu_s=2, wall_s=20, memory_mb=1024, max_processes=16,
                           max_open_files=64, max_file_mb=8, scratch_mb=32)
    with PythonTool(open_workbook(xlsx), limits=limits) as tool:
        result = tool({"code": "print('hi')\ndf = pd.DataFrame({'a': [1]})\n41 + 1"})
    check_keys(result.payload, payloads.PythonPayload)
    python = payloads.python_payload(result)
    assert python is not None and python["stdout"] == "hi\n" and python["value"] == 42
    assert isinstance(python["frames"]["df"], pd.DataFrame)
    assert payloads.sql_payload(result) is None


def test_mypy_rejects_a_misspelt_key(tmp_path: Path) -> None:
    import mypy.api as mypy_api  # a dev dependency: the suite always has it
    source = tmp_path / "consumer.py"
    source.write_text(textwrap.dedent("""
        from tools.base import ToolResult
        from tools.payloads import sql_payload

        def rows(result: ToolResult) -> int:
            sql = sql_payload(result)
            return sql["total_row"] if sql else 0
    """))
    root = Path(__file__).resolve().parents[2]
    out, _, status = mypy_api.run([str(source), "--config-file", str(root / "pyproject.toml")])
    assert status == 1 and 'TypedDict "SqlPayload" has no key "total_row"' in out, out

"""The python tool's behaviour: values, prints, frames, figures, errors with hints, refresh.

Runs the real sandbox (bubblewrap); skipped only where the sandbox cannot start on the machine.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from table_io.model import Sheet, Table, Workbook
from tools.python import PythonTool
from tools.sandbox import SandboxLimits, launcher

AVAILABLE, REASON = PythonTool.check_available()
needs_sandbox = pytest.mark.skipif(not AVAILABLE, reason=f"sandbox cannot start here: {REASON}")

LIMITS = SandboxLimits(cpu_s=2, wall_s=20, memory_mb=1024, max_processes=16,
                       max_open_files=64, max_file_mb=8, scratch_mb=32)


def make_workbook(frames: dict[str, pd.DataFrame], sheet: str = "Sheet1") -> Workbook:
    tables = [Table(name=name, sheet=sheet, range="A1", header_rows=[1], columns=list(frame.columns),
                    frame=frame) for name, frame in frames.items()]
    return Workbook(source="test.xlsx", format="xlsx",
                    sheets=[Sheet(name=sheet, table_names=list(frames))], tables=tables)


SALES = pd.DataFrame({"region": ["North", "South", "North", "East"],
                      "revenue": [120.0, 80.5, 99.5, 40.0], "units": [3, 2, 5, 1]})


@pytest.fixture(scope="module")
def tool():
    wb = make_workbook({"sales": SALES.copy(), "costs": pd.DataFrame({"region": ["North"], "cost": [10]})})
    with PythonTool(wb, limits=LIMITS) as t:
        yield t


def test_spec_tells_the_model_what_it_gets():
    spec = PythonTool.spec()["function"]
    assert spec["name"] == "python"
    assert set(spec["parameters"]["properties"]) == {"code"}
    text = spec["description"]
    for phrase in ("DataFrame", "`tables`", "`pd`", "`np`", "last expression", "print()", "no network", "/scratch"):
        assert phrase in text


@needs_sandbox
def test_last_expression_value_is_returned_typed(tool):
    result = tool({"code": "sales['revenue'].sum()"})
    assert result.ok, result.observation
    assert result.payload["value"] == pytest.approx(340.0)
    assert "340.0" in result.observation
    assert "sales" in result.tables


@needs_sandbox
def test_none_is_not_shown_as_a_value(tool):
    result = tool({"code": "sales.info()"})
    assert result.ok and result.payload["value"] is None
    assert "value" not in result.observation and "revenue" in result.payload["stdout"]


@needs_sandbox
def test_print_output_comes_back_and_is_truncated(tool):
    result = tool({"code": "print('hello')\nprint('x' * 20000)"})
    assert result.ok
    assert result.payload["stdout"].startswith("hello")
    assert len(result.payload["stdout"]) < LIMITS.stdout_chars + 100
    assert "more characters cut" in result.payload["stdout"]


@needs_sandbox
def test_tables_are_dataframes_by_name_and_in_dict(tool):
    result = tool({"code": "(type(sales).__name__, sorted(tables), tables['costs'].shape, pd.__name__, np.__name__)"})
    assert result.payload["value"] == ["DataFrame", ["costs", "sales"], [1, 2], "pandas", "numpy"]


@needs_sandbox
def test_dataframe_value_comes_back_as_frame_with_shape(tool):
    result = tool({"code": "sales.groupby('region')['revenue'].sum().sort_index()"})
    assert result.ok
    value = result.payload["value"]
    assert isinstance(value, pd.DataFrame)
    assert value["revenue"].to_dict() == {"East": 40.0, "North": 219.5, "South": 80.5}
    assert "3 rows x 1 columns" in result.observation


@needs_sandbox
def test_new_and_changed_frames_come_back_but_workbook_is_unchanged(tool):
    result = tool({"code": "big = sales[sales['revenue'] > 90]\nsales.loc[0, 'units'] = 99"})
    assert result.ok, result.observation
    frames = result.payload["frames"]
    assert set(frames) == {"big", "sales"}
    assert list(frames["big"]["revenue"]) == [120.0, 99.5]
    assert frames["sales"].loc[0, "units"] == 99
    assert tool._workbook.table("sales").frame.loc[0, "units"] == 3  # the host copy is untouched
    again = tool({"code": "x = 1"})
    assert again.payload["frames"] == {}  # unchanged frames are not sent again
    tool({"code": "sales = tables['sales'].copy()"})


@needs_sandbox
def test_variables_persist_between_calls(tool):
    assert tool({"code": "threshold = 100"}).ok
    result = tool({"code": "int((sales['revenue'] > threshold).sum())"})
    assert result.payload["value"] == 1


@needs_sandbox
def test_matplotlib_figures_come_back_as_png(tool):
    code = "import matplotlib.pyplot as plt\nsales.plot.bar(x='region', y='revenue')\nplt.title('Revenue')"
    result = tool({"code": code})
    assert result.ok, result.observation
    assert len(result.payload["figures"]) == 1
    assert result.payload["figures"][0].startswith(b"\x89PNG")
    assert tool({"code": "1"}).payload["figures"] == []  # figures are closed after each call


@needs_sandbox
def test_wrong_column_names_the_real_ones(tool):
    result = tool({"code": "total = 0\nsales['Revenu'].sum()"})
    assert result.error is not None and result.error.kind == "code"
    assert "KeyError" in result.error.message
    assert result.error.location == "line 2: sales['Revenu'].sum()"
    assert "'revenue'" in (result.error.hint or "") and "units" in (result.error.hint or "")


@needs_sandbox
def test_attribute_and_name_errors_have_hints(tool):
    attr = tool({"code": "sales.revenu.mean()"})
    assert attr.error is not None and "revenue" in (attr.error.hint or "")
    name = tool({"code": "sale.head()"})
    assert name.error is not None and "sales" in (name.error.hint or "")
    syntax = tool({"code": "x = (1,\ny = 2"})
    assert syntax.error is not None and syntax.error.message.startswith("SyntaxError")


@needs_sandbox
def test_import_of_a_missing_package_says_what_is_available(tool):
    result = tool({"code": "import no_such_package_xyz"})
    assert result.error is not None
    assert "pandas" in (result.error.hint or "")


@needs_sandbox
def test_stdout_before_an_error_is_kept(tool):
    result = tool({"code": "print('step 1')\n1/0"})
    assert result.error is not None and "ZeroDivisionError" in result.error.message
    assert "step 1" in result.observation


@needs_sandbox
def test_refresh_loads_the_new_workbook_version():
    wb = make_workbook({"t": pd.DataFrame({"a": [1, 2]})})
    with PythonTool(wb, limits=LIMITS) as tool:
        assert tool({"code": "int(t['a'].sum())"}).payload["value"] == 3
        tool.refresh(make_workbook({"t": pd.DataFrame({"a": [1, 2, 3]})}))
        after = tool({"code": "int(t['a'].sum())"})
        assert after.payload["value"] == 6
        assert "tables were reloaded" in after.observation


@needs_sandbox
def test_mixed_type_cells_still_load():
    wb = make_workbook({"t": pd.DataFrame({"a": [1, "two", 3.5, None]}, dtype=object)})
    with PythonTool(wb, limits=LIMITS) as tool:
        result = tool({"code": "t['a'].tolist()"})
        assert result.ok, result.observation
        assert result.payload["value"] == ["1", "two", "3.5", None]


@needs_sandbox
def test_close_kills_the_worker_and_removes_the_tables():
    tool = PythonTool(make_workbook({"t": pd.DataFrame({"a": [1]})}), limits=LIMITS)
    tool.start()  # warm before the first call
    first = tool({"code": "int(t['a'].sum())"})
    assert first.ok and first.payload["value"] == 1 and "restarted" not in first.observation
    assert tool._worker is not None and tool._layout is not None
    proc, folder = tool._worker.proc, tool._layout.root
    tool.close()
    assert proc.poll() is not None
    assert not folder.exists()


@needs_sandbox
def test_garbage_collection_kills_the_worker():
    import gc

    tool = PythonTool(make_workbook({"t": pd.DataFrame({"a": [1]})}), limits=LIMITS)
    assert tool({"code": "1"}).ok
    assert tool._worker is not None
    proc = tool._worker.proc
    del tool
    gc.collect()
    assert proc.poll() is not None


def test_seccomp_program_shape():
    from tools.sandbox import seccomp

    for machine in ("x86_64", "aarch64"):
        program = seccomp.build(machine)
        assert program is not None and len(program) % 8 == 0 and len(program) >= 8 * 10
    assert seccomp.build("sparc64") is None


def test_fails_closed_without_bubblewrap(tmp_path, monkeypatch):
    sentinel = tmp_path / "ran-unsandboxed"
    monkeypatch.setenv("TABLEPILOT_BWRAP", str(tmp_path / "no-such-bwrap"))
    launcher.probe.cache_clear()
    try:
        ok, reason = PythonTool.check_available()
        assert not ok and "bubblewrap" in reason
        with PythonTool(make_workbook({"t": SALES})) as tool:
            result = tool({"code": f"open({str(sentinel)!r}, 'w').write('x')"})
        assert result.error is not None and result.error.kind == "unavailable"
        assert "disabled" in result.error.message
        assert not sentinel.exists()
    finally:
        monkeypatch.delenv("TABLEPILOT_BWRAP")
        launcher.probe.cache_clear()


def test_fails_closed_when_namespaces_are_refused(monkeypatch):
    """A bwrap that cannot create namespaces (as on a locked-down host) disables the tool."""
    folder = Path(tempfile.mkdtemp(prefix="fake-bwrap-"))
    folder.chmod(0o755)  # as root the launcher drops to uid 65534 before starting bwrap
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TABLEPILOT_BWRAP", str(fake))
    launcher.probe.cache_clear()
    try:
        ok, reason = PythonTool.check_available()
        assert not ok and "No permissions to create new namespace" in reason
        with PythonTool(make_workbook({"t": SALES})) as tool:
            result = tool({"code": "1"})
        assert result.error is not None and result.error.kind == "unavailable"
    finally:
        monkeypatch.delenv("TABLEPILOT_BWRAP")
        launcher.probe.cache_clear()
        shutil.rmtree(folder)


def test_as_langchain_tool_returns_the_observation():
    with PythonTool(make_workbook({"sales": SALES})) as tool:
        lc = tool.as_langchain()
        assert lc.name == "python"
        if AVAILABLE:
            assert "340" in lc.invoke({"code": "sales['revenue'].sum()"})
        else:
            assert "unavailable" in lc.invoke({"code": "1"})

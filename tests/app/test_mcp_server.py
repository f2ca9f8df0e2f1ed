"""`tablepilot mcp` driven by the MCP SDK's own client: over stdio (a subprocess), over streamable
HTTP on loopback (a subprocess on a free port), and in-process for `ask` with a scripted model."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import openpyxl
import pytest

pytest.importorskip("mcp", reason="the MCP SDK is the optional extra tablepilot[mcp]")

from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from app.mcp_server import Config, PathRefused, Roots, build_server
from table_io import open_workbook
from tools.python import PythonTool
from tools.sql import SqlTool

REPO = Path(__file__).resolve().parents[2]
SECRET = "tp-mcp-test-secret-4711"


def messy_workbook(path: Path) -> Path:
    """A title row, a two-row merged header, three data rows and a total row."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sales"
    ws["A1"] = "Quarterly sales report 2024"
    ws["A2"] = "Region"
    ws.merge_cells("A2:A3")
    ws["B2"] = "Revenue"
    ws.merge_cells("B2:C2")
    ws["B3"], ws["C3"] = "Q1", "Q2"
    for r, row in enumerate([("North", 10, 12), ("South", 7, 9), ("East", 5, 11)], start=4):
        for c, value in enumerate(row, start=1):
            ws.cell(r, c, value)
    ws["A7"], ws["B7"], ws["C7"] = "Total", "=SUM(B4:B6)", "=SUM(C4:C6)"
    wb.save(path)
    return path


def make_folders(tmp_path: Path) -> dict[str, Path]:
    """root/book.xlsx, outside/secret.xlsx, and root/link.xlsx pointing at the secret."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    messy_workbook(root / "book.xlsx")
    messy_workbook(outside / "secret.xlsx")
    (root / "link.xlsx").symlink_to(outside / "secret.xlsx")
    return {"root": root, "outside": outside, "tmp": tmp_path}


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    return make_folders(tmp_path)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text(result: Any, part: str = "content") -> str:
    """The text of a tool result (or, with part="contents", of a resource)."""
    return "\n".join(getattr(c, "text", "") for c in getattr(result, part))


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, text(result)
    data: dict[str, Any] = result.structured_content or json.loads(text(result))
    return data


async def refused(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, text(result)
    return text(result)


# ---------------------------------------------------------------- stdio: the whole flow


@asynccontextmanager
async def stdio_session(root: Path, errlog: Path) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "app.cli", "mcp", "--root", str(root)],
        cwd=str(REPO), env={"MCP_SECRET_MARKER": SECRET, "PYTHONPATH": str(REPO)})
    with errlog.open("w") as log:
        async with stdio_client(params, errlog=log) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            yield session


def test_stdio_open_query_edit_undo_redo_save(folders: dict[str, Path]) -> None:
    root, book = folders["root"], folders["root"] / "book.xlsx"
    before = digest(book)

    async def scenario() -> None:
        async with stdio_session(root, folders["tmp"] / "stdio.log") as s:
            names = {t.name for t in (await s.list_tools()).tools}
            assert names >= {"open_workbook", "query", "run_python", "edit", "versions", "undo",
                             "redo", "diff", "save_as", "ask"}

            opened = await call(s, "open_workbook", path="book.xlsx")
            wid = opened["workbook"]
            (table,) = opened["sheets"][0]["tables"]
            assert table["name"] == "sales" and table["title"] == "Quarterly sales report 2024"
            assert table["header_rows"] == [2, 3] and table["total_rows"] == [7]
            assert [c["name"] for c in table["columns"]] == ["Region", "Revenue Q1", "Revenue Q2"]
            assert (await call(s, "open_workbook", path=str(book)))["workbook"] == wid

            got = await call(s, "query", workbook=wid,
                             sql='SELECT SUM("Revenue Q1") AS q1 FROM sales')
            assert got["rows"] == [[22]]  # the total row is kept out of the data

            edited = await call(s, "edit", workbook=wid, actions=[
                {"action": "write", "sheet": "Sales", "range": "D3", "values": "Both"},
                {"action": "formula", "sheet": "Sales", "range": "D4:D6", "formula": "=B4+C4"}])
            assert edited["version"] == 1
            assert {"sheet": "Sales", "cell": "D4", "kind": "formula", "before": None,
                    "after": "=B4+C4", "recomputed": False} in edited["changes"]
            assert edited["summaries"] == ["Write 'Both' in Sales!D3",
                                           "Fill Sales!D4:D6 with =B4+C4 (copied down)"]
            got = await call(s, "query", workbook=wid, sql="SELECT * FROM sales")
            assert "North" in got["result"] and 22 in [v for row in got["rows"] for v in row]
            sorted_ = await call(s, "edit", workbook=wid, actions=[
                {"action": "sort", "sheet": "Sales", "range": "A4:D6", "by": ["B"],
                 "header": False}])
            assert sorted_["version"] == 2
            assert (await call(s, "undo", workbook=wid))["version"] == 1
            assert (await call(s, "undo", workbook=wid))["version"] == 0
            assert "nothing to undo" in await refused(s, "undo", workbook=wid)
            assert (await call(s, "redo", workbook=wid))["version"] == 1
            listed = await call(s, "versions", workbook=wid)
            assert [v["n"] for v in listed["versions"]] == [0, 1, 2] and listed["version"] == 1
            changed = await call(s, "diff", workbook=wid)
            assert changed["a"] == 0 and changed["b"] == 1 and changed["changes_total"] >= 4
            assert "no version 9" in await refused(s, "diff", workbook=wid, a=0, b=9)
            between = await call(s, "diff", workbook=wid, a=1, b=2)  # the sort, still kept
            assert between["changes_total"] > 0

            saved = await call(s, "save_as", workbook=wid, path="result.xlsx")
            assert Path(saved["path"]) == (root / "result.xlsx").resolve()
            assert "already exists" in await refused(s, "save_as", workbook=wid,
                                                     path="result.xlsx")
            assert (await call(s, "save_as", workbook=wid, path="result.xlsx",
                               overwrite=True))["version"] == 1
            for original in ("book.xlsx", str(book), "./sub/../book.xlsx"):
                assert "original" in await refused(s, "save_as", workbook=wid, path=original,
                                                   overwrite=True)

            # resources: the schema and TAP's packed view of each table
            uris = opened["resources"]["sales"]
            schema = text(await s.read_resource(uris["schema"]), "contents")
            assert json.loads(schema)["columns"][0]["name"] == "Region"
            assert "North" in text(await s.read_resource(uris["view"]), "contents")

            # the user's mistakes: clear messages
            assert "unknown workbook id 'nope'" in await refused(s, "query", workbook="nope",
                                                                  sql="SELECT 1")
            assert "no such file" in await refused(s, "open_workbook", path="missing.xlsx")

    anyio.run(scenario)
    saved = openpyxl.load_workbook(root / "result.xlsx")
    assert saved["Sales"]["D3"].value == "Both" and saved["Sales"]["D4"].value == "=B4+C4"
    assert saved["Sales"]["A4"].value == "North"  # version 1: before the sort
    assert digest(book) == before  # the original is never written
    assert openpyxl.load_workbook(book)["Sales"]["D4"].value is None


# ---------------------------------------------------------------- HTTP: concurrent clients


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path]]]:
    """One server for the HTTP tests (started once: each start costs seconds)."""
    folders = make_folders(tmp_path_factory.mktemp("http"))
    port = free_port()
    log = (folders["tmp"] / "http.log").open("w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TABLEPILOT_")}
    env["MCP_SECRET_MARKER"] = SECRET
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "mcp", "--root", str(folders["root"]), "--http",
         "--port", str(port)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        env=env)
    try:
        deadline = time.monotonic() + 60
        while True:  # ready when the port accepts a connection (bounded)
            assert process.poll() is None, (folders["tmp"] / "http.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the HTTP server did not start in 60 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp", folders
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


def test_http_concurrent_clients_lose_no_edit(http_server: tuple[str, dict[str, Path]]) -> None:
    url, folders = http_server
    edits = 3

    async def client(name: str, column: str, ids: list[str]) -> None:
        async with http_session(url) as s:
            wid = (await call(s, "open_workbook", path="book.xlsx"))["workbook"]
            ids.append(wid)
            for i in range(edits):
                await call(s, "edit", workbook=wid, actions=[
                    {"action": "write", "sheet": "Sales", "range": f"{column}{10 + i}",
                     "values": f"{name}-{i}"}])

    async def scenario() -> None:
        ids: list[str] = []
        async with anyio.create_task_group() as group:
            group.start_soon(client, "a", "F", ids)
            group.start_soon(client, "b", "G", ids)
        assert len(set(ids)) == 1  # one workbook, one history, shared
        async with http_session(url) as s:
            listed = await call(s, "versions", workbook=ids[0])
            assert listed["version"] == 2 * edits and len(listed["versions"]) == 2 * edits + 1
            await call(s, "save_as", workbook=ids[0], path="both.xlsx")
            assert "outside the folders" in await refused(s, "open_workbook", path="link.xlsx")

    anyio.run(scenario)
    sheet = openpyxl.load_workbook(folders["root"] / "both.xlsx")["Sales"]
    for i in range(edits):
        assert sheet[f"F{10 + i}"].value == f"a-{i}" and sheet[f"G{10 + i}"].value == f"b-{i}"


def test_http_confinement_and_hostile_input(http_server: tuple[str, dict[str, Path]]) -> None:
    url, folders = http_server
    root, outside = folders["root"], folders["outside"]
    secret = outside / "secret.xlsx"
    clean = messy_workbook(root / "clean.xlsx")  # the other HTTP test edits book.xlsx
    before = digest(secret)
    hostile_sql = ["COPY sales TO '/tmp/stolen.csv'",
                   "SELECT * FROM read_text('/etc/passwd')",
                   "SELECT getenv('MCP_SECRET_MARKER')"]
    inside = SqlTool(open_workbook(clean))
    expected = {q: inside({"query": q}).observation for q in hostile_sql}
    inside.close()
    steal = "open('/etc/passwd').read()"
    with PythonTool(open_workbook(clean)) as sandbox:
        passwd = sandbox({"code": steal}).observation
    assert "FileNotFoundError" in passwd and "hint:" in passwd

    async def scenario() -> None:
        async with http_session(url) as s:
            for path in (str(secret), "link.xlsx", "../outside/secret.xlsx",
                         str(root / ".." / "outside" / "secret.xlsx"), "/etc/passwd"):
                assert "outside the folders" in await refused(s, "open_workbook", path=path)
            wid = (await call(s, "open_workbook", path="clean.xlsx"))["workbook"]
            for path in (str(outside / "copy.xlsx"), "../outside/copy.xlsx", "link.xlsx"):
                message = await refused(s, "save_as", workbook=wid, path=path, overwrite=True)
                assert "outside the folders" in message
            assert "format" in await refused(s, "save_as", workbook=wid, path="x.csv")

            for query, observation in expected.items():
                message = await refused(s, "query", workbook=wid, sql=query)
                assert observation in message  # the very text and hint the model gets inside

            assert passwd in await refused(s, "run_python", workbook=wid, code=steal)
            env = await call(s, "run_python", workbook=wid, code="import os; dict(os.environ)")
            assert SECRET not in env["value"] and str(REPO) not in env["value"]
            assert "'HOME': '/scratch'" in env["value"]  # the sandbox's own, empty environment
            fine = await call(s, "run_python", workbook=wid, code="int(sales['Revenue Q1'].sum())")
            assert fine["value"] == "22"

    anyio.run(scenario)
    assert digest(secret) == before and not (outside / "copy.xlsx").exists()
    assert not Path("/tmp/stolen.csv").exists()


# ---------------------------------------------------------------- in-process: ask, roots


def in_process(config: Config) -> Any:
    from mcp import Client

    return Client(build_server(config))


def test_ask_runs_tablepilots_agent_or_says_how_to_configure(folders: dict[str, Path]) -> None:
    from agent.core import TableAgent
    from agent.models.scripted import ScriptedChatModel, tool_call

    model = ScriptedChatModel([
        tool_call("sql", query='SELECT SUM("Revenue Q2") AS q2 FROM sales'),
        tool_call("final_answer", answer=32)])
    agent = TableAgent(model, python=False, informer=False)

    async def scenario() -> None:
        async with in_process(Config(roots=[folders["root"]], agent=agent,
                                     state_dir=folders["tmp"] / "state")) as c:
            wid = (await c.call_tool("open_workbook", {"path": "book.xlsx"})).structured_content
            answer = await c.call_tool("ask", {"workbook": wid["workbook"],
                                               "question": "Total Q2 revenue?"})
            assert not answer.is_error, text(answer)
            assert answer.structured_content["value"] == 32
            assert answer.structured_content["steps"][0]["tool"] == "sql"
        async with in_process(Config(roots=[folders["root"]],
                                     state_dir=folders["tmp"] / "state2")) as c:
            wid = (await c.call_tool("open_workbook", {"path": "book.xlsx"})).structured_content
            result = await c.call_tool("ask", {"workbook": wid["workbook"], "question": "?"})
            assert result.is_error and "--base-url" in text(result)
            assert "TABLEPILOT_BASE_URL" in text(result)

    anyio.run(scenario)


def test_roots_resolve_symlinks_and_keep_the_state_folder_private(tmp_path: Path) -> None:
    root = tmp_path / "root"
    state = root / ".state"
    state.mkdir(parents=True)
    (state / "journal.json").write_text("{}")
    (root / "ok.csv").write_text("a\n1\n")
    (root / "up").symlink_to(tmp_path)
    roots = Roots([root], private=[state])
    assert roots.readable("ok.csv") == (root / "ok.csv").resolve()
    for path in (".state/journal.json", str(state / "journal.json"), "up/root/../x.csv",
                 "../x.csv", "", "a\x00b"):
        with pytest.raises(PathRefused):
            roots.resolve(path)
    with pytest.raises(PathRefused, match="original"):
        roots.writable("ok.csv", overwrite=True, protected=[(root / "ok.csv").resolve()])
    (root / "hard.csv").hardlink_to(root / "ok.csv")
    with pytest.raises(PathRefused, match="original"):
        roots.writable("hard.csv", overwrite=True, protected=[(root / "ok.csv").resolve()])


def test_servers_sharing_a_state_folder_share_the_history(folders: dict[str, Path]) -> None:
    """Two servers (as two desktop clients would start) over one --state-dir: each sees the
    other's versions before it acts, so neither writes over the other's edit."""
    state = folders["tmp"] / "state"
    write = {"action": "write", "sheet": "Sales", "range": "F1"}

    async def scenario() -> None:
        async with in_process(Config(roots=[folders["root"]], state_dir=state)) as a, \
                in_process(Config(roots=[folders["root"]], state_dir=state)) as b:
            wid = (await a.call_tool("open_workbook", {"path": "book.xlsx"})).structured_content
            await b.call_tool("open_workbook", {"path": "book.xlsx"})
            book = wid["workbook"]
            first = await a.call_tool("edit", {"workbook": book, "actions": [{**write, "values": "a"}]})
            second = await b.call_tool("edit", {"workbook": book, "actions": [
                {**write, "range": "G1", "values": "b"}]})
            assert not first.is_error and not second.is_error, text(second)
            assert second.structured_content["version"] == 2
            listed = (await a.call_tool("versions", {"workbook": book})).structured_content
            assert listed["version"] == 2 and len(listed["versions"]) == 3
            undone = (await a.call_tool("undo", {"workbook": book})).structured_content
            assert undone["version"] == 1
            await a.call_tool("save_as", {"workbook": book, "path": "shared.xlsx"})

    anyio.run(scenario)
    sheet = openpyxl.load_workbook(folders["root"] / "shared.xlsx")["Sales"]
    assert sheet["F1"].value == "a" and sheet["G1"].value is None


def test_a_file_changed_on_disk_starts_a_new_history(folders: dict[str, Path]) -> None:
    book = folders["root"] / "book.xlsx"

    async def scenario() -> None:
        async with in_process(Config(roots=[folders["root"]],
                                     state_dir=folders["tmp"] / "state")) as c:
            wid = (await c.call_tool("open_workbook", {"path": "book.xlsx"})).structured_content
            await c.call_tool("edit", {"workbook": wid["workbook"], "actions": [
                {"action": "write", "sheet": "Sales", "range": "F1", "values": "x"}]})
            wb = openpyxl.load_workbook(book)
            wb["Sales"]["A4"] = "Nord"
            wb.save(book)  # the person saves the file in Excel meanwhile
            again = (await c.call_tool("open_workbook", {"path": "book.xlsx"})).structured_content
            assert again["workbook"] == wid["workbook"] and again["version"] == 0
            assert "changed on disk" in again["warnings"][0]
            got = (await c.call_tool("query", {"workbook": wid["workbook"],
                                               "sql": "SELECT Region FROM sales LIMIT 1"}))
            assert got.structured_content["rows"] == [["Nord"]]

    anyio.run(scenario)

"""The ask/chat/batch/serve commands, against a scripted OpenAI-compatible server on 127.0.0.1
(the same client path as vLLM: ChatOpenAI with native tool calls)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from app.cli import main


class FakeOpenAI:
    """Replies to /v1/chat/completions from a script keyed by what the request holds."""

    def __init__(self, respond: Any) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                message = owner.respond(body)
                self._send({"id": "x", "object": "chat.completion", "created": 0,
                            "model": body.get("model", "fake-model"),
                            "choices": [{"index": 0, "message": message,
                                         "finish_reason": "tool_calls" if message.get("tool_calls") else "stop"}],
                            "usage": {"prompt_tokens": 100, "completion_tokens": 10,
                                      "total_tokens": 110}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def call(name: str, **args: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": f"call_{name}", "type": "function",
         "function": {"name": name, "arguments": json.dumps(args)}}]}


def sql_then_answer(body: dict[str, Any]) -> dict[str, Any]:
    last = body["messages"][-1]
    if last["role"] == "tool":
        return call("final_answer", answer="")
    question = str(last["content"]).rsplit("Question: ", 1)[-1].lower()
    if "rows" in question:
        return call("sql", query="SELECT COUNT(*) AS n FROM sales")
    if "column" in question:
        return call("sheet", actions=[{"action": "write", "sheet": "Sales", "range": "E1",
                                       "values": "Note"}])
    return {"role": "assistant", "content": "Final answer: 7"}


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI(sql_then_answer)
    monkeypatch.setenv("TABLEPILOT_BASE_URL", fake.url)
    monkeypatch.setenv("TABLEPILOT_MODEL", "fake-model")
    yield fake
    fake.server.shutdown()


def test_ask_against_an_openai_compatible_server(server: FakeOpenAI, sales_xlsx: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", str(sales_xlsx), "How many rows?", "--no-python"]) == 0
    out = capsys.readouterr().out
    assert "6" in out and "fake-model" in out and "SELECT COUNT(*)" in out
    request = server.requests[0]
    assert {t["function"]["name"] for t in request["tools"]} >= {"sql", "final_answer"}
    assert main(["ask", str(sales_xlsx), "How many rows?", "--json", "--no-python"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["value"] == 6 and data["model"] == "fake-model" and data["steps"][0]["tool"] == "sql"


def test_batch_command_resumes(server: FakeOpenAI, sales_xlsx: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"id": f"q{i}", "source": sales_xlsx.name,
                                         "question": "How many rows?"}) + "\n"
                             for i in range(5)))
    out = tmp_path / "out.jsonl"
    args = ["batch", str(items), "--out", str(out), "-c", "3", "--no-progress", "--no-python"]
    assert main(args) == 0
    assert "5 answered" in capsys.readouterr().out
    assert main(args) == 0
    assert "0 answered" in capsys.readouterr().out
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 5 and all(r["answer"]["value"] == 6 for r in lines)


def test_chat_command_edits_and_undoes(server: FakeOpenAI, sales_xlsx: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import build_parser
    from app.commands import chat

    args = build_parser().parse_args(["chat", str(sales_xlsx), "--workdir", str(tmp_path / "w"),
                                      "--no-python"])
    saved, early = tmp_path / "saved.xlsx", tmp_path / "early.xlsx"
    # as in the app, an edit is a proposal until /apply
    lines = iter(["Add a Note column", f"/save {early}", "/apply", f"/save {saved}", "/undo",
                  "/quit"])
    assert chat.run(args, input_fn=lambda prompt: next(lines)) == 0
    out = capsys.readouterr().out
    assert "pending edit" in out and "applied: version 1" in out and "now at version 0" in out, out
    assert "Proposed (apply or discard it):" in out and "- Write 'Note' in Sales!E1" in out, out
    assert out.index("- Write 'Note'") < out.index("pending edit"), "the words come first"
    assert openpyxl.load_workbook(early)["Sales"]["E1"].value != "Note"
    assert openpyxl.load_workbook(saved)["Sales"]["E1"].value == "Note"


def test_chat_can_apply_edits_at_once(server: FakeOpenAI, sales_xlsx: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli import build_parser
    from app.commands import chat

    args = build_parser().parse_args(["chat", str(sales_xlsx), "--workdir", str(tmp_path / "w"),
                                      "--no-python", "--apply-at-once"])
    saved = tmp_path / "saved.xlsx"
    lines = iter(["Add a Note column", f"/save {saved}", "/quit"])
    assert chat.run(args, input_fn=lambda prompt: next(lines)) == 0
    assert "workbook version 1" in capsys.readouterr().out
    assert openpyxl.load_workbook(saved)["Sales"]["E1"].value == "Note"


def test_server_down_gives_a_clear_status(monkeypatch: pytest.MonkeyPatch, sales_xlsx: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("TABLEPILOT_BASE_URL", f"http://127.0.0.1:{port}/v1")
    monkeypatch.setenv("TABLEPILOT_MODEL", "nobody")
    monkeypatch.setattr("agent.context.Limits.model_retries", 1)
    assert main(["ask", str(sales_xlsx), "How many rows?", "--no-python",
                 "--timeout", "20"]) == 1
    out = capsys.readouterr().out
    assert "status: error" in out and "Connection" in out


def test_serve_dry_run_and_missing_vllm(capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util
    import shutil

    assert main(["serve", "Qwen/Qwen2.5-7B-Instruct", "--dry-run", "-tp", "4", "--ray"]) == 0
    cmd = capsys.readouterr().out
    for flag in ("--enable-auto-tool-choice", "--tool-call-parser hermes",
                 "--enable-prefix-caching", "--max-model-len 16384",
                 "--tensor-parallel-size 4", "--distributed-executor-backend ray"):
        assert flag in cmd
    if shutil.which("vllm") is None and importlib.util.find_spec("vllm") is None:
        assert main(["serve", "some/model"]) == 2
        assert "vLLM is not installed" in capsys.readouterr().err


def test_batch_spreads_over_several_servers(sales_xlsx: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    servers = [FakeOpenAI(sql_then_answer), FakeOpenAI(sql_then_answer)]
    try:
        monkeypatch.setenv("TABLEPILOT_BASE_URL", ",".join(s.url for s in servers))
        monkeypatch.setenv("TABLEPILOT_MODEL", "fake-model")
        from agent import TableAgent

        agent = TableAgent(python=False)
        items = [{"id": i, "source": str(sales_xlsx), "question": "How many rows?"}
                 for i in range(6)]
        results = dict(agent.batch(items, concurrency=4, progress=False))
        assert all(a.value == 6 for a in results.values())
        assert "2 servers" in agent.model_name
        assert all(len(s.requests) >= 3 for s in servers), [len(s.requests) for s in servers]
    finally:
        for s in servers:
            s.server.shutdown()

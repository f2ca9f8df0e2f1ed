"""What the page remembers between reruns, and the work behind its buttons. No Streamlit here.

The page keeps one `AppState` in `st.session_state`; everything that touches files, models or the
agent lives in this module so it can be tested without a browser.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from app.guard import NO_KEY, ServerModel, public_url, redact, secret_values
from app.workdirs import heartbeat, new_session_folder, release
from table_io import Limits, open_workbook
from table_io.errors import LimitExceededError, UnsupportedFormatError

if TYPE_CHECKING:
    from agent import Answer, Session
    from agent.models.spec import ModelSpec
    from table_io import Workbook

FORMATS = ("xlsx", "xlsm", "xls", "ods", "csv", "tsv", "parquet")
EXAMPLES = Path(__file__).resolve().parent / "examples"
EXAMPLE_WORKBOOK = EXAMPLES / "sales_2025.xlsx"
# A model spec string (agent.models.spec) that fixes the model for every browser session;
# "scripted:<path to JSON>" drives the app with a fake model (demos, tests).
MODEL_ENV = "TABLEPILOT_APP_MODEL"

Backend = Literal["local", "server"]


# ---------------------------------------------------------------- model settings and status


@dataclass
class ModelSettings:
    """Which model answers: the local CPU model, or an OpenAI-compatible server (vLLM).

    These are what the browser chose and may see: `api_key` is only a key the person typed
    themselves. The server's own key stays in guard.ServerModel and goes only to its endpoint.
    """

    backend: Backend = "local"
    base_url: str = ""
    model_name: str = ""
    api_key: str = field(default="", repr=False)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ModelSettings:
        server = ServerModel.from_env(env)
        return cls(
            backend="server" if server.base_url else "local",
            base_url=server.display_url or "http://127.0.0.1:8000/v1",
            model_name=server.model_name,
        )

    def label(self) -> str:
        if self.backend == "server":
            return f"{self.model_name or '(server default)'} at {public_url(self.base_url)}"
        return f"local CPU model {local_model_name()}"

    def endpoint(self, server: ServerModel | None = None) -> tuple[str, str]:
        """(URL, key) to call: the server's key only for the server's own endpoint."""
        server = server or ServerModel.from_env()
        return server.endpoint(self.base_url), server.key_for(self.base_url, self.api_key)


@dataclass(frozen=True)
class ServerStatus:
    """``ok``: the server listed its models; ``reachable``: something answered at all (a server
    without /models, or one that wants another key, may still answer questions)."""

    ok: bool
    message: str
    models: tuple[str, ...] = ()
    reachable: bool = True


def check_server(base_url: str, *, timeout_s: float = 2.0, api_key: str = "") -> ServerStatus:
    """A quick GET {base_url}/models: is an OpenAI-compatible server there, and what does it serve?"""
    import httpx

    url = base_url.rstrip("/") + "/models"
    shown = public_url(url)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key and api_key != NO_KEY else {}
    try:
        response = httpx.get(url, timeout=timeout_s, headers=headers)
    except (httpx.HTTPError, ValueError) as exc:
        return ServerStatus(False, redact(f"cannot reach `{shown}`: {type(exc).__name__} ({exc})"),
                            reachable=False)
    if response.status_code != 200:
        return ServerStatus(False, f"`{shown}` answered HTTP {response.status_code}")
    try:
        names = tuple(redact(str(m.get("id"))) for m in response.json().get("data", []))
    except (ValueError, AttributeError):
        return ServerStatus(False, f"`{shown}` did not answer with an OpenAI-style model list")
    served = ", ".join(names) or "no models listed"
    return ServerStatus(True, f"server is up; serving: {served}", names)


def local_model_name() -> str:
    try:
        from agent.models.weights import default_model_name
    except ImportError:
        return "(unavailable)"
    return default_model_name()


def local_model_status() -> tuple[bool, str]:
    """Is the local CPU model on disk? The message says how to fetch it when it is not."""
    try:
        from agent.models.weights import is_fetched
    except ImportError:
        return False, "the local model support is not installed"
    name = local_model_name()
    if is_fetched(name):
        return True, f"{name} is ready"
    return False, f"{name} is not downloaded yet: run `python -m agent.models.weights fetch {name}`"


def injected_spec(env: dict[str, str] | None = None) -> ModelSpec | None:
    """The model spec TABLEPILOT_APP_MODEL names (None when unset); a ModelSpecError (a
    ValueError) names the problem and the accepted forms."""
    from agent.models.spec import parse_spec

    text = (os.environ if env is None else env).get(MODEL_ENV, "").strip()
    return parse_spec(text) if text else None


def injected_spec_or_none() -> ModelSpec | None:
    """``injected_spec()``, or None when TABLEPILOT_APP_MODEL is malformed (the chat's start
    shows that error; labels and defaults just fall back to the page's settings)."""
    try:
        return injected_spec()
    except ValueError:
        return None


def injected_model(env: dict[str, str] | None = None) -> Any | None:
    """The model TABLEPILOT_APP_MODEL names: a ScriptedChatModel for "scripted:<path>" (a JSON
    or YAML list of turns: a string, {"tool": name, "args": {...}}, or {"content": ...,
    "tool_calls": [...]}, see agent.models.scripted), else the ModelSpec for TableAgent."""
    from agent.models.spec import scripted_model

    spec = injected_spec(env)
    if spec is None or spec.kind != "scripted":
        return spec
    return scripted_model(spec)


def spec_label(spec: ModelSpec) -> str:
    """A model spec as the page shows it (server URLs without credentials)."""
    if spec.kind == "scripted":
        return f"scripted model ({spec.path.name if spec.path else ''})"
    if spec.kind == "openai":
        where = public_url(",".join(spec.urls)) if spec.urls else "the configured server"
        return f"{spec.name or '(server default)'} at {where}"
    return f"local CPU model {spec.name or local_model_name()}"


def agent_options(settings: ModelSettings, server: ServerModel | None = None) -> dict[str, Any]:
    """TableAgent's model arguments for these settings (an injected model wins). With
    TABLEPILOT_APP_LOCK_MODEL set the server's own settings are used, whatever was chosen."""
    injected = injected_model()
    if injected is not None:
        return {"model": injected}
    server = server or ServerModel.from_env()
    if server.locked:
        settings = ModelSettings.from_env()
    if settings.backend == "server":
        url, key = settings.endpoint(server)
        # An empty model name: the agent uses the first model the server lists.
        return {"base_url": url, "model_name": settings.model_name or None, "api_key": key}
    return {"local": True}


def error_text(exc: BaseException) -> str:
    """An error as the page shows it: the agent's own errors (AgentError: a bad model spec, a
    model server that failed) by their message, which says what to do; anything else with its
    type, which tells a bug from a user's mistake."""
    from agent.errors import AgentError

    return str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"


# ---------------------------------------------------------------- uploads


def upload_limits() -> Limits:
    return Limits()


def file_key(name: str, data: bytes) -> str:
    return name + ":" + hashlib.sha256(data).hexdigest()[:16]


def save_upload(name: str, data: bytes, folder: Path, *, limits: Limits | None = None) -> Path:
    """Check an upload's type and size, then keep a private copy of it (never written again)."""
    limits = limits or upload_limits()
    display = safe_file_name(name)
    suffix = Path(display).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise UnsupportedFormatError(
            f"unsupported file type {('.' + suffix) if suffix else '(none)'}; "
            f"tablepilot reads {', '.join('.' + f for f in FORMATS)}",
            source=display,
        )
    if len(data) > limits.max_file_bytes:
        raise LimitExceededError(
            f"the file is {len(data) / 2**20:.1f} MiB; the limit is "
            f"{limits.max_file_bytes / 2**20:.0f} MiB",
            source=display,
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / display
    if path.is_symlink() or path.exists():
        path.unlink()
    # O_EXCL | O_NOFOLLOW: a name planted in the folder (a link) is never followed
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    path.chmod(0o444)  # the original upload is never changed
    return path


MAX_NAME_CHARS = 120


def safe_file_name(name: str) -> str:
    """A browser's file name as one plain name: no folder part (either slash), no control or
    format characters, no leading dots, at most MAX_NAME_CHARS characters (suffix kept)."""
    base = re.split(r"[/\\]", name or "")[-1]
    base = "".join(c for c in base if unicodedata.category(c)[0] not in "CZ" or c == " ")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    suffix = suffix.strip()[:16]
    stem = stem.strip().lstrip(".").strip()[: MAX_NAME_CHARS - len(suffix) - 1].strip()
    stem = stem or "upload"
    return f"{stem}.{suffix}" if suffix else stem


# ---------------------------------------------------------------- the conversation


def redact_answer(answer: Answer) -> Answer:
    """An answer with any server secret in its text, steps or results replaced by [hidden]
    (the model never gets one; this holds even if a tool somewhere leaked one to it)."""
    import dataclasses

    secrets = secret_values()
    if not secrets:
        return answer

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return redact(value, secrets=secrets)
        if isinstance(value, list | tuple):
            return type(value)(scrub(v) for v in value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        return value

    steps = [dataclasses.replace(step, input=scrub(step.input), output=scrub(step.output),
                                 error=scrub(step.error), thought=scrub(step.thought),
                                 payload=scrub(step.payload)) for step in answer.steps]
    return dataclasses.replace(answer, text=scrub(answer.text), value=scrub(answer.value),
                               stop_reason=scrub(answer.stop_reason), steps=steps)


@dataclass
class Turn:
    """One question and what came back: an Answer, or the error that stopped it.

    ``proposed`` is the edit this turn proposed (the session's PendingEdit), if any, and
    ``outcome`` what the person did with it ("applied as version 2", "discarded"; "" while it
    waits, or when a later turn's proposal took it over).
    """

    question: str
    answer: Answer | None = None
    error: str | None = None
    proposed: Any | None = None
    outcome: str = ""
    version: int | None = None  # the workbook version the question was asked on


# The fields of AppState that belong to the open workbook: shelved together when another
# workbook is opened, and laid back when the person switches back to it.
WORKBOOK_FIELDS = ("source_key", "source_name", "upload_path", "overrides", "workbook", "session",
                   "model_desc", "session_error", "turns")
MAX_RECENT = 3


@dataclass
class Shelved:
    """A workbook opened earlier in this browser session, with its chat and versions."""

    key: str
    name: str
    fields: dict[str, Any]

    @property
    def questions(self) -> int:
        return len(self.fields.get("turns") or [])

    @property
    def version(self) -> int:
        session = self.fields.get("session")
        return session.version if session is not None else 0


@dataclass
class AppState:
    """Everything the page keeps for one browser session."""

    workdir: Path = field(default_factory=new_session_folder)
    settings: ModelSettings = field(default_factory=ModelSettings.from_env)
    effort: str = ""  # fast | balanced | thorough; "": the agent's default for its model
    source_key: str | None = None
    source_name: str = ""
    upload_path: Path | None = None
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    workbook: Workbook | None = None  # as first opened (with the person's corrections)
    session: Session | None = None
    model_desc: str = ""
    load_error: str | None = None
    session_error: str | None = None
    notice: str | None = None
    turns: list[Turn] = field(default_factory=list)
    loads: int = 0
    sessions: int = 0
    token: str = ""  # the registry's key for this state (the page's ?s=...)
    running: str | None = None  # the question being answered now: the chat box waits
    running_by: str = ""  # which page (browser tab) answers it: only that one runs it
    running_since: float = 0.0  # time.monotonic() when it was asked
    model_problem: str | None = None  # why the chosen model cannot answer now (the sidebar checks)
    asked_open: tuple[str, bytes] | None = field(default=None, repr=False)  # waits for a yes
    recent: list[Shelved] = field(default_factory=list)  # earlier workbooks, newest first
    _diffs: dict[tuple[int, int], list[Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # The browser session ends -> Streamlit drops this object -> its files go too.
        weakref.finalize(self, release, str(self.workdir))

    def touch(self) -> None:
        """This session is in use: the sweep of stale session folders keeps its folder."""
        heartbeat(self.workdir)

    # -- loading

    def load(self, name: str, data: bytes) -> bool:
        """Open an upload (or the example); on a user error keep its message and return False."""
        from table_io.errors import TableIOError

        key = file_key(name, data)
        if key == self.source_key:
            return self.load_error is None
        if any(shelved.key == key for shelved in self.recent):
            self.switch_to(key)
            return True
        self.shelve()
        self.reset()
        self.source_key, self.source_name = key, name
        self.loads += 1
        try:
            self.upload_path = save_upload(name, data, self.workdir / f"upload-{self.loads}")
            self.workbook = open_workbook(self.upload_path, limits=upload_limits())
            self.start_session()
        except TableIOError as exc:
            self.load_error = redact(str(exc))
        except Exception as exc:  # a reader bug must not become a traceback on the page
            self.load_error = redact(
                f"{safe_file_name(name)}: could not be read ({type(exc).__name__}: {exc})")
        if self.load_error:
            self.workbook = self.session = None
            return False
        return True

    def load_example(self) -> bool:
        return self.load(EXAMPLE_WORKBOOK.name, EXAMPLE_WORKBOOK.read_bytes())

    # -- opening another workbook: ask first, keep the earlier one reachable

    @property
    def made_versions(self) -> int:
        """How many versions the edits of the open workbook made (the original not counted)."""
        if self.session is None or not self.session.has_versions:
            return 0
        return max(0, len(self.session.versions.versions) - 1)

    def has_work(self) -> bool:
        """Whether opening another file would put away something the person made here."""
        return self.workbook is not None and bool(
            self.turns or self.made_versions or self.pending is not None)

    def request_open(self, name: str, data: bytes) -> bool:
        """Open a file now when nothing is at stake, else hold it until `confirm_open` (True
        when it was opened now)."""
        if file_key(name, data) == self.source_key:
            return self.load_error is None
        if self.has_work():
            self.asked_open = (name, data)
            return False
        return self.load(name, data)

    def open_question(self) -> str:
        """What the page asks before opening the held file."""
        if self.asked_open is None:
            return ""
        name = safe_file_name(self.asked_open[0])
        n = self.made_versions
        what = f"The current chat and its {n} version{'s' if n != 1 else ''}" if n else (
            "The current chat")
        return (f"Open {name}? {what} will be closed — download the current version first if "
                f"you need it. You can switch back to {safe_file_name(self.source_name)} under "
                "*Recent workbooks* in the sidebar.")

    def confirm_open(self) -> bool:
        """Open the held file (the current workbook goes to the recent list)."""
        if self.asked_open is None:
            return False
        name, data = self.asked_open
        self.asked_open = None
        return self.load(name, data)

    def keep_current(self) -> None:
        self.asked_open = None

    def shelve(self) -> None:
        """Put the open workbook (chat, versions, corrections) on the recent list."""
        if self.workbook is None or self.source_key is None:
            return
        fields = {name: getattr(self, name) for name in WORKBOOK_FIELDS}
        self.recent = [s for s in self.recent if s.key != self.source_key]
        self.recent.insert(0, Shelved(self.source_key, self.source_name, fields))
        del self.recent[MAX_RECENT:]

    def switch_to(self, key: str) -> bool:
        """Make a workbook of the recent list the open one again (the open one is shelved)."""
        target = next((s for s in self.recent if s.key == key), None)
        if target is None or self.running:
            return False
        self.recent.remove(target)
        self.shelve()
        self.reset()
        for name, value in target.fields.items():
            setattr(self, name, value)
        self.notice = f"Back to {safe_file_name(self.source_name)}"
        return True

    def reset(self) -> None:
        self.source_key = self.upload_path = self.workbook = self.session = None
        self.source_name, self.load_error, self.notice = "", None, None
        self.session_error = None
        self.overrides, self.turns = {}, []

    def start_session(self, source: Path | None = None) -> None:
        """A fresh chat session on the upload (or the corrected workbook), edits held for review."""
        from agent import TableAgent

        if self.upload_path is None or self.workbook is None:
            return
        self.sessions += 1
        work = self.workdir / f"session-{self.sessions}"
        self.session, self.session_error = None, None
        try:
            options = agent_options(self.settings)
            spec = injected_spec()
            self.model_desc = spec_label(spec) if spec else self.settings.label()
            agent = TableAgent(**options, effort=self.current_effort())
            self.session = agent.chat(source or self.chat_source(), auto_apply=False,
                                      workdir=work)
            self._session_overrides()
        except Exception as exc:  # the model or agent cannot start: the workbook stays shown
            self.session_error = redact(f"the chat cannot start: {error_text(exc)}")

    def chat_source(self) -> Path | Workbook:
        """What the chat starts on: the workbook as opened (so the file is not read twice),
        or the upload when corrections must be laid on a fresh read. The session reads any
        format itself and makes its editable .xlsx copy only at the first edit."""
        assert self.upload_path is not None
        if self.workbook is not None and not self.overrides:
            return self.workbook
        return self.upload_path

    def restart(self) -> None:
        """Start the chat again (new model settings); the loaded workbook stays."""
        if self.workbook is not None:
            edited = self.session is not None and self.version > 0
            source = self.session.workbook_path if edited and self.session else None
            self.turns = []
            self.start_session(source)

    def set_effort(self, name: str) -> None:
        """Effort for the next question (the chat and its versions stay)."""
        self.effort = name
        if self.session is not None:
            self.session.agent.effort = name

    def current_effort(self) -> str:
        """The effort the next question runs with: the one chosen, else the default for the
        model (the local CPU model's, or a served model's)."""
        from agent.effort import LOCAL_EFFORT, REMOTE_EFFORT

        if self.effort:
            return self.effort
        spec = injected_spec_or_none()
        local = spec.kind == "local" if spec else self.settings.backend == "local"
        return LOCAL_EFFORT if local else REMOTE_EFFORT

    def model_label(self) -> str:
        if self.model_desc:
            return self.model_desc
        spec = injected_spec_or_none()
        return spec_label(spec) if spec else self.settings.label()

    # -- corrections to what the detector found

    def correct_table(self, table: str, *, range: str | None = None,
                      header_rows: list[int] | None = None,
                      types: dict[str, str | None] | None = None,
                      csv: dict[str, str] | None = None) -> None:
        """Re-cut one table with a person's range and header rows, read some of its columns
        as they say (``types``: {column: kind of table_io.cell_types.COLUMN_KINDS, or None for
        as detected}), or read a CSV file with the delimiter and encoding they give (``csv``);
        table_io's overrides, added to the table's earlier correction.

        Raises table_io's OverrideError (a TableIOError) when the correction does not fit.
        """
        override: dict[str, Any] = {}
        if range:
            override["range"] = range.strip().upper()
        if header_rows is not None:
            override["header_rows"] = header_rows
        csv = {key: value for key, value in (csv or {}).items() if value}
        if csv:
            override["csv"] = csv
        if (not override and not types) or self.upload_path is None:
            return
        if self.session is not None:  # the session keeps it on every later version
            corrected = self.session.correct_table(table, range=range, header_rows=header_rows,
                                                   types=types, csv=csv or None)
            self.overrides = self.session.overrides
        else:
            overrides = with_types({**self.overrides, table: {**self.overrides.get(table, {}), **override}},
                                   table, types or {})
            corrected = open_workbook(self.upload_path, limits=upload_limits(),
                                      overrides=overrides)
            self.overrides = overrides
        if self.version == 0:
            self.workbook = corrected
        if csv and "range" not in override:
            self.notice = f"Table {table} re-read with {', '.join(f'{k} {v!r}' for k, v in csv.items())}"
        elif override:
            self.notice = f"Table {table} re-read as {override.get('range', 'before')}"
        else:
            read = ", ".join(f"{column} as {kind or 'detected'}" for column, kind in (types or {}).items())
            self.notice = f"Table {table} re-read: {read}"

    def _session_overrides(self) -> None:
        """Hand the corrections made so far to a new session."""
        from table_io.errors import TableIOError

        if not self.overrides or self.session is None:
            return
        try:
            self.session.set_overrides(self.overrides)
        except TableIOError as exc:
            self.overrides = {}
            self.notice = f"Your table corrections no longer fit this version and were dropped: {exc}"

    def _session_notices(self) -> list[str]:
        """What the session dropped (a correction that no longer fits a new version)."""
        if self.session is None:
            return []
        self.overrides = self.session.overrides
        return self.session.take_notices()

    def change_version(self, method: str) -> str:
        """apply_pending / discard_pending / undo / redo; a message for the person."""
        if self.session is None:
            return "open a workbook first"
        pending = self.pending
        try:
            getattr(self.session, method)()
        except Exception as exc:
            return redact(f"{method.replace('_', ' ')} failed: {exc}")
        if pending is not None and method in ("apply_pending", "discard_pending"):
            outcome = (f"applied as version {self.version}" if method == "apply_pending"
                       else "discarded")
            for turn in self.turns:
                if turn.proposed is pending:
                    turn.outcome = outcome
        done = {"apply_pending": "Applied", "discard_pending": "Discarded the proposed change",
                "undo": "Undone", "redo": "Redone"}[method]
        return " ".join([f"{done}: now at version {self.version}", *self._session_notices()])

    # -- asking

    def chat_blocked(self, page: str = "") -> str | None:
        """Why the chat box takes no question now (None: it does); ``page`` is the asking tab."""
        if self.running and page != self.running_by and (
                time.monotonic() - self.running_since > STALE_RUN_S):
            self.running, self.running_by = None, ""  # its tab went before it could start
        if self.running:
            where = "" if page == self.running_by else " (in another tab of this session)"
            return f"Working on “{shorten(self.running)}”{where}: the next question can be " \
                   "asked when the answer is in."
        if self.model_problem:
            return f"The model cannot answer now: {self.model_problem}"
        return None

    def queue(self, question: str, page: str = "") -> None:
        """A question was typed in ``page``: that page runs it on its next rerun, and every
        chat box of this state waits for it."""
        if question.strip() and not self.running:
            self.running, self.running_by = question, page
            self.running_since = time.monotonic()

    def ask(self, question: str, *, on_step: Any = None, on_text: Any = None) -> Turn:
        """Send a question; a failure is kept as the turn's error, never raised to the page.

        A run cut short by the page itself (a rerun or a closed tab stops the script with a
        BaseException) is kept as a turn that says so, and the chat box is free again."""
        turn = Turn(question, version=self.version)
        before = self.pending
        done = False
        try:
            if self.session is None:
                turn.error = "open a workbook first"
            else:
                try:
                    turn.answer = redact_answer(
                        self.session.send(question, on_step=on_step, on_text=on_text))
                except Exception as exc:  # the page shows it; the session stays usable
                    turn.error = redact(error_text(exc))
                self.notice = " ".join(self._session_notices()) or self.notice
            done = True
        finally:
            self.running, self.running_by = None, ""
            if not done:
                turn.error = "the run was stopped before it finished (the page was reloaded)"
            after = self.pending
            if after is not None and after is not before:
                turn.proposed = after
                for earlier in self.turns:  # a proposal that grew replaces the earlier one
                    if earlier.proposed is before and before is not None:
                        earlier.outcome = "merged into a later proposal"
            self.turns.append(turn)
        return turn

    def proposal_of(self, turn: Turn) -> Any | None:
        """The edit ``turn`` proposed while it still waits for apply or discard."""
        return turn.proposed if turn.proposed is not None and turn.proposed is self.pending else None

    # -- the workbook's versions

    @property
    def pending(self) -> Any | None:
        """The edit the model proposed, waiting for apply or discard (actions + changes)."""
        return self.session.pending if self.session else None

    @property
    def current_workbook(self) -> Workbook | None:
        return self.session.workbook if self.session else self.workbook

    @property
    def version(self) -> int:
        return self.session.version if self.session else 0

    @property
    def can_undo(self) -> bool:
        return bool(self.session and self.session.can_undo)

    @property
    def can_redo(self) -> bool:
        return bool(self.session and self.session.can_redo)

    def version_changes(self) -> list[Any]:
        """The cell changes that made the current version from the one it was made from."""
        if self.session is None or self.version == 0:
            return []
        store = self.session.versions
        key = (self.sessions, self.version)
        if key not in self._diffs:
            parent = store.versions[self.version]["parent"]
            self._diffs[key] = [] if parent is None else store.diff(parent, self.version)
        return self._diffs[key]

    def download_name(self) -> str:
        suffix = self.session.workbook_path.suffix if self.session else ".xlsx"
        stem = Path(safe_file_name(self.source_name)).stem or "workbook"
        return f"{stem}-v{self.version}{suffix}"

    # -- a chart of an answer, proposed as an edit

    def propose_chart(self, frame: Any, x: str, y: str, *, kind: ChartKind) -> str:
        """Propose writing ``frame``'s ``x`` and ``y`` columns to a new sheet with an Excel chart
        of them (held for apply/discard like the model's edits); a message for the person."""
        if self.session is None:
            return "open a workbook first"
        if self.pending is not None:
            return "Apply or discard the proposed change first, then add the chart."
        names = [sheet.name for sheet in self.current_workbook.sheets] if self.current_workbook \
            else []
        actions, summaries = chart_actions(frame, x, y, kind=kind, taken=names)
        try:
            propose(self.session, actions, summaries)
        except Exception as exc:  # the preview failed: say why, change nothing
            return redact(f"the chart could not be proposed: {error_text(exc)}")
        return "Proposed: the chart on a new sheet. Apply it to add it to the workbook."


# A question another tab asked this long ago and still not answered is taken as lost (its tab
# closed before the run began); a running question ends well before (the agent's time limit).
STALE_RUN_S = 15 * 60.0
ChartKind = Literal["bar", "line"]
CHART_SHEET = "Chart data"


def with_types(overrides: dict[str, dict[str, Any]], table: str,
               types: dict[str, str | None]) -> dict[str, dict[str, Any]]:
    """``overrides`` with ``types`` laid on ``table``'s column types (None: as detected again);
    a table left with no setting is dropped."""
    spec = dict(overrides.get(table, {}))
    kinds = {**spec.get("types", {}), **types}
    spec["types"] = {column: kind for column, kind in kinds.items() if kind}
    if not spec["types"]:
        del spec["types"]
    out = {**overrides, table: spec}
    if not spec:
        del out[table]
    return out


def shorten(text: str, limit: int = 60) -> str:
    """One line of at most ``limit`` characters (for captions that quote a question)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def sheet_cell_value(value: Any) -> Any:
    """A result value as a cell holds it: numbers as numbers, dates and the rest as text."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy / pandas scalars
        try:
            value = value.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(value, bool | int | float | str):
        if isinstance(value, float) and value != value:  # NaN: an empty cell
            return None
        return value
    if hasattr(value, "isoformat"):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    from decimal import Decimal

    return float(value) if isinstance(value, Decimal) else str(value)


def free_sheet_name(wanted: str, taken: list[str]) -> str:
    """``wanted``, or ``wanted 2``, ``wanted 3``... whichever no sheet has (any case)."""
    lower = {name.casefold() for name in taken}
    name, n = wanted, 1
    while name.casefold() in lower:
        n += 1
        name = f"{wanted} {n}"
    return name


def chart_actions(frame: Any, x: str, y: str, *, kind: ChartKind,
                  taken: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The sheet actions that write ``x`` and ``y`` of ``frame`` to a new sheet and chart them
    (Excel's column chart for categories, a line chart for an ordered x), and what they do in
    words."""
    sheet = free_sheet_name(CHART_SHEET, taken)
    rows = [[x, y]] + [[sheet_cell_value(a), sheet_cell_value(b)]
                       for a, b in zip(frame[x].tolist(), frame[y].tolist(), strict=True)]
    last = len(rows)
    excel_kind = "line" if kind == "line" else "column"
    actions: list[dict[str, Any]] = [
        {"action": "add_sheet", "name": sheet, "index": len(taken)},  # last: the rest stays put
        {"action": "write", "sheet": sheet, "range": "A1", "values": rows},
        {"action": "chart", "sheet": sheet, "type": excel_kind, "data": f"B1:B{last}",
         "labels": f"A2:A{last}", "title": f"{y} by {x}", "x_title": x, "y_title": y,
         "legend": "none", "at": "D2"},
    ]
    summaries = [f"Add a sheet {sheet} with the result table ({last - 1} rows, columns {x} "
                 f"and {y})",
                 f"Add a {'line' if kind == 'line' else 'column'} chart of {y} by {x} on "
                 f"{sheet}!D2"]
    return actions, summaries


def propose(session: Session, actions: list[dict[str, Any]],
            summaries: list[str] | None = None) -> Any:
    """Hold ``actions`` as the session's proposed edit (``Session.propose``): nothing is written
    until it is applied. ``summaries`` stand in for the tool's own words if it gives none.
    Raises the sheet tool's ToolFailure when the actions do not fit the workbook."""
    edit = session.propose(actions)
    if len(edit.summaries) != len(actions) and summaries:
        edit.summaries = list(summaries)
    return edit

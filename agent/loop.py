"""The loop: plan, act, observe, until a final answer or a limit.

One ``Run`` answers one question. The Planner is the chat model, given the question, the
conversation so far, TAP's packed view and the Informer's notes; it calls one tool per step. The
loop runs the tool, returns the observation (errors with their hint, plus Retriever exemplars
that fix that kind of error), and ends on ``final_answer``, a clear text answer after a
successful result, or a limit (steps, tokens, wall time) with the reason.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import sqlglot
import yaml
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from sqlglot import exp

import prompts
from agent.answer import Answer, Status, Step
from agent.drafts import Draft, draft_log, pick, run_drafts
from agent.informer import Informer
from agent.models import Backend
from agent.models import text_protocol as tp
from agent.retriever import Retriever
from agent.untrusted import as_data, defang_messages
from agent.values import (
    asks_for_many,
    coerce_answer,
    empty_or_zero,
    format_value,
    frame_value,
    is_count_question,
    is_reference,
    mentions,
    numbers_in,
    shape_for_question,
    to_value,
)
from agent.view import schema_line, sql_name
from tools.base import Tool, ToolResult
from tools.sql_guard import quote_bare_columns

OnStep = Callable[[Step], None]
OnText = Callable[[str], None]

TRANSIENT_ERRORS = {"APIConnectionError", "APITimeoutError", "InternalServerError",
                    "RateLimitError", "ConnectError", "ConnectTimeout", "ReadTimeout",
                    "RemoteProtocolError", "TimeoutError", "ConnectionError",
                    "ConnectionRefusedError", "ServiceUnavailableError"}


@dataclass
class Limits:
    max_steps: int = 8  # tool calls
    max_tokens: int = 60_000  # prompt + completion tokens over the whole run
    timeout_s: float = 300.0  # wall time of the run
    max_errors: int = 4  # tool errors in a row before giving up
    max_format_errors: int = 3  # replies with no usable action
    model_retries: int = 3  # transient model-server failures, with backoff
    observation_chars: int = 3000  # what the model sees of one tool result
    view_tokens: int = 1500  # TAP budget for the packed view
    samples: int = 1  # drafts of a query step, voted on by their results (agent/drafts.py)
    sample_temperature: float = 0.8


@cache
def messages_text() -> dict[str, str]:
    return dict(yaml.safe_load(prompts.load("messages.yaml")))


@cache
def final_answer_spec() -> dict[str, Any]:
    return dict(json.loads(prompts.load("final_answer.json")))


class ModelCallError(Exception):
    """The model server failed (after retries) or the call ran past the time limit."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout


@dataclass
class _Result:
    """A successful tool result kept for answer extraction."""

    tool: str
    result: ToolResult
    ok: bool
    value: Any = None
    has_value: bool = False


@dataclass
class TurnContext:
    """Everything a run needs besides the question."""

    view_text: str = ""
    informer_notes: str = ""
    history: list[BaseMessage] = field(default_factory=list)
    view_tables: list[str] = field(default_factory=list)
    schema: dict[str, list[str]] = field(default_factory=dict)  # every table -> its columns


def call_with_timeout(fn: Callable[[], Any], timeout_s: float) -> Any:
    """Run ``fn`` in a daemon thread and give up after ``timeout_s`` (a hung server never hangs
    the run; the thread is left to finish on its own)."""
    box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)

    def target() -> None:
        try:
            box.put((True, fn()))
        except BaseException as exc:
            box.put((False, exc))

    # a daemon thread, not a pool: the interpreter joins a pool's threads at exit, so Ctrl-C
    # would wait for a hung model call
    threading.Thread(target=target, name="tablepilot-model", daemon=True).start()
    try:
        ok, value = box.get(timeout=max(0.01, timeout_s))
    except queue.Empty:
        raise ModelCallError(f"the model did not answer within {timeout_s:.0f}s",
                             timeout=True) from None
    if ok:
        return value
    raise value


class Run:
    def __init__(self, backend: Backend, tools: list[Tool], question: str, *,
                 context: TurnContext | None = None, limits: Limits | None = None,
                 informer: Informer | None = None, retriever: Retriever | None = None,
                 on_step: OnStep | None = None, on_text: OnText | None = None,
                 after_tool: Callable[[str, ToolResult], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.backend = backend
        self.tools = {t.name: t for t in tools}
        self.question = question
        self.context = context or TurnContext()
        self.limits = limits or Limits()
        self.informer = informer
        self.retriever = retriever or Retriever(mode=backend.tool_mode)
        self.on_step = on_step
        self.on_text = on_text
        self.after_tool = after_tool
        self.sleep = sleep
        self.mode = backend.tool_mode
        self.msg = messages_text()
        self.steps: list[Step] = []
        self.results: list[_Result] = []
        self.tokens_in = 0
        self.tokens_out = 0
        self.started = 0.0
        self.version: int | None = None
        self._hinted = False  # the last query compared against text that is not a cell value
        self._hinted_sql: set[str] = set()  # queries run so far that got such a hint
        self._short_draft: tuple[AIMessage, tuple[int, int]] | None = None

    # ---------------------------------------------------------------- prompt

    def tool_names(self) -> list[str]:
        return [*self.tools, "final_answer"]

    def system_prompt(self) -> str:
        lines = []
        for tool in self.tools.values():
            first = tool.description().strip().splitlines()[0] if self.mode == "native" else (
                tool.description().strip())
            arg = ", ".join(tool.Args.model_fields)
            lines.append(f"- {tool.name}({arg}): {first}")
        lines.append("- final_answer(answer): give the answer value (or a list of values) and end.")
        protocol = prompts.load("text_protocol.md").format() if self.mode == "text" else ""
        return prompts.render("system.md", tools="\n".join(lines), protocol=protocol)

    def turn_prompt(self) -> str:
        informer = ""
        if self.context.informer_notes:
            informer = "\n" + as_data(self.msg["informer_header"] + self.context.informer_notes) + "\n"
        examples = [] if self.mode == "text" else self.retriever.examples(self.question,
                                                                           set(self.tools))
        example_text = ""
        if examples:
            example_text = self.msg["examples_header"] + "\n\n".join(examples) + "\n"
        schema = schema_line(self.context.schema)
        return prompts.render("turn.md", view=as_data(self.context.view_text), informer=informer,
                              examples=example_text, question=self.question,
                              schema=as_data(schema[:1500]))

    def tool_specs(self) -> list[dict[str, Any]]:
        return [*(t.spec() for t in self.tools.values()), final_answer_spec()]

    # ---------------------------------------------------------------- model

    def remaining_s(self) -> float:
        return self.limits.timeout_s - (time.monotonic() - self.started)

    def call_model(self, llm: Any, messages: list[BaseMessage]) -> AIMessage:
        delay = 1.0
        for attempt in range(self.limits.model_retries + 1):
            remaining = self.remaining_s()
            if remaining <= 0:
                raise ModelCallError("time limit reached while waiting for the model", timeout=True)
            try:
                message = call_with_timeout(lambda: llm.invoke(defang_messages(messages)), remaining)
            except ModelCallError:
                raise
            except Exception as exc:
                name = type(exc).__name__
                transient = name in TRANSIENT_ERRORS or isinstance(exc, ConnectionError | TimeoutError)
                if not transient or attempt == self.limits.model_retries:
                    where = getattr(llm, "openai_api_base", None) or self.backend.name
                    raise ModelCallError(f"model call failed ({name}: {exc}) [{where}]") from exc
                self.sleep(min(delay, max(0.0, self.remaining_s())))
                delay *= 2
                continue
            if not isinstance(message, AIMessage):
                message = AIMessage(content=str(getattr(message, "content", message)))
            usage: dict[str, Any] = dict(message.usage_metadata or {})
            t_in = int(usage.get("input_tokens", 0) or 0)
            t_out = int(usage.get("output_tokens", 0) or 0)
            if not usage:
                from tools.tokens import estimate_tokens

                t_in = sum(estimate_tokens(str(m.content)) for m in messages)
                t_out = estimate_tokens(str(message.content) + str(message.tool_calls))
            self.tokens_in += t_in
            self.tokens_out += t_out
            self._last_tokens = (t_in, t_out)
            return message
        raise ModelCallError("unreachable")  # pragma: no cover

    # ---------------------------------------------------------------- run

    def execute(self) -> Answer:
        self.started = time.monotonic()
        self._last_tokens = (0, 0)
        llm = self.backend.llm
        if self.mode == "native":
            llm = llm.bind_tools(self.tool_specs())
        else:
            # a small model that writes the tool's result itself would run on to its token
            # limit (minutes on a CPU), and its invented result is worthless anyway
            llm = llm.bind(stop=TEXT_STOPS)
        shots = (self.retriever.example_messages(self.question, set(self.tools))
                 if self.mode == "text" else [])
        messages: list[BaseMessage] = [SystemMessage(self.system_prompt()), *shots,
                                       *self.context.history, HumanMessage(self.turn_prompt())]
        self.messages = messages
        self._short_draft = self._draft_short()
        errors_in_row = format_errors = nudges = 0
        checked = recheck = False
        while True:
            reason = self._limit_reason()
            if reason:
                return self._stop("limit", reason)
            try:
                message = self.call_model(llm, messages)
            except ModelCallError as exc:
                if exc.timeout:
                    return self._stop("limit", f"time limit ({self.limits.timeout_s:.0f}s): {exc}")
                return self._stop("error", str(exc))
            text = message.content if isinstance(message.content, str) else str(message.content)
            if text.strip() and self.on_text:
                self.on_text(text)
            calls, bad = self._calls(message, text)
            if bad and not calls:
                format_errors += 1
                messages.append(message)
                self._answer_invalid(messages, message, bad)
                if format_errors > self.limits.max_format_errors:
                    return self._stop("model_format", f"the model's tool calls could not be "
                                      f"parsed {format_errors} times: {bad}")
                continue
            if not calls:
                final = self._text_answer(text, nudged=nudges > 0)
                if final is not None:
                    return final
                format_errors += 1
                nudges += 1
                if format_errors > self.limits.max_format_errors:
                    return self._stop("model_format", "the model answered with text but no "
                                      "usable answer or tool call")
                messages.append(AIMessage(content=text))
                hint = self.msg["nudge_tool"] if self.results else self._protocol_hint()
                messages.append(HumanMessage(hint))
                continue
            messages.append(self._assistant_message(message, text, calls))
            thought = tp.Parsed(text=text).text if self.mode == "native" else text
            for call in calls:
                if call["name"] == "final_answer" and "sql" in self.tools and _is_sql(
                        call["args"].get("answer")):
                    call = {**call, "name": "sql", "args": {"query": call["args"]["answer"]}}
                if call["name"] == "final_answer":
                    if (self.mode == "text" and not self.steps and not checked
                            and "sql" in self.tools):
                        checked = True  # small models guess: make them look it up once
                        messages.append(HumanMessage(self.msg["check_first"]))
                        break
                    if (not recheck and self._unsupported_after_empty(call["args"])
                            and len(self.steps) < self.limits.max_steps):
                        recheck = True  # an answer right after a query that found nothing
                        messages.append(HumanMessage(self.msg["empty_then_answer"]))
                        break
                    return self._final(call["args"], thought)
                if len(self.steps) >= self.limits.max_steps:
                    return self._stop("limit", f"step limit reached ({self.limits.max_steps} "
                                      "tool calls)")
                if self._repeats_last(call):
                    value, _ = self._last_value()
                    return self._finish(value, thought, source="repeated the call that computed it")
                if self._should_draft(call, len(calls)):
                    ok = self._run_drafted(llm, call, text, messages)
                    thought = ""
                    errors_in_row = 0 if ok else errors_in_row + 1
                    continue
                ok = self._run_tool(call, thought, messages)
                thought = ""
                errors_in_row = 0 if ok else errors_in_row + 1
            if errors_in_row >= self.limits.max_errors:
                return self._stop("tool_error", f"{errors_in_row} tool errors in a row; last: "
                                  f"{self.steps[-1].error}")

    def _limit_reason(self) -> str | None:
        if self.remaining_s() <= 0:
            return f"time limit reached ({self.limits.timeout_s:.0f}s)"
        if self.tokens_in + self.tokens_out >= self.limits.max_tokens:
            return (f"token limit reached ({self.tokens_in + self.tokens_out} of "
                    f"{self.limits.max_tokens} tokens)")
        return None

    def _protocol_hint(self) -> str:
        if self.mode == "text":
            return self.msg["nudge_format"].format(protocol_hint=self.msg["protocol_hint_text"])
        hint = self.msg["protocol_hint_native"].format(tools=", ".join(self.tool_names()))
        return self.msg["nudge_format"].format(protocol_hint=hint)

    def _calls(self, message: AIMessage, text: str) -> tuple[list[dict[str, Any]], str]:
        """The tool calls in ``message``: native ones, else ones written as text."""
        known = set(self.tool_names())
        calls = []
        for tc in message.tool_calls:
            name = tp.normalise_name(tc["name"], known)
            calls.append({"name": name, "args": dict(tc.get("args") or {}),
                          "id": tc.get("id") or f"call_{uuid.uuid4().hex[:8]}", "native": True})
        bad = "; ".join(f"{c.get('name')}: {c.get('error') or c.get('args')}"
                        for c in message.invalid_tool_calls)
        if calls or bad:
            return calls, bad
        parsed = tp.parse(text, known)
        for pc in parsed.calls[:1] if self.mode == "text" else parsed.calls:
            calls.append({"name": pc.name, "args": pc.args,
                          "id": f"call_{uuid.uuid4().hex[:8]}", "native": False})
        return calls, ""

    def _assistant_message(self, message: AIMessage, text: str,
                           calls: list[dict[str, Any]]) -> AIMessage:
        if calls and all(c["native"] for c in calls):
            return message
        # a call written as text stays text, and its result comes back as a user message
        # (servers such as llama.cpp's reject replayed tool calls without content)
        return AIMessage(content=text)

    def _answer_invalid(self, messages: list[BaseMessage], message: AIMessage, bad: str) -> None:
        text = self.msg["invalid_call"].format(error=bad)
        if self.mode == "native":
            ids = [c.get("id") for c in message.invalid_tool_calls if c.get("id")]
            if ids:
                messages.extend(ToolMessage(content=text, tool_call_id=i) for i in ids)
                return
            messages[-1] = AIMessage(content=str(message.content))
        messages.append(HumanMessage(text))

    def _observe(self, messages: list[BaseMessage], call: dict[str, Any], text: str) -> None:
        if call.get("native"):
            messages.append(ToolMessage(content=text, tool_call_id=call["id"]))
        else:
            messages.append(HumanMessage(
                self.msg["observation"].format(tool=call["name"], observation=text)))

    # ---------------------------------------------------------------- tools

    def _should_draft(self, call: dict[str, Any], n_calls: int) -> bool:
        """Draft a query step until some query has returned a value."""
        return (self.limits.samples > 1 and n_calls == 1 and call["name"] == "sql"
                and "sql" in self.tools and isinstance(call["args"].get("query"), str)
                and not any(r.ok and r.has_value for r in self.results))

    def _run_drafted(self, llm: Any, greedy: dict[str, Any], text: str,
                     messages: list[BaseMessage]) -> bool:
        """Sample more drafts of this query step, run them, and keep the one most agree on."""
        drafts = [Draft(greedy, text, messages[-1])]
        step_in, step_out = self._last_tokens
        short = self._short_draft if not self.steps else None
        for seed in range(1, self.limits.samples):
            if short is not None and seed == self.limits.samples - 1:
                message, tokens = short
            else:
                if self.remaining_s() < 0.25 * self.limits.timeout_s or self._limit_reason():
                    break
                sampler = llm.bind(temperature=self.limits.sample_temperature, seed=seed)
                try:
                    message = self.call_model(sampler, messages[:-1])
                except ModelCallError:
                    break
                tokens = self._last_tokens
            step_in, step_out = step_in + tokens[0], step_out + tokens[1]
            reply = message.content if isinstance(message.content, str) else str(message.content)
            calls, _ = self._calls(message, reply)
            if not calls and self.mode == "native":  # the short prompt's reply is a sql block
                calls = [{"name": c.name, "args": c.args, "id": f"call_{uuid.uuid4().hex[:8]}",
                          "native": False} for c in tp.parse(reply, {"sql"}).calls[:1]]
            if len(calls) == 1 and calls[0]["name"] == "sql" and isinstance(
                    calls[0]["args"].get("query"), str):
                drafts.append(Draft(calls[0], reply, message))
        self._last_tokens = (step_in, step_out)  # the step's tokens: every draft's call
        run_drafts(drafts, self._execute)
        chosen, vote = pick(drafts)
        if not vote and self._earlier_failure(chosen.call) is not None:
            # nothing succeeded: a new mistake teaches more than the same one again
            chosen = next((d for d in drafts if self._earlier_failure(d.call) is None), chosen)
        if chosen is not drafts[0]:
            messages[-1] = self._assistant_message(chosen.message, chosen.text, [chosen.call])
        thought = tp.Parsed(text=chosen.text).text if self.mode == "native" else chosen.text
        log = draft_log(drafts) if len(drafts) > 1 else None
        return self._run_tool(chosen.call, thought, messages, done=chosen, vote=vote,
                              drafts=log)

    def _draft_short(self) -> tuple[AIMessage, tuple[int, int]] | None:
        """With 3+ drafts, one draft of the first query comes from a short query-only prompt:
        another view of the task than the conversation, so its mistakes differ. It is asked
        before the conversation starts: a single-slot server (llama.cpp) keeps one prompt in
        its cache, and asking it between conversation turns would evict the conversation."""
        if (self.limits.samples < 3 or "sql" not in self.tools or "sheet" in self.tools
                or self.context.history):
            return None
        informer = ""
        if self.context.informer_notes:
            informer = "\n" + as_data(self.msg["informer_header"] + self.context.informer_notes) + "\n"
        prompt = prompts.render("draft_query.md", view=as_data(self.context.view_text), informer=informer,
                                schema=as_data(schema_line(self.context.schema)[:1500]),
                                question=self.question)
        try:
            message = self.call_model(self.backend.llm.bind(stop=TEXT_STOPS),
                                      [HumanMessage(prompt)])
        except ModelCallError:
            return None
        return message, self._last_tokens

    def _execute(self, call: dict[str, Any]) -> Draft:
        """Run a known tool (a query over a one-table workbook naming another table is
        repaired first)."""
        name, args = call["name"], call["args"]
        started = time.perf_counter()
        note = ""
        if name == "sql" and isinstance(args.get("query"), str):
            args, note = self._repair_tables(args)
        result = self.tools[name](args)
        if note and result.error is None:
            result.observation = f"{note}\n{result.observation}"
        return Draft(call, "", None, result, args, note, time.perf_counter() - started)

    def _run_tool(self, call: dict[str, Any], thought: str, messages: list[BaseMessage], *,
                  done: Draft | None = None, vote: str = "",
                  drafts: list[dict[str, Any]] | None = None) -> bool:
        name, args = call["name"], call["args"]
        self._hinted = False
        error: str | None
        failed = self._earlier_failure(call)
        if name not in self.tools:
            observation = self.msg["unknown_tool"].format(name=name,
                                                          tools=", ".join(self.tool_names()))
            result = ToolResult(observation=observation)
            error, duration = observation, 0.0
        elif failed is not None:
            observation = self.msg["repeated_failure"].format(
                error=failed.error, schema=schema_line(self.context.schema)[:1500])
            result = ToolResult(observation=observation)
            error, duration = "the same call failed before; not run again", 0.0
        else:
            done = done or self._execute(call)
            assert done.result is not None
            result, args, duration = done.result, done.args, done.duration_s
            error = result.error.render() if result.error else None
        observation = result.observation or ""
        if vote and error is None:
            observation = f"({vote})\n{observation}"
        extra = ""
        value, has_value = None, False
        if error is None:
            value, has_value = self._result_value(name, result)
            if name == "sql":
                extra = self._empty_result_hint(result)
            if has_value and self.mode == "text" and not self._hinted:
                extra += self.msg["observation_hint"]
        else:
            fixes = self.retriever.fixes(error, set(self.tools))
            if fixes:
                key = "fix_notes" if self.mode == "text" else "fix_examples"
                extra = self.msg[key].format(examples="\n\n".join(fixes))
        shown = _truncate(observation, self.limits.observation_chars) + extra
        self._observe(messages, call, shown)
        t_in, t_out = self._last_tokens
        step = Step(index=len(self.steps) + 1, tool=name, input=_jsonable_args(args),
                    output=shown, error=error, duration_s=round(duration, 6),
                    tokens_in=t_in, tokens_out=t_out, thought=thought,
                    payload=_payload(name, result, drafts))
        self._last_tokens = (0, 0)
        self.steps.append(step)
        self.results.append(_Result(name, result, error is None, value, has_value))
        if name == "sheet" and error is None and isinstance(result.payload, dict):
            version = result.payload.get("version")
            self.version = int(version) if isinstance(version, int) else self.version
        if self.after_tool is not None and error is None:
            self.after_tool(name, result)
        if self.on_step:
            self.on_step(step)
        return error is None

    def _repeats_last(self, call: dict[str, Any]) -> bool:
        """The model sent again the successful call whose result is a value: that is its answer."""
        if not self.steps or not self.results:
            return False
        last, result = self.steps[-1], self.results[-1]
        return (result.ok and result.has_value and last.tool == call["name"]
                and _canonical(_jsonable_args(call["args"])) == _canonical(last.input))

    def _earlier_failure(self, call: dict[str, Any]) -> Step | None:
        """The earlier step that ran this very call and failed (small models resend it)."""
        key = _canonical(_jsonable_args(call["args"]))
        for step in self.steps:
            if step.error is not None and step.tool == call["name"] and _canonical(
                    step.input) == key:
                return step
        return None

    def _repair_tables(self, args: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """A query naming a table that does not exist, over a one-table workbook, is run on
        that table (small models copy table names from examples); the model is told."""
        tables = list(self.context.schema)
        if len(tables) != 1:
            return args, ""
        # bare multi-word column names (Year built) are quoted first, or the query won't parse
        query, _ = quote_bare_columns(str(args["query"]), self.context.schema[tables[0]])
        try:
            tree = sqlglot.parse_one(query, read="duckdb")
        except Exception:
            return args, ""
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        wrong = [t for t in tree.find_all(exp.Table)
                 if t.name and t.name.lower() not in ctes and t.name.lower() != tables[0].lower()]
        if not wrong:
            return args, ""
        names = sorted({t.name for t in wrong})
        for node in wrong:
            node.set("this", exp.to_identifier(tables[0]))
            node.set("db", None)
            node.set("catalog", None)
        fixed = tree.sql(dialect="duckdb")
        note = (f"(note: there is no table {', '.join(repr(n) for n in names)}; "
                f"the query ran on table {tables[0]!r}: {fixed})")
        return {**args, "query": fixed}, note

    @staticmethod
    def _result_value(name: str, result: ToolResult) -> tuple[Any, bool]:
        payload = result.payload if isinstance(result.payload, dict) else {}
        frame = payload.get("frame")
        if frame is not None and hasattr(frame, "shape"):
            has_value, value = frame_value(frame)
            return value, has_value
        if name == "python" and "value" in payload and payload["value"] is not None:
            value = payload["value"]
            if isinstance(value, int | float | str):
                return to_value(value), True
        return None, False

    def _empty_result_hint(self, result: ToolResult) -> str:
        """For a result with no rows (or a count of 0): the text literals the query compared
        that are not values of their column, with the closest real values."""
        payload = result.payload if isinstance(result.payload, dict) else {}
        frame = payload.get("frame")
        self._hinted = False
        if frame is None or self.informer is None or not empty_or_zero(frame):
            return ""
        sql = str(payload.get("sql") or "")
        hints = self.informer.literal_hints(sql)
        self._hinted = bool(hints)
        notes = []
        if hints:
            key = _sql_key(sql)
            if key in self._hinted_sql:
                notes.append(self.msg["repeated_empty"])
            self._hinted_sql.add(key)
        for col, lit, close, examples in hints:
            elsewhere = self.informer.columns_holding(lit, exclude=col)
            if close or elsewhere or not examples:
                notes.append(self.msg["not_a_value"].format(
                    value=lit, column=col, closest=", ".join(repr(c) for c in close) or "none"))
            else:  # in no column at all: the table may be about it, or the words mean a value
                notes.append(self.msg["in_no_column"].format(
                    value=lit, column=col, examples=", ".join(repr(c) for c in examples)))
            if elsewhere:
                notes.append(self.msg["in_other_column"].format(value=lit, columns=", ".join(
                    f"{sql_name(c)} ({v!r})" for c, v in elsewhere)))
        return "".join(notes)

    # ---------------------------------------------------------------- answers

    def _unsupported_after_empty(self, args: dict[str, Any]) -> bool:
        """The last query failed or returned no rows, and the answer appears in no tool result."""
        if not self.results:
            return False
        if not self.results[-1].ok:
            raw = args.get("answer", args.get("value"))
            seen = "\n".join(s.output for s in self.steps if s.error is None)
            return is_reference(raw) or not mentions(seen, coerce_answer(raw))
        if self.results[-1].tool != "sql":
            return False
        payload = self.results[-1].result.payload
        frame = payload.get("frame") if isinstance(payload, dict) else None
        if frame is None or not empty_or_zero(frame):
            return False
        if self._hinted:
            return True
        if not (len(frame) == 0 or bool(frame.isna().all().all())):
            return False
        raw = args.get("answer", args.get("value"))
        if is_reference(raw):
            return True
        answer = coerce_answer(raw)
        if isinstance(answer, int | float) and not isinstance(answer, bool) and answer == 0:
            return False  # 'none found' is a fine answer to 'how many'
        earlier = "\n".join(s.output for s in self.steps[:-1] if s.error is None)
        return not mentions(earlier, answer)

    def _last_value(self) -> tuple[Any, bool]:
        for r in reversed(self.results):
            if r.ok and r.tool in ("sql", "python"):
                return r.value, r.has_value
        return None, False

    def _text_answer(self, text: str, *, nudged: bool) -> Answer | None:
        """Accept a plain text reply as the answer when it clearly is one."""
        stripped = text.strip()
        if not stripped or stripped.startswith("ERROR"):
            return None
        value, has_value = self._last_value()
        if has_value and mentions(stripped, value):
            return self._finish(value, stripped, source="result named in the reply")
        if _looks_like_plan(stripped):
            return None
        if self.results and any(r.ok for r in self.results) and len(stripped) <= 200:
            return self._final({"answer": _answer_from_sentence(stripped)}, stripped)
        if nudged and len(stripped) <= 300:
            return self._final({"answer": _answer_from_sentence(stripped)}, stripped)
        return None

    def _final(self, args: dict[str, Any], thought: str) -> Answer:
        raw = args.get("answer", args.get("value"))
        if _is_error_copy(raw):
            return self._stop("tool_error", "the model gave a tool's error message as its answer")
        explanation = str(args.get("explanation") or "").strip()
        value, has_value = self._last_value()
        if is_reference(raw) and has_value:
            return self._finish(value, explanation or thought, source="last result")
        answer = coerce_answer(raw)
        note = ""
        # the loop computes: a number the model states must match what a tool computed
        if (has_value and _is_number(answer) and _is_number(value)
                and not _grounded(answer, self.steps)):
            note = (f"the model said {format_value(answer)}; the computed result "
                    f"{format_value(value)} is used")
            answer = value
        elif (has_value and isinstance(value, list) and _is_number(answer)
              and answer == len(value) and not is_count_question(self.question)
              and not any(_is_number(v) for v in value)):
            note = (f"the model gave the number of values ({format_value(answer)}); the "
                    "question asks for the values")
            answer = value
        elif has_value and _part_of(answer, value) and asks_for_many(self.question):
            note = (f"the model named {format_value(answer)}; the question asks for all "
                    f"{len(value)} values the query returned")
            answer = value
        return self._finish(answer, explanation or thought, source="final_answer", note=note)

    def _finish(self, value: Any, explanation: str, *, source: str, note: str = "") -> Answer:
        value, shaped = shape_for_question(self.question, value)
        note = "; ".join(n for n in (note, shaped) if n)
        text = format_value(value)
        if explanation and explanation.strip() != text and len(explanation) < 400:
            text = f"{text}\n{explanation.strip()}" if text else explanation.strip()
        if note:
            text = f"{text}\n({note})"
        return self._answer("ok", value, text, None)

    def _stop(self, status: Status, reason: str) -> Answer:
        value, has_value = self._last_value()
        best = shape_for_question(self.question, value)[0] if has_value else None
        text = f"Stopped: {reason}."
        if has_value:
            text += f" Last result: {format_value(value)}"
        return self._answer(status, best, text, reason)

    def _answer(self, status: Status, value: Any, text: str, reason: str | None) -> Answer:
        tables: list[str] = []
        cells: list[str] = []
        for r in self.results:
            if r.ok:
                tables.extend(t for t in r.result.tables if t not in tables)
                cells.extend(c for c in r.result.cells if c not in cells)
        if not tables:
            tables = list(self.context.view_tables)
        return Answer(question=self.question, value=value, text=text, steps=self.steps,
                      status=status, stop_reason=reason, tables=tables, cells=cells[:500],
                      model=self.backend.name, tokens_in=self.tokens_in,
                      tokens_out=self.tokens_out,
                      duration_s=round(time.monotonic() - self.started, 6), version=self.version)


TEXT_STOPS = ["\nResult of ", "\nQuestion:"]
_ERROR_TEXT = re.compile(r"\s*(final answer:\s*)?error\b\s*(\(|:|$)", re.I)
_ERROR_KINDS = re.compile(r"\b(binder|parser|catalog|conversion|syntax|invalid input) error\b|"
                          r"^\s*\{\s*['\"]error['\"]|Traceback \(most recent", re.I)


def _is_error_copy(raw: Any) -> bool:
    """The model copied a tool's error message as its answer."""
    if isinstance(raw, dict):
        return "error" in raw
    if isinstance(raw, list):
        return bool(raw) and all(_is_error_copy(x) for x in raw)
    return isinstance(raw, str) and bool(_ERROR_TEXT.match(raw) or _ERROR_KINDS.search(raw))


def _part_of(answer: Any, result: Any) -> bool:
    """``answer`` is some, not all, of the items of a list ``result``."""
    if not isinstance(result, list) or len(result) < 2:
        return False
    items = answer if isinstance(answer, list) else [answer]
    key = [str(v).strip().casefold() for v in result]
    picked = [str(v).strip().casefold() for v in items]
    return 0 < len(set(picked)) < len(set(key)) and set(picked) <= set(key)


def _is_sql(x: Any) -> bool:
    """A 'final answer' that is a query (small models do this): it is run, not returned."""
    return isinstance(x, str) and bool(re.match(r"\s*(select|with)\s", x, re.I)) and bool(
        re.search(r"\bfrom\b", x, re.I))


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _grounded(number: float, steps: list[Step]) -> bool:
    for step in steps:
        if step.error is None and any(abs(n - number) <= 1e-6 * max(1.0, abs(number))
                                      for n in numbers_in(step.output)):
            return True
    return False


_PLAN = re.compile(r"^(let me|let's|i will|i'll|i need|first|next|now i|to answer|we need)\b|[:?]$",
                   re.I)


def _looks_like_plan(text: str) -> bool:
    return bool(_PLAN.search(text.strip())) and "answer is" not in text.lower()


def _answer_from_sentence(text: str) -> Any:
    """'The answer is 42.' -> '42'; a short reply is taken whole."""
    parsed = tp.parse(text, {"final_answer"})
    if parsed.call is not None:
        return parsed.call.args["answer"]
    m = re.search(r"(?:answer|result)\s+(?:is|was|=|:)\s*(.+?)\s*\.?\s*$", text, re.I | re.S)
    if m:
        return tp.parse_answer_text(m.group(1))
    return tp.parse_answer_text(text)


def _canonical(args: dict[str, Any]) -> str:
    text = json.dumps(args, sort_keys=True, ensure_ascii=False)
    return re.sub(r"(\\n|\s)+", " ", text).replace(";", "").strip().lower()


def _truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [{len(text) - limit} more characters not shown]"


def _jsonable_args(args: dict[str, Any]) -> dict[str, Any]:
    try:
        return dict(json.loads(json.dumps(args, default=str)))
    except (TypeError, ValueError):
        return {k: str(v) for k, v in args.items()}


def _payload(name: str, result: ToolResult,
             drafts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """JSON-safe extras for the app and the log (never frames or bytes)."""
    payload = result.payload if isinstance(result.payload, dict) else {}
    out: dict[str, Any] = {"tables": list(result.tables), "cells": list(result.cells)[:200]}
    if drafts:
        out["drafts"] = drafts
    frame = payload.get("frame")
    if frame is not None and hasattr(frame, "columns"):
        out["sql"] = payload.get("sql")
        out["columns"] = [str(c) for c in frame.columns]
        out["rows"] = len(frame)
        out["preview"] = [[to_value(v) for v in row]
                          for row in frame.head(20).itertuples(index=False)]
    for key in ("stdout", "version"):
        if key in payload:
            out[key] = payload[key] if not isinstance(payload[key], str) else payload[key][:4000]
    if "changes" in payload:
        out["changes"] = [_change_dict(c) for c in list(payload["changes"])[:200]]
    if payload.get("figures"):
        out["figures"] = len(payload["figures"])
    if "traceback" in payload:
        out["traceback"] = str(payload["traceback"])[-4000:]
    return out


def _change_dict(change: Any) -> Any:
    from dataclasses import asdict, is_dataclass

    to_dict = getattr(change, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if is_dataclass(change) and not isinstance(change, type):
        return {k: to_value(v) if not isinstance(v, str) else v for k, v in asdict(change).items()}
    return change if isinstance(change, dict | str) else str(change)


def _sql_key(sql: str) -> str:
    """A query in one spelling (quoting, case, spacing), to recognise the same query again."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        for ident in tree.find_all(exp.Identifier):
            ident.set("quoted", False)
        return tree.sql(dialect="duckdb").casefold()
    except Exception:  # not parseable: compare the text
        return " ".join(sql.split()).casefold()

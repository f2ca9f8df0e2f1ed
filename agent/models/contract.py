"""The one model contract the loop sees: ``complete(messages, tools) -> Reply``.

Behind it: binding tools (native calls) or a stop list (the text protocol), parsing calls
written as text, defanging untrusted text at the boundary, retries with backoff for transient
server errors (typed by exception class, never by name), the time limit, and token usage. The
loop never asks which style a model uses; it asks the model for the messages that record a
reply and an observation in the conversation.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.errors import ModelCallError
from agent.models import Backend
from agent.models import text_protocol as tp
from agent.models.transient import is_transient
from agent.untrusted import defang_messages

# a small model that writes the tool's result itself would run on to its token limit (minutes
# on a CPU), and its invented result is worthless anyway
TEXT_STOPS = ["\nResult of ", "\nQuestion:"]


@dataclass(frozen=True)
class Call:
    """One tool call (``native``: a real tool call; else one parsed from the reply's text)."""

    name: str
    args: dict[str, Any]
    id: str = field(default_factory=lambda: f"call_{uuid.uuid4().hex[:8]}")
    native: bool = False

    def with_(self, **changes: Any) -> Call:
        return Call(**{"name": self.name, "args": self.args, "id": self.id,
                       "native": self.native, **changes})


@dataclass(frozen=True)
class Usage:
    """Tokens and time of model calls. ``cached_tokens``: input the server reused from its
    cache instead of processing again; ``model_s``: seconds waiting on the model; ``prompt_s``
    and ``generate_s``: the server's own split of that time, where it reports one (llama.cpp)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    model_s: float = 0.0
    prompt_s: float = 0.0
    generate_s: float = 0.0

    @property
    def processed_tokens(self) -> int:
        """Input tokens the model actually processed (after its cache)."""
        return self.input_tokens - self.cached_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens,
                     self.output_tokens + other.output_tokens,
                     self.cached_tokens + other.cached_tokens,
                     self.model_s + other.model_s, self.prompt_s + other.prompt_s,
                     self.generate_s + other.generate_s)


@dataclass(frozen=True)
class Reply:
    text: str  # everything the model wrote
    thought: str  # the prose beside the calls
    calls: tuple[Call, ...] = ()
    invalid: str = ""  # native calls that could not be parsed, described
    usage: Usage = field(default_factory=Usage)
    message: AIMessage = field(default_factory=lambda: AIMessage(content=""))
    invalid_ids: tuple[str, ...] = ()


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


class ChatModel:
    """A Backend behind the contract. ``deadline`` is a ``time.monotonic()`` instant."""

    def __init__(self, backend: Backend, *, retries: int = 3,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.backend = backend
        self.name = backend.name
        self.text_protocol = backend.tool_mode == "text"
        self.retries = retries
        self.sleep = sleep
        self._binds: dict[tuple[str, ...], Any] = {}

    def complete(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = (),
                 *, deadline: float | None = None, temperature: float | None = None,
                 seed: int | None = None, single: bool | None = None) -> Reply:
        """Ask the model. ``tools``: the JSON specs it may call (none: a plain completion).
        ``single``: keep only the first call written as text (default: text protocol)."""
        names = {str(t.get("name") or t.get("function", {}).get("name")) for t in tools}
        llm = self._bound(tuple(sorted(names)), tools)
        if temperature is not None or seed is not None:
            llm = llm.bind(**{k: v for k, v in (("temperature", temperature), ("seed", seed))
                              if v is not None})
        started = time.monotonic()
        message = self._invoke(llm, list(messages), deadline)
        reply = self._reply(message, names, list(messages),
                            self.text_protocol if single is None else single)
        return replace(reply, usage=replace(reply.usage, model_s=time.monotonic() - started))

    @property
    def parallel_drafts(self) -> bool:
        return self.backend.parallel_drafts

    def complete_many(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]],
                      n: int, *, temperature: float, seed: int,
                      deadline: float | None = None) -> list[Reply]:
        """``n`` sampled replies to one prompt from one request (the server processes the
        prompt once and decodes the replies together). A server that ignores ``n`` returns
        fewer: the caller asks again for the rest. The request's usage is on the first reply."""
        names = {str(t.get("name") or t.get("function", {}).get("name")) for t in tools}
        bound = self._bound(tuple(sorted(names)), tools)
        base, options = getattr(bound, "bound", bound), dict(getattr(bound, "kwargs", {}))
        options.update(n=n, temperature=temperature, seed=seed)
        started = time.monotonic()
        sent = list(messages)
        result = self._call(lambda: base.generate([defang_messages(sent)], **options), deadline)
        elapsed = time.monotonic() - started
        generations = result.generations[0] if result.generations else []
        replies = []
        for i, generation in enumerate(generations[:n]):
            message = generation.message
            if not isinstance(message, AIMessage):
                message = AIMessage(content=str(getattr(message, "content", message)))
            reply = self._reply(message, names, sent, self.text_protocol)
            # every choice carries the whole request's usage: count it once
            usage = replace(reply.usage, model_s=elapsed) if i == 0 else Usage()
            replies.append(replace(reply, usage=usage))
        return replies

    def _bound(self, key: tuple[str, ...], tools: Sequence[dict[str, Any]]) -> Any:
        """The chat model with these tools bound (or the text protocol's stop list), bound once:
        a round-robin client keeps its turn between calls."""
        if key not in self._binds:
            llm = self.backend.llm
            self._binds[key] = (llm.bind_tools(list(tools)) if tools and not self.text_protocol
                                else llm.bind(stop=TEXT_STOPS))
        return self._binds[key]

    def _invoke(self, llm: Any, messages: list[BaseMessage], deadline: float | None) -> AIMessage:
        message = self._call(lambda: llm.invoke(defang_messages(messages)), deadline)
        if not isinstance(message, AIMessage):
            message = AIMessage(content=str(getattr(message, "content", message)))
        return message

    def _call(self, fn: Callable[[], Any], deadline: float | None) -> Any:
        """``fn()`` within the deadline, retried with backoff on transient server errors."""
        delay = 1.0
        for attempt in range(self.retries + 1):
            remaining = 1e9 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise ModelCallError("time limit reached while waiting for the model", timeout=True)
            try:
                value = call_with_timeout(fn, remaining)
            except ModelCallError:
                raise
            except Exception as exc:
                if not is_transient(exc) or attempt == self.retries:
                    where = getattr(self.backend.llm, "openai_api_base", None) or self.name
                    raise ModelCallError(
                        f"model call failed ({type(exc).__name__}: {exc}) [{where}]") from exc
                left = 1e9 if deadline is None else deadline - time.monotonic()
                self.sleep(min(delay, max(0.0, left)))
                delay *= 2
                continue
            return value
        raise ModelCallError("unreachable")  # pragma: no cover

    def _reply(self, message: AIMessage, names: set[str], sent: list[BaseMessage],
               single: bool) -> Reply:
        text = message.content if isinstance(message.content, str) else str(message.content)
        calls = [Call(str(tc["name"]), dict(tc.get("args") or {}),
                      tc.get("id") or f"call_{uuid.uuid4().hex[:8]}", native=True)
                 for tc in message.tool_calls]
        invalid = "; ".join(f"{c.get('name')}: {c.get('error') or c.get('args')}"
                            for c in message.invalid_tool_calls)
        ids = tuple(str(c["id"]) for c in message.invalid_tool_calls if c.get("id"))
        thought = text
        if not calls and not invalid:
            parsed = tp.parse(text, names | {"final_answer"})
            calls = [Call(pc.name, pc.args) for pc in
                     (parsed.calls[:1] if single else parsed.calls)]
            if not self.text_protocol:
                thought = parsed.text
        elif not self.text_protocol:
            thought = tp.Parsed(text=text).text
        return Reply(text=text, thought=thought, calls=tuple(calls), invalid=invalid,
                     usage=_usage(message, sent), message=message, invalid_ids=ids)

    # ---------------------------------------------------------------- conversation

    def assistant_message(self, reply: Reply, calls: Sequence[Call]) -> AIMessage:
        """How the reply is kept in the conversation."""
        if calls and all(c.native for c in calls):
            return reply.message
        # a call written as text stays text, and its result comes back as a user message
        # (servers such as llama.cpp's reject replayed tool calls without content)
        return AIMessage(content=reply.text)

    def observation_message(self, call: Call, text: str, template: str) -> BaseMessage:
        if call.native:
            return ToolMessage(content=text, tool_call_id=call.id)
        return HumanMessage(template.format(tool=call.name, observation=text))

    def invalid_messages(self, reply: Reply, text: str) -> list[BaseMessage]:
        """The reply whose calls could not be parsed, and the feedback, as messages."""
        if reply.invalid_ids and not self.text_protocol:
            return [reply.message, *(ToolMessage(content=text, tool_call_id=i)
                                     for i in reply.invalid_ids)]
        return [AIMessage(content=reply.text), HumanMessage(text)]


def _usage(message: AIMessage, sent: list[BaseMessage]) -> Usage:
    usage: dict[str, Any] = dict(message.usage_metadata or {})
    if usage:
        details = dict(usage.get("input_token_details") or {})
        timings = dict((message.response_metadata or {}).get("timings") or {})
        return Usage(int(usage.get("input_tokens", 0) or 0),
                     int(usage.get("output_tokens", 0) or 0),
                     cached_tokens=int(details.get("cache_read", 0) or 0),
                     prompt_s=float(timings.get("prompt_ms", 0.0) or 0.0) / 1000,
                     generate_s=float(timings.get("predicted_ms", 0.0) or 0.0) / 1000)
    from tools.tokens import estimate_tokens

    return Usage(sum(estimate_tokens(str(m.content)) for m in sent),
                 estimate_tokens(str(message.content) + str(message.tool_calls)))

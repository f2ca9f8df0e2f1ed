"""ScriptedChatModel: a LangChain chat model that answers from a script (tests and benchmarks).

``responses`` is a list consumed in order (an ``AIMessage``, a plain string, or a dict
``{"tool": name, "args": {...}}`` / ``{"tool_calls": [...], "content": ...}``), or a callable
``f(messages) -> response`` for conversations that depend on what the model was sent (a batch
run from many threads). Every call's messages, and the tools bound, are recorded in ``calls``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

Response = AIMessage | str | dict[str, Any] | BaseException


def tool_call(name: str, _content: str = "", **args: Any) -> AIMessage:
    """An AIMessage that calls tool ``name`` with ``args`` (a helper for writing scripts)."""
    return AIMessage(content=_content, tool_calls=[
        {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}])


def _to_message(item: Response) -> AIMessage:
    if isinstance(item, AIMessage):
        return item
    if isinstance(item, str):
        return AIMessage(content=item)
    if isinstance(item, dict):
        if "tool" in item:
            return tool_call(item["tool"], item.get("content", ""), **item.get("args", {}))
        calls = [{"name": c["name"], "args": c.get("args", {}),
                  "id": c.get("id") or f"call_{uuid.uuid4().hex[:8]}", "type": "tool_call"}
                 for c in item.get("tool_calls", [])]
        return AIMessage(content=item.get("content", ""), tool_calls=calls)
    raise TypeError(f"cannot script a response of type {type(item).__name__}")


def _estimate(text: str) -> int:
    return max(1, len(text) // 4)


class ScriptedChatModel(BaseChatModel):
    """Returns scripted AIMessages; supports ``bind_tools``; records what it was sent.
    ``parallel``: answer a request for ``n`` completions with the next ``n`` responses, as
    vLLM and llama-server do (one recorded call)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: Any = None  # list[Response] | Callable[[list[BaseMessage]], Response]
    name_: str = "scripted"
    parallel: bool = False
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _index: int = PrivateAttr(default=0)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _kwargs: list[dict[str, Any]] = PrivateAttr(default_factory=list)
    _tools: list[Any] = PrivateAttr(default_factory=list)

    def __init__(self, responses: Sequence[Response] | Callable[[list[BaseMessage]], Response],
                 *, name: str = "scripted", parallel: bool = False, **kwargs: Any) -> None:
        if not callable(responses):
            responses = list(responses)
        super().__init__(responses=responses, name_=name, parallel=parallel,  # type: ignore[call-arg]
                         **kwargs)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    @property
    def model_name(self) -> str:
        return self.name_

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The messages of every call so far, in order."""
        return list(self._calls)

    @property
    def call_options(self) -> list[dict[str, Any]]:
        """The extra options (temperature, seed, ...) each call was made with, in order."""
        return list(self._kwargs)

    @property
    def bound_tools(self) -> list[Any]:
        return list(self._tools)

    @property
    def remaining(self) -> int:
        return len(self.responses) - self._index if isinstance(self.responses, list) else 0

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Any:
        with self._lock:
            self._tools = list(tools)
        return self

    def _next(self, messages: list[BaseMessage], options: dict[str, Any]) -> Response:
        with self._lock:
            self._calls.append(list(messages))
            self._kwargs.append(options)
            if callable(self.responses):
                pass
            elif self._index >= len(self.responses):
                raise RuntimeError(f"ScriptedChatModel: script exhausted after {self._index} "
                                   "responses")
            else:
                item = self.responses[self._index]
                self._index += 1
                return item
        return self.responses(list(messages))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        options = {k: v for k, v in kwargs.items() if k != "tools"}
        if stop is not None:
            options["stop"] = list(stop)
        n = int(options.get("n") or 1) if self.parallel else 1
        item = self._next(messages, options)
        items = [item] + [self._next_more() for _ in range(n - 1)]
        generations = []
        for item in items:
            if isinstance(item, BaseException):
                raise item
            message = _to_message(item)
            if message.usage_metadata is None:
                sent = sum(_estimate(str(m.content)) for m in messages)
                out = _estimate(str(message.content) + str(message.tool_calls))
                message = message.model_copy(update={"usage_metadata": {
                    "input_tokens": sent, "output_tokens": out, "total_tokens": sent + out}})
            generations.append(ChatGeneration(message=message))
        return ChatResult(generations=generations)

    def _next_more(self) -> Response:
        """One more completion of the same request (not recorded as another call)."""
        with self._lock:
            if callable(self.responses):
                return self.responses(list(self._calls[-1]))
            if self._index >= len(self.responses):
                raise RuntimeError(f"ScriptedChatModel: script exhausted after {self._index} "
                                   "responses")
            item = self.responses[self._index]
            self._index += 1
            return item

"""Several OpenAI-compatible servers used as one chat model: each call goes to the next server
in turn (a batch spreads over them), and a call that fails to connect tries the next one."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, PrivateAttr

from agent.models.transient import is_transient


class RoundRobinChatModel(BaseChatModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    models: list[Any]
    _cycle: Any = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def model_post_init(self, context: Any) -> None:
        if not self.models:
            raise ValueError("RoundRobinChatModel needs at least one model")
        self._cycle = itertools.cycle(range(len(self.models)))

    @property
    def _llm_type(self) -> str:
        return "round-robin"

    @property
    def model_name(self) -> str:
        first = self.models[0]
        name = getattr(first, "model_name", None) or type(first).__name__
        return f"{name} x{len(self.models)}"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Any:
        bound = [m.bind_tools(tools, tool_choice=tool_choice, **kwargs) for m in self.models]
        return RoundRobinChatModel(models=bound)

    def _next(self) -> int:
        with self._lock:
            return int(next(self._cycle))

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None,
                  **kwargs: Any) -> ChatResult:
        start = self._next()
        error: Exception | None = None
        for k in range(len(self.models)):
            model = self.models[(start + k) % len(self.models)]
            try:
                message = model.invoke(messages, stop=stop, **kwargs)
            except Exception as exc:
                if not is_transient(exc):  # only a server that is down is skipped
                    raise
                error = exc
                continue
            if not isinstance(message, AIMessage):
                message = AIMessage(content=str(getattr(message, "content", message)))
            return ChatResult(generations=[ChatGeneration(message=message)])
        assert error is not None
        raise error

"""One small interface over LangChain chat models: a ``Backend`` is the chat model, the name to
show for it, and how it calls tools ('native' tool calls, or the 'text' protocol).

``resolve(None)`` picks the endpoint from the environment (``TABLEPILOT_BASE_URL``, vLLM or any
OpenAI-compatible server), else the managed local CPU model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

ToolMode = Literal["native", "text"]
ENV_TOOL_MODE = "TABLEPILOT_TOOL_MODE"


@dataclass
class Backend:
    llm: Any  # a LangChain BaseChatModel
    name: str
    tool_mode: ToolMode = "native"
    kind: str = "custom"  # 'openai', 'local', 'scripted', 'custom'

    def describe(self) -> str:
        return f"{self.name} [{self.kind}, {self.tool_mode} tool calls]"


def supports_native_tools(llm: Any) -> bool:
    from langchain_core.language_models import BaseChatModel

    bind = getattr(type(llm), "bind_tools", None)
    return bind is not None and bind is not BaseChatModel.bind_tools


def model_display_name(llm: Any) -> str:
    for attr in ("model_name", "model", "model_id", "name_"):
        value = getattr(llm, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(llm).__name__


def _mode(default: ToolMode, override: str | None) -> ToolMode:
    chosen = override or os.environ.get(ENV_TOOL_MODE) or default
    if chosen not in ("native", "text"):
        raise ValueError(f"tool mode must be 'native' or 'text', not {chosen!r}")
    return chosen  # type: ignore[return-value]


def resolve(model: Any = None, *, base_url: str | None = None, model_name: str | None = None,
            api_key: str | None = None, local: str | bool | None = None,
            tool_mode: str | None = None, timeout_s: float = 120.0) -> Backend:
    """Turn what the user gave (a chat model, a Backend, a model name, or nothing) into a Backend."""
    if isinstance(model, Backend):
        return model
    if model is not None and not isinstance(model, str):
        kind = "scripted" if type(model).__name__ == "ScriptedChatModel" else "custom"
        default: ToolMode = "native" if supports_native_tools(model) else "text"
        return Backend(model, model_display_name(model), _mode(default, tool_mode), kind)
    if isinstance(model, str) and model.startswith("local:"):
        local, model = model.split(":", 1)[1] or True, None
    from agent.models import openai_compat

    if not local and (base_url or openai_compat.configured()):
        urls = [u.strip() for u in (base_url or os.environ.get(openai_compat.ENV_BASE_URL, ""))
                .split(",") if u.strip()]
        clients = [openai_compat.openai_chat_model(url, model or model_name, api_key=api_key,
                                                   timeout_s=timeout_s) for url in urls]
        if len(clients) == 1:
            return Backend(clients[0], str(clients[0].model_name), _mode("native", tool_mode),
                           "openai")
        from agent.models.round_robin import RoundRobinChatModel

        llm = RoundRobinChatModel(models=clients)
        return Backend(llm, f"{clients[0].model_name} ({len(clients)} servers)",
                       _mode("native", tool_mode), "openai")
    from agent.local_model import default_model_name
    from agent.models.local import local_chat_model

    name = local if isinstance(local, str) else (model or model_name or default_model_name())
    llm = local_chat_model(name)
    return Backend(llm, f"{name} (local llama.cpp)", _mode("text", tool_mode), "local")

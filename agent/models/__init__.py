"""One small interface over LangChain chat models: a ``Backend`` is the chat model, the name to
show for it, and how it calls tools ('native' tool calls, or the 'text' protocol).

``resolve(None)`` picks the endpoint from the environment (``TABLEPILOT_BASE_URL``, vLLM or any
OpenAI-compatible server), else the managed local CPU model. ``resolve("openai:NAME@URL")`` and
the other spec strings of agent.models.spec name one exactly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from agent.errors import ModelSpecError, UsageError
from agent.models.spec import (
    ModelSpec,
    looks_misspelt,
    parse_spec,
    scripted_model,
    spec_prefix,
    spec_string,
)

ToolMode = Literal["native", "text"]
ENV_TOOL_MODE = "TABLEPILOT_TOOL_MODE"
ENV_BASE_URL = "TABLEPILOT_BASE_URL"  # the same name as openai_compat's (imported lazily there)

__all__ = ["Backend", "ModelSpec", "ToolMode", "parse_spec", "resolve", "spec_string"]


@dataclass
class Backend:
    llm: Any  # a LangChain BaseChatModel
    name: str
    tool_mode: ToolMode = "native"
    kind: str = "custom"  # 'openai', 'local', 'scripted', 'custom'
    # one request may ask for n sampled completions of one prompt (vLLM, llama-server): drafts
    # are then decoded together from one processed prompt instead of one call each
    parallel_drafts: bool = False
    engine: str = ""  # what serves a local model ('llama-server', 'llama-cpp-python')

    def describe(self) -> str:
        how = f"{self.kind}, {self.engine}" if self.engine else self.kind
        return f"{self.name} [{how}, {self.tool_mode} tool calls]"


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
        raise UsageError(f"tool mode must be 'native' or 'text', not {chosen!r}")
    return chosen  # type: ignore[return-value]


def _urls(listed: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in listed.split(",") if u.strip())


def spec_from_options(model: str | None = None, *, base_url: str | None = None,
                      model_name: str | None = None, local: str | bool | None = None) -> ModelSpec:
    """The ModelSpec the keyword arguments (and the environment) name; ``model`` is a bare
    model name here. An endpoint (``base_url`` or TABLEPILOT_BASE_URL) means that server,
    unless ``local`` asks for the local model; without one, the local model."""
    from agent.models import openai_compat

    name = model or model_name or None
    if not local and (base_url or openai_compat.configured()):
        urls = _urls(base_url or os.environ.get(openai_compat.ENV_BASE_URL, ""))
        return ModelSpec("openai", name, urls)
    return ModelSpec("local", local if isinstance(local, str) else name)


def chat_model_backend(llm: Any, tool_mode: str | None = None) -> Backend:
    """A Backend for a chat model object given directly (a ScriptedChatModel, any LangChain
    chat model)."""
    from agent.models.scripted import ScriptedChatModel

    scripted = isinstance(llm, ScriptedChatModel)
    default: ToolMode = "native" if supports_native_tools(llm) else "text"
    return Backend(llm, model_display_name(llm), _mode(default, tool_mode),
                   "scripted" if scripted else "custom",
                   parallel_drafts=scripted and bool(llm.parallel))


def resolve(model: Any = None, *, base_url: str | None = None, model_name: str | None = None,
            api_key: str | None = None, local: str | bool | None = None,
            tool_mode: str | None = None, timeout_s: float = 120.0) -> Backend:
    """Turn what the user gave into a Backend. ``model`` may be a Backend, a chat model, a
    ModelSpec, a spec string (``local:``, ``openai:NAME@URL``, ``scripted:PATH``), a bare model
    name (at the configured endpoint, else a local model), or None (the environment's
    endpoint, else the default local model). A spec string's name or server wins over
    ``model_name``/``base_url``, which only fill in what it leaves out."""
    if isinstance(model, Backend):
        return model
    if model is not None and not isinstance(model, str | ModelSpec):
        return chat_model_backend(model, tool_mode)
    if isinstance(model, str) and spec_prefix(model) is None and looks_misspelt(model):
        parse_spec(model)  # "opnai:..." is a typo, not a model name: raise its ModelSpecError
    if isinstance(model, ModelSpec):
        spec = model
    elif isinstance(model, str) and spec_prefix(model):
        spec = parse_spec(model)
    else:
        spec = spec_from_options(model, base_url=base_url, model_name=model_name, local=local)
    return backend_for(spec, base_url=base_url, model_name=model_name, api_key=api_key,
                       tool_mode=tool_mode, timeout_s=timeout_s)


def backend_for(spec: ModelSpec, *, base_url: str | None = None, model_name: str | None = None,
                api_key: str | None = None, tool_mode: str | None = None,
                timeout_s: float = 120.0) -> Backend:
    """Build the chat model a ModelSpec names (``base_url``/``model_name`` fill in the server
    and the name a spec leaves out)."""
    if spec.kind == "scripted":
        return chat_model_backend(scripted_model(spec), tool_mode)
    if spec.kind == "openai":
        return _openai_backend(spec.name or model_name,
                               spec.urls or _urls(base_url or os.environ.get(ENV_BASE_URL, "")),
                               api_key=api_key, tool_mode=tool_mode, timeout_s=timeout_s)
    from agent.models.local import get_server, local_chat_model
    from agent.models.weights import default_model_name

    name = spec.name or model_name or default_model_name()
    server = get_server(name)
    return Backend(local_chat_model(name), f"{name} (local llama.cpp)", _mode("text", tool_mode),
                   "local", parallel_drafts=server.parallel_drafts, engine=server.engine)


def _openai_backend(name: str | None, urls: tuple[str, ...], *, api_key: str | None,
                    tool_mode: str | None, timeout_s: float) -> Backend:
    from agent.models import openai_compat

    if not urls:
        raise ModelSpecError(f"openai:{name or ''} names no server: add @URL, pass --base-url "
                             f"or set {ENV_BASE_URL}")
    clients = [openai_compat.openai_chat_model(url, name, api_key=api_key, timeout_s=timeout_s)
               for url in urls]
    if len(clients) == 1:
        return Backend(clients[0], str(clients[0].model_name), _mode("native", tool_mode),
                       "openai", parallel_drafts=True)
    from agent.models.round_robin import RoundRobinChatModel

    llm = RoundRobinChatModel(models=clients)
    return Backend(llm, f"{clients[0].model_name} ({len(clients)} servers)",
                   _mode("native", tool_mode), "openai", parallel_drafts=True)

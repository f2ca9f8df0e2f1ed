"""Any OpenAI-compatible server (vLLM, llama.cpp, Ollama, a hosted API) as a LangChain chat model.

``langchain_openai`` is imported here, lazily: it costs seconds, and a run with a scripted or
injected model never needs it.
"""

from __future__ import annotations

import os
from typing import Any

ENV_BASE_URL = "TABLEPILOT_BASE_URL"
ENV_MODEL = "TABLEPILOT_MODEL"
ENV_API_KEY = "TABLEPILOT_API_KEY"


def configured() -> bool:
    """True when the environment names an endpoint."""
    return bool(os.environ.get(ENV_BASE_URL))


def normalise_base_url(url: str) -> str:
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def discover_model(base_url: str, api_key: str, timeout_s: float = 10.0) -> str:
    """The first model the server lists (vLLM serves one), for when none was named."""
    import httpx

    resp = httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"},
                     timeout=timeout_s)
    resp.raise_for_status()
    data = resp.json().get("data") or []
    if not data:
        raise RuntimeError(f"{base_url} lists no models; pass --model")
    return str(data[0]["id"])


def openai_chat_model(base_url: str | None = None, model: str | None = None, *,
                      api_key: str | None = None, temperature: float = 0.0,
                      timeout_s: float = 120.0, max_retries: int = 2,
                      max_tokens: int | None = 1024, **kwargs: Any) -> Any:
    """A ``ChatOpenAI`` pointed at ``base_url`` (or ``TABLEPILOT_BASE_URL``) that keeps the
    server's timings when it sends them (agent/models/timed_openai.py)."""
    from agent.models.timed_openai import TimedChatOpenAI

    base_url = base_url or os.environ.get(ENV_BASE_URL)
    if not base_url:
        raise ValueError(f"no endpoint: pass base_url or set {ENV_BASE_URL}")
    base_url = normalise_base_url(base_url)
    api_key = api_key or os.environ.get(ENV_API_KEY) or "EMPTY"
    model = model or os.environ.get(ENV_MODEL) or discover_model(base_url, api_key)
    from pydantic import SecretStr

    options: dict[str, Any] = dict(base_url=base_url, model=model, api_key=SecretStr(api_key),
                                   temperature=temperature, timeout=timeout_s,
                                   max_retries=max_retries, max_tokens=max_tokens, **kwargs)
    return TimedChatOpenAI(**options)

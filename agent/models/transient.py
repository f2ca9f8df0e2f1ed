"""Which model-server failures are worth retrying, by exception class (never by name)."""

from __future__ import annotations

from functools import cache


@cache
def transient_errors() -> tuple[type[BaseException], ...]:
    """Server errors worth retrying: refused or dropped connections, timeouts, overload."""
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        import openai

        kinds += [openai.APIConnectionError, openai.InternalServerError, openai.RateLimitError]
    except ImportError:  # pragma: no cover - openai comes with langchain-openai
        pass
    try:
        import httpx

        kinds += [httpx.TransportError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, transient_errors())

"""The agent loop and the public Python API."""

from typing import TYPE_CHECKING, Any

from agent.answer import Answer, Step

if TYPE_CHECKING:
    from agent.core import TableAgent
    from agent.session import Session

__all__ = ["Answer", "Session", "Step", "TableAgent"]


def __getattr__(name: str) -> Any:  # lazy: `import agent` stays cheap for the CLI's --help
    if name == "TableAgent":
        from agent.core import TableAgent

        return TableAgent
    if name == "Session":
        from agent.session import Session

        return Session
    raise AttributeError(f"module 'agent' has no attribute {name!r}")

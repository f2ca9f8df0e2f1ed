"""The agent loop and the public Python API."""

from typing import TYPE_CHECKING, Any

from agent.answer import Answer, Step

if TYPE_CHECKING:
    from agent.core import TableAgent
    from agent.session import Session
    from agent.toolkits import Toolkit, toolkit

__all__ = ["Answer", "Session", "Step", "TableAgent", "Toolkit", "toolkit"]


def __getattr__(name: str) -> Any:  # lazy: `import agent` stays cheap for the CLI's --help
    if name == "TableAgent":
        from agent.core import TableAgent

        return TableAgent
    if name == "Session":
        from agent.session import Session

        return Session
    if name in ("toolkit", "Toolkit"):
        from agent import toolkits

        return getattr(toolkits, name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")

"""The agent loop and the public Python API."""

from agent.answer import Answer, Step

__all__ = ["Answer", "Step"]

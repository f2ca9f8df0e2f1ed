"""The agent layer's errors, by audience.

``AgentError`` is the one root the CLI and the app catch. The user's mistakes (a bad model spec,
an unknown rule) are raised at once with a message that names the problem; the model's mistakes
never raise: they go back to the model as observations. A model server that fails is a
``ModelCallError``; the run ends with status ``limit`` or ``error`` and says why.
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of every error the agent layer raises."""


class UsageError(AgentError, ValueError):
    """The caller's mistake: a bad argument, spec or option (the message says which)."""


class ModelSpecError(UsageError):
    """A model spec string that cannot be read (``local:NAME``, ``openai:NAME@URL``, ...)."""


class UnknownRuleError(UsageError):
    """A rule or family name that no rule has."""


class ModelCallError(AgentError):
    """The model server failed (after retries) or the call ran past the time limit."""

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        super().__init__(message)
        self.timeout = timeout

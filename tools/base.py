"""The tool protocol: a name, a typed argument schema, a docstring the LLM sees, and a result.

A tool subclass declares ``name``, an ``Args`` pydantic model and a class docstring; that
docstring, verbatim, is the tool description the model gets. ``run`` does the work and raises
``ToolFailure`` for mistakes the model can fix; the caller always gets a ``ToolResult``.
"""

from __future__ import annotations

import inspect
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from tools.payloads import CrashPayload, ToolPayload


@dataclass
class ToolError:
    """Why a call failed. ``kind``: 'arguments', 'query', 'code', 'limit', 'unavailable', 'internal'."""

    kind: str
    message: str
    hint: str | None = None
    location: str | None = None

    def render(self) -> str:
        parts = [f"ERROR ({self.kind}): {self.message}"]
        if self.location:
            parts.append(f"at: {self.location}")
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "\n".join(parts)


@dataclass
class ToolResult:
    """``observation`` is what the model sees; ``payload`` is structured data for the app and log
    (one type per tool: tools/payloads.py, read through its accessors)."""

    observation: str
    payload: ToolPayload | None = None
    error: ToolError | None = None
    tables: list[str] = field(default_factory=list)  # catalog tables the call read
    cells: list[str] = field(default_factory=list)  # A1 references the result came from
    read_as: list[str] = field(default_factory=list)  # invalid arguments repaired, how (notes)
    ran_with: dict[str, Any] | None = None  # the repaired arguments that ran (None: as given)

    @property
    def ok(self) -> bool:
        return self.error is None


class ToolFailure(Exception):
    """Raised inside a tool for an error the model should see and can fix."""

    def __init__(self, message: str, *, kind: str = "arguments", hint: str | None = None,
                 location: str | None = None) -> None:
        super().__init__(message)
        self.error = ToolError(kind=kind, message=message, hint=hint, location=location)


class Tool(ABC):
    name: ClassVar[str]
    Args: ClassVar[type[BaseModel]]

    @classmethod
    def description(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or cls.name)

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """JSON schema of the arguments (the OpenAI ``parameters`` object)."""
        schema = cls.Args.model_json_schema()
        schema.pop("title", None)
        return schema

    @classmethod
    def spec(cls) -> dict[str, Any]:
        """OpenAI-style function spec, as sent to a chat model."""
        return {"type": "function", "function": {
            "name": cls.name, "description": cls.description(), "parameters": cls.parameters()}}

    @abstractmethod
    def run(self, args: Any) -> ToolResult:
        """Do the work with validated ``args`` (an instance of ``Args``)."""

    def __call__(self, arguments: dict[str, Any] | None = None, /, **kwargs: Any) -> ToolResult:
        """Validate, run, and turn every failure into a ToolResult with an error."""
        raw = {**(arguments or {}), **kwargs}
        started = time.perf_counter()
        read_as: list[str] = []
        try:
            args = self.Args.model_validate(raw)
        except ValidationError as exc:
            repaired = self.repair_invalid(raw, exc)
            if repaired is None:
                return self._invalid(raw, exc)
            fixed, read_as = repaired
            try:
                args = self.Args.model_validate(fixed)
            except ValidationError:
                return self._invalid(raw, exc)
        try:
            result = self.run(args)
        except ToolFailure as exc:
            result = ToolResult(observation=exc.error.render(), error=exc.error)
        except Exception as exc:  # a bug in the tool must not end the session
            error = ToolError("internal", f"{type(exc).__name__}: {exc}",
                              hint="the tool failed; try another approach")
            result = ToolResult(observation=error.render(), error=error,
                                payload=CrashPayload(traceback=traceback.format_exc()))
        if isinstance(result.payload, dict):
            result.payload.setdefault("duration_s", time.perf_counter() - started)
        if read_as:
            result.read_as, result.ran_with = read_as, fixed
            result.observation = "\n".join([*(f"note: {n}" for n in read_as), result.observation])
        return result

    def _invalid(self, raw: dict[str, Any], exc: ValidationError) -> ToolResult:
        error = self.explain_invalid(raw, exc)
        if error is None:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                for e in exc.errors())
            error = ToolError("arguments", f"invalid arguments for {self.name}: {problems}",
                              hint=f"expected arguments: {list(self.Args.model_fields)}")
        return ToolResult(observation=error.render(), error=error)

    def explain_invalid(self, raw: dict[str, Any], exc: ValidationError) -> ToolError | None:
        """The model's invalid arguments explained with the fix to make (None: pydantic's own
        messages). A tool with a rich argument schema overrides this."""
        return None

    def repair_invalid(self, raw: dict[str, Any], exc: ValidationError
                       ) -> tuple[dict[str, Any], list[str]] | None:
        """Invalid arguments read the one way they can mean, with a note per change for the
        model; None (the default) sends the error back instead."""
        return None

    def as_langchain(self) -> Any:
        """This tool as a LangChain StructuredTool (returns the observation text)."""
        from langchain_core.tools import StructuredTool

        def _call(**kwargs: Any) -> str:
            return self(kwargs).observation

        return StructuredTool.from_function(
            func=_call, name=self.name, description=self.description(), args_schema=self.Args)

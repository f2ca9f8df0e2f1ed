"""TableAgent: the public Python API (ask, chat, batch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from agent.answer import Answer
from agent.context import Limits
from agent.effort import LOCAL_EFFORT, REMOTE_EFFORT
from agent.effort import effort as get_effort
from agent.errors import UsageError
from agent.loop import OnStep, OnText
from agent.models import Backend, resolve
from agent.rules import RuleSet
from agent.rules import select as select_rules
from agent.runs import run_turn, sql_repairs
from agent.toolset import SqlPool, ToolFactory, close_tools, default_tools, find_tool
from table_io import open_workbook
from table_io.model import Workbook

if TYPE_CHECKING:
    from agent.session import Session

Strategy = Literal["agent", "direct", "sql_once"]
STRATEGIES = ("agent", "direct", "sql_once")


class TableAgent:
    """Answers questions about tables, and edits workbooks, with a tool-calling LLM.

    ``model``: a model spec (``"local:NAME"``, ``"openai:NAME@URL"``, ``"scripted:PATH"``: see
    agent/models/spec.py), any LangChain chat model (native tool calls when it supports
    ``bind_tools``, else the text protocol), a ``Backend``, a model name served at ``base_url``,
    or None: ``TABLEPILOT_BASE_URL``/``TABLEPILOT_MODEL`` when set, else the local CPU model.
    ``strategy``: "agent" (the tool loop), or the baselines "direct" (packed table and question
    in one call, no tools) and "sql_once" (one-shot text-to-SQL, executed).
    ``effort``: "fast", "balanced" or "thorough" (agent/effort.py): how many drafts of a query
    step the model writes, and when; None: "balanced" for the local CPU model, else "fast".
    ``samples``: overrides the effort's number of drafts of a query step (run and voted on by
    their results; helps small models most, costs extra model time); given alone, they are
    drafted as "thorough" drafts them.
    ``example_choice``: "similar" (the exemplars most like the question) or "fixed" (the same
    for every question, so a server's prompt cache can reuse the prompt up to the question).
    ``rules``: the loop's rules (agent/rules/): a ``RuleSet`` from ``agent.rules.select``, a
    list of rule ids or family names, or None for the default-on rules.
    """

    def __init__(self, model: Any = None, *, max_steps: int = 8, max_tokens: int = 60_000,
                 timeout_s: float = 300.0, strategy: Strategy = "agent",
                 tools: ToolFactory | None = None, base_url: str | None = None,
                 model_name: str | None = None, api_key: str | None = None,
                 local: str | bool | None = None, tool_mode: str | None = None,
                 view_tokens: int = 1500, python: bool = True, examples: int = 2,
                 informer: bool = True, max_errors: int = 4,
                 samples: int | None = None, effort: str | None = None,
                 example_choice: Literal["similar", "fixed"] = "similar",
                 rules: RuleSet | str | Iterable[str] | None = None) -> None:
        if samples is not None and samples < 1:
            raise UsageError(f"samples must be at least 1, not {samples}")
        # drafts asked for by number alone are drafted as 'thorough' drafts them
        chosen = effort or ("thorough" if samples is not None else None)
        self._effort = get_effort(chosen) if chosen else None
        if strategy not in STRATEGIES:
            raise UsageError(f"strategy must be one of {STRATEGIES}, not {strategy!r}")
        self.strategy: Strategy = strategy
        self.limits = Limits(max_steps=max_steps, max_tokens=max_tokens, timeout_s=timeout_s,
                             view_tokens=view_tokens, max_errors=max_errors,
                             samples=samples or 1)
        self._samples = samples
        self.rules = select_rules(rules)  # a RuleSet; None: the default-on rules
        self.tool_factory = tools
        self.python = python
        self.examples = examples
        if example_choice not in ("similar", "fixed"):
            raise UsageError(f"example_choice must be 'similar' or 'fixed', not {example_choice!r}")
        self.example_choice: str = example_choice
        self.use_informer = informer
        self._model_spec: dict[str, Any] = dict(model=model, base_url=base_url,
                                                model_name=model_name, api_key=api_key,
                                                local=local, tool_mode=tool_mode)
        self._backend: Backend | None = None
        self._sql_pool = SqlPool(repairs=sql_repairs(self.rules))
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- model

    @property
    def backend(self) -> Backend:
        """The chat model, resolved (and for the local model, started) on first use."""
        with self._lock:
            if self._backend is None:
                self._backend = resolve(**self._model_spec, timeout_s=self.limits.timeout_s)
                if self._effort is None:
                    self._effort = get_effort(
                        LOCAL_EFFORT if self._backend.kind == "local" else REMOTE_EFFORT)
                self._apply_effort()
            return self._backend

    @property
    def effort(self) -> str:
        """The effort setting (resolves the model to choose the default). Settable between
        questions, e.g. from the app: the next question uses it."""
        self.backend  # noqa: B018  (resolving the model sets the default)
        assert self._effort is not None
        return self._effort.name

    @effort.setter
    def effort(self, name: str) -> None:
        chosen = get_effort(name)
        with self._lock:
            self._effort, self._samples = chosen, None
            if self._backend is not None:
                self._apply_effort()

    def _apply_effort(self) -> None:
        assert self._effort is not None
        self.limits.samples = self._samples or self._effort.samples
        self.limits.draft_on = self._effort.draft_on
        self.limits.short_prompt = self._effort.short_prompt

    @property
    def samples(self) -> int:
        """Drafts per query step (resolves the model to choose the default)."""
        self.backend  # noqa: B018  (resolving the model sets the default)
        return self.limits.samples

    @property
    def model_name(self) -> str:
        return self.backend.name

    # ---------------------------------------------------------------- helpers

    @staticmethod
    def open(source: Any) -> Workbook:
        """A Workbook from a path, bytes-less source, DataFrame or Workbook."""
        return source if isinstance(source, Workbook) else open_workbook(source)

    def make_tools(self, workbook: Workbook, versions: Any = None, *,
                   pooled: bool = False) -> list[Any]:
        if self.tool_factory is not None:
            return list(self.tool_factory(workbook))
        return default_tools(workbook, versions=versions, python=self.python,
                             sql_pool=self._sql_pool if pooled else None,
                             sql_repairs=sql_repairs(self.rules))

    def release_tools(self, workbook: Workbook, tools: list[Any], *, pooled: bool) -> None:
        """Pooled SQL tools go back to the pool; every other tool is closed."""
        sql = find_tool(tools, "sql") if pooled and self.tool_factory is None else None
        if sql is not None:
            self._sql_pool.release(workbook, sql)
        close_tools([t for t in tools if t is not sql])

    def close(self) -> None:
        """Close the pooled SQL catalogs (the local model server stops at exit)."""
        self._sql_pool.close()

    # ---------------------------------------------------------------- API

    def ask(self, source: Any, question: str, *, on_step: OnStep | None = None,
            on_text: OnText | None = None) -> Answer:
        """Answer one question about ``source`` (a path, a DataFrame or a Workbook)."""
        workbook = self.open(source)
        return self.ask_workbook(workbook, question, on_step=on_step, on_text=on_text)

    def ask_workbook(self, workbook: Workbook, question: str, *, on_step: OnStep | None = None,
                     on_text: OnText | None = None) -> Answer:
        started = time.monotonic()
        backend = self.backend
        if self.strategy != "agent":
            from agent import baselines

            return baselines.run(self.strategy, backend, workbook, question, self.limits)
        tools = self.make_tools(workbook, pooled=True)
        try:
            answer = run_turn(self, workbook, question, tools, on_step=on_step, on_text=on_text)
        finally:
            self.release_tools(workbook, tools, pooled=True)
        answer.duration_s = round(time.monotonic() - started, 6)
        return answer

    def chat(self, source: Any, *, auto_apply: bool = True,
             workdir: str | Path | None = None) -> Session:
        """A multi-turn session over a workbook, with versions, undo/redo and edits."""
        from agent.session import Session

        return Session(self, source, auto_apply=auto_apply, workdir=workdir)

    def batch(self, items: Iterable[dict[str, Any]], *, concurrency: int = 8,
              out: str | Path | None = None, progress: bool = True) -> Iterator[tuple[Any, Answer]]:
        """Answer many ``{"id", "source", "question"}`` items concurrently; yields
        ``(id, Answer)`` as they finish; with ``out``, appends each to a JSONL file and skips
        the items already there (resume)."""
        from agent.batch import run_batch

        return run_batch(self, items, concurrency=concurrency, out=out, progress=progress)

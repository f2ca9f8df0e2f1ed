"""One place that prepares and runs the loop, for ``TableAgent.ask`` and ``Session.send``:
the turn's context (TAP's packed view, the Informer's notes, the schema), the retriever, the
rules, then ``Run.execute``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from langchain_core.messages import BaseMessage

from agent.answer import Answer
from agent.context import Limits, TurnContext
from agent.edit_intent import read_intent
from agent.informer import Informer, informer_for
from agent.loop import OnStep, OnText, Run
from agent.models import Backend
from agent.retriever import Retriever
from agent.rules import RuleSet
from agent.rules.sql import repairs_kept
from agent.toolset import find_tool
from agent.view import packed_view
from table_io.model import Workbook
from tools.base import Tool, ToolResult
from tools.sql.repairs import Repair


class RunSettings(Protocol):
    """What a run needs from its agent (``TableAgent`` has all of it)."""

    @property
    def backend(self) -> Backend: ...
    limits: Limits
    rules: RuleSet
    examples: int
    example_choice: str
    use_informer: bool


def turn_context(settings: RunSettings, workbook: Workbook, question: str, tools: list[Tool],
                 history: list[BaseMessage] | None = None) -> tuple[TurnContext, Informer | None]:
    view = packed_view(workbook, question, budget_tokens=settings.limits.view_tokens)
    informer = informer_for(workbook, find_tool(tools, "sql")) if settings.use_informer else None
    notes = informer.notes(question) if informer is not None else ""
    intent = read_intent(question) if find_tool(tools, "sheet") is not None else None
    ctx = TurnContext(view_text=view.text, informer_notes=notes, history=list(history or []),
                      view_tables=view.tables,
                      schema={t.name: list(t.columns) for t in workbook.tables},
                      intent=intent, workbook=workbook)
    return ctx, informer


def run_turn(settings: RunSettings, workbook: Workbook, question: str, tools: list[Tool], *,
             history: list[BaseMessage] | None = None, on_step: OnStep | None = None,
             on_text: OnText | None = None,
             after_tool: Callable[[str, ToolResult], None] | None = None) -> Answer:
    """Answer ``question`` over ``workbook`` with ``tools`` (the caller closes them)."""
    backend = settings.backend
    ctx, informer = turn_context(settings, workbook, question, tools, history)
    run = Run(backend, tools, question, context=ctx, limits=settings.limits, informer=informer,
              retriever=Retriever(k=settings.examples, mode=backend.tool_mode,
                                  fixed=settings.example_choice == "fixed"),
              rules=settings.rules, on_step=on_step, on_text=on_text, after_tool=after_tool)
    return run.execute()


def sql_repairs(rules: RuleSet) -> tuple[Repair, ...]:
    """The SQL repairs the rule set keeps on (the ``sql`` family), for the SQL tool."""
    return repairs_kept(rules.ids)

"""The prompts of a run, from the data files in prompts/: the system prompt, the opening turn
(packed view, Informer notes, exemplars, schema line) and the short query-only draft prompt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

import prompts
from agent.context import TurnContext
from agent.retriever import Retriever
from agent.untrusted import as_data
from agent.view import schema_line
from tools.base import Tool


@cache
def messages_text() -> dict[str, str]:
    import yaml

    return dict(yaml.safe_load(prompts.load("messages.yaml")))


@cache
def final_answer_spec() -> dict[str, Any]:
    return dict(json.loads(prompts.load("final_answer.json")))


def tool_specs(tools: Sequence[Tool]) -> list[dict[str, Any]]:
    return [*(t.spec() for t in tools), final_answer_spec()]


def system_prompt(tools: Sequence[Tool], text_protocol: bool) -> str:
    lines = []
    for tool in tools:
        doc = tool.description().strip()
        arg = ", ".join(tool.Args.model_fields)
        lines.append(f"- {tool.name}({arg}): {doc if text_protocol else doc.splitlines()[0]}")
    lines.append("- final_answer(answer): give the answer value (or a list of values) and end.")
    protocol = prompts.load("text_protocol.md").format() if text_protocol else ""
    return prompts.render("system.md", tools="\n".join(lines), protocol=protocol)


def _informer(ctx: TurnContext) -> str:
    if not ctx.informer_notes:
        return ""
    return "\n" + as_data(messages_text()["informer_header"] + ctx.informer_notes) + "\n"


def turn_prompt(ctx: TurnContext, question: str, examples: Sequence[str]) -> str:
    example_text = ""
    if examples:
        example_text = messages_text()["examples_header"] + "\n\n".join(examples) + "\n"
    return prompts.render("turn.md", view=as_data(ctx.view_text), informer=_informer(ctx),
                          examples=example_text, question=question,
                          schema=as_data(schema_line(ctx.schema)[:1500]))


def opening(tools: Sequence[Tool], question: str, ctx: TurnContext, retriever: Retriever,
            text_protocol: bool) -> list[BaseMessage]:
    """The conversation before the model's first reply. Small models (text protocol) get the
    exemplars as earlier chat turns, which they follow far better than pasted examples."""
    names = {t.name for t in tools}
    shots = retriever.example_messages(question, names) if text_protocol else []
    examples = [] if text_protocol else retriever.examples(question, names)
    return [SystemMessage(system_prompt(tools, text_protocol)), *shots, *ctx.history,
            HumanMessage(turn_prompt(ctx, question, examples))]


def draft_prompt(ctx: TurnContext, question: str) -> str:
    """A short query-only prompt: another view of the task than the conversation."""
    return prompts.render("draft_query.md", view=as_data(ctx.view_text), informer=_informer(ctx),
                          schema=as_data(schema_line(ctx.schema)[:1500]), question=question)

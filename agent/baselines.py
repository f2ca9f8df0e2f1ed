"""The two baselines the evaluation runs beside the agent.

- "direct": the packed view and the question in one call, no tools; the reply's final answer.
- "sql_once": one-shot text-to-SQL; the query is run once and its result is the answer.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage

import prompts
from agent.answer import Answer, Step
from agent.context import Limits
from agent.errors import ModelCallError
from agent.models import Backend
from agent.models import text_protocol as tp
from agent.models.contract import ChatModel
from agent.values import coerce_answer, format_value, frame_value
from agent.view import packed_view
from table_io.model import Workbook
from tools.payloads import sql_payload


def run(strategy: str, backend: Backend, workbook: Workbook, question: str,
        limits: Limits) -> Answer:
    started = time.monotonic()
    view = packed_view(workbook, question, budget_tokens=limits.view_tokens)
    prompt = prompts.render("direct.md" if strategy == "direct" else "sql_once.md",
                            view=view.text, question=question)
    model = ChatModel(backend, retries=limits.model_retries)
    answer_model = backend.name
    try:
        reply = model.complete([HumanMessage(prompt)], deadline=started + limits.timeout_s)
    except ModelCallError as exc:
        return Answer(question=question, value=None, text=f"Stopped: {exc}.", status="error",
                      stop_reason=str(exc), model=answer_model, tables=view.tables,
                      duration_s=time.monotonic() - started)
    text = reply.text
    common: dict[str, Any] = dict(question=question, model=answer_model,
                                  tokens_in=reply.usage.input_tokens,
                                  tokens_out=reply.usage.output_tokens)
    if strategy == "direct":
        parsed = tp.parse(text, {"final_answer"})
        raw = parsed.call.args["answer"] if parsed.call else tp.parse_answer_text(text)
        value = coerce_answer(raw)
        return Answer(value=value, text=format_value(value), tables=view.tables,
                      cells=view.cells, duration_s=time.monotonic() - started, **common)
    return _sql_once(workbook, text, view.tables, started, common)


def _sql_once(workbook: Workbook, text: str, view_tables: list[str], started: float,
              common: dict[str, Any]) -> Answer:
    from tools.sql import SqlTool

    parsed = tp.parse(text, {"sql"})
    query = parsed.call.args.get("query") if parsed.call else None
    if not query and text.strip().lower().startswith(("select", "with")):
        query = text.strip()
    if not query:
        return Answer(value=None, text="Stopped: the model wrote no SQL.", status="model_format",
                      stop_reason="no SQL in the reply", tables=view_tables,
                      duration_s=time.monotonic() - started, **common)
    tool = SqlTool(workbook)
    t0 = time.perf_counter()
    result = tool({"query": query})
    step = Step(index=1, tool="sql", input={"query": query}, output=result.observation,
                error=result.error.render() if result.error else None,
                duration_s=time.perf_counter() - t0)
    if result.error:
        return Answer(value=None, text=f"Stopped: {result.error.message}", steps=[step],
                      status="tool_error", stop_reason=result.error.message,
                      tables=view_tables, duration_s=time.monotonic() - started, **common)
    frame = sql["frame"] if (sql := sql_payload(result)) is not None else None
    ok, value = frame_value(frame) if frame is not None else (False, None)
    if not ok and frame is not None and len(frame) and frame.shape[1] > 1:
        cell: Any = frame.iloc[0, 0]  # a numpy scalar, or a plain value
        value = cell.item() if hasattr(cell, "item") else cell
    return Answer(value=value, text=format_value(value), steps=[step],
                  tables=list(result.tables) or view_tables, cells=list(result.cells),
                  duration_s=time.monotonic() - started, **common)

"""The conversation: past turns, the answer being written, and the chat box."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import streamlit as st

from app.guard import redact
from app.state import AppState, Turn
from app.views.data import (
    changes_frame,
    chart_columns,
    display_frame,
    last_sql_frame,
    paragraphs,
    step_frame,
    step_rows,
    value_text,
)

if TYPE_CHECKING:
    from agent import Answer, Step

CODE_LANGUAGE = {"sql": "sql", "python": "python"}


def history(state: AppState) -> None:
    for turn in state.turns:
        with st.chat_message("user"):
            st.markdown(turn.question)
        with st.chat_message("assistant"):
            show_turn(turn)


def prompt(state: AppState) -> None:
    question = st.chat_input("Ask about the workbook, or ask for a change", key="question")
    if not question:
        return
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        progress = st.status(f"Working on it ({state.model_label()}): the model is writing "
                             "step 1 ...", expanded=True)
        text_slot = st.empty()
        started = time.monotonic()

        def on_step(step: Step) -> None:
            progress.update(label=f"Working on it ({time.monotonic() - started:.0f} s): the "
                                  f"model is writing step {step.index + 1} ...")
            progress.write(step_line(step))
            code = (step.input or {}).get("query") or (step.input or {}).get("code")
            if isinstance(code, str):
                progress.code(redact(code[:600]), language=CODE_LANGUAGE.get(step.tool))

        def on_text(text: str) -> None:  # what the model writes with each call, as it comes
            text_slot.markdown(paragraphs(redact(text)))

        turn = state.ask(question, on_step=on_step, on_text=on_text)
        if turn.error:
            progress.update(label="Failed", state="error", expanded=False)
        else:
            progress.update(label="Done", state="complete", expanded=False)
    st.rerun()  # draw the finished turn (and any proposed edit) in place


def step_line(step: Step) -> str:
    outcome = "failed" if step.error else "done"
    model = f"model {step.model_s:.1f} s, " if step.model_s else ""
    return f"{step.index}. {step.tool} {outcome} ({model}tool {step.duration_s:.2f} s)"


def show_turn(turn: Turn) -> None:
    if turn.error:
        st.error(f"The question could not be answered: {turn.error}")
        return
    answer = turn.answer
    if answer is None:
        return
    st.markdown(paragraphs(answer.text) or "(no text)")
    if answer.status != "ok":
        st.warning(f"Stopped early ({answer.status}): {answer.stop_reason or 'no reason given'}")
    facts = [f"**Value:** {value_text(answer.value)}"]
    if answer.tables:
        facts.append("**Tables:** " + ", ".join(f"`{t}`" for t in answer.tables))
    if answer.cells:
        cells = answer.cells[:12]
        more = f" and {len(answer.cells) - 12} more" if len(answer.cells) > 12 else ""
        facts.append("**Cells:** " + ", ".join(f"`{c}`" for c in cells) + more)
    st.markdown("  \n".join(facts))
    st.caption(f"Answered by {answer.model or 'the model'} · {answer.duration_s:.1f} s · "
               f"{answer.tokens_in:,} tokens in, {answer.tokens_out:,} out · "
               f"{len(answer.steps)} step(s)" + rules_note(answer))
    chart(answer)
    if answer.steps:
        with st.expander(f"Steps ({len(answer.steps)})", icon=":material/list:"):
            for step in answer.steps:
                show_step(step)


def rules_note(answer: Answer) -> str:
    """Which of the agent's rules shaped this answer (`tablepilot rules` says what each does)."""
    return f" · rules: {', '.join(answer.rules_fired)}" if answer.rules_fired else ""


def chart(answer: Answer) -> None:
    """A bar chart when the last SQL result is a few labelled numbers."""
    frame = last_sql_frame(answer.steps)
    columns = chart_columns(frame)
    if frame is None or columns is None:
        return
    import altair as alt

    label, number = columns
    data = frame[[label, number]].copy()
    data[label] = data[label].astype(str)
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(x=alt.X(f"{number}:Q", title=number),
                y=alt.Y(f"{label}:N", sort="-x", title=label),
                tooltip=[label, number])
        .properties(height=min(400, 28 * len(data) + 40))
    )
    st.altair_chart(chart, width="stretch")


def show_step(step: Step) -> None:
    tokens = f"{step.tokens_in:,} in / {step.tokens_out:,} out tokens"
    rules = f" · rules: {', '.join(step.rules)}" if step.rules else ""
    st.markdown(f"**{step.index}. {step.tool}** · {step.duration_s:.2f} s · {tokens}{rules}")
    if step.thought:
        st.caption(step.thought)
    tool_input = step.input or {}
    language = CODE_LANGUAGE.get(step.tool)
    payload = step.payload or {}
    if language:
        key = "query" if step.tool == "sql" else "code"
        st.code(str(tool_input.get(key, json.dumps(tool_input, default=str))), language=language)
        ran = payload.get("sql")
        if step.tool == "sql" and isinstance(ran, str) and ran.strip() != str(
                tool_input.get("query", "")).strip():
            st.caption("Run as (DuckDB):")
            st.code(ran, language="sql")
    elif tool_input:
        st.code(json.dumps(tool_input, indent=1, default=str), language="json")
    if step.error:
        st.error(step.error)
        return
    frame = step_frame(payload)
    if frame is not None:
        total = step_rows(payload)
        if total is not None and total > len(frame):
            st.caption(f"First {len(frame)} of {total:,} rows")
        st.dataframe(display_frame(frame, limit=50), hide_index=True)
    elif payload.get("changes"):
        st.dataframe(changes_frame(payload["changes"]), hide_index=True)
    if frame is None and not payload.get("changes") and step.output:
        st.code(step.output[:4000], language=None)

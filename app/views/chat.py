"""The conversation: past turns, the answer being written, and the chat box."""

from __future__ import annotations

import functools
import json
import re
import time
from typing import TYPE_CHECKING, Any

import streamlit as st

from app.guard import redact
from app.state import AppState, ChartKind, Turn
from app.views.data import (
    changes_frame,
    chart_columns,
    display_frame,
    last_sql_frame,
    paragraphs,
    pending_actions,
    pending_changes,
    step_frame,
    step_rows,
    value_text,
)
from app.views.preview import ROW_TABLE_PREFIX, row_table_key, selected_row, source_texts

if TYPE_CHECKING:
    import pandas as pd

    from agent import Answer, Step

CODE_LANGUAGE = {"sql": "sql", "python": "python"}
PLACEHOLDER = "Ask about the workbook, or ask for a change"

# What the agent says to the model only (the 'reply with final_answer' prompt, nudges, the
# drafts' vote line) reaches the page inside step observations and in text a small model echoes
# back: agent.answer.for_people takes it out.
FINAL_ANSWER = re.compile(r"^\s*\**\s*final answer\s*(\*\*\s*:|:\s*\**)\s*", re.IGNORECASE)


def without_internal_text(text: str) -> str:
    """``text`` without the agent's own instructions to the model."""
    from agent.answer import for_people

    return for_people(text)


def answer_lines(text: str) -> str:
    """An answer's text as the person reads it: the agent's instructions to the model taken out,
    a "Final answer: X" line reduced to X, and a line that repeats an earlier one dropped (the
    value and then "Final answer: value" is said once)."""
    kept: list[str] = []
    seen: set[str] = set()
    for line in without_internal_text(text or "").splitlines():
        line = FINAL_ANSWER.sub("", line).rstrip()
        key = " ".join(line.split()).casefold().rstrip(".")
        if key and key in seen:
            continue
        if key:
            seen.add(key)
        kept.append(line)
    return "\n".join(kept).strip()


def without_code(text: str) -> str:
    """A model's note beside a step without the fenced code it wrote (the step shows the code)."""
    return re.sub(r"```.*?(```|$)", "", text or "", flags=re.DOTALL).strip()


def same_code(a: str, b: str) -> bool:
    """Whether two queries are the same but for spacing, case of keywords and a final ';'."""
    def norm(text: str) -> str:
        return " ".join(text.replace(";", " ").split()).casefold()
    return norm(a) == norm(b)


# ---------------------------------------------------------------- the conversation


def history(state: AppState) -> None:
    for i, turn in enumerate(state.turns):
        with st.chat_message("user"):
            st.markdown(turn.question)
        with st.chat_message("assistant"):
            show_turn(state, turn, i)


def prompt(state: AppState) -> None:
    """The chat box: it waits while a question runs or the model cannot answer, and says why.

    A typed question is only queued (the box's callback runs before the page is drawn), so the
    box is drawn disabled before the answer is worked on, then enabled on the rerun after it."""
    page = page_id()
    blocked = state.chat_blocked(page)
    st.chat_input(PLACEHOLDER, key="question", disabled=blocked is not None,
                  on_submit=_queue, args=(state, page))
    if blocked:
        st.caption(blocked)
    if state.running and state.running_by == page:
        run_question(state, state.running)


def page_id() -> str:
    """This browser tab's id (a reload gets a new one): the tab that asked runs the question."""
    import secrets

    return str(st.session_state.setdefault("tablepilot-page", secrets.token_hex(8)))


def _queue(state: AppState, page: str) -> None:
    question = st.session_state.get("question")
    if isinstance(question, str):
        state.queue(question, page)


def run_question(state: AppState, question: str) -> None:
    """Answer ``question`` with its steps and the model's text drawn as they come."""
    with st.chat_message("user"):
        st.markdown(question)
    with st.chat_message("assistant"):
        progress = st.status(f"Working on it ({state.model_label()}): the model is writing "
                             "step 1 ...", expanded=True)
        text_slot = st.empty()
        started = time.monotonic()

        def on_step(step: Step) -> None:
            progress.update(label=f"Working on it ({time.monotonic() - started:.0f} s): the "
                                  f"model is writing step {step.index + 1} ...", expanded=True)
            progress.write(step_line(step))
            code = (step.input or {}).get("query") or (step.input or {}).get("code")
            if isinstance(code, str):
                progress.code(redact(code[:600]), language=CODE_LANGUAGE.get(step.tool))

        def on_text(text: str) -> None:  # what the model writes with each call, as it comes
            text_slot.markdown(paragraphs(redact(answer_lines(text))))

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


def show_turn(state: AppState, turn: Turn, index: int = 0) -> None:
    if turn.error:
        st.error(f"The question could not be answered: {turn.error}")
        return
    answer = turn.answer
    if answer is None:
        return
    if turn.proposed is not None:
        show_proposal(state, turn, answer)
    else:
        show_answer(answer)
    st.caption(f"Answered by {answer.model or 'the model'} · {answer.duration_s:.1f} s · "
               f"{answer.tokens_in:,} tokens in, {answer.tokens_out:,} out · "
               f"{len(answer.steps)} step(s)" + rules_note(answer))
    chart(state, answer, index)
    if answer.steps:
        with st.expander(f"Steps ({len(answer.steps)})", icon=":material/list:"):
            for step in answer.steps:
                show_step(step, row_table_key(index, step.index))


def show_answer(answer: Answer) -> None:
    """An answer: its text once, a stop explained once, then its value, tables and cells."""
    text = answer_lines(answer.text)
    lines = text.splitlines()
    if answer.value is not None and len(lines) > 1 and lines[0].strip() == value_text(answer.value):
        text = "\n".join(lines[1:]).strip()  # the value line below says it
    stopped = answer.status != "ok"
    if stopped and text.startswith("Stopped:"):
        text = ""  # the warning below says it
    if text or not stopped:
        st.markdown(paragraphs(text) or "(no text)")
    if stopped:
        st.warning(f"Stopped early ({answer.status}): {answer.stop_reason or 'no reason given'}")
    facts = [f"**Value:** {value_text(answer.value)}"] if answer.value is not None else []
    if answer.tables:
        facts.append("**Tables:** " + ", ".join(f"`{t}`" for t in answer.tables))
    if answer.cells:
        cells = answer.cells[:12]
        more = f" and {len(answer.cells) - 12} more" if len(answer.cells) > 12 else ""
        facts.append("**Cells:** " + ", ".join(f"`{c}`" for c in cells) + more)
    if facts:
        st.markdown("  \n".join(facts))


def proposal_lines(pending: Any) -> list[str]:
    """What a proposed edit does, one line per action: the session's plain-English summaries
    when it has them, else each action's name and where it acts."""
    summaries = [str(s) for s in getattr(pending, "summaries", None) or [] if str(s).strip()]
    if summaries:
        return summaries
    lines = []
    for action in pending_actions(pending):
        data = action if isinstance(action, dict) else getattr(action, "__dict__", {})
        where = data.get("range") or data.get("cell") or data.get("data") or ""
        sheet = data.get("sheet")
        place = f" {sheet}!{where}" if sheet and where else f" {sheet or where}".rstrip()
        extra = f" ({data['formula']})" if data.get("formula") else ""
        lines.append(f"{data.get('action', 'edit')}{place}{extra}")
    return lines


EDIT_HEADS = re.compile(r"^(proposed \(apply or discard it\):|changed:|stopped:.*)$",
                        re.IGNORECASE)


def proposal_remark(text: str, lines: list[str]) -> str:
    """What the model said beside its proposal, less what the proposal list already says (the
    agent's "Proposed (apply or discard it):" head and its "- summary" lines, a stop notice)."""
    known = {" ".join(line.split()).casefold().rstrip(".") for line in lines}
    kept = []
    for line in answer_lines(text).splitlines():
        key = " ".join(line.lstrip("-*• ").split()).casefold().rstrip(".")
        if key in known or EDIT_HEADS.match(line.strip()):
            continue
        kept.append(line)
    return "\n".join(kept).strip()


def show_proposal(state: AppState, turn: Turn, answer: Answer) -> None:
    """A turn that proposed an edit reads as a proposal (whatever status the run ended with)."""
    pending = turn.proposed
    lines = proposal_lines(pending)
    n = len(pending_changes(pending))
    head = "**Proposed an edit:**" if lines else f"**Proposed an edit** ({n} cell change(s))"
    st.markdown("\n".join([head, *(f"- {line}" for line in lines)]))
    said = proposal_remark(answer.text, lines)
    if said:
        st.markdown(paragraphs(said))
    if state.proposal_of(turn) is not None:
        st.caption("Apply or discard it below; nothing is written until you apply it.")
    elif turn.outcome:
        st.caption(f"This edit was {turn.outcome}.")
    if answer.status != "ok":
        st.caption(f"The run then stopped ({answer.status}): "
                   f"{answer.stop_reason or 'no reason given'}")


def rules_note(answer: Answer) -> str:
    """Which of the agent's rules shaped this answer (`tablepilot rules` says what each does)."""
    return f" · rules: {', '.join(answer.rules_fired)}" if answer.rules_fired else ""


# ---------------------------------------------------------------- charts

ORDERED_NAMES = re.compile(r"(^|[_\s])(date|day|week|month|quarter|year|period|time)s?($|[_\s])",
                           re.IGNORECASE)


def is_ordered(series: pd.Series) -> bool:
    """Whether a column is a time axis: dates, or numbers/labels named like a period."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if ORDERED_NAMES.search(str(series.name)):
        return True
    values = [v for v in series.tolist() if v is not None]
    if values and all(isinstance(v, str) for v in values):
        parsed = pd.to_datetime(pd.Series(values), errors="coerce", format="ISO8601")
        return bool(parsed.notna().all())
    return False


def chart_plan(frame: pd.DataFrame | None) -> tuple[str, str, ChartKind] | None:
    """(x, y, kind) for a result a chart says better: a few labelled numbers (bar), or numbers
    over dates or periods (line, in time order)."""
    import pandas as pd

    if frame is None or frame.shape[1] != 2 or not 2 <= len(frame) <= 60:
        columns = chart_columns(frame)
        return (columns[0], columns[1], "bar") if columns else None
    first, second = (str(c) for c in frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    if numeric[1] and is_ordered(frame[first]) and not frame[first].duplicated().any():
        return first, second, "line"
    columns = chart_columns(frame)
    return (columns[0], columns[1], "bar") if columns else None


def chart(state: AppState, answer: Answer, index: int) -> None:
    """A chart of the last SQL result when it helps (Altair: a line over time, else bars), and
    a button that proposes the same chart as a real Excel chart on a new sheet."""
    frame = last_sql_frame(answer.steps)
    plan = chart_plan(frame)
    if frame is None or plan is None:
        return
    import altair as alt

    x, y, kind = plan
    data = frame[[x, y]].copy()
    if kind == "line":
        import pandas as pd

        if not pd.api.types.is_numeric_dtype(data[x]):
            data[x] = data[x].astype(str)
        x_type = "T" if not pd.api.types.is_numeric_dtype(frame[x]) and bool(
            pd.to_datetime(data[x], errors="coerce", format="ISO8601").notna().all()) else "O"
        drawn = (alt.Chart(data).mark_line(point=True)
                 .encode(x=alt.X(f"{x}:{x_type}", title=x, sort="ascending"),
                         y=alt.Y(f"{y}:Q", title=y), tooltip=[x, y])
                 .properties(height=320))
    else:
        data[x] = data[x].astype(str)
        drawn = (alt.Chart(data).mark_bar()
                 .encode(x=alt.X(f"{y}:Q", title=y), y=alt.Y(f"{x}:N", sort="-x", title=x),
                         tooltip=[x, y])
                 .properties(height=min(400, 28 * len(data) + 40)))
    st.altair_chart(drawn, width="stretch")
    if st.button("Add this chart to the workbook", key=f"chart-{index}",
                 icon=":material/add_chart:", disabled=bool(state.running),
                 help="Proposes a new sheet with this table and an Excel chart of it; "
                      "nothing is written until you apply it."):
        state.notice = state.propose_chart(frame, x, y, kind=kind)
        st.rerun()


# ---------------------------------------------------------------- steps


SHEET_ROWS_COLUMN = "Sheet rows"


def show_step(step: Step, key: str | None = None) -> None:
    """One step: its code, what ran, and its result. A SQL result that says where its rows are
    on the sheet gets a column for it, and (with ``key``, from ``row_table_key``) a person can
    select a row to have the workbook panel highlight that row's cells."""
    tokens = f"{step.tokens_in:,} in / {step.tokens_out:,} out tokens"
    rules = f" · rules: {', '.join(step.rules)}" if step.rules else ""
    st.markdown(f"**{step.index}. {step.tool}** · {step.duration_s:.2f} s · {tokens}{rules}")
    note = answer_lines(without_code(step.thought))
    if note:
        st.caption(note)
    tool_input = step.input or {}
    language = CODE_LANGUAGE.get(step.tool)
    payload = step.payload or {}
    if language:
        code_key = "query" if step.tool == "sql" else "code"
        written = str(tool_input.get(code_key, json.dumps(tool_input, default=str)))
        st.code(written, language=language)
        ran = payload.get("sql")
        if step.tool == "sql" and isinstance(ran, str) and not same_code(ran, written):
            st.caption("As run (DuckDB, after tablepilot's repairs):")
            st.code(ran, language="sql")
    elif tool_input:
        st.code(json.dumps(tool_input, indent=1, default=str), language="json")
    if step.error:
        st.error(without_internal_text(step.error))
        return
    frame = step_frame(payload)
    if frame is not None:
        total = step_rows(payload)
        if total is not None and total > len(frame):
            st.caption(f"First {len(frame)} of {total:,} rows")
        result_table(frame, source_texts(payload, len(frame)), key)
    elif payload.get("changes"):
        st.dataframe(changes_frame(payload["changes"]), hide_index=True)
    output = without_internal_text(step.output or "").strip()
    if frame is None and not payload.get("changes") and output:
        st.code(output[:4000], language=None)


def result_table(frame: pd.DataFrame, sheet_rows: list[str] | None, key: str | None) -> None:
    """A step's result; with ``sheet_rows`` (where each row is on the sheet) a last column
    says so, and with ``key`` a row can be selected to highlight its cells."""
    if sheet_rows is None:
        st.dataframe(display_frame(frame, limit=50), hide_index=True)
        return
    shown = frame.copy()
    shown.insert(len(shown.columns), SHEET_ROWS_COLUMN, sheet_rows, allow_duplicates=True)
    if key is None:
        st.dataframe(display_frame(shown, limit=50), hide_index=True)
        return
    st.dataframe(display_frame(shown, limit=50), hide_index=True, key=key,
                 on_select=functools.partial(only_this_selection, key),
                 selection_mode="single-row")
    st.caption("Select a row to highlight the cells it came from in the workbook panel; clear "
               "the selection (✕ above the table) to see the answer's cells again.")


def only_this_selection(key: str) -> None:
    """A row selected in one step's table clears the selection of every other one, so the
    panel highlights what was selected last."""
    if selected_row(st.session_state.get(key)) is None:
        return
    for other in [k for k in st.session_state if str(k).startswith(ROW_TABLE_PREFIX)]:
        if other != key and selected_row(st.session_state.get(other)) is not None:
            try:
                st.session_state[other] = {"selection": {"rows": []}}
            except st.errors.StreamlitAPIException:
                pass  # an older Streamlit: that table keeps its selection

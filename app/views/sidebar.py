"""Sidebar: choose the file (upload or the example) and the model that answers."""

from __future__ import annotations

import os

import streamlit as st

from app.guard import ServerModel
from app.state import (
    EXAMPLE_WORKBOOK,
    FORMATS,
    MODEL_ENV,
    AppState,
    ModelSettings,
    check_server,
    local_model_status,
    upload_limits,
)


def upload_limit_mb() -> int:
    """Our own limit (table_io's), never above Streamlit's server.maxUploadSize."""
    ours = max(1, upload_limits().max_file_bytes // 2**20)
    try:
        server = int(st.get_option("server.maxUploadSize"))
    except (RuntimeError, TypeError, ValueError):
        server = ours
    return min(ours, server)


def source_panel(state: AppState) -> None:
    st.header("Workbook")
    limit = upload_limit_mb()
    uploaded = st.file_uploader(
        "Upload a workbook",
        type=list(FORMATS),
        key="upload",
        max_upload_size=limit,
        help=f"{', '.join('.' + f for f in FORMATS)}; up to {limit} MB. "
        "The file is copied; the copy you upload is never changed.",
    )
    if uploaded is not None and uploaded.file_id != st.session_state.get("upload_seen"):
        st.session_state["upload_seen"] = uploaded.file_id
        with st.spinner(f"Reading {uploaded.name} ..."):
            state.request_open(uploaded.name, uploaded.getvalue())
    if st.button(f"Open the example ({EXAMPLE_WORKBOOK.name})", key="example",
                 disabled=bool(state.running)):
        with st.spinner("Reading the example ..."):
            state.request_open(EXAMPLE_WORKBOOK.name, EXAMPLE_WORKBOOK.read_bytes())
    if state.workbook is not None:
        wb = state.workbook
        st.caption(f"**{state.source_name}**: {len(wb.sheets)} sheet(s), {len(wb.tables)} table(s)")


def recent_panel(state: AppState) -> None:
    """Workbooks opened earlier in this session, each with its chat and versions: switch back."""
    if not state.recent:
        return
    st.subheader("Recent workbooks", anchor=False)
    for i, shelved in enumerate(list(state.recent)):
        facts = [f"{shelved.questions} question(s)"]
        if shelved.version:
            facts.append(f"version {shelved.version}")
        if st.button(f"{shelved.name} · {', '.join(facts)}", key=f"recent-{i}",
                     icon=":material/history:", disabled=bool(state.running),
                     help="Open it again with its chat and versions (the open workbook "
                          "moves to this list)"):
            state.switch_to(shelved.key)
            st.rerun()


def open_question(state: AppState) -> None:
    """Before a new file replaces a workbook with a chat or versions: ask, Open or Keep."""
    if state.asked_open is None:
        return
    with st.container(border=True, key="open-question"):
        st.warning(state.open_question(), icon=":material/warning:")
        yes, no, _ = st.columns([1, 1, 4])
        if yes.button("Open", key="confirm_open", type="primary", icon=":material/folder_open:"):
            with st.spinner("Reading the file ..."):
                state.confirm_open()
            st.rerun()
        if no.button("Keep current", key="keep_current", icon=":material/close:"):
            state.keep_current()
            st.rerun()


def model_panel(state: AppState) -> None:
    st.header("Model")
    if os.environ.get(MODEL_ENV):
        st.info(f"The model is set by the server ({MODEL_ENV}): {state.model_label()}")
        return
    server = ServerModel.from_env()
    current = state.settings
    problem: str | None = None
    if server.locked:
        wanted = ModelSettings.from_env()
        st.caption(f"Set by the server: {wanted.label()}")
        if wanted.backend == "local":
            ok, message = local_model_status()
            (st.success if ok else st.warning)(message)
            problem = None if ok else message
    else:
        wanted, problem = model_choice(current, server)
    # the chat box waits while the model in use cannot answer (a model only chosen, not yet
    # in use, says nothing about the one that would answer)
    state.model_problem = problem if wanted == current or not state.turns else None
    if wanted != current:
        if state.session is None or not state.turns:
            state.settings = wanted
            state.restart()
        elif st.button("Use this model (starts the chat again)", key="apply_model"):
            state.settings = wanted
            state.restart()
            st.rerun()
    if state.session is not None:
        st.caption(f"Answering: {state.model_label()}")


def effort_choice(state: AppState) -> None:
    """Fast, balanced or thorough: how many drafts of a query the model writes, and when."""
    from agent.effort import EFFORTS

    names = list(EFFORTS)
    current = state.current_effort()
    chosen = st.radio("Effort", names, index=names.index(current), key="effort",
                      horizontal=True, help="\n".join(f"{e.name}: {e.summary}" for e in
                                                      EFFORTS.values()))
    st.caption(EFFORTS[chosen].summary)
    if chosen != current:
        state.set_effort(chosen)


def model_choice(current: ModelSettings, server: ServerModel) -> tuple[ModelSettings, str | None]:
    """The backend, URL, model and key a person picks, and why that model cannot answer (None
    when it can). The key box is never prefilled: the server's own key (if any) is used for the
    server's URL only, never sent to the browser."""
    choice = st.radio(
        "Backend",
        ["local", "server"],
        index=0 if current.backend == "local" else 1,
        format_func=lambda b: "Local CPU model" if b == "local" else "vLLM / OpenAI-compatible server",
        key="backend",
    )
    if choice != "server":
        ok, message = local_model_status()
        (st.success if ok else st.warning)(message)
        return (ModelSettings("local", current.base_url, current.model_name, current.api_key),
                None if ok else message)
    base_url = st.text_input("Server URL", value=current.base_url, key="base_url",
                             help="e.g. http://127.0.0.1:8000/v1 (vllm serve MODEL)")
    model_name = st.text_input("Model name", value=current.model_name, key="model_name",
                               help="as the server names it; empty: the first it serves")
    own = "the server's own key is used for it" if server.api_key else "no key is configured"
    api_key = st.text_input(
        "API key (optional)", value="", type="password", key="api_key",
        help="Your key for the URL above. For the URL this app is configured with, "
        f"{own}; for any other URL only the key you type here is sent.")
    wanted = ModelSettings("server", base_url.strip(), model_name.strip(), api_key.strip())
    if server.api_key and not wanted.api_key and server.owns(wanted.base_url):
        st.caption("Using the key configured on the server.")
    reachable, message = server_status(wanted, server)
    return wanted, None if reachable else message


def server_status(settings: ModelSettings, server: ServerModel) -> tuple[bool, str]:
    """Check the server once per URL (and on demand): GET {base_url}/models, 2 s timeout.
    Returns whether it could be reached at all, and what the page says about it."""
    cache: dict[str, tuple[bool, str, bool]] = st.session_state.setdefault("server_checks", {})
    url, key = settings.endpoint(server)
    seen = settings.base_url + (" (own key)" if settings.api_key else "")
    if st.button("Check server", key="check_server") or seen not in cache:
        status = check_server(url, timeout_s=2.0, api_key=key)
        if status.ok and not settings.model_name and status.models:
            message = f"{status.message} (using {status.models[0]})"
        else:
            message = status.message
        cache[seen] = (status.ok, message, status.reachable)
    ok, message, reachable = cache[seen]
    (st.success if ok else st.error)(message)
    return reachable, message

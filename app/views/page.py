"""The page layout: sidebar (file, model), then workbook, conversation, edits and the chat box."""

from __future__ import annotations

import streamlit as st

from app.registry import REGISTRY, TOKEN_PARAM
from app.state import AppState
from app.views import chat, edits, login, sidebar, workbook
from app.workdirs import start_janitor

STATE_KEY = "tablepilot"
OWNER_KEY = "tablepilot-owner"

# Also set by `tablepilot app` on its command line; here for `streamlit run` used directly.
# Tracebacks show the exception's type only (a message might quote a secret), and tables offer
# no built-in CSV export (it writes formula-like text raw): the page's own downloads are safe.
CLIENT_OPTIONS = {"client.showErrorDetails": "type", "client.disableDataExport": True}


def harden_client() -> None:
    for name, value in CLIENT_OPTIONS.items():
        try:
            if st.get_option(name) != value:
                st.set_option(name, value)
        except (RuntimeError, ValueError, st.errors.StreamlitAPIException):
            pass  # an older Streamlit without this option


def get_state() -> AppState:
    """This page's state: kept in the browser session, and in the server's registry under the
    token in the page's address (?s=...), so that a reload finds the workbook, chat and versions
    again. A token is honoured only for the user who made it."""
    user = login.user_id()
    state: AppState | None = st.session_state.get(STATE_KEY)
    if state is not None and st.session_state.get(OWNER_KEY) != user:
        state = None  # someone else logged in on this page: not their state
    if state is None:
        start_janitor()  # once per process: removes folders left by dead sessions
        state = REGISTRY.get(st.query_params.get(TOKEN_PARAM), user)
        if state is None:
            state = AppState()
            REGISTRY.add(state, user)
        st.session_state[STATE_KEY], st.session_state[OWNER_KEY] = state, user
    elif REGISTRY.get(state.token, user) is None:  # in use, so not idle; dropped: keep it again
        REGISTRY.add(state, user)
    if st.query_params.get(TOKEN_PARAM) != state.token:
        st.query_params[TOKEN_PARAM] = state.token
    state.touch()
    return state


def render() -> None:
    st.set_page_config(page_title="tablepilot", page_icon=":bar_chart:", layout="wide")
    harden_client()
    if not login.gate():
        return
    state = get_state()
    with st.sidebar:
        sidebar.source_panel(state)
        sidebar.recent_panel(state)
        sidebar.model_panel(state)
        sidebar.effort_choice(state)
    st.title("tablepilot")
    sidebar.open_question(state)
    if state.load_error:
        st.error(state.load_error)
    if state.workbook is None:
        st.markdown(
            "Upload a workbook (.xlsx .xlsm .xls .ods .csv .tsv .parquet) or open the example "
            "in the sidebar, then ask questions about it or ask for changes. Every change is "
            "shown cell by cell before it is applied; the uploaded file is never modified."
        )
        return
    workbook.panel(state)
    if state.session is None:
        if state.notice:
            st.info(state.notice)
            state.notice = None
        st.error(state.session_error or "The chat has not started.")
        return
    chat.history(state)
    edits.pending_panel(state)
    edits.version_bar(state)
    chat.prompt(state)

"""The page layout: sidebar (file, model), then workbook, conversation, edits and the chat box."""

from __future__ import annotations

import streamlit as st

from app.state import AppState
from app.views import chat, edits, sidebar, workbook

STATE_KEY = "tablepilot"


def get_state() -> AppState:
    if STATE_KEY not in st.session_state:
        st.session_state[STATE_KEY] = AppState()
    state: AppState = st.session_state[STATE_KEY]
    return state


def render() -> None:
    st.set_page_config(page_title="tablepilot", page_icon=":bar_chart:", layout="wide")
    state = get_state()
    with st.sidebar:
        sidebar.source_panel(state)
        sidebar.model_panel(state)
    st.title("tablepilot")
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

"""Edits: the proposed change as a cell-level diff, apply / discard, undo / redo, download."""

from __future__ import annotations

import json
from pathlib import Path

import streamlit as st

from app.exports import file_download
from app.state import AppState
from app.views.data import changes_frame, pending_actions, pending_changes

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME = {".xlsx": XLSX_MIME, ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
        ".csv": "text/csv", ".tsv": "text/tab-separated-values",
        ".parquet": "application/vnd.apache.parquet"}


def pending_panel(state: AppState) -> None:
    pending = state.pending
    if not pending:
        return
    changes = pending_changes(pending)
    with st.container(border=True):
        st.subheader("Proposed change", anchor=False)
        st.caption(f"{len(changes)} cell change(s). Nothing is written until you apply it.")
        if changes:
            st.dataframe(changes_frame(changes), hide_index=True, key="pending-diff")
        actions = pending_actions(pending)
        if actions:
            with st.expander(f"Actions ({len(actions)})"):
                st.code(json.dumps(actions, indent=1, default=_jsonable), language="json")
        apply, discard, _ = st.columns([1, 1, 4])
        if apply.button("Apply", type="primary", key="apply", icon=":material/check:"):
            run(state, "apply_pending")
        if discard.button("Discard", key="discard", icon=":material/close:"):
            run(state, "discard_pending")


def version_bar(state: AppState) -> None:
    session = state.session
    if session is None:
        return
    if state.notice:  # the outcome of the last button, right where it was pressed
        st.info(state.notice)
        state.notice = None
    path = Path(session.workbook_path)
    label, undo, redo, download = st.columns([3, 1, 1, 2], vertical_alignment="center")
    label.caption(f"Version {state.version}" + (" (original)" if state.version == 0 else "")
                  + " · the uploaded file is never changed")
    if undo.button("Undo", key="undo", disabled=not state.can_undo, icon=":material/undo:"):
        run(state, "undo")
    if redo.button("Redo", key="redo", disabled=not state.can_redo, icon=":material/redo:"):
        run(state, "redo")
    download.download_button(
        f"Download {path.suffix or '.xlsx'}", data=file_download(path),
        file_name=state.download_name(), mime=MIME.get(path.suffix.lower()),
        key="download", on_click="ignore", icon=":material/download:",
    )
    if state.version > 0:
        changes = state.version_changes()
        with st.expander(f"What changed in version {state.version} ({len(changes)} cell changes)"):
            st.dataframe(changes_frame(changes), hide_index=True)


def run(state: AppState, method: str) -> None:
    """apply_pending, discard_pending, undo or redo; the outcome is shown after the rerun."""
    state.notice = state.change_version(method)
    st.rerun()


def _jsonable(value: object) -> object:
    dump = getattr(value, "model_dump", None)
    return dump() if callable(dump) else str(value)

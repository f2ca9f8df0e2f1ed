"""Edits: the proposed change as a cell-level diff, apply / discard, undo / redo, download."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import streamlit as st

from app.exports import file_download
from app.state import AppState
from app.views.chat import proposal_lines
from app.views.data import changes_frame, pending_actions, pending_changes

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MIME = {".xlsx": XLSX_MIME, ".xlsm": "application/vnd.ms-excel.sheet.macroEnabled.12",
        ".csv": "text/csv", ".tsv": "text/tab-separated-values",
        ".parquet": "application/vnd.apache.parquet"}


def pending_panel(state: AppState) -> None:
    """The proposed change: what it does in words, then cell by cell, then Apply / Discard."""
    pending = state.pending
    if not pending:
        return
    changes = pending_changes(pending)
    edited = [c for c in changes if not is_recomputed(c)]
    recomputed = [c for c in changes if is_recomputed(c)]
    with st.container(border=True, key="proposed-change"):
        st.subheader("Proposed change", anchor=False)
        lines = proposal_lines(pending)
        if lines:
            st.markdown("\n".join(f"- {line}" for line in lines))
        st.caption(f"{len(edited)} cell change(s). Nothing is written until you apply it.")
        if edited:
            st.dataframe(changes_frame(edited), hide_index=True, key="pending-diff")
        if recomputed:
            with st.expander(f"{len(recomputed)} formula value(s) recomputed, not changed by "
                             "this edit", expanded=False):
                st.caption("The file had no saved result for these formulas; tablepilot "
                           "computed them to show the edit's effect.")
                st.dataframe(changes_frame(recomputed), hide_index=True, key="pending-recomputed")
        actions = pending_actions(pending)
        if actions:
            with st.expander(f"Actions ({len(actions)})"):
                st.code(json.dumps(actions, indent=1, default=_jsonable), language="json")
        apply, discard, _ = st.columns([1, 1, 4])
        busy = bool(state.running)
        if apply.button("Apply", type="primary", key="apply", icon=":material/check:",
                        disabled=busy):
            run(state, "apply_pending")
        if discard.button("Discard", key="discard", icon=":material/close:", disabled=busy):
            run(state, "discard_pending")


def is_recomputed(change: Any) -> bool:
    """A formula value tablepilot computed because the file had none saved (not an edit)."""
    if isinstance(change, dict):
        return bool(change.get("recomputed", False))
    return bool(getattr(change, "recomputed", False))


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
    busy = bool(state.running)
    if undo.button("Undo", key="undo", disabled=busy or not state.can_undo,
                   icon=":material/undo:"):
        run(state, "undo")
    if redo.button("Redo", key="redo", disabled=busy or not state.can_redo,
                   icon=":material/redo:"):
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

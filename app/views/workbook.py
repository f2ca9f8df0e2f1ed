"""The workbook panel: each sheet, the tables found on it, their columns and a preview."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.exports import frame_csv
from app.state import AppState
from app.views.data import check_range, columns_frame, display_frame, parse_header_rows


def panel(state: AppState) -> None:
    wb = state.current_workbook
    if wb is None:
        return
    title = (f"Workbook: {state.source_name} · {len(wb.sheets)} sheet(s) · "
             f"{len(wb.tables)} table(s)" + (f" · version {state.version}" if state.version else ""))
    with st.expander(title, expanded=not state.turns, icon=":material/table_view:"):
        for warning in getattr(wb, "warnings", []) or []:
            st.warning(warning)
        sheets = list(wb.sheets)
        if not sheets:
            return
        tabs = st.tabs([sheet.name + (" (hidden)" if sheet.hidden else "") for sheet in sheets])
        for sheet, tab in zip(sheets, tabs, strict=True):
            with tab:
                sheet_notes(sheet)
                names = list(sheet.table_names)
                if not names:
                    st.caption("No table found on this sheet.")
                for name in names:
                    try:
                        table = wb.table(name)
                    except KeyError:
                        continue
                    table_card(state, table)


def sheet_notes(sheet: Any) -> None:
    bits = []
    if sheet.hidden_rows:
        bits.append(f"hidden rows: {', '.join(map(str, sheet.hidden_rows[:20]))}")
    if sheet.hidden_columns:
        bits.append(f"hidden columns: {', '.join(sheet.hidden_columns[:20])}")
    if sheet.merged_ranges:
        bits.append(f"{len(sheet.merged_ranges)} merged range(s)")
    if bits:
        st.caption(" · ".join(bits))


def table_card(state: AppState, table: Any) -> None:
    headers = ", ".join(map(str, table.header_rows)) or "none"
    st.markdown(
        f"**{table.name}** · `{table.sheet}!{table.range}` · header row(s) {headers} · "
        f"{table.n_rows} rows × {len(table.columns)} columns"
    )
    extras = []
    if table.title:
        extras.append(f"title: {table.title}")
    if table.total_row_numbers:
        rows = ", ".join(map(str, table.total_row_numbers))
        extras.append(f"total row(s) {rows} kept out of the data")
    if table.notes:
        extras.append("notes: " + " / ".join(table.notes[:3]))
    if extras:
        st.caption(" · ".join(extras))
    left, right = st.columns([2, 3])
    with left:
        st.dataframe(columns_frame(table), hide_index=True, key=f"cols-{table.name}")
    with right:
        st.dataframe(display_frame(table.frame, limit=50), hide_index=True,
                     key=f"preview-{table.name}")
    fix, csv = st.columns([3, 1])
    with fix, st.popover("Correct this table", icon=":material/edit:"):
        correction_form(state, table)
    with csv:
        if table.duckdb_source is not None:  # only a head sample is in memory
            st.caption(f"Preview of the first {len(table.frame):,} rows")
            return
        st.download_button(
            "CSV", data=frame_csv(table.frame),
            file_name=f"{table.name}.csv", mime="text/csv", key=f"csv-{table.name}",
            on_click="ignore", icon=":material/download:",
        )


def correction_form(state: AppState, table: Any) -> None:
    from table_io.errors import TableIOError

    with st.form(key=f"fix-{table.name}"):
        st.caption("Give the table's cell range and header row(s) as they are on the sheet. "
                   "The next questions use the corrected table.")
        rng = st.text_input("Range", value=table.range, key=f"range-{table.name}")
        heads = st.text_input("Header rows", value=", ".join(map(str, table.header_rows)),
                              key=f"heads-{table.name}", help="e.g. 3, or 2-3 for two rows")
        if not st.form_submit_button("Re-read the table"):
            return
    try:
        new_range = check_range(rng)
        header_rows = parse_header_rows(heads)
    except ValueError as exc:
        st.error(str(exc))
        return
    try:
        state.correct_table(table.name, range=new_range, header_rows=header_rows)
    except (TableIOError, ValueError) as exc:
        st.error(str(exc))
        return
    st.rerun()

"""The workbook panel: each sheet, the tables found on it, their columns, how each was read,
and a preview with the cells behind the last answer highlighted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from app.exports import frame_csv
from app.state import AppState
from app.views.data import (
    DELIMITERS,
    READ_CHOICES,
    check_range,
    chosen_reading,
    column_reading,
    columns_frame,
    csv_choice,
    delimiter_name,
    display_frame,
    parse_header_rows,
    reading_choice,
)
from app.views.preview import (
    answered_version,
    as_markdown_text,
    cells_in_place,
    highlight_caption,
    last_answer,
    moved_note,
    preview_rows,
    reading_notes,
    table_positions,
    used_labels,
    workbook_notes,
)

PREVIEW_ROWS = 50


@dataclass
class Sources:
    """The cells of the last answer to highlight, or why they are not."""

    labels: list[str] = field(default_factory=list)
    default_sheet: str | None = None  # where a label without a sheet points
    note: str | None = None  # said instead of highlighting (another version), or which row is
    row: str | None = None  # a selected result row whose cells these are, in words


SEEN_KEY = "tablepilot-answer-versions"


def first_seen_version(state: AppState, turn: Any) -> int:
    """The version shown when this panel first drew ``turn`` (the page reruns right after a
    question, before any edit can be applied, so that is the version the answer read)."""
    seen: dict[int, tuple[Any, int]] = st.session_state.setdefault(SEEN_KEY, {})
    live = {id(t) for t in state.turns}
    for key in [k for k in seen if k not in live]:  # turns gone (a new file, a restart)
        del seen[key]
    entry = seen.get(id(turn))
    if entry is None or entry[0] is not turn:
        entry = seen[id(turn)] = (turn, state.version)
    return entry[1]


def last_sources(state: AppState, workbook: Any) -> Sources:
    """What the preview colours: the cells of a row selected in a step's result table, else
    those the last answer used; neither when the workbook shown is not the version they were
    read on (an edit may have moved them)."""
    from app.views.preview import picked_row, row_caption, row_labels, row_moved_note

    pick = picked_row(state.turns, st.session_state)
    if pick is not None:
        picked_on = answered_version(pick.turn, first_seen_version(state, pick.turn))
        if not cells_in_place(picked_on, state.version):
            return Sources(note=row_moved_note(picked_on, pick))
        sheets = list(workbook.sheets)
        return Sources(row_labels(pick.step.payload, pick.row),
                       sheets[0].name if len(sheets) == 1 else None,
                       note=row_caption(pick), row=pick.where)
    found = last_answer(state.turns)
    if found is None:
        return Sources()
    turn, answer = found
    labels = used_labels(answer)
    if not labels:
        return Sources()
    answered_on = answered_version(turn, first_seen_version(state, turn))
    if not cells_in_place(answered_on, state.version):
        return Sources(note=moved_note(answered_on))
    sheets = list(workbook.sheets)
    return Sources(labels, sheets[0].name if len(sheets) == 1 else None)


def panel(state: AppState) -> None:
    wb = state.current_workbook
    if wb is None:
        return
    sources = last_sources(state, wb)
    title = (f"Workbook: {state.source_name} · {len(wb.sheets)} sheet(s) · "
             f"{len(wb.tables)} table(s)" + (f" · version {state.version}" if state.version else "")
             + (" · cells of the last answer highlighted" if sources.labels else ""))
    with st.expander(title, expanded=not state.turns, icon=":material/table_view:"):
        warnings = list(getattr(wb, "warnings", None) or [])
        for warning in warnings:
            st.warning(warning)
        for note in workbook_notes(wb):
            if note not in warnings:
                st.caption(as_markdown_text(note))
        if sources.note:
            st.caption(sources.note)
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
                    table_card(state, table, sources)


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


def table_card(state: AppState, table: Any, sources: Sources | None = None) -> None:
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
        table_preview(table, sources or Sources())
    reading = reading_notes(table)
    if reading:
        with st.expander("How this table was read", icon=":material/info:"):
            st.markdown("\n".join(f"- {as_markdown_text(note)}" for note in reading))
            st.caption("Read wrong? *Correct this table* re-reads it with the range and header "
                       "rows you give; *Column types* reads a column as text, numbers or dates "
                       "in the order you pick.")
    fix, kinds, csv = st.columns([2, 2, 1])
    with fix, st.popover("Correct this table", icon=":material/edit:"):
        correction_form(state, table)
        if table.meta.get("csv") and table.duckdb_source is None:
            csv_settings_form(state, table)
    with kinds, st.popover("Column types", icon=":material/rule:"):
        column_types_form(state, table)
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


def csv_settings_form(state: AppState, table: Any) -> None:
    """Read a CSV file again with the delimiter and text encoding a person picks (shown: how it
    was read)."""
    from table_io.errors import TableIOError

    read = table.meta.get("csv") or {}
    names = list(DELIMITERS)
    found = delimiter_name(str(read.get("delimiter", ",")))
    with st.form(key=f"csvfix-{table.name}"):
        st.caption("Columns split wrong, or letters garbled? Read the file again with its "
                   "delimiter and text encoding.")
        delimiter = st.selectbox("Delimiter", names if found in names else [found, *names],
                                 index=names.index(found) if found in names else 0,
                                 key=f"csv-delimiter-{table.name}")
        encoding = st.text_input("Encoding", value=str(read.get("encoding", "utf-8")),
                                 key=f"csv-encoding-{table.name}",
                                 help="e.g. utf-8, cp1252 (Windows), latin-1, utf-16")
        if not st.form_submit_button("Re-read the file"):
            return
    settings = csv_choice(table, delimiter, encoding)
    if not settings:
        st.info("The file is already read that way.")
        return
    try:
        state.correct_table(table.name, csv=settings)
    except (TableIOError, ValueError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def column_types_form(state: AppState, table: Any) -> None:
    """Pick a column, see how it was read, and read it otherwise: as text as written (a zip
    code, an ID), numbers with a decimal point or comma, dates day first or month first."""
    from table_io.errors import TableIOError

    if not table.columns:
        st.caption("This table has no columns.")
        return
    st.caption("Pick a column and how to read it. The table is read again and the next "
               "questions use it.")
    column = st.selectbox("Column", list(table.columns), key=f"type-column-{table.name}")
    st.caption(f"Read now as: {as_markdown_text(column_reading(table, column))}")
    current = chosen_reading(table, column)
    choice = st.selectbox("Read it as", READ_CHOICES, index=READ_CHOICES.index(current),
                          key=f"type-kind-{table.name}-{column}")
    if not st.button("Re-read the column", key=f"type-apply-{table.name}"):
        return
    try:
        state.correct_table(table.name, types={column: reading_choice(choice)})
    except (TableIOError, ValueError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def table_preview(table: Any, sources: Sources) -> None:
    """The first rows, with the answer's cells coloured; when those lie beyond the first rows,
    the rows the answer used come first. The index is the sheet row of each data row."""
    positions = (table_positions(table, sources.labels, default_sheet=sources.default_sheet)
                 if sources.labels else set())
    rows, moved_up = preview_rows(len(table.frame), {r for r, _ in positions}, PREVIEW_ROWS)
    at = {row: k for k, row in enumerate(rows)}
    marks = [(at[row], column) for row, column in positions if row in at]
    sheet_rows = ([table.row_numbers[r] for r in rows]
                  if len(table.row_numbers) >= len(table.frame) else None)
    st.dataframe(display_frame(table.frame.iloc[rows], limit=len(rows), highlight=marks,
                               row_labels=sheet_rows),
                 hide_index=sheet_rows is None, key=f"preview-{table.name}")
    if positions:
        first = " (the rows it used are shown first)" if moved_up else ""
        st.caption(highlight_caption(len(positions), sources.row) + first)

"""Turn a detected table (a TableSpec on a grid) into a Table: names, typed frame, provenance."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from table_io.cell_types import kind_of, type_column
from table_io.detect import TableSpec, header_names, nonempty_mask
from table_io.grid import SheetGrid
from table_io.group_labels import fill_down, group_label_columns
from table_io.model import Table, column_letter
from table_io.naming import clean_column_names

_LEADING_SPACE = re.compile(r"^[ \u00a0\u3000]+")
_SPACE_CHARS = (" ", "\u00a0", "\u3000")


def build_table(
    grid: SheetGrid,
    spec: TableSpec,
    name: str,
    mask: np.ndarray | None = None,
    *,
    keep_empty_columns: bool = False,
    types: dict[str, str] | None = None,
) -> Table:
    """The Table ``spec`` cuts out of ``grid``; ``types`` ({column name: kind}, see
    ``cell_types.COLUMN_KINDS``) reads those columns as a person said; names it does not hold
    are left to the caller to refuse."""
    types = types or {}
    values = grid.values
    mask = nonempty_mask(values) if mask is None else mask
    h = spec.header_rows
    parts = header_names(values, spec, grid.merged)
    first_data = spec.top + h
    rows = np.arange(first_data, spec.bottom + 1)
    cols = np.arange(spec.left, spec.right + 1)
    body_mask = mask[first_data : spec.bottom + 1, spec.left : spec.right + 1]
    filled_rows = body_mask.any(axis=1) if rows.size else np.zeros(0, dtype=bool)
    is_total = np.isin(rows, spec.total_rows)
    is_header_copy = np.isin(rows, spec.repeated_header_rows)
    data_rows = rows[filled_rows & ~is_total & ~is_header_copy]
    total_rows = rows[filled_rows & is_total]
    # drop spacer columns: no header and no value anywhere
    keep = [j for j in range(len(cols)) if keep_empty_columns or parts[j] or body_mask[:, j].any()]
    cols = cols[keep]
    headers = [" ".join(parts[j]) for j in keep]
    columns = clean_column_names(headers)
    levels, label_values = _row_levels(grid, data_rows, spec.left)
    contiguous = data_rows.size > 0 and int(data_rows[-1]) - int(data_rows[0]) + 1 == data_rows.size
    raws: list[list[object]] = []
    for c in cols:
        if contiguous:
            raw = values[int(data_rows[0]) : int(data_rows[-1]) + 1, c].tolist()
        else:
            raw = values[data_rows, c].tolist()
        if c == spec.left and label_values is not None:
            raw = label_values
        raws.append(_fill_merged_down(raw, values, int(c), data_rows, grid.merged))
    filled_down = 0 if levels is not None else group_label_columns(raws)
    for j in range(filled_down):
        raws[j] = fill_down(raws[j])
    data = {col_name: type_column(raw, col_name, types.get(col_name))
            for col_name, raw in zip(columns, raws, strict=True)}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(data_rows)))
    totals = None
    if total_rows.size:
        totals = pd.DataFrame(
            {n: type_column(values[total_rows, c].tolist(), n, types.get(n))
             for n, c in zip(columns, cols, strict=True)}
        )
    row_numbers = (data_rows + 1).tolist()
    hidden = sorted(set(row_numbers) & grid.hidden_rows) if grid.hidden_rows else []
    return Table(
        name=name,
        sheet=grid.name,
        range=f"{column_letter(spec.left + 1)}{spec.top + 1}:{column_letter(spec.right + 1)}{spec.bottom + 1}",
        header_rows=list(range(spec.top + 1, spec.top + h + 1)),
        columns=columns,
        frame=frame,
        row_numbers=row_numbers,
        column_letters=[column_letter(int(c) + 1) for c in cols],
        title=spec.title,
        notes=list(spec.notes),
        total_rows=totals,
        total_row_numbers=[int(r) + 1 for r in total_rows],
        original_headers=headers,
        row_levels=levels,
        hidden_rows=hidden,
        meta={
            "column_types": {n: kind_of(frame[n]) for n in columns},
            # how numbers/dates/booleans were written when they were stored as text
            "parsed_from_text": {
                n: data[n].attrs["parsed_from_text"] for n in columns if "parsed_from_text" in data[n].attrs
            },
            # text dates that read day first and month first alike: the order chosen, an example
            "ambiguous_dates": {
                n: data[n].attrs["ambiguous_dates"] for n in columns if "ambiguous_dates" in data[n].attrs
            },
            # columns read as a person said (table_io.overrides' ``types``)
            "read_as": {n: data[n].attrs["read_as"] for n in columns if "read_as" in data[n].attrs},
            "read_failed": {n: data[n].attrs["read_failed"] for n in columns if "read_failed" in data[n].attrs},
            "hidden_columns": [column_letter(int(c) + 1) for c in cols if int(c) + 1 in grid.hidden_cols],
            # rows left out of ``frame`` that are not totals: page-break copies of the header
            "dropped_rows": {"repeated_header": [int(r) + 1 for r in spec.repeated_header_rows]}
            if spec.repeated_header_rows else {},
            "key_values": dict(spec.key_values),
            # group labels written once per group ("North" over blanks), copied down its rows
            "filled_down": columns[:filled_down],
        },
    )


def _fill_merged_down(
    raw: list[object], values: np.ndarray, c: int, data_rows: np.ndarray, merged: list[tuple[int, int, int, int]]
) -> list[object]:
    """A label merged down over several data rows ('North' over A2:A4) belongs to each of them:
    its value is copied into every data row the merge covers (Excel keeps it in the first)."""
    spans = [(t, b) for t, ll, b, _rr in merged if ll == c and b > t]
    if not spans or data_rows.size == 0:
        return raw
    out = list(raw)
    for t, b in spans:
        start, stop = np.searchsorted(data_rows, [t, b + 1]).tolist()
        if stop - start < 2 or int(data_rows[start]) != t:
            continue  # the merge starts in the header, or covers one data row only
        for i in range(start, stop):
            out[i] = values[t, c]
    return out


def _row_levels(grid: SheetGrid, data_rows: np.ndarray, left: int) -> tuple[list[int] | None, list[object] | None]:
    """Indent levels of the row labels (cell indent, or leading spaces), and the stripped labels."""
    if grid.indents:
        levels = [grid.indents.get((int(r), left), 0) for r in data_rows]
        if any(levels):
            return levels, None
    labels = grid.values[data_rows, left].tolist() if data_rows.size else []
    if not any(type(v) is str and v[:1] in _SPACE_CHARS for v in labels):
        return None, None
    spaces = [
        len(m.group(0)) if isinstance(v, str) and (m := _LEADING_SPACE.match(v)) and v.strip() else 0
        for v in labels
    ]
    if not any(spaces) or all(spaces):
        return None, None
    step = min(s for s in spaces if s)
    levels = [s // step for s in spaces]
    stripped = [v.strip() if isinstance(v, str) else v for v in labels]
    return levels, stripped

"""Group labels written once per group, blank below: ``Region`` holds "North", "", "", "South",
"", "". A person reads every row of the group as North; SQL reads the blanks as NULL, so a
``WHERE Region = 'North'`` would count one row. Merged labels are filled by tables.py; these
are the unmerged ones.

A column is filled down only when the pattern is plain: it is one of the leftmost columns
(three at most); its values are text labels (none reads as a number, so blanks under ranks,
which are ties, stay blank; no dates, no missing-value markers); its first row holds a label;
at least two labels head a group of two or more rows and the groups average two rows or more;
the other columns are filled on the label rows and on the blank rows alike (so the blanks are
not empty rows or section breaks); and in a second label column every group of the first
starts with a label. Blanks after a list of labels (missing values at the end) or here and
there in a column do not make groups.
"""

from __future__ import annotations

import numpy as np

from table_io.cell_types import is_blank, is_empty_marker, kind_of, parse_number, type_column

_MAX_LABEL_COLUMNS = 3
_MIN_GROUPS = 2  # labels that head a group of two rows or more
_MIN_FILLED = 0.5  # share of the other columns holding a value, on label rows and blank rows
_TYPE_SAMPLE = 500  # labels typed to tell text from numbers or dates written as text


def group_label_columns(raws: list[list[object]]) -> int:
    """How many of the leftmost columns (``raws[j]`` is column j's values, top to bottom) hold
    group labels to fill down: 0, 1, 2 or 3."""
    parent_starts: set[int] = set()
    count = 0
    for j in range(min(_MAX_LABEL_COLUMNS, len(raws) - 1)):
        starts = _group_starts(raws[j])
        if starts is None or not parent_starts <= set(starts):
            break
        if not _rest_is_filled(raws[j + 1 :], starts, len(raws[j])):
            break
        parent_starts = set(starts)
        count += 1
    return count


def fill_down(raw: list[object]) -> list[object]:
    """Each blank cell takes the label above it."""
    out: list[object] = []
    last: object = None
    for value in raw:
        if is_blank(value):
            out.append(last)
        else:
            last = value
            out.append(value)
    return out


def _group_starts(raw: list[object]) -> list[int] | None:
    """The rows where a group starts (a label over blanks), or None when the column does not
    read as group labels."""
    if len(raw) < 3 or is_blank(raw[0]):
        return None
    starts = np.flatnonzero(_filled(raw)).tolist()
    if len(starts) == len(raw):
        return None  # nothing to fill
    sizes = [b - a for a, b in zip(starts, [*starts[1:], len(raw)], strict=True)]
    if sum(size >= 2 for size in sizes) < _MIN_GROUPS or len(raw) < 2 * len(starts):
        return None  # groups average two rows or more: else the blanks are gaps, not groups
    labels = list(dict.fromkeys(raw[i] for i in starts))
    if not all(isinstance(v, str) and not is_empty_marker(v) for v in labels):
        return None
    sample = labels[:_TYPE_SAMPLE]
    if any(parse_number(str(v)) is not None for v in sample) or kind_of(type_column(sample)) != "text":
        return None  # ranks, numbers or dates written as text: blanks there are ties or missing values
    return starts


def _rest_is_filled(rest: list[list[object]], starts: list[int], n_rows: int) -> bool:
    """The columns right of the label column hold values on its label rows and on its blank
    rows alike."""
    if not rest:
        return False
    is_start = np.zeros(n_rows, dtype=bool)
    is_start[starts] = True
    filled = np.zeros(n_rows, dtype=np.int64)
    for column in rest:
        filled += _filled(column)
    width = len(rest)
    on_labels, on_blanks = int(filled[is_start].sum()), int(filled[~is_start].sum())
    return (on_labels >= _MIN_FILLED * width * int(is_start.sum())
            and on_blanks >= _MIN_FILLED * width * int((~is_start).sum()))


def _filled(column: list[object]) -> np.ndarray:
    """Which cells hold something ('' and None are empty; a lone space is a value, and as a
    label it stops the fill: it is no label)."""
    values = np.asarray(column, dtype=object)
    return np.asarray((values != "") & (values != None), dtype=bool)  # noqa: E711 (elementwise)

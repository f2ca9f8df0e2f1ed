"""Property: a clean table written anywhere on a sheet, with or without a title, is found exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from table_io.detect import SheetDetector, xy_cut
from table_io.grid import SheetGrid
from table_io.tables import build_table

words = st.text(alphabet="abcdefghij", min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    top=st.integers(0, 6), left=st.integers(0, 4), n_rows=st.integers(2, 12), n_cols=st.integers(2, 5),
    title=st.one_of(st.none(), words), seed=st.integers(0, 10_000),
)
def test_clean_table_is_found_exactly(top, left, n_rows, n_cols, title, seed):
    rng = np.random.default_rng(seed)
    grid = np.full((top + n_rows + 3, left + n_cols + 2), "", dtype=object)
    start = top
    if title is not None:
        grid[top, left] = "Title " + title
        start = top + 2
        grid = np.vstack([grid, np.full((2, grid.shape[1]), "", dtype=object)])
    headers = [f"h{j}" for j in range(n_cols)]
    grid[start, left : left + n_cols] = headers
    for i in range(n_rows):
        grid[start + 1 + i, left] = f"row {i}"
        for j in range(1, n_cols):
            grid[start + 1 + i, left + j] = float(rng.integers(0, 1000))
    specs = SheetDetector(grid).detect()
    assert len(specs) == 1
    spec = specs[0]
    assert (spec.top, spec.bottom, spec.left, spec.right) == (start, start + n_rows, left, left + n_cols - 1)
    assert spec.header_rows == 1
    assert spec.title == (None if title is None else "Title " + title)
    table = build_table(SheetGrid("S", grid), spec, "t")
    assert table.columns == headers and len(table.frame) == n_rows


def test_xy_cut_splits_side_by_side_then_stacked():
    mask = np.zeros((7, 7), dtype=bool)
    mask[0:3, 0:2] = True
    mask[0:2, 4:7] = True
    mask[4:7, 0:2] = True
    assert xy_cut(mask) == [(0, 2, 0, 1), (0, 1, 4, 6), (4, 6, 0, 1)]

"""TAP4LLM packing: fit the sampled, augmented table into a token budget, verified by the counter.

Each attempt picks a level of detail (column statistics, how many columns, how long a cell may
be), counts the header and every candidate row, and takes as many rows, most important first,
as fit. Rows are counted with the estimate scaled to the given counter (measured on a sample of
the table), so a slow counter is called a few times per view. The whole text is then counted
with the given counter; while it is over the budget the row count shrinks. Nothing is ever
returned over budget: at worst the text is cut.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from table_io.model import Table, Workbook
from tools.tap.augment import matches_line, provenance_line, sheet_rows, summarize
from tools.tap.formats import FORMATS, Rendered, format_rows, render
from tools.tap.sampling import Sample, find_matches, question_terms, sample_rows
from tools.tokens import TokenCounter, estimate_tokens, resolve_counter

# (column detail, max columns shown, max chars per cell)
_ATTEMPTS = ((2, 40, 60), (1, 40, 40), (0, 40, 30), (1, 12, 30), (0, 8, 24), (0, 4, 16), (0, 2, 12))
_MIN_TABLE_SHARE = 120
_CHUNK = 48  # rows rendered and counted at a time  # tokens a table needs to be shown at all in a workbook view


@dataclass
class PackedView:
    """What the model sees: ``text`` within ``tokens`` <= budget, and what was left out."""

    text: str
    tokens: int
    tables: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)  # A1 references of matched cells shown
    rows: dict[str, list[int]] = field(default_factory=dict)  # table -> sheet rows shown


@dataclass
class _Prepared:
    table: Table
    sample: Sample
    relevance: float


def _prepare(table: Table, question: str, strategy: str, seed: int, limit: int) -> _Prepared:
    frame = table.frame
    terms = question_terms(question)
    matches = find_matches(frame, question, terms)
    sample = sample_rows(frame, question, strategy=strategy, limit=limit, seed=seed, matches=matches)
    name_hit = any(t.lower() in table.name.lower() or t.lower() in table.sheet.lower()
                   for t in terms if len(t) >= 3)
    relevance = len({m.term.lower() for m in matches}) + (2.0 if name_hit else 0.0)
    return _Prepared(table, sample, relevance)


def pack_table(table: Table, question: str, *, budget_tokens: int, fmt: str = "markdown",
               count_tokens: TokenCounter | None = None, strategy: str = "relevance",
               seed: int = 0) -> PackedView:
    """The view of one table for ``question`` within ``budget_tokens``."""
    _check_args(fmt, budget_tokens)
    counter = resolve_counter(count_tokens)
    prepared = _prepare(table, question, strategy, seed, _row_cap(budget_tokens, table))
    return _fit(prepared, budget_tokens, fmt, counter)


def pack_workbook(workbook: Workbook, question: str, *, budget_tokens: int, fmt: str = "markdown",
                  count_tokens: TokenCounter | None = None, strategy: str = "relevance",
                  seed: int = 0) -> PackedView:
    """The view of a whole workbook: the most relevant tables get most of the budget."""
    _check_args(fmt, budget_tokens)
    counter = resolve_counter(count_tokens)
    tables = list(workbook.tables)
    if not tables:
        return _cut("(the workbook has no tables)", budget_tokens, counter, [], ["no tables"])
    if len(tables) == 1:
        return pack_table(tables[0], question, budget_tokens=budget_tokens, fmt=fmt,
                          count_tokens=counter, strategy=strategy, seed=seed)
    prepared = sorted((_prepare(t, question, strategy, seed, _row_cap(budget_tokens, t)) for t in tables),
                      key=lambda p: -p.relevance)
    overview = "Workbook tables: " + "; ".join(
        f"{p.table.name} ({p.table.n_rows:,} rows x {len(p.table.columns)} cols, sheet {p.table.sheet})"
        for p in prepared)
    overview_cost = counter(overview) + 2
    remaining = budget_tokens - overview_cost
    if remaining < _MIN_TABLE_SHARE:
        return _cut(overview, budget_tokens, counter, [], [f"tables not shown: {len(tables)}"])
    shares = _shares([p.relevance for p in prepared], remaining, len(prepared))
    views: list[PackedView | None] = []
    for p, share in zip(prepared, shares, strict=True):
        views.append(_fit(p, share, fmt, counter) if share >= _MIN_TABLE_SHARE else None)
    # leftover tokens go to the most relevant table
    used = sum(v.tokens + 2 for v in views if v is not None)
    if views[0] is not None and remaining - used > 20:
        views[0] = _fit(prepared[0], shares[0] + remaining - used, fmt, counter)
    for _ in range(6):
        text, view = _join(overview, prepared, views)
        total = counter(text)
        if total <= budget_tokens:
            view.tokens = total
            return view
        first = views[0]
        if first is None:
            break
        views[0] = _fit(prepared[0], max(_MIN_TABLE_SHARE // 2, first.tokens - (total - budget_tokens) - 8),
                        fmt, counter)
    text, view = _join(overview, prepared, views)
    return _cut(text, budget_tokens, counter, view.tables, view.omitted, view.cells)


def _join(overview: str, prepared: Sequence[_Prepared], views: Sequence[PackedView | None]
          ) -> tuple[str, PackedView]:
    parts = [overview]
    out = PackedView("", 0)
    for p, v in zip(prepared, views, strict=True):
        if v is None:
            out.omitted.append(f"table {p.table.name} not shown ({p.table.n_rows:,} rows); "
                               f"use tap with table={p.table.name!r} or sql to read it")
            continue
        parts.append(v.text)
        out.tables.extend(v.tables)
        out.omitted.extend(v.omitted)
        out.cells.extend(v.cells)
        out.rows.update(v.rows)
    hidden = [p.table.name for p, v in zip(prepared, views, strict=True) if v is None]
    if hidden:
        parts.append(f"(not shown: tables {', '.join(hidden)}; use sql to query them)")
    out.text = "\n\n".join(parts)
    return out.text, out


def _shares(relevance: Sequence[float], total: int, n: int) -> list[int]:
    weights = [1.0 + 3.0 * r for r in relevance]
    scale = total / sum(weights)
    shares = [int(w * scale) for w in weights]
    # tables too small to show give their share to the ones before them
    for i in range(n - 1, 0, -1):
        if shares[i] < _MIN_TABLE_SHARE:
            shares[0] += shares[i]
            shares[i] = 0
    return shares


def _check_args(fmt: str, budget_tokens: int) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if budget_tokens < 1:
        raise ValueError("budget_tokens must be at least 1")


def _row_cap(budget_tokens: int, table: Table) -> int:
    """More rows than this cannot fit (a row costs at least ~4 tokens)."""
    return max(1, min(len(table.frame), budget_tokens // 4 + 1))


@dataclass
class _Attempt:
    head: str
    rendered: Rendered
    columns: list[Any]
    room: int  # tokens left after the rows that fit (negative: even the header does not fit)

    @property
    def k(self) -> int:
        return len(self.rendered.rows)


def _fit(prepared: _Prepared, budget: int, fmt: str, counter: TokenCounter) -> PackedView:
    """Try levels of detail from richest to leanest and compose the first good one.

    Good: all sampled rows fit (a small table shown whole, preferred while every column is
    still shown), else at least 5 rows fit; columns are dropped only when needed for that.
    """
    table, sample = prepared.table, prepared.sample
    whole_table = len(sample.rows) >= len(table.frame)
    plan = _planner(counter, table, sample, fmt)
    acceptable: _Attempt | None = None
    for index, (detail, max_cols, cell_chars) in enumerate(_ATTEMPTS):
        all_columns = max_cols >= len(table.columns)
        if acceptable is not None and (not whole_table or not all_columns):
            break
        attempt = _attempt(table, sample, budget, fmt, plan, detail, max_cols, cell_chars)
        if attempt.room < 0:
            continue
        if attempt.k == len(sample.rows) and (all_columns or acceptable is None):
            acceptable = attempt
            break
        if acceptable is None and (attempt.k >= min(len(sample.rows), 5) or index == len(_ATTEMPTS) - 1):
            acceptable = attempt
    if acceptable is not None:
        view = _compose(table, sample, acceptable.rendered, acceptable.head, acceptable.k,
                        acceptable.columns, counter, budget)
        if view is not None:
            return view
    fallback = provenance_line(table, 0) + " (too little room to show rows; use sql to query it)"
    return _cut(fallback, budget, counter, [table.name], [f"table {table.name}: all rows not shown"])


def _planner(counter: TokenCounter, table: Table, sample: Sample, fmt: str) -> TokenCounter:
    """The counter to plan with: the estimate scaled to the given counter on a sample of this
    table, so a slow counter (a tokenize endpoint) is called a few times per view, not per row.
    The plan is always verified with the given counter before a view is returned."""
    if counter is estimate_tokens:
        return counter
    positions = sample.rows[:30]
    columns = [c for c in table.columns if c in table.frame.columns]
    rows = [[str(n), *r] for n, r in zip(sheet_rows(table, positions),
                                          format_rows(table.frame.iloc[positions][columns]), strict=True)]
    text = render(fmt if fmt != "json" else "csv", ["row", *map(str, columns)], rows,
                  preformatted=True).text()
    text = provenance_line(table, len(columns)) + "\n" + text
    estimated = estimate_tokens(text)
    ratio = max(0.2, counter(text) / estimated) * 1.05 if estimated else 1.0

    def plan(piece: str) -> int:
        return math.ceil(estimate_tokens(piece) * ratio)

    return plan


def _attempt(table: Table, sample: Sample, budget: int, fmt: str, counter: TokenCounter,
             detail: int, max_cols: int, cell_chars: int) -> _Attempt:
    """The header at this level of detail, and as many rows (most important first) as fit."""
    frame = table.frame
    summaries = {s.name: s for s in summarize(frame)}
    row_col = "row" if "row" not in {str(c).lower() for c in table.columns} else "sheet_row"
    chosen = set(sample.columns[:max_cols])
    columns = [c for c in table.columns if str(c) in chosen and c in frame.columns]
    head_lines = [provenance_line(table, len(columns))]
    sampled = len(frame) < table.n_rows  # a huge file: the frame is only its first rows
    label = f"Columns (from the first {len(frame):,} rows)" if sampled else "Columns"
    head_lines.append(f"{label}: " + "; ".join(summaries[str(c)].describe(detail) for c in columns
                                               if str(c) in summaries))
    found = matches_line(table, sample.matches, limit=8 if detail else 3)
    if found:
        head_lines.append(found)
    positions = sample.rows
    header_cols = [row_col, *map(str, columns)]
    shell = render(fmt, header_cols, [], cell_chars)
    head = "\n".join(head_lines) + "\n" + shell.header
    fixed = counter(head) + counter(shell.footer) + counter(_footer(table, 10**7, columns, 0))
    room = budget - fixed
    lines: list[str] = []
    full = room < 0
    for start in range(0, len(positions), _CHUNK):  # render only as many rows as can fit
        if full:
            break
        chunk = positions[start:start + _CHUNK]
        values = frame.iloc[chunk][columns]
        numbers = sheet_rows(table, chunk)
        if fmt == "json":
            rows: list[list[Any]] = [[n, *r] for n, r in zip(
                numbers, values.itertuples(index=False, name=None), strict=True)]
        else:
            rows = [[str(n), *r] for n, r in zip(numbers, format_rows(values, cell_chars), strict=True)]
        for line in render(fmt, header_cols, rows, cell_chars, preformatted=fmt != "json").rows:
            cost = counter(line) + 1
            if cost > room:
                full = True
                break
            room -= cost
            lines.append(line)
    return _Attempt(head, Rendered(shell.header, lines, shell.footer), columns, room)


def _compose(table: Table, sample: Sample, rendered: Rendered, head: str, k: int,
             columns: Sequence[object], counter: TokenCounter, budget: int) -> PackedView | None:
    positions = sample.rows
    while True:
        keep = sorted(range(k), key=lambda i: positions[i])  # show rows in sheet order
        body = "\n".join(rendered.rows[i] for i in keep)
        footer = _footer(table, table.n_rows - k, columns, k)
        text = head + body + rendered.footer + ("\n" + footer if footer else "")
        tokens = counter(text)
        if tokens <= budget:
            break
        if k == 0:
            return None
        k = max(0, k - max(1, (k * (tokens - budget)) // max(tokens, 1) + 1))
    shown_positions = [positions[i] for i in range(k)]
    shown_set = set(shown_positions)
    cells = []
    shown_columns = {str(c) for c in columns}
    for m in sample.matches:
        if m.column not in shown_columns:
            continue
        for r in m.rows.tolist():
            if r in shown_set:
                try:
                    cells.append(table.cell(r, m.column))
                except (ValueError, IndexError):
                    continue
    omitted = []
    if len(table.frame) < table.n_rows:
        omitted.append(f"table {table.name}: only its first {len(table.frame):,} rows were searched "
                       "for the question's values; use sql for the rest")
    if table.n_rows > k:
        omitted.append(f"table {table.name}: {table.n_rows - k:,} of {table.n_rows:,} rows not shown")
    named_hidden = [r for r in sample.named_rows if r not in shown_set]
    if named_hidden:
        omitted.append(f"table {table.name}: {len(named_hidden):,} rows matching the question not shown")
    hidden_cols = [str(c) for c in table.columns if c not in columns]
    if hidden_cols:
        omitted.append(f"table {table.name}: columns not shown: {', '.join(hidden_cols)}")
    return PackedView(text=text, tokens=tokens, tables=[table.name], omitted=omitted,
                      cells=list(dict.fromkeys(cells)),
                      rows={table.name: sorted(sheet_rows(table, shown_positions))})


def _footer(table: Table, hidden: int, columns: Sequence[object], shown: int) -> str:
    parts = []
    if hidden > 0:
        parts.append(f"… {hidden:,} more rows not shown; use sql to query them")
    if len(table.frame) < table.n_rows:
        parts.append(f"only the first {len(table.frame):,} rows were searched for the question's values")
    missing = len(table.columns) - len(columns)
    if missing > 0:
        parts.append(f"{missing} columns not shown")
    if not parts:
        return ""
    return "(" + "; ".join(parts) + ")"


def _cut(text: str, budget: int, counter: TokenCounter, tables: list[str], omitted: list[str],
         cells: list[str] | None = None) -> PackedView:
    """``text`` cut to the budget (binary search on length, verified by the counter)."""
    tokens = counter(text)
    if tokens > budget:
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if counter(text[:mid] + "…") <= budget:
                lo = mid
            else:
                hi = mid - 1
        text = text[:lo] + "…" if lo else ""
        tokens = counter(text)
        if tokens > budget:
            text, tokens = "", 0
        omitted = [*omitted, "the view was cut at the token budget"]
    return PackedView(text=text, tokens=tokens, tables=tables, omitted=omitted, cells=cells or [])

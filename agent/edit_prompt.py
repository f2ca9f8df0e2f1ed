"""The prompts of an edit request: a system prompt with only the sheet actions the request needs,
the workbook's layout in cell addresses (sheets, ranges, header row, column letters, the next
empty column), a few rows, and exemplars chosen by the kinds of edit asked for
(prompts/edit_exemplars.jsonl)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

import prompts
from agent.edit_intent import EditIntent
from agent.untrusted import as_data
from table_io.model import Table, Workbook, column_index, column_letter
from tools.tap.formats import format_value

ALWAYS_SHOWN = ("write", "formula", "add_sheet")  # actions most edits lean on
SAMPLE_ROWS = 3


def _kind_of(series: Any) -> str:
    """table_io's type name, 'empty' for a column with no value yet (one to fill in)."""
    from table_io.cell_types import kind_of

    if len(series) and bool(series.isna().all()):
        return "empty"
    kind = kind_of(series)
    return "number" if kind == "integer" else kind


def _letters(table: Table) -> list[str]:
    if table.column_letters:
        return list(table.column_letters)
    first = re.match(r"([A-Z]+)", table.range)
    start = column_index(first.group(1)) if first else 1
    return [column_letter(start + j) for j in range(len(table.columns))]


def table_layout(table: Table, next_empty: str | None) -> str:
    """'Sheet "S": table A1:D41; header row 1; data rows 2-41; next empty column E' and the
    columns with their letters and kinds."""
    rows = table.row_numbers
    data = f"data rows {rows[0]}-{rows[-1]}" if rows else "no data rows"
    header = ", ".join(str(h) for h in table.header_rows) or "none"
    title = f' (title "{table.title}")' if table.title else ""
    head = f'Sheet "{table.sheet}": table {table.range}{title}; header row {header}; {data}'
    if next_empty:
        head += f"; next empty column {next_empty}"
    written = table.meta.get("parsed_from_text", {}) if table.meta else {}
    cols = []
    for letter, name in zip(_letters(table), table.columns, strict=False):
        kind = _kind_of(table.frame[name]) if name in table.frame else "text"
        if name in written:
            kind = f"text: {kind}s written as text" if kind != "text" else kind
        cols.append(f"{letter} {name} ({kind})")
    lines = [head, "  " + " | ".join(cols)]
    if table.total_row_numbers:
        lines.append(f"  total rows (not data): {', '.join(map(str, table.total_row_numbers))}")
    return "\n".join(lines)


def layout_text(workbook: Workbook) -> str:
    """Every sheet of the workbook in cell addresses, tables first, empty sheets named."""
    lines = []
    by_sheet: dict[str, list[Table]] = {}
    for t in workbook.tables:
        by_sheet.setdefault(t.sheet, []).append(t)
    for sheet in workbook.sheets:
        tables = by_sheet.get(sheet.name, [])
        hidden = " (hidden)" if sheet.hidden else ""
        if not tables:
            lines.append(f'Sheet "{sheet.name}"{hidden}: no table')
            continue
        next_empty = column_letter(sheet.n_cols + 1) if sheet.n_cols else None
        for t in tables:
            lines.append(table_layout(t, next_empty if t is tables[-1] else None) + hidden)
    return "\n".join(lines)


def sample_view(workbook: Workbook, rows: int = SAMPLE_ROWS) -> str:
    """The first rows and the last row of each table, under their sheet row numbers."""
    blocks = []
    for t in workbook.tables:
        letters = _letters(t)
        head = "| row | " + " | ".join(f"{letter} {c}" for letter, c in
                                       zip(letters, t.columns, strict=False)) + " |"
        picks = list(range(min(rows, len(t.frame))))
        if len(t.frame) > rows:
            picks.append(len(t.frame) - 1)
        lines = [f"{t.sheet}:", head]
        for k, i in enumerate(picks):
            if k == rows and i > rows:
                lines.append("| ... |")
            number = t.row_numbers[i] if t.row_numbers else i + 2
            cells = [format_value(v, 30) for v in t.frame.iloc[i].tolist()]
            lines.append(f"| {number} | " + " | ".join(cells) + " |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@cache
def _action_docs() -> dict[str, str]:
    """The sheet tool's one-line action docs, by action name."""
    from tools.sheet import SheetTool

    doc = SheetTool.__doc__ or ""
    body = doc.split("Actions (fields; ? = optional):", 1)[-1].split("Example:", 1)[0]
    docs: dict[str, str] = {}
    for line in body.strip().splitlines():
        line = line.strip()
        for part in re.split(r";\s+(?=[a-z_]+(?: / [a-z_]+)*:)", line):
            part = re.sub(r";\s*[a-z_]+$", "", part)  # 'copy_sheet: name; delete_sheet'
            names, _, fields = part.partition(":")
            for name in names.split("/"):
                if name.strip():
                    docs[name.strip()] = f"{names.strip()}:{fields}" if fields else part
    return docs


def action_docs(intent: EditIntent) -> tuple[str, str]:
    """(the docs of the actions the request needs, the names of the others)."""
    docs = _action_docs()
    wanted = [*intent.action_names(), *ALWAYS_SHOWN]
    shown: list[str] = []
    for name in wanted:
        line = docs.get(name)
        if line and line not in shown:
            shown.append(line)
    others = [n for n in docs if docs[n] not in shown]
    return "\n".join(shown), ", ".join(others)


def system_prompt(intent: EditIntent, text_protocol: bool) -> str:
    actions, others = action_docs(intent)
    protocol = prompts.load("edit_protocol.md").format() if text_protocol else ""
    return prompts.render("edit_system.md", actions=actions, other_actions=others,
                          protocol=protocol)


@cache
def _exemplars() -> tuple[dict[str, Any], ...]:
    return prompts.load_jsonl("edit_exemplars.jsonl")


def _header_row(layout: str) -> int | None:
    m = re.search(r"header row (\d+)", layout)
    return int(m.group(1)) if m else None


def choose_exemplars(intent: EditIntent, k: int = 2, header_row: int | None = None
                     ) -> list[dict[str, Any]]:
    """Up to ``k`` exemplars that together cover most of the request's kinds (greedy cover; a
    tie goes to the exemplar whose table starts like the workbook's (``header_row``: a title row
    above the header or not), then to one sharing more words with the request, then to file
    order). A sort request gets the exemplar of its own direction."""
    items = list(_exemplars())
    words = set(re.findall(r"[a-z]+", intent.request.lower()))
    left = set(intent.kinds)
    chosen: list[dict[str, Any]] = []

    def score(item: dict[str, Any]) -> tuple[int, int, int, int]:
        kinds = set(item["kinds"])
        shape = 0
        if header_row is not None:
            shape = 1 if (_header_row(item["layout"]) == 1) == (header_row == 1) else -1
        direction = 0
        if "sort" in kinds and intent.ascending is not None:
            desc = any(a.get("desc") for s in item["steps"] for a in s["args"]["actions"]
                       if a.get("action") == "sort")
            direction = 1 if desc != intent.ascending else -1
        overlap = len(set(re.findall(r"[a-z]+", item["request"].lower())) & words)
        return len(kinds & left), direction, shape, overlap

    while len(chosen) < k and left:
        best = max((i for i in items if i not in chosen), key=score, default=None)
        if best is None or not set(best["kinds"]) & left:
            break
        chosen.append(best)
        left -= set(best["kinds"])
    return chosen


def _call_text(args: dict[str, Any]) -> str:
    return json.dumps({"tool": "sheet", "arguments": args}, ensure_ascii=False)


def exemplar_messages(items: Sequence[dict[str, Any]]) -> list[BaseMessage]:
    """Exemplars as earlier chat turns, in the same shape as the real turn."""
    out: list[BaseMessage] = []
    for item in items:
        out.append(HumanMessage(prompts.render("edit_turn.md", layout=item["layout"], view="",
                                               question=item["request"])))
        for step in item["steps"]:
            out.append(AIMessage(_call_text(step["args"])))
            out.append(HumanMessage(f"Result of sheet:\n{step['result']}"))
        out.append(AIMessage(f"Final answer: {item['answer']}"))
    return out


def turn_prompt(workbook: Workbook, question: str) -> str:
    view = sample_view(workbook)
    return prompts.render("edit_turn.md", layout=as_data(layout_text(workbook)),
                          view=as_data(view) if view else "", question=question)


def opening(question: str, intent: EditIntent, workbook: Workbook,
            history: Sequence[BaseMessage], text_protocol: bool, k: int = 2) -> list[BaseMessage]:
    """The conversation before the model's first reply to an edit request (the prompt
    documents the sheet tool's actions itself)."""
    first = workbook.tables[0] if workbook.tables else None
    header = first.header_rows[-1] if first is not None and first.header_rows else None
    shots = exemplar_messages(choose_exemplars(intent, k, header))
    return [SystemMessage(system_prompt(intent, text_protocol)), *shots, *history,
            HumanMessage(turn_prompt(workbook, question))]

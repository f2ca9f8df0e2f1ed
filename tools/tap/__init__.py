"""TAP4LLM: what the model sees of a table (sampling, augmenting, packing into a token budget).

    from tools.tap import pack_workbook
    view = pack_workbook(workbook, "What was Oslo's revenue in 2019?", budget_tokens=2000)
    view.text      # markdown (or csv/html/json) with a row column pointing at sheet rows
    view.omitted   # what was left out, in words
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from table_io.model import Workbook
from tools.base import Tool, ToolFailure, ToolResult
from tools.payloads import ViewPayload
from tools.tap.formats import FORMATS
from tools.tap.packing import PackedView, pack_table, pack_workbook
from tools.tap.sampling import STRATEGIES, find_matches, question_terms, sample_rows
from tools.tokens import TokenCounter

__all__ = [
    "FORMATS",
    "STRATEGIES",
    "PackedView",
    "TapTool",
    "find_matches",
    "pack_table",
    "pack_workbook",
    "question_terms",
    "sample_rows",
]


class TapArgs(BaseModel):
    question: str = Field(description="What you want to find out; rows holding the values it names come first.")
    table: str | None = Field(default=None, description="One table's name; omit for the whole workbook.")
    budget_tokens: int = Field(default=2000, ge=100, le=16000, description="Size of the view in tokens.")


class TapTool(Tool):
    """Show the rows and columns of the workbook's tables that matter for a question.

    Returns column types, ranges and distinct values, the cells where the question's terms
    appear, and a sample of rows (rows holding the named values first) that fits the budget.
    The "row" column is the sheet row number. Use sql to compute over all rows.
    """

    name = "tap"
    Args = TapArgs

    def __init__(self, workbook: Workbook, *, fmt: str = "markdown",
                 count_tokens: TokenCounter | None = None) -> None:
        self.workbook = workbook
        self.fmt = fmt
        self.count_tokens = count_tokens

    def refresh(self, workbook: Workbook) -> None:
        self.workbook = workbook

    def run(self, args: Any) -> ToolResult:
        if args.table:
            names = {t.name.lower(): t for t in self.workbook.tables}
            table = names.get(args.table.lower())
            if table is None:
                raise ToolFailure(f"unknown table {args.table!r}",
                                  hint="tables: " + ", ".join(t.name for t in self.workbook.tables))
            view = pack_table(table, args.question, budget_tokens=args.budget_tokens, fmt=self.fmt,
                              count_tokens=self.count_tokens)
        else:
            view = pack_workbook(self.workbook, args.question, budget_tokens=args.budget_tokens,
                                 fmt=self.fmt, count_tokens=self.count_tokens)
        return ToolResult(observation=view.text,
                          payload=ViewPayload(tokens=view.tokens, omitted=view.omitted,
                                              rows=view.rows),
                          tables=view.tables, cells=view.cells)

"""Reading a query with sqlglot: the dialects tried, clean parses only (warnings refuse), and
syntax errors that point at the spot."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from tools.base import ToolFailure

DIALECTS = ("duckdb", "mysql", "postgres", "sqlite", "tsql")
ERROR_MARK = " <<here>> "  # where an error message points in the query


def refuse(message: str, *, hint: str | None = None, location: str | None = None) -> ToolFailure:
    return ToolFailure(message, kind="query", hint=hint, location=location)


@contextmanager
def _captured_warnings() -> Iterator[list[str]]:
    """sqlglot reports unsupported syntax as a log warning: collect this thread's."""
    messages: list[str] = []
    me = threading.get_ident()

    class _Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == me and record.levelno >= logging.WARNING:
                messages.append(record.getMessage())

    logger = logging.getLogger("sqlglot")
    handler = _Handler()
    logger.addHandler(handler)
    old_propagate = logger.propagate
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.propagate = old_propagate


def first_reading(text: str) -> tuple[str, exp.Expression]:
    """The first dialect that parses ``text`` cleanly; DuckDB's refusals are final."""
    first_error: ToolFailure | None = None
    for dialect in DIALECTS:
        try:
            return dialect, parse_one(text, dialect)
        except ToolFailure as failure:
            if dialect == DIALECTS[0]:
                first_error = failure
                if failure.error.message.startswith("refused"):
                    break  # more than one statement, or unsupported syntax: final
    assert first_error is not None
    raise first_error


def parse_one(text: str, dialect: str) -> exp.Expression:
    """Exactly one statement, parsed without a warning, or a refusal that says why."""
    with _captured_warnings() as warnings:
        try:
            statements = sqlglot.parse(text, read=dialect)
        except ParseError as err:
            raise _parse_failure(text, err) from None
        except TokenError as err:
            raise refuse(f"the query could not be read: {err}",
                         hint="check quotes: strings use 'single quotes', names \"double quotes\"") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise refuse(f"refused: {len(statements)} statements; send exactly one SELECT",
                     hint="no semicolons between statements; one query per call")
    if warnings:
        raise refuse(f"refused: sqlglot could not parse this cleanly ({warnings[0]})",
                     hint="only SELECT queries over the workbook's tables are allowed")
    tree = statements[0]
    assert isinstance(tree, exp.Expression)
    return tree


def _parse_failure(text: str, err: ParseError) -> ToolFailure:
    detail = err.errors[0] if err.errors else {}
    line, col = detail.get("line"), detail.get("col")
    description = detail.get("description") or str(err).splitlines()[0]
    location = None
    if line is not None and col is not None:
        lines = text.splitlines() or [text]
        src = lines[min(max(int(line) - 1, 0), len(lines) - 1)]
        c = max(int(col), 1)
        excerpt = src[max(0, c - 40):c] + ERROR_MARK + src[c:c + 30]
        location = f"line {line}, column {col}: {excerpt.strip()}"
    return refuse(f"syntax error: {description}", location=location,
                  hint="write DuckDB SQL; quote names with spaces in \"double quotes\", "
                       "strings in 'single quotes'")

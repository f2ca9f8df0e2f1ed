"""Clean, unique, SQL-safe names for tables and columns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def sql_identifier(text: str, fallback: str = "t") -> str:
    """'Sales 2024 (EU)' -> 'sales_2024_eu'; never empty, never starts with a digit."""
    ident = _NON_WORD.sub("_", _ascii(str(text))).strip("_").lower()
    if not ident:
        ident = fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"
    return ident


def unique(names: Iterable[str], taken: Iterable[str] = ()) -> list[str]:
    """Make names unique (case-insensitively) by suffixing _2, _3, ..."""
    seen = {n.lower() for n in taken}
    out: list[str] = []
    for name in names:
        candidate, k = name, 2
        while candidate.lower() in seen:
            candidate = f"{name}_{k}"
            k += 1
        seen.add(candidate.lower())
        out.append(candidate)
    return out


def clean_column_names(headers: Iterable[object]) -> list[str]:
    """Readable column names: whitespace collapsed, blanks named col_N, duplicates suffixed.

    Names keep their spelling (``Revenue Q1``); SQL quoting is the SQL layer's job.
    """
    cleaned = []
    for i, h in enumerate(headers, start=1):
        text = "" if h is None else " ".join(str(h).split())
        cleaned.append(text or f"col_{i}")
    return unique(cleaned)

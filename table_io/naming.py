"""Clean, unique, SQL-safe names for tables and columns."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_NON_WORD = re.compile(r"[^0-9a-zA-Z]+")

TITLE_NAME_MAX = 30  # a name taken from a title is cut to this many characters, at a word
# the names spreadsheet programs give new sheets, in the languages they ship in ("Sheet1",
# "Tabelle1", "Feuil1", "Hoja1", "Foglio1", "Planilha1", "Blad1", "Arkusz1", "Лист1", ...):
# they say nothing about the table. Words that are also ordinary sheet names ("Plan", "List",
# "Ark", "Blad") count only with a number. "Data", "Summary" and the like are not here: a person
# chose them, and questions say "the summary sheet".
_GENERIC_SHEET = re.compile(
    r"^(sheet|worksheet|tabelle|feuil|feuille|hoja|foglio|planilha|arkusz|taulukko|munkalap|"
    r"лист|シート|工作表)\s*\d*$"
    r"|^(plan|list|ark|blad|lapa|foaie|sayfa|hárok|lehekülg)\s*\d+$",
    re.IGNORECASE,
)


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


def is_generic_sheet_name(name: str) -> bool:
    """'Sheet1', 'Tabelle 2', 'Feuil1', 'Hoja1': a default name that does not say what the sheet holds."""
    return bool(_GENERIC_SHEET.match(name.strip()))


def title_identifier(title: str | None, limit: int = TITLE_NAME_MAX) -> str | None:
    """A table's title as a name part: its first line ('Quarterly Sales Report / All figures in
    USD' -> 'quarterly_sales_report'), cut to ``limit`` characters at a word boundary (the
    words kept whole, so 'headcount_by_department_and_region_2024' -> 'headcount_by_department_and');
    None when the title has no letters to name anything by."""
    first = (title or "").split(" / ")[0]
    ident = _NON_WORD.sub("_", _ascii(first)).strip("_").lower()
    if not any(ch.isalpha() for ch in ident):
        return None
    if len(ident) <= limit:
        return ident
    kept = ""
    for word in ident.split("_"):
        candidate = f"{kept}_{word}" if kept else word
        if len(candidate) > limit:
            break
        kept = candidate
    return kept or ident[:limit]


def sheet_table_names(sheet: str, titles: list[str | None]) -> list[tuple[str, bool]]:
    """The name each table of a sheet asks for, and whether it is the sheet's own name.

    One table on a sheet with a meaningful name takes the sheet's name (``Sales 2024`` ->
    ``sales_2024``). Where the sheet name does not identify the table, the title does: on a
    sheet with a default name (``Sheet1``) a titled table is named by its title alone
    (``quarterly_sales_report``); on a sheet with several tables each is the sheet's name plus
    its title (``roster_employees``), or its position when it has no title (``report_2``).
    The second element lets :func:`assign_names` give sheet names first claim, so a title never
    takes the name of another sheet."""
    base = sql_identifier(sheet, fallback="sheet")
    generic = is_generic_sheet_name(sheet)
    out: list[tuple[str, bool]] = []
    for i, title in enumerate(titles, start=1):
        part = title_identifier(title)
        if len(titles) == 1 and (not generic or part is None):
            out.append((base, True))
        elif part is None:
            out.append((f"{base}_{i}", False))
        elif generic:
            out.append((sql_identifier(part), False))
        else:
            out.append((f"{base}_{part}", False))
    return out


def assign_names(wanted: list[tuple[str, bool]], taken: Iterable[str] = ()) -> list[str]:
    """Unique names for ``(name, is_sheet_name)`` requests: sheet names are served first, in
    order, then the rest; a clash gets ``_2``, ``_3``, ..."""
    seen = list(taken)
    out = [""] * len(wanted)
    for sheet_names_first in (True, False):
        positions = [i for i, (_, own) in enumerate(wanted) if own is sheet_names_first]
        for i, name in zip(positions, unique([wanted[i][0] for i in positions], taken=seen), strict=True):
            out[i] = name
            seen.append(name)
    return out


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

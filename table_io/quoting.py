"""The one place names are quoted: SQL identifiers (DuckDB) and sheet names in cell references (Excel).

table_io, tools/sql and tools/sheet all build text that another parser reads back; one rule per
parser keeps them agreeing.
"""

from __future__ import annotations

import re

# Excel reads a sheet name bare only when it looks like a plain identifier (letters, digits,
# underscores and dots, not starting with a digit) and cannot be read as a cell reference.
_PLAIN_SHEET = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_A1_LIKE = re.compile(r"[A-Za-z]{1,3}[0-9]+")
_R1C1_LIKE = re.compile(r"[Rr][0-9]*([Cc][0-9]*)?|[Cc][0-9]*")


def quote_ident(name: str) -> str:
    """A DuckDB (standard SQL) identifier: always in double quotes, embedded quotes doubled.

    Always quoting keeps spaces, capitals and reserved words ("Revenue Q1", "Year", "select")
    exactly as written."""
    return '"' + name.replace('"', '""') + '"'


def quote_sheet(name: str) -> str:
    """A sheet name as Excel writes it before ``!`` in a reference: bare when it is a plain
    identifier-like name (``Sales``, ``Q_2024.v2``), else in single quotes with embedded
    apostrophes doubled (``'My Sheet'``, ``'2024'``, ``'Bob''s'``). Names that read as a cell
    (``Q1``, ``AB12``) or as an R1C1 reference (``R``, ``C3``, ``R2C4``) are quoted too."""
    if (_PLAIN_SHEET.fullmatch(name) and not _A1_LIKE.fullmatch(name)
            and not _R1C1_LIKE.fullmatch(name)):
        return name
    return "'" + name.replace("'", "''") + "'"


def sheet_label(name: str) -> str:
    """A sheet's name in prose (the packed view's "sheet 2024"), for readers, not a parser: bare
    when it is letters, digits and underscores, else in single quotes so its edges show."""
    if name.replace("_", "").isalnum():
        return name
    return "'" + name.replace("'", "''") + "'"

"""Every file the app hands to a browser goes through here, so none carries a live formula.

Text that a spreadsheet program would run as a formula when it opens a CSV (``=``, ``+``, ``-``,
``@``, a tab or CR, the same after leading blanks, or their full-width forms) gets a leading
single quote, as table_io's own export does (OWASP's advice). Every field is quoted, so a field
holding another delimiter is never split by a program that guesses another one, and an Excel
``sep=`` line is honoured when splitting and then dropped. Numbers stay numbers: only text
is prefixed, and in a raw CSV file a field that is a plain decimal number counts as a number.
An .xlsx download is the person's own workbook: its formulas are real, and the text the model
or a person wrote is stored as text cells by the sheet tools (table_io.xlsx_safety.set_untrusted).
"""

from __future__ import annotations

import csv
import io
import numbers
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from table_io.xlsx_safety import csv_safe
from table_io.xlsx_safety import looks_like_formula as formula_like

# A field of only a sign, digits, decimal/group separators, an exponent or a % is a number
# (-5, +3, -2,5, 1'234.5, 1e-3, -5%): it stays as it is. Letters, brackets, |, ! never pass.
NUMBER = re.compile(r"[+-]?[\d.,' ]*\d[\d.,' ]*(?:[eE][+-]?\d+)?%?")
CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
# A formula start right after a character some program may split on (, ; tab |, then blanks or
# a quote): a program that guesses another delimiter would make it a cell of its own.
INNER_START = re.compile(
    r"[,;\t|][\s\"]*(?=[=+\-@\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\u2212])")
SEP_LINE = re.compile(r"\ufeff?sep=(.)[ \t]*\r?\n", re.IGNORECASE)


def csv_cell(value: Any) -> str:
    """One cell of a typed table as CSV text: formula-like text quote-prefixed, numbers as is."""
    if not isinstance(value, str):
        if _is_missing(value):
            return ""
        if isinstance(value, numbers.Number):  # -5 and 1e-3 stay numbers
            return csv_safe(value)
        value = csv_safe(value)  # dates as ISO text; any other object by its text
    value = INNER_START.sub(lambda m: m.group(0) + ("'" if m.start() else ""), value)
    return "'" + value if formula_like(value) else value


def raw_csv_field(text: str) -> str:
    """One field of a CSV file as read (all text): plain numbers as is, the rest like csv_cell."""
    return text if NUMBER.fullmatch(text.strip()) else csv_cell(text)


def csv_rows(rows: Iterable[Sequence[Any]], *, delimiter: str = ",") -> bytes:
    """Rows (the first is the header) as safe UTF-8 CSV."""
    buffer = io.StringIO()
    # every field quoted: a ';' or '|' inside a field never splits it in a program that guesses
    # another delimiter; \r\n ends rows, so a CR in text is inside quotes too
    writer = csv.writer(buffer, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")


def frame_csv(frame: Any) -> bytes:
    """A pandas DataFrame (a table's frame, a query result) as safe CSV, header included."""
    header = [str(c) for c in frame.columns]
    return csv_rows([header, *frame.itertuples(index=False, name=None)])


def file_download(path: Path) -> bytes:
    """The bytes of a workbook version for download: a CSV/TSV file is re-written safely,
    other formats (.xlsx, .xlsm, .parquet ...) go out as they are."""
    delimiter = CSV_SUFFIXES.get(path.suffix.lower())
    data = path.read_bytes()
    if delimiter is None:
        return data
    return safe_csv_text(data, delimiter)


def safe_csv_text(data: bytes, delimiter: str) -> bytes:
    """Re-write a CSV file's fields through raw_csv_field, keeping its bytes' encoding."""
    text = data.decode("utf-8", errors="surrogateescape")
    declared = SEP_LINE.match(text)
    if declared:  # Excel's "sep=X" first line: split as Excel will, and drop it
        delimiter, text = declared.group(1), text[declared.end():]
    elif delimiter == ",":
        delimiter = _sniff_delimiter(text)
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:  # e.g. a field past csv's size limit: split lines plainly instead
        rows = [line.split(delimiter) for line in text.splitlines()]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=csv.QUOTE_ALL)
    for row in rows:
        writer.writerow([raw_csv_field(field) for field in row])
    return out.getvalue().encode("utf-8", errors="surrogateescape")


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False

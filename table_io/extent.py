"""What the sheets of an .xlsx or .ods really hold, measured while their XML streams past.

``<dimension>`` is a claim; the cells' own ``r="XFD1048576"`` addresses are what a reader
allocates for, and a shared string is copied into every cell that uses it. So before calamine
sees the file, every worksheet part is scanned with byte patterns for the address of each cell
that has content and for the shared-string index it uses, and the shared-strings part for the
size of each string. A sheet whose real extent (A1 to its farthest cell) is over
``Limits.max_cells``, or a workbook whose cells expand to more text than
``Limits.max_text_bytes``, is refused with a message that names the sheet and the limit.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from table_io.errors import LimitExceededError
from table_io.limits import Limits
from table_io.model import column_index, column_letter

_P = rb"<(?:[\w.-]+:)?"  # an optional namespace prefix
_Q = rb"[\"']"
# a cell's address, r="XFD1048576" in any legal spelling (the row and the column apart, so
# each comes back as one flat list: far cheaper than tuples on sheets of millions of cells)
_REF_ROW = re.compile(rb"\sr\s*=\s*" + _Q + rb"[A-Za-z]+([0-9]+)" + _Q)
_REF_COL = re.compile(rb"\sr\s*=\s*" + _Q + rb"([A-Za-z]+)[0-9]+" + _Q)
_CELL_TAG = re.compile(_P + rb"c[\s>/]")
_SHARED_CELL = re.compile(rb"t\s*=\s*" + _Q + rb"s" + _Q + rb"[^>]*(?<!/)>\s*" + _P + rb"v>\s*([0-9]+)")
_ROW_OPEN = re.compile(_P + rb"row(?=[\s/>])([^>]*)>")
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*" + _Q + rb"([0-9]+)" + _Q)
_SHARED_STRING = re.compile(_P + rb"si[\s>/]")
_HUGE = 10**12  # an address too long to be real; stands for "far beyond any limit"
_CARRY_MAX = 1024 * 1024
_SMALL_PART = 16 * 1024 * 1024


@dataclass
class SheetExtent:
    name: str
    max_row: int = 0
    max_col: int = 0
    cells: int = 0
    shared_cells: int = 0
    text_bytes: int = 0


class XlsxExtent:
    """Fed every XML part of one .xlsx (shared strings before sheets); ``check`` judges."""

    def __init__(self, zf: zipfile.ZipFile, display: str, limits: Limits) -> None:
        self.display = display
        self.limits = limits
        self.names = _sheet_names(zf)
        self.string_sizes = np.zeros(0, dtype=np.int64)
        self.sheets: list[SheetExtent] = []

    def is_sheet(self, part: str) -> bool:
        return part in self.names or (part.startswith("xl/worksheets/") and part.endswith(".xml"))

    def scan(self, info: zipfile.ZipInfo, chunks: Iterator[bytes]) -> None:
        part = info.filename
        if self.is_sheet(part):
            sheet = SheetExtent(self.names.get(part, part.rsplit("/", 1)[-1]))
            self.sheets.append(sheet)
            for piece in _whole_tags(chunks):
                self._scan_sheet_piece(piece, sheet)
            self._check_sheet(sheet)
        elif part.rsplit("/", 1)[-1].lower() == "sharedstrings.xml":
            self.string_sizes = _larger_each(self.string_sizes, _string_sizes(chunks))
        else:
            for _ in chunks:  # still streamed: the DTD check sees the whole part
                pass

    def _scan_sheet_piece(self, data: bytes, sheet: SheetExtent) -> None:
        rows = _REF_ROW.findall(data)
        if rows:
            sheet.max_row = max(sheet.max_row, _max_number(rows))
            columns = {c.upper() for c in set(_REF_COL.findall(data))}
            sheet.max_col = max(sheet.max_col, max(_column_number(c) for c in columns))
        tags = _count_cell_tags(data)
        sheet.cells += len(rows)
        if tags > len(rows):  # cells without an address sit after their neighbours
            _extent_without_addresses(data, sheet)
        if len(self.string_sizes) and b"v>" in data:
            indexes = _SHARED_CELL.findall(data)
            if indexes:
                sheet.shared_cells += len(indexes)
                sheet.text_bytes += self._text_of(indexes)

    def _text_of(self, indexes: list[bytes]) -> int:
        sizes = self.string_sizes
        if max(map(len, indexes)) > 15:
            return _HUGE
        idx = np.array(list(map(int, indexes)), dtype=np.int64)
        idx = idx[idx < len(sizes)]  # a dangling index is the parser's error to report
        return int(sizes[idx].sum())

    def _check_sheet(self, sheet: SheetExtent) -> None:
        cells = sheet.max_row * sheet.max_col
        if cells > self.limits.max_cells:
            far = f"{column_letter(min(sheet.max_col, 10**6))}{sheet.max_row}" if sheet.max_col < _HUGE else "far away"
            raise LimitExceededError(
                f"sheet {sheet.name!r} has cells as far as {far}: reading it needs a grid of "
                f"{sheet.max_row:,} rows x {sheet.max_col:,} columns = {cells:,} cells, over the "
                f"{self.limits.max_cells:,} cell limit, though it holds only {sheet.cells:,} "
                "addressed cells (delete the stray cells, or raise the limit with "
                "TABLEPILOT_MAX_CELLS or Limits(max_cells=...))",
                source=self.display,
            )

    def check(self) -> None:
        total = sum(s.text_bytes for s in self.sheets)
        if total > self.limits.max_text_bytes:
            worst = max(self.sheets, key=lambda s: s.text_bytes)
            raise LimitExceededError(
                f"its shared strings expand to {total / 2**20:,.0f} MB of text once copied into "
                f"the cells that use them (sheet {worst.name!r}: {worst.shared_cells:,} cells, "
                f"{worst.text_bytes / 2**20:,.0f} MB), over the {self.limits.max_text_bytes / 2**20:,.0f} "
                "MB limit: refused as a possible shared-strings bomb (raise it with "
                "TABLEPILOT_MAX_TEXT_BYTES or Limits(max_text_bytes=...))",
                source=self.display,
            )


def _sheet_names(zf: zipfile.ZipFile) -> dict[str, str]:
    from table_io.xlsx_structure import sheet_names_by_part

    small = all(zf.getinfo(p).file_size <= _SMALL_PART for p in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")
                if p in zf.NameToInfo)
    return sheet_names_by_part(zf) if small else {}


def _whole_tags(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-cut chunks so no cell is split: each piece ends where a closing tag starts."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"</")
        if cut < 0 or len(data) - cut > _CARRY_MAX:
            cut = data.rfind(b"<")
        if cut <= 0 or len(data) - cut > _CARRY_MAX:
            cut = len(data)
        yield data[:cut]
        carry = data[cut:]
    if carry:
        yield carry


def _max_number(digits: list[bytes]) -> int:
    longest = max(map(len, digits))
    return _HUGE if longest > 12 else max(map(int, digits))


def _column_number(letters: bytes) -> int:
    return _HUGE if len(letters) > 8 else column_index(letters.decode("ascii"))


def _count_cell_tags(data: bytes) -> int:
    """Cell start tags, counted at C speed; the regex only runs for odd spellings."""
    if b":c" in data or b"<c\t" in data or b"<c\n" in data or b"<c\r" in data:
        return len(_CELL_TAG.findall(data))
    return data.count(b"<c ") + data.count(b"<c>")


def _extent_without_addresses(data: bytes, sheet: SheetExtent) -> None:
    """Rows whose cells have no r="": the row's own number (or the next one) and its cell count."""
    row = sheet.max_row
    for attrs, body in _row_pieces(data):
        number = _ROW_NUMBER.search(attrs)
        row = min(int(number.group(1)), _HUGE) if number and len(number.group(1)) <= 12 else row + 1
        cells = len(_CELL_TAG.findall(body))
        if cells:
            sheet.max_row = max(sheet.max_row, row)
            sheet.max_col = max(sheet.max_col, cells)


def _row_pieces(data: bytes) -> list[tuple[bytes, bytes]]:
    parts = _ROW_OPEN.split(data)  # [before, attrs1, body1, attrs2, body2, ...]
    return [(b" " + parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def _larger_each(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two candidate shared-string tables (a decoy beside the real one): the worse of each."""
    if len(a) < len(b):
        a, b = b, a
    out = a.copy()
    out[: len(b)] = np.maximum(a[: len(b)], b)
    return out


def _string_sizes(chunks: Iterator[bytes]) -> np.ndarray:
    """Bytes of each <si> in order: an upper bound on its text (entities only shrink)."""
    starts: list[int] = []
    offset = 0
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        cut = data.rfind(b"<")
        cut = len(data) if cut < 0 or len(data) - cut > 64 else cut
        starts.extend(offset + m.start() for m in _SHARED_STRING.finditer(data, 0, cut))
        offset += cut
        carry = data[cut:]
    offset += len(carry)
    if not starts:
        return np.zeros(0, dtype=np.int64)
    bounds = np.array([*starts, offset], dtype=np.int64)
    return np.diff(bounds)


# ---- OpenDocument: repeated rows and columns ----------------------------------------------

_ODS_TOKEN = re.compile(
    rb"<(/?)(?:[\w.-]+:)?(table|table-row|table-cell|covered-table-cell)(?=[\s/>])([^>]*?)(/?)>")
_ROWS_REPEATED = re.compile(rb"number-rows-repeated\s*=\s*" + _Q + rb"([0-9]+)" + _Q)
_COLS_REPEATED = re.compile(rb"number-columns-repeated\s*=\s*" + _Q + rb"([0-9]+)" + _Q)
_TABLE_NAME = re.compile(rb"name\s*=\s*" + _Q + rb"([^\"']*)" + _Q)


class OdsExtent:
    """Fed content.xml: the real extent of each table, counting repeats of cells with content.

    A cell that says ``number-columns-repeated="16384"`` in a row that says
    ``number-rows-repeated="1048576"`` is one tag that readers expand into 17 billion cells;
    repeats of empty cells (trailing padding, which every office suite writes) do not count.
    """

    def __init__(self, display: str, limits: Limits) -> None:
        self.display = display
        self.limits = limits
        self.name = "?"
        self.row = self.max_row = self.max_col = self.col = self.row_max_col = 0
        self.rows_repeated = 1

    def scan(self, chunks: Iterator[bytes]) -> None:
        for piece in _whole_tags(chunks):
            for closing, tag, attrs, empty in _ODS_TOKEN.findall(piece):
                self._token(bool(closing), tag, attrs, bool(empty))
        self._check()

    def _token(self, closing: bool, tag: bytes, attrs: bytes, empty: bool) -> None:
        if tag == b"table":
            if closing:
                self._check()
            else:
                name = _TABLE_NAME.search(attrs)
                self.name = name.group(1).decode("utf-8", "replace") if name else "?"
                self.row = self.max_row = self.max_col = 0
        elif tag == b"table-row":
            if not closing:
                self.col = self.row_max_col = 0
                self.rows_repeated = _repeat(_ROWS_REPEATED, attrs)
            if closing or empty:
                if self.row_max_col:
                    self.max_col = max(self.max_col, self.row_max_col)
                    self.max_row = self.row + self.rows_repeated
                self.row += self.rows_repeated
        elif not closing:
            self.col += _repeat(_COLS_REPEATED, attrs)
            if not empty or b"value-type" in attrs:
                self.row_max_col = self.col
        if tag != b"table" and self.max_row * self.max_col > self.limits.max_cells:
            self._check()

    def _check(self) -> None:
        cells = self.max_row * self.max_col
        if cells > self.limits.max_cells:
            raise LimitExceededError(
                f"sheet {self.name!r} repeats its cells out to {self.max_row:,} rows x "
                f"{self.max_col:,} columns = {cells:,} cells, over the {self.limits.max_cells:,} "
                "cell limit (raise it with TABLEPILOT_MAX_CELLS or Limits(max_cells=...))",
                source=self.display,
            )


def _repeat(pattern: re.Pattern[bytes], attrs: bytes) -> int:
    m = pattern.search(attrs)
    if not m:
        return 1
    return min(int(m.group(1)), _HUGE) if len(m.group(1)) <= 12 else _HUGE

"""Layout rules that detect.py applies to a found table: units rows under a header, page-break
copies of the header inside the data, key/value blocks beside a table (sheet metadata, not a
table), and the reading order of the tables on a sheet.

Each rule looks at a few rows or one column of the value grid (``''`` for an empty cell), so
it stays cheap on big sheets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from table_io.cell_types import display_text, is_empty_marker, parse_number


class Region(Protocol):
    """What these rules read of a detected table (detect.TableSpec), 0-based and inclusive:
    a protocol, so this module needs nothing from detect (which imports it)."""

    top: int
    bottom: int
    left: int
    right: int
    header_rows: int


S = TypeVar("S", bound=Region)

# words that name a unit of measure, a currency or a scale, as people write them under a header
_UNIT_TEXT = """
    % ‰ pp bp bps pct percent pts points times ratio
    $ € £ ¥ ₹ ₽ ₩ ₺ ₪ ₫ ฿ ₴ ₦ us$ a$ c$ r$ hk$ kr zł chf
    kg g mg µg t lb lbs oz st km m cm mm µm nm mi ft in yd
    m2 m² km2 km² ha ac sqm sqft m3 m³ l ml cl dl gal bbl hl
    h hr hrs hour hours min mins s sec secs ms d day days wk wks week weeks mo month months
    yr yrs year years
    wh kwh mwh gwh twh w kw mw gw j kj mj kcal cal btu °c °f ° k
    km/h mph kph kn knots rpm hz khz mhz ghz kb mb gb tb ppm ppb mol db v ah mah bar psi pa kpa hpa
    mpg pcs pc units unit items ea each no. nr # people persons ppl
    000 '000 000s '000s mn bn thousand thousands million millions billion billions per
"""
_UNIT_WORDS = frozenset(_UNIT_TEXT.split())
# a label that ends a table's data (kept here, where detect.py imports it from)
TOTAL_RE = re.compile(
    r"^\s*(grand\s+|sub[-\s]?)?totals?\b|\btotals?\s*:?\s*$|^\s*(sum|summe|gesamt|insgesamt)\s*:?\s*$",
    re.IGNORECASE,
)
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")
_SCALED_CURRENCY = re.compile(r"^[$€£¥₹]+(k|m|mn|bn|000|'000|000s)?$", re.IGNORECASE)
_UNIT_SPLIT = re.compile(r"[\s/·]+")
# at most this many data rows under a units row are looked at to see that a column is numeric
_UNITS_LOOKAHEAD = 30
# a 2-column block of label/value pairs without colons is metadata only when this short
_KV_MAX_ROWS_PLAIN = 6
_KV_MAX_ROWS = 15
# a page-break header copy is looked for at most at this many candidate rows per table
_MAX_REPEAT_CHECKS = 10_000


def blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def cell_text(v: Any) -> str:
    """A cell as header text: display form, whitespace collapsed ('' when blank)."""
    return "" if blank(v) else " ".join(display_text(v).split())


# ---- units row under a header ----------------------------------------------------------------
def unit_like(text: str) -> bool:
    """'(EUR)', '[m²]', 'kg', '$', 'USD', 'EUR/kg', "€ '000", 'km/h': a unit, currency or scale."""
    t = " ".join(text.split())
    if not t or len(t) > 20 or is_empty_marker(t) or parse_number(t) is not None:
        return False
    if t[0] in "([" and t[-1] in ")]":
        return 0 < len(t[1:-1].strip()) <= 15
    tokens = [tok for tok in _UNIT_SPLIT.split(t) if tok]
    return bool(tokens) and all(
        tok.lower() in _UNIT_WORDS or _ISO_CURRENCY.match(tok) or _SCALED_CURRENCY.match(tok) for tok in tokens
    )


def as_unit_label(text: str) -> str:
    """The unit as a header suffix: 'kg' -> '(kg)'; '(EUR)' and '[m]' stay as written."""
    t = " ".join(text.split())
    return t if t[:1] in "([" else f"({t})"


def _mostly_numeric(values: Sequence[Any], ignore: set[str]) -> bool:
    """Most filled cells are numbers (or numbers written as text), and at least one is.
    Texts in ``ignore`` (the column's own header and unit, copied after a page break) are skipped."""
    filled = [v for v in values if not is_empty_marker(v) and cell_text(v).casefold() not in ignore]
    if not filled:
        return False
    numbers = sum(
        1 for v in filled
        if (isinstance(v, (int, float)) and not isinstance(v, bool))
        or (isinstance(v, str) and parse_number(v) is not None)
    )
    return numbers >= max(1, 0.8 * len(filled))


def is_units_row(values: np.ndarray, r: int, spec: Region, header_rows: int) -> bool:
    """Row ``r``, just under the header, holds only unit-like texts, each under a header label
    and over a column whose data below is numeric ('Amount' over '(EUR)' over 1.5, 2.5...).
    A first data row differs: it has values in its label columns, or text that is no unit."""
    if r + 1 > spec.bottom:
        return False
    below = range(r + 1, min(spec.bottom, r + _UNITS_LOOKAHEAD) + 1)
    found = False
    for c in range(spec.left, spec.right + 1):
        v = values[r, c]
        if blank(v):
            continue
        if not isinstance(v, str) or not unit_like(v):
            return False
        labels = {cell_text(values[h, c]).casefold() for h in range(spec.top, spec.top + header_rows)} - {""}
        if not labels:
            return False
        if not _mostly_numeric(values[below.start : below.stop, c].tolist(), labels | {cell_text(v).casefold()}):
            return False
        found = True
    return found


# ---- page-break copies of the header -----------------------------------------------------------
def repeated_header_rows(values: np.ndarray, spec: Region) -> list[int]:
    """Data rows (0-based) that copy the header: a row equal, cell by cell, to a header row of
    at least two labels, with the rest of the header block around it when it matches too
    (a printed report repeats its header after each page break). A row that shares only some
    header values is data."""
    h = spec.header_rows
    first, last = spec.top + h, spec.bottom
    if h == 0 or first > last:
        return []
    header = [[cell_text(v).casefold() for v in values[spec.top + k, spec.left : spec.right + 1].tolist()]
              for k in range(h)]
    out: set[int] = set()
    for k, labels in enumerate(header):
        filled = [j for j, t in enumerate(labels) if t]
        if len(filled) < 2:
            continue
        c0 = spec.left + filled[0]
        # candidates: the first label copied exactly (one vectorised pass); the other cells of
        # the row may differ in case and spacing
        hits = np.asarray(values[first : last + 1, c0] == values[spec.top + k, c0], dtype=bool)
        for i in np.flatnonzero(hits)[:_MAX_REPEAT_CHECKS].tolist():
            r = first + int(i)
            if _row_labels(values, r, spec) != labels:
                continue
            for kk in range(h):
                rr = r - k + kk
                if first <= rr <= last and any(header[kk]) and _row_labels(values, rr, spec) == header[kk]:
                    out.add(rr)
    return sorted(out)


def _row_labels(values: np.ndarray, r: int, spec: Region) -> list[str]:
    return [cell_text(v).casefold() for v in values[r, spec.left : spec.right + 1].tolist()]


# ---- key/value blocks ------------------------------------------------------------------------
def is_key_value_block(
    values: np.ndarray, blk: tuple[int, int, int, int], others: list[tuple[int, int, int, int]], header_bold: bool
) -> bool:
    """A 2-column block of label/value pairs ('Prepared by: | J. Smith', 'Average | 4') on a
    sheet with other blocks ``others``: every label ends with ':', or the block is short, stands
    beside or above another block, and its first row is no header (its value is a number, not
    a label). ``header_bold``: the first row is bold over plain rows, so a header after all.
    Total lines are left to the table they close; a short headerless block under a table is
    more of it, or a table of its own."""

    top, bottom, left, right = blk
    height = bottom - top + 1
    if right != left + 1 or height > _KV_MAX_ROWS or header_bold:
        return False
    labels = values[top : bottom + 1, left].tolist()
    if not all(isinstance(v, str) and v.strip() and parse_number(v) is None for v in labels):
        return False
    if any(TOTAL_RE.search(v) for v in labels):
        return False
    if all(v.strip().endswith(":") for v in labels):
        return True
    first_value = values[top, right]
    is_value = not blank(first_value) and (
        not isinstance(first_value, str) or parse_number(first_value) is not None
    )
    return height <= _KV_MAX_ROWS_PLAIN and is_value and _beside_or_above(blk, others)


def _beside_or_above(blk: tuple[int, int, int, int], others: list[tuple[int, int, int, int]]) -> bool:
    top, bottom, left, right = blk
    return any(
        o != blk and (not (o[1] < top or o[0] > bottom) or (o[0] > bottom and not (o[3] < left or o[2] > right)))
        for o in others
    )


def key_value_pairs(values: np.ndarray, blk: tuple[int, int, int, int]) -> list[tuple[str, str]]:
    """The block's (label, value) pairs, the label without its trailing colon."""
    top, bottom, left, right = blk
    return [
        (cell_text(values[r, left]).rstrip(":").strip(), cell_text(values[r, right]))
        for r in range(top, bottom + 1)
    ]


def nearest_table(specs: list[S], blk: tuple[int, int, int, int]) -> S:
    """The table a metadata block belongs to: the nearest one below it in the same columns,
    else the nearest beside it on the same rows, else the nearest by rows."""
    top, bottom, left, right = blk
    below = [s for s in specs if s.top > bottom and not (s.right < left or s.left > right)]
    if below:
        return min(below, key=lambda s: s.top - bottom)
    beside = [s for s in specs if not (s.bottom < top or s.top > bottom)]
    if beside:
        return min(beside, key=lambda s: min(abs(s.left - right), abs(left - s.right)))
    return min(specs, key=lambda s: min(abs(s.top - bottom), abs(top - s.bottom)))


# ---- reading order -----------------------------------------------------------------------------
def reading_order(specs: list[S]) -> list[S]:
    """Tables top to bottom, and left to right among those that stand side by side (a table
    whose first row lies within the rows of the band's first table shares its band), judged by
    where each table's header starts, whatever titles stand above them."""
    bands: list[list[S]] = []
    for spec in sorted(specs, key=lambda s: (s.top, s.left)):
        if bands and spec.top <= bands[-1][0].bottom:
            bands[-1].append(spec)
        else:
            bands.append([spec])
    return [s for band in bands for s in sorted(band, key=lambda s: s.left)]

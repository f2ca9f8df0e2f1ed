"""Cell references: parse A1 ranges, shift them when rows/columns move, rename sheets in formulas.

openpyxl's ``insert_rows``/``delete_cols`` move cells but leave every formula, merged range,
conditional format, data validation, defined name and chart reference pointing at the old cells;
``shift_formula`` rewrites one reference string the way Excel does (a deleted cell becomes #REF!).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import column_index_from_string, get_column_letter

from table_io.quoting import quote_sheet  # re-exported: tools/sheet imports it here

MAX_ROW = 1_048_576
MAX_COL = 16_384

_PART = r"(\$?)([A-Za-z]{1,3})?(\$?)([0-9]{1,7})?"
_REF = re.compile(rf"^{_PART}(?::{_PART})?$")


@dataclass
class Box:
    """A rectangle of cells, 1-based and inclusive."""

    min_col: int
    min_row: int
    max_col: int
    max_row: int

    @property
    def ref(self) -> str:
        start = f"{get_column_letter(self.min_col)}{self.min_row}"
        if (self.min_col, self.min_row) == (self.max_col, self.max_row):
            return start
        return f"{start}:{get_column_letter(self.max_col)}{self.max_row}"

    @property
    def width(self) -> int:
        return self.max_col - self.min_col + 1

    @property
    def height(self) -> int:
        return self.max_row - self.min_row + 1

    @property
    def size(self) -> int:
        return self.width * self.height

    def cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.min_row, self.max_row + 1) for c in range(self.min_col, self.max_col + 1)]


def split_sheet(ref: str) -> tuple[str | None, str]:
    """"'My Sheet'!A1:B2" -> ("My Sheet", "A1:B2")."""
    if "!" not in ref:
        return None, ref
    sheet, _, cells = ref.rpartition("!")
    if sheet.startswith("'") and sheet.endswith("'"):
        sheet = sheet[1:-1].replace("''", "'")
    return sheet, cells


def parse_box(text: str, *, max_row: int = MAX_ROW, max_col: int = MAX_COL) -> Box | None:
    """'B2', 'A1:C9', 'C:E' (whole columns to ``max_row``), '3:5' (whole rows); None if not a range."""
    match = _REF.match(text.strip().replace(" ", ""))
    if not match:
        return None
    _, c1, _, r1, _, c2, _, r2 = match.groups()
    if c1 is None and r1 is None:
        return None
    if match.group(0).count(":") == 0:
        if c1 is None or r1 is None:
            return None
        c2, r2 = c1, r1
    if c1 and r1 is None and c2 and r2 is None:  # whole columns
        r1, r2 = "1", str(max_row)
    elif c1 is None and c2 is None and r1 and r2:  # whole rows
        c1, c2 = "A", get_column_letter(max_col)
    if not (c1 and r1 and c2 and r2):
        return None
    a, b = column_index_from_string(c1.upper()), column_index_from_string(c2.upper())
    x, y = int(r1), int(r2)
    if not (1 <= a <= MAX_COL and 1 <= b <= MAX_COL and 1 <= x <= MAX_ROW and 1 <= y <= MAX_ROW):
        return None
    return Box(min(a, b), min(x, y), max(a, b), max(x, y))


# --------------------------------------------------------------------------- shifting
@dataclass(frozen=True)
class Shift:
    """Rows (axis 'row') or columns ('col') inserted (count > 0) or deleted (count < 0) at ``at``."""

    sheet: str
    axis: str
    at: int
    count: int


def _shift_index(value: int, shift: Shift, *, is_end: bool) -> int | None:
    if shift.count > 0:
        return value + shift.count if value >= shift.at else value
    n = -shift.count
    last = shift.at + n - 1
    if value < shift.at:
        return value
    if value > last:
        return value - n
    # inside the deleted block: a range start moves to the first row after it, an end before it
    return None if not is_end else shift.at - 1


def shift_ref(ref: str, shift: Shift, *, own_sheet: str) -> str:
    """Rewrite one reference ('A1', "Sheet1!$B$2:C9", 'C:C') for ``shift``; '#REF!' if deleted."""
    sheet, cells = split_sheet(ref)
    if (sheet or own_sheet) != shift.sheet:
        return ref
    match = _REF.match(cells)
    if not match:
        return ref
    d1, c1, e1, r1, d2, c2, e2, r2 = match.groups()
    is_range = ":" in cells
    parts = [[d1, c1, e1, r1], [d2, c2, e2, r2]] if is_range else [[d1, c1, e1, r1]]
    key = 1 if shift.axis == "col" else 3
    originals: list[int | None] = []
    for part in parts:
        raw = part[key]
        if raw is None:
            originals.append(None)
            continue
        originals.append(column_index_from_string(raw.upper()) if shift.axis == "col" else int(raw))
    if all(v is None for v in originals):
        return ref
    new: list[int | None] = []
    if not is_range:
        value = originals[0]
        assert value is not None
        moved = _shift_index(value, shift, is_end=False)
        if moved is None:
            return "#REF!"
        new = [moved]
    else:
        lo, hi = originals
        assert lo is not None and hi is not None
        if shift.count < 0:
            n = -shift.count
            last = shift.at + n - 1
            new_lo = lo if lo < shift.at else (shift.at if lo <= last else lo - n)
            new_hi = hi - n if hi > last else (shift.at - 1 if hi >= shift.at else hi)
            if new_hi < new_lo:
                return "#REF!"
            new = [new_lo, new_hi]
        else:
            new = [_shift_index(lo, shift, is_end=False), _shift_index(hi, shift, is_end=True)]
    for part, value in zip(parts, new, strict=True):
        assert value is not None
        part[key] = get_column_letter(value) if shift.axis == "col" else str(value)
    text = "".join(p or "" for p in parts[0])
    if is_range:
        text += ":" + "".join(p or "" for p in parts[1])
    prefix = ref[: len(ref) - len(cells)]
    return prefix + text


def rewrite_formula(formula: str, rewrite: Callable[[str], str]) -> str:
    """Apply ``rewrite(reference) -> reference`` to every range operand of ``formula``."""
    if not isinstance(formula, str) or not formula.startswith("="):
        return formula
    try:
        tokens = Tokenizer(formula)
    except Exception:
        return formula
    changed = False
    for token in tokens.items:
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            new = rewrite(token.value)
            if new != token.value:
                token.value = new
                changed = True
    return "=" + "".join(t.value for t in tokens.items) if changed else formula


def shift_formula(formula: str, shift: Shift, *, own_sheet: str) -> str:
    return rewrite_formula(formula, lambda ref: shift_ref(ref, shift, own_sheet=own_sheet))


def rename_in_formula(formula: str, old: str, new: str) -> str:
    def rename(ref: str) -> str:
        sheet, cells = split_sheet(ref)
        return f"{quote_sheet(new)}!{cells}" if sheet == old else ref

    return rewrite_formula(formula, rename)


def shift_sqref(sqref: str, shift: Shift, *, own_sheet: str) -> str:
    """Space-separated ranges (merged cells, conditional formats, validation); deleted ones dropped."""
    parts = [shift_ref(p, shift, own_sheet=own_sheet) for p in str(sqref).split()]
    return " ".join(p for p in parts if p != "#REF!")


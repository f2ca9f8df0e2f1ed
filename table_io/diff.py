"""Cell-level difference between two workbook files: values, formulas, formats, sheet structure.

``diff_files(a, b)`` loads both with openpyxl (formulas and styles) and python-calamine (cached
formula values) and returns one ``CellChange`` per changed cell and aspect, for a person to review
before they download.

A formula the first file saved without a result (openpyxl writes none) gets one when tablepilot
recalculates the edited copy; that value change is marked ``recomputed`` so that it is not shown
as something the edit did.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook as XLWorkbook
from openpyxl.worksheet.worksheet import Worksheet

KINDS = ("value", "formula", "format", "sheet")


@dataclass(frozen=True)
class CellChange:
    """One change. ``kind``: 'value' (a constant or a formula's computed value), 'formula',
    'format', or 'sheet' (sheets added/removed/reordered, merges, conditional formats, data
    validation, freeze panes, filters, charts; ``cell`` is then a range or '')."""

    sheet: str
    cell: str
    kind: str
    before: Any
    after: Any
    recomputed: bool = False
    """A 'value' change of a formula whose text did not change and whose old file had no saved
    result for it: tablepilot computed the value, the edit did not change it."""

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("before", "after"):
            value = data[key]
            if value is not None and not isinstance(value, (str, int, float, bool)):
                data[key] = str(value)
        return data

    def describe(self) -> str:
        where = f"{self.sheet}!{self.cell}" if self.cell else self.sheet
        text = f"{where} {self.kind}: {_short(self.before)} -> {_short(self.after)}"
        return f"{text} (recomputed)" if self.recomputed else text


def _short(value: Any, limit: int = 40) -> str:
    text = "empty" if value is None or value == "" else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def diff_files(a: str | Path, b: str | Path) -> list[CellChange]:
    """Changes that turn workbook file ``a`` into workbook file ``b``."""
    wb_a = openpyxl.load_workbook(a, keep_links=True)
    wb_b = openpyxl.load_workbook(b, keep_links=True)
    return diff_workbooks(wb_a, wb_b, cached_a=read_cached_values(a), cached_b=read_cached_values(b))


class CachedValues(dict[str, list[list[Any]]]):
    """``read_cached_values``' answer: sheet name -> rows of values; it also knows which formula
    cells the file saved no result for (calamine reads those as empty, like an empty result)."""

    def __init__(self, grids: dict[str, list[list[Any]]], path: str | Path | None = None) -> None:
        super().__init__(grids)
        self.path = Path(path) if path is not None else None
        self._unsaved: dict[str, frozenset[tuple[int, int]]] | None = None

    def unsaved(self, sheet: str) -> frozenset[tuple[int, int]] | None:
        """(row, col), 1-based, of ``sheet``'s formulas stored without a result; None if unknown.

        Read from the file's XML on first use only: most diffs never ask."""
        if self.path is None:
            return None
        if self._unsaved is None:
            self._unsaved = _unsaved_formulas(self.path)
        return self._unsaved.get(sheet, frozenset())


_NS = rb"(?:[\w.-]+:)?"
_FORMULA_CELL = re.compile(
    rb"<" + _NS + rb"c\b([^>]*)>\s*<" + _NS + rb"f\b[^>]*?(?:/>|>[^<]*</" + _NS + rb"f>)\s*"
    rb"(<" + _NS + rb"v\s*/>|<" + _NS + rb"v>[^<]*</" + _NS + rb"v>)?\s*</" + _NS + rb"c>"
)
_CELL_REF = re.compile(rb"\br=\"([A-Z]{1,3})([0-9]+)\"")
_EMPTY_V = re.compile(rb"^<" + _NS + rb"v>\s*</" + _NS + rb"v>$")


def _unsaved_formulas(path: Path) -> dict[str, frozenset[tuple[int, int]]]:
    """Per sheet: formula cells with no ``<v>`` or an empty one (openpyxl writes ``<v />``).
    An empty ``<v></v>`` in a text cell (``t="str"``) is a saved empty result, not a missing one."""
    import zipfile

    from openpyxl.utils import column_index_from_string

    from table_io.xlsx_structure import sheet_names_by_part

    out: dict[str, frozenset[tuple[int, int]]] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for part, name in sheet_names_by_part(zf).items():
                try:
                    data = zf.read(part)
                except KeyError:
                    continue
                found = set()
                for match in _FORMULA_CELL.finditer(data) if b"<f" in data or b":f" in data else ():
                    attrs, v = match.group(1), match.group(2)
                    if v is None or v.endswith(b"/>"):
                        saved = False
                    else:  # <v></v> holds a result only in a text cell: an empty text result
                        saved = not _EMPTY_V.match(v) or b't="str"' in attrs
                    ref = _CELL_REF.search(attrs)
                    if not saved and ref:
                        found.add((int(ref.group(2)), column_index_from_string(ref.group(1).decode())))
                out[name] = frozenset(found)
    except (OSError, zipfile.BadZipFile):  # not a zip package: nothing is known
        return {}
    return out


def read_cached_values(path: str | Path) -> CachedValues:
    """Each sheet's cell values as stored in the file (formula cells: their cached result)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    out: dict[str, list[list[Any]]] = {}
    for name in book.sheet_names:
        try:
            out[name] = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception:  # chart sheets and the like
            out[name] = []
    return CachedValues(out, path)


def _recomputed(cached_a: Any, sheet: str, row: int, col: int, before: Any) -> bool:
    """Was the old value of this unchanged formula missing only because its file saved none?

    With a plain dict of values (no file to ask) an empty old value is taken to mean that."""
    if before is not None:
        return False
    unsaved = cached_a.unsaved(sheet) if isinstance(cached_a, CachedValues) else None
    return True if unsaved is None else (row, col) in unsaved


def _cached(grid: list[list[Any]] | None, row: int, col: int) -> Any:
    if not grid or row > len(grid):
        return None
    line = grid[row - 1]
    if col > len(line):
        return None
    value = line[col - 1]
    return None if value == "" else value


class _StyleNames:
    """Readable, comparable description of a cell's style, cached per style combination."""

    def __init__(self) -> None:
        self.cache: dict[tuple[int, ...], str] = {}

    def __call__(self, cell: Any, ws: Worksheet | None = None) -> str:
        if cell is not None and getattr(cell, "_style", None) is None:  # merged cells have no style
            cell = None
        if cell is None:
            if ws is None:
                return ""
            from openpyxl.cell.cell import Cell

            styles = ws.parent._cell_styles
            cell = Cell(ws, style_array=list(styles[0]) if len(styles) else [0] * 9)
        key = tuple(cell._style)
        found = self.cache.get(key)
        if found is None:
            found = self.cache[key] = describe_style(cell)
        return found

    def from_array(self, style: tuple[int, ...], ws: Worksheet) -> str:
        found = self.cache.get(style)
        if found is not None:
            return found
        from openpyxl.cell.cell import Cell

        return self(Cell(ws, style_array=list(style)), ws)


def describe_style(cell: Any) -> str:
    """'fmt=0.00; font=Calibri 11 bold; fill=FFFF00; border=thin; align=center' (defaults omitted)."""
    parts = []
    if cell.number_format and cell.number_format != "General":
        parts.append(f"fmt={cell.number_format}")
    font = cell.font
    if font is not None:
        bits = [str(font.name or ""), str(font.sz or "")]
        bits += ["bold"] if font.b else []
        bits += ["italic"] if font.i else []
        if font.u:
            bits.append(f"underline={font.u}")
        if font.color is not None and font.color.type == "rgb" and font.color.rgb not in ("FF000000", None):
            bits.append(f"color={font.color.rgb}")
        elif font.color is not None and font.color.type == "theme" and font.color.theme != 1:
            bits.append(f"color=theme{font.color.theme}")
        parts.append("font=" + " ".join(b for b in bits if b))
    fill = cell.fill
    if fill is not None and getattr(fill, "fill_type", None):
        color = fill.fgColor
        shown = color.rgb if color is not None and color.type == "rgb" else f"{color.type}{color.value}"
        parts.append(f"fill={fill.fill_type}:{shown}")
    border = cell.border
    if border is not None:
        sides = [f"{side}={getattr(border, side).style}" for side in ("left", "right", "top", "bottom")
                 if getattr(border, side) is not None and getattr(border, side).style]
        if sides:
            parts.append("border=" + ",".join(sides))
    align = cell.alignment
    if align is not None:
        bits = [f"h={align.horizontal}" if align.horizontal else "", f"v={align.vertical}" if align.vertical else "",
                "wrap" if align.wrap_text else ""]
        if any(bits):
            parts.append("align=" + " ".join(b for b in bits if b))
    if cell.protection is not None and cell.protection.locked is False:
        parts.append("unlocked")
    return "; ".join(parts)


def diff_workbooks(wb_a: XLWorkbook, wb_b: XLWorkbook, *, cached_a: dict[str, Any] | None = None,
                   cached_b: dict[str, Any] | None = None) -> list[CellChange]:
    """Changes between two loaded workbooks (cached values optional: then formulas only)."""
    changes: list[CellChange] = []
    names_a, names_b = wb_a.sheetnames, wb_b.sheetnames
    for name in names_a:
        if name not in names_b:
            changes.append(CellChange(name, "", "sheet", "sheet", None))
    for name in names_b:
        if name not in names_a:
            changes.append(CellChange(name, "", "sheet", None, "sheet"))
    common_a = [n for n in names_a if n in names_b]
    common_b = [n for n in names_b if n in names_a]
    if common_a != common_b:
        changes.append(CellChange("", "", "sheet", ", ".join(names_a), ", ".join(names_b)))
    styles_a, styles_b = _StyleNames(), _StyleNames()
    for name in names_b:
        if name not in names_a:
            ws_b = wb_b[name]
            if isinstance(ws_b, Worksheet):
                changes += _diff_sheet(None, ws_b, None, (cached_b or {}).get(name), styles_a, styles_b)
            continue
        ws_a, ws_b = wb_a[name], wb_b[name]
        if isinstance(ws_a, Worksheet) and isinstance(ws_b, Worksheet):
            changes += _diff_sheet(ws_a, ws_b, (cached_a or {}).get(name), (cached_b or {}).get(name),
                                   styles_a, styles_b, book_a=cached_a)
    return changes


def _cell_content(ws: Worksheet | None, row: int, col: int) -> tuple[Any, Any]:
    """(constant value or None, formula text or None)."""
    if ws is None:
        return None, None
    cell = ws._cells.get((row, col))
    if cell is None:
        return None, None
    value = cell.value
    if cell.data_type == "f":
        text = value if isinstance(value, str) else getattr(value, "text", str(value))
        return None, text
    return value, None


def _diff_sheet(ws_a: Worksheet | None, ws_b: Worksheet, cached_a: Any, cached_b: Any,
                styles_a: _StyleNames, styles_b: _StyleNames, *, book_a: Any = None) -> list[CellChange]:
    """``book_a``: all of the first file's cached values (to tell recomputed formulas)."""
    name = ws_b.title
    out: list[CellChange] = []
    keys = set(ws_b._cells)
    if ws_a is not None:
        keys |= set(ws_a._cells)
    for row, col in sorted(keys):
        ref = f"{get_column_letter(col)}{row}"
        value_a, formula_a = _cell_content(ws_a, row, col)
        value_b, formula_b = _cell_content(ws_b, row, col)
        if formula_a != formula_b:
            out.append(CellChange(name, ref, "formula", formula_a, formula_b))
        if formula_a is not None or formula_b is not None:
            value_a = _cached(cached_a, row, col) if formula_a is not None else value_a
            value_b = _cached(cached_b, row, col) if formula_b is not None else value_b
            if (cached_a is None and formula_a is not None) or (cached_b is None and formula_b is not None):
                value_a = value_b  # no cached values given: compare formulas only
        if not _same_value(value_a, value_b):
            again = formula_a is not None and formula_a == formula_b and book_a is not None \
                and _recomputed(book_a, name, row, col, value_a)
            out.append(CellChange(name, ref, "value", value_a, value_b, recomputed=again))
        cell_a = ws_a._cells.get((row, col)) if ws_a is not None else None
        cell_b = ws_b._cells.get((row, col))
        style_a = styles_a(cell_a, ws_a) if ws_a is not None else styles_b(None, ws_b)
        style_b = styles_b(cell_b, ws_b)
        if style_a != style_b:
            out.append(CellChange(name, ref, "format", style_a or None, style_b or None))
    out += _diff_structure(ws_a, ws_b)
    return out


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return a == b or abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(a)))
    return a == b


@dataclass
class Snapshot:
    """What each cell of a loaded workbook held before an edit (values, formulas, style ids).

    Style ids stay valid in the same workbook object (openpyxl only appends to its style tables),
    so a snapshot taken before actions run can be compared with the edited workbook in memory,
    which is much cheaper than loading both files again.
    """

    order: list[str]
    cells: dict[str, dict[tuple[int, int], tuple[Any, str, tuple[int, ...]]]]
    structure: dict[str, dict[str, str]]


def snapshot(wb: XLWorkbook) -> Snapshot:
    cells = {}
    structure = {}
    for ws in wb.worksheets:
        cells[ws.title] = {key: (c.value, c.data_type, tuple(c._style) if getattr(c, "_style", None) is not None else ())
                           for key, c in ws._cells.items()}
        structure[ws.title] = _structure(ws)
    return Snapshot(order=list(wb.sheetnames), cells=cells, structure=structure)


def diff_snapshot(before: Snapshot, wb: XLWorkbook, *, cached_a: dict[str, Any] | None = None,
                  cached_b: dict[str, Any] | None = None) -> list[CellChange]:
    """Changes from ``before`` (taken from ``wb`` itself, earlier) to ``wb`` as it is now."""
    changes: list[CellChange] = []
    names_b = wb.sheetnames
    for name in before.order:
        if name not in names_b:
            changes.append(CellChange(name, "", "sheet", "sheet", None))
    for name in names_b:
        if name not in before.order:
            changes.append(CellChange(name, "", "sheet", None, "sheet"))
    common_a = [n for n in before.order if n in names_b]
    if common_a != [n for n in names_b if n in before.order]:
        changes.append(CellChange("", "", "sheet", ", ".join(before.order), ", ".join(names_b)))
    styles = _StyleNames()
    for ws in wb.worksheets:
        old = before.cells.get(ws.title, {})
        default = styles(None, ws)
        for key in sorted(set(old) | set(ws._cells)):
            row, col = key
            ref = f"{get_column_letter(col)}{row}"
            then = old.get(key)
            cell = ws._cells.get(key)
            value_a, formula_a = _split(then[0], then[1]) if then else (None, None)
            value_b, formula_b = _split(cell.value, cell.data_type) if cell is not None else (None, None)
            if formula_a != formula_b:
                changes.append(CellChange(ws.title, ref, "formula", formula_a, formula_b))
            if formula_a is not None:
                value_a = _cached((cached_a or {}).get(ws.title), row, col)
            if formula_b is not None:
                value_b = _cached((cached_b or {}).get(ws.title), row, col)
            if not _same_value(value_a, value_b):
                again = formula_a is not None and formula_a == formula_b and cached_a is not None \
                    and _recomputed(cached_a, ws.title, row, col, value_a)
                changes.append(CellChange(ws.title, ref, "value", value_a, value_b, recomputed=again))
            style_then = then[2] if then else ()
            style_now = tuple(cell._style) if cell is not None and getattr(cell, "_style", None) is not None else ()
            if style_then != style_now:
                desc_a = styles.from_array(style_then, ws) if style_then else default
                desc_b = styles.from_array(style_now, ws) if style_now else default
                if desc_a != desc_b:
                    changes.append(CellChange(ws.title, ref, "format", desc_a or None, desc_b or None))
        after = _structure(ws)
        then_structure = before.structure.get(ws.title, {})
        for key, value in after.items():
            if then_structure.get(key, "") != value:
                changes.append(CellChange(ws.title, key, "sheet", then_structure.get(key) or None, value or None))
    return changes


def _split(value: Any, data_type: str) -> tuple[Any, Any]:
    if data_type == "f":
        return None, value if isinstance(value, str) else getattr(value, "text", str(value))
    return value, None


def _structure(ws: Worksheet | None) -> dict[str, str]:
    if ws is None:
        return {}
    cf = []
    for rng in ws.conditional_formatting:
        for rule in rng.rules:
            cf.append(f"{rng.sqref}:{rule.type}:{rule.operator or ''}:{','.join(rule.formula or [])}")
    dv = [f"{v.sqref}:{v.type}:{v.formula1 or ''}" for v in ws.data_validations.dataValidation]
    charts = [f"{type(c).__name__}" for c in ws._charts]
    return {
        "merged": ", ".join(sorted(str(m) for m in ws.merged_cells.ranges)),
        "freeze_panes": str(ws.freeze_panes or ""),
        "auto_filter": str(ws.auto_filter.ref or ""),
        "conditional_formats": "; ".join(sorted(cf)),
        "data_validation": "; ".join(sorted(dv)),
        "charts": ", ".join(charts),
        "hidden_rows": ",".join(str(r) for r, d in sorted(ws.row_dimensions.items()) if d.hidden),
        "column_widths": ",".join(f"{k}={d.width}" for k, d in sorted(ws.column_dimensions.items())
                                  if d.customWidth and d.width),
    }


def _diff_structure(ws_a: Worksheet | None, ws_b: Worksheet) -> list[CellChange]:
    before, after = _structure(ws_a), _structure(ws_b)
    out = []
    for key, value in after.items():
        old = before.get(key, "")
        if old != value:
            out.append(CellChange(ws_b.title, key, "sheet", old or None, value or None))
    return out


def split_recomputed(changes: list[CellChange]) -> tuple[list[CellChange], list[CellChange]]:
    """(what the edit changed, formula values tablepilot only computed for the first time)."""
    edits = [ch for ch in changes if not ch.recomputed]
    return edits, [ch for ch in changes if ch.recomputed]


def summarize(changes: list[CellChange], limit: int = 12) -> str:
    """A short text for the model: counts per sheet and kind, then the first changes; values
    recomputed for formulas the old file had no result for are counted on a line of their own."""
    changes, recomputed = split_recomputed(changes)
    lines = [_summarize_edits(changes, limit)]
    if recomputed:
        n = len(recomputed)
        lines.append(f"{n} value{'s' if n != 1 else ''} recomputed for formulas the file had no saved result for")
    return "\n".join(lines)


def _summarize_edits(changes: list[CellChange], limit: int) -> str:
    if not changes:
        return "no changes"
    counts: dict[tuple[str, str], int] = {}
    for ch in changes:
        counts[(ch.sheet, ch.kind)] = counts.get((ch.sheet, ch.kind), 0) + 1
    head = "; ".join(f"{sheet or 'workbook'}: {n} {kind}" for (sheet, kind), n in counts.items())
    lines = [f"{len(changes)} changes ({head})"]
    lines += [ch.describe() for ch in changes[:limit]]
    if len(changes) > limit:
        lines.append(f"... {len(changes) - limit} more")
    return "\n".join(lines)

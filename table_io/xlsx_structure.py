"""What calamine does not report for .xlsx/.xlsm: hidden rows and columns, row-label indents, bold
cells (headers) and formulas that have no cached value. Read straight from the package's XML parts.

The small parts (workbook, relationships, styles) go through defusedxml. Sheet parts can be
hundreds of MB, so they are scanned with byte patterns for the few tags that matter (``<row
hidden>``, ``<col hidden>``, indented styles, ``<f>`` without ``<v>``) instead of being parsed
cell by cell; a sheet with no such tag costs one substring search.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from typing import IO

from defusedxml import ElementTree

from table_io.model import column_index

_NS = r"(?:[\w.-]+:)?"
_HIDDEN_ROW = re.compile(rb"<" + _NS.encode() + rb"row\b[^>]*?\bhidden=\"(?:1|true)\"[^>]*>")
_ROW_NUMBER = re.compile(rb"\br=\"(\d+)\"")
_COL_TAG = re.compile(rb"<" + _NS.encode() + rb"col\b[^>]*>")
_ATTR = re.compile(rb"\b(min|max|hidden)=\"([^\"]*)\"")
_UNCACHED = re.compile(
    rb"<" + _NS.encode() + rb"c\b([^>]*)>\s*<" + _NS.encode() + rb"f\b[^>]*?(?:/>|>[^<]*</"
    + _NS.encode() + rb"f>)\s*(?:<" + _NS.encode() + rb"v\s*/>|<" + _NS.encode() + rb"v>\s*</"
    + _NS.encode() + rb"v>)?\s*</" + _NS.encode() + rb"c>"
)
_CELL_REF = re.compile(rb"\br=\"([A-Z]+)(\d+)\"")
_CHUNK = 16 * 1024 * 1024
_OVERLAP = 64 * 1024  # longer than any tag these patterns look for
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


@dataclass
class SheetStructure:
    name: str
    part: str
    state: str = "visible"  # visible, hidden, veryHidden
    hidden_rows: set[int] = field(default_factory=set)  # 1-based
    hidden_cols: set[int] = field(default_factory=set)  # 1-based
    indents: dict[tuple[int, int], int] = field(default_factory=dict)  # (row0, col0) -> level
    uncached_formulas: list[tuple[int, int]] = field(default_factory=list)  # (row0, col0)
    bold: set[tuple[int, int]] = field(default_factory=set)  # (row0, col0) of bold cells


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def read_structure(zf: zipfile.ZipFile) -> dict[str, SheetStructure]:
    """Per sheet name: hidden state, hidden rows/cols, indents, formulas without cached values."""
    sheets = _sheet_parts(zf)
    indent_styles, bold_styles = _cell_styles(zf)
    for info in sheets.values():
        try:
            handle = zf.open(info.part)
        except KeyError:
            continue
        with handle:
            _scan_part(handle, info, indent_styles, bold_styles)
        info.uncached_formulas = list(dict.fromkeys(info.uncached_formulas))
    return sheets


def _scan_part(
    handle: IO[bytes], info: SheetStructure, indent_styles: dict[int, int], bold_styles: set[int] | None = None
) -> None:
    """Scan a sheet part in chunks (a big sheet is never held whole); chunks overlap so a tag
    cut at a boundary is seen whole in the next round. Results are sets, so repeats are harmless."""
    tail = b""
    prefixed: bool | None = None
    while True:
        chunk = handle.read(_CHUNK)
        if not chunk:
            break
        data = tail + chunk
        if prefixed is None:
            prefixed = b"<x:" in data[:2048] or b":sheetData" in data[:4096]
        _scan_sheet(data, info, indent_styles, prefixed, bold_styles or set())
        tail = data[-_OVERLAP:]


def sheet_names_by_part(zf: zipfile.ZipFile) -> dict[str, str]:
    """'xl/worksheets/sheet1.xml' -> 'Sheet1' (empty when the workbook part is unreadable)."""
    try:
        return {info.part: name for name, info in _sheet_parts(zf).items()}
    except Exception:  # a broken workbook.xml is reported by the parser that follows
        return {}


def _sheet_parts(zf: zipfile.ZipFile) -> dict[str, SheetStructure]:
    root = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rels: dict[str, str] = {}
    try:
        rel_root = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        for rel in rel_root:
            target = rel.get("Target", "")
            if target.startswith("/"):
                target = target.lstrip("/")
            else:
                target = posixpath.normpath(posixpath.join("xl", target))
            rels[rel.get("Id", "")] = target
    except KeyError:
        pass
    out: dict[str, SheetStructure] = {}
    for el in root.iter():
        if _local(el.tag) != "sheet":
            continue
        name = el.get("name", "")
        rid = el.get(_REL_NS) or ""
        out[name] = SheetStructure(name=name, part=rels.get(rid, ""), state=el.get("state", "visible"))
    return out


def _cell_styles(zf: zipfile.ZipFile) -> tuple[dict[int, int], set[int]]:
    """cellXfs index -> indent level, for the styles that indent; and the bold styles."""
    try:
        root = ElementTree.fromstring(zf.read("xl/styles.xml"))
    except KeyError:
        return {}, set()
    indents: dict[int, int] = {}
    bold_fonts: set[int] = set()
    for el in root:
        if _local(el.tag) == "fonts":
            for i, font in enumerate(el):
                for child in font:
                    if _local(child.tag) == "b" and child.get("val", "1") not in ("0", "false"):
                        bold_fonts.add(i)
    bold: set[int] = set()
    for el in root:
        if _local(el.tag) != "cellXfs":
            continue
        for i, xf in enumerate(el):
            font = xf.get("fontId", "0")
            if font.isdigit() and int(font) in bold_fonts:
                bold.add(i)
            for child in xf:
                if _local(child.tag) == "alignment":
                    level = child.get("indent")
                    if level and level.isdigit() and int(level) > 0:
                        indents[i] = int(level)
    return indents, bold


# bold cells tell headers apart in text-only tables; a sheet that is bold all over stops counting
_MAX_BOLD_CELLS = 50_000


def _scan_sheet(
    data: bytes, info: SheetStructure, indent_styles: dict[int, int], prefixed: bool,
    bold_styles: set[int] | None = None,
) -> None:
    if b"hidden=" in data:
        for m in _HIDDEN_ROW.finditer(data):
            num = _ROW_NUMBER.search(m.group(0))
            if num:
                info.hidden_rows.add(int(num.group(1)))
        for m in _COL_TAG.finditer(data):
            attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(m.group(0))}
            if attrs.get("hidden") in ("1", "true") and attrs.get("min", "").isdigit():
                lo = int(attrs["min"])
                hi = int(attrs.get("max", lo)) if attrs.get("max", "").isdigit() else lo
                info.hidden_cols.update(range(lo, min(hi, lo + 16384) + 1))
    if b"<f" in data or (prefixed and b":f>" in data):
        for m in _UNCACHED.finditer(data):
            ref = _CELL_REF.search(m.group(1))
            if ref:
                info.uncached_formulas.append(
                    (int(ref.group(2)) - 1, column_index(ref.group(1).decode()) - 1)
                )
    if indent_styles:
        ids = b"|".join(str(i).encode() for i in indent_styles)
        pattern = re.compile(rb"<" + _NS.encode() + rb"c\b([^>]*?\bs=\"(" + ids + rb")\"[^>]*)>")
        for m in pattern.finditer(data):
            ref = _CELL_REF.search(m.group(1))
            if ref:
                key = (int(ref.group(2)) - 1, column_index(ref.group(1).decode()) - 1)
                info.indents[key] = indent_styles[int(m.group(2))]
    if bold_styles and len(info.bold) < _MAX_BOLD_CELLS:
        ids = b"|".join(str(i).encode() for i in sorted(bold_styles))
        pattern = re.compile(rb"<" + _NS.encode() + rb"c\b([^>]*?\bs=\"(?:" + ids + rb")\"[^>]*)>")
        for m in pattern.finditer(data):
            ref = _CELL_REF.search(m.group(1))
            if ref:
                info.bold.add((int(ref.group(2)) - 1, column_index(ref.group(1).decode()) - 1))
                if len(info.bold) >= _MAX_BOLD_CELLS:
                    break

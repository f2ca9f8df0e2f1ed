"""Recalculate formulas and store their values in the file, so readers see real numbers.

openpyxl writes formulas without cached values, so python-calamine, pandas and openpyxl's
``data_only=True`` would read them as empty. ``recalculate(path)`` computes every formula with the
pure-Python ``formulas`` package (no LibreOffice or Excel needed) and writes each result into the
cell's ``<v>`` element of the saved .xlsx. A function the engine does not implement is reported
by name and cell, and those cells are left without a cached value instead of a wrong one.

Formulas never read other files (table_io.formula_refs): a formula that references another
workbook, a path or a function that reads outside the workbook is reported and left without a
value, and the engine runs on an isolated copy that can open no file but itself.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from table_io.formula_refs import external_reason, isolated_copy, own_book_only

_FUNCTION = re.compile(r"(?<![A-Za-z0-9_.])((?:_xlfn\.|_xlws\.)?[A-Za-z][A-Za-z0-9_.]*)\s*\(")
_CELL = re.compile(
    r'<c r="([A-Z]{1,3}[0-9]+)"([^>]*?)>(<f\b[^>]*?/>|<f\b[^>]*?>.*?</f>)(?:<v\s*/>|<v>[^<]*</v>)?</c>',
    re.S,
)
_KEY = re.compile(r"^'\[[^\]]*\](.*)'!([A-Z]+[0-9]+)$")


@dataclass
class RecalcReport:
    engine: str = "formulas"
    formulas: int = 0  # formula cells found
    computed: int = 0  # cached values written
    unsupported: dict[str, list[str]] = field(default_factory=dict)  # FUNCTION -> ['Sheet!A1', ...]
    errors: dict[str, str] = field(default_factory=dict)  # 'Sheet!A1' -> '#DIV/0!'
    external: dict[str, str] = field(default_factory=dict)  # 'Sheet!A1' -> why it reads outside
    failed: str | None = None  # the engine could not run at all
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.unsupported and not self.external

    def describe(self) -> str:
        if self.formulas == 0:
            return "no formulas"
        parts = [f"recalculated {self.computed}/{self.formulas} formulas with {self.engine}"]
        if self.failed:
            parts.append(f"recalculation failed: {self.failed}; formula cells have no cached values")
        for name, cells in sorted(self.unsupported.items()):
            more = f" (+{len(cells) - 3} more)" if len(cells) > 3 else ""
            parts.append(f"unsupported function {name} in {', '.join(cells[:3])}{more}: value left empty")
        if self.external:
            shown = "; ".join(f"{c}: {why}" for c, why in list(self.external.items())[:3])
            parts.append(f"{len(self.external)} formulas read outside this workbook ({shown}): "
                         "never computed from other files, values left empty")
        if self.errors:
            shown = ", ".join(f"{c}={e}" for c, e in list(self.errors.items())[:5])
            parts.append(f"{len(self.errors)} formulas give errors ({shown})")
        return "; ".join(parts)


def supported_functions() -> set[str]:
    import formulas

    return {name.upper() for name in formulas.get_functions()}


def functions_in(formula: str) -> set[str]:
    """Function names used by a formula, without the _xlfn. prefix, upper case."""
    names = set()
    for raw in _FUNCTION.findall(_strip_strings(formula)):
        names.add(raw.upper().removeprefix("_XLFN.").removeprefix("_XLWS."))
    return names


def _strip_strings(formula: str) -> str:
    return re.sub(r'"[^"]*"', '""', formula)


def max_formulas() -> int:
    raw = os.environ.get("TABLEPILOT_RECALC_MAX_FORMULAS", "")
    return int(raw) if raw.isdigit() else 20_000


def recalculate(path: str | Path, *, limit: int | None = None) -> RecalcReport:
    """Compute every formula in the .xlsx/.xlsm at ``path`` and write the values into it (in place).

    Call this on a new, not yet published file (the version store does, before its atomic
    rename). Never raises for a formula problem: the report says what could not be computed.
    """
    started = time.perf_counter()
    path = Path(path)
    report = RecalcReport()
    sheet_files = _sheet_files(path)
    formulas_by_sheet = _formula_cells(path, sheet_files)
    report.formulas = sum(len(cells) for cells in formulas_by_sheet.values())
    if report.formulas == 0:
        report.seconds = time.perf_counter() - started
        return report
    cap = max_formulas() if limit is None else limit
    if report.formulas > cap:
        report.failed = (f"{report.formulas} formulas is over the recalculation limit of {cap} "
                         "(TABLEPILOT_RECALC_MAX_FORMULAS)")
        report.seconds = time.perf_counter() - started
        return report
    known = supported_functions()
    skip: set[tuple[str, str]] = set()
    outside = external_formulas(path, formulas_by_sheet)
    for sheet, cells in formulas_by_sheet.items():
        for ref, text in cells.items():
            why = outside.get((sheet, ref))
            if why:
                report.external[f"{sheet}!{ref}"] = why
                skip.add((sheet.upper(), ref))
                continue
            missing = functions_in(text) - known
            for name in missing:
                report.unsupported.setdefault(name, []).append(f"{sheet}!{ref}")
            if missing:
                skip.add((sheet.upper(), ref))
    try:
        values = _compute(path, _referenced_cells(formulas_by_sheet), cut=_cut(sheet_files, outside))
    except Exception as exc:  # the engine cannot parse something: keep the file, say so
        report.failed = f"{type(exc).__name__}: {exc}"[:300]
        report.seconds = time.perf_counter() - started
        return report
    upper_to_sheet = {s.upper(): s for s in sheet_files}
    cached: dict[str, dict[str, Any]] = {}
    for (sheet_upper, ref), value in values.items():
        found = upper_to_sheet.get(sheet_upper)
        if found is None:
            continue
        sheet = found
        if (sheet_upper, ref) in skip or ref not in formulas_by_sheet.get(sheet, {}):
            continue
        cached.setdefault(sheet, {})[ref] = value
        if isinstance(value, _ErrorValue):
            report.errors[f"{sheet}!{ref}"] = value.code
    report.computed = sum(len(v) for v in cached.values())
    _write_cached(path, sheet_files, cached)
    report.seconds = time.perf_counter() - started
    return report


@dataclass(frozen=True)
class _ErrorValue:
    code: str


class _Needed:
    """The cells formulas can read: per sheet (upper case) and column, merged row intervals.

    ``everything`` is set when a formula reads cells we cannot see from its text (a defined
    name, INDIRECT, OFFSET): then every cell is loaded.
    """

    def __init__(self) -> None:
        self.everything = False
        self.columns: dict[str, dict[int, list[tuple[int, int]]]] = {}

    def add(self, sheet: str, min_col: int, min_row: int, max_col: int, max_row: int) -> None:
        per_sheet = self.columns.setdefault(sheet.upper(), {})
        for col in range(min_col, min(max_col, 16_384) + 1):
            per_sheet.setdefault(col, []).append((min_row, max_row))

    def finish(self) -> None:
        for per_sheet in self.columns.values():
            for col, spans in per_sheet.items():
                spans.sort()
                merged: list[tuple[int, int]] = []
                for lo, hi in spans:
                    if merged and lo <= merged[-1][1] + 1:
                        merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
                    else:
                        merged.append((lo, hi))
                per_sheet[col] = merged

    def wants(self, sheet: str, row: int, col: int) -> bool:
        import bisect

        spans = self.columns.get(sheet.upper(), {}).get(col)
        if not spans:
            return False
        i = bisect.bisect_right(spans, (row, 1 << 30)) - 1
        return i >= 0 and spans[i][0] <= row <= spans[i][1]


_OPAQUE = {"INDIRECT", "OFFSET", "CELL", "INFO"}


def _referenced_cells(formulas_by_sheet: dict[str, dict[str, str]]) -> _Needed:
    from openpyxl.formula.tokenizer import Token, Tokenizer
    from openpyxl.utils.cell import column_index_from_string

    needed = _Needed()
    ref = re.compile(r"^\$?([A-Z]{1,3})?\$?([0-9]+)?(?::\$?([A-Z]{1,3})?\$?([0-9]+)?)?$")
    for sheet, cells in formulas_by_sheet.items():
        for text in cells.values():
            if functions_in(text) & _OPAQUE:
                needed.everything = True
                return needed
            try:
                tokens = Tokenizer("=" + text).items
            except Exception:
                needed.everything = True
                return needed
            for token in tokens:
                if token.type != Token.OPERAND or token.subtype != Token.RANGE:
                    continue
                target, _, cells_ref = token.value.rpartition("!")
                target = target.strip("'").replace("''", "'") if target else sheet
                match = ref.match(cells_ref.upper())
                if not match or not any(match.groups()):
                    needed.everything = True  # a defined name or something unusual
                    return needed
                c1, r1, c2, r2 = match.groups()
                if ":" not in cells_ref:
                    c2, r2 = c1, r1
                if not (c1 or c2):  # whole rows
                    lo_col, hi_col = 1, 16_384
                else:
                    lo_col = column_index_from_string(c1 or c2)
                    hi_col = column_index_from_string(c2 or c1)
                lo_row = int(r1) if r1 else 1
                hi_row = int(r2) if r2 else 1_048_576
                needed.add(target, min(lo_col, hi_col), min(lo_row, hi_row), max(lo_col, hi_col),
                           max(lo_row, hi_row))
    needed.finish()
    return needed


def _model_class(needed: _Needed) -> Any:
    """formulas' ExcelModel that loads only formula cells and the cells they read.

    The stock model compiles every cell of each sheet's bounding box, empty ones included, at
    about 0.1 ms a cell, whatever the formulas read; on a 5,000-row sheet that dominated.
    """
    import formulas
    import schedula

    class ReferencedCellsModel(formulas.ExcelModel):  # type: ignore[misc]
        def push(self, worksheet: Any, context: Any) -> Any:
            worksheet, context = self.add_sheet(worksheet, context)
            references = self.references
            formula_references = self.formula_references(context)
            formula_ranges = self.formula_ranges(context)
            ctx = {"external_links": self.external_links(context)}
            ctx.update(context)
            title = worksheet.title
            cells = [self.compile_cell(cell, ctx, references, formula_references)
                     for (row, col), cell in sorted(worksheet._cells.items())
                     if cell.value is not None and (cell.data_type == "f" or needed.everything
                                                    or needed.wants(title, row, col))]
            for cell in cells:
                self.add_cell(schedula.await_result(cell), ctx, formula_ranges)
            return self

    return ReferencedCellsModel


def _cut(sheet_files: dict[str, str], outside: dict[tuple[str, str], str]) -> dict[str, set[str]]:
    """Zip member -> the cells of ``outside`` in it (what ``isolated_copy`` turns into #REF!)."""
    cut: dict[str, set[str]] = {}
    for sheet, ref in outside:
        if sheet in sheet_files:
            cut.setdefault(sheet_files[sheet], set()).add(ref)
    return cut


def _compute(path: Path, needed: _Needed | None = None,
             cut: dict[str, set[str]] | None = None) -> dict[tuple[str, str], Any]:
    import formulas

    noise = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="tablepilot-recalc-") as tmp:
        # an empty folder, no external-link parts, no formula that reads outside, and no
        # file but this one may be opened
        copy = isolated_copy(path, Path(tmp), cut=cut)
        with contextlib.redirect_stderr(noise), contextlib.redirect_stdout(noise), own_book_only(copy):
            model_cls = _model_class(needed) if needed is not None else formulas.ExcelModel
            model = model_cls().loads(str(copy)).finish()
            solution = model.calculate()
    own_book = copy.name.upper()
    out: dict[tuple[str, str], Any] = {}
    for key, ranges in solution.items():
        match = _KEY.match(str(key))
        if not match or not hasattr(ranges, "value") or _book_of(str(key)) != own_book:
            continue
        try:
            raw = ranges.value[0, 0]
        except (IndexError, TypeError):
            continue
        out[(match.group(1), match.group(2))] = _plain(raw)
    return out


def _book_of(key: str) -> str:
    """'[BOOK.XLSX]SHEET'!A1 -> BOOK.XLSX (formulas' solution keys name the book)."""
    return key[key.find("[") + 1:key.find("]")].upper()


def external_formulas(path: Path, formulas_by_sheet: dict[str, dict[str, str]]) -> dict[tuple[str, str], str]:
    """(sheet, cell) -> why its formula reads outside the workbook, for every such cell."""
    sheets = list(_sheet_files(path))
    names = defined_names(path)
    seen: dict[str, str | None] = {}  # filled-down formulas repeat: read each text once
    out: dict[tuple[str, str], str] = {}
    for sheet, cells in formulas_by_sheet.items():
        for ref, text in cells.items():
            if text not in seen:
                seen[text] = external_reason(text, sheet_names=sheets,
                                             names=lambda n: names.get(n.upper())) if text else None
            why = seen[text]
            if why:
                out[(sheet, ref)] = why
    return out


def defined_names(path: Path) -> dict[str, str]:
    """Defined names (upper case: Excel ignores case) -> their formula text; a sheet-scoped
    name counts too."""
    import xml.etree.ElementTree as ET

    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
    out: dict[str, str] = {}
    for node in book.iter(f"{ns}definedName"):
        name = node.get("name", "")
        if name and node.text:
            out.setdefault(name.upper(), node.text)
    return out


def _plain(value: Any) -> Any:
    type_name = type(value).__name__
    if type_name == "XlError" or (isinstance(value, str) and value.startswith("#") and type_name != "str"):
        return _ErrorValue(str(value))
    if type_name == "Token" or (type_name != "str" and str(value) == "empty"):
        return 0
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return _ErrorValue("#NUM!")
    return value


def _sheet_files(path: Path) -> dict[str, str]:
    """Sheet name -> zip member of its XML, in workbook order."""
    import xml.etree.ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    out: dict[str, str] = {}
    for sheet in book.iterfind("m:sheets/m:sheet", ns):
        rid = sheet.get(f"{{{ns['r']}}}id")
        target = targets.get(rid, "")
        if "worksheets/" not in target:
            continue
        member = target.lstrip("/") if target.startswith("/") else "xl/" + target
        out[sheet.get("name", "")] = member
    return out


def formula_texts(path: Path) -> dict[str, dict[str, str]]:
    """Sheet -> cell -> formula text (without '='), as saved in the .xlsx at ``path``."""
    return _formula_cells(path, _sheet_files(path))


def _formula_cells(path: Path, sheet_files: dict[str, str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with zipfile.ZipFile(path) as zf:
        for sheet, member in sheet_files.items():
            xml = zf.read(member).decode("utf-8")
            if "<f" not in xml:
                continue
            found = {}
            for match in _CELL.finditer(xml):
                inner = re.sub(r"^<f\b[^>]*?>|</f>$", "", match.group(3))
                found[match.group(1)] = _unescape(inner)
            if found:
                out[sheet] = found
    return out


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def _value_xml(value: Any) -> tuple[str | None, str]:
    """(cell type attribute, <v> text)."""
    if isinstance(value, _ErrorValue):
        return "e", value.code
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, (int, float)):
        number = float(value)
        return None, str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return "str", escape(str(value))


def _write_cached(path: Path, sheet_files: dict[str, str], cached: dict[str, dict[str, Any]]) -> None:
    members = {sheet_files[s]: values for s, values in cached.items() if s in sheet_files}
    if not members:
        return
    tmp = path.with_name(path.name + ".recalc.tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            values = members.get(info.filename)
            if values:
                data = _patch_sheet(data.decode("utf-8"), values).encode("utf-8")
            dst.writestr(info, data)
    os.replace(tmp, path)


def _patch_sheet(xml: str, values: dict[str, Any]) -> str:
    def fill(match: re.Match[str]) -> str:
        ref, attrs, formula = match.group(1), match.group(2), match.group(3)
        if ref not in values:
            return match.group(0)
        kind, text = _value_xml(values[ref])
        attrs = re.sub(r'\s+t="[^"]*"', "", attrs)
        if kind:
            attrs += f' t="{kind}"'
        return f'<c r="{ref}"{attrs}>{formula}<v>{text}</v></c>'

    return _CELL.sub(fill, xml)


def missing_cached_values(path: str | Path) -> int:
    """How many formula cells of the file have no cached value (saved by openpyxl, say)."""
    count = 0
    with zipfile.ZipFile(path) as zf:
        for member in _sheet_files(Path(path)).values():
            xml = zf.read(member).decode("utf-8", errors="replace")
            if "<f" not in xml:
                continue
            count += len(re.findall(r"</f>\s*(?:<v\s*/>|<v></v>)?\s*</c>", xml))
            count += len(re.findall(r"<f\b[^>]*/>\s*</c>", xml))
    return count

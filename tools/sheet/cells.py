"""Actions on cell contents: write, formula, fill, copy, clear, find/replace, convert, link, merge."""

from __future__ import annotations

import datetime as dt
import re
from copy import copy
from typing import Any, Literal

from openpyxl.formula.translate import Translator
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.worksheet.worksheet import Worksheet

from table_io.formula_refs import HINT, external_reason
from table_io.xlsx_safety import set_untrusted
from tools.sheet.base import Act
from tools.sheet.context import EditContext, coerce_input, fail
from tools.sheet.refs import Box, parse_box, split_sheet


def coord(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


def check_formula(ctx: EditContext, formula: str) -> str:
    """'=...' with every sheet it names present in the workbook, and nothing outside it."""
    from openpyxl.formula.tokenizer import Token, Tokenizer

    text = formula.strip()
    if not text.startswith("="):
        text = "=" + text
    try:
        tokens = Tokenizer(text)
    except Exception as exc:
        raise fail(f"cannot parse formula {text!r}: {exc}") from exc
    if text.count("(") != text.count(")"):
        raise fail(f"unbalanced parentheses in formula {text!r}")
    for token in tokens.items:
        if token.type == Token.OPERAND and token.subtype == Token.RANGE:
            sheet, _ = split_sheet(token.value)
            if sheet is not None and sheet not in ctx.wb.sheetnames and not external_reason(token.value):
                ctx.sheet(sheet)  # raises with the nearest names
    why = external_reason(text, sheet_names=ctx.wb.sheetnames, names=lambda n: defined_name_text(ctx, n))
    if why:
        raise fail(f"refused formula {text!r}: {why}", hint=HINT)
    return text


def defined_name_text(ctx: EditContext, name: str) -> str | None:
    """The formula text a defined name stands for (any sheet's scope), or None."""
    wanted = name.casefold()
    scopes = [ctx.wb.defined_names] + [ws.defined_names for ws in ctx.wb.worksheets]
    for scope in scopes:
        for key, defined in scope.items():
            if key.casefold() == wanted:
                return str(defined.attr_text or "")
    return None


def translate(formula: str, origin: tuple[int, int], dest: tuple[int, int]) -> str:
    return Translator(formula, origin=coord(*origin)).translate_formula(coord(*dest))


class Write(Act):
    action: Literal["write"]
    range: str  # 'B2' (top-left) or 'B2:D2'
    values: Any  # a value, a list (one row or column), or a list of rows

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        grid = _grid(self.values, box)
        rows, cols = len(grid), max((len(r) for r in grid), default=0)
        if box.size > 1 and (rows > box.height or cols > box.width):
            raise fail(f"{rows}x{cols} values do not fit in {box.ref} ({box.height}x{box.width})")
        target = ctx.box(ws, f"{coord(box.min_row, box.min_col)}:{coord(box.min_row + max(rows, 1) - 1, box.min_col + max(cols, 1) - 1)}",
                         write=True)
        header, used = ctx.original_header_row(ws), ctx.used(ws)
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                set_untrusted(ws.cell(target.min_row + i, target.min_col + j), coerce_input(value))
        as_text = [v for row in grid for v in row if isinstance(v, str) and v.strip().startswith("=")]
        if as_text:
            ctx.record("formula_text", sheet=ws.title, range=target.ref, text=as_text[0])
        if target.size == 1 and isinstance(grid[0][0] if grid and grid[0] else None, str):
            ctx.record("write", sheet=ws.title, cell=target.ref, text=grid[0][0],
                       header_row=header, new_column=target.min_col > used.max_col)


def _grid(values: Any, box: Box) -> list[list[Any]]:
    if isinstance(values, list):
        if values and all(isinstance(v, list) for v in values):
            return [list(v) for v in values]
        if box.width == 1 and box.height > 1:
            return [[v] for v in values]
        return [list(values)]
    return [[values] * box.width for _ in range(box.height)]


class Formula(Act):
    action: Literal["formula"]
    range: str  # first cell gets the formula; the rest of the range gets it with refs adjusted
    formula: str  # '=B2*C2', written for the first cell

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, write=True)
        text = check_formula(ctx, self.formula)
        origin = (box.min_row, box.min_col)
        header = ctx.original_header_row(ws)
        for r, c in box.cells():
            ws.cell(r, c).value = text if (r, c) == origin else translate(text, origin, (r, c))
        fix: dict[str, str] = {}
        if box.min_row <= header < box.max_row:  # it starts on (or above) the header row
            first = (header + 1, box.min_col)
            fix = {"range": f"{coord(*first)}:{coord(box.max_row, box.max_col)}",
                   "formula": translate(text, origin, first)}
        ctx.record("formula", sheet=ws.title, range=box.ref, formula=text, header_row=header,
                   fix=fix)


class Fill(Act):
    action: Literal["fill"]
    source: str  # 'E2' or 'A2:B3': cells to repeat
    target: str  # 'E2:E36': area to fill (formulas adjusted, number series continued)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        src, dst = ctx.box(ws, self.source), ctx.box(ws, self.target, write=True)
        vertical = dst.width == src.width and dst.min_col == src.min_col
        horizontal = dst.height == src.height and dst.min_row == src.min_row
        if not (vertical or horizontal):
            raise fail(f"cannot fill {src.ref} into {dst.ref}: the target must extend the source down or across "
                       f"(same columns, or same rows)")
        for r, c in dst.cells():
            if src.min_row <= r <= src.max_row and src.min_col <= c <= src.max_col:
                continue
            if vertical:
                sr, sc = src.min_row + (r - src.min_row) % src.height, c
                series = [ws.cell(x, c).value for x in range(src.min_row, src.max_row + 1)]
                k = r - src.min_row
            else:
                sr, sc = r, src.min_col + (c - src.min_col) % src.width
                series = [ws.cell(r, x).value for x in range(src.min_col, src.max_col + 1)]
                k = c - src.min_col
            source_cell, cell = ws.cell(sr, sc), ws.cell(r, c)
            if source_cell.data_type == "f":
                cell.value = translate(str(source_cell.value), (sr, sc), (r, c))
            elif len(series) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in series):
                step = (series[-1] - series[0]) / (len(series) - 1)
                value = series[0] + step * k
                cell.value = int(value) if float(value).is_integer() and all(isinstance(v, int) for v in series) else value
            else:
                cell.value = source_cell.value
            if source_cell.has_style:
                cell._style = copy(source_cell._style)


class Copy(Act):
    action: Literal["copy"]
    source: str  # 'A1:C10'
    target: str  # top-left cell, e.g. 'E1'
    to_sheet: str | None = None  # default: same sheet (made when missing)
    what: Literal["all", "values", "formats"] = "all"
    transpose: bool = False  # rows become columns (formulas are pasted as values)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        dest_ws = ctx.sheet_or_new(self.to_sheet, before=ws) if self.to_sheet else ws
        src = ctx.box(ws, self.source, read=True)
        start = ctx.box(dest_ws, self.target)
        height, width = (src.width, src.height) if self.transpose else (src.height, src.width)
        ctx.writable(dest_ws, ctx.box(dest_ws, f"{coord(start.min_row, start.min_col)}:"
                                              f"{coord(start.min_row + height - 1, start.min_col + width - 1)}"))
        what = "values" if self.transpose and self.what == "all" else self.what
        cells = [(r, c, ws.cell(r, c)) for r, c in src.cells()]
        values = {(r, c): ctx.value(ws, r, c) for r, c, _ in cells} if what == "values" else {}
        for r, c, cell in cells:
            dr, dc = start.min_row + r - src.min_row, start.min_col + c - src.min_col
            if self.transpose:
                dr, dc = start.min_row + c - src.min_col, start.min_col + r - src.min_row
            out = dest_ws.cell(dr, dc)
            if what in ("all", "values"):
                if what == "all" and cell.data_type == "f":
                    out.value = translate(str(cell.value), (r, c), (dr, dc))
                elif what == "values":
                    out.value = values[(r, c)]
                else:
                    out.value = cell.value
                    out.data_type = cell.data_type
            if (what in ("all", "formats") or self.transpose) and cell.has_style:
                out._style = copy(cell._style)


class Clear(Act):
    action: Literal["clear"]
    range: str
    what: Literal["contents", "formats", "links", "all"] = "contents"

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True)
        for r, c in box.cells():
            cell = ws._cells.get((r, c))
            if cell is None or type(cell).__name__ == "MergedCell":
                continue
            if self.what in ("contents", "all"):
                cell.value = None
            if self.what in ("contents", "links", "all"):
                cell.hyperlink = None
            if self.what in ("formats", "all"):
                cell.style = "Normal"


class FindReplace(Act):
    action: Literal["find_replace"]
    find: str
    replace: str
    range: str | None = None  # default: the whole used area
    case: bool = False  # match case
    whole: bool = False  # match the entire cell text

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True, default_used=True)
        if not self.find:
            raise fail("'find' must not be empty")
        flags = 0 if self.case else re.IGNORECASE
        pattern = re.compile(("^" + re.escape(self.find) + "$") if self.whole else re.escape(self.find), flags)
        for r, c in box.cells():
            cell = ws._cells.get((r, c))
            if cell is None or cell.data_type == "f" or cell.value is None or type(cell).__name__ == "MergedCell":
                continue
            text = str(cell.value)
            if pattern.search(text):
                new = pattern.sub(lambda _m: self.replace, text)
                set_untrusted(cell, coerce_input(new) if not isinstance(cell.value, str) else new)


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%b-%Y", "%b %d, %Y",
                 "%d %B %Y", "%B %d, %Y", "%Y-%m-%d %H:%M:%S", "%m/%d/%y", "%d %b %Y", "%Y%m%d")


def parse_number(text: str) -> float | int | None:
    cleaned = text.strip().replace(",", "").replace("$", "").replace("€", "").replace("£", "").replace(" ", "")
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    cleaned = cleaned.strip("()")
    percent = cleaned.endswith("%")
    cleaned = cleaned.rstrip("%")
    scale = 1.0
    if cleaned[-1:].lower() in {"k", "m", "b"} and cleaned[:-1].replace(".", "", 1).lstrip("-").isdigit():
        scale = {"k": 1e3, "m": 1e6, "b": 1e9}[cleaned[-1].lower()]
        cleaned = cleaned[:-1]
    try:
        number = float(cleaned) * scale
    except ValueError:
        return None
    number = -number if negative else number
    number = number / 100 if percent else number
    return int(number) if number.is_integer() and not percent and "." not in cleaned else number


def parse_date(text: str, fmt: str | None = None) -> dt.datetime | None:
    for pattern in ([fmt] if fmt else []) + list(_DATE_FORMATS):
        try:
            return dt.datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    return None


class Convert(Act):
    action: Literal["convert"]
    range: str
    to: Literal["number", "date", "text"]
    format: str | None = None  # number format to apply, e.g. '0.00' or 'yyyy-mm-dd'
    parse: str | None = None  # strptime pattern for dates, e.g. '%d/%m/%Y'

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True)
        bad: list[str] = []
        plan: list[tuple[Any, Any]] = []
        for r, c in box.cells():
            cell = ws._cells.get((r, c))
            if cell is None or cell.value is None or cell.data_type == "f":
                continue
            value = cell.value
            if self.to == "text":
                plan.append((cell, str(value)))
                continue
            if not isinstance(value, str):
                plan.append((cell, value))
                continue
            new: Any = parse_number(value) if self.to == "number" else parse_date(value, self.parse)
            if new is None:
                bad.append(f"{coord(r, c)}={value!r}")
            else:
                plan.append((cell, new))
        if bad and len(bad) == len(plan) + len(bad):
            raise fail(f"no cell of {box.ref} converts to a {self.to}: {', '.join(bad[:5])}",
                       hint="for dates give 'parse', e.g. '%d/%m/%Y'")
        for cell, new in plan:
            if self.to == "text":
                set_untrusted(cell, new)
                cell.number_format = "@"
            else:
                cell.value = new
            fmt = self.format or ("yyyy-mm-dd" if self.to == "date" else None)
            if fmt:
                cell.number_format = fmt
        if bad:
            ctx.notes.append(f"convert left {len(bad)} cells unchanged: {', '.join(bad[:5])}")
        ctx.record("convert", sheet=ws.title, range=box.ref, to=self.to, converted=len(plan),
                   left=bad[:5], left_count=len(bad))


class Link(Act):
    action: Literal["link"]
    cell: str
    url: str  # 'https://...', 'mailto:...' or "#'Sheet 2'!A1" for a place in the workbook
    text: str | None = None  # shown text; default: keep the cell's value (or the url)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.cell, write=True)
        url = _link_target(self.url)
        for r, c in box.cells():
            cell = ws.cell(r, c)
            if url.startswith("#"):
                cell.hyperlink = Hyperlink(ref=cell.coordinate, location=url[1:])
            else:
                cell.hyperlink = url
            if self.text is not None:
                set_untrusted(cell, self.text)
            elif cell.value is None:
                set_untrusted(cell, self.url)
            font = copy(cell.font)
            font.color, font.underline = "0563C1", "single"
            cell.font = font


def _link_target(raw: str) -> str:
    """A web/mail link, a place in the workbook ('#Sheet!A1'), or a file beside the workbook
    ('Sales Return.pdf', 'docs/Q1.pdf').

    The model is untrusted and the person clicks the link later in Excel: so no ``file:``,
    absolute or UNC path (``\\\\host\\share`` leaks the person's Windows credentials to the
    host), drive letter or ``..``, and no other scheme (``javascript:``, ``smb:``, ...)."""
    from urllib.parse import quote

    url = raw.strip()
    if not url:
        raise fail("'url' is empty")
    if re.match(r"^(https?://|mailto:|#)", url, re.IGNORECASE):
        return url
    if url.lower().startswith("www."):
        return "https://" + url
    allowed = "use https://, mailto:, #Sheet!A1 or the name of a file beside the workbook"
    if re.match(r"^[a-z][a-z0-9+.-]*:", url, re.IGNORECASE):
        raise fail(f"link target {raw!r} is not allowed (a scheme or drive): {allowed}")
    parts = re.split(r"[\\/]", url)
    if url.startswith(("/", "\\")) or ".." in parts:
        raise fail(f"link target {raw!r} is not allowed (a path outside the workbook's folder): {allowed}")
    return quote(url, safe="/.-_~%")


class Merge(Act):
    action: Literal["merge"]
    range: str

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        if box.size < 2:
            raise fail("merge needs at least two cells")
        for merged in ws.merged_cells.ranges:
            if not (merged.max_row < box.min_row or merged.min_row > box.max_row
                    or merged.max_col < box.min_col or merged.min_col > box.max_col):
                raise fail(f"{box.ref} overlaps the merged range {merged.coord}; unmerge it first")
        ws.merge_cells(box.ref)


class Unmerge(Act):
    action: Literal["unmerge"]
    range: str

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        hits = [m.coord for m in ws.merged_cells.ranges
                if not (m.max_row < box.min_row or m.min_row > box.max_row
                        or m.max_col < box.min_col or m.min_col > box.max_col)]
        if not hits:
            shown = ", ".join(m.coord for m in ws.merged_cells.ranges) or "none"
            raise fail(f"no merged cells in {box.ref}; merged ranges on {ws.title!r}: {shown}")
        for ref in hits:
            ws.unmerge_cells(ref)


class NameRange(Act):
    action: Literal["name_range"]
    name: str
    range: str

    def apply(self, ctx: EditContext) -> None:
        from openpyxl.workbook.defined_name import DefinedName

        from tools.sheet.refs import quote_sheet

        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]{0,254}", self.name) or parse_box(self.name):
            raise fail(f"invalid name {self.name!r}: letters, digits, _ and ., not a cell reference")
        absolute = "$" + box.ref.replace(":", ":$")
        absolute = re.sub(r"([A-Z]+)(\d+)", r"\1$\2", absolute)
        ctx.wb.defined_names[self.name] = DefinedName(self.name, attr_text=f"{quote_sheet(ws.title)}!{absolute}")


class Dedupe(Act):
    action: Literal["dedupe"]
    range: str | None = None  # table with its header row; default: the used area
    columns: list[str] | None = None  # compare these columns (default: all)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True, default_used=True, write=True)
        cols = [ctx.column(ws, c, box=box) for c in self.columns] if self.columns else list(
            range(box.min_col, box.max_col + 1))
        seen: set[tuple[Any, ...]] = set()
        keep: list[list[Any]] = []
        for r in range(box.min_row + 1, box.max_row + 1):
            key = tuple(ctx.value(ws, r, c) for c in cols)
            if key in seen:
                continue
            seen.add(key)
            keep.append([ws.cell(r, c) for c in range(box.min_col, box.max_col + 1)])
        snapshot = [[(cell.value, cell.data_type, copy(cell._style)) for cell in row] for row in keep]
        for i, r in enumerate(range(box.min_row + 1, box.max_row + 1)):
            for j, c in enumerate(range(box.min_col, box.max_col + 1)):
                cell = ws.cell(r, c)
                if i < len(snapshot):
                    value, kind, style = snapshot[i][j]
                    cell.value, cell.data_type, cell._style = value, kind, style
                else:
                    cell.value = None
        removed = box.height - 1 - len(keep)
        ctx.notes.append(f"removed {removed} duplicate rows from {ws.title}!{box.ref}")


class Split(Act):
    action: Literal["split"]
    range: str  # one column of text, e.g. 'A2:A20'
    sep: str = ","  # delimiter
    to: str | None = None  # first output column (letter); default: the column to the right

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range, read=True)
        if box.width != 1:
            raise fail(f"split works on one column; {box.ref} has {box.width}")
        if not self.sep:
            raise fail("'sep' must not be empty")
        start = ctx.column(ws, self.to) if self.to else box.min_col + 1
        for r in range(box.min_row, box.max_row + 1):
            value = ws.cell(r, box.min_col).value
            if value is None:
                continue
            for j, part in enumerate(str(value).split(self.sep)):
                set_untrusted(ws.cell(r, start + j), coerce_input(part.strip()))


def first_cell(ws: Worksheet, box: Box) -> Any:
    return ws.cell(box.min_row, box.min_col)

"""Formatting actions: number formats, fonts, fills, borders, alignment, conditional formats, validation."""

from __future__ import annotations

import re
from copy import copy
from typing import Literal

from openpyxl.formatting.rule import (
    CellIsRule,
    ColorScaleRule,
    DataBarRule,
    FormulaRule,
    Rule,
)
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from tools.sheet.base import Act
from tools.sheet.context import EditContext, fail
from tools.sheet.refs import Box

NAMED_COLORS = {
    "red": "FF0000", "green": "00B050", "blue": "0070C0", "yellow": "FFFF00", "orange": "FFC000",
    "purple": "7030A0", "black": "000000", "white": "FFFFFF", "gray": "808080", "grey": "808080",
    "light red": "FFC7CE", "light green": "C6EFCE", "light yellow": "FFEB9C", "light blue": "DDEBF7",
    "dark red": "9C0006", "dark green": "006100", "pink": "FFC0CB", "brown": "A52A2A", "cyan": "00FFFF",
}
NUMBER_FORMATS = {
    "number": "0.00", "integer": "0", "percent": "0.00%", "percentage": "0.00%", "currency": '"$"#,##0.00',
    "accounting": '_("$"* #,##0.00_)', "date": "yyyy-mm-dd", "time": "hh:mm:ss", "datetime": "yyyy-mm-dd hh:mm",
    "text": "@", "general": "General", "thousands": "#,##0", "scientific": "0.00E+00",
}
BORDERS = ("thin", "medium", "thick", "dashed", "dotted", "double", "hair")
OPERATORS = {"gt": "greaterThan", "lt": "lessThan", "ge": "greaterThanOrEqual", "le": "lessThanOrEqual",
             "eq": "equal", "ne": "notEqual", "between": "between", "not_between": "notBetween"}
Op = Literal["gt", "lt", "ge", "le", "eq", "ne", "between", "not_between"]


def color(value: str | None) -> str | None:
    """'red', '#FF0000', 'FF0000' or 'FFFF0000' -> 'FF0000'-style hex; ToolFailure otherwise."""
    if value is None:
        return None
    text = value.strip().lower()
    if text in NAMED_COLORS:
        return NAMED_COLORS[text]
    text = text.lstrip("#")
    if re.fullmatch(r"[0-9a-f]{6}|[0-9a-f]{8}", text):
        return text.upper()
    raise fail(f"unknown colour {value!r}: use a hex code like 'FF0000' or one of {', '.join(NAMED_COLORS)}")


def number_format(value: str) -> str:
    return NUMBER_FORMATS.get(value.strip().lower(), value)


class Format(Act):
    action: Literal["format"]
    range: str
    num: str | None = None  # number format: '0.00', '#,##0', '0%', 'yyyy-mm-dd', or currency/percent/date/text
    bold: bool | None = None
    italic: bool | None = None
    underline: bool | None = None
    font: str | None = None  # font name
    size: float | None = None  # font size
    color: str | None = None  # font colour
    fill: str | None = None  # background colour ('none' removes it)
    align: Literal["left", "center", "right", "justify", "general"] | None = None
    valign: Literal["top", "center", "bottom"] | None = None
    wrap: bool | None = None
    border: Literal["thin", "medium", "thick", "dashed", "dotted", "double", "hair", "none"] | None = None
    border_color: str | None = None
    outline: bool = False  # border only around the range (not every cell)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        font_color = color(self.color)
        fill_color = None if self.fill in (None, "none") else color(self.fill)
        line_color = color(self.border_color) or "000000"
        if all(v is None for v in (self.num, self.bold, self.italic, self.underline, self.font, self.size,
                                   self.color, self.fill, self.align, self.valign, self.wrap, self.border)):
            raise fail("format needs at least one property (num, bold, italic, underline, font, size, color, "
                       "fill, align, valign, wrap, border)")
        fmt = number_format(self.num) if self.num else None
        for r, c in box.cells():
            cell = ws.cell(r, c)
            if fmt:
                cell.number_format = fmt
            if any(v is not None for v in (self.bold, self.italic, self.underline, self.font, self.size, self.color)):
                font = copy(cell.font)
                if self.bold is not None:
                    font.b = self.bold
                if self.italic is not None:
                    font.i = self.italic
                if self.underline is not None:
                    font.u = "single" if self.underline else None
                if self.font:
                    font.name = self.font
                if self.size:
                    font.sz = self.size
                if font_color:
                    font.color = font_color
                cell.font = font
            if self.fill == "none":
                cell.fill = PatternFill(fill_type=None)
            elif fill_color:
                cell.fill = PatternFill("solid", fgColor=fill_color, bgColor=fill_color)
            if self.align or self.valign or self.wrap is not None:
                align = copy(cell.alignment)
                if self.align:
                    align.horizontal = self.align
                if self.valign:
                    align.vertical = self.valign
                if self.wrap is not None:
                    align.wrap_text = self.wrap
                cell.alignment = align
            if self.border:
                cell.border = _border(self.border, line_color, box, r, c, self.outline, cell.border)


def _border(style: str, line_color: str, box: Box, r: int, c: int, outline: bool, old: Border) -> Border:
    side = Side() if style == "none" else Side(style=style, color=line_color)
    if not outline:
        return Border(left=side, right=side, top=side, bottom=side)
    return Border(left=side if c == box.min_col else old.left, right=side if c == box.max_col else old.right,
                  top=side if r == box.min_row else old.top, bottom=side if r == box.max_row else old.bottom)


def _cf_value(value: str | float | None) -> str:
    if value is None:
        raise fail("this rule needs 'value'")
    if isinstance(value, (int, float)):
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    text = str(value).strip()
    if text.startswith("="):
        return text[1:]
    try:
        float(text)
        return text
    except ValueError:
        return '"' + text.replace('"', '""') + '"'


class CondFormat(Act):
    action: Literal["cond_format"]
    range: str
    rule: Literal["cell", "formula", "scale", "bar", "top", "bottom", "above_avg", "below_avg",
                  "duplicate", "unique", "text"] = "cell"
    op: Op | None = None  # for rule 'cell'
    value: str | float | None = None  # compare value; for 'text' the text; for top/bottom the count
    value2: str | float | None = None  # upper bound for between
    formula: str | None = None  # rule 'formula': '=$C2>100' (written for the range's first cell)
    fill: str | None = None  # highlight colour
    color: str | None = None  # font colour
    bold: bool | None = None
    italic: bool | None = None
    colors: list[str] | None = None  # 'scale': 2 or 3 colours low..high; 'bar': one colour
    percent: bool = False  # top/bottom by percent

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        style = self._style()
        rule: Rule
        if self.rule == "scale":
            cols = [color(c) for c in (self.colors or ["F8696B", "FFEB84", "63BE7B"])]
            if len(cols) == 2:
                rule = ColorScaleRule(start_type="min", start_color=cols[0], end_type="max", end_color=cols[1])
            elif len(cols) == 3:
                rule = ColorScaleRule(start_type="min", start_color=cols[0], mid_type="percentile", mid_value=50,
                                      mid_color=cols[1], end_type="max", end_color=cols[2])
            else:
                raise fail("'colors' for a scale: 2 or 3 colours, low to high")
        elif self.rule == "bar":
            rule = DataBarRule(start_type="min", end_type="max", color=color((self.colors or ["638EC6"])[0]))
        elif self.rule == "cell":
            if self.op is None:
                raise fail("rule 'cell' needs 'op': gt, lt, ge, le, eq, ne, between, not_between")
            values = [_cf_value(self.value)]
            if self.op in ("between", "not_between"):
                values.append(_cf_value(self.value2))
            rule = CellIsRule(operator=OPERATORS[self.op], formula=values, font=style.font, fill=style.fill)
        elif self.rule == "formula":
            if not self.formula:
                raise fail("rule 'formula' needs 'formula', e.g. '=$C2>100'")
            from tools.sheet.cells import check_formula

            rule = FormulaRule(formula=[check_formula(ctx, self.formula)[1:]], font=style.font, fill=style.fill)
        elif self.rule in ("top", "bottom"):
            rank = int(float(self.value)) if self.value is not None else 10
            rule = Rule(type="top10", rank=rank, bottom=self.rule == "bottom" or None,
                        percent=self.percent or None, dxf=style)
        elif self.rule in ("above_avg", "below_avg"):
            rule = Rule(type="aboveAverage", aboveAverage=self.rule == "above_avg", dxf=style)
        elif self.rule in ("duplicate", "unique"):
            rule = Rule(type="duplicateValues" if self.rule == "duplicate" else "uniqueValues", dxf=style)
        else:  # text
            if self.value is None:
                raise fail("rule 'text' needs 'value' (the text to find)")
            first = f"{get_column_letter(box.min_col)}{box.min_row}"
            text = str(self.value).replace('"', '""')
            rule = Rule(type="containsText", operator="containsText", text=str(self.value), dxf=style,
                        formula=[f'NOT(ISERROR(SEARCH("{text}",{first})))'])
        ws.conditional_formatting.add(box.ref, rule)

    def _style(self) -> DifferentialStyle:
        font = None
        if self.color or self.bold is not None or self.italic is not None:
            font = Font(color=color(self.color), b=self.bold, i=self.italic)
        fill = None
        if self.fill:
            hexa = color(self.fill)
            fill = PatternFill(bgColor=hexa, fgColor=hexa, fill_type="solid")
        if font is None and fill is None and self.rule not in ("scale", "bar"):
            fill = PatternFill(bgColor="FFC7CE", fgColor="FFC7CE", fill_type="solid")
            font = Font(color="9C0006")
        return DifferentialStyle(font=font, fill=fill)


class Validate(Act):
    action: Literal["validate"]
    range: str
    kind: Literal["list", "whole", "decimal", "date", "length", "custom"]
    values: list[str] | None = None  # for 'list': the allowed values
    op: Op | None = None  # for whole/decimal/date/length
    value: str | float | None = None
    value2: str | float | None = None
    formula: str | None = None  # for 'custom'
    message: str | None = None  # error shown on a wrong entry

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.range)
        kind = {"whole": "whole", "decimal": "decimal", "date": "date", "length": "textLength",
                "list": "list", "custom": "custom"}[self.kind]
        dv: DataValidation
        if self.kind == "list":
            if not self.values:
                raise fail("kind 'list' needs 'values'")
            joined = ",".join(str(v).replace('"', "") for v in self.values)
            if len(joined) > 255:
                raise fail("the list is over 255 characters; put the values in cells and use a custom rule")
            dv = DataValidation(type="list", formula1=f'"{joined}"', allow_blank=True)
        elif self.kind == "custom":
            if not self.formula:
                raise fail("kind 'custom' needs 'formula'")
            from tools.sheet.cells import check_formula

            dv = DataValidation(type="custom", formula1=check_formula(ctx, self.formula)[1:])
        else:
            if self.op is None or self.value is None:
                raise fail(f"kind {self.kind!r} needs 'op' and 'value'")
            second = None
            if self.op in ("between", "not_between"):
                if self.value2 is None:
                    raise fail("'between' needs 'value2'")
                second = _cf_value(self.value2)
            dv = DataValidation(type=kind, operator=OPERATORS[self.op], formula1=_cf_value(self.value),
                                formula2=second, allow_blank=True)
        if self.message:
            dv.error, dv.showErrorMessage = self.message, True
        else:
            dv.showErrorMessage = True
        dv.add(box.ref)
        ws.add_data_validation(dv)

"""Chart actions: bar, column, line, pie, scatter and area charts from ranges, and chart edits."""

from __future__ import annotations

import re
from typing import Any, Literal

from openpyxl.chart import AreaChart, BarChart, LineChart, PieChart, Reference, ScatterChart, Series
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.legend import Legend
from openpyxl.chart.trendline import Trendline
from openpyxl.utils import get_column_letter
from pydantic import field_validator

from tools.sheet.base import Act
from tools.sheet.context import EditContext, fail

ChartType = Literal["bar", "column", "line", "pie", "scatter", "area"]
_CHART_WORDS = {"clustered": "", "stacked": "", "chart": "", "graph": "", "plot": "", "3d": "",
                "xy": "scatter", "doughnut": "pie", "donut": "pie", "histogram": "column",
                "bars": "bar", "columns": "column", "lines": "line"}


def chart_type_name(value: Any) -> Any:
    """A chart type written in other words ('clustered_column', 'Line Chart', 'XY scatter') as
    the type it names; anything else unchanged (validation then names the choices)."""
    if not isinstance(value, str):
        return value
    words = [w for w in re.split(r"[\s_\-]+", value.strip().lower()) if w]
    named = [_CHART_WORDS.get(w, w) for w in words]
    kinds = [w for w in named if w in ("bar", "column", "line", "pie", "scatter", "area")]
    return kinds[0] if len(set(kinds)) == 1 else value
LegendPos = Literal["right", "left", "top", "bottom", "none"]
TrendType = Literal["linear", "exp", "log", "poly", "power", "movingAvg"]
Marker = Literal["none", "auto", "circle", "square", "triangle", "diamond", "x", "star", "dash", "dot", "plus"]


def _legend(chart: Any, position: str | None) -> None:
    if position is None:
        return
    chart.legend = None if position == "none" else Legend(legendPos={"right": "r", "left": "l", "top": "t",
                                                                     "bottom": "b"}[position])


def _make(kind: str) -> Any:
    if kind in ("bar", "column"):
        chart = BarChart()
        chart.type = "bar" if kind == "bar" else "col"
        return chart
    return {"line": LineChart, "pie": PieChart, "scatter": ScatterChart, "area": AreaChart}[kind]()


class Chart(Act):
    action: Literal["chart"]
    type: ChartType
    data: str  # header row + values, e.g. 'B1:C10' (each column a series named by its header)
    labels: str | None = None  # category (x) cells, e.g. 'A2:A10'; default: the column left of 'data' if text
    title: str | None = None
    x_title: str | None = None
    y_title: str | None = None
    legend: LegendPos | None = None  # default: right ('none' hides it)
    at: str | None = None  # anchor cell; default: right of the data
    to_sheet: str | None = None  # put the chart on another sheet (made when missing)
    by_rows: bool = False  # series are rows instead of columns
    data_labels: bool = False
    trendline: TrendType | None = None
    marker: Marker | None = None  # line/scatter point markers
    smooth: bool | None = None  # line/scatter: smooth lines

    @field_validator("type", mode="before")
    @classmethod
    def _type_in_other_words(cls, value: Any) -> Any:
        """'clustered column', 'Line chart', 'XY scatter', 'doughnut' name the types above."""
        return chart_type_name(value)

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        box = ctx.box(ws, self.data, read=True)
        target = ctx.sheet_or_new(self.to_sheet, before=ws) if self.to_sheet else ws
        labels = ctx.box(ws, self.labels, read=True) if self.labels else None
        if box.size < 1:
            raise fail("'data' is empty")
        header_is_text = all(isinstance(ws.cell(box.min_row, c).value, str) or ws.cell(box.min_row, c).value is None
                             for c in range(box.min_col, box.max_col + 1))
        if labels is None and not self.by_rows and box.min_col > 1 and box.width >= 1:
            left = [ws.cell(r, box.min_col - 1).value for r in range(box.min_row + 1, box.max_row + 1)]
            if left and all(isinstance(v, str) for v in left if v is not None) and any(left):
                labels = ctx.box(ws, f"{get_column_letter(box.min_col - 1)}{box.min_row + (1 if header_is_text else 0)}:"
                                     f"{get_column_letter(box.min_col - 1)}{box.max_row}")
        if self.type == "scatter" and labels is None:
            if box.width < 2:
                raise fail("a scatter chart needs x values: give 'labels' (x cells) or 'data' with x in its first column")
            labels = ctx.box(ws, f"{get_column_letter(box.min_col)}{box.min_row + (1 if header_is_text else 0)}:"
                                 f"{get_column_letter(box.min_col)}{box.max_row}")
            box = ctx.box(ws, f"{get_column_letter(box.min_col + 1)}{box.min_row}:"
                              f"{get_column_letter(box.max_col)}{box.max_row}")
        chart = _make(self.type)
        data_ref = Reference(ws, min_col=box.min_col, min_row=box.min_row, max_col=box.max_col, max_row=box.max_row)
        if self.type == "scatter":
            assert labels is not None
            xref = Reference(ws, min_col=labels.min_col, min_row=labels.min_row, max_col=labels.max_col,
                             max_row=labels.max_row)
            first = box.min_row + (1 if header_is_text else 0)
            for c in range(box.min_col, box.max_col + 1):
                yref = Reference(ws, min_col=c, min_row=first, max_row=box.max_row)
                series = Series(yref, xref, title=str(ws.cell(box.min_row, c).value) if header_is_text else None)
                series.marker.symbol = "circle"
                series.graphicalProperties.line.noFill = True
                chart.series.append(series)
        else:
            chart.add_data(data_ref, titles_from_data=header_is_text, from_rows=self.by_rows)
            if labels is not None:
                chart.set_categories(Reference(ws, min_col=labels.min_col, min_row=labels.min_row,
                                               max_col=labels.max_col, max_row=labels.max_row))
        _style(chart, self.title, self.x_title, self.y_title, self.legend, self.data_labels, self.trendline)
        _lines(chart, self.marker, self.smooth)
        anchor = self.at or (f"{get_column_letter(box.max_col + 2)}{box.min_row}" if target is ws else "A1")
        if ctx.box(target, anchor).size != 1:
            raise fail("'at' must be one cell")
        target.add_chart(chart, anchor)
        ctx.record("chart", sheet=target.title, type=self.type, data=f"{ws.title}!{box.ref}",
                   series=len(chart.series), points=box.height - (1 if header_is_text else 0)
                   if not self.by_rows else box.width, title=self.title)


def _style(chart: Any, title: str | None, x_title: str | None, y_title: str | None, legend: str | None,
           data_labels: bool | None, trendline: str | None) -> None:
    if title is not None:
        chart.title = title or None
    if x_title is not None and hasattr(chart, "x_axis"):
        chart.x_axis.title = x_title or None
    if y_title is not None and hasattr(chart, "y_axis"):
        chart.y_axis.title = y_title or None
    if hasattr(chart, "x_axis"):  # openpyxl >= 3.1 hides axes unless told otherwise
        chart.x_axis.delete = False
        chart.y_axis.delete = False
    _legend(chart, legend)
    if data_labels is not None:
        chart.dataLabels = DataLabelList(showVal=True) if data_labels else None
    if trendline:
        if isinstance(chart, PieChart):
            raise fail("a pie chart cannot have a trendline")
        for series in chart.series:
            series.trendline = Trendline(trendlineType=trendline)


def _lines(chart: Any, marker: str | None, smooth: bool | None) -> None:
    if marker is None and smooth is None:
        return
    if not isinstance(chart, (LineChart, ScatterChart)):
        if marker in (None, "none", "auto") and not smooth:
            return  # nothing asked that a bar, pie or area chart could show
        raise fail("'marker' and 'smooth' apply to line and scatter charts")
    for series in chart.series:
        if marker is not None:
            series.marker.symbol = None if marker == "auto" else marker
        if smooth is not None:
            series.smooth = smooth
            if isinstance(chart, ScatterChart):
                series.graphicalProperties.line.noFill = False
                chart.scatterStyle = "smoothMarker" if smooth else "lineMarker"


class EditChart(Act):
    action: Literal["edit_chart"]
    index: int = -1  # which chart on the sheet (0 = first, -1 = last)
    title: str | None = None
    x_title: str | None = None
    y_title: str | None = None
    legend: LegendPos | None = None
    type: ChartType | None = None  # change the chart type (keeps the series)

    @field_validator("type", mode="before")
    @classmethod
    def _type_in_other_words(cls, value: Any) -> Any:
        return chart_type_name(value)
    data_labels: bool | None = None
    trendline: TrendType | None = None
    marker: Marker | None = None
    smooth: bool | None = None
    delete: bool = False  # remove the chart

    def apply(self, ctx: EditContext) -> None:
        ws = ctx.sheet(self.sheet)
        charts = ws._charts
        if not charts:
            raise fail(f"sheet {ws.title!r} has no charts")
        if not -len(charts) <= self.index < len(charts):
            raise fail(f"chart index {self.index} out of range; {ws.title!r} has {len(charts)} charts")
        chart = charts[self.index]
        if self.delete:
            charts.remove(chart)
            return
        if self.type is not None:
            new = _make(self.type)
            for series in chart.series:
                new.series.append(series)
            new.title, new.legend, new.anchor = chart.title, chart.legend, chart.anchor
            if hasattr(chart, "x_axis") and hasattr(new, "x_axis"):
                new.x_axis.title, new.y_axis.title = chart.x_axis.title, chart.y_axis.title
            charts[charts.index(chart)] = new
            chart = new
        _style(chart, self.title, self.x_title, self.y_title, self.legend, self.data_labels, self.trendline)
        _lines(chart, self.marker, self.smooth)

"""SheetCopilot: the task list and an openpyxl scorer that follows each reference's ``_check.yaml``.

A result workbook passes a task when it matches ANY of the task's reference solutions
(``task_sheet_answers_v2/<Sheet>/<No>_<Sheet>/<No>_<Sheet>_gtK.xlsx``) on what that reference's
check board names, sheet by sheet, with the benchmark's rules: the sheet counts are equal; cells
are compared in the A1-anchored block, columns matched by header text, numbers within 1e-8
(numpy ``allclose``), strings trimmed, and the number-format family (currency, percent, date...)
always compared; charts, pivot tables (real ones, or tablepilot summaries recorded by the sheet
tool), auto-filters (visible rows), conditional formats and freeze panes as their flags say.
Metrics: Exec@1 (the run produced a workbook) and Pass@1 (it matched).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openpyxl
import yaml
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

TOLERANCE = 1e-8
REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    env = os.environ.get("TABLEPILOT_DATA")
    root = Path(env).expanduser() if env else (REPO_ROOT.parent / "shared" / "data").resolve()
    return root / "sheetcopilot"


# --------------------------------------------------------------------------- tasks
@dataclass
class SheetCopilotTask:
    id: str  # '<No.>_<Sheet Name>', e.g. '3_BoomerangSales'
    sheet_name: str
    no: int
    context: str
    instructions: str
    categories: list[str]
    atomic_actions: str
    workbook: Path  # the source workbook (task_sheets/<Sheet Name>.xlsx)
    answers: Path  # folder of reference solutions
    order: int = 0  # row order in dataset.xlsx

    @property
    def prompt(self) -> str:
        return f"{self.context}\n{self.instructions}".strip()


def load_tasks(data_dir: str | Path | None = None, *, file: str = "dataset.xlsx") -> list[SheetCopilotTask]:
    """The tasks of dataset.xlsx (221), in file order."""
    root = Path(data_dir) if data_dir else default_data_dir()
    wb = openpyxl.load_workbook(root / file, read_only=True, data_only=True)
    ws = wb.worksheets[0]
    rows = ws.iter_rows(values_only=True)
    header = [str(h).strip() if h is not None else "" for h in next(rows)]
    col = {name: i for i, name in enumerate(header)}
    tasks = []
    for order, row in enumerate(rows):
        sheet, no = row[col["Sheet Name"]], row[col["No."]]
        if sheet is None or no is None:
            continue
        task_id = f"{int(no)}_{sheet}"
        tasks.append(SheetCopilotTask(
            id=task_id, sheet_name=str(sheet), no=int(no), context=str(row[col["Context"]] or ""),
            instructions=str(row[col["Instructions"]] or ""),
            categories=[c.strip() for c in str(row[col["Categories"]] or "").split(",") if c.strip()],
            atomic_actions=str(row[col["Atomic actions"]] or ""),
            workbook=root / "task_sheets" / f"{sheet}.xlsx",
            answers=root / "task_sheet_answers_v2" / str(sheet) / task_id, order=order))
    wb.close()
    return tasks


def references(task_id: str, data_dir: str | Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    """(reference workbook, check board) pairs of a task."""
    root = Path(data_dir) if data_dir else default_data_dir()
    match = re.fullmatch(r"(\d+)_(.+)", task_id.strip())
    if not match:
        raise ValueError(f"task id {task_id!r} is not like '3_BoomerangSales'")
    folder = root / "task_sheet_answers_v2" / match.group(2) / task_id
    if not folder.is_dir():
        raise ValueError(f"no reference solutions for task {task_id!r} in {folder.parent}")
    out = []
    for xlsx in sorted(folder.glob(f"{task_id}_gt*.xlsx")):
        check = xlsx.with_name(xlsx.stem + "_check.yaml")
        if check.exists():
            board = yaml.safe_load(check.read_text(encoding="utf-8")) or {}
            out.append((xlsx, board.get("check_board", {}) or {}))
    if not out:
        raise ValueError(f"task {task_id!r} has no reference with a _check.yaml in {folder}")
    return out


# --------------------------------------------------------------------------- scoring
@dataclass
class CheckResult:
    passed: bool
    reason: str = ""
    reference: str | None = None  # the reference that matched (or the closest failure's)
    details: list[str] = field(default_factory=list)  # one reason per reference tried


class Mismatch(Exception):
    """One failed check: the reason for a person. ``values``: the check read cell values (so a
    reference without cached formula values must be recalculated before trusting it)."""

    def __init__(self, reason: str, *, values: bool = False) -> None:
        super().__init__(reason)
        self.values = values


def check_task(result_path: str | Path, task_id: str, data_dir: str | Path | None = None) -> CheckResult:
    """Does the workbook at ``result_path`` solve task ``task_id``? Passes if any reference matches."""
    try:
        refs = references(task_id, data_dir)
    except ValueError as exc:
        return CheckResult(False, str(exc))
    path = Path(result_path)
    if not path.is_file():
        return CheckResult(False, f"no result workbook at {path}")
    digest = _sha256(path)
    identical = {ref for ref, _ in refs if _sha256(ref) == digest}
    with tempfile.TemporaryDirectory(prefix="tablepilot-check-") as tmp:
        try:
            result = _load_values(path, Path(tmp), recalc=not identical)
        except Exception as exc:
            return CheckResult(False, f"cannot open the result: {type(exc).__name__}: {exc}")
        details = []
        for ref_path, board in refs:
            try:
                # a file identical to a reference is compared as it is; otherwise formulas that a
                # reference was saved without values for (openpyxl-made ones) are computed first
                try:
                    compare_workbooks(_load_cached(ref_path, recalc=False), result, board)
                except Mismatch as first:
                    if not first.values or ref_path in identical:
                        raise
                    from table_io.recalc import missing_cached_values

                    if not missing_cached_values(ref_path):
                        raise
                    compare_workbooks(_load_cached(ref_path, recalc=True), result, board)
            except Mismatch as exc:
                details.append(f"{ref_path.stem}: {exc}")
                continue
            return CheckResult(True, f"matches {ref_path.name}", reference=ref_path.name, details=details)
    return CheckResult(False, details[0] if len(details) == 1 else " | ".join(details[:4]),
                       reference=refs[0][0].name, details=details)


_REF_CACHE: dict[tuple[Path, bool], Any] = {}


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def cache_dir() -> Path:
    env = os.environ.get("TABLEPILOT_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "tablepilot") / "sheetcopilot-refs"


def _load_cached(path: Path, *, recalc: bool = True) -> Any:
    """A reference workbook with formula values, loaded once per process.

    Some references were saved by openpyxl without cached values (Excel recomputes them on
    open); those are recalculated once and the copy is kept in ``cache_dir()``.
    """
    from table_io.recalc import missing_cached_values, recalculate

    key = (path.resolve(), recalc)
    if key not in _REF_CACHE:
        if len(_REF_CACHE) > 64:
            _REF_CACHE.clear()
        source = path
        if recalc and missing_cached_values(path):
            source = cache_dir() / f"{_sha256(path)}.xlsx"
            if not source.exists():
                source.parent.mkdir(parents=True, exist_ok=True)
                work = source.with_name(source.name + ".tmp.xlsx")
                shutil.copyfile(path, work)
                recalculate(work, limit=10**7)
                os.replace(work, source)
        _REF_CACHE[key] = openpyxl.load_workbook(source, data_only=True)
    return _REF_CACHE[key]


def _load_values(path: Path, tmp: Path, *, recalc: bool = True) -> Any:
    """The result with formula values; recalculated first if it was saved without them."""
    from table_io.recalc import missing_cached_values, recalculate

    if recalc and path.suffix.lower() in {".xlsx", ".xlsm"} and missing_cached_values(path):
        copy = tmp / f"result{path.suffix.lower()}"
        shutil.copyfile(path, copy)
        recalculate(copy, limit=10**7)
        path = copy
    return openpyxl.load_workbook(path, data_only=True)


def exec_pass_at_1(outcomes: dict[str, CheckResult | None]) -> dict[str, float]:
    """``outcomes[task_id]``: the check of the produced workbook, or None when the run failed."""
    total = len(outcomes) or 1
    executed = sum(1 for r in outcomes.values() if r is not None)
    passed = sum(1 for r in outcomes.values() if r is not None and r.passed)
    return {"exec_at_1": executed / total, "pass_at_1": passed / total, "n": float(len(outcomes))}


def compare_workbooks(ref: Any, res: Any, board: dict[str, Any]) -> None:
    """Raise ``Mismatch`` with a reason at the first difference the check board cares about."""
    if len(ref.worksheets) != len(res.worksheets):
        raise Mismatch(f"sheet count {len(res.worksheets)} != expected {len(ref.worksheets)} "
                       f"(expected sheets: {', '.join(ref.sheetnames)}; got {', '.join(res.sheetnames)})")
    for index, (ws_ref, ws_res) in enumerate(zip(ref.worksheets, res.worksheets, strict=True), start=1):
        checks = board.get(str(index)) or board.get(index)  # type: ignore[call-overload]
        if not checks:
            continue
        wanted = {kind: {k for k, v in (props or {}).items() if v} for kind, props in checks.items()}
        where = f"sheet {index} ({ws_res.title!r})"
        if wanted.get("cells"):
            _compare_cells(ws_ref, ws_res, wanted["cells"], where)
        if wanted.get("charts"):
            _compare_charts(ws_ref, ws_res, wanted["charts"], where)
        if wanted.get("pivot_tables"):
            _compare_pivots(ws_ref, ws_res, wanted["pivot_tables"], where, ref, res)
        if wanted.get("filters"):
            _compare_filters(ws_ref, ws_res, where)
        if wanted.get("format_conditions"):
            _compare_conditional(ws_ref, ws_res, wanted["format_conditions"], where)
        if wanted.get("view") and _freeze(ws_ref) != _freeze(ws_res):
            raise Mismatch(f"{where}: frozen panes {_freeze(ws_res)} != expected {_freeze(ws_ref)} (rows, cols)")


# ----------------------------------------------------------------------------- cells
def _value(ws: Worksheet, row: int, col: int) -> Any:
    cell = ws._cells.get((row, col))
    return None if cell is None else cell.value


def _end_down(ws: Worksheet, col: int, max_row: int) -> int:
    if _value(ws, 2, col) is None:
        r = 2
        while r <= max_row and _value(ws, r, col) is None:
            r += 1
        return r if r <= max_row else 1_048_576
    r = 1
    while r + 1 <= max_row and _value(ws, r + 1, col) is not None:
        r += 1
    return r


def _end_right(ws: Worksheet, row: int, max_col: int) -> int:
    if _value(ws, row, 2) is None:
        c = 2
        while c <= max_col and _value(ws, row, c) is None:
            c += 1
        return c if c <= max_col else 16_384
    c = 1
    while c + 1 <= max_col and _value(ws, row, c + 1) is not None:
        c += 1
    return c


def block_size(ws: Worksheet) -> tuple[int, int]:
    """Rows and columns of the block anchored at A1, as the benchmark measures it."""
    max_row, max_col = ws.max_row or 1, ws.max_column or 1
    return min(_end_down(ws, 1, max_row), max_row), min(_end_right(ws, 1, max_col), max_col)


def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    return value


def same_value(a: Any, b: Any) -> bool:
    """The benchmark's cell equality: same type, trimmed strings, numbers within 1e-8 (+1e-5 rel)."""
    a, b = _norm(a), _norm(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, str):
        return a.strip() == b.strip()
    if isinstance(a, float):
        return abs(a - b) <= TOLERANCE + 1e-5 * abs(b)
    return bool(a == b)


def _show(value: Any) -> str:
    return "empty" if value is None else repr(value.isoformat() if isinstance(value, (dt.date, dt.time)) else value)


def datatype(number_format: str | None) -> str:
    """The coarse number-format family the benchmark compares."""
    fmt = (number_format or "").lower()
    if fmt == "currency" or "$" in fmt or "¥" in fmt:
        return "currency"
    if "%" in fmt:
        return "percentage"
    if "yy" in fmt or "dd" in fmt:
        return "date"
    if any(x in fmt for x in (":", "mm", "m", "ss", "hh", "am", "pm")):
        return "time"
    if fmt == "@":
        return "text"
    if "general" in fmt:
        return "general"
    if "#0" in fmt or fmt in ("0", "0.00"):
        return "number"
    return number_format or ""


def _rgb(color: Any) -> Any:
    if color is None:
        return None
    kind = getattr(color, "type", None)
    if kind == "rgb":
        value = str(color.rgb)
        return ("rgb", value[-6:].upper()) if isinstance(color.rgb, str) else None
    if kind == "theme":
        return ("theme", color.theme, round(float(color.tint or 0.0), 4))
    if kind == "indexed":
        return ("indexed", color.indexed)
    return None


def _font_sig(font: Any) -> tuple[Any, ...]:
    if font is None:
        return (None,)
    return (font.name, float(font.sz) if font.sz else None, _rgb(font.color), bool(font.b), bool(font.i),
            font.u or None)


def _fill_sig(fill: Any) -> Any:
    kind = getattr(fill, "fill_type", None)
    if not kind:
        return None
    return (kind, _rgb(fill.fgColor))


def _link(cell: Any) -> str | None:
    link = getattr(cell, "hyperlink", None)
    if link is None:
        return None
    return link.target or (f"#{link.location}" if link.location else None)


def _compare_cells(ws_ref: Worksheet, ws_res: Worksheet, props: set[str], where: str) -> None:
    rows, cols = block_size(ws_ref)
    got = block_size(ws_res)
    if (rows, cols) != got:
        raise Mismatch(f"{where}: the table anchored at A1 is {got[0]} rows x {got[1]} columns, "
                       f"expected {rows} x {cols}", values=True)
    used: set[int] = set()
    step = 100 if rows > 200 else 1
    for col in range(1, cols + 1):
        header = _value(ws_ref, 1, col)
        match = next((c for c in range(1, cols + 1) if c not in used and _value(ws_res, 1, c) == header), None)
        if match is None:
            raise Mismatch(f"{where}: no column with header {_show(header)} (expected column {get_column_letter(col)})",
                           values=True)
        used.add(match)
        for row in range(1, rows + 1, step):
            c_ref, c_res = ws_ref.cell(row, col), ws_res.cell(row, match)
            at = f"{ws_res.title}!{get_column_letter(match)}{row}"
            if "values" in props and not same_value(c_ref.value, c_res.value):
                raise Mismatch(f"{where}: {at} is {_show(c_res.value)}, expected {_show(c_ref.value)}", values=True)
            if datatype(c_ref.number_format) != datatype(c_res.number_format):
                raise Mismatch(f"{where}: {at} number format {c_res.number_format!r} is not a "
                               f"{datatype(c_ref.number_format)} format like {c_ref.number_format!r}")
            if "formatting" in props:
                if _font_sig(c_ref.font) != _font_sig(c_res.font):
                    raise Mismatch(f"{where}: {at} font {_font_sig(c_res.font)} != expected {_font_sig(c_ref.font)}")
                if _fill_sig(c_ref.fill) != _fill_sig(c_res.fill):
                    raise Mismatch(f"{where}: {at} fill {_fill_sig(c_res.fill)} != expected {_fill_sig(c_ref.fill)}")
            if "hyperlink" in props and _link(c_ref) != _link(c_res):
                raise Mismatch(f"{where}: {at} hyperlink {_link(c_res)!r} != expected {_link(c_ref)!r}")


# ----------------------------------------------------------------------------- charts
def chart_kind(chart: Any) -> str:
    name = type(chart).__name__.replace("Chart", "").lower()
    if name in ("bar", "bar3d"):
        return f"{name}:{getattr(chart, 'barDir', 'col')}:{getattr(chart, 'grouping', 'clustered') or 'clustered'}"
    if name in ("line", "area", "line3d", "area3d"):
        return f"{name}:{getattr(chart, 'grouping', 'standard') or 'standard'}"
    return name


def _rich_text(text: Any) -> str:
    if text is None:
        return ""
    rich = getattr(text, "rich", None)
    if rich is not None:
        return "".join(run.t or "" for para in rich.p or [] for run in (para.r or []))
    return ""


def chart_title(chart: Any, wb: Any) -> str | None:
    title = chart.title
    if title is None:
        return None
    tx = getattr(title, "tx", None)
    if tx is not None and tx.strRef is not None and tx.strRef.f:
        values = resolve(tx.strRef.f, wb)
        return " ".join(str(v) for v in values if v is not None)
    return _rich_text(tx)


def resolve(formula: str, wb: Any) -> list[Any]:
    """The cell values a chart reference like "'Sheet 1'!$B$2:$B$9" points at (row-major)."""
    from openpyxl.utils.cell import range_boundaries

    text = formula.strip().lstrip("=").strip("()")
    out: list[Any] = []
    for part in text.split(","):
        sheet, _, cells = part.rpartition("!")
        sheet = sheet.strip("'").replace("''", "'")
        if sheet not in wb.sheetnames:
            return []
        ws = wb[sheet]
        try:
            min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
        except ValueError:
            return []
        for r in range(min_row or 1, (max_row or min_row or 1) + 1):
            for c in range(min_col or 1, (max_col or min_col or 1) + 1):
                out.append(ws.cell(r, c).value)
    return out


def _data(ref: Any, wb: Any, *, cached: bool = False) -> list[Any]:
    """A series' values: the cells its reference points at, or (pivot charts, whose reference
    covers the grand total the chart leaves out) the values cached in the chart."""
    if ref is None:
        return []
    for attr in ("numRef", "strRef"):
        holder = getattr(ref, attr, None)
        if holder is not None and holder.f:
            cache = getattr(holder, "numCache", None) or getattr(holder, "strCache", None)
            if cached and cache is not None and cache.pt:
                return [p.v for p in cache.pt]
            values = resolve(holder.f, wb)
            if values:
                return values
            if cache is not None:
                return [p.v for p in cache.pt]
    for attr in ("numLit", "strLit"):
        holder = getattr(ref, attr, None)
        if holder is not None:
            return [p.v for p in holder.pt]
    return []


def _same_list(a: list[Any], b: list[Any]) -> bool:
    if len(a) != len(b):
        return False
    return all(same_value(x, y) or (_num(x) is not None and _num(x) == _num(y)) or (x in (None, "") and y in (None, ""))
               for x, y in zip(a, b, strict=True))


def _num(value: Any) -> float | None:
    try:
        return round(float(value), 8)
    except (TypeError, ValueError):
        return None


def series_data(chart: Any, wb: Any) -> list[tuple[list[Any], list[Any]]]:
    out = []
    pivot = getattr(chart, "pivotSource", None) is not None
    for s in chart.series:
        y = _data(s.val if s.val is not None else s.yVal, wb, cached=pivot)
        x = _data(s.cat if s.cat is not None else s.xVal, wb, cached=pivot)
        out.append((x, y))
    return out


def _legend(chart: Any) -> str | None:
    return None if chart.legend is None else (chart.legend.legendPos or "r")


def _axes(chart: Any) -> list[bool]:
    if not hasattr(chart, "x_axis"):
        return []
    return [chart.x_axis.title is not None, chart.y_axis.title is not None]


def _trendlines(chart: Any) -> list[str]:
    return sorted(s.trendline.trendlineType for s in chart.series if s.trendline is not None)


def _data_labels(chart: Any) -> bool:
    if chart.dataLabels is not None and chart.dataLabels.showVal:
        return True
    return any(s.dLbls is not None and s.dLbls.showVal for s in chart.series)


def _chart_problem(c_ref: Any, c_res: Any, props: set[str], wb_ref: Any, wb_res: Any) -> str | None:
    if "chart_type" in props and chart_kind(c_ref) != chart_kind(c_res):
        return f"chart type {chart_kind(c_res)} != expected {chart_kind(c_ref)}"
    if "title" in props and (chart_title(c_ref, wb_ref) or "").strip() != (chart_title(c_res, wb_res) or "").strip():
        return f"chart title {chart_title(c_res, wb_res)!r} != expected {chart_title(c_ref, wb_ref)!r}"
    if "legend" in props and _legend(c_ref) != _legend(c_res):
        return f"chart legend {_legend(c_res)} != expected {_legend(c_ref)}"
    if "axes" in props and _axes(c_ref) != _axes(c_res):
        return f"axis titles present {_axes(c_res)} != expected {_axes(c_ref)}"
    if "trendlines" in props and _trendlines(c_ref) != _trendlines(c_res):
        return f"trendlines {_trendlines(c_res)} != expected {_trendlines(c_ref)}"
    if "data_labels" in props and _data_labels(c_ref) != _data_labels(c_res):
        return f"data labels {_data_labels(c_res)} != expected {_data_labels(c_ref)}"
    if "series" in props:
        want, have = series_data(c_ref, wb_ref), series_data(c_res, wb_res)
        if len(want) != len(have):
            return f"{len(have)} chart series != expected {len(want)}"
        left = list(have)
        for x, y in want:
            hit = next((i for i, (hx, hy) in enumerate(left) if _same_list(y, hy) and _same_list(x, hx)), None)
            if hit is None:
                return f"no chart series with values {y[:6]} and categories {x[:6]}"
            left.pop(hit)
    return None


def _compare_charts(ws_ref: Worksheet, ws_res: Worksheet, props: set[str], where: str) -> None:
    ref_charts, res_charts = ws_ref._charts, ws_res._charts
    if len(ref_charts) != len(res_charts):
        raise Mismatch(f"{where}: {len(res_charts)} charts, expected {len(ref_charts)}")
    for c_ref in ref_charts:
        problems = [_chart_problem(c_ref, c_res, props, ws_ref.parent, ws_res.parent) for c_res in res_charts]
        if all(p is not None for p in problems):
            raise Mismatch(f"{where}: {problems[0]}", values="series" in props)


# ----------------------------------------------------------------------------- pivots
@dataclass
class PivotSpec:
    source: str
    fields: int  # number of source columns
    rows: list[str]
    cols: list[str]
    values: list[tuple[str, str]]  # (source column, function)


def _norm_source(sheet: str | None, ref: str | None) -> str:
    return f"{(sheet or '').strip(chr(39)).lower()}!{(ref or '').replace('$', '').upper()}"


def pivots_of(ws: Worksheet, wb: Any) -> list[PivotSpec]:
    """Real pivot tables on the sheet, plus tablepilot summary tables written there."""
    out = []
    for pivot in getattr(ws, "_pivots", []):
        cache = pivot.cache
        names = [f.name for f in cache.cacheFields] if cache is not None else []
        src = cache.cacheSource.worksheetSource if cache is not None and cache.cacheSource is not None else None

        def field(x: int, names: list[str] = names) -> str:
            return names[x] if 0 <= x < len(names) else f"#{x}"

        out.append(PivotSpec(
            source=_norm_source(src.sheet if src else None, (src.ref or src.name) if src else None),
            fields=len(names),
            rows=[field(f.x) for f in pivot.rowFields if f.x is not None and f.x >= 0],
            cols=[field(f.x) for f in pivot.colFields if f.x is not None and f.x >= 0],
            values=[(field(d.fld), (d.subtotal or "sum").lower()) for d in pivot.dataFields]))
    from tools.sheet.data import read_summaries

    for spec in read_summaries(wb):
        if spec.get("sheet") != ws.title:
            continue
        sheet, _, ref = str(spec.get("source", "")).rpartition("!")
        from openpyxl.utils.cell import range_boundaries

        try:
            min_col, _, max_col, _ = range_boundaries(ref.replace("$", ""))
            width = (max_col or 0) - (min_col or 0) + 1
        except ValueError:
            width = 0
        out.append(PivotSpec(source=_norm_source(sheet, ref), fields=width, rows=list(spec.get("rows", [])),
                             cols=list(spec.get("cols", [])),
                             values=[(v[0], "count" if v[1] == "count_distinct" else v[1]) for v in spec.get("values", [])]))
    return out


def _pivot_problem(p_ref: PivotSpec, p_res: PivotSpec, props: set[str]) -> str | None:
    if "source" in props and p_ref.source != p_res.source:
        return f"summary source {p_res.source} != expected {p_ref.source}"
    if "filters" in props and p_ref.fields != p_res.fields:
        return f"summary source has {p_res.fields} fields, expected {p_ref.fields}"
    if ("rows" in props or "columns" in props) and not (
            (p_ref.rows == p_res.rows and p_ref.cols == p_res.cols)
            or (p_ref.rows == p_res.cols and p_ref.cols == p_res.rows)):
        return f"summary rows/columns {p_res.rows}/{p_res.cols} != expected {p_ref.rows}/{p_ref.cols}"
    if "values" in props or "summary_type" in props:
        for value in p_ref.values:
            if value not in p_res.values:
                return f"summary values {p_res.values} lack {value}"
    return None


def _compare_pivots(ws_ref: Worksheet, ws_res: Worksheet, props: set[str], where: str, wb_ref: Any, wb_res: Any) -> None:
    want, have = pivots_of(ws_ref, wb_ref), pivots_of(ws_res, wb_res)
    if len(want) != len(have):
        raise Mismatch(f"{where}: {len(have)} pivot/summary tables, expected {len(want)}")
    if not want:
        return
    problems = [_pivot_problem(a, b, props) for a in want for b in have]
    if all(p is not None for p in problems):
        raise Mismatch(f"{where}: {problems[0]}")


# ----------------------------------------------------------------------------- filters
def _visible(ws: Worksheet, ref: str) -> list[Any]:
    from openpyxl.utils.cell import range_boundaries

    min_col, min_row, max_col, max_row = range_boundaries(ref)
    values = []
    for r in range(min_row or 1, (max_row or 1) + 1):
        dim = ws.row_dimensions.get(r)
        if dim is not None and dim.hidden:
            continue
        values += [ws.cell(r, c).value for c in range(min_col or 1, (max_col or 1) + 1)]
    return values


def _filter_ref(ws: Worksheet) -> str:
    if ws.auto_filter.ref:
        return str(ws.auto_filter.ref)
    rows, cols = block_size(ws)
    return f"A1:{get_column_letter(cols)}{rows}"


def _compare_filters(ws_ref: Worksheet, ws_res: Worksheet, where: str) -> None:
    want, have = _visible(ws_ref, _filter_ref(ws_ref)), _visible(ws_res, _filter_ref(ws_res))
    if len(want) != len(have) or not all(same_value(a, b) or a == b for a, b in zip(want, have, strict=True)):
        raise Mismatch(f"{where}: the visible (filtered) cells differ: {len(have)} visible, expected {len(want)}",
                       values=True)


# ----------------------------------------------------------------------------- conditional formats
def _rules(ws: Worksheet) -> list[Any]:
    return [rule for rng in ws.conditional_formatting for rule in rng.rules]


def _dxf_fill(rule: Any) -> Any:
    fill = getattr(getattr(rule, "dxf", None), "fill", None)
    if fill is None:
        return None
    color = _rgb(getattr(fill, "bgColor", None)) or _rgb(getattr(fill, "fgColor", None))
    return color


def _dxf_font(rule: Any) -> Any:
    return getattr(getattr(rule, "dxf", None), "font", None)


def _formula1(rule: Any) -> str | None:
    return rule.formula[0].replace(" ", "") if rule.formula else None


def _rule_problem(r_ref: Any, r_res: Any, props: set[str]) -> str | None:
    f_ref, f_res = _dxf_font(r_ref), _dxf_font(r_res)
    checks = {
        "type": (r_ref.type, r_res.type),
        "operator": (r_ref.operator, r_res.operator),
        "formula1": ((r_ref.type, _formula1(r_ref)), (r_res.type, _formula1(r_res))),
        "color": (_rgb(getattr(f_ref, "color", None)), _rgb(getattr(f_res, "color", None))),
        "fill_color": (_dxf_fill(r_ref), _dxf_fill(r_res)),
        "font": (getattr(f_ref, "name", None), getattr(f_res, "name", None)),
        "bold": (bool(getattr(f_ref, "b", False)), bool(getattr(f_res, "b", False))),
        "italic": (bool(getattr(f_ref, "i", False)), bool(getattr(f_res, "i", False))),
        "underline": (getattr(f_ref, "u", None), getattr(f_res, "u", None)),
    }
    for prop in sorted(props):
        if prop in checks and checks[prop][0] != checks[prop][1]:
            return f"conditional format {prop}: {checks[prop][1]} != expected {checks[prop][0]}"
    return None


def _compare_conditional(ws_ref: Worksheet, ws_res: Worksheet, props: set[str], where: str) -> None:
    want, have = _rules(ws_ref), _rules(ws_res)
    if len(want) != len(have):
        raise Mismatch(f"{where}: {len(have)} conditional format rules, expected {len(want)}")
    if not want:
        return
    problems = [_rule_problem(a, b, props) for a in want for b in have]
    if all(p is not None for p in problems):
        raise Mismatch(f"{where}: {problems[0]}")


def _freeze(ws: Worksheet) -> tuple[int, int]:
    from openpyxl.utils.cell import coordinate_to_tuple

    if not ws.freeze_panes:
        return (0, 0)
    row, col = coordinate_to_tuple(ws.freeze_panes)
    return (row - 1, col - 1)

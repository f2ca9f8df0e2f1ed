"""Size bounds for SQL functions whose result can be far larger than their inputs.

DuckDB's ``memory_limit`` does not cover a single value being built: ``repeat('x', 2e9)``,
``range(4e8)``, ``lpad``, ``printf('%2000000000d')`` or nested ``replace`` allocate gigabytes
outside the buffer manager, often while the optimizer folds constants, before any timeout or
interrupt can act. So the guard bounds every such call before the query runs:

* each expression gets a static upper bound on its size (characters or list items): a literal
  its length, a column the longest text in the catalog (or the value limit when a CTE or
  subquery of the query builds values that the column may hold), an aggregate the value
  limit, a concatenation the sum of its parts, an amplifying call what it can build;
* a count or width written as a number (or arithmetic on numbers) must keep the bound under
  ``max_value_size``; otherwise the query is refused with the numbers;
* a count computed from the data is clamped at run time: it becomes
  ``CASE WHEN n > k THEN error(...) ELSE n END`` with ``k`` what the limit allows;
* a count DuckDB could fold but this module cannot evaluate is refused (write a number).

Everything else (row counts, joins, aggregates) is bounded by DuckDB's memory limit, the
query timeout and the result caps in tools/sql/run.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from tools.base import ToolFailure


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    return int(raw) if raw.isdigit() else default


MAX_VALUE_SIZE = _env_int("TABLEPILOT_SQL_MAX_VALUE_SIZE", 1_000_000)
EXCEL_CELL_CHARS = 32_767  # the longest text an Excel cell holds: the default catalog bound

_LIST_RESIZE = {"list_resize", "array_resize"}
_PRINTF = {"printf", "format"}
_RANGE_NAMES = {"range", "generate_series"}


@dataclass
class Bounds:
    max_value_size: int = MAX_VALUE_SIZE
    catalog_text: int = EXCEL_CELL_CHARS  # longest value of any catalog column, as text


def _refuse(message: str, hint: str) -> ToolFailure:
    return ToolFailure(message, kind="query", hint=hint)


def bound_sizes(tree: exp.Expr, bounds: Bounds | None = None) -> None:
    """Refuse or clamp (in place) every call in ``tree`` that could build an oversized value."""
    limits = bounds or Bounds()
    # a CTE or subquery that builds values can hand any size up to the limit to its readers;
    # otherwise every column holds (a part of) catalog text
    built_inside = any(_grows(inner) for scope in tree.find_all(exp.CTE, exp.Subquery)
                       for inner in scope.walk())
    column_size = limits.max_value_size if built_inside else limits.catalog_text
    sizer = _Sizer(limits, column_size)
    # deepest calls first: an outer call's bound uses the inner calls' (already bounded) sizes
    calls = [n for n in tree.find_all(exp.Func)]
    calls.sort(key=lambda n: -_depth(n))
    for node in calls:
        sizer.check(node)


_GROWING = (exp.Repeat, exp.Pad, exp.GenerateSeries, exp.Replace, exp.RegexpReplace, exp.DPipe,
            exp.Concat, exp.ConcatWs, exp.Format, exp.Array, exp.ArrayAgg, exp.GroupConcat,
            exp.ArrayConcat)
_GROWING_NAMES = _LIST_RESIZE | _PRINTF | _RANGE_NAMES | {"string_agg", "list", "list_concat",
                                                         "array_agg", "histogram", "map"}


def _grows(node: exp.Expr) -> bool:
    """Whether ``node`` can produce a value larger than its inputs."""
    return isinstance(node, _GROWING) or (isinstance(node, exp.Anonymous) and _name(node) in _GROWING_NAMES)


def _depth(node: exp.Expr) -> int:
    depth = 0
    while node.parent is not None:
        node = node.parent
        depth += 1
    return depth


class _Sizer:
    def __init__(self, limits: Bounds, column_size: int) -> None:
        self.cap = limits.max_value_size
        self.column_size = column_size

    # ------------------------------------------------------------------ sizes

    def size(self, node: exp.Expr | None) -> int:
        """An upper bound on the size (characters or list items) of ``node``'s value."""
        if node is None:
            return 0
        if isinstance(node, exp.Literal):
            return len(str(node.this))
        if isinstance(node, exp.Column | exp.Subquery | exp.AggFunc):
            return self.column_size if isinstance(node, exp.Column) else self.cap
        if isinstance(node, exp.DPipe | exp.Concat | exp.ConcatWs | exp.Array):
            return min(sum(self.size(c) for c in node.iter_expressions()), 1 << 62)
        built = self.built_size(node)
        if built is not None:
            return built
        parts = [self.size(c) for c in node.iter_expressions()]
        return max(parts, default=self.column_size)

    def built_size(self, node: exp.Expr) -> int | None:
        """What an amplifying call can build (None: not an amplifying call)."""
        name = _name(node)
        if isinstance(node, exp.Repeat):
            times = _number(node.args.get("times"))
            return self.size(node.this) * int(times) if times is not None else self.cap
        if isinstance(node, exp.Pad) or name in _LIST_RESIZE:
            length = _number(_count_arg(node))
            return int(length) if length is not None else self.cap
        if isinstance(node, exp.GenerateSeries) or name in _RANGE_NAMES:
            count = _series_count(node)
            return count if count is not None else self.cap
        if isinstance(node, exp.Replace | exp.RegexpReplace):
            text, replacement = self.size(node.this), self.size(node.args.get("replacement"))
            pattern = node.expression
            if isinstance(node, exp.Replace) and isinstance(pattern, exp.Literal) and str(pattern.this):
                # each match of the pattern becomes the replacement: growth by their ratio
                return text * max(1, -(-replacement // len(str(pattern.this))))
            grow = text * (1 + replacement)
            if isinstance(node, exp.RegexpReplace) and _may_backref(node.args.get("replacement")):
                grow *= 1 + text
            return grow
        return None

    # ------------------------------------------------------------------ checks

    def check(self, node: exp.Func) -> None:
        name = _name(node)
        if name in _PRINTF or isinstance(node, exp.Format):
            self._check_format(node, name)
            return
        if isinstance(node, exp.Repeat):
            self._check_count(node, node.args.get("times"), per_unit=max(self.size(node.this), 1))
        elif isinstance(node, exp.Pad) or name in _LIST_RESIZE:
            self._check_count(node, _count_arg(node), per_unit=1)
        elif isinstance(node, exp.GenerateSeries) or name in _RANGE_NAMES:
            self._check_series(node, name)
        elif isinstance(node, exp.Replace | exp.RegexpReplace):
            built = self.built_size(node)
            if built is not None and built > self.cap:
                raise _refuse(
                    f"refused: {name}() could build up to {built:,} characters here, over the "
                    f"limit of {self.cap:,} per value (TABLEPILOT_SQL_MAX_VALUE_SIZE)",
                    "replace within the table's own text; nesting replacements that grow the "
                    "text is not allowed")

    def _check_count(self, node: exp.Func, count: exp.Expr | None, *, per_unit: int) -> None:
        name = _name(node)
        allowed = max(self.cap // per_unit, 0)
        if count is None:
            return
        value = _number(count)
        if value is not None:
            if value > allowed:
                unit = "items" if name in _LIST_RESIZE or isinstance(node.this, exp.Array) else "characters"
                raise _refuse(
                    f"refused: {name}() would build {int(value) * per_unit:,} {unit}, over the limit of "
                    f"{self.cap:,} per value (TABLEPILOT_SQL_MAX_VALUE_SIZE)",
                    "build small values only; aggregate or filter instead of generating data")
            return
        if _foldable(count):
            raise _refuse(f"refused: the count in {name}() must be a number written in the query",
                          "write the count as a plain number, e.g. repeat('-', 20)")
        count.replace(_clamped(count.copy(), allowed, name, self.cap))

    def _check_series(self, node: exp.Func, name: str) -> None:
        args = _series_args(node)
        count = _series_count(node)
        if count is not None:
            if count > self.cap:
                raise _refuse(
                    f"refused: {name}() would build a list of {count:,} items, over the limit of "
                    f"{self.cap:,} per value (TABLEPILOT_SQL_MAX_VALUE_SIZE)",
                    "generate fewer values; aggregate over the table's rows instead")
            return
        if any(_foldable(a) for a in args if a is not None) and all(
                _foldable(a) for a in args if a is not None):
            raise _refuse(f"refused: the bounds of {name}() must be plain numbers",
                          "write range(start, stop[, step]) with numbers, e.g. range(0, 100)")
        start, end, step = args
        if step is not None and _number(step) is None:
            raise _refuse(f"refused: the step of {name}() must be a plain number",
                          "write the step as a number, e.g. range(0, n, 2)")
        if end is None:
            return
        step_value = _number(step) if step is not None else 1.0
        if not step_value:
            raise _refuse(f"refused: {name}() needs a step other than 0", "use a step of 1")
        # the list has (end - start) / step items: keep that under the limit at run time
        start_node = start.copy() if start is not None else exp.Literal.number(0)
        span = exp.Div(this=exp.Paren(this=exp.Sub(this=end.copy(), expression=start_node)),
                       expression=exp.Literal.number(abs(step_value)))
        guard = exp.If(this=exp.GT(this=exp.Abs(this=span), expression=exp.Literal.number(self.cap)),
                       true=_error(name, self.cap))
        end.replace(exp.Case(ifs=[guard], default=end.copy()))

    def _check_format(self, node: exp.Func, name: str) -> None:
        template = node.this if isinstance(node, exp.Format) else (node.expressions or [None])[0]
        if not isinstance(template, exp.Literal) or not template.is_string:
            raise _refuse(f"refused: the format of {name}() must be text written in the query",
                          "write the format as a string literal, e.g. printf('%.2f', x)")
        widths = _format_widths(str(template.this))
        if widths is None or any(w > self.cap for w in widths):
            raise _refuse(
                f"refused: a width in the format of {name}() is over the limit of {self.cap:,} "
                "characters per value (TABLEPILOT_SQL_MAX_VALUE_SIZE)",
                "use small widths, e.g. printf('%10s', x)")


def _name(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Pad):
        return "lpad" if node.args.get("is_left") else "rpad"
    if isinstance(node, exp.GenerateSeries):
        return "range" if node.args.get("is_end_exclusive") else "generate_series"
    return node.sql_name().lower() if isinstance(node, exp.Func) else type(node).__name__.lower()


def _count_arg(node: exp.Expr) -> exp.Expr | None:
    if isinstance(node, exp.Pad):
        return node.expression
    expressions = node.expressions if isinstance(node, exp.Anonymous) else []
    return expressions[1] if len(expressions) > 1 else None


def _series_args(node: exp.Expr) -> tuple[exp.Expr | None, ...]:
    if isinstance(node, exp.GenerateSeries):
        return node.args.get("start"), node.args.get("end"), node.args.get("step")
    args = list(node.expressions) if isinstance(node, exp.Anonymous) else []
    if len(args) == 1:
        return None, args[0], None
    return tuple(([*args, None, None, None])[:3])


def _series_count(node: exp.Expr) -> int | None:
    start, end, step = _series_args(node)
    values = [_number(a) if a is not None else d for a, d in ((start, 0.0), (end, None), (step, 1.0))]
    if any(v is None for v in values):
        return None
    lo, hi, by = (float(v) for v in values if v is not None)
    if by == 0:
        return None
    return max(int(abs((hi - lo) / by)) + 1, 0)


_NUMBER_OPS: dict[type, Callable[[float, float], float]] = {
    exp.Add: lambda a, b: a + b, exp.Sub: lambda a, b: a - b, exp.Mul: lambda a, b: a * b,
    exp.Div: lambda a, b: a / b if b else float("inf"),
    exp.IntDiv: lambda a, b: a // b if b else float("inf"),
    exp.Mod: lambda a, b: a % b if b else 0.0,
    exp.Pow: lambda a, b: float("inf") if abs(b) > 64 else float(a) ** float(b),
}


def _number(node: exp.Expr | None) -> float | None:
    """The value of a constant numeric expression (literals, + - * / // % ^, casts), or None."""
    if node is None:
        return None
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(str(node.this))
        except ValueError:
            return None
    if isinstance(node, exp.Paren | exp.Cast | exp.TryCast):
        return _number(node.this)
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return -inner if inner is not None else None
    op = _NUMBER_OPS.get(type(node))
    if op is not None:
        a, b = _number(node.this), _number(node.expression)
        if a is None or b is None:
            return None
        try:
            value = op(a, b)
        except (OverflowError, ZeroDivisionError):
            return float("inf")
        return value if isinstance(value, float) and value == value else float(value)
    return None


def _foldable(node: exp.Expr) -> bool:
    """No column, subquery or aggregate inside: DuckDB may compute it while planning."""
    return not any(isinstance(n, exp.Column | exp.Subquery | exp.AggFunc | exp.Window | exp.Select)
                   for n in node.walk())


def _may_backref(node: exp.Expr | None) -> bool:
    return not (isinstance(node, exp.Literal) and node.is_string and "\\" not in str(node.this))


def _format_widths(template: str) -> list[int] | None:
    """Every width and precision in a printf/fmt template; None if one is given by '*'."""
    widths: list[int] = []
    for spec in re.findall(r"%[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[a-zA-Z%]", template) + \
            re.findall(r"\{[^{}]*\}", template):
        if "*" in spec and spec.startswith("%"):
            return None
        widths.extend(int(d) for d in re.findall(r"\d+", spec))
    return widths


def _error(name: str, cap: int) -> exp.Expr:
    message = (f"{name}() would build a value over the limit of {cap:,} "
               "(TABLEPILOT_SQL_MAX_VALUE_SIZE)")
    return exp.Anonymous(this="error", expressions=[exp.Literal.string(message)])


def _clamped(count: exp.Expr, allowed: int, name: str, cap: int) -> exp.Expr:
    guard = exp.If(this=exp.GT(this=count.copy(), expression=exp.Literal.number(allowed)),
                   true=_error(name, cap))
    return exp.Case(ifs=[guard], default=count)

"""A bare answer in a sentence: the query whose result is the answer, said in plain words.

When the model answers with a value alone (``final_answer("42")``), a person cannot tell what
was counted. The SELECT that gave the value says it: ``SELECT COUNT(*) FROM orders WHERE
country = 'Spain'`` becomes "Counted 42 rows of orders where country is Spain." No model call:
the sentence is read off the query's sqlglot tree (DuckDB dialect, as the sql tool ran it).

Faithfulness over coverage: any part of a query this module does not know how to say (joins,
subqueries, windows, CTEs, HAVING, OFFSET, functions other than a few) gives no sentence,
never a loose one. Every part that is not understood raises ``Unsaid``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlglot
import sqlglot.errors
from sqlglot import exp

from agent.rules.base import Seen
from agent.values import format_value, parse_text_value, to_value

__all__ = ["answer_sentence", "describe_query", "restates"]

_KNOWN_ARGS = {"expressions", "from_", "where", "group", "order", "limit"}
_AGGREGATES = (exp.Count, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Median)
_NOUNS: dict[type, str] = {exp.Sum: "total", exp.Avg: "average", exp.Median: "median",
                           exp.Min: "minimum", exp.Max: "maximum"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_DATE_TYPES = {exp.DataType.Type.DATE, exp.DataType.Type.TIMESTAMP,
               exp.DataType.Type.DATETIME}
_PARTS: dict[type, str] = {exp.Year: "year", exp.Month: "month", exp.Day: "day"}
_ANSWER_PREFIX = re.compile(r"^\s*(final answer|answer)\s*[:=-]\s*", re.I)
_MAX_TEXT = 80  # longer text answers are not "a value" worth a sentence


class Unsaid(Exception):
    """A part of the query that cannot be put in words faithfully."""


# ---------------------------------------------------------------- when to say it


def restates(explanation: str, value: Any) -> bool:
    """True when the model's explanation says nothing beyond the value: empty, the value again,
    or "Final answer: <value>"."""
    said = _ANSWER_PREFIX.sub("", explanation.strip()).strip().rstrip(".").strip()
    if not said or said == format_value(value):
        return True
    return _same(parse_text_value(said), value)


def answer_sentence(value: Any, seen: Sequence[Seen]) -> str | None:
    """The sentence for a one-value answer that the last successful query gave (its single
    cell, or a cell of its first row); None when the value is a list, came from python or no
    step, matches more than one column, or the query cannot be worded faithfully."""
    if not _scalar(value):
        return None
    step = next((s for s in reversed(seen) if s.ok and s.tool in ("sql", "python")), None)
    if step is None or step.tool != "sql" or step.frame is None or not step.sql:
        return None
    frame = step.frame
    if not hasattr(frame, "iloc") or len(frame) == 0:
        return None
    first = frame.iloc[0]
    columns = [k for k in range(frame.shape[1]) if _same(value, first.iloc[k])]
    if len(columns) != 1:
        return None
    return describe_query(step.sql, first.iloc[columns[0]], column=columns[0], rows=len(frame))


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    return isinstance(value, str) and 0 < len(value) <= _MAX_TEXT and "\n" not in value


def _same(answer: Any, cell: Any) -> bool:
    """The answer is this cell: equal text (ignoring case), the same date, or the same number
    (a number the model rounded counts as the same)."""
    cell = _plain(cell)
    if isinstance(answer, bool) or isinstance(cell, bool) or cell is None:
        return False
    if isinstance(answer, int | float) and isinstance(cell, int | float):
        if math.isclose(answer, cell, rel_tol=1e-9, abs_tol=1e-12):
            return True
        return any(round(cell, digits) == answer for digits in range(7))
    if isinstance(answer, str) and isinstance(cell, str):
        return answer.strip().casefold() == cell.strip().casefold()
    return False


def _plain(cell: Any) -> Any:
    """A frame cell as a plain Python value (DuckDB's DECIMAL sums come back as Decimal)."""
    value = to_value(cell)
    return to_value(float(value)) if isinstance(value, Decimal) else value


# ---------------------------------------------------------------- the query in words


def describe_query(sql: str, value: Any, *, column: int = 0, rows: int = 1) -> str | None:
    """``value`` (the cell of select column ``column`` in the first of ``rows`` result rows)
    and the DuckDB ``sql`` that gave it, as one sentence; None when it cannot be said
    faithfully."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except (sqlglot.errors.SqlglotError, ValueError):
        return None
    try:
        return _Query(tree, rows).sentence(_plain(value), column)
    except Unsaid:
        return None


class _Query:
    """One plain SELECT over one table, with the parts a sentence needs."""

    def __init__(self, tree: Any, rows: int) -> None:
        if not isinstance(tree, exp.Select):
            raise Unsaid("not a plain SELECT")
        extra = {k for k, v in tree.args.items() if v not in (None, [], False)} - _KNOWN_ARGS
        if extra:
            raise Unsaid(f"{', '.join(sorted(extra))} cannot be worded")
        source = tree.args["from_"].this if tree.args.get("from_") else None
        if not isinstance(source, exp.Table) or not isinstance(source.this, exp.Identifier):
            raise Unsaid("not one table")
        self.rows = rows
        self.projections = list(tree.expressions)
        if any(isinstance(p, exp.Star) or (isinstance(p, exp.Column)
               and isinstance(p.this, exp.Star)) for p in self.projections):
            raise Unsaid("SELECT *")
        self.aliases = {p.alias: p.this for p in self.projections if isinstance(p, exp.Alias)}
        where = tree.args.get("where")
        self.scope = source.name + (f" where {condition(where.this)}" if where else "")
        group = tree.args.get("group")
        self.group = list(group.expressions) if group is not None else []
        if group is not None and (len(self.group) != 1 or any(
                v for k, v in group.args.items() if k != "expressions")):
            raise Unsaid("GROUP BY other than one column (ROLLUP, CUBE, ALL, several)")
        order = tree.args.get("order")
        self.order: exp.Ordered | None = order.expressions[0] if order is not None else None
        self.limited = tree.args.get("limit") is not None
        if self.limited:
            _limit(tree.args["limit"])

    def sentence(self, value: Any, column: int) -> str:
        if not 0 <= column < len(self.projections):
            raise Unsaid("no such column")
        target = _unalias(self.projections[column])
        if self.group:
            return self._grouped(value, target)
        if _aggregate(target) is not None:
            if self.rows != 1:
                raise Unsaid("an aggregate with several rows")
            return self._aggregate(value, target)
        if any(_aggregate(_unalias(p)) is not None for p in self.projections):
            raise Unsaid("a column beside an aggregate")
        name = _column(target)
        if self.order is None:
            if self.limited or self.rows != 1:
                raise Unsaid("one row out of several, with no order")
            return f"The only row of {self.scope} has {name} {format_value(value)}."
        key = _column(self._resolve(self.order.this))
        most = _extreme(self.order, value if key == name else None)
        if key == name:
            return f"The {most} {name} in {self.scope} is {format_value(value)}."
        return f"{format_value(value)} has the {most} {key} in {self.scope}."

    def _aggregate(self, value: Any, target: exp.Expression) -> str:
        agg, rounding = _aggregate(target) or (target, "")
        if isinstance(agg, exp.Count):
            counted = _count_noun(agg, plural=value != 1)
            return f"Counted {_number(value)} {counted} {self.scope}{rounding}."
        if isinstance(agg, exp.Min | exp.Max):
            word = _extreme_word(isinstance(agg, exp.Max), value)
            return f"The {word} {_column(agg.this)} in {self.scope} is " \
                   f"{format_value(value)}{rounding}."
        noun = _NOUNS[type(agg)]
        return f"The {noun} of {_column(agg.this)} in {self.scope} is {_number(value)}{rounding}."

    def _grouped(self, value: Any, target: exp.Expression) -> str:
        """GROUP BY g ORDER BY <aggregate> LIMIT: the group that has the most, or that most."""
        group = _column(self.group[0])
        if self.order is None:
            raise Unsaid("a grouped query with no order")
        key = self._resolve(self.order.this)
        found = _aggregate(key)
        if found is None or found[1]:
            raise Unsaid("the order is not an aggregate")
        agg = found[0]
        desc = bool(self.order.args.get("desc"))
        _nulls_last(self.order)
        noun = _aggregate_noun(agg)
        if isinstance(target, exp.Column) and _column(target) == group:
            if noun == "number of rows":
                most = "most rows" if desc else "fewest rows"
            else:
                most = f"{'highest' if desc else 'lowest'} {noun}"
            return f"{format_value(value)} is the {group} with the {most} in {self.scope}."
        if target == key:
            most = "highest" if desc else "lowest"
            return f"The {most} {noun} for one {group} in {self.scope} is {_number(value)}."
        raise Unsaid("the value is neither the group nor its order")

    def _resolve(self, node: exp.Expression) -> exp.Expression:
        """An ORDER BY key: a select alias or a position (ORDER BY 2) read as what it names."""
        if isinstance(node, exp.Column) and not node.table and node.name in self.aliases:
            return _unalias(self.aliases[node.name])
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(str(node.this)) - 1
            if 0 <= position < len(self.projections):
                return _unalias(self.projections[position])
            raise Unsaid("ORDER BY a position out of range")
        return node


def _limit(node: exp.Expression) -> int:
    amount = node.args.get("expression")
    if not isinstance(amount, exp.Literal) or amount.is_string:
        raise Unsaid("LIMIT other than a number")
    return int(str(amount.this))


def _unalias(node: exp.Expression) -> exp.Expression:
    return node.this if isinstance(node, exp.Alias) else node


def _aggregate(node: exp.Expression) -> tuple[exp.Expression, str] | None:
    """(the aggregate, a note on rounding) when ``node`` is one of the aggregates worded here
    (ROUND around it allowed), else None; an aggregate of something but a column is Unsaid."""
    rounding = ""
    if isinstance(node, exp.Round):
        digits = node.args.get("decimals")
        if digits is not None and (not isinstance(digits, exp.Literal) or digits.is_string
                                   or not str(digits.this).isdigit()):
            raise Unsaid("ROUND to an unknown precision")
        places = int(str(digits.this)) if digits is not None else 0
        rounding = " (rounded to a whole number)" if places == 0 else \
            f" (rounded to {places} decimal place{'s' if places != 1 else ''})"
        node = node.this
    if not isinstance(node, _AGGREGATES):
        if rounding:
            raise Unsaid("ROUND of something other than an aggregate")
        return None
    inner = node.this
    if isinstance(node, exp.Count):
        if isinstance(inner, exp.Distinct):
            if len(inner.expressions) != 1:
                raise Unsaid("COUNT(DISTINCT a, b)")
            _column(inner.expressions[0])
        elif not isinstance(inner, exp.Star):
            _column(inner)
    else:
        _column(inner)
    if any(v not in (None, [], False) for k, v in node.args.items()
           if k not in ("this", "big_int")):
        raise Unsaid(f"{node.sql_name()} with extra arguments")
    return node, rounding


def _count_noun(agg: exp.Count, *, plural: bool) -> str:
    """What a COUNT counts, up to the table: 'rows of', 'distinct values of x in'."""
    inner = agg.this
    s = "s" if plural else ""
    if isinstance(inner, exp.Star):
        return f"row{s} of"
    if isinstance(inner, exp.Distinct):
        return f"distinct value{s} of {_column(inner.expressions[0])} in"
    return f"non-empty value{s} of {_column(inner)} in"


def _aggregate_noun(agg: exp.Expression) -> str:
    """An aggregate as a noun: 'total of amount', 'number of rows'."""
    if isinstance(agg, exp.Count):
        return "number of " + _count_noun(agg, plural=True).removesuffix(" in").removesuffix(
            " of")
    noun = _NOUNS[type(agg)]
    return f"{noun} of {_column(agg.this)}"


def _extreme(order: exp.Ordered, value: Any) -> str:
    """'highest' or 'lowest' for an ORDER BY key that puts NULLs last (else Unsaid); with the
    value of the key itself, 'latest'/'earliest' for a date and alphabetical for text."""
    _nulls_last(order)
    return _extreme_word(bool(order.args.get("desc")), value)


def _nulls_last(order: exp.Ordered) -> None:
    if order.args.get("nulls_first"):
        raise Unsaid("NULLs sort first: the first row may be empty")


def _extreme_word(top: bool, value: Any) -> str:
    if isinstance(value, str) and _ISO_DATE.match(value):
        return "latest" if top else "earliest"
    if isinstance(value, str):
        return "alphabetically last" if top else "alphabetically first"
    return "highest" if top else "lowest"


def _number(value: Any) -> str:
    """A count, total or average with thousands separators (1,234.5)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,}"
    return format_value(value)


# ---------------------------------------------------------------- WHERE in words


def condition(node: exp.Expression) -> str:
    """A WHERE condition in words: simple tests joined by 'and', or by 'or'; an OR inside an
    AND in brackets (unless it is one column's 'a or b'). An AND inside an OR is Unsaid."""
    node = _unparen(node)
    if isinstance(node, exp.And):
        parts = []
        for part in node.flatten():
            part = _unparen(part)
            if isinstance(part, exp.Or):
                folded = _one_of(part)
                parts.append(folded or f"({_any_of(part)})")
            else:
                parts.append(predicate(part))
        return _join(parts, "and")
    if isinstance(node, exp.Or):
        return _one_of(node) or _any_of(node)
    return predicate(node)


def _any_of(node: exp.Or) -> str:
    parts = [_unparen(p) for p in node.flatten()]
    if any(isinstance(p, exp.And | exp.Or) for p in parts):
        raise Unsaid("AND inside OR")
    return _join([predicate(p) for p in parts], "or")


def _one_of(node: exp.Or) -> str | None:
    """``x = 'a' OR x = 'b'`` as 'x is a or b'; None for any other OR."""
    parts = [_unparen(p) for p in node.flatten()]
    if not all(isinstance(p, exp.EQ) and not _case_note(p) for p in parts):
        return None
    sides = [_sides(p) for p in parts]
    if len({about for about, _, _ in sides}) != 1:
        return None
    return f"{sides[0][0]} is {_join([value for _, value, _ in sides], 'or')}"


def predicate(node: exp.Expression, negated: bool = False) -> str:
    """One test in words: comparisons, LIKE/ILIKE, IN, BETWEEN, IS NULL, NOT, a true column;
    a test on LOWER/UPPER of a column, or an ILIKE, ends with '(ignoring case)'."""
    node = _unparen(node)
    if isinstance(node, exp.Not):
        return predicate(node.this, not negated)
    return _test(node, negated) + _case_note(node)


def _case_note(node: exp.Expression) -> str:
    sides = [_unparen(node.args.get(k)) for k in ("this", "expression")]
    if isinstance(node, exp.ILike) or any(isinstance(s, exp.Lower | exp.Upper)
                                          and not _is_text(s.this) for s in sides):
        return " (ignoring case)"
    return ""


def _test(node: exp.Expression, negated: bool) -> str:
    if isinstance(node, exp.EQ | exp.NEQ):
        about, value, _ = _sides(node)
        return f"{about} is {'not ' if negated != isinstance(node, exp.NEQ) else ''}{value}"
    if isinstance(node, exp.GT | exp.GTE | exp.LT | exp.LTE):
        if negated:
            raise Unsaid("NOT around a comparison")
        return _comparison(node)
    if isinstance(node, exp.Like | exp.ILike):
        return _like(node, negated != bool(node.args.get("negate")))
    if isinstance(node, exp.In):
        return _in(node, negated)
    if isinstance(node, exp.Between):
        if set(k for k, v in node.args.items() if v is not None) - {"this", "low", "high"}:
            raise Unsaid("BETWEEN SYMMETRIC")
        low, high = literal(node.args["low"]), literal(node.args["high"])
        return f"{subject(node.this)} is {'not ' if negated else ''}between {low} and {high}"
    if isinstance(node, exp.Is):
        what = node.expression
        if isinstance(what, exp.Null):
            return f"{subject(node.this)} is {'not ' if negated else ''}empty"
        if isinstance(what, exp.Boolean):
            return f"{subject(node.this)} is {'not ' if negated else ''}{literal(what)}"
        raise Unsaid("IS other than NULL, TRUE or FALSE")
    if isinstance(node, exp.Column):
        return f"{subject(node)} is {'false' if negated else 'true'}"
    raise Unsaid(f"a {type(node).__name__} test")


# each comparison in words: (for a number, for a date)
_COMPARE: dict[type, tuple[str, str]] = {
    exp.GT: ("greater than", "after"), exp.GTE: ("at least", "on or after"),
    exp.LT: ("less than", "before"), exp.LTE: ("at most", "on or before")}
_MIRROR: dict[type, type] = {exp.GT: exp.LT, exp.LT: exp.GT, exp.GTE: exp.LTE, exp.LTE: exp.GTE}


def _comparison(node: exp.Expression) -> str:
    name, value, flipped = _sides(node)
    kind = _MIRROR[type(node)] if flipped else type(node)
    number_words, date_words = _COMPARE[kind]
    other = node.this if flipped else node.expression
    if _is_date(other):
        return f"{name} is {date_words} {value}"
    if _is_number(other):
        return f"{name} is {number_words} {value}"
    raise Unsaid("a comparison with text")


def _like(node: exp.Expression, negated: bool) -> str:
    pattern = node.expression
    if not isinstance(pattern, exp.Literal) or not pattern.is_string:
        raise Unsaid("LIKE with no text pattern")
    text = str(pattern.this)
    inner = text.strip("%")
    name = subject(node.this)
    if "_" in text or "%" in inner or "\\" in text or not inner:
        verb = "does not match" if negated else "matches"
        return f"{name} {verb} the pattern {text}"
    starts, ends = text.startswith("%"), text.endswith("%")
    if starts and ends:
        verb = "does not contain" if negated else "contains"
    elif ends:
        verb = "does not start with" if negated else "starts with"
    elif starts:
        verb = "does not end with" if negated else "ends with"
    else:
        verb = "is not" if negated else "is"
    return f"{name} {verb} {_spaced(inner)}"


def _in(node: exp.In, negated: bool) -> str:
    if any(v for k, v in node.args.items() if k not in ("this", "expressions")):
        raise Unsaid("IN over a query or a list value")
    values = [literal(v) for v in node.expressions]
    if not values:
        raise Unsaid("IN ()")
    name = subject(node.this)
    if len(values) == 1:
        return f"{name} is {'not ' if negated else ''}{values[0]}"
    return f"{name} is {'not ' if negated else ''}one of {_join(values, 'or')}"


def _sides(node: exp.Expression) -> tuple[str, str, bool]:
    """(the column side in words, the value side in words, whether the value came first)."""
    left, right = node.this, node.expression
    if _is_value(left) and not _is_value(right):
        return subject(right), literal(left), True
    return subject(left), literal(right), False


def subject(node: exp.Expression) -> str:
    """What a test is about: a column, LOWER/UPPER of one, or the year/month/day of one."""
    node = _unparen(node)
    if isinstance(node, exp.Column | exp.Cast | exp.TryCast):
        return _column(node)
    if isinstance(node, exp.Lower | exp.Upper):  # predicate() adds "(ignoring case)"
        return _column(node.this)
    if type(node) in _PARTS and not any(v for k, v in node.args.items() if k != "this"):
        return f"the {_PARTS[type(node)]} of {_column(node.this)}"
    if isinstance(node, exp.Extract) and isinstance(node.this, exp.Var):
        part = str(node.this.this).lower()
        if part in ("year", "month", "day"):
            return f"the {part} of {_column(node.expression)}"
    raise Unsaid(f"a {type(node).__name__} in a test")


def literal(node: exp.Expression) -> str:
    """A value in a test as written: text without its quotes, a number, a date, true/false."""
    node = _unparen(node)
    if isinstance(node, exp.Literal):
        return _spaced(str(node.this))
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) \
            and not node.this.is_string:
        return f"-{node.this.this}"
    if isinstance(node, exp.Boolean):
        return "true" if node.this else "false"
    if isinstance(node, exp.Lower | exp.Upper) and _is_text(node.this):
        text = str(_unparen(node.this).this)
        return _spaced(text.lower() if isinstance(node, exp.Lower) else text.upper())
    if _is_date(node):
        return str(node.this.this)
    raise Unsaid(f"a {type(node).__name__} value")


def _spaced(text: str) -> str:
    """Text as written, in quotes only where its edges would be lost: '' or 'The '."""
    return text if text and text == text.strip() else f"'{text}'"


def _column(node: exp.Expression) -> str:
    """A column's name as written (no quotes, no table); a CAST of a column names the column
    (its values read as numbers or text: what the repairs and small models write)."""
    node = _unparen(node)
    if isinstance(node, exp.Cast | exp.TryCast):
        node = _unparen(node.this)
    if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
        raise Unsaid(f"a {type(node).__name__} where a column was expected")
    return str(node.name)


def _is_value(node: exp.Expression) -> bool:
    node = _unparen(node)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Neg) or _is_date(node) or (
        isinstance(node, exp.Lower | exp.Upper) and _is_text(node.this))


def _is_text(node: exp.Expression) -> bool:
    node = _unparen(node)
    return isinstance(node, exp.Literal) and node.is_string


def _is_number(node: exp.Expression) -> bool:
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string


def _is_date(node: exp.Expression) -> bool:
    """DATE '2024-01-01' (a cast of a text literal to a date or timestamp), or ISO text."""
    node = _unparen(node)
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) \
            and node.this.is_string and isinstance(node.to, exp.DataType):
        return node.to.this in _DATE_TYPES
    return isinstance(node, exp.Literal) and node.is_string and bool(
        _ISO_DATE.match(str(node.this))) and _parses_as_date(str(node.this))


def _parses_as_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _unparen(node: Any) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _join(parts: Sequence[str], word: str) -> str:
    return parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} {word} {parts[-1]}"

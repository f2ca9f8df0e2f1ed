"""Type one column of raw cell values into a pandas Series.

Raw values come from calamine (float, int, bool, str, date, datetime, time) or from a CSV (str).
Each column gets one type, decided from all its values:

- numbers, including text like ``12,345``, ``8%`` (0.08), ``$1.2k`` (1200), ``(1,234)`` (-1234),
  and European ``1.234,56`` where the column uses the comma as its decimal mark; whole numbers
  become ``Int64``;
- dates: date cells, Excel serials in a column named like a date, and text dates in one format
  per column (day-first only when the column's values say so, e.g. ``31/01/2024``);
- booleans (TRUE/FALSE);
- text otherwise (pandas ``str`` dtype), with the values as written.

Empty markers (``N/A``, ``-``, ``—``, blank) are missing in typed columns; a text column keeps
them as written except blanks.

A person may say how a column is to be read (``type_column(values, name, kind=...)``, one of
:data:`COLUMN_KINDS`): ``text`` keeps the cells as written (a zip code or an ID), the number
kinds read text as numbers with a decimal point or a decimal comma, the date kinds read
``03/04/2024`` day first or month first. Dates that fit both orders are recorded
(``series.attrs['ambiguous_dates']``) so the reading notes can say which order was chosen.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

EMPTY_MARKERS = frozenset(
    {"", "n/a", "na", "#n/a", "n.a.", "-", "--", "---", "—", "–", "null", "none", "nan", "?",
     "tbd", "tba", "tbc"}
)
# a column of ranks or numbers: "(2)" there is a second term or a tie, not minus two
_ORDINAL_NAME = re.compile(r"^\s*(#|no\.?|nr\.?|num(ber)?|rank(ing)?|pos\.?|position|place|seed)\s*$", re.IGNORECASE)
_CURRENCY = "$€£¥₹"
_NUMBER_RE = re.compile(
    r"""^(?P<neg1>[-−+])?\s*(?P<open>\()?\s*(?P<neg2>[-−])?\s*
        (?P<cur>[$€£¥₹])?\s*(?P<neg3>[-−])?
        (?P<num>\d[\d,.\s\u00a0\u202f']*|[.,]\d+)
        (?:[eE](?P<exp>[-+]?\d+))?
        \s*(?P<mult>k|K|M|mn|bn|B)?\s*(?P<cur2>[$€£¥₹])?\s*(?P<pct>%)?\s*(?P<close>\))?$""",
    re.VERBOSE,
)
_US_NUM = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$|^\d+(\.\d+)?$|^\.\d+$")
_EU_NUM = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$|^\d+(,\d+)?$|^,\d+$")
_SPACE_NUM = re.compile(r"^\d{1,3}([\s\u00a0\u202f']\d{3})+([.,]\d+)?$")
_EU_ONLY = re.compile(r"^\d+,\d{1,2}$|^\d*,\d{4,}$|\.\d{3},|^\d{1,3}(\.\d{3}){2,}$")
_US_ONLY = re.compile(r"^\d+\.\d{1,2}$|^\d*\.\d{4,}$|,\d{3}\.|^\d{1,3}(,\d{3}){2,}$")
_COMMA_THOUSANDS = re.compile(r"^\d{1,3},\d{3}$")
_MULTIPLIERS = {"k": 1e3, "K": 1e3, "M": 1e6, "mn": 1e6, "B": 1e9, "bn": 1e9}
_BOOL_TEXT = {"true": True, "false": False}
_DATE_HINT = re.compile(r"date|day|time|when|period|month", re.IGNORECASE)
_MONTH_NAME = re.compile(r"[A-Za-z]{3}")
_DATE_FORMATS = [
    "%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d",
    "%m/%d/%Y", "%d/%m/%Y", "%m/%d/%y", "%d/%m/%y", "%d.%m.%Y", "%m-%d-%Y",
    "%d-%m-%Y", "%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%b %d, %Y", "%B %d, %Y", "%d %b %Y",
    "%d %B %Y", "%d-%b-%Y", "%d-%b-%y", "%b %d %Y", "%B %d %Y",
]  # no month-year ("May 2004"): a day would be invented
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# the orders a person can pick for a column (table_io.overrides' ``types`` setting)
COLUMN_KINDS = ("text", "number", "number (decimal comma)", "date (day first)", "date (month first)")


def is_blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return value != value  # NaN
    return False


def is_empty_marker(value: Any) -> bool:
    return is_blank(value) or (isinstance(value, str) and value.strip().lower() in EMPTY_MARKERS)


def kind_of(series: pd.Series) -> str:
    """A short type name for people and prompts: integer, number, date, boolean, text."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(dtype):
        return "integer"
    if pd.api.types.is_float_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "text"


def type_column(values: Sequence[Any], name: str = "", kind: str | None = None) -> pd.Series:
    """One typed Series for a column's raw values (see the module docstring); ``kind``, one of
    :data:`COLUMN_KINDS`, reads it as a person said instead of as detected."""
    if kind is not None:
        return read_as(values, kind)
    kinds = set(map(type, values))
    if kinds and kinds <= {float, int}:
        return _numeric_from_numbers(values, name)
    if kinds == {str}:
        strings: list[str] = list(values)  # type: ignore[arg-type]
        if not any(s == "" or s != s.strip() for s in set(strings)):
            return _from_text(strings, name)
    if kinds == {bool}:
        return pd.Series(np.asarray(values, dtype=bool))
    if kinds and kinds <= {dt.date, dt.datetime}:
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)))
    cleaned = [None if is_blank(v) else v for v in values]
    present = [v for v in cleaned if v is not None]
    if not present:
        return pd.Series([pd.NA] * len(values), dtype="str")
    present_kinds = set(map(type, present))
    if present_kinds <= {bool}:
        return pd.Series(cleaned, dtype="boolean")
    if present_kinds <= {dt.date, dt.datetime, pd.Timestamp}:
        return pd.Series(pd.to_datetime(pd.Series(cleaned, dtype=object)))
    if str not in present_kinds:
        if present_kinds <= {float, int}:
            return _numeric_from_numbers([np.nan if v is None else v for v in cleaned], name)
        return _as_text(cleaned)
    return _mixed(cleaned, present, present_kinds, name)


def _numeric_from_numbers(values: Sequence[Any], name: str) -> pd.Series:
    arr = np.asarray(values, dtype=float)
    finite = arr[~np.isnan(arr)]
    if _DATE_HINT.search(name) and finite.size and _looks_like_serials(finite):
        return pd.Series(_EXCEL_EPOCH + pd.to_timedelta(arr, unit="D"))
    return _best_numeric(arr)


def _best_numeric(arr: np.ndarray) -> pd.Series:
    finite = arr[~np.isnan(arr)]
    if finite.size and np.all(finite == np.round(finite)) and np.all(np.abs(finite) < 2**53):
        missing = np.isnan(arr)
        if not missing.any():
            return pd.Series(arr.astype(np.int64))
        ints = np.where(missing, 0, arr).astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(ints, missing))
    return pd.Series(arr)


def _looks_like_serials(finite: np.ndarray) -> bool:
    return bool(np.all(finite == np.round(finite)) and finite.min() >= 20000 and finite.max() <= 80000)


def _from_text(strings: list[str], name: str) -> pd.Series:
    """A column of non-blank strings (the CSV fast path)."""
    uniques = list(dict.fromkeys(strings))
    parsed = _parse_uniques(uniques, name)
    if parsed is None:
        return pd.Series(np.array(strings, dtype=object), dtype="str")
    kind, mapping, note = parsed
    return _noted(_materialise(kind, [mapping[s] for s in strings]), note, uniques)


def _mixed(cleaned: list[Any], present: list[Any], kinds: set[type], name: str) -> pd.Series:
    strings = [v.strip() for v in present if isinstance(v, str)]
    uniques = list(dict.fromkeys(strings))
    others = kinds - {str}
    if all(s.lower() in EMPTY_MARKERS for s in uniques):  # numbers (or dates) and "n/a"
        return type_column([None if isinstance(v, str) else v for v in cleaned], name)
    numeric_ok = others <= {float, int}
    date_ok = others <= {dt.date, dt.datetime}
    bool_ok = others <= {bool}
    parsed = _parse_uniques(uniques, name, allow={
        "number": numeric_ok, "date": date_ok, "boolean": bool_ok})
    if parsed is None:
        return _as_text(cleaned)
    kind, mapping, note = parsed
    out = []
    for v in cleaned:
        if isinstance(v, str):
            out.append(mapping[v.strip()])
        else:
            out.append(v)
    return _noted(_materialise(kind, out), note, uniques)


def _noted(series: pd.Series, note: str, texts: Sequence[str] = ()) -> pd.Series:
    """Remember how the text was written (``series.attrs['parsed_from_text']``), and whether
    text dates fit both day-first and month-first (``series.attrs['ambiguous_dates']``)."""
    if note:
        series.attrs["parsed_from_text"] = note
    if note.startswith("date text ") and texts:
        ambiguous = ambiguous_order(texts, note.removeprefix("date text "))
        if ambiguous:
            series.attrs["ambiguous_dates"] = ambiguous
    return series


def _materialise(kind: str, values: list[Any]) -> pd.Series:
    if kind == "number":
        return _best_numeric(np.asarray([np.nan if v is None else v for v in values], dtype=float))
    if kind == "date":
        return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)))
    return pd.Series(values, dtype="boolean")


def _parse_uniques(
    uniques: list[str], name: str, allow: dict[str, bool] | None = None
) -> tuple[str, dict[str, Any], str] | None:
    """(kind, {text: value}, how it was written) when every non-marker string parses, else None.

    kind is 'number', 'date' or 'boolean'."""
    allow = allow or {"number": True, "date": True, "boolean": True}
    real = [s for s in uniques if s.strip().lower() not in EMPTY_MARKERS]
    markers = {s: None for s in uniques if s.strip().lower() in EMPTY_MARKERS}
    if not real:
        return None
    if allow["boolean"] and all(s.strip().lower() in _BOOL_TEXT for s in real):
        return "boolean", {**markers, **{s: _BOOL_TEXT[s.strip().lower()] for s in real}}, "TRUE/FALSE text"
    if allow["number"]:
        numbers = parse_numbers(real)
        if numbers is not None and _number_meaning_is_clear(real, numbers, name):
            return "number", {**markers, **dict(zip(real, numbers, strict=True))}, _number_style(real)
    if allow["date"]:
        parsed = parse_dates(real, with_format=True)
        if parsed is not None:
            dates, fmt = parsed
            return "date", {**markers, **dict(zip(real, dates, strict=True))}, f"date text {fmt}"
    return None


def _swapped(fmt: str) -> str:
    """The same date format with day and month exchanged ('%m/%d/%Y' -> '%d/%m/%Y')."""
    return fmt.replace("%d", "%@").replace("%m", "%d").replace("%@", "%m")


def ambiguous_order(texts: Sequence[str], fmt: str) -> dict[str, str] | None:
    """When text dates read with ``fmt`` would also all read with day and month exchanged (and
    give other dates: every day is 12 or less), which order was chosen and an example, e.g.
    ``{"chosen": "month first", "example": "03/04/2024"}``; else None."""
    if "%d" not in fmt or "%m" not in fmt or fmt.startswith("%Y"):
        return None
    other = _swapped(fmt)
    example = None
    for text in dict.fromkeys(t.strip() for t in texts if t.strip().lower() not in EMPTY_MARKERS):
        try:
            one, two = dt.datetime.strptime(text, fmt), dt.datetime.strptime(text, other)
        except ValueError:
            return None
        if example is None and one != two:
            example = text
    if example is None:
        return None  # every day equals its month: both readings give the same dates
    chosen = "day first" if fmt.index("%d") < fmt.index("%m") else "month first"
    return {"chosen": chosen, "example": example}


def _number_meaning_is_clear(texts: list[str], numbers: list[float], name: str) -> bool:
    """False when reading the column as numbers would change what it says: percentages mixed with
    plain amounts (``837.27`` and ``22.7%``), or ``(2)`` in a column of ranks."""
    percent = ["%" in t for t in texts]
    plain_amounts = any(v != 0 for v, p in zip(numbers, percent, strict=True) if not p)
    if any(percent) and plain_amounts:
        return False
    return not (_ORDINAL_NAME.match(name) and any("(" in t for t in texts))


def _number_style(texts: list[str]) -> str:
    sample = texts[:200]
    styles = []
    if any("%" in t for t in sample):
        styles.append("percent (8% -> 0.08)")
    if any(ch in t for t in sample for ch in _CURRENCY):
        styles.append("currency")
    if any(re.search(r"[kKMB]|bn|mn", t) for t in sample):
        styles.append("k/M/B multipliers")
    if any("(" in t for t in sample):
        styles.append("(negatives)")
    if decimal_comma(sample):
        styles.append("decimal comma")
    elif any("," in t for t in sample):
        styles.append("thousands separators")
    return "number text: " + ", ".join(styles) if styles else ""


def decimal_comma(texts: Iterable[str]) -> bool:
    """True when the column writes numbers the European way (``1.234,56``)."""
    eu = us = thousands = 0
    for text in texts:
        core = text.strip().lstrip("-−+($€£¥₹ ").rstrip("%)$€£¥₹ kKMBbn")
        if _EU_ONLY.search(core):
            eu += 1
        elif _US_ONLY.search(core):
            us += 1
        elif _COMMA_THOUSANDS.match(core):
            thousands += 1
    # "17,189" reads as thousands unless the column's own decimal commas outnumber such values
    # (one typo like "13,5000" must not turn 17,189 into 17.189)
    return eu > 0 and us == 0 and eu >= thousands


def parse_numbers(texts: list[str]) -> list[float] | None:
    """Every text parsed as a number, or None if any is not one (or looks like an id: ``007``)."""
    if not texts or not any(ch.isdigit() for ch in texts[0]):
        return None
    european = decimal_comma(texts)
    out: list[float] = []
    for text in texts:
        value = parse_number(text, european=european)
        if value is None:
            return None
        out.append(value)
    return out


def parse_number(text: str, *, european: bool = False) -> float | None:
    m = _NUMBER_RE.match(text.strip())
    if not m:
        return None
    num = m["num"].strip()
    if len(num) > 1 and num[0] == "0" and num[1].isdigit():
        return None  # a code with a leading zero, not a number
    if (m["open"] is None) != (m["close"] is None):
        return None
    currency = m["cur"] or m["cur2"]
    if m["mult"] and not currency:
        return None  # "100m" is a distance, "$1.2M" is money
    if _SPACE_NUM.match(num):
        num = re.sub(r"[\s\u00a0\u202f']", "", num)
        num = num.replace(",", ".")
    elif european:
        if not _EU_NUM.match(num):
            return None
        num = num.replace(".", "").replace(",", ".")
    else:
        if not _US_NUM.match(num):
            return None
        num = num.replace(",", "")
    try:
        value = float(num)
    except ValueError:
        return None
    if m["exp"]:
        value *= 10.0 ** int(m["exp"])
    if m["mult"]:
        value *= _MULTIPLIERS[m["mult"]]
    if m["pct"]:
        value /= 100.0
    if m["open"] or m["neg1"] in ("-", "−") or m["neg2"] or m["neg3"]:
        value = -value
    return value


def parse_dates(texts: list[str], *, with_format: bool = False) -> Any:
    """Every text parsed with one date format, or None. Day-first only if the data needs it.

    With ``with_format``: (timestamps, the strptime format) instead of the timestamps alone."""
    sample = texts[:50]
    if not all(any(ch.isdigit() for ch in t) for t in sample):
        return None
    if not all(("-" in t or "/" in t or "." in t or _MONTH_NAME.search(t)) for t in sample):
        return None
    series = pd.Series([t.strip() for t in texts], dtype=object)
    for fmt in _DATE_FORMATS:
        probe = pd.to_datetime(series.iloc[:50], format=fmt, errors="coerce")
        if probe.isna().any():
            continue
        parsed = pd.to_datetime(series, format=fmt, errors="coerce")
        if not parsed.isna().any():
            if "%y" in fmt:  # two-digit years: "27-Jan-68" is 1968, not 2068
                late = parsed.dt.year > dt.date.today().year + 10
                parsed = parsed.where(~late, parsed - pd.DateOffset(years=100))
            return (list(parsed), fmt) if with_format else list(parsed)
    return None


# ---- a column read as a person said --------------------------------------------------------

def read_as(values: Sequence[Any], kind: str) -> pd.Series:
    """The column read as ``kind`` (one of :data:`COLUMN_KINDS`), whatever detection would
    pick. ``attrs['parsed_from_text']`` says how text cells were written, as detection does;
    cells that do not read that way become missing, and ``attrs['read_failed']`` says how
    many and shows a few."""
    if kind not in COLUMN_KINDS:
        raise ValueError(f"unknown column kind {kind!r}; choose one of: {', '.join(COLUMN_KINDS)}")
    cleaned = [None if is_blank(v) else v for v in values]
    if kind == "text":
        series = _as_text(cleaned)
        series.attrs["read_as"] = kind
        return series
    out: list[Any] = []
    failed: list[str] = []
    read_texts: list[str] = []
    formats: dict[str, None] = {}
    for v in cleaned:
        value = None
        if v is not None and not is_empty_marker(v):
            value, fmt = _one_value(v, kind)
            if value is None:
                failed.append(display_text(v))
            elif isinstance(v, str):
                read_texts.append(v.strip())
                if fmt:
                    formats[fmt] = None
        out.append(value)
    if kind.startswith("number"):
        series = _best_numeric(np.asarray([np.nan if v is None else v for v in out], dtype=float))
        note = _number_style(read_texts) if read_texts else ""
        if kind == "number (decimal comma)" and any("," in t for t in read_texts) and "decimal comma" not in note:
            note = (note + ", decimal comma") if note else "number text: decimal comma"
    else:
        series = pd.Series(pd.to_datetime(pd.Series(out, dtype=object)))
        note = f"date text {next(iter(formats))}" if formats else ""
    series.attrs["read_as"] = kind
    if note:
        series.attrs["parsed_from_text"] = note
    if failed:
        shown = ", ".join(repr(t) for t in list(dict.fromkeys(failed))[:3])
        series.attrs["read_failed"] = f"{len(failed)} cell(s) that do not read as {kind} left empty: {shown}"
    return series


def _one_value(value: Any, kind: str) -> tuple[Any, str | None]:
    """One cell read as ``kind`` (a number or date kind) and the date format of a text date;
    (None, None) when it does not read so."""
    if kind.startswith("number"):
        if isinstance(value, bool):
            return None, None
        if isinstance(value, (int, float)):
            return float(value), None
        if isinstance(value, str):
            european = kind == "number (decimal comma)"
            text = value.strip()
            number = parse_number(text, european=european)
            if number is None and text[:1] == "0":  # a leading zero: the person says it is a number
                number = parse_number(text.lstrip("0") or "0", european=european)
            return number, None
        return None, None
    if isinstance(value, dt.datetime):
        return value, None
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day), None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value <= 2958465:  # an Excel date serial
            return (_EXCEL_EPOCH + pd.to_timedelta(float(value), unit="D")).to_pydatetime(), None
        return None, None
    if isinstance(value, str):
        return _date_in_order(value.strip(), day_first=kind == "date (day first)")
    return None, None


def _date_in_order(text: str, *, day_first: bool) -> tuple[dt.datetime | None, str | None]:
    """A text date read with the day before the month or after it (ISO dates and month names
    read either way), and the format it was read with."""
    for fmt in (*_DATE_FORMATS, "%m.%d.%Y"):  # dotted dates are detected day first only
        ordered = "%d" in fmt and "%m" in fmt and not fmt.startswith("%Y")
        if ordered and (fmt.index("%d") < fmt.index("%m")) != day_first:
            continue
        try:
            value = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        if "%y" in fmt and value.year > dt.date.today().year + 10:
            value = value.replace(year=value.year - 100)
        return value, fmt
    return None, None


def _as_text(values: list[Any]) -> pd.Series:
    texts = np.array([None if v is None else display_text(v) for v in values], dtype=object)
    return pd.Series(texts, dtype="str")


def display_text(value: Any) -> str:
    """A cell value as a person reads it: 3.0 -> '3', dates in ISO form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)

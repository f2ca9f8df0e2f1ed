"""Typed answer values: numbers parsed, dates in ISO form, frames turned into values."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pandas as pd

_NUMBER = re.compile(r"^[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_DATE_FORMATS = ("%Y-%m-%d", "%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d")
_EMPTY_REFERENCES = {"", "none", "null", "see above", "the result", "result", "above"}


def parse_text_value(text: str) -> Any:
    """'1,234' -> 1234, '3.50' -> 3.5, 'March 1, 2024' -> '2024-03-01'; other text as is."""
    s = text.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1].strip()
    if _NUMBER.match(s):
        return to_value(float(s.replace(",", "")) if "." in s else int(s.replace(",", "")))
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            continue
    return s


def to_value(x: Any) -> Any:
    """A JSON-safe, typed Python value: numpy scalars unwrapped, integral floats as int,
    timestamps as ISO dates (with the time only when it is not midnight), NaN as None."""
    if isinstance(x, list | tuple):
        return [to_value(v) for v in x]
    if x is None:
        return None
    if isinstance(x, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(x)
        if pd.isna(ts):
            return None
        if ts.hour == ts.minute == ts.second == 0 and ts.microsecond == 0:
            return ts.date().isoformat()
        return ts.isoformat()
    if isinstance(x, dt.date):
        return x.isoformat()
    if hasattr(x, "item") and not isinstance(x, str | bytes):
        try:
            x = x.item()
        except (ValueError, AttributeError):
            pass
    if isinstance(x, bool):
        return x
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if x.is_integer() and abs(x) < 1e15:
            return int(x)
        return round(x, 10)
    if isinstance(x, str):
        return x
    try:
        if pd.isna(x):
            return None
    except (TypeError, ValueError):
        pass
    return x


def coerce_answer(raw: Any) -> Any:
    """The model's final_answer argument as a typed value (a list stays a list)."""
    if isinstance(raw, dict):
        for key in ("answer", "value", "values", "result"):
            if key in raw:
                return coerce_answer(raw[key])
        return str(raw)
    if isinstance(raw, list | tuple):
        items = [coerce_answer(v) for v in raw]
        return items[0] if len(items) == 1 else items
    if isinstance(raw, str):
        return parse_text_value(raw)
    return to_value(raw)


def is_reference(raw: Any) -> bool:
    """True when the model's answer points at the last result instead of stating it."""
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in _EMPTY_REFERENCES)


def frame_value(frame: pd.DataFrame) -> tuple[bool, Any]:
    """(True, value) when a result frame is an answer by itself: one cell, or one column."""
    if frame is None or frame.shape[1] != 1 or len(frame) == 0 or len(frame) > 50:
        return False, None
    values = [to_value(v) for v in frame.iloc[:, 0].tolist()]
    return True, values[0] if len(values) == 1 else values


def empty_or_zero(frame: pd.DataFrame) -> bool:
    """No rows, only NULLs, or a single 0 (a count that found nothing)."""
    if len(frame) == 0 or bool(frame.isna().all().all()):
        return True
    if frame.shape == (1, 1):
        cell = to_value(frame.iloc[0, 0])
        return isinstance(cell, int | float) and not isinstance(cell, bool) and cell == 0
    return False


def format_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) >= 1e6 else f"{value:g}"
    return "" if value is None else str(value)


def numbers_in(text: str) -> list[float]:
    out = []
    for m in re.finditer(r"-?\d[\d,]*(?:\.\d+)?", text):
        try:
            out.append(float(m.group().replace(",", "")))
        except ValueError:
            continue
    return out


def mentions(text: str, value: Any) -> bool:
    """Does ``text`` state ``value`` (numbers compared as numbers, text case-insensitively)?"""
    if isinstance(value, list):
        return bool(value) and all(mentions(text, v) for v in value)
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return any(math.isclose(n, float(value), rel_tol=1e-6, abs_tol=1e-9) or
                   (isinstance(value, float) and abs(n - value) < 0.005 * max(1.0, abs(value)))
                   for n in numbers_in(text))
    return str(value).strip().lower() in text.lower()


# ---------------------------------------------------------------- answers shaped by the question

_COUNT_Q = re.compile(r"^\s*(how many|what (is|was|were|are) the (total )?number of|"
                      r"(the )?(total )?number of|count the)\b", re.I)
_DIFFERENCE_Q = re.compile(r"\b(how (many|much) (more|less|fewer|longer|shorter|higher|lower|"
                           r"older|younger|bigger|larger|smaller)|difference)\b", re.I)
_ONE_OF_Q = re.compile(r"^\s*(name|give|list|tell me|what is|what was|who is|who was) "
                       r"(one|a single|any one|an?|one of the)\b", re.I)
_YES_NO_Q = re.compile(r"^\s*(is|was|were|are|did|does|do|has|have|had|can|could|will)\b", re.I)
_NUMBER_WORDS = {"zero": 0, "none": 0, "no": 0, "one": 1, "two": 2, "three": 3, "four": 4,
                 "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
                 "eleven": 11, "twelve": 12}
_OPTION_WORDS = re.compile(r"[^\W_][\w'.&-]*", re.U)


_MANY_Q = re.compile(
    r"\b(which|what|name|list|give)\s+(?:of\s+the\s+|the\s+|two\s+|three\s+)?(?:\w+\s+)?"
    r"(?!(?:is|was|has|does|its|this|class|series|news|status|address|bus)\b)"
    r"(\w{2,}[^s\W]s|\w+ies|people|men|women|children)\b(?!\s+(?:name|number|title)\b)|"
    r"\b(who|which|what)\s+(were|are)\b|\ball\s+(?:the\s+)?\w+s\b", re.I)


def asks_for_many(question: str) -> bool:
    """'which schools have ...', 'who were ...', 'list all players': a plural answer."""
    return bool(_MANY_Q.search(question)) and not _ONE_OF_Q.match(question)


def is_count_question(question: str) -> bool:
    return bool(_COUNT_Q.match(question))


def _count_from_text(text: str) -> Any:
    """'3 times' -> 3, 'three' -> 3; None when the text does not state one count."""
    numbers = numbers_in(text)
    if len(numbers) == 1:
        return to_value(numbers[0])
    if not numbers:
        words = re.findall(r"[a-z]+", text.lower())
        found = [_NUMBER_WORDS[w] for w in words if w in _NUMBER_WORDS]
        if len(found) == 1 and len(words) <= 3:
            return found[0]
    return None


def _options(question: str) -> tuple[list[str], list[str]]:
    """The words on each side of the first ' or ' (the two things a question compares)."""
    m = re.search(r"\s+or\s+", question, re.I)
    if not m:
        return [], []
    left = _OPTION_WORDS.findall(question[:m.start()].split(",")[-1])
    right = _OPTION_WORDS.findall(re.split(r"[,?;]", question[m.end():])[0])
    return left, right


def _option_named(answer: str, question: str) -> str | None:
    """For 'who scored more, grant or benyon?' and an answer 'Elliot Benyon': 'benyon', the
    option as the question writes it (the one the answer names; None when not exactly one)."""
    left, right = _options(question)
    if not left or not right:
        return None
    low = f" {' '.join(_OPTION_WORDS.findall(answer.lower()))} "

    def side(words: list[str]) -> str | None:
        while words and words[0].lower() in ("the", "a", "an"):
            words = words[1:]
        text = " ".join(words)
        return text if words and len(words) <= 6 and f" {text.lower()} " in low else None

    left_hit, right_hit = side(left), side(right)
    if (left_hit is None) == (right_hit is None):
        return None
    return left_hit or right_hit


_OTHER_Q = re.compile(r"\b(other|another|else|besides|apart from|except|aside from|"
                      r"same \w+ as|as well as)\b", re.I)


_WORDS = re.compile(r"[^\w]+")


def _named_in(value: str, question: str) -> bool:
    """The question names this cell text (whole, ignoring case and punctuation)."""
    text = _WORDS.sub(" ", value.casefold()).strip()
    q = " " + _WORDS.sub(" ", question.casefold()) + " "
    return len(text) >= 3 and f" {text} " in q


def shape_for_question(question: str, value: Any) -> tuple[Any, str]:
    """The answer in the form the question asks for, and a note when it was changed:
    a count for 'how many' (a list of rows -> its length, '3 times' -> 3), 'yes'/'no' for a
    yes/no question, and for 'A or B' questions the option as the question names it."""
    if isinstance(value, bool):
        return ("yes" if value else "no"), ""
    if (isinstance(value, int | float) and value < 0 and _DIFFERENCE_Q.search(question)):
        return to_value(-value), "a difference is stated as a positive number"
    if isinstance(value, list) and len(value) > 1 and _OTHER_Q.search(question):
        kept = [v for v in value if not (isinstance(v, str) and _named_in(v, question))]
        if 0 < len(kept) < len(value):
            dropped = ", ".join(str(v) for v in value if v not in kept)
            value = kept[0] if len(kept) == 1 else kept
            return value, f"left out {dropped}: the question names it and asks for another"
    if isinstance(value, list) and len(value) > 1 and _ONE_OF_Q.match(question):
        return value[0], "the question asks for one of them"
    if is_count_question(question):
        if isinstance(value, list) and len(value) > 1 and not all(
                isinstance(v, int | float) for v in value):
            return len(value), f"counted the {len(value)} values listed"
        if isinstance(value, str):
            count = _count_from_text(value)
            if count is not None:
                return count, ""
        return value, ""
    if isinstance(value, str) and not _YES_NO_Q.match(question):
        option = _option_named(value, question)
        if option is not None and option.lower() != value.strip().lower():
            return option, f"{value} is the question's {option!r}"
    return value, ""

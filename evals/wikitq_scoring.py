"""The official WikiTableQuestions evaluator (v1.0.2), reimplemented in Python 3.

Semantics follow ``evaluator.py`` of the WikiTableQuestions release line by line:

* gold items are built from the raw ``targetValue`` and the CoreNLP-canonical ``targetCanon``
  (a number if it parses as int/float, a date ``yyyy-mm-dd`` with ``xx`` parts, a year-only date
  being a number, else a string kept as the raw text);
* predicted items are parsed from text the same way (``"1e3"`` is a number, ``"1,000"`` is not);
* both lists are de-duplicated (``set`` semantics: equal values collapse, the first one stays);
* a prediction is correct when both lists have the same size and every gold item matches some
  predicted item: equal normalised strings, numbers within 1e-6, or dates with equal
  (year, month, day), unknown parts included.

Where Python 2 and Python 3 differ, this module keeps Python 2's behaviour: ``int``/``float``
reject ``_`` digit separators, and ``\\d`` in the citation pattern means ASCII digits only.
"""

from __future__ import annotations

import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------- string normalisation

_QUOTES_SINGLE = re.compile("[‘’´`]")
_QUOTES_DOUBLE = re.compile("[“”]")
_DASHES = re.compile("[‐‑‒–—−]")
# Python 2 compiled these without re.UNICODE, so \d was [0-9].
_CITATIONS = re.compile(r"((?<!^)\[[^\]]*\]|\[[0-9]+\]|[•♦†‡*#+])*$")
_PARENTHESES = re.compile(r"(?<!^)( \([^)]*\))*$")
_WRAPPING_QUOTES = re.compile(r'^"([^"]*)"$')
_WHITESPACE = re.compile(r"\s+")


def normalize(x: str) -> str:
    """The official string normalisation (see the module docstring)."""
    x = "".join(c for c in unicodedata.normalize("NFKD", x) if unicodedata.category(c) != "Mn")
    x = _QUOTES_SINGLE.sub("'", x)
    x = _QUOTES_DOUBLE.sub('"', x)
    x = _DASHES.sub("-", x)
    while True:
        old_x = x
        x = _CITATIONS.sub("", x.strip())
        x = _PARENTHESES.sub("", x.strip())
        x = _WRAPPING_QUOTES.sub(r"\1", x.strip())
        if x == old_x:
            break
    if x and x[-1] == ".":
        x = x[:-1]
    return _WHITESPACE.sub(" ", x).lower().strip()


# ---------------------------------------------------------------- values


class Value(ABC):
    """A denotation item. ``normalized`` is the normalised original string."""

    _normalized: str = ""

    @property
    def normalized(self) -> str:
        return self._normalized

    @abstractmethod
    def match(self, other: Value) -> bool:
        """Whether ``other`` denotes the same value (the official matching rules)."""


class StringValue(Value):
    def __init__(self, content: str) -> None:
        self._normalized = normalize(content)
        self._hash = hash(self._normalized)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StringValue) and self.normalized == other.normalized

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return "S" + str([self.normalized])

    def match(self, other: Value) -> bool:
        return self.normalized == other.normalized


class NumberValue(Value):
    def __init__(self, amount: float, original_string: str | None = None) -> None:
        if abs(amount - round(amount)) < 1e-6:
            self._amount: float = int(amount)  # truncates, exactly as the original does
        else:
            self._amount = float(amount)
        self._normalized = normalize(original_string) if original_string else str(self._amount)
        self._hash = hash(self._amount)

    @property
    def amount(self) -> float:
        return self._amount

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NumberValue) and self.amount == other.amount

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"N({self.amount:f})" + str([self.normalized])

    def match(self, other: Value) -> bool:
        if self.normalized == other.normalized:
            return True
        if isinstance(other, NumberValue):
            return abs(self.amount - other.amount) < 1e-6
        return False

    @staticmethod
    def parse(text: str) -> float | None:
        """The number ``text`` denotes under Python 2's ``int()``/``float()``, else None."""
        if "_" in text:  # Python 3 accepts "1_000"; Python 2 (the reference) did not
            return None
        try:
            return int(text)
        except ValueError:
            pass
        try:
            amount = float(text)
        except ValueError:
            return None
        if math.isnan(amount) or math.isinf(amount):
            return None
        return amount


class DateValue(Value):
    def __init__(self, year: int, month: int, day: int, original_string: str | None = None) -> None:
        """Unknown parts are -1 (not all three)."""
        assert month == -1 or 1 <= month <= 12
        assert day == -1 or 1 <= day <= 31
        assert not (year == month == day == -1)
        self._year, self._month, self._day = year, month, day
        if original_string:
            self._normalized = normalize(original_string)
        else:
            parts = [str(p) if p != -1 else "xx" for p in (year, month, day)]
            self._normalized = "-".join(parts)
        self._hash = hash((year, month, day))

    @property
    def ymd(self) -> tuple[int, int, int]:
        return (self._year, self._month, self._day)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DateValue) and self.ymd == other.ymd

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        return f"D({self._year},{self._month},{self._day})" + str([self._normalized])

    def match(self, other: Value) -> bool:
        if self.normalized == other.normalized:
            return True
        if isinstance(other, DateValue):
            return self.ymd == other.ymd
        return False

    @staticmethod
    def parse(text: str) -> tuple[int, int, int] | None:
        """``(year, month, day)`` for ``yyyy-mm-dd`` with ``xx`` (or ``xxxx``) parts, else None."""
        ymd = text.lower().split("-")
        if len(ymd) != 3 or any("_" in part for part in ymd):
            return None
        try:
            year = -1 if ymd[0] in ("xx", "xxxx") else int(ymd[0])
            month = -1 if ymd[1] == "xx" else int(ymd[1])
            day = -1 if ymd[2] == "xx" else int(ymd[2])
        except ValueError:
            return None
        if year == month == day == -1:
            return None
        if not (month == -1 or 1 <= month <= 12) or not (day == -1 or 1 <= day <= 31):
            return None
        return (year, month, day)


def to_value(original_string: str | Value, corenlp_value: str | None = None) -> Value:
    """The Value for a raw string, typed by ``corenlp_value`` (the canonical form) when given."""
    if isinstance(original_string, Value):
        return original_string
    if not corenlp_value:
        corenlp_value = original_string
    amount = NumberValue.parse(corenlp_value)
    if amount is not None:
        return NumberValue(amount, original_string)
    ymd = DateValue.parse(corenlp_value)
    if ymd is not None:
        if ymd[1] == ymd[2] == -1:
            return NumberValue(ymd[0], original_string)
        return DateValue(ymd[0], ymd[1], ymd[2], original_string)
    return StringValue(original_string)


def to_value_list(
    original_strings: Sequence[str | Value], corenlp_values: Sequence[str] | None = None
) -> list[Value]:
    """De-duplicated Values (``set`` semantics: the first of equal values stays)."""
    if corenlp_values is not None:
        if len(original_strings) != len(corenlp_values):
            raise ValueError("original and canonical lists differ in length")
        values = [to_value(x, y) for x, y in zip(original_strings, corenlp_values, strict=True)]
    else:
        values = [to_value(x) for x in original_strings]
    return list(dict.fromkeys(values))


def check_denotation(target_values: Sequence[Value], predicted_values: Sequence[Value]) -> bool:
    """True when the sizes are equal and every target matches some prediction."""
    if len(target_values) != len(predicted_values):
        return False
    return all(any(t.match(p) for p in predicted_values) for t in target_values)


# ---------------------------------------------------------------- TSV escaping


def tsv_unescape(x: str) -> str:
    """``\\n`` -> newline, ``\\p`` -> ``|``, ``\\\\`` -> backslash (in that order, as the original)."""
    return x.replace(r"\n", "\n").replace(r"\p", "|").replace("\\\\", "\\")


def tsv_unescape_list(x: str) -> list[str]:
    return [tsv_unescape(y) for y in x.split("|")]


def tsv_escape(x: str) -> str:
    """Inverse of ``tsv_unescape`` for one item; a tab (not representable) becomes a space."""
    return x.replace("\\", "\\\\").replace("\n", r"\n").replace("|", r"\p").replace("\t", " ")


def target_values(target_value: str, target_canon: str | None = None) -> list[Value]:
    """Gold Values from the escaped ``targetValue`` and ``targetCanon`` fields of a tagged row."""
    originals = tsv_unescape_list(target_value)
    canons = tsv_unescape_list(target_canon) if target_canon is not None else None
    return to_value_list(originals, canons)


def check_prediction(items: Sequence[str], gold: Sequence[Value]) -> bool:
    return check_denotation(gold, to_value_list(list(items)))


# ---------------------------------------------------------------- prediction files


def format_prediction_line(example_id: str, items: Iterable[str]) -> str:
    """One line of the official prediction format: ``id<TAB>item<TAB>item...`` (no newline)."""
    return "\t".join([example_id, *(tsv_escape(str(item)) for item in items)])


def parse_prediction_line(line: str) -> tuple[str, list[str]]:
    fields = line.rstrip("\n").rstrip("\r").split("\t")
    return fields[0], [tsv_unescape(f) for f in fields[1:]]


def read_predictions(path: Path | str) -> dict[str, list[str]]:
    """Prediction file -> {id: items}. Blank lines are skipped; a later line for an id wins."""
    predictions: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            example_id, items = parse_prediction_line(line)
            predictions[example_id] = items
    return predictions


def write_predictions(path: Path | str, predictions: Iterable[tuple[str, Sequence[str]]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for example_id, items in predictions:
            f.write(format_prediction_line(example_id, items) + "\n")


# ---------------------------------------------------------------- scoring a file


@dataclass
class ScoreReport:
    """Per-question verdicts over every question of the tagged file."""

    correct: dict[str, bool] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # questions without a prediction
    unknown: list[str] = field(default_factory=list)  # predicted ids not in the tagged file

    @property
    def n_correct(self) -> int:
        return sum(self.correct.values())

    @property
    def n_total(self) -> int:
        return len(self.correct)

    @property
    def accuracy(self) -> float:
        return self.n_correct / self.n_total if self.n_total else 0.0

    def summary_line(self) -> str:
        return f"accuracy: {self.accuracy:.4f} ({self.n_correct}/{self.n_total})"


def read_tagged_targets(path: Path | str) -> dict[str, list[Value]]:
    """{id: gold Values} from a CoreNLP-tagged file (columns targetValue and targetCanon)."""
    return {ex_id: target_values(value, canon) for ex_id, value, canon in _tagged_rows(path)}


def _tagged_rows(path: Path | str) -> Iterator[tuple[str, str, str]]:
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if not line.strip():
                continue
            row = dict(zip(header, line.rstrip("\n").split("\t"), strict=False))
            yield row["id"], row["targetValue"], row["targetCanon"]


def score_predictions(
    predictions: dict[str, list[str]], targets: dict[str, list[Value]]
) -> ScoreReport:
    report = ScoreReport()
    for ex_id, gold in targets.items():
        if ex_id not in predictions:
            report.missing.append(ex_id)
            report.correct[ex_id] = False
        else:
            report.correct[ex_id] = check_prediction(predictions[ex_id], gold)
    report.unknown = [ex_id for ex_id in predictions if ex_id not in targets]
    return report


def score_file(prediction_path: Path | str, tagged_path: Path | str) -> ScoreReport:
    return score_predictions(read_predictions(prediction_path), read_tagged_targets(tagged_path))

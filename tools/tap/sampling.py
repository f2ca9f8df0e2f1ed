"""TAP4LLM sampling: which rows and columns of a table matter for a question.

Rows holding a value the question names always come first (exact, whole-word and fuzzy
matches, found with vectorized pandas/pyarrow string operations on the distinct values of each
column, so a 100k-row table costs milliseconds). Candidate rows are ranked with BM25
(rank-bm25) over their text; then a strategy fills the rest: evenly spread (default), head and
tail, or random. Columns are ranked by name similarity to the question and by matches.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rank_bm25 import BM25Okapi
from rapidfuzz import fuzz, process

STRATEGIES = ("relevance", "even", "head_tail", "random")
MAX_CANDIDATES = 2000  # matching rows kept, best first
BM25_RERANK = 300  # of which the best are re-ranked with BM25
FUZZY_MAX_DISTINCT = 20_000  # fuzzy value matching only on columns with fewer distinct values

STOPWORDS = frozenset([
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "not", "no", "is", "are", "was", "were", "be", "been", "being", "do", "does", "did",
    "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "many", "much",
    "more", "most", "less", "least", "than", "then", "that", "this", "these", "those", "there",
    "their", "they", "them", "it", "its", "as", "if", "into", "over", "under", "between",
    "during", "before", "after", "above", "below", "up", "down", "out", "about", "all", "any",
    "each", "every", "some", "such", "only", "own", "same", "so", "too", "very", "can", "will",
    "just", "should", "would", "could", "has", "have", "had", "having", "i", "me", "my", "we",
    "our", "you", "your", "he", "him", "his", "she", "her", "list", "give", "tell", "show",
    "find", "name", "number", "total", "count", "value", "values", "table", "row", "rows",
    "column", "columns", "per",
])

_WORD = re.compile(r"[\w][\w.,'&/-]*[\w]|[\w]", re.UNICODE)
_QUOTED = re.compile(r"\"([^\"]+)\"|'([^']{2,})'|“([^”]+)”")
_NUMBER = re.compile(r"^-?\d[\d,]*(?:\.\d+)?%?$")


@dataclass
class Match:
    """A question term found in a column: ``kind`` is exact, word, number or fuzzy."""

    term: str
    column: str
    value: str
    rows: np.ndarray  # frame positions
    kind: str
    score: float = 100.0


@dataclass
class Sample:
    """The outcome of sampling: rows by priority, columns by relevance, the matches found."""

    rows: list[int]  # frame positions, most important first
    named_rows: list[int]  # rows holding values the question names (a prefix of ``rows``)
    columns: list[str]  # all columns, most relevant first
    matches: list[Match] = field(default_factory=list)


# --------------------------------------------------------------------------- question terms


def question_terms(question: str) -> list[str]:
    """Quoted phrases, then word n-grams (1-4) that neither start nor end with a stopword."""
    terms: list[str] = []
    for m in _QUOTED.finditer(question):
        phrase = next(g for g in m.groups() if g)
        terms.append(phrase.strip())
    words = _WORD.findall(question)
    for n in (4, 3, 2, 1):
        for i in range(len(words) - n + 1):
            gram = words[i:i + n]
            if gram[0].lower() in STOPWORDS or gram[-1].lower() in STOPWORDS:
                continue
            if n == 1 and len(gram[0]) < 2 and not gram[0].isdigit():
                continue
            terms.append(" ".join(gram).strip(".,'"))
    seen: dict[str, None] = {}
    for t in terms:
        if t and t.lower() not in {s.lower() for s in seen}:
            seen[t] = None
    return list(seen)


def _as_number(term: str) -> float | None:
    if not _NUMBER.match(term):
        return None
    try:
        return float(term.replace(",", "").rstrip("%"))
    except ValueError:
        return None


# --------------------------------------------------------------------------- per-table index


@dataclass
class TextColumn:
    codes: np.ndarray  # row -> index into uniques (-1 for missing)
    uniques: pd.Series  # distinct values, lower-cased, as text
    originals: pd.Index


_INDEX: dict[int, dict[str, TextColumn]] = {}


def text_index(frame: pd.DataFrame) -> dict[str, TextColumn]:
    """Distinct lower-cased values of every text column, cached for the frame's lifetime."""
    key = id(frame)
    cached = _INDEX.get(key)
    if cached is not None:
        return cached
    index: dict[str, TextColumn] = {}
    for col in frame.columns:
        series = frame[col]
        if not is_text(series):
            continue
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        as_text = pd.Series(pd.Index(uniques).astype(str), dtype="string[pyarrow]")
        index[str(col)] = TextColumn(codes=np.asarray(codes), uniques=as_text.str.lower(),
                                      originals=pd.Index(uniques))
    try:  # cache only while the frame lives (ids are reused after that)
        weakref.finalize(frame, _INDEX.pop, key, None)
    except TypeError:
        return index
    _INDEX[key] = index
    return index


def is_text(series: pd.Series) -> bool:
    return bool(pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series))


# --------------------------------------------------------------------------- matching


def find_matches(frame: pd.DataFrame, question: str, terms: Sequence[str] | None = None) -> list[Match]:
    """Every place a question term equals, appears as words in, or nearly equals a cell value."""
    terms = list(terms) if terms is not None else question_terms(question)
    if not terms or frame.empty:
        return []
    lowered = {t.lower(): t for t in terms}
    matches: list[Match] = []
    index = text_index(frame)
    found_terms: set[str] = set()
    word_terms = [t for t in lowered if len(t) >= 3 and _as_number(t) is None]
    word_pattern = None
    if word_terms:
        alternation = "|".join(re.escape(t) for t in sorted(word_terms, key=len, reverse=True))
        word_pattern = rf"(?:^|[^\w])(?:{alternation})(?:[^\w]|$)"
    for col, entry in index.items():
        uniques = entry.uniques
        exact = uniques.isin(list(lowered))
        for u in np.flatnonzero(exact.to_numpy(dtype=bool, na_value=False)):
            value = uniques.iloc[u]
            matches.append(Match(lowered[value], col, str(entry.originals[int(u)]),
                                 np.flatnonzero(entry.codes == u), "exact"))
            found_terms.add(value)
        if word_pattern is not None:
            contains = uniques.str.contains(word_pattern, regex=True, na=False)
            hits = np.flatnonzero(contains.to_numpy(dtype=bool, na_value=False) & ~exact.to_numpy(
                dtype=bool, na_value=False))
            for u in hits[:200]:
                value = str(uniques.iloc[u])
                term = next((t for t in sorted(word_terms, key=len, reverse=True)
                             if re.search(rf"(?:^|[^\w]){re.escape(t)}(?:[^\w]|$)", value)), None)
                if term is None:
                    continue
                matches.append(Match(lowered[term], col, str(entry.originals[int(u)]),
                                     np.flatnonzero(entry.codes == u), "word", 90.0))
                found_terms.add(term)
    matches.extend(_number_matches(frame, lowered))
    matches.extend(_date_matches(frame, lowered))
    missing = [t for t in lowered if t not in found_terms and len(t) >= 4 and _as_number(t) is None
               and len(t.split()) <= 3]
    if missing:
        matches.extend(_fuzzy_matches(index, missing[:8], lowered))
    return matches


def _number_matches(frame: pd.DataFrame, lowered: dict[str, str]) -> list[Match]:
    numbers = {t: v for t in lowered if (v := _as_number(t)) is not None}
    if not numbers:
        return []
    out: list[Match] = []
    years = {t: int(v) for t, v in numbers.items() if v.is_integer() and 1800 <= v <= 2200}
    for col in frame.columns:
        series = frame[col]
        if years and pd.api.types.is_datetime64_any_dtype(series):
            year_of = series.dt.year.to_numpy(dtype=float, na_value=np.nan)
            for term, year in years.items():
                rows = np.flatnonzero(year_of == year)
                if len(rows):
                    out.append(Match(lowered[term], str(col), f"year {year}", rows, "number", 80.0))
            continue
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.to_numpy(dtype=float, na_value=np.nan)
        for term, number in numbers.items():
            rows = np.flatnonzero(values == number)
            if len(rows):
                out.append(Match(lowered[term], str(col), term, rows, "number"))
    return out


_DATE_LIKE = re.compile(
    r"\d{1,4}[-/.]\d{1,2}([-/.]\d{1,4})?|\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b",
    re.I)


def _date_matches(frame: pd.DataFrame, lowered: dict[str, str]) -> list[Match]:
    """Terms that read as a date ("2019-03-04", "March 4 2019") against date columns."""
    date_columns = [c for c in frame.columns if pd.api.types.is_datetime64_any_dtype(frame[c])]
    if not date_columns:
        return []
    days: dict[str, pd.Timestamp] = {}
    for term in lowered:
        if not any(ch.isdigit() for ch in term) or not _DATE_LIKE.search(term) or len(term) > 30:
            continue
        try:
            stamp = pd.Timestamp(term)
        except (ValueError, TypeError, OverflowError):
            continue
        if not pd.isna(stamp):
            days[term] = stamp.normalize()
    out: list[Match] = []
    for col in date_columns:
        series = frame[col]
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_localize(None)
        normalized = series.dt.normalize()
        for term, day in days.items():
            rows = np.flatnonzero((normalized == day).to_numpy(dtype=bool, na_value=False))
            if len(rows):
                out.append(Match(lowered[term], str(col), day.strftime("%Y-%m-%d"), rows, "exact"))
    return out


def _fuzzy_matches(index: dict[str, TextColumn], terms: list[str],
                   lowered: dict[str, str]) -> list[Match]:
    out: list[Match] = []
    for col, entry in index.items():
        if len(entry.uniques) > FUZZY_MAX_DISTINCT:
            continue
        choices = entry.uniques.fillna("").tolist()
        for term in terms:
            for _value, score, u in process.extract(term, choices, scorer=fuzz.ratio,
                                                    score_cutoff=85, limit=3):
                out.append(Match(lowered[term], col, str(entry.originals[int(u)]),
                                 np.flatnonzero(entry.codes == u), "fuzzy", float(score)))
    return out


# --------------------------------------------------------------------------- ranking


def rank_columns(frame: pd.DataFrame, question: str, matches: Sequence[Match]) -> list[str]:
    """All columns, most relevant first (name similar to the question, values matched)."""
    q_words = [w.lower() for w in _WORD.findall(question) if w.lower() not in STOPWORDS]
    scores: dict[str, float] = {}
    for i, col in enumerate(frame.columns):
        c_words = [w.lower() for w in _WORD.findall(str(col))] or [str(col).lower()]
        best = max((fuzz.ratio(cw, qw) for cw in c_words for qw in q_words), default=0.0)
        scores[str(col)] = (best / 50 if best >= 75 else 0.0) - i * 1e-3  # earlier columns win ties
    for m in matches:
        scores[m.column] = scores.get(m.column, 0.0) + (3.0 if m.kind != "fuzzy" else 1.5)
    if len(frame.columns):
        scores[str(frame.columns[0])] += 1.0  # the first column usually labels the rows
    return sorted(scores, key=lambda c: -scores[c])


def sample_rows(frame: pd.DataFrame, question: str, *, strategy: str = "relevance",
                limit: int = 500, seed: int = 0, matches: Sequence[Match] | None = None) -> Sample:
    """Rows by priority: the rows the question names, BM25-ranked, then the strategy's rows."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    matches = list(matches) if matches is not None else find_matches(frame, question)
    n = len(frame)
    named = _rank_named(frame, question, matches)
    order: dict[int, None] = dict.fromkeys(named[:limit])
    for row in strategy_rows(n, max(0, limit - len(order)) + len(order), strategy, seed):
        if len(order) >= limit:
            break
        order.setdefault(int(row), None)
    return Sample(rows=list(order), named_rows=named, columns=rank_columns(frame, question, matches),
                  matches=matches)


def _rank_named(frame: pd.DataFrame, question: str, matches: Sequence[Match]) -> list[int]:
    """Rows holding matched values: more distinct terms, better match kinds, rarer values first;
    BM25 over the row text breaks ties among the best ``BM25_RERANK``."""
    if not matches:
        return []
    weight = {"exact": 3.0, "number": 2.5, "word": 2.0, "fuzzy": 1.0}
    n = len(frame)
    per_term: dict[str, np.ndarray] = {}
    for m in matches:
        w = weight[m.kind] * (m.score / 100) / (1.0 + np.log1p(len(m.rows)))  # rare values count more
        scores = per_term.setdefault(m.term.lower(), np.zeros(n))
        scores[m.rows] = np.maximum(scores[m.rows], w)  # rows are distinct within a match
    total = np.sum(list(per_term.values()), axis=0)
    hits = np.flatnonzero(total > 0)
    if len(hits) > MAX_CANDIDATES:
        hits = hits[np.argpartition(-total[hits], MAX_CANDIDATES - 1)[:MAX_CANDIDATES]]
    order = hits[np.argsort(-total[hits], kind="stable")]
    head = order[:BM25_RERANK]
    if len(head) > 1:
        bm25 = _bm25_scores(frame, head.tolist(), question)
        if bm25 is not None and bm25.max() > 0:
            rescored = total[head] + 0.5 * bm25 / bm25.max() * total[head].min()
            head = head[np.argsort(-rescored, kind="stable")]
    return [int(r) for r in head] + [int(r) for r in order[BM25_RERANK:]]


def _bm25_scores(frame: pd.DataFrame, rows: list[int], question: str) -> np.ndarray | None:
    query = [w.lower() for w in _WORD.findall(question) if w.lower() not in STOPWORDS]
    if not query:
        return None
    subset = frame.iloc[rows]
    docs = [" ".join(str(v) for v in r).lower().split()
            for r in subset.itertuples(index=False, name=None)]
    return np.asarray(BM25Okapi(docs).get_scores(query), dtype=float)


def strategy_rows(n: int, k: int, strategy: str, seed: int = 0) -> list[int]:
    """``k`` row positions out of ``n`` by a strategy (no relevance)."""
    k = min(k, n)
    if k <= 0:
        return []
    if strategy == "random":
        rng = np.random.default_rng(seed)
        return sorted(rng.choice(n, size=k, replace=False).tolist())
    if strategy == "head_tail":
        head = list(range((k + 1) // 2))
        tail = list(range(n - k // 2, n))
        return _interleave(head, tail[::-1])
    # even / relevance: the first rows, then evenly spread, coarse to fine
    first = list(range(min(3, k)))
    spread = np.linspace(0, n - 1, num=k).round().astype(int).tolist()
    return list(dict.fromkeys(first + _coarse_to_fine(spread)))[:k]


def _interleave(a: list[int], b: list[int]) -> list[int]:
    out: list[int] = []
    for i in range(max(len(a), len(b))):
        if i < len(a):
            out.append(a[i])
        if i < len(b):
            out.append(b[i])
    return out


def _coarse_to_fine(values: list[int]) -> list[int]:
    """Reorder so any prefix is itself spread over the whole range (bit-reversal order)."""
    n = len(values)
    if n <= 2:
        return values
    order: list[int] = []
    seen: set[int] = set()
    step = 1 << (n - 1).bit_length()
    while step >= 1:
        for i in range(0, n, step):
            if i not in seen:
                seen.add(i)
                order.append(values[i])
        step //= 2
    return order

"""ROUGE-L (longest common subsequence F-measure), with the tokenizer of Google's rouge-score:
lowercase, every run of characters outside ``[a-z0-9]`` is a separator, no stemming."""

from __future__ import annotations

import re
from collections.abc import Sequence

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def tokenize(text: str) -> list[str]:
    return [t for t in _NON_ALNUM.split(text.lower()) if t]


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0] * (len(b) + 1)
        for j, y in enumerate(b, 1):
            cur[j] = prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> tuple[float, float, float]:
    """(precision, recall, F1) of ROUGE-L between two texts."""
    pred, ref = tokenize(prediction), tokenize(reference)
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return (0.0, 0.0, 0.0)
    precision, recall = lcs / len(pred), lcs / len(ref)
    return (precision, recall, 2 * precision * recall / (precision + recall))


def rouge_l_f(prediction: str, reference: str) -> float:
    return rouge_l(prediction, reference)[2]


def sacrebleu_corpus(predictions: Sequence[str], references: Sequence[str]) -> float | None:
    """Corpus sacreBLEU when the ``sacrebleu`` package is installed, else None."""
    try:
        import sacrebleu
    except ImportError:
        return None
    return float(sacrebleu.corpus_bleu(list(predictions), [list(references)]).score)

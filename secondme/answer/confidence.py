"""How sure the model was of its answer: the probability it gave the least likely of its words.

A small model that knows the answer writes each word of it with a high probability; where the
memories do not settle it, it hesitates over the word that matters ("21 October" against "14
October", "Ana" against "Pedro").  The lowest probability among the answer's words is that
hesitation.  It is not the chance that the answer is right, but answers below a threshold are
wrong far more often than the others (``bench/confidence_cv.py`` measures how often), so they
are flagged as unsure.

Citation markers ("[12]") are left out: which of two memories saying the same thing to cite is
not a doubt about the answer.  So are tokens without a letter or digit (spaces, punctuation, the
end-of-turn token).
"""

from __future__ import annotations

import math
import re

from secondme.answer.citations import CITATION

_WORD = re.compile(r"[^\W_]")

#: What the faces say under an answer flagged unsure (:attr:`secondme.answer.Answer.unsure`).
UNSURE = "unsure: the model hesitated over this answer; check it against the sources"


def answer_tokens(tokens: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The tokens of the answer's words: not inside a citation, holding a letter or a digit."""
    text = "".join(piece for piece, _ in tokens)
    cited = [match.span() for match in CITATION.finditer(text)]
    kept = []
    start = 0
    for piece, logprob in tokens:
        end = start + len(piece)
        inside = any(a < end and start < b for a, b in cited)
        if not inside and _WORD.search(piece):
            kept.append((piece, logprob))
        start = end
    return kept


def least_sure(tokens: list[tuple[str, float]]) -> float | None:
    """The probability the model gave the least likely word token of its answer (0-1), or None
    when it wrote no word."""
    words = answer_tokens(tokens)
    if not words:
        return None
    return math.exp(min(logprob for _, logprob in words))

"""Cutting a long text into parts that each fit a limit, at the most natural boundary.

A memory must fit the embedder (its tokens past the limit would be cut off silently) and the
answer prompt (which quotes at most ``answer.max_memory_chars`` of each memory).  Long texts are
therefore split between paragraphs, else lines, else sentences, else words, and only as a last
resort inside a word.  Parts are slices of the original text: put back together with the
whitespace between them, they are the original, so nothing is lost.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

#: Boundaries tried in order, from the most natural to the least.
_BOUNDARIES = [
    re.compile(r"\n[ \t]*\n\s*"),  # paragraphs
    re.compile(r"\n\s*"),  # lines
    re.compile(r"(?<=[.!?…。！？])\s+"),  # sentences
    re.compile(r"\s+"),  # words
]

# A rough, generous count for embedders that bring no tokenizer: word pieces are rarely
# shorter than three letters, digits come in pairs or threes, CJK characters are one each.
_PIECES = re.compile(r"[^\W\d_\u2e80-\u9fff\uac00-\ud7af]+|\d+|\S")


def snippet(text: str, width: int = 80) -> str:
    """A text as one line of at most ``width`` characters ("…" where it was cut)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def estimate_tokens(text: str) -> int:
    """An upper-leaning estimate of word-piece tokens (used when no tokenizer is at hand)."""
    total = 0
    for match in _PIECES.finditer(text):
        piece = match.group(0)
        if piece.isdigit():
            total += math.ceil(len(piece) / 2)
        elif len(piece) > 1:
            total += math.ceil(len(piece) / 3)
        else:
            total += 1
    return total


def visible_length(text: str) -> int:
    """Characters as the prompt shows them (runs of whitespace count as one space)."""
    return len(" ".join(text.split()))


def split_spans(
    text: str, max_tokens: int, max_chars: int, count: Callable[[str], int] = estimate_tokens
) -> list[tuple[int, int]]:
    """(start, end) slices of ``text``, each within both limits, covering all of its words.

    ``count`` gives a piece's tokens; counts are taken piece by piece and added up (word-piece
    tokenizers never join across whitespace), so a megabyte costs one pass, not one per part.
    """
    if max_tokens < 1 or max_chars < 1:
        raise ValueError("limits must be positive")
    start, end = _trim(text, 0, len(text))
    if start == end:
        return []
    pieces = _pieces(text, start, end, 0, max_tokens, max_chars, count)
    # Greedily join neighbours back while the joined text still fits.
    spans: list[tuple[int, int]] = []
    tokens = 0
    for piece_start, piece_end, piece_tokens in pieces:
        if spans:
            last_start, _ = spans[-1]
            if (
                tokens + piece_tokens <= max_tokens
                and visible_length(text[last_start:piece_end]) <= max_chars
            ):
                spans[-1] = (last_start, piece_end)
                tokens += piece_tokens
                continue
        spans.append((piece_start, piece_end))
        tokens = piece_tokens
    return spans


def split_text(
    text: str, max_tokens: int, max_chars: int, count: Callable[[str], int] = estimate_tokens
) -> list[str]:
    """``text`` as parts within ``max_tokens`` and ``max_chars`` (one part when it fits)."""
    return [text[a:b] for a, b in split_spans(text, max_tokens, max_chars, count)]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _pieces(
    text: str,
    start: int,
    end: int,
    level: int,
    max_tokens: int,
    max_chars: int,
    count: Callable[[str], int],
) -> list[tuple[int, int, int]]:
    """(start, end, tokens) pieces of ``text[start:end]`` that each fit, in order."""
    chunk = text[start:end]
    if visible_length(chunk) <= max_chars:
        tokens = count(chunk)
        if tokens <= max_tokens:
            return [(start, end, tokens)]
    if level >= len(_BOUNDARIES):
        return _hard_cut(text, start, end, max_tokens, max_chars, count)
    out: list[tuple[int, int, int]] = []
    position = start
    for match in _BOUNDARIES[level].finditer(chunk):
        cut_start, cut_end = start + match.start(), start + match.end()
        if cut_start > position:
            out.extend(_pieces(text, position, cut_start, level + 1, max_tokens, max_chars, count))
        position = cut_end
    if position < end:
        out.extend(_pieces(text, position, end, level + 1, max_tokens, max_chars, count))
    return out


def _hard_cut(
    text: str, start: int, end: int, max_tokens: int, max_chars: int, count: Callable[[str], int]
) -> list[tuple[int, int, int]]:
    """One enormous word: cut it into the longest runs of characters that fit."""
    out: list[tuple[int, int, int]] = []
    position = start
    while position < end:
        size = min(max_chars, end - position)
        while True:
            tokens = count(text[position : position + size])
            if tokens <= max_tokens or size == 1:
                break
            size = max(1, size * max_tokens // (tokens + 1))
        out.append((position, position + size, tokens))
        position += size
    return out

"""Answers that open by restating the question lose the restatement.

The prompt asks for a name, a date or a short phrase, yet small models often answer in a
sentence that repeats the question first: "What natural disaster affected John's old area?" ->
"The natural disaster that affected John's old area was a flood."  The answer is what follows
the restatement: "A flood."  So :func:`drop_restated` cuts a first sentence's opening when

- it is made of the question's own words, in the question's order (any inflection: "planned"
  for "plan"), and of function words ("the", "that", "was", "has"), with at least two of the
  question's content words among them;
- it ends on one of the question's words or on "is / was / are / were" ("... was | a flood",
  "Maria volunteers at | a homeless shelter"), a determiner or "by / because" staying with the
  answer ("... by | reminding herself of her successes");
- the question's words do not go on after it ("The precautionary sign Melanie saw at the
  café was ..." is kept: "café" comes after "saw", so the restatement had not ended);
- no citation falls inside it.

"Yes, John would be considered a patriotic person." becomes "Yes." when all after "Yes," is
the question again.  Anything else is left as the model wrote it.

The same decision is made while the answer streams (:class:`RestatedStream`): words are held
back only until it is known whether they restate the question, so what a face shows as it
arrives is what the answer ends as.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from secondme.stemmer import porter_stem

#: Words a restatement may hold without their being in the question.
FUNCTION_WORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "that",
        "which",
        "who",
        "whom",
        "whose",
        "this",
        "these",
        "those",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "with",
        "by",
        "about",
        "as",
        "into",
        "is",
        "was",
        "are",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "having",
        "do",
        "does",
        "did",
        "doing",
        "will",
        "would",
        "can",
        "could",
        "might",
        "may",
        "should",
        "its",
        "it",
    }
)
_COPULAS = frozenset({"is", "was", "are", "were"})
#: Words that open the answer rather than end the restatement.
_ANSWER_LEADS = frozenset(
    {"a", "an", "the", "her", "his", "their", "its", "my", "your", "our", "some", "by", "because"}
)
#: The answer's "you" is the question's "I" ("What is my dentist's name?" -> "Your dentist's
#: name is ...").
_ASKER = {"you": "i", "your": "my", "yours": "mine", "yourself": "myself"}
_QUESTION_WORDS = frozenset({"what", "which", "who", "whom", "whose", "where", "when", "why", "how"})
_TOKEN = re.compile(r"[\w'’-]+|\[\d+\]|[^\w\s]|\n")
_CITATION = re.compile(r"\[\d+\]")
#: How many content words after the cut are read for the question going on.
_LOOK_AHEAD = 3
#: :func:`answer_start`'s answer for "Yes, <the question again>.": keep only the yes or no.
YES_NO_ONLY = -1


def _key(word: str) -> str:
    """What a word is matched by: its Porter stem, a possessive "'s" aside ("planned": "plan")."""
    return porter_stem(re.sub(r"['’]s?$", "", word.lower()))


@functools.lru_cache(maxsize=32)
def _positions(question: str) -> dict[str, list[int]]:
    """Where each word of ``question`` stands (by :func:`_key`), question words left out; read
    once per question, though a stream asks :func:`answer_start` at every piece."""
    positions: dict[str, list[int]] = {}
    for place, word in enumerate(re.findall(r"[\w'’-]+", question)):
        if word.lower() not in _QUESTION_WORDS:
            positions.setdefault(_key(word), []).append(place)
    return positions


def _is_word(token: str) -> bool:
    return bool(re.match(r"\w", token))


def answer_start(question: str, text: str, complete: bool = True) -> int | None:
    """Where the answer proper starts in ``text`` (0: nothing to drop; :data:`YES_NO_ONLY`:
    only its opening yes or no stands; see the module doc).

    With ``complete`` false, ``text`` is the start of an answer still being written: None
    means the words so far do not decide it yet.
    """
    positions = _positions(question)
    if not complete:
        text = re.sub(r"\[\d*$", "", text)  # a citation being written is not read yet
    tokens = list(_TOKEN.finditer(text))
    if not complete and tokens and tokens[-1].end() == len(text):
        tokens = tokens[:-1]  # the last word may still grow
    first = 0
    yes_no = None
    if tokens and tokens[0].group().lower() in ("yes", "no"):
        if len(tokens) < 2:
            return None if not complete else 0
        if tokens[1].group() == ",":
            yes_no, first = tokens[0].group(), 2
    last = -1  # the question position matched last
    content = 0
    kinds: list[str] = []  # per token from ``first``: "question", "copula", "function", "comma"
    cut = None
    for at in range(first, len(tokens)):
        token = tokens[at].group()
        if token == ",":
            kinds.append("comma")
            continue
        if not _is_word(token):
            cut = at
            break
        keys = {_key(token), _key(_ASKER.get(token.lower(), token))}
        later = sorted(p for key in keys for p in positions.get(key, []) if p > last)
        if later:
            last = later[0]
            kinds.append("question")
            content += token.lower() not in FUNCTION_WORDS and token.lower() not in _ASKER
            continue
        if token.lower() in FUNCTION_WORDS:
            kinds.append("copula" if token.lower() in _COPULAS else "function")
            continue
        cut = at
        break
    if yes_no:
        return _yes_no_start(text, tokens, cut, content, complete)
    if cut is None:
        return None if not complete else 0
    if content < 2:
        return 0
    if not _is_word(tokens[cut].group()):
        return 0
    start = cut
    while (
        start > first
        and tokens[start - 1].group().lower() in _ANSWER_LEADS
        and kinds[start - 1 - first] != "question"
    ):
        start -= 1
    before = [k for k in kinds[: start - first] if k != "comma"]
    if start == first or not before or before[-1] not in ("question", "copula"):
        return 0
    ahead = []
    for match in tokens[cut:]:
        word = match.group()
        if not _is_word(word):
            if word in (".", "!", "?", "\n"):
                break
            continue
        if word.lower() not in FUNCTION_WORDS:
            ahead.append(word)
        if len(ahead) == _LOOK_AHEAD:
            break
    else:
        if not complete:
            return None  # the next words may still say the question on
    if any(p > last for word in ahead for p in positions.get(_key(word), [])):
        return 0
    return tokens[start].start()


def _yes_no_start(
    text: str, tokens: list[re.Match[str]], cut: int | None, content: int, complete: bool
) -> int | None:
    # "Yes, <the question again>." is "Yes.": only citations and the full stop may follow.
    if cut is None:
        return None if not complete else (YES_NO_ONLY if content >= 2 else 0)
    if _is_word(tokens[cut].group()) or content < 2:
        return 0
    tail = _CITATION.sub("", text[tokens[cut].start() :])
    if tail.strip(" .!"):
        return 0
    return YES_NO_ONLY if complete else None


def _shaped(text: str, start: int) -> str:
    if start == 0:
        return text
    if start == YES_NO_ONLY:  # "Yes, <the question again>." -> "Yes." with the citations
        tokens = list(_TOKEN.finditer(text))
        citations = "".join(_CITATION.findall(text))
        return f"{tokens[0].group()}{' ' + citations if citations else ''}."
    rest = text[start:]
    return rest[:1].upper() + rest[1:]


def drop_restated(question: str, text: str) -> str:
    """``text`` without an opening that restates ``question`` (see the module doc)."""
    return _shaped(text, answer_start(question, text) or 0)  # complete: never None


class RestatedStream:
    """Passes an answer's pieces on to ``on_token`` as :func:`drop_restated` would leave them:
    the opening words are held until it is known whether they restate the question."""

    def __init__(self, question: str, on_token: Callable[[str], None]) -> None:
        self.question = question
        self.on_token = on_token
        self.held = ""
        self.decided = False
        self.shown = ""

    def __call__(self, piece: str) -> None:
        if self.decided:
            self._show(piece)
            return
        self.held += piece
        start = answer_start(self.question, self.held, complete=False)
        if start is not None:
            self._decide(start)

    def close(self) -> str:
        """Send what is still held; returns all that was shown."""
        if not self.decided:
            self._decide(answer_start(self.question, self.held) or 0)
        return self.shown

    def _decide(self, start: int) -> None:
        self.decided = True
        held, self.held = self.held, ""
        self._show(_shaped(held, start))

    def _show(self, piece: str) -> None:
        if piece:
            self.shown += piece
            self.on_token(piece)

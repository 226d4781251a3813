"""The Porter stemmer (1980), with the variations of NLTK's default mode (tests hold it to NLTK).

Used to compare words by their stems: LoCoMo's answer scorer (:mod:`secondme.eval.metrics`)
and the answer checks of :mod:`secondme.answer`.
"""

from __future__ import annotations

from collections.abc import Sequence

_VOWELS = frozenset("aeiou")

# Irregular forms that NLTK's default mode maps directly, bypassing the rules.
_IRREGULAR = {
    "skies": "sky",
    "sky": "sky",
    "dying": "die",
    "lying": "lie",
    "tying": "tie",
    "news": "news",
    "innings": "inning",
    "inning": "inning",
    "outings": "outing",
    "outing": "outing",
    "cannings": "canning",
    "canning": "canning",
    "howe": "howe",
    "proceed": "proceed",
    "exceed": "exceed",
    "succeed": "succeed",
}


def _consonants(word: str) -> list[bool]:
    """For each letter, whether it counts as a consonant (``y`` after a consonant is a vowel)."""
    flags: list[bool] = []
    for i, ch in enumerate(word):
        if ch in _VOWELS:
            flags.append(False)
        elif ch == "y":
            flags.append(i == 0 or not flags[i - 1])
        else:
            flags.append(True)
    return flags


def _measure(stem: str) -> int:
    """Porter's m: how many vowel-run-then-consonant-run pairs the stem has."""
    flags = _consonants(stem)
    return sum(1 for i in range(1, len(flags)) if flags[i] and not flags[i - 1])


def _has_vowel(stem: str) -> bool:
    return not all(_consonants(stem))


def _ends_double_consonant(word: str) -> bool:
    return len(word) >= 2 and word[-1] == word[-2] and _consonants(word)[-1]


def _ends_cvc(word: str) -> bool:
    """Consonant-vowel-consonant ending (last not w, x, y), or a two-letter vowel-consonant word."""
    flags = _consonants(word)
    if len(word) >= 3:
        return flags[-3] and not flags[-2] and flags[-1] and word[-1] not in "wxy"
    return len(word) == 2 and not flags[0] and flags[1]


_Rule = tuple[str, str, int]  # suffix, replacement, measure the remaining stem must exceed


def _apply_rules(word: str, rules: Sequence[_Rule]) -> str:
    # The first rule whose suffix matches decides, whether or not its condition holds: a word
    # ending in "ational" with too short a stem is not then tried against "tional".
    for suffix, replacement, min_measure in rules:
        if word.endswith(suffix):
            stem = word[: len(word) - len(suffix)]
            return stem + replacement if _measure(stem) > min_measure else word
    return word


_STEP2: tuple[_Rule, ...] = (
    ("ational", "ate", 0),
    ("tional", "tion", 0),
    ("enci", "ence", 0),
    ("anci", "ance", 0),
    ("izer", "ize", 0),
    ("bli", "ble", 0),
    ("alli", "al", 0),
    ("entli", "ent", 0),
    ("eli", "e", 0),
    ("ousli", "ous", 0),
    ("ization", "ize", 0),
    ("ation", "ate", 0),
    ("ator", "ate", 0),
    ("alism", "al", 0),
    ("iveness", "ive", 0),
    ("fulness", "ful", 0),
    ("ousness", "ous", 0),
    ("aliti", "al", 0),
    ("iviti", "ive", 0),
    ("biliti", "ble", 0),
    ("fulli", "ful", 0),
)
_STEP3: tuple[_Rule, ...] = (
    ("icate", "ic", 0),
    ("ative", "", 0),
    ("alize", "al", 0),
    ("iciti", "ic", 0),
    ("ical", "ic", 0),
    ("ful", "", 0),
    ("ness", "", 0),
)
_STEP4_SUFFIXES = (
    "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent",
    "ion", "ou", "ism", "ate", "iti", "ous", "ive", "ize",
)  # fmt: skip


def _step1a(word: str) -> str:
    if word.endswith("ies") and len(word) == 4:
        return word[:-1]  # "dies" -> "die", not "di"
    if word.endswith("sses") or word.endswith("ies"):
        return word[:-2]
    if word.endswith("ss"):
        return word
    if word.endswith("s"):
        return word[:-1]
    return word


def _step1b(word: str) -> str:
    if word.endswith("ied"):
        return word[:-1] if len(word) == 4 else word[:-2]
    if word.endswith("eed"):
        return word[:-1] if _measure(word[:-3]) > 0 else word
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and _has_vowel(word[: -len(suffix)]):
            stem = word[: -len(suffix)]
            break
    else:
        return word
    if stem.endswith(("at", "bl", "iz")):
        return stem + "e"
    if _ends_double_consonant(stem):
        return stem if stem[-1] in "lsz" else stem[:-1]
    if _measure(stem) == 1 and _ends_cvc(stem):
        return stem + "e"
    return stem


def _step1c(word: str) -> str:
    # y -> i only after a consonant that is not the first letter: "happy" -> "happi",
    # "enjoy" and "say" unchanged.
    if word.endswith("y") and len(word) > 2 and _consonants(word)[-2]:
        return word[:-1] + "i"
    return word


def _step2(word: str) -> str:
    if word.endswith("alli") and _measure(word[:-4]) > 0:
        return _step2(word[:-4] + "al")
    if word.endswith("logi"):
        # The "l" stays with the stem for the measure, so "geologi" stems like "archaeologi".
        return word[:-1] if _measure(word[:-3]) > 0 else word
    return _apply_rules(word, _STEP2)


def _step4(word: str) -> str:
    for suffix in _STEP4_SUFFIXES:
        if word.endswith(suffix):
            stem = word[: -len(suffix)]
            if suffix == "ion" and not stem.endswith(("s", "t")):
                return word
            return stem if _measure(stem) > 1 else word
    return word


def _step5(word: str) -> str:
    if word.endswith("e"):
        stem = word[:-1]
        m = _measure(stem)
        if m > 1 or (m == 1 and not _ends_cvc(stem)):
            word = stem
    if word.endswith("ll") and _measure(word[:-1]) > 1:
        word = word[:-1]
    return word


def porter_stem(word: str) -> str:
    """Stem one word with the Porter algorithm (lowercased; NLTK's default-mode variations).

    Besides the published 1980 rules this applies the variations NLTK's ``PorterStemmer``
    uses by default, because LoCoMo's official scorer stems with it: a small table of
    irregular forms, words of one or two letters left alone, ``-ies``/``-ied`` on four-letter
    words keeping the ``e`` ("dies" -> "die"), ``y`` -> ``i`` only after a consonant,
    ``-alli`` -> ``-al`` applied first and re-run, ``-bli`` -> ``-ble``, ``-fulli`` -> ``-ful``
    and ``-logi`` -> ``-log``.
    """
    word = word.lower()
    if word in _IRREGULAR:
        return _IRREGULAR[word]
    if len(word) <= 2:
        return word
    word = _step1a(word)
    word = _step1b(word)
    word = _step1c(word)
    word = _step2(word)
    word = _apply_rules(word, _STEP3)
    word = _step4(word)
    return _step5(word)

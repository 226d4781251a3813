"""The Porter stemmer matches NLTK's (the one the LoCoMo scorer is defined with), word for word.

secondme keeps its own copy so that `mem ask` does not pay for importing NLTK (~0.2 s); this test
holds the copy to the reference on every word of the repository's texts and, where present, the
benchmark conversations.
"""

from __future__ import annotations

import json
import re

import pytest

from secondme.stemmer import porter_stem
from tests.conftest import REPO, SHARED

nltk_porter = pytest.importorskip("nltk.stem.porter")

WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def test_matches_nltk_on_the_repository_texts():
    words: set[str] = set()
    for path in [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "secondme").rglob("*.py"))]:
        words |= _words(path.read_text(encoding="utf-8"))
    for path in sorted((REPO / "tests").rglob("*.py")):
        words |= _words(path.read_text(encoding="utf-8"))
    reference = nltk_porter.PorterStemmer()
    assert len(words) > 3000
    wrong = {w: (porter_stem(w), reference.stem(w)) for w in words if porter_stem(w) != reference.stem(w)}
    assert wrong == {}


@pytest.mark.skipif(not (SHARED / "bench").is_dir(), reason="../shared/bench is not here")
def test_matches_nltk_on_the_benchmark_conversations():
    words: set[str] = set()
    for path in sorted((SHARED / "bench").rglob("*.json"))[:4]:
        words |= _words(json.dumps(json.loads(path.read_text(encoding="utf-8"))))
    reference = nltk_porter.PorterStemmer()
    assert len(words) > 5000
    wrong = {w: (porter_stem(w), reference.stem(w)) for w in words if porter_stem(w) != reference.stem(w)}
    assert wrong == {}

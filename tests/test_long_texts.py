"""Long texts from every path are split into memories that fit the embedder and the prompt."""

from __future__ import annotations

import json
import random
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from secondme.errors import EXIT_OK, EXIT_USAGE
from secondme.memory import NewMemory
from secondme.textsplit import estimate_tokens, snippet, split_spans, split_text, visible_length
from tests.cli_helpers import UNEXPECTED, invoke

WORDS = [
    "the",
    "garden",
    "needs",
    "water",
    "and",
    "Ana",
    "said",
    "we",
    "should",
    "plant",
    "tomatoes",
    "before",
    "May",
]


def long_text(words: int, seed: int = 1) -> str:
    chooser = random.Random(seed)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(" ".join(chooser.choice(WORDS) for _ in range(chooser.randint(4, 18))) + ".")
    return " ".join(sentences)


def words(text: str) -> list[str]:
    return text.split()


def check_parts(memories: list[dict], original: str) -> None:
    """Each part fits; together, in order, they are the original text; they name each other."""
    from secondme import config
    from secondme.service import Secondme

    settings_ = config.load()
    app = Secondme()
    assert len(memories) > 1
    for number, memory in enumerate(memories, start=1):
        assert visible_length(memory["text"]) <= settings_.answer.max_memory_chars
        assert app.count_tokens(app.embedding_text(app.store.get(memory["id"]))) + 2 <= 256
        assert memory["metadata"]["part"] == number
        assert memory["metadata"]["parts"] == len(memories)
    assert len({m["metadata"]["part_of"] for m in memories}) == 1
    assert words(" ".join(m["text"] for m in memories)) == words(original)


def listed() -> list[dict]:
    outcome = invoke(["list", "--json", "--limit", "1000"])
    return sorted(json.loads(outcome.stdout), key=lambda m: m["id"])


def test_a_long_stdin_to_mem_add_is_split_never_cut():
    text = long_text(2500)  # about 15 KB
    outcome = invoke(["add", "--json"], input=text)
    assert outcome.code == EXIT_OK and UNEXPECTED not in outcome.stderr, outcome.stderr
    result = json.loads(outcome.stdout)
    memories = listed()
    assert result["ids"] == [m["id"] for m in memories] and result["id"] == memories[0]["id"]
    check_parts(memories, text)
    again = json.loads(invoke(["add", "--json"], input=text).stdout)
    assert again["ids"] == result["ids"] and not again["created"]  # the same parts, once


def test_a_long_argument_says_how_many_parts():
    text = long_text(400, seed=2)
    outcome = invoke(["add", text])
    assert outcome.code == EXIT_OK
    count = len(listed())
    assert count > 1 and outcome.stdout.startswith(f"Remembered in {count} parts #1, #2")


def test_a_long_line_in_mem_import_is_split(tmp_path):
    text = long_text(600, seed=3)
    file = tmp_path / "in.jsonl"
    file.write_text(json.dumps({"text": "short one", "type": "semantic"}) + "\n" + json.dumps({"text": text}))
    outcome = invoke(["import", str(file), "--json"])
    assert outcome.code == EXIT_OK, outcome.stderr
    memories = listed()
    assert json.loads(outcome.stdout) == {"added": len(memories), "unchanged": 0}
    check_parts([m for m in memories if m["text"] != "short one"], text)


def test_a_long_paragraph_in_a_note_is_split(tmp_path):
    text = long_text(700, seed=4)
    note = tmp_path / "essay.md"
    note.write_text(f"# Essay\n\n## Part one\n\n{text}\n", encoding="utf-8")
    outcome = invoke(["ingest", str(note), "--json"])
    assert outcome.code == EXIT_OK, outcome.stderr
    memories = listed()
    # The note reader cuts the paragraph into chunks that fit one memory each, so the core cuts
    # none of them again and every one starts with the heading path it was written under.
    assert len(memories) > 3
    for memory in memories:
        assert memory["text"].startswith("Essay > Part one\n\n")
        assert "part_of" not in memory["metadata"]
        assert len(memory["text"]) <= 500
    kept = " ".join(m["text"].removeprefix("Essay > Part one\n\n") for m in memories)
    assert words(kept) == words(text)


def test_a_core_memory_too_long_for_one_memory_is_refused():
    outcome = invoke(["core", "set", "bio", long_text(300, seed=5)])
    assert outcome.code == EXIT_USAGE
    (line,) = outcome.stderr.strip().splitlines()
    assert line.startswith("error: a core memory must fit in one memory (500 characters, 256 tokens)")
    assert line.endswith("(shorten it, or store the long text with another --type)")
    assert listed() == []


TEXT = st.text(
    alphabet=st.sampled_from([*list("abcdefghij XYZ.,!?\n\n\t"), "é", "漢", "字", "😀", "\u200b"]),
    max_size=3000,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=TEXT, max_tokens=st.integers(1, 300), max_chars=st.integers(1, 800))
def test_parts_fit_and_lose_nothing(text, max_tokens, max_chars):
    spans = split_spans(text, max_tokens, max_chars)
    parts = [text[a:b] for a, b in spans]
    for part in parts:
        assert part.strip() and visible_length(part) <= max_chars
        assert estimate_tokens(part) <= max_tokens or len(part) == 1
    # In order, without overlap, and only whitespace left out between them.
    position = 0
    for start, end in spans:
        assert start >= position and not text[position:start].strip()
        position = end
    assert not text[position:].strip()
    assert split_text(text, max_tokens, max_chars) == parts


def test_the_real_tokenizer_agrees_that_parts_fit(tmp_path: Path):
    from secondme.service import Secondme

    app = Secondme()
    text = "Supercalifragilisticexpialidocious 1234567890 漢字 " * 300
    for part in app.split(NewMemory(text=text)):
        assert app.count_tokens(part.text) + 2 <= 256 and visible_length(part.text) <= 500


def test_a_snippet_is_one_line_cut_to_its_width():
    assert snippet("Went to the\n  dentist,\tDr Okafor") == "Went to the dentist, Dr Okafor"
    assert snippet("abcdefghij", 10) == "abcdefghij"
    assert snippet("abcdefghijk", 10) == "abcdefghi…" and len(snippet("x " * 200, 60)) == 60

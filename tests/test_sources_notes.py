"""Notes: Markdown, plain text and Org files become chunked resource memories."""

from __future__ import annotations

from pathlib import Path

import pytest

from secondme.ingest.sources import NotesSource, detect_source
from secondme.ingest.sources.base import ParseError, read_head
from secondme.ingest.sources.notes import (
    CHUNK_CHARS,
    find_links,
    find_tags,
    parse_date,
    parse_front_matter,
    parse_note,
)
from secondme.memory import MemoryType

TRIP = """\
---
title: Trip plans
date: 2024-03-02
tags: [travel, "family"]
people:
  - Anna
  - Ben
---
We go in spring with [[Anna]]. #planning

# Trip plans

## Lisbon
We stay at [[Hotel Avenida|the hotel on the avenue]]. #travel/portugal

```python
# not a heading
x = "#notatag [[notalink]]"
```

### Food
Pastéis de nata at [[Manteigaria]].

## Porto
Train on Friday, see `#notatag` in code. Anchors like https://example.org/a#b are not tags.
"""


def note(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_note_is_chunked_by_heading(tmp_path: Path) -> None:
    path = note(tmp_path, "trip.md", TRIP)
    result = parse_note(path)
    assert result.format == "markdown"
    assert result.messages == [] and result.problems == []
    heads = [d.text.split("\n\n", 1)[0] for d in result.drafts]
    # The H1 repeats the title, so it is not repeated in the path.
    assert heads == [
        "Trip plans",
        "Trip plans > Lisbon",
        "Trip plans > Lisbon > Food",
        "Trip plans > Porto",
    ]
    intro, lisbon, food, porto = result.drafts
    for index, draft in enumerate(result.drafts):
        draft.validate()
        assert draft.type is MemoryType.RESOURCE
        assert draft.source_kind == "note" and draft.resource_kind == "note"
        assert draft.title == "Trip plans"
        assert draft.path == str(path.resolve())
        assert draft.occurred_at == "2024-03-02"
        assert draft.tags == ["travel", "family", "planning", "travel/portugal"]
        assert draft.metadata["chunk"] == index
    assert intro.text == "Trip plans\n\nWe go in spring with Anna. #planning"
    assert intro.source_ref == f"{path}:9-9"
    assert intro.metadata["links"] == ["Anna"] and intro.metadata["heading"] is None
    # Aliased wikilinks read as their alias; code is left exactly as written.
    assert "We stay at the hotel on the avenue." in lisbon.text
    assert 'x = "#notatag [[notalink]]"' in lisbon.text
    assert lisbon.metadata["links"] == ["Hotel Avenida"]
    assert lisbon.metadata["heading"] == "Lisbon"
    assert lisbon.metadata["lines"] == [13, 19]
    assert lisbon.source_ref == f"{path}:13-19"
    assert food.metadata["heading"] == "Lisbon > Food"
    assert food.metadata["links"] == ["Manteigaria"]
    assert porto.metadata["lines"] == [24, 25]


def test_front_matter_parser() -> None:
    lines = [
        "---",
        "title: 'Quoted: title'",
        "tags:",
        "  - a",
        "  - b",
        "aliases: [x, 'y, z']",
        "empty:",
        "note: keep #this # but not this comment",
        "---",
        "body",
    ]
    fields, used = parse_front_matter(lines)
    assert used == 9
    assert fields == {
        "title": "Quoted: title",
        "tags": ["a", "b"],
        "aliases": ["x", "y, z"],
        "empty": "",
        "note": "keep #this",
    }
    assert parse_front_matter(["no", "front matter"]) == ({}, 0)


def test_tags_and_links_skip_code_and_headings() -> None:
    text = (
        "# Heading\n#real and #also/nested, not a#b, not &#39; or `#inline`\n"
        "```\n#fenced [[nope]]\n```\n![[diagram.png]] [[Page#Section|alias]] [[Page]]\n"
    )
    assert find_tags(text) == ["real", "also/nested"]
    assert find_links(text) == ["diagram.png", "Page"]


def test_dates() -> None:
    assert parse_date("2024-03-02") == "2024-03-02"
    assert parse_date("2024-03-02T10:30:00") == "2024-03-02T10:30:00"
    assert parse_date("<2024-03-02 Sat>") == "2024-03-02"
    assert parse_date("02.03.2024") == "2024-03-02"
    assert parse_date("next tuesday") is None


def test_bad_front_matter_date_is_a_problem(tmp_path: Path) -> None:
    path = note(tmp_path, "n.md", "---\ndate: someday\n---\nText\n")
    result = parse_note(path)
    assert result.drafts[0].occurred_at is None
    assert [p.where for p in result.problems] == ["front matter"]


def test_unclosed_front_matter_is_kept_as_text(tmp_path: Path) -> None:
    path = note(tmp_path, "n.md", "---\ntitle: x\nNo closing line\n")
    result = parse_note(path)
    assert result.problems[0].where == "line 1"
    assert "No closing line" in result.drafts[0].text


def test_long_sections_split_on_paragraphs(tmp_path: Path) -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 60 for i in range(12)]  # ~330 chars each
    path = note(tmp_path, "long.md", "# Log\n\n" + "\n\n".join(paragraphs) + "\n")
    result = parse_note(path)
    assert len(result.drafts) > 3
    for draft in result.drafts:
        prefix, body = draft.text.split("\n\n", 1)
        assert prefix == "Log"  # the H1 is the title
        assert len(draft.text) <= CHUNK_CHARS
        assert body.startswith("Paragraph ")
    starts = [d.metadata["lines"][0] for d in result.drafts]
    assert starts == sorted(starts) and starts[0] == 1
    joined = " ".join(d.text for d in result.drafts)
    assert all(f"Paragraph {i} " in joined for i in range(12))


def test_one_huge_paragraph_is_split_between_sentences(tmp_path: Path) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    result = parse_note(note(tmp_path, "wall.txt", text))
    assert len(result.drafts) >= 4
    for draft in result.drafts:
        body = draft.text.split("\n\n", 1)[1]
        assert len(draft.text) <= CHUNK_CHARS
        assert body.endswith(".")


def test_plain_text_note(tmp_path: Path) -> None:
    path = note(tmp_path, "groceries.txt", "Milk and eggs #shopping\n\nCall the plumber\n")
    result = parse_note(path)
    assert result.format == "text"
    (draft,) = result.drafts
    assert draft.title == "groceries"
    assert draft.text == "groceries\n\nMilk and eggs #shopping\n\nCall the plumber"
    assert draft.tags == ["shopping"]
    assert draft.source_ref == f"{path}:1-3"
    assert draft.occurred_at is None


def test_org_note(tmp_path: Path) -> None:
    text = """\
#+TITLE: Garden
#+DATE: <2024-04-10 Wed>
#+FILETAGS: :home:outdoors:
Intro line.
* TODO Tomatoes                                                  :plants:
:PROPERTIES:
:ID: 1234
:END:
Plant after the last frost. See [[file:seeds.org][seed list]].
** Varieties
San Marzano and [[https://example.org]].
#+BEGIN_SRC shell
* not a heading
#+END_SRC
"""
    path = note(tmp_path, "garden.org", text)
    result = parse_note(path)
    assert result.format == "org"
    heads = [d.text.split("\n\n", 1)[0] for d in result.drafts]
    assert heads == ["Garden", "Garden > Tomatoes", "Garden > Tomatoes > Varieties"]
    intro, tomatoes, varieties = result.drafts
    assert intro.text == "Garden\n\nIntro line."
    assert "ID: 1234" not in tomatoes.text  # property drawers are metadata
    assert tomatoes.text.endswith("Plant after the last frost. See seed list.")
    assert tomatoes.metadata["links"] == ["file:seeds.org"]
    assert "* not a heading" in varieties.text
    assert varieties.metadata["links"] == ["https://example.org"]
    assert intro.occurred_at == "2024-04-10"
    assert intro.tags == ["home", "outdoors", "plants"]


def test_org_content_in_a_txt_file_is_read_as_org(tmp_path: Path) -> None:
    path = note(tmp_path, "x.txt", "#+title: Hidden org\n* Part\nBody\n")
    result = parse_note(path)
    assert result.format == "org"
    assert result.drafts[0].text == "Hidden org > Part\n\nBody"


def test_binary_junk_with_a_text_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "junk.md"
    path.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(ParseError, match="looks like a binary file"):
        parse_note(path)
    assert NotesSource().can_parse(path, read_head(path)) is False


def test_legacy_8bit_text_is_read_as_windows_1252_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café au lait\n".encode("latin-1"))
    result = parse_note(path)
    (draft,) = result.drafts
    assert draft.text == "latin\n\nCafé au lait"
    assert [(p.where, "Windows-1252" in p.reason) for p in result.problems] == [("encoding", True)]


def test_broken_bytes_in_utf8_are_replaced_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "mixed.txt"
    path.write_bytes("Olá, ".encode() + b"\xff\xfe" + " até já, see you at the harbour\n".encode())
    result = parse_note(path)
    (draft,) = result.drafts
    assert draft.text == "mixed\n\nOlá, \ufffd\ufffd até já, see you at the harbour"
    assert result.problems[0].where == "encoding"
    assert "offset 6" in result.problems[0].reason and "2 character(s)" in result.problems[0].reason


def test_empty_note_makes_no_memory(tmp_path: Path) -> None:
    result = parse_note(note(tmp_path, "empty.md", "---\ntitle: x\n---\n\n   \n"))
    assert result.drafts == []
    assert [p.reason for p in result.problems] == ["the note has no text"]


def test_detection_is_by_content_and_name(tmp_path: Path) -> None:
    md = note(tmp_path, "a.md", "# Hello\n")
    assert isinstance(detect_source(md), NotesSource)
    fake = tmp_path / "picture.md"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    assert not NotesSource().can_parse(fake, read_head(fake))
    other = note(tmp_path, "data.csv", "a,b\n1,2\n")
    assert detect_source(other) is None

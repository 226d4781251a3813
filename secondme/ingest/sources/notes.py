"""Notes: Markdown (Obsidian-flavoured), plain text and Org files.

A note becomes resource memories chunked along its structure: one chunk per heading section, and
long sections split between paragraphs so that no chunk grows past ``CHUNK_CHARS``.  Every
chunk starts with the note's title and heading path (``Trip plans > Lisbon``) because a chunk
read alone, by the retriever or by a model, has lost the headings above it.

Front matter is read with a small parser of our own (``key: value``, inline ``[a, b]`` lists and
``- item`` lists), which is all notes use and keeps YAML's surprises (``no`` becoming False,
dates becoming objects) out of the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ParseError,
    ParseProblem,
    ParseResult,
    decode_checked,
    head_text,
    looks_binary,
    read_bytes,
)
from secondme.memory import MemoryType, NewMemory

#: A chunk, heading path included, stays within this many characters: under the core's
#: ``answer.max_memory_chars`` (500 by default, less a margin for rendered links), so the core
#: never cuts it again and every memory of a note starts with its heading path.
CHUNK_CHARS = 480
#: However long a heading path, a chunk's body may hold at least this much.
MIN_BODY_CHARS = 200

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown", ".mkd"}
TEXT_SUFFIXES = {".txt", ".text"}
ORG_SUFFIXES = {".org"}
NOTE_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | ORG_SUFFIXES

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_WIKILINK = re.compile(r"(!?)\[\[([^\[\]|#^]*)(?:[#^][^\[\]|]*)?(?:\|([^\[\]]*))?\]\]")
_ORG_LINK = re.compile(r"\[\[([^\[\]]+)\](?:\[([^\[\]]*)\])?\]")
# Obsidian tags: "#" then a letter, digits and "/-_"; not after a word character (URL anchors),
# "&" (HTML entities) or "#" (a heading's "##").
_TAG = re.compile(r"(?<![\w&#/])#([A-Za-z_][\w/-]*)")
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_ORG_HEADING = re.compile(r"^(\*+)\s+(.*?)\s*$")
_ORG_HEADING_TAGS = re.compile(r"\s+(:[\w@#%:]+:)\s*$")
_ORG_KEYWORD = re.compile(r"^#\+(\w+):\s*(.*)$")
_ORG_TODO = re.compile(r"^(?:TODO|DONE|NEXT|WAITING|CANCELLED|CANCELED)\s+")


# ---------------------------------------------------------------------------------------------
# Detection


def note_format(path: Path, head: bytes) -> str | None:
    """``markdown``, ``org`` or ``text`` when the file is a note by name and by content."""
    suffix = path.suffix.lower()
    if suffix not in NOTE_SUFFIXES:
        return None
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"PK\x03\x04", b"SQLite format 3", b"%PDF")):
        return None
    text = head_text(head)
    if looks_binary(text):
        return None
    if suffix in ORG_SUFFIXES or re.match(r"(?i)#\+title:", text.lstrip()):
        return "org"
    if suffix in MARKDOWN_SUFFIXES or text.startswith("---\n") or text.startswith("---\r\n"):
        return "markdown"
    return "text"


# ---------------------------------------------------------------------------------------------
# Front matter


def parse_front_matter(lines: list[str]) -> tuple[dict[str, Any], int]:
    """Parse ``---`` delimited front matter; returns (fields, number of lines it used).

    Handles ``key: value``, quoted values, inline lists ``[a, b]`` and block lists of
    ``- item`` lines.  Anything fancier (nested maps, multi-line strings) is kept as raw text.
    """
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = None
    for index in range(1, min(len(lines), 500)):
        if lines[index].strip() in ("---", "..."):
            end = index
            break
    if end is None:
        return {}, 0
    fields: dict[str, Any] = {}
    key: str | None = None
    for raw in lines[1:end]:
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        item = re.match(r"^\s*-\s+(.*)$", raw)
        if item and key is not None:
            current = fields.get(key)
            if not isinstance(current, list):
                current = [] if current in (None, "") else [current]
            current.append(_scalar(item.group(1)))
            fields[key] = current
            continue
        pair = re.match(r"^([A-Za-z0-9_][\w .-]*?)\s*:(?:\s+(.*))?$", raw)
        if pair and not raw[:1].isspace():
            key = pair.group(1).strip()
            value = (pair.group(2) or "").strip()
            if value.startswith("[") and value.endswith("]"):
                fields[key] = [_scalar(v) for v in _split_inline_list(value[1:-1])]
            else:
                fields[key] = _scalar(value)
    return fields, end + 1


def _split_inline_list(body: str) -> list[str]:
    return [
        part.strip() for part in re.split(r",(?=(?:[^\"']*[\"'][^\"']*[\"'])*[^\"']*$)", body) if part.strip()
    ]


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    # A trailing " # comment" is YAML; a "#tag" value is not a comment.
    return re.sub(r"\s+#\s.*$", "", value)


def _as_list(value: Any) -> list[str]:
    if value is None or value == "":
        return []
    items = [str(v) for v in value] if isinstance(value, list) else re.split(r"[,\s]+", str(value))
    return [item.strip().lstrip("#") for item in items if item.strip().lstrip("#")]


def parse_date(value: Any) -> str | None:
    """An ISO date or datetime from a front matter ``date`` (None when it is not a date)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().strip("<>[]")
    # Org timestamps carry a weekday: "2023-01-02 Mon 10:00".
    text = re.sub(r"^(\d{4}-\d{2}-\d{2})\s+[A-Za-z]{2,3}\.?", r"\1", text).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for fmt in ("%Y/%m/%d", "%d.%m.%Y", "%Y-%m-%d %H:%M", "%d %B %Y", "%B %d, %Y"):
            try:
                parsed = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if len(text) <= 10 and parsed.hour == parsed.minute == parsed.second == 0:
        return parsed.date().isoformat()
    return parsed.isoformat()


# ---------------------------------------------------------------------------------------------
# Structure


@dataclass
class _Section:
    path: list[str]  # heading texts from the top level down; empty for the preamble
    heading_line: int | None  # 1-based line of the heading, None for the preamble
    lines: list[tuple[int, str]] = field(default_factory=list)  # (1-based number, text)


@dataclass
class _Block:
    """A paragraph or a code block, the unit chunks are cut between."""

    start: int
    end: int
    text: str


def _markdown_sections(lines: list[str], first: int) -> list[_Section]:
    """Split Markdown lines (after front matter) into heading sections, minding code fences."""
    sections = [_Section(path=[], heading_line=None)]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    index = first
    while index < len(lines):
        line = lines[index]
        number = index + 1
        fence_match = _FENCE.match(line)
        if fence is not None:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = None
            sections[-1].lines.append((number, line))
            index += 1
            continue
        if fence_match:
            fence = fence_match.group(1)
            sections[-1].lines.append((number, line))
            index += 1
            continue
        level, title = 0, ""
        atx = _ATX.match(line)
        if atx:
            level, title = len(atx.group(1)), (atx.group(2) or "").strip()
        elif (
            index + 1 < len(lines)
            and line.strip()
            and _SETEXT.match(lines[index + 1])
            and not _FENCE.match(line)
            and not re.match(r"^\s*([-*+]|\d+[.)])\s", line)
            and (index == first or not lines[index - 1].strip())
        ):
            # A one-line paragraph underlined with === or --- is a heading (levels 1 and 2).
            level = 1 if lines[index + 1].strip().startswith("=") else 2
            title = line.strip()
            index += 1  # the underline belongs to the heading
        if level:
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title or "(untitled)"))
            sections.append(_Section(path=[t for _, t in stack], heading_line=number))
        else:
            sections[-1].lines.append((number, line))
        index += 1
    return sections


def _org_sections(lines: list[str], first: int) -> tuple[list[_Section], list[str]]:
    """Split Org lines into heading sections; also return the tags found on headings."""
    sections = [_Section(path=[], heading_line=None)]
    stack: list[tuple[int, str]] = []
    tags: list[str] = []
    in_block = False
    in_drawer = False
    for index in range(first, len(lines)):
        line = lines[index]
        number = index + 1
        lowered = line.strip().lower()
        if in_block:
            in_block = not lowered.startswith("#+end_")
            sections[-1].lines.append((number, line))
            continue
        if lowered.startswith("#+begin_"):
            in_block = True
            sections[-1].lines.append((number, line))
            continue
        if in_drawer:
            in_drawer = lowered != ":end:"
            continue
        if re.match(r"^:[A-Za-z_]+:\s*$", line.strip()) and lowered != ":end:":
            in_drawer = True  # :PROPERTIES: and :LOGBOOK: drawers are metadata, not prose
            continue
        if _ORG_KEYWORD.match(line):
            continue  # "#+KEY: value" lines were read as front matter
        heading = _ORG_HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            title = heading.group(2)
            tag_match = _ORG_HEADING_TAGS.search(title)
            if tag_match:
                tags.extend(t for t in tag_match.group(1).split(":") if t)
                title = title[: tag_match.start()]
            title = _ORG_TODO.sub("", title).strip() or "(untitled)"
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            sections.append(_Section(path=[t for _, t in stack], heading_line=number))
        else:
            sections[-1].lines.append((number, line))
    return sections, tags


def _blocks(section_lines: list[tuple[int, str]], fmt: str) -> list[_Block]:
    """Paragraphs separated by blank lines; code blocks stay whole (blank lines and all)."""
    blocks: list[_Block] = []
    current: list[tuple[int, str]] = []
    fence: str | None = None

    def flush() -> None:
        if current:
            text = "\n".join(t for _, t in current).strip("\n")
            if text.strip():
                blocks.append(_Block(current[0][0], current[-1][0], text))
            current.clear()

    for number, line in section_lines:
        if fmt == "markdown":
            match = _FENCE.match(line)
            if fence is None and match:
                fence = match.group(1)
            elif fence is not None and match and match.group(1)[0] == fence[0]:
                fence = None
        elif fmt == "org":
            lowered = line.strip().lower()
            if lowered.startswith("#+begin_"):
                fence = "block"
            elif lowered.startswith("#+end_"):
                fence = None
        if not line.strip() and fence is None:
            flush()
        else:
            current.append((number, line.rstrip()))
    flush()
    return blocks


def _split_long(block: _Block, limit: int) -> list[_Block]:
    """Cut a paragraph longer than ``limit`` between lines, then between sentences."""
    if len(block.text) <= limit:
        return [block]
    pieces: list[str] = []
    for line in block.text.split("\n"):
        if len(line) <= limit:
            pieces.append(line)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", line)
        for sentence in sentences:
            while len(sentence) > limit:  # one enormous "sentence": cut at a space if possible
                cut = sentence.rfind(" ", 0, limit)
                cut = cut if cut > limit // 2 else limit
                pieces.append(sentence[:cut])
                sentence = sentence[cut:].lstrip()
            pieces.append(sentence)
    out: list[_Block] = []
    buffer = ""
    for piece in pieces:
        joiner = "\n" if "\n" in block.text else " "
        candidate = f"{buffer}{joiner}{piece}" if buffer else piece
        if buffer and len(candidate) > limit:
            out.append(_Block(block.start, block.end, buffer))
            buffer = piece
        else:
            buffer = candidate
    if buffer:
        out.append(_Block(block.start, block.end, buffer))
    return out


def _chunk_blocks(blocks: list[_Block], limit: int) -> list[list[_Block]]:
    chunks: list[list[_Block]] = []
    current: list[_Block] = []
    size = 0
    for block in blocks:
        for piece in _split_long(block, limit):
            if current and size + len(piece.text) + 2 > limit:
                chunks.append(current)
                current, size = [], 0
            current.append(piece)
            size += len(piece.text) + 2
    if current:
        chunks.append(current)
    return chunks


# ---------------------------------------------------------------------------------------------
# Links and tags


def _strip_code(text: str, fmt: str) -> str:
    """Text with code blocks and inline code removed, for tag and link extraction."""
    kept: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line) if fmt == "markdown" else None
        lowered = line.strip().lower()
        if fmt == "org" and lowered.startswith("#+begin_"):
            fence = "block"
            continue
        if fmt == "org" and lowered.startswith("#+end_"):
            fence = None
            continue
        if match:
            if fence is None:
                fence = match.group(1)
                continue
            if match.group(1)[0] == fence[0]:
                fence = None
                continue
        if fence is None:
            kept.append(_INLINE_CODE.sub(" ", line))
    return "\n".join(kept)


def find_links(text: str, fmt: str = "markdown") -> list[str]:
    """Link targets in order of appearance: ``[[wikilinks]]`` (and Org ``[[target][desc]]``)."""
    plain = _strip_code(text, fmt)
    links: list[str] = []
    pattern = _ORG_LINK if fmt == "org" else _WIKILINK
    for match in pattern.finditer(plain):
        target = (match.group(1) if fmt == "org" else match.group(2)).strip()
        if target and target not in links:
            links.append(target)
    return links


def find_tags(text: str, fmt: str = "markdown") -> list[str]:
    """``#tags`` outside code, in order of first appearance (headings are not tags)."""
    if fmt == "org":
        return []  # Org tags live on headings and #+FILETAGS, read elsewhere
    tags: list[str] = []
    for line in _strip_code(text, fmt).split("\n"):
        if _ATX.match(line):
            continue
        for match in _TAG.finditer(line):
            tag = match.group(1).rstrip("/-")
            if tag and tag not in tags:
                tags.append(tag)
    return tags


def _render_links(text: str, fmt: str) -> str:
    """Show links as their visible text, as a reader of the rendered note would see them.

    Code (fenced blocks, Org blocks, inline spans) is left exactly as written.
    """
    if fmt == "org":

        def replace(line: str) -> str:
            return _ORG_LINK.sub(lambda m: (m.group(2) or m.group(1)).strip(), line)

    else:

        def replace(line: str) -> str:
            return _WIKILINK.sub(lambda m: (m.group(3) or m.group(2) or m.group(0)).strip(), line)

    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        lowered = line.strip().lower()
        match = _FENCE.match(line) if fmt == "markdown" else None
        if fmt == "org" and lowered.startswith(("#+begin_", "#+end_")):
            fence = "block" if lowered.startswith("#+begin_") else None
            out.append(line)
            continue
        if match and (fence is None or match.group(1)[0] == fence[0]):
            fence = match.group(1) if fence is None else None
            out.append(line)
            continue
        if fence is not None:
            out.append(line)
            continue
        # Split around inline code spans so that only the prose between them changes.
        pieces = re.split(r"(`[^`\n]*`)", line)
        out.append("".join(p if p.startswith("`") else replace(p) for p in pieces))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_note(path: Path) -> ParseResult:
    """Parse a Markdown, text or Org note into resource memories, one per structural chunk."""
    raw = read_bytes(path)
    text, encoding_problem = decode_checked(raw)
    if looks_binary(text):
        raise ParseError(f"{path.name} looks like a binary file", hint="only text notes are read as notes")
    fmt = note_format(path, raw[:8192]) or "text"
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    problems: list[ParseProblem] = [encoding_problem] if encoding_problem else []

    fields: dict[str, Any] = {}
    used = 0
    heading_tags: list[str] = []
    if fmt == "markdown":
        fields, used = parse_front_matter(lines)
        if lines and lines[0].strip() == "---" and used == 0:
            problems.append(ParseProblem("line 1", "front matter is never closed with ---"))
        sections = _markdown_sections(lines, used)
    elif fmt == "org":
        for line in lines:
            keyword = _ORG_KEYWORD.match(line)
            if keyword:
                fields.setdefault(keyword.group(1).lower(), keyword.group(2).strip())
        sections, heading_tags = _org_sections(lines, 0)
    else:
        sections = [_Section(path=[], heading_line=None, lines=list(enumerate(lines, 1)))]

    title = str(fields.get("title") or "").strip()
    if not title and fmt == "markdown":
        first_h1 = next((s for s in sections if s.heading_line and len(s.path) == 1), None)
        if first_h1 is not None:
            title = first_h1.path[0]
    title = title or path.stem

    occurred_at = None
    if fields.get("date"):
        occurred_at = parse_date(fields["date"])
        if occurred_at is None:
            problems.append(ParseProblem("front matter", f"date not understood: {fields['date']!r}"))

    body_text = "\n".join(lines[used:])
    tags: list[str] = []
    for tag in [
        *_as_list(fields.get("tags")),
        *_as_list(fields.get("tag")),
        *[t for t in str(fields.get("filetags", "")).split(":") if t.strip()],
        *heading_tags,
        *find_tags(body_text, fmt),
    ]:
        if tag not in tags:
            tags.append(tag)

    drafts: list[NewMemory] = []
    absolute = str(path.resolve())
    for section in sections:
        # The title is already at the front of every chunk; an H1 repeating it is not repeated.
        heading_path = section.path[1:] if section.path[:1] == [title] else section.path
        prefix = " > ".join([title, *heading_path])
        limit = max(MIN_BODY_CHARS, CHUNK_CHARS - len(prefix) - 2)
        for number, chunk in enumerate(_chunk_blocks(_blocks(section.lines, fmt), limit)):
            body = "\n\n".join(block.text for block in chunk)
            # The section's first chunk covers its heading line too.
            start = section.heading_line if number == 0 and section.heading_line else chunk[0].start
            end = chunk[-1].end
            drafts.append(
                NewMemory(
                    text=f"{prefix}\n\n{_render_links(body, fmt)}",
                    type=MemoryType.RESOURCE,
                    source_kind="note",
                    source_ref=f"{path}:{start}-{end}",
                    occurred_at=occurred_at,
                    tags=list(tags),
                    title=title,
                    resource_kind="note",
                    path=absolute,
                    metadata={
                        "format": fmt,
                        "links": find_links(body, fmt),
                        "heading": " > ".join(heading_path) or None,
                        "chunk": len(drafts),
                        "lines": [start, end],
                    },
                )
            )
    headings = [s for s in sections if s.heading_line]
    if not drafts and headings:
        # A note that is only a heading ("# Call the plumber about the leak") says something.
        said = [" > ".join(s.path) for s in headings]
        first, last = headings[0].heading_line or 1, headings[-1].heading_line or 1
        drafts.append(
            NewMemory(
                text="\n".join(said),
                type=MemoryType.RESOURCE,
                source_kind="note",
                source_ref=f"{path}:{first}-{last}",
                occurred_at=occurred_at,
                tags=list(tags),
                title=title,
                resource_kind="note",
                path=absolute,
                metadata={"format": fmt, "links": [], "heading": None, "chunk": 0, "lines": [first, last]},
            )
        )
    if not drafts:
        problems.append(ParseProblem("whole file", "the note has no text"))
    return ParseResult(format=fmt, drafts=drafts, messages=[], problems=problems)


class NotesSource:
    """The ``notes`` source: Markdown, plain text and Org files."""

    name = "notes"

    def can_parse(self, path: Path, head: bytes) -> bool:
        """A note suffix and text content (binary junk named ``.md`` is not a note)."""
        return note_format(path, head) is not None

    def parse(self, path: Path) -> ParseResult:
        """Parse the note into chunked resource memories."""
        return parse_note(path)

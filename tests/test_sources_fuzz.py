"""Fuzzing the parsers: any input gives a ParseResult or a ParseError, never another exception."""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secondme.ingest.sources import builtin_sources, detect_source
from secondme.ingest.sources.base import ParseError, ParseResult
from secondme.ingest.sources.chats.chatgpt import parse_chatgpt
from secondme.ingest.sources.chats.imessage import parse_imessage
from secondme.ingest.sources.chats.messenger import parse_messenger
from secondme.ingest.sources.chats.slack import parse_slack
from secondme.ingest.sources.chats.telegram import parse_telegram_html, parse_telegram_json
from secondme.ingest.sources.chats.whatsapp import parse_whatsapp
from secondme.ingest.sources.notes import parse_note
from secondme.ingest.sources.screenshots import parse_image

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"

NOTE_SAMPLE = b"""---
title: Fuzz
tags: [a, b]
date: 2024-01-02
---
# Fuzz
Text with [[Link|alias]] and #tag.
## Part
```
code #x
```
* org-ish line
"""
ORG_SAMPLE = b"""#+TITLE: Org fuzz
* TODO Heading :t1:
:PROPERTIES:
:ID: 1
:END:
Body [[target][desc]]
#+BEGIN_SRC sh
echo hi
#+END_SRC
"""


def _stub_ocr(image: object) -> str:
    return "some text"


Parser = Callable[[Path], ParseResult]
# name -> (parser, file name to write, sample bytes, or a fixture name (tests/fixtures), or a
# path under the shared samples marked "shared:" (extra realism; skipped where absent))
CASES: dict[str, tuple[Parser, str, bytes | str]] = {
    "whatsapp": (parse_whatsapp, "chat.txt", "whatsapp"),
    "telegram-json": (parse_telegram_json, "result.json", "telegram-json"),
    "telegram-html": (parse_telegram_html, "messages.html", "telegram-html"),
    "chatgpt": (parse_chatgpt, "conversations.json", "chatgpt"),
    "slack": (parse_slack, "export.zip", "slack"),
    "messenger": (parse_messenger, "message_1.json", "messenger"),
    "imessage": (parse_imessage, "chat.db", "imessage"),
    "markdown": (parse_note, "note.md", NOTE_SAMPLE),
    "text": (parse_note, "note.txt", NOTE_SAMPLE),
    "org": (parse_note, "note.org", ORG_SAMPLE),
    "markdown-fixture": (parse_note, "note.md", "markdown"),
    "org-fixture": (parse_note, "note.org", "org"),
    # OCR itself is not fuzzed (slow, and not our code); image decoding and the guards are.
    "image": (functools.partial(parse_image, engine=_stub_ocr), "shot.png", "screenshot"),
    "whatsapp-shared": (parse_whatsapp, "chat.txt", "shared:chats/whatsapp_android_chat.txt"),
    "telegram-json-shared": (parse_telegram_json, "result.json", "shared:chats/telegram_result.json"),
    "slack-shared": (parse_slack, "export.zip", "shared:chats/slack_export.zip"),
    "imessage-shared": (parse_imessage, "chat.db", "shared:chats/imessage_chat.db"),
    "image-shared": (
        functools.partial(parse_image, engine=_stub_ocr),
        "shot.png",
        "shared:screenshots/page_screenshot.png",
    ),
}


@functools.cache
def _fixtures() -> dict[str, bytes]:
    from tests.fixture_files import every_format

    with tempfile.TemporaryDirectory() as folder:
        return {name: path.read_bytes() for name, path in every_format(Path(folder)).items()}


def sample_bytes(sample: bytes | str) -> bytes:
    if isinstance(sample, bytes):
        return sample
    if not sample.startswith("shared:"):
        return _fixtures()[sample]
    path = SAMPLES / sample.removeprefix("shared:")
    if not path.exists():
        pytest.skip(f"shared sample {path.name} not present")
    return path.read_bytes()


def check(parser: Parser, name: str, data: bytes) -> None:
    """Parse ``data`` as a file called ``name``: a result with valid drafts, or a ParseError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            result = parser(path)
        except ParseError as exc:
            assert str(exc)
            return
        assert isinstance(result, ParseResult)
        for draft in result.drafts:
            draft.validate()  # no empty memory ever reaches the store


# Edits applied to a sample: (operation, position seed, bytes).
EDITS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]),
        st.integers(min_value=0, max_value=2**31),
        st.binary(min_size=1, max_size=16),
    ),
    min_size=1,
    max_size=6,
)
INTERESTING = [b"\x00", b"\xff", b"{", b"}", b"[", b"]", b'"', b"\n", b":", b"<", b"\xe2\x80"]


def mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    buffer = bytearray(data)
    for operation, seed, blob in edits:
        at = seed % (len(buffer) + 1)
        if operation == "flip" and buffer:
            buffer[at % len(buffer)] ^= blob[0] or 0xFF
        elif operation == "delete":
            del buffer[at : at + 1 + blob[0] % 64]
        elif operation == "insert":
            extra = INTERESTING[blob[0] % len(INTERESTING)] if len(blob) == 1 else blob
            buffer[at:at] = extra
        elif operation == "truncate":
            del buffer[at:]
        elif operation == "duplicate":
            buffer[at:at] = buffer[at : at + 1 + blob[0] % 256]
    return bytes(buffer)


FUZZ = settings(
    max_examples=60,
    deadline=None,  # the machine is shared; time limits would make this flaky
    derandomize=True,  # the same inputs on every run: a failure in CI fails again at home
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("case", sorted(c for c in CASES if not c.endswith(("-shared", "-fixture"))))
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(case: str, data: bytes) -> None:
    parser, name, _ = CASES[case]
    check(parser, name, data)


@pytest.mark.parametrize("case", sorted(CASES))
@FUZZ
@given(edits=EDITS)
def test_mutated_samples(case: str, edits: list[tuple[str, int, bytes]]) -> None:
    parser, name, sample = CASES[case]
    check(parser, name, mutate(sample_bytes(sample), edits))


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from([".md", ".txt", ".json", ".zip", ""]))
def test_detection_never_raises(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"file{suffix}"
        path.write_bytes(data)
        source = detect_source(path)
        assert source is None or source.name in {s.name for s in builtin_sources()}
        if source is not None:
            try:
                result = source.parse(path)
            except ParseError:
                return
            assert isinstance(result, ParseResult)


# JSON-shaped input reaches deeper than random bytes: right keys, wrong types everywhere.
KEYS = [
    "messages",
    "text",
    "date",
    "date_unixtime",
    "from",
    "from_id",
    "type",
    "id",
    "name",
    "chats",
    "list",
    "mapping",
    "current_node",
    "parent",
    "children",
    "message",
    "author",
    "role",
    "content",
    "parts",
    "create_time",
    "title",
    "participants",
    "sender_name",
    "timestamp_ms",
    "photos",
    "is_unsent",
    "reactions",
    "metadata",
    "action",
    "actor",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=6)
    ),
    max_leaves=30,
)


@pytest.mark.parametrize("case", ["telegram-json", "chatgpt", "messenger"])
@FUZZ
@given(value=JSON_VALUES)
def test_json_shaped_input(case: str, value: object) -> None:
    import json

    parser, name, _ = CASES[case]
    check(parser, name, json.dumps(value).encode())


SLACK_KEYS = [
    "id",
    "name",
    "profile",
    "display_name",
    "real_name",
    "members",
    "user",
    "ts",
    "text",
    "subtype",
    "files",
    "user_profile",
    "username",
    "bot_id",
    "thread_ts",
]
SLACK_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(SLACK_KEYS), inner, max_size=6)
    ),
    max_leaves=30,
)


@FUZZ
@given(users=SLACK_VALUES, channels=SLACK_VALUES, day=SLACK_VALUES)
def test_slack_json_shaped_members(users: object, channels: object, day: object) -> None:
    import io
    import json
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("users.json", json.dumps(users))
        archive.writestr("channels.json", json.dumps(channels))
        archive.writestr("general/2024-01-01.json", json.dumps(day))
    check(parse_slack, "export.zip", buffer.getvalue())


WHATSAPP_LINES = st.lists(
    st.sampled_from(
        [
            "12/31/23, 9:15 PM - Ann: hi",
            "[31.12.23, 21:15:02] Ben: hallo",
            "99/99/99, 99:99 - X: bad",
            "1/2/3, 4:05 am - : empty name",
            "[2023/5/4, 16:13:23] ~\u202fC: x",
            "continuation",
            "",
            "\u200e<Media omitted>",
            "13/13/13, 13:13 - Y:",
        ]
    )
    | st.text(max_size=30),
    max_size=12,
)


@FUZZ
@given(lines=WHATSAPP_LINES)
def test_whatsapp_line_soup(lines: list[str]) -> None:
    check(parse_whatsapp, "chat.txt", "\n".join(lines).encode("utf-8", "surrogatepass"))

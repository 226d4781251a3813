"""Chat exports: every sample parses to known values, and synthetic files cover the variants."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from secondme.ingest.sources import ChatsSource, detect_source
from secondme.ingest.sources.base import ChatMessage, ParseError, read_head
from secondme.ingest.sources.chats import (
    detect_chat_format,
    drafts_from_messages,
    parse_chat,
    window_messages,
)
from secondme.ingest.sources.chats import slack as slack_module
from secondme.ingest.sources.chats.chatgpt import parse_chatgpt
from secondme.ingest.sources.chats.imessage import decode_attributed_body, parse_imessage
from secondme.ingest.sources.chats.messenger import parse_messenger
from secondme.ingest.sources.chats.slack import parse_slack
from secondme.ingest.sources.chats.telegram import parse_telegram_html, parse_telegram_json
from secondme.ingest.sources.chats.whatsapp import parse_whatsapp
from secondme.ingest.sources.detect import sniff
from secondme.memory import MemoryType

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "chats"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not present")
UTC = UTC


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Samples


@needs_samples
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("whatsapp_android_chat.txt", "whatsapp"),
        ("telegram_result.json", "telegram-json"),
        ("telegram_messages.html", "telegram-html"),
        ("chatgpt_fake_conversations.json", "chatgpt"),
        ("slack_export.zip", "slack"),
        ("facebook_chat.json", "messenger"),
        ("imessage_chat.db", "imessage"),
    ],
)
def test_every_sample_is_detected_and_parses(name: str, fmt: str) -> None:
    path = SAMPLES / name
    source = detect_source(path)
    assert isinstance(source, ChatsSource)
    result = source.parse(path)
    assert result.format == fmt
    assert result.messages and result.drafts
    for draft in result.drafts:
        draft.validate()
        assert draft.type is MemoryType.EPISODIC
        assert draft.source_kind == "chat"
        assert draft.source_ref.startswith(f"{path}#")
        assert fmt in draft.tags


@needs_samples
def test_whatsapp_sample() -> None:
    result = parse_whatsapp(SAMPLES / "whatsapp_android_chat.txt")
    messages = result.messages
    assert len(messages) == 9
    assert {m.speaker for m in messages} == {
        "James",
        "User name",
        "User 2",
        "User name 2",
        "User 1",
        "User 3",
        "User 4",
    }
    # "[05.05.23, 15:48:11]": the file's month-first evidence (1/23/23) or the dotted-date habit
    # both give 5 May.
    assert messages[0].timestamp == datetime(2023, 5, 5, 15, 48, 11)
    assert messages[0].text == "Hi here"
    assert messages[-1].timestamp == datetime(2023, 6, 29, 0, 16)
    by_line = {m.ref: m for m in messages}
    assert by_line["line 2"].timestamp == datetime(2021, 11, 8, 9, 41, 32)
    assert by_line["line 6"].timestamp == datetime(2023, 5, 4, 16, 13, 23)  # [2023/5/4, ...]
    # "11:32\u202fPM": the narrow no-break space before PM is understood.
    assert by_line["line 7"].timestamp == datetime(2022, 7, 19, 23, 32)
    assert by_line["line 8"].timestamp == datetime(2022, 7, 20, 11, 32)
    assert by_line["line 5"].speaker == "User name 2"  # the "~ " of unsaved contacts is dropped
    assert by_line["line 9"].meta["media"] is True
    assert by_line["line 10"].meta["deleted"] is True
    # Line 4 ("3:22_AM") is a broken header: recorded as a problem, not glued onto line 3,
    # which would put User 1's words in User 2's mouth.
    assert [(p.where, "3:22_AM" in p.reason) for p in result.problems] == [("line 4", True)]
    assert by_line["line 3"].text == "Bye!"
    assert "line 4" not in by_line
    texts = [d.text for d in result.drafts]
    assert len(texts) == 8  # the deleted message makes no memory
    assert "User 3: [media]" in texts
    assert not any("deleted" in t for t in texts)


@needs_samples
def test_telegram_json_sample() -> None:
    result = parse_telegram_json(SAMPLES / "telegram_result.json")
    messages = result.messages
    assert len(messages) == 4
    assert {m.speaker for m in messages} == {"Jimmeny Marvelton", "Batman & Robin"}
    assert {m.conversation for m in messages} == {"Jimmeny"}
    # "date" (local) and "date_unixtime" (UTC) together give the exporter's offset, -07:00.
    first = messages[0].timestamp
    assert first == utc(2023, 8, 23, 20, 11, 23)
    assert first.utcoffset() == timedelta(hours=-7)
    assert first.replace(tzinfo=None) == datetime(2023, 8, 23, 13, 11, 23)
    assert messages[-1].timestamp == utc(2023, 8, 23, 20, 15, 53)
    assert messages[1].text == "Hi nemesis"
    assert messages[1].ref == "message 2"
    (draft,) = result.drafts
    assert draft.text == (
        "Jimmeny Marvelton: i refuse to converse with you\n"
        "Batman & Robin: Hi nemesis\n"
        "Jimmeny Marvelton: we meet again\n"
        "Jimmeny Marvelton: you will not trick me this time"
    )
    assert draft.occurred_at == "2023-08-23T13:11:23-07:00"
    assert draft.actor == "Jimmeny Marvelton, Batman & Robin"


@needs_samples
def test_telegram_html_sample() -> None:
    result = parse_telegram_html(SAMPLES / "telegram_messages.html")
    messages = result.messages
    assert len(messages) == 4
    assert {m.speaker for m in messages} == {"Jimmeny Marvelton", "Batman & Robin"}
    assert messages[0].conversation == "Jimmeny Marvelton"
    tz = timezone(timedelta(hours=-8))  # "UTC-08:00" in the title attribute
    assert messages[0].timestamp == datetime(2023, 8, 23, 13, 11, 23, tzinfo=tz)
    assert messages[-1].timestamp == datetime(2023, 8, 23, 13, 15, 53, tzinfo=tz)
    assert messages[1].speaker == "Batman & Robin"  # "&amp;" unescaped
    # message4 is "joined": no from_name, so it keeps the previous speaker.
    assert messages[3].ref == "message 4"
    assert messages[3].speaker == "Jimmeny Marvelton"
    assert messages[3].text == "you will not trick me this time"
    assert result.problems == []


@needs_samples
def test_chatgpt_sample() -> None:
    result = parse_chatgpt(SAMPLES / "chatgpt_fake_conversations.json")
    messages = result.messages
    assert len(messages) == 4
    assert {m.speaker for m in messages} == {"Hal 9000", "Dave Bowman", "Ava", "Caleb"}
    assert [m.conversation for m in messages] == ["AI Overlords"] * 2 + ["Ex Machina Party"] * 2
    assert messages[0].timestamp == datetime.fromtimestamp(3000000050, UTC)
    assert messages[-1].timestamp == datetime.fromtimestamp(3000000280, UTC)
    assert messages[1].text == ("Nice to meet you, Hal. I hope you won't develop a mind of your own.")
    assert len(result.drafts) == 2  # one per conversation
    assert result.drafts[1].metadata["conversation"] == "Ex Machina Party"
    assert result.drafts[1].actor == "Ava, Caleb"


@needs_samples
def test_slack_sample() -> None:
    result = parse_slack(SAMPLES / "slack_export.zip")
    messages = result.messages
    assert len(messages) == 5
    # U0500003428 is missing from users.json; the profile copied into messages names them.
    assert {m.speaker for m in messages} == {"Example User"}
    assert {m.conversation for m in messages} == {"#general", "#random", "#example-channel"}
    assert messages[0].ref == "example-channel/2023-04-13.json#0"
    assert messages[0].meta["system"] is True
    assert messages[0].text == "@Example User has joined the channel"
    assert messages[0].timestamp == datetime.fromtimestamp(1681413815.354069, UTC)
    assert messages[-1].timestamp == datetime.fromtimestamp(1681413852.964959, UTC)
    assert messages[-1].text == "Example random message"
    general = [m.text for m in messages if m.conversation == "#general"]
    assert general == ["Hello, world!", "Example in general"]
    # The join notice makes no memory: three channels, three windows.
    assert [d.metadata["conversation"] for d in result.drafts] == [
        "#example-channel",
        "#general",
        "#random",
    ]
    assert result.drafts[1].text == "Example User: Hello, world!\nExample User: Example in general"


@needs_samples
def test_messenger_sample() -> None:
    result = parse_messenger(SAMPLES / "facebook_chat.json")
    messages = result.messages
    assert len(messages) == 11
    assert {m.speaker for m in messages} == {"User 1", "User 2"}
    assert {m.conversation for m in messages} == {"User 1 and User 2 chat"}
    # The file lists newest first; messages come out oldest first.
    assert messages[0].timestamp == datetime.fromtimestamp(1675549022.673, UTC)
    assert messages[0].text.startswith("Hi! Im interested in your bag.")
    assert messages[-1].timestamp == datetime.fromtimestamp(1675597571.851, UTC)
    assert messages[-1].text == "Bye!"
    photo = [m for m in messages if m.meta.get("media")]
    assert len(photo) == 1 and photo[0].text == "" and photo[0].meta["media_kind"] == "photos"
    # The sample is plain ASCII: the mojibake repair must leave it exactly as it is.
    assert "Here is $129" in [m.text for m in messages]
    assert "User 2: [media]" in "\n".join(d.text for d in result.drafts)


@needs_samples
def test_imessage_sample() -> None:
    result = parse_imessage(SAMPLES / "imessage_chat.db")
    messages = result.messages
    assert len(messages) == 23
    assert {m.speaker for m in messages} == {"me", "testemail@gmail.com"}
    # No chat table in this database: the handle names the conversation.
    assert {m.conversation for m in messages} == {"testemail@gmail.com"}
    assert messages[0].ref == "message 241480"
    assert messages[0].text == "Yeh"
    # Apple time in nanoseconds since 2001-01-01.
    assert messages[0].timestamp == datetime(2023, 11, 5, 2, 50, 50, 393148, tzinfo=UTC)
    assert messages[-1].timestamp == datetime(2023, 11, 17, 11, 27, 36, 509087, tzinfo=UTC)
    by_ref = {m.ref: m for m in messages}
    # text is NULL here: the words come out of attributedBody.
    assert by_ref["message 241485"].text == "Woaaaaaah"
    assert by_ref["message 241485"].speaker == "me"
    assert by_ref["message 241618"].text == "Nezt phone"
    assert by_ref["message 252040"].meta["reaction"] is True
    assert result.problems == []
    assert all("Loved" not in d.text for d in result.drafts)  # tapbacks make no memory
    assert len(result.drafts) == 4


def test_imessage_sample_is_opened_read_only(tmp_path: Path) -> None:
    if not SAMPLES.is_dir():
        pytest.skip("shared samples not present")
    copy = tmp_path / "chat.db"
    copy.write_bytes((SAMPLES / "imessage_chat.db").read_bytes())
    before = copy.read_bytes()
    parse_imessage(copy)
    assert copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.db"]


# ---------------------------------------------------------------------------------------------
# WhatsApp variants


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_whatsapp_ios_style(tmp_path: Path) -> None:
    text = (
        "\u200e[31/12/2023, 21:15:02] Alice: Happy new year!\n"
        "[31/12/2023, 21:15:40] ~\u202fBob: \u200eimage omitted\n"
        "[01/01/2024, 00:01:05] Alice: First line\n"
        "second line\n"
        "\n"
        "third line after a blank\n"
        "[01/01/2024, 00:02:00] Bob: \u200e<attached: 00000012-PHOTO-2024-01-01.jpg>\n"
        "[01/01/2024, 00:03:00] Bob: fixed typo <This message was edited>\n"
        "[01/01/2024, 00:04:00] Alice: \u200eYou deleted this message.\n"
    )
    path = write(tmp_path, "_chat.txt", text)
    result = parse_whatsapp(path)
    messages = result.messages
    assert len(messages) == 6
    assert messages[0].timestamp == datetime(2023, 12, 31, 21, 15, 2)
    assert messages[1].speaker == "Bob"
    assert messages[1].meta == {"media": True, "placeholder": True}
    # dd/mm from the 31: so 01/01 is unambiguous anyway, and the year is four digits.
    assert messages[2].timestamp == datetime(2024, 1, 1, 0, 1, 5)
    assert messages[2].text == "First line\nsecond line\n\nthird line after a blank"
    assert messages[3].meta.get("media") is True
    assert messages[4].text == "fixed typo" and messages[4].meta["edited"] is True
    assert messages[5].meta["deleted"] is True
    assert result.problems == []
    assert result.drafts[0].text.splitlines()[:2] == ["Alice: Happy new year!", "Bob: [media]"]


def test_whatsapp_day_first_resolved_from_the_whole_file(tmp_path: Path) -> None:
    # Only the last line proves the order (31 cannot be a month); it decides for the first.
    text = "03/04/23, 09:00 - Ann: early\n04/04/23, 09:05 - Ben: later\n31/12/23, 23:59 - Ann: proof\n"
    result = parse_whatsapp(write(tmp_path, "WhatsApp Chat with Ben.txt", text))
    assert [m.timestamp for m in result.messages] == [
        datetime(2023, 4, 3, 9, 0),
        datetime(2023, 4, 4, 9, 5),
        datetime(2023, 12, 31, 23, 59),
    ]
    assert result.messages[0].conversation == "Ben"


def test_whatsapp_month_first_with_12_hour_clock(tmp_path: Path) -> None:
    text = "1/2/24, 9:00 PM - Ann: hi\n1/13/24, 12:05 AM - Ben: late\n"
    result = parse_whatsapp(write(tmp_path, "chat.txt", text))
    assert [m.timestamp for m in result.messages] == [
        datetime(2024, 1, 2, 21, 0),
        datetime(2024, 1, 13, 0, 5),
    ]


def test_whatsapp_german_dotted_dates(tmp_path: Path) -> None:
    text = (
        "[31.12.23, 21:15:02] Jörg: Frohes neues Jahr\n"
        "[01.02.24, 08:00:00] Anna: Guten Morgen\n"
        "[01.02.24, 08:01:00] Anna: \u200eBild weggelassen\n"
    )
    result = parse_whatsapp(write(tmp_path, "chat.txt", text))
    assert [m.timestamp for m in result.messages[:2]] == [
        datetime(2023, 12, 31, 21, 15, 2),
        datetime(2024, 2, 1, 8, 0, 0),
    ]
    assert result.messages[0].speaker == "Jörg"


def test_whatsapp_system_notices_make_no_memory(tmp_path: Path) -> None:
    text = (
        "12/31/23, 9:15 PM - Messages and calls are end-to-end encrypted. No one outside of "
        "this chat can read them.\n"
        '12/31/23, 9:16 PM - Ann changed the subject to "Trip: Lisbon"\n'
        "12/31/23, 9:17 PM - Ann: Booked!\n"
    )
    result = parse_whatsapp(write(tmp_path, "chat.txt", text))
    assert [m.meta.get("system", False) for m in result.messages] == [True, True, False]
    assert [d.text for d in result.drafts] == ["Ann: Booked!"]


def test_whatsapp_rejects_other_text(tmp_path: Path) -> None:
    path = write(tmp_path, "notes.txt", "Just a shopping list\n- milk\n- eggs\n")
    assert detect_chat_format(path, read_head(path)) is None
    with pytest.raises(ParseError):
        parse_whatsapp(path)


# ---------------------------------------------------------------------------------------------
# Telegram, ChatGPT, Messenger, Slack, iMessage variants


def test_telegram_full_export(tmp_path: Path) -> None:
    export = {
        "about": "Here is the data you requested.",
        "personal_information": {"first_name": "Me"},
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {
                    "name": "Ann",
                    "type": "personal_chat",
                    "id": 11,
                    "messages": [
                        {
                            "id": 1,
                            "type": "message",
                            "date": "2024-05-01T10:00:00",
                            "date_unixtime": "1714550400",
                            "from": "Ann",
                            "text": [
                                "See ",
                                {"type": "link", "text": "https://example.org"},
                                " and ",
                                {"type": "bold", "text": "hurry"},
                            ],
                        },
                        {
                            "id": 2,
                            "type": "service",
                            "date": "2024-05-01T10:01:00",
                            "actor": "Ann",
                            "action": "pin_message",
                            "text": "",
                        },
                        {
                            "id": 3,
                            "type": "message",
                            "date": "2024-05-01T10:02:00",
                            "from": None,
                            "from_id": "user42",
                            "photo": "photos/1.jpg",
                            "text": "",
                        },
                    ],
                },
                {
                    "name": "Book club",
                    "type": "private_group",
                    "id": 12,
                    "messages": [
                        {
                            "id": 7,
                            "type": "message",
                            "date": "2024-05-02T18:00:00",
                            "from": "Ben",
                            "text": "Chapter 3 on Friday",
                        },
                        {"id": 8, "type": "message", "from": "Ben", "text": "no date"},
                    ],
                },
            ],
        },
    }
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    assert detect_chat_format(path, read_head(path)) == "telegram"
    result = parse_chat(path)
    assert result.format == "telegram-json"
    assert [m.conversation for m in result.messages] == ["Ann", "Ann", "Ann", "Book club"]
    assert result.messages[0].text == "See https://example.org and hurry"
    # 10:00 local and 1714550400 (08:00 UTC) -> +02:00.
    assert result.messages[0].timestamp.utcoffset() == timedelta(hours=2)
    assert result.messages[1].meta["system"] is True
    assert result.messages[2].speaker == "user42" and result.messages[2].meta["media"] is True
    assert result.messages[3].timestamp == datetime(2024, 5, 2, 18, 0)  # no unixtime: naive
    assert result.messages[3].ref == "chat 12 message 7"
    assert [(p.where, p.reason) for p in result.problems] == [("chat 12 message 8", "no readable date")]
    assert [d.metadata["conversation"] for d in result.drafts] == ["Ann", "Book club"]


def _node(node_id, parent, children, role=None, text=None, t=None, **extra):
    message = None
    if role is not None:
        message = {
            "id": node_id,
            "author": {"role": role, "name": None, "metadata": {}},
            "create_time": t,
            "content": {"content_type": "text", "parts": [text]},
            "metadata": extra.pop("metadata", {}),
        }
    return {"id": node_id, "message": message, "parent": parent, "children": children}


def test_chatgpt_real_mapping_tree_follows_current_node(tmp_path: Path) -> None:
    conversation = {
        "title": "Sourdough",
        "create_time": 1700000000.0,
        "conversation_id": "c1",
        "current_node": "a2",
        "mapping": {
            "root": _node("root", None, ["sys"]),
            "sys": _node("sys", "root", ["u1"], "system", "You are ChatGPT", 1700000000.0),
            "u1": _node("u1", "sys", ["a1", "a2"], "user", "How long to proof?", 1700000010.0),
            "a1": _node("a1", "u1", [], "assistant", "Abandoned first answer", 1700000020.0),
            "a2": _node("a2", "u1", [], "assistant", "About 4 hours at 24C.", 1700000030.0),
            "h": _node(
                "h",
                "a2",
                [],
                "user",
                "hidden",
                1700000040.0,
                metadata={"is_visually_hidden_from_conversation": True},
            ),
        },
    }
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]), encoding="utf-8")
    result = parse_chatgpt(path)
    assert [(m.speaker, m.text) for m in result.messages] == [
        ("me", "How long to proof?"),
        ("ChatGPT", "About 4 hours at 24C."),
    ]
    assert result.messages[0].ref == "c1/u1"
    assert result.messages[1].timestamp == datetime.fromtimestamp(1700000030, UTC)
    (draft,) = result.drafts
    assert draft.text == "me: How long to proof?\nChatGPT: About 4 hours at 24C."
    assert draft.source_ref == f"{path}#c1/u1..c1/a2"


def test_chatgpt_flat_message_list(tmp_path: Path) -> None:
    data = [
        {
            "title": "Flat",
            "messages": [
                {"role": "user", "content": "hello", "create_time": 1700000000},
                {"role": "assistant", "content": "hi there", "create_time": 1700000005},
                {"role": "system", "content": "ignored"},
            ],
        }
    ]
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    assert detect_chat_format(path, read_head(path)) == "chatgpt"
    result = parse_chatgpt(path)
    assert [(m.speaker, m.text) for m in result.messages] == [("me", "hello"), ("ChatGPT", "hi there")]


def test_messenger_mojibake_is_repaired(tmp_path: Path) -> None:
    # What Facebook writes for "Café 😂" and "Zoë": UTF-8 bytes escaped one by one.
    raw = (
        '{"participants": [{"name": "Zo\\u00c3\\u00ab"}, {"name": "Me"}],'
        ' "title": "Zo\\u00c3\\u00ab",'
        ' "messages": ['
        '  {"sender_name": "Zo\\u00c3\\u00ab", "timestamp_ms": 1700000000000,'
        '   "content": "Caf\\u00c3\\u00a9 \\u00f0\\u009f\\u0098\\u0082"},'
        '  {"sender_name": "Me", "timestamp_ms": 1699999990000, "content": "déjà vu",'
        '   "is_unsent": false}'
        " ]}"
    )
    path = tmp_path / "message_1.json"
    path.write_text(raw, encoding="utf-8")
    result = parse_messenger(path)
    assert [(m.speaker, m.text) for m in result.messages] == [
        ("Me", "déjà vu"),  # already correct: left alone
        ("Zoë", "Café 😂"),
    ]
    assert result.messages[0].conversation == "Zoë"


def _slack_zip(path: Path, members: dict[str, object]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            archive.writestr(name, value if isinstance(value, str) else json.dumps(value))
    return path


def test_slack_resolves_users_and_markup(tmp_path: Path) -> None:
    path = _slack_zip(
        tmp_path / "export.zip",
        {
            "users.json": [
                {"id": "U1", "name": "ann", "profile": {"display_name": "Ann"}},
                {"id": "U2", "name": "ben", "real_name": "Ben Bell", "profile": {}},
            ],
            "channels.json": [{"id": "C1", "name": "trips"}],
            "trips/2024-03-01.json": [
                {"type": "message", "user": "U2", "ts": "1709290000.000200", "text": "second"},
                {
                    "type": "message",
                    "user": "U1",
                    "ts": "1709290000.000100",
                    "text": "<@U2> see <#C1|trips> and <https://x.org|the plan> &amp; more",
                },
            ],
            "trips/2024-03-02.json": "{not json",
        },
    )
    result = parse_slack(path)
    assert [(m.speaker, m.text) for m in result.messages] == [
        ("Ann", "@Ben Bell see #trips and the plan (https://x.org) & more"),
        ("Ben Bell", "second"),
    ]
    assert result.messages[0].ref == "trips/2024-03-01.json#1"
    assert [p.where for p in result.problems] == ["trips/2024-03-02.json"]


def test_slack_refuses_too_many_members(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    members = {"users.json": [], "c/2024-01-01.json": []}
    members.update({f"c/extra{i}.txt": "x" for i in range(10)})
    path = _slack_zip(tmp_path / "many.zip", members)
    monkeypatch.setattr(slack_module, "MAX_MEMBERS", 5)
    with pytest.raises(ParseError, match="more than 5"):
        parse_slack(path)


def test_slack_refuses_zip_bombs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 2 MB of zeros compresses to a few KB; with a 1 MB cap it must be refused unread.
    path = _slack_zip(
        tmp_path / "bomb.zip",
        {"users.json": [], "c/2024-01-01.json": "[" + " " * 2_000_000 + "]"},
    )
    assert path.stat().st_size < 50_000
    monkeypatch.setattr(slack_module, "MAX_TOTAL_BYTES", 1_000_000)
    with pytest.raises(ParseError, match="zip bomb"):
        parse_slack(path)


def test_slack_rejects_a_zip_that_is_not_an_export(tmp_path: Path) -> None:
    path = _slack_zip(tmp_path / "photos.zip", {"a.txt": "hello"})
    assert detect_chat_format(path, read_head(path)) is None
    with pytest.raises(ParseError):
        parse_slack(path)


def _apple(moment: datetime, nanoseconds: bool) -> int:
    seconds = int((moment - utc(2001, 1, 1)).total_seconds())
    return seconds * 1_000_000_000 if nanoseconds else seconds


def test_imessage_with_chat_table_and_second_dates(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT NOT NULL, service TEXT);
        CREATE TABLE message (ROWID INTEGER PRIMARY KEY, guid TEXT, text TEXT,
            attributedBody BLOB, handle_id INTEGER, date INTEGER, is_from_me INTEGER,
            cache_has_attachments INTEGER DEFAULT 0);
        CREATE TABLE chat (ROWID INTEGER PRIMARY KEY, chat_identifier TEXT, display_name TEXT);
        CREATE TABLE chat_message_join (chat_id INTEGER, message_id INTEGER);
        """
    )
    conn.execute("INSERT INTO handle VALUES (1, '+15551234567', 'SMS')")
    conn.execute("INSERT INTO chat VALUES (1, 'chat123', 'Climbing crew')")
    rows = [
        (1, "g1", "Rope day Saturday?", None, 1, _apple(utc(2017, 6, 1, 9), False), 0, 0),
        (2, "g2", "Yes! \ufffc", None, 0, _apple(utc(2017, 6, 1, 9, 5), False), 1, 1),
    ]
    conn.executemany("INSERT INTO message VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO chat_message_join VALUES (1, ?)", [(1,), (2,)])
    conn.commit()
    conn.close()

    result = parse_imessage(path)
    assert [(m.conversation, m.speaker, m.text) for m in result.messages] == [
        ("Climbing crew", "+15551234567", "Rope day Saturday?"),
        ("Climbing crew", "me", "Yes!"),
    ]
    assert result.messages[0].timestamp == utc(2017, 6, 1, 9)
    assert result.messages[1].meta["media"] is True
    assert result.drafts[0].text == "+15551234567: Rope day Saturday?\nme: Yes!"


def test_attributed_body_long_length_prefix() -> None:
    text = "x" * 300
    blob = b"\x04\x0bstreamtyped\x81NSString\x01\x94\x84\x01+\x81" + (300).to_bytes(2, "little")
    assert decode_attributed_body(blob + text.encode() + b"\x86\x84") == text
    assert decode_attributed_body(b"no string here") is None
    assert decode_attributed_body(b"NSString\x01\x94\x84\x01+\x10short") is None  # truncated


def test_corrupt_sqlite_file_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(ParseError):
        parse_imessage(path)


# ---------------------------------------------------------------------------------------------
# Windows and drafts


def msg(minute: int, speaker: str = "Ann", text: str = "hi", conv: str = "c") -> ChatMessage:
    return ChatMessage(
        conversation=conv,
        speaker=speaker,
        text=text,
        timestamp=datetime(2024, 1, 1, 12, 0) + timedelta(minutes=minute),
        ref=f"line {minute}",
        meta={},
    )


def test_windows_split_on_gap_conversation_and_size() -> None:
    messages = [
        msg(0),
        msg(10, "Ben"),
        msg(45),  # 35 minutes later: new window
        msg(46, conv="other"),  # other conversation: new window
        msg(47, text="x" * 250, conv="other"),
        msg(48, text="y" * 250, conv="other"),  # would pass WINDOW_CHARS (400): new window
    ]
    windows = window_messages(messages)
    assert [[m.ref for m in w] for w in windows] == [
        ["line 0", "line 10"],
        ["line 45"],
        ["line 46", "line 47"],
        ["line 48"],
    ]
    assert len(window_messages(messages, gap=timedelta(hours=2))) == 3
    assert len(window_messages(messages, max_chars=1000)) == 3


def test_a_message_longer_than_the_limit_gets_its_own_window() -> None:
    windows = window_messages([msg(0), msg(1, text="z" * 5000), msg(2)])
    assert [len(w) for w in windows] == [1, 1, 1]


def test_drafts_from_messages_fields() -> None:
    messages = [msg(0, "Ann", "Dinner at 8?"), msg(3, "Ben", "Sure"), msg(4, "Ann", "Great")]
    (draft,) = drafts_from_messages(messages, "/x/chat.txt", "whatsapp")
    assert draft.type is MemoryType.EPISODIC
    assert draft.text == "Ann: Dinner at 8?\nBen: Sure\nAnn: Great"
    assert draft.occurred_at == "2024-01-01T12:00:00"
    assert draft.actor == "Ann, Ben"
    assert draft.source_kind == "chat"
    assert draft.source_ref == "/x/chat.txt#line 0..line 4"
    assert draft.tags == ["whatsapp"]
    assert draft.metadata == {
        "format": "whatsapp",
        "conversation": "c",
        "messages": 3,
        "speakers": ["Ann", "Ben"],
        "first_ref": "line 0",
        "last_ref": "line 4",
        "refs": ["line 0", "line 3", "line 4"],
        "owner_speaks": False,
        "start": "2024-01-01T12:00:00",
        "end": "2024-01-01T12:04:00",
    }


def test_sniff_names_what_a_file_is() -> None:
    assert sniff(b"") == "empty"
    assert sniff(b"PK\x03\x04rest") == "zip"
    assert sniff(b"SQLite format 3\x00...") == "sqlite"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image"
    assert sniff(b"%PDF-1.7") == "pdf"
    assert sniff(b'  {"a": 1}') == "json"
    assert sniff(b"<!DOCTYPE html><html>") == "html"
    assert sniff(b"hello\n") == "text"
    assert sniff(bytes(range(32)) * 4) == "binary"


def test_unknown_file_is_not_a_chat(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"hello": "world"}', encoding="utf-8")
    assert ChatsSource().can_parse(path, read_head(path)) is False
    with pytest.raises(ParseError, match="not a chat export"):
        parse_chat(path)

"""`mem ingest`: samples with their real values, idempotence, updates, moves, deletions, ignores,
limits and bad input, through the real command and the pipeline."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from secondme.ingest import pipeline
from secondme.ingest.pipeline import Ingestor
from secondme.service import Secondme
from tests.conftest import run_mem

SAMPLES = (Path(__file__).resolve().parents[2] / "shared" / "samples").resolve()
CHATS = SAMPLES / "chats"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not present")

SUMMARY_KEYS = {
    "added",
    "updated",
    "unchanged",
    "skipped",
    "removed",
    "moved",
    "memories_added",
    "errors",
    "warnings",
}


def expected_code(data) -> int:
    """0, or for an ingest with files not taken: 6 when others were taken, else 1 (docs/errors.md)."""
    if not isinstance(data, dict) or not data.get("errors") or "warnings" not in data:
        return 0
    taken = data["added"] + data["updated"] + data["unchanged"] + data["moved"]
    return 6 if taken else 1


def mem_json(*args: str, env: dict[str, str] | None = None):
    result = run_mem(*args, "--json", env=env)
    data = json.loads(result.stdout)
    assert result.returncode == expected_code(data), result.stderr
    return data


def sources() -> dict[str, dict]:
    """The sources table, by path."""
    return {row["path"]: row for row in Secondme().sources.rows_under(Path("/"))}


def memories_of(path: Path) -> list:
    """The memories a file's sources row lists, in file order."""
    app = Secondme()
    row = Ingestor(app).source_row(path)
    assert row is not None, f"{path} was never ingested"
    ids = json.loads(row["memory_ids"])
    found = app.store.get_many(ids)
    return [found[i] for i in ids]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------------------------------------
# The shared samples


@needs_samples
def test_every_sample_ingests_with_its_messages_speakers_and_times():
    summary = mem_json("ingest", str(SAMPLES))
    assert set(summary) == SUMMARY_KEYS
    # README.md is a note too: eight exports and images plus the README.
    assert summary["added"] == 9 and summary["errors"] == []
    # 25 chunks and windows (the two Telegram exports share their one window); the README's two
    # sections and the screenshot's page of text are too long for one memory each: 33 memories.
    assert summary["memories_added"] == 33
    rows = sources()
    assert {r["status"] for r in rows.values()} == {"ok"}
    formats = {Path(p).name: (r["kind"], r["format"]) for p, r in rows.items()}
    assert formats == {
        "README.md": ("notes", "markdown"),
        "chatgpt_fake_conversations.json": ("chats", "chatgpt"),
        "facebook_chat.json": ("chats", "messenger"),
        "imessage_chat.db": ("chats", "imessage"),
        "slack_export.zip": ("chats", "slack"),
        "telegram_messages.html": ("chats", "telegram-html"),
        "telegram_result.json": ("chats", "telegram-json"),
        "whatsapp_android_chat.txt": ("chats", "whatsapp"),
        "page_screenshot.png": ("screenshots", "image"),
    }

    def chat(name: str) -> list:
        found = memories_of(CHATS / name)
        for memory in found:
            assert memory.type.value == "episodic" and memory.source_kind == "chat"
            assert memory.source_ref.startswith(f"{CHATS / name}#") or name.startswith("telegram")
        return found

    def messages(found: list) -> int:
        return sum(m.metadata["messages"] for m in found)

    def speakers(found: list) -> set[str]:
        return {s for m in found for s in m.metadata["speakers"]}

    whatsapp = chat("whatsapp_android_chat.txt")
    # Nine messages; the deleted one makes no memory; line 4's broken header is a problem.
    assert (len(whatsapp), messages(whatsapp)) == (8, 8)
    assert speakers(whatsapp) == {"James", "User name", "User 2", "User name 2", "User 1", "User 3"}
    assert [m.occurred_at for m in whatsapp][:3] == [
        "2023-05-05T15:48:11",
        "2021-11-08T09:41:32",
        "2023-01-23T03:19:00",
    ]
    assert whatsapp[0].text == "James: Hi here"
    assert whatsapp[-1].text == "User 3: [media]" and whatsapp[-1].occurred_at == "2023-04-20T09:42:00"
    assert whatsapp[0].source_ref == f"{CHATS / 'whatsapp_android_chat.txt'}#line 1..line 1"
    assert rows[str(CHATS / "whatsapp_android_chat.txt")]["problems"] == 1

    telegram_json, telegram_html = chat("telegram_result.json"), chat("telegram_messages.html")
    assert [m.id for m in telegram_json] == [m.id for m in telegram_html]  # same window, stored once
    (window,) = telegram_html
    assert messages([window]) == 4
    assert window.actor == "Jimmeny Marvelton, Batman & Robin"
    assert window.text.splitlines()[1] == "Batman & Robin: Hi nemesis"
    assert (window.metadata["start"], window.metadata["end"]) == (
        "2023-08-23T13:11:23-08:00",
        "2023-08-23T13:15:53-08:00",
    )

    chatgpt = chat("chatgpt_fake_conversations.json")
    assert (len(chatgpt), messages(chatgpt)) == (2, 4)
    assert [m.metadata["conversation"] for m in chatgpt] == ["AI Overlords", "Ex Machina Party"]
    assert speakers(chatgpt) == {"Hal 9000", "Dave Bowman", "Ava", "Caleb"}
    assert chatgpt[0].occurred_at == "2065-01-24T05:20:50+00:00"  # create_time 3000000050

    messenger = chat("facebook_chat.json")
    assert (len(messenger), messages(messenger)) == (3, 11)
    assert speakers(messenger) == {"User 1", "User 2"}
    assert messenger[0].occurred_at == "2023-02-04T22:17:02+00:00"
    assert messenger[0].text.startswith("User 1: Hi! Im interested in your bag. Im offering $50.")
    assert messenger[-1].metadata["end"] == "2023-02-05T11:46:11+00:00"

    slack = chat("slack_export.zip")
    # Five messages; the "has joined the channel" notice makes no memory.
    assert (len(slack), messages(slack)) == (3, 4)
    assert speakers(slack) == {"Example User"}
    assert [m.metadata["conversation"] for m in slack] == ["#example-channel", "#general", "#random"]
    assert slack[1].text == "Example User: Hello, world!\nExample User: Example in general"
    assert slack[1].occurred_at == "2023-04-13T19:15:17+00:00"

    imessage = chat("imessage_chat.db")
    # 23 messages; one tapback ("Loved ...") repeats another message and makes no memory.
    assert (len(imessage), messages(imessage)) == (4, 22)
    assert speakers(imessage) == {"me", "testemail@gmail.com"}
    assert imessage[0].occurred_at == "2023-11-05T02:50:50+00:00"
    assert imessage[0].text.startswith("testemail@gmail.com: Yeh\n")
    assert imessage[-1].metadata["end"] == "2023-11-17T07:05:36+00:00"

    page = SAMPLES / "screenshots" / "page_screenshot.png"
    found = memories_of(page)
    parts = [m for m in found if m.type.value == "resource"]
    (seen,) = [m for m in found if m.type.value == "episodic"]
    resource = parts[0]
    assert len(parts) > 1 and [m.metadata["part"] for m in parts] == list(range(1, len(parts) + 1))
    assert resource.source_ref == str(page) and resource.path == str(page)
    assert resource.occurred_at == seen.occurred_at == "2025-01-15T07:20:01+00:00"  # PNG tIME
    assert "Layout Detection Models" in " ".join(" ".join(m.text for m in parts).split())
    assert seen.text.startswith("Seen on screen (page_screenshot.png): ")

    readme = memories_of(SAMPLES / "README.md")
    assert list(dict.fromkeys(m.source_ref for m in readme)) == [
        f"{SAMPLES / 'README.md'}:1-4",
        f"{SAMPLES / 'README.md'}:6-15",  # the table, cut between its rows
        f"{SAMPLES / 'README.md'}:6-19",  # its last rows and the paragraph after it
    ]

    # The broken WhatsApp line is on record, with its file and line.
    status = mem_json("status")
    warning = {
        "path": str(CHATS / "whatsapp_android_chat.txt"),
        "reason": "line 4: unreadable message header: '1/23/23, 3:22_AM - User 1: And let me know "
        "if anything changes' (rest of the file kept)",
    }
    assert warning.items() <= status["errors"][0].items()
    assert summary["warnings"] == [warning]
    assert status["sources"] == {"ok": 9} and status["pending_vectors"] == 0

    # Again: nothing to do, nothing new, nothing rewritten; the warning is told again.
    again = mem_json("ingest", str(SAMPLES))
    assert again == {**{k: 0 for k in SUMMARY_KEYS}, "unchanged": 9, "errors": [], "warnings": [warning]}
    app = Secondme()
    assert app.store.count() == 33
    assert app.store.conn.execute("SELECT COUNT(*) FROM history").fetchone()[0] == 0


@needs_samples
@pytest.mark.slow
@pytest.mark.parametrize(
    ("question", "expected", "sample"),
    [
        ("What did Batman & Robin say to Jimmeny Marvelton?", "nemesis", "telegram"),
        ("What message did James send?", "Hi here", "whatsapp_android_chat.txt"),
        ("How much did User 1 offer for the bag?", "$50", "facebook_chat.json"),
    ],
)
def test_questions_about_samples_cite_the_file(default_llm, question, expected, sample):
    from secondme.answer import ask

    app = Secondme()
    Ingestor(app).ingest_paths([CHATS])
    answer = ask(app, question, llm=default_llm)
    assert expected in answer.answer and not answer.abstained, answer.answer
    cited = [app.store.get(i) for i in answer.citations]
    if sample == "telegram":
        # The JSON and HTML exports hold the same window: one memory, listed by both files,
        # whose provenance names the one read first.
        files = [CHATS / "telegram_messages.html", CHATS / "telegram_result.json"]
    else:
        files = [CHATS / sample]
    from_file = [m for m in cited if any(m.source_ref.startswith(f"{f}#") for f in files)]
    assert from_file, (answer.answer, [m.source_ref for m in cited])
    assert any(expected in m.text for m in from_file)  # the cited window holds the fact
    for path in files:
        listed = json.loads(Ingestor(app).source_row(path)["memory_ids"])
        assert from_file[0].id in listed  # and the file's own record points back to it


# ---------------------------------------------------------------------------------------------
# Keeping up with changes


def test_changed_note_supersedes_its_old_chunk(tmp_path):
    notes = tmp_path / "notes"
    note = write(
        notes / "trip.md",
        "# Trip\n\n## Hotel\n\nWe stay at the Hotel Avenida, room 12.\n\n"
        "## Food\n\nDinner booked at Taberna da Rua das Flores.\n",
    )
    first = mem_json("ingest", str(notes))
    assert (first["added"], first["memories_added"]) == (1, 2)
    hotel, food = memories_of(note)
    assert "Hotel Avenida" in hotel.text and "Taberna" in food.text

    note.write_text(note.read_text().replace("room 12", "room 31"))
    second = mem_json("ingest", str(notes))
    assert (second["updated"], second["memories_added"]) == (1, 1)
    new_hotel, same_food = memories_of(note)
    assert same_food.id == food.id  # the unchanged section keeps its memory
    assert new_hotel.id != hotel.id and "room 31" in new_hotel.text

    old = mem_json("show", str(hotel.id))
    assert old["superseded_by"] == new_hotel.id and old["valid_to"]
    assert [h["change"] for h in old["history"]] == ["supersede"]
    assert old["history"][0]["snapshot"]["text"] == hotel.text  # history kept

    hits = mem_json("search", "Hotel Avenida room")
    assert [h["id"] for h in hits if "Hotel Avenida" in h["text"]] == [new_hotel.id]  # no duplicate
    listed = mem_json("list", "--all")
    assert sorted(m["id"] for m in listed) == sorted([hotel.id, food.id, new_hotel.id])
    assert mem_json("doctor")["healthy"] is True


def test_chunk_that_moves_down_its_note_follows_with_its_line_numbers(tmp_path):
    note = write(tmp_path / "n.md", "# Log\n\n## Monday\n\nSwam 2 km.\n")
    app = Secondme()
    ingestor = Ingestor(app)
    ingestor.ingest_file(note)
    (monday,) = memories_of(note)
    assert monday.source_ref == f"{note}:3-5"
    note.write_text("# Log\n\n## Sunday\n\nRested.\n\n## Monday\n\nSwam 2 km.\n")
    assert ingestor.ingest_file(note) == "updated"
    sunday, same = memories_of(note)
    assert same.id == monday.id and same.source_ref == f"{note}:7-9"
    assert sunday.source_ref == f"{note}:3-5"


def test_chat_export_growing_keeps_old_windows_and_adds_new_ones(tmp_path):
    export = write(
        tmp_path / "WhatsApp Chat with Ana.txt",
        "13/01/24, 09:00 - Ana: Coffee at 10?\n13/01/24, 09:01 - Rui: Yes, at Fabrica\n",
    )
    ingestor = Ingestor(Secondme())
    assert ingestor.ingest_file(export) == "added"
    (morning,) = memories_of(export)
    with export.open("a", encoding="utf-8") as handle:
        handle.write("14/01/24, 18:00 - Ana: Dinner on Friday?\n")
    assert ingestor.ingest_file(export) == "updated"
    kept, evening = memories_of(export)
    assert kept.id == morning.id and kept.superseded_by is None
    assert evening.text == "Ana: Dinner on Friday?" and evening.occurred_at == "2024-01-14T18:00:00"


def test_moved_file_keeps_its_memories_with_new_provenance(tmp_path):
    notes = tmp_path / "notes"
    note = write(notes / "plants.md", "# Plants\n\nWater the fig every Sunday.\n")
    mem_json("ingest", str(notes))
    (before,) = memories_of(note)
    target = notes / "home" / "garden.md"
    target.parent.mkdir()
    note.rename(target)

    summary = mem_json("ingest", str(notes))
    assert (summary["moved"], summary["added"], summary["removed"], summary["memories_added"]) == (1, 0, 0, 0)
    (after,) = memories_of(target)
    assert after.id == before.id and after.text == before.text
    assert after.source_ref == f"{target}:1-3" and after.path == str(target)
    assert str(note) not in sources()
    assert Secondme().store.count() == 1


def test_moving_a_file_over_another_supersedes_the_replaced_one(tmp_path):
    app = Secondme()
    ingestor = Ingestor(app)
    a = write(tmp_path / "notes" / "a.md", "Fig needs water on Sundays.\n")
    b = write(tmp_path / "notes" / "b.md", "Old advice: water the fig daily.\n")
    ingestor.ingest_paths([tmp_path / "notes"])
    (kept,), (replaced,) = memories_of(a), memories_of(b)
    a.replace(b)  # what `mv a.md b.md` does
    assert ingestor.move(a, b)
    assert [m.id for m in memories_of(b)] == [kept.id]
    assert app.store.get(replaced.id).superseded_by == kept.id


def test_deleted_file_keeps_its_memories_marked_source_gone(tmp_path):
    notes = tmp_path / "notes"
    note = write(notes / "wifi.md", "The cabin wifi network is called Pinhal.\n")
    other = write(notes / "keep.md", "Spare key under the blue pot.\n")
    mem_json("ingest", str(notes))
    (memory,) = memories_of(note)
    note.unlink()

    summary = mem_json("ingest", str(notes))
    assert (summary["removed"], summary["unchanged"]) == (1, 1)
    shown = mem_json("show", str(memory.id))
    assert shown["source_status"] == "gone" and shown["superseded_by"] is None
    assert sources()[str(note)]["status"] == "gone"
    assert [h["id"] for h in mem_json("search", "cabin wifi")][:1] == [memory.id]  # still findable
    assert memories_of(other)[0].source_status is None

    # It comes back: no longer gone, same memory.
    write(note, "The cabin wifi network is called Pinhal.\n")
    assert mem_json("ingest", str(notes))["updated"] == 1
    assert mem_json("show", str(memory.id))["source_status"] is None


def test_deleted_file_is_forgotten_when_configured(tmp_path):
    forget = {"SECONDME_INGEST_ON_DELETE": "forget"}
    notes = tmp_path / "notes"
    note = write(notes / "wifi.md", "The cabin wifi network is called Pinhal.\n")
    mem_json("ingest", str(notes), env=forget)
    (memory,) = memories_of(note)
    note.unlink()
    assert mem_json("ingest", str(notes), env=forget)["removed"] == 1
    assert run_mem("show", str(memory.id)).returncode == 3
    assert str(note) not in sources()
    assert mem_json("search", "cabin wifi") == []
    assert mem_json("doctor")["healthy"] is True


@needs_samples
@pytest.mark.parametrize("on_delete", ["keep", "forget"])
def test_a_memory_two_exports_share_survives_deleting_one(tmp_path, on_delete):
    exports = tmp_path / "exports"
    exports.mkdir()
    for name in ("telegram_result.json", "telegram_messages.html"):
        shutil.copy(CHATS / name, exports / name)
    app = Secondme()
    app.settings.ingest.on_delete = on_delete
    ingestor = Ingestor(app)
    ingestor.ingest_paths([exports])
    (shared,) = memories_of(exports / "telegram_result.json")
    (exports / "telegram_messages.html").unlink()
    assert ingestor.forget_missing([exports]) == 1
    # The JSON export still holds the window: neither marked gone nor forgotten.
    assert app.store.get(shared.id).source_status is None
    (exports / "telegram_result.json").unlink()
    ingestor.forget_missing([exports])
    if on_delete == "keep":
        assert app.store.get(shared.id).source_status == "gone"
    else:
        assert app.store.count() == 0


# ---------------------------------------------------------------------------------------------
# What is not read


def test_memignore_and_default_ignores(tmp_path):
    root = tmp_path / "vault"
    wanted = [
        write(root / "a.md", "Alpha note about the orchard.\n"),
        write(root / "sub" / "b.md", "Beta note about the orchard.\n"),
        write(root / "sub" / "keep.txt", "Gamma note about the orchard.\n"),
    ]
    for junk in [
        ".git/COMMIT_EDITMSG.md",
        "node_modules/pkg/README.md",
        ".obsidian/workspace.md",
        "a.md.swp",
        "a.md~",
        ".#a.md",
        "draft.tmp",
        "sub/.DS_Store",
        "private/diary.md",
        "sub/secret.md",
        "sub/deep/x.log.md",
    ]:
        write(root / junk, "should never be read: orchard\n")
    write(root / ".memignore", "private/\nsecret.md\n")
    write(root / "sub" / ".memignore", "deep/*.log.md\n")

    ingestor = Ingestor(Secondme())
    assert [f for f, _ in ingestor.walk([root])] == [p.resolve() for p in wanted]
    summary = mem_json("ingest", str(root))
    assert (summary["added"], summary["errors"]) == (3, [])
    assert sorted(sources()) == sorted(str(p.resolve()) for p in wanted)
    # A file named on the command line is read even where a folder walk would skip it.
    assert mem_json("ingest", str(root / "private" / "diary.md"))["added"] == 1


def test_files_over_the_size_limit_are_skipped_and_recorded(tmp_path):
    folder = tmp_path / "notes"
    small = write(folder / "small.md", "Short note.\n")
    big = write(folder / "big.md", "Long note. " * 200)  # 2,200 bytes
    limit = {"SECONDME_INGEST_MAX_FILE_MB": "0.001"}  # about 1 KB
    summary = mem_json("ingest", str(folder), env=limit)
    assert (summary["added"], summary["skipped"]) == (1, 1)
    assert summary["errors"] == [
        {"path": str(big), "reason": "too large: 2.1 KB, over ingest.max_file_mb = 0.001"}
    ]
    assert sources()[str(big)]["status"] == "too_large"
    assert sources()[str(small)]["status"] == "ok"
    # With the limit raised the file is read.
    assert mem_json("ingest", str(folder))["added"] == 1


@needs_samples
def test_a_file_skipped_for_one_kind_is_read_when_asked_for_another(tmp_path):
    export = tmp_path / "exports" / "result.json"
    export.parent.mkdir()
    shutil.copy(CHATS / "telegram_result.json", export)
    ingestor = Ingestor(Secondme())
    summary = pipeline.IngestSummary()
    assert ingestor.ingest_file(export, "notes", summary) == "skipped"
    assert summary.errors == [
        {"path": str(export), "reason": "not a notes file secondme can read (looks like json)"}
    ]
    # Same bytes, same question: no work, and the file is reported again.
    again = pipeline.IngestSummary()
    assert ingestor.ingest_file(export, "notes", again) == "skipped"
    assert again.errors == summary.errors
    assert ingestor.ingest_file(export, "auto") == "added"


def test_unknown_kind_is_refused():
    result = run_mem("ingest", ".", "--kind", "pdfs")
    assert result.returncode == 2 and "unknown kind 'pdfs'" in result.stderr


# ---------------------------------------------------------------------------------------------
# Bad input


def _zip_with_bomb(path: Path, declared_gb: float, lie: bool = False) -> None:
    """A Slack-looking zip whose day file inflates to ``declared_gb`` GB of zeros.

    The deflate stream is one compressed megabyte repeated (a full flush makes each copy stand
    alone), so the file is a few MB however big the bomb.  With ``lie`` the headers claim 1 KB.
    """
    megabytes = int(declared_gb * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15).flush(zlib.Z_FINISH)
    members = [
        ("users.json", b'[{"id": "U1", "name": "ana"}]', 0),
        ("channels.json", b'[{"id": "C1", "name": "general"}]', 0),
    ]
    local, central = bytearray(), bytearray()

    def add(name: str, data: bytes, method: int, size: int, crc: int) -> None:
        offset = len(local)
        encoded = name.encode()
        header = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), size, len(encoded), 0
        )
        local.extend(header + encoded + data)
        central.extend(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(encoded),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )

    for name, data, method in members:
        add(name, data, method, len(data), zlib.crc32(data))
    bomb = block * megabytes + tail
    size = 1024 if lie else megabytes << 20
    add("general/2023-04-13.json", bomb, 8, min(size, 0xFFFFFFFF), 0)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 3, 3, len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))


def test_zip_bomb_helper_really_inflates(tmp_path):
    bomb = tmp_path / "bomb.zip"
    _zip_with_bomb(bomb, declared_gb=3.9)
    assert bomb.stat().st_size < 8 * 1024 * 1024
    with zipfile.ZipFile(bomb) as archive:
        info = archive.getinfo("general/2023-04-13.json")
        assert info.file_size > 4_000_000_000
        with archive.open(info) as handle:
            assert handle.read(50 << 20) == bytes(50 << 20)  # it really inflates


@needs_samples
def test_bad_input_is_recorded_skipped_and_loses_nothing(tmp_path, monkeypatch):
    app = Secondme()
    ingestor = Ingestor(app)
    # What was stored before: a good export, and one that is about to go bad.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    shutil.copy(CHATS / "facebook_chat.json", earlier / "facebook_chat.json")
    shutil.copy(CHATS / "chatgpt_fake_conversations.json", earlier / "conversations.json")
    assert ingestor.ingest_paths([earlier]).added == 2
    before = {m.id: m.text for m in app.store.listing(limit=100)}
    assert len(before) == 5

    bad = tmp_path / "bad"
    bad.mkdir()
    good = write(bad / "good.md", "The bike lock code is in the blue notebook.\n")
    (bad / "junk.txt").write_bytes(bytes(range(256)) * 40)
    latin = bad / "latin.txt"
    latin.write_bytes("Reunião com a Inês às 15h no café.\n".encode("cp1252"))
    telegram = (CHATS / "telegram_result.json").read_bytes()
    (bad / "result.json").write_bytes(telegram[: len(telegram) // 2])
    (bad / "empty_export.json").write_text(
        json.dumps({"name": "Ana", "type": "personal_chat", "id": 1, "messages": []})
    )
    (bad / "WhatsApp Chat with Nobody.txt").write_bytes(b"")
    _zip_with_bomb(bad / "slack_export.zip", declared_gb=3.9)
    _zip_with_bomb(bad / "slack_lying.zip", declared_gb=1, lie=True)
    png = (SAMPLES / "screenshots" / "page_screenshot.png").read_bytes()
    (bad / "corrupt.png").write_bytes(png[:200] + os.urandom(2000))
    huge = struct.pack(">I4sIIBBBBB", 13, b"IHDR", 40000, 40000, 8, 2, 0, 0, 0)
    (bad / "huge.png").write_bytes(b"\x89PNG\r\n\x1a\n" + huge + struct.pack(">I", zlib.crc32(huge[4:])))
    locked = write(bad / "locked.md", "You cannot read me.\n")
    locked.chmod(0)
    write(bad / "vanishing.md", "Here one moment.\n")
    # The earlier chat export goes bad: truncated in place.
    broken = earlier / "facebook_chat.json"
    broken.write_bytes(broken.read_bytes()[:300])

    # Tests run as root, for whom chmod 000 does not stop a read: stand in for the kernel by
    # refusing to open a file whose mode grants no read permission, as it does for everyone else.
    real_hash = pipeline.file_hash

    def file_hash(path: Path) -> str:
        if stat.S_IMODE(path.stat().st_mode) & 0o444 == 0:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_hash(path)

    monkeypatch.setattr(pipeline, "file_hash", file_hash)
    # The file disappears between being hashed and being parsed (a sync tool replacing it).
    from secondme.ingest.sources import notes

    real_read = notes.read_bytes

    def read_bytes(path: Path, *args, **kwargs) -> bytes:
        if path.name == "vanishing.md":
            path.unlink()
        return real_read(path, *args, **kwargs)

    monkeypatch.setattr(notes, "read_bytes", read_bytes)

    summary = ingestor.ingest_paths([bad, earlier])
    reasons = {Path(e["path"]).name: e["reason"] for e in summary.errors}
    assert set(reasons) == {
        "junk.txt",
        "result.json",
        "empty_export.json",
        "WhatsApp Chat with Nobody.txt",
        "slack_export.zip",
        "slack_lying.zip",
        "corrupt.png",
        "huge.png",
        "locked.md",
        "vanishing.md",
        "facebook_chat.json",
    }
    assert reasons["junk.txt"] == "not a format secondme can read (looks like binary)"
    assert "telegram" in reasons["result.json"] or "JSON" in reasons["result.json"]
    assert reasons["empty_export.json"].startswith("no messages found in empty_export.json")
    assert reasons["WhatsApp Chat with Nobody.txt"] == "not a format secondme can read (an empty file)"
    assert "zip bomb" in reasons["slack_export.zip"]
    assert "slack" in reasons["slack_lying.zip"].lower() or "zip" in reasons["slack_lying.zip"]
    assert "not a readable image" in reasons["corrupt.png"]
    assert "40000x40000" in reasons["huge.png"]
    assert reasons["locked.md"] == "cannot read: Permission denied"
    assert "No such file or directory" in reasons["vanishing.md"]
    assert "messenger" in reasons["facebook_chat.json"] or "JSON" in reasons["facebook_chat.json"]
    assert (summary.added, summary.skipped, summary.unchanged) == (2, 2, 1)

    # The good files of the run were read; the legacy-encoded one with a note about it.
    assert "blue notebook" in memories_of(good)[0].text
    assert "Reunião com a Inês às 15h no café." in memories_of(latin)[0].text
    # Nothing stored before was lost: the broken export keeps its memories until it is fixed.
    after = {m.id: m.text for m in app.store.listing(limit=100)}
    assert before.items() <= after.items()
    assert sources()[str(broken)]["status"] == "error"
    assert app.search("interested in your bag", k=3)[0].memory.id in before

    # `mem status` shows every one of them, with path and reason.
    status = mem_json("status")
    shown = {(e["path"], e["reason"]) for e in status["errors"]}
    for error in summary.errors:
        assert (error["path"], error["reason"]) in shown
    assert any(e["path"] == str(latin) and "read as Windows-1252" in e["reason"] for e in status["errors"])
    # The file that vanished is recorded as failed, then as gone: it is no longer there.
    assert status["sources"] == {"ok": 3, "error": 8, "skipped": 2, "gone": 1}

    # Fixed: the export is read again and its memories carry on (no duplicates).
    shutil.copy(CHATS / "facebook_chat.json", broken)
    locked.chmod(0o644)
    again = ingestor.ingest_paths([bad, earlier])
    assert (again.updated, again.added) == (1, 1)
    assert app.store.count() == len(after) + 1

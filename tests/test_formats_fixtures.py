"""Every format from the small samples written in tests/fixtures: no shared data needed."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secondme.ingest.sources import detect_source
from secondme.memory import MemoryType
from tests.cli_helpers import UNEXPECTED, invoke
from tests.fixture_files import every_format

has_tesseract = shutil.which("tesseract") is not None


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return every_format(tmp_path / "inbox")


def parse(path: Path):
    source = detect_source(path)
    assert source is not None, f"{path.name} was not recognised"
    result = source.parse(path)
    for draft in result.drafts:
        draft.validate()
    return source.name, result


def lines(result) -> list[tuple[str, str]]:
    return [(m.speaker, m.text) for m in result.messages]


def test_whatsapp(files):
    kind, result = parse(files["whatsapp"])
    assert (kind, result.format, result.problems) == ("chats", "whatsapp", [])
    assert lines(result)[1:4] == [
        ("Marta Lopes", "Are we still on for the allotment on Saturday?"),
        ("Rui", "Yes! I'll bring the seed potatoes"),
        ("Marta Lopes", "Great. The shed key is under the blue pot\nand the hose is fixed now"),
    ]
    assert result.messages[0].meta["system"] and result.messages[5].meta["deleted"]
    assert result.messages[1].timestamp == datetime(2024, 3, 12, 18, 4)  # day first: 12/03 and 13/03
    assert [d.text.splitlines()[-1] for d in result.drafts] == [
        "Rui: [media]",
        "Rui: Forgot to say: bring gloves, the nettles are back",
    ]
    assert all(d.type is MemoryType.EPISODIC for d in result.drafts)


def test_telegram_json(files):
    kind, result = parse(files["telegram-json"])
    assert (kind, result.format, result.problems) == ("chats", "telegram-json", [])
    assert lines(result)[1:] == [
        ("Inês", "Next month we read The Left Hand of Darkness"),
        ("Tomás", "Meeting at Café Aurora on the 29th"),  # rich text pieces joined
    ]
    assert result.messages[1].timestamp == datetime(2024, 2, 1, 19, 2, 10, tzinfo=UTC)
    (draft,) = result.drafts  # the service message makes no memory
    assert draft.occurred_at == "2024-02-01T19:02:10+00:00"


def test_telegram_html(files):
    kind, result = parse(files["telegram-html"])
    assert (kind, result.format, result.problems) == ("chats", "telegram-html", [])
    assert lines(result) == [
        ("Inês", "Next month we read The Left Hand of Darkness"),
        ("Inês", "Bring your own copy & a snack"),  # "joined": the previous speaker, entities unescaped
        ("Tomás", "Meeting at Café Aurora on the 29th"),
    ]
    assert {m.conversation for m in result.messages} == {"Book club"}


def test_chatgpt(files):
    kind, result = parse(files["chatgpt"])
    assert (kind, result.format, result.problems) == ("chats", "chatgpt", [])
    assert [m.speaker for m in result.messages] == ["me", "ChatGPT", "me"]
    assert result.messages[2].text == "Thanks, I'll feed it at 8am and 8pm."
    assert result.messages[0].timestamp == datetime.fromtimestamp(1709640010, UTC)
    (draft,) = result.drafts
    assert draft.metadata["conversation"] == "Sourdough help"


def test_messenger(files):
    kind, result = parse(files["messenger"])
    assert (kind, result.format, result.problems) == ("chats", "messenger", [])
    # Newest first in the file, oldest first out; Facebook's mojibake repaired.
    assert lines(result) == [
        ("Sam Carter", "Did you book the train?"),
        ("João Reis", "Got the train tickets for Porto, coach 5"),
        ("João Reis", ""),
        ("Sam Carter", "See you at the station at 7 then"),
    ]
    assert result.messages[2].meta["media"] is True
    assert result.messages[0].meta["reactions"][0]["reaction"] == "👍"


def test_slack(files):
    kind, result = parse(files["slack"])
    assert (kind, result.format, result.problems) == ("chats", "slack", [])
    assert lines(result) == [
        ("Ben Okafor", "@Ben Okafor has joined the channel"),
        ("Ana", "The compost delivery comes Tuesday morning"),
        ("Ben Okafor", "@Ana I can be there & help spread it"),
    ]
    (draft,) = result.drafts  # the join notice makes no memory
    assert draft.metadata["conversation"] == "#garden"


def test_imessage(files):
    kind, result = parse(files["imessage"])
    assert (kind, result.format, result.problems) == ("chats", "imessage", [])
    # One conversation: a one-to-one chat has an empty display name.
    assert {m.conversation for m in result.messages} == {"+447700900123"}
    assert lines(result)[:2] == [
        ("+447700900123", "Is the dentist still at 3 on Friday?"),
        ("me", "Yes, Dr Costa moved it to 3:30"),
    ]
    assert result.messages[0].timestamp == datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
    assert result.messages[2].meta["reaction"] is True
    assert all("Loved" not in d.text for d in result.drafts)


def test_markdown_note(files):
    kind, result = parse(files["markdown"])
    assert (kind, result.format, result.problems) == ("notes", "markdown", [])
    assert [d.text.split("\n")[0] for d in result.drafts] == [
        "Lisbon trip",
        "Lisbon trip > Where we stay",
        "Lisbon trip > Food",
    ]
    assert "See what to pack before leaving." in result.drafts[1].text  # [[link|alias]] shown as read
    assert result.drafts[0].occurred_at == "2024-06-14"
    assert result.drafts[0].tags == ["travel", "family", "todo"]
    assert result.drafts[1].metadata["links"] == ["Packing list"]


def test_text_note(files):
    kind, result = parse(files["text"])
    assert (kind, result.format) == ("notes", "text")
    (draft,) = result.drafts
    assert "chicken thighs on Thursday" in draft.text and draft.type is MemoryType.RESOURCE


def test_org_note(files):
    kind, result = parse(files["org"])
    assert (kind, result.format, result.problems) == ("notes", "org", [])
    assert [d.text.split("\n")[0] for d in result.drafts] == [
        "Projects > Fix the bathroom fan",
        "Projects > Renew the car insurance",
    ]
    assert "from the parts shop." in result.drafts[0].text
    assert result.drafts[0].tags == ["home", "diy"]


@pytest.mark.skipif(not has_tesseract, reason="tesseract is not installed")
def test_screenshot(files):
    kind, result = parse(files["screenshot"])
    assert kind == "screenshots"
    text = " ".join(d.text for d in result.drafts)
    assert "BAKERY ROSA" in text and "7.70" in text


def test_every_format_ingests_and_a_second_run_does_nothing(files):
    folder = files["whatsapp"].parent
    if not has_tesseract:
        files["screenshot"].unlink()
    first = invoke(["ingest", str(folder), "--json"])
    assert first.code == 0 and UNEXPECTED not in first.stderr, first.stderr
    summary = json.loads(first.stdout)
    assert summary["added"] == len(list(folder.iterdir())) and summary["errors"] == []
    again = json.loads(invoke(["ingest", str(folder), "--json"]).stdout)
    assert again["unchanged"] == summary["added"] and again["memories_added"] == 0
    status = json.loads(invoke(["status", "--json"]).stdout)
    assert status["sources"] == {"ok": summary["added"]} and status["errors"] == []
    found = json.loads(invoke(["search", "compost delivery", "--json"]).stdout)
    assert "The compost delivery comes Tuesday morning" in found[0]["text"]

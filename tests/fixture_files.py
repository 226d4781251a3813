"""The small hand-written samples in tests/fixtures, made into the files real exports are.

Text formats are used as they are; a Slack export is a zip (built from its folder), a Messages
database is SQLite (built from its SQL), a screenshot is a PNG (rendered from its text).
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CHATS = FIXTURES / "chats"
NOTES = FIXTURES / "notes"


def slack_zip(folder: Path) -> Path:
    """The Slack export folder zipped as Slack delivers it."""
    path = folder / "slack_export.zip"
    source = CHATS / "slack"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*.json")):
            archive.write(file, file.relative_to(source).as_posix())
    return path


def imessage_db(folder: Path) -> Path:
    """A Messages ``chat.db`` built from its SQL."""
    path = folder / "chat.db"
    conn = sqlite3.connect(path)
    conn.executescript((CHATS / "imessage.sql").read_text(encoding="utf-8"))
    conn.commit()
    conn.close()
    return path


def screenshot_png(folder: Path) -> Path:
    """The receipt text drawn black on white, large enough for OCR."""
    from PIL import Image, ImageDraw, ImageFont

    lines = (FIXTURES / "screenshots" / "receipt.txt").read_text(encoding="utf-8").splitlines()
    try:
        font = ImageFont.load_default(size=28)
    except TypeError:  # Pillow before 10.1 has one size only
        font = ImageFont.load_default()
    image = Image.new("RGB", (640, 60 + 48 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((30, 30 + 48 * number), line, fill="black", font=font)
    path = folder / "receipt.png"
    image.save(path)
    return path


def every_format(folder: Path) -> dict[str, Path]:
    """One file per format in ``folder`` (text fixtures copied, binary ones built)."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, fixture in [
        ("whatsapp", CHATS / "whatsapp.txt"),
        ("telegram-json", CHATS / "telegram_result.json"),
        ("telegram-html", CHATS / "telegram_messages.html"),
        ("chatgpt", CHATS / "conversations.json"),
        ("messenger", CHATS / "message_1.json"),
        ("markdown", NOTES / "trip.md"),
        ("text", NOTES / "groceries.txt"),
        ("org", NOTES / "projects.org"),
    ]:
        target = folder / fixture.name
        target.write_bytes(fixture.read_bytes())
        files[name] = target
    files["slack"] = slack_zip(folder)
    files["imessage"] = imessage_db(folder)
    files["screenshot"] = screenshot_png(folder)
    return files

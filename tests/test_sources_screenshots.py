"""Screenshots: OCR into a resource memory and a "seen on screen" episode, with guards."""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secondme.ingest.sources import ScreenshotsSource, detect_source
from secondme.ingest.sources import screenshots as shots
from secondme.ingest.sources.base import ParseError
from secondme.ingest.sources.screenshots import clean_ocr_text, parse_image, png_info
from secondme.memory import MemoryType

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "screenshots"
PAGE = SAMPLE / "page_screenshot.png"
has_tesseract = shutil.which("tesseract") is not None
needs_ocr = pytest.mark.skipif(
    not (has_tesseract and PAGE.exists()), reason="tesseract or the sample is missing"
)


def fake_ocr(text: str):
    return lambda image: text


def png(tmp_path: Path, name: str = "shot.png", size: tuple[int, int] = (40, 20)) -> Path:
    path = tmp_path / name
    Image.new("RGB", size, "white").save(path, format="PNG")
    return path


@needs_ocr
def test_sample_page_is_read_with_tesseract() -> None:
    result = parse_image(PAGE)
    assert result.format == "image" and result.problems == []
    resource, episode = result.drafts
    resource.validate()
    episode.validate()
    assert resource.type is MemoryType.RESOURCE
    assert resource.resource_kind == "screenshot"
    assert resource.title == "page_screenshot.png"
    assert resource.path == str(PAGE.resolve())
    for phrase in (
        "Layout Detection Models",
        "LayoutParser provides a wealth of pre-trained model weights",
        "deep convolutional neural networks",
    ):
        assert phrase in " ".join(resource.text.split())
    meta = resource.metadata
    assert (meta["width"], meta["height"], meta["bytes"]) == (675, 938, PAGE.stat().st_size)
    assert meta["engine"] == "tesseract" and meta["ocr_seconds"] > 0
    # The PNG carries a tIME chunk: that is when the picture was made.
    assert meta["captured_from"] == "png-time"
    assert resource.occurred_at == episode.occurred_at == "2025-01-15T07:20:01+00:00"
    assert episode.type is MemoryType.EPISODIC
    assert episode.text.startswith("Seen on screen (page_screenshot.png): Table 1: Current layout")
    assert len(episode.text) <= len("Seen on screen (page_screenshot.png): ") + 301


@pytest.mark.skipif(not has_tesseract, reason="tesseract is not installed")
def test_blank_image_makes_no_memory(tmp_path: Path) -> None:
    result = parse_image(png(tmp_path, size=(200, 100)))
    assert result.drafts == []
    assert [p.reason for p in result.problems] == ["OCR found no text; nothing to remember"]


def test_png_info_reads_size_and_time() -> None:
    if not PAGE.exists():
        pytest.skip("sample missing")
    info = png_info(PAGE.read_bytes())
    assert info == {
        "width": 675,
        "height": 938,
        "time": datetime(2025, 1, 15, 7, 20, 1, tzinfo=UTC),
    }
    assert png_info(b"not a png") == {}


def test_exif_capture_time_wins(tmp_path: Path) -> None:
    path = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2023:07:14 18:30:05"
    exif.get_ifd(0x8769)[36881] = "+02:00"
    Image.new("RGB", (30, 30), "white").save(path, exif=exif)
    result = parse_image(path, engine=fake_ocr("Boarding pass LIS 18:45"), engine_name="stub")
    resource, episode = result.drafts
    assert resource.occurred_at == "2023-07-14T18:30:05+02:00"
    assert resource.metadata["captured_from"] == "exif"
    assert resource.metadata["engine"] == "stub"
    assert episode.text == "Seen on screen (photo.jpg): Boarding pass LIS 18:45"


def test_file_time_is_the_fallback(tmp_path: Path) -> None:
    path = png(tmp_path)
    stamp = datetime(2022, 2, 2, 12, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    resource, _ = parse_image(path, engine=fake_ocr("hello")).drafts
    assert resource.metadata["captured_from"] == "mtime"
    assert datetime.fromisoformat(resource.occurred_at).timestamp() == stamp


def test_empty_ocr_text_is_a_problem_not_a_memory(tmp_path: Path) -> None:
    result = parse_image(png(tmp_path), engine=fake_ocr(" \n |\n\x0c"))
    assert result.drafts == [] and len(result.problems) == 1


def test_corrupt_image_is_a_parse_error(tmp_path: Path) -> None:
    path = png(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ParseError, match="not a readable image"):
        parse_image(path, engine=fake_ocr("x"))


def test_not_an_image_is_a_parse_error(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(ParseError, match="not an image"):
        parse_image(path, engine=fake_ocr("x"))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_huge_pixel_count_is_refused_before_decoding(tmp_path: Path) -> None:
    # A tiny file that claims 20000 x 20000 pixels (400 megapixels).
    header = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND", b"")
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    with pytest.raises(ParseError, match="megapixels"):
        parse_image(path, engine=fake_ocr("x"))


def test_large_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = png(tmp_path)
    monkeypatch.setattr(shots, "MAX_IMAGE_BYTES", 10)
    with pytest.raises(ParseError, match="MB"):
        parse_image(path, engine=fake_ocr("x"))


def test_detection_by_content(tmp_path: Path) -> None:
    path = png(tmp_path, name="no_suffix")
    assert isinstance(detect_source(path), ScreenshotsSource)


def test_prepare_for_ocr_flattens_and_upscales() -> None:
    image = Image.new("RGBA", (100, 50), (0, 0, 0, 0))
    prepared = shots.prepare_for_ocr(image)
    assert prepared.mode == "L" and prepared.size == (200, 100)
    assert prepared.getpixel((0, 0)) == 255  # transparent became white, not black
    big = shots.prepare_for_ocr(Image.new("RGB", (2000, 100)))
    assert big.size == (2000, 100)


def test_clean_ocr_text() -> None:
    raw = "Title  \n|\n\n\n\nBody text — fine\n©\n\x0c"
    assert clean_ocr_text(raw) == "Title\n\nBody text — fine"

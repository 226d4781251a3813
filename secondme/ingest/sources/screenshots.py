"""Screenshots and other images: text read offline with Tesseract.

Engine choice (measured on this kind of machine, see FACTS.md and the ingest notes): Debian's
``tesseract-ocr`` through ``pytesseract`` was the most accurate and the fastest on rendered pages;
``rapidocr`` is the pip-only alternative, several times slower on two cores.  Tesseract runs with
``OMP_THREAD_LIMIT=1`` (its OpenMP threads fight each other on small machines and run 2-3x
slower), and small images are upscaled 2x in grayscale first, which recovered most of the small
print in the sample page (word accuracy 0.91 -> 0.95).

One image gives two memories: a resource memory holding the full text, and an episodic one ("Seen
on screen ...") dated when the picture was taken: EXIF DateTimeOriginal, else the PNG ``tIME``
chunk, else the file's modification time.
"""

from __future__ import annotations

import os
import re
import struct
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from secondme.ingest.sources.base import (
    ParseError,
    ParseProblem,
    ParseResult,
    clip,
    iso,
)
from secondme.memory import MemoryType, NewMemory

FORMAT = "image"

MAX_IMAGE_BYTES = 40 * 1024 * 1024
MAX_PIXELS = 50_000_000
#: Images whose longer side is below this are upscaled 2x before OCR.
UPSCALE_BELOW = 1600
OCR_TIMEOUT_S = 120
EPISODE_CHARS = 300

_MAGIC: tuple[tuple[bytes, int], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0),
    (b"\xff\xd8\xff", 0),
    (b"GIF87a", 0),
    (b"GIF89a", 0),
    (b"BM", 0),
    (b"II*\x00", 0),
    (b"MM\x00*", 0),
    (b"WEBP", 8),
)

#: An OCR engine: takes a Pillow image, returns text.
OcrEngine = Callable[[Any], str]


def is_image(head: bytes) -> bool:
    """True when the bytes start like a PNG, JPEG, GIF, BMP, TIFF or WebP file."""
    for magic, offset in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if magic == b"WEBP" and not head.startswith(b"RIFF"):
                continue
            if magic == b"BM" and len(head) < 26:
                continue
            return True
    return False


# ---------------------------------------------------------------------------------------------
# Metadata without decoding the picture


def png_info(data: bytes) -> dict[str, Any]:
    """Width, height and ``tIME`` (UTC) read straight from PNG chunks; {} for non-PNG data."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return {}
    info: dict[str, Any] = {}
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            break
        if kind == b"IHDR" and length >= 8:
            info["width"], info["height"] = struct.unpack(">II", body[:8])
        elif kind == b"tIME" and length == 7:
            year, month, day, hour, minute, second = struct.unpack(">HBBBBB", body)
            try:
                # Seconds may be 60 (a leap second) in the spec; clamp rather than fail.
                info["time"] = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
            except ValueError:
                pass
        elif kind in (b"IDAT", b"IEND"):
            break  # metadata chunks come before the image data
        pos += 12 + length
    return info


_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_OFFSET_TIME_ORIGINAL = 36881
_DATETIME = 306


def _exif_time(image: Any) -> datetime | None:
    """EXIF DateTimeOriginal (with OffsetTimeOriginal when present), else EXIF DateTime."""
    try:
        exif = image.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        # Damaged EXIF must not cost the user the picture; the file time is used instead.
        return None
    raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, str):
        match = re.match(r"^([+-])(\d{2}):(\d{2})$", offset.strip("\x00 "))
        if match:
            minutes = int(match.group(2)) * 60 + int(match.group(3))
            sign = -1 if match.group(1) == "-" else 1
            if minutes <= 14 * 60:
                moment = moment.replace(tzinfo=timezone(timedelta(minutes=sign * minutes)))
    return moment


# ---------------------------------------------------------------------------------------------
# OCR


def tesseract_ocr(image: Any, lang: str = "eng") -> str:
    """Read text with Tesseract through pytesseract (imported here: it is optional)."""
    try:
        import pytesseract
    except ImportError as exc:
        raise ParseError("OCR needs the pytesseract package", hint="pip install pytesseract") from exc
    # Tesseract's OpenMP threads slow it down 2-3x on small machines; respect a user setting.
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    try:
        return pytesseract.image_to_string(image, lang=lang, timeout=OCR_TIMEOUT_S)
    except pytesseract.TesseractNotFoundError as exc:
        raise ParseError(
            "the tesseract program is not installed",
            hint="install it: apt-get install tesseract-ocr (or brew install tesseract)",
        ) from exc
    except (pytesseract.TesseractError, RuntimeError, OSError) as exc:
        raise ParseError(f"OCR failed: {exc}") from exc


def prepare_for_ocr(image: Any) -> Any:
    """Grayscale on white, upscaled 2x when small: what Tesseract reads best."""
    from PIL import Image

    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        # Transparent pixels are often black underneath; flatten onto white like a viewer does.
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    gray = image.convert("L")
    if max(gray.size) < UPSCALE_BELOW:
        gray = gray.resize((gray.width * 2, gray.height * 2), Image.Resampling.LANCZOS)
    return gray


def clean_ocr_text(text: str) -> str:
    """Trim OCR output: trailing spaces, runs of blank lines, lines of stray symbols."""
    lines = []
    for line in text.replace("\x0c", "\n").split("\n"):
        line = line.rstrip()
        stripped = line.strip()
        # Borders and decorations come out as "|", "—", "©" and the like on their own.
        if stripped and len(stripped) <= 3 and not any(ch.isalnum() for ch in stripped):
            continue
        lines.append(line)
    cleaned = "\n".join(lines).strip()
    return re.sub(r"\n{3,}", "\n\n", cleaned)


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_image(path: Path, engine: OcrEngine | None = None, engine_name: str = "tesseract") -> ParseResult:
    """OCR an image into a resource memory (the text) and an episodic one (seen on screen).

    ``engine`` replaces Tesseract (tests and plugins use it).  An image in which no text is
    found makes no memory; the result records that as a problem.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size > MAX_IMAGE_BYTES:
        raise ParseError(
            f"{path.name} is {size // (1024 * 1024)} MB; images over "
            f"{MAX_IMAGE_BYTES // (1024 * 1024)} MB are not read"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not is_image(data[:32]):
        raise ParseError(f"{path.name} is not an image secondme can read (PNG, JPEG, ...)")
    png = png_info(data)
    if png.get("width", 0) * png.get("height", 0) > MAX_PIXELS:
        raise ParseError(_too_many_pixels(path, png["width"], png["height"]))

    try:
        from PIL import Image
    except ImportError as exc:
        raise ParseError("reading images needs Pillow", hint="pip install pillow") from exc

    image = _decode(path, data, Image)
    width, height = image.size
    captured = _exif_time(image)
    captured_from = "exif"
    if captured is None and png.get("time") is not None:
        captured, captured_from = png["time"], "png-time"
    if captured is None:
        captured = datetime.fromtimestamp(path.stat().st_mtime).astimezone()
        captured_from = "mtime"

    started = time.perf_counter()
    raw_text = tesseract_ocr(prepare_for_ocr(image)) if engine is None else engine(image)
    seconds = round(time.perf_counter() - started, 3)
    text = clean_ocr_text(raw_text or "")

    metadata = {
        "width": width,
        "height": height,
        "bytes": size,
        "engine": engine_name,
        "ocr_seconds": seconds,
        "captured_at": iso(captured),
        "captured_from": captured_from,
        "image_format": image.format,
    }
    if not text:
        return ParseResult(
            format=FORMAT,
            problems=[ParseProblem("whole image", "OCR found no text; nothing to remember")],
        )
    absolute = str(path.resolve())
    resource = NewMemory(
        text=text,
        type=MemoryType.RESOURCE,
        source_kind="screenshot",
        source_ref=str(path),
        occurred_at=iso(captured),
        tags=["screenshot"],
        title=path.name,
        resource_kind="screenshot",
        path=absolute,
        metadata=metadata,
    )
    episode = NewMemory(
        text=f"Seen on screen ({path.name}): {clip(text, EPISODE_CHARS)}",
        type=MemoryType.EPISODIC,
        source_kind="screenshot",
        source_ref=str(path),
        occurred_at=iso(captured),
        tags=["screenshot"],
        event="seen on screen",
        path=absolute,
        metadata={"captured_from": captured_from, "title": path.name},
    )
    return ParseResult(format=FORMAT, drafts=[resource, episode])


def _too_many_pixels(path: Path, width: int, height: int) -> str:
    megapixels = width * height / 1_000_000
    return f"{path.name} is {width}x{height} ({megapixels:.0f} megapixels); the limit is 50"


def _decode(path: Path, data: bytes, image_module: Any) -> Any:
    """Open and fully decode the image, turning every decoder failure into a ParseError."""
    import io

    try:
        image = image_module.open(io.BytesIO(data))
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ParseError(_too_many_pixels(path, width, height))
        if width == 0 or height == 0:
            raise ParseError(f"{path.name} has no pixels")
        image.load()
    except ParseError:
        raise
    except Exception as exc:
        # Decoders raise many types (OSError, SyntaxError, struct.error, ...) on damaged files.
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, image_module.UnidentifiedImageError):
            # Its message names the in-memory buffer ("<_io.BytesIO object at 0x...>").
            reason = "no decoder recognises it (damaged, or a format Pillow cannot read)"
        raise ParseError(f"{path.name} is not a readable image: {reason}") from exc
    return image


class ScreenshotsSource:
    """The ``screenshots`` source: images, read with OCR."""

    name = "screenshots"

    def can_parse(self, path: Path, head: bytes) -> bool:
        """True when the content starts like an image, whatever the file is called."""
        return is_image(head)

    def parse(self, path: Path) -> ParseResult:
        """OCR the image into memories."""
        return parse_image(path)

"""Ingest tells every file it did not fully take, on every run, and exits by the rule in docs/errors.md."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from secondme.errors import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL
from tests.cli_helpers import UNEXPECTED, Outcome, invoke


def ingest(*args: str, env: dict[str, str] | None = None) -> tuple[Outcome, dict]:
    outcome = invoke(["ingest", *args, "--json"], env=env)
    assert "Traceback" not in outcome.stderr and UNEXPECTED not in outcome.stderr
    return outcome, json.loads(outcome.stdout)


def status() -> dict:
    outcome = invoke(["status", "--json"])
    assert outcome.code == 0, outcome.stderr
    return json.loads(outcome.stdout)


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_a_note_that_is_only_a_heading_is_a_memory(tmp_path):
    note = write(tmp_path / "todo.md", "# Call the plumber about the leak\n")
    outcome, summary = ingest(str(note))
    assert outcome.code == EXIT_OK and summary["added"] == 1 and summary["errors"] == []
    found = json.loads(invoke(["search", "plumber", "--json", "--mode", "keyword"]).stdout)
    assert [hit["text"] for hit in found] == ["Call the plumber about the leak"]


def test_links_and_link_loops_in_a_folder_are_told_every_run(tmp_path):
    folder = tmp_path / "notes"
    write(folder / "garden.md", "The tomatoes need water every morning.\n")
    outside = write(tmp_path / "elsewhere.md", "Not in the folder.\n")
    os.symlink(outside, folder / "link.md")
    os.symlink(folder / "loop", folder / "loop")
    os.symlink(tmp_path / "missing.md", folder / "broken.md")
    for _run in range(2):
        outcome, summary = ingest(str(folder))
        reasons = {Path(e["path"]).name: e["reason"] for e in summary["errors"]}
        assert reasons == {
            "broken.md": "a broken symbolic link (links inside folders are not followed)",
            "link.md": "a symbolic link (links inside folders are not followed; "
            "name the target to ingest it)",
            "loop": "a symbolic link loop (links inside folders are not followed)",
        }
        assert outcome.code == EXIT_PARTIAL
        assert outcome.error_lines == [
            "error: 3 of 4 files were not taken (each file is listed above, and in `mem status`)"
        ]
    recorded = {Path(e["path"]).name for e in status()["errors"]}
    assert {"broken.md", "link.md", "loop"} <= recorded


def test_a_file_read_with_a_fallback_encoding_is_a_warning_in_json_and_status_every_run(tmp_path):
    latin = write(tmp_path / "notes" / "cafe.txt", "Caf\xe9 with Ren\xe9e on Sunday\n".encode("latin-1"))
    expected = {
        "path": str(latin),
        "reason": "encoding: not UTF-8 (first bad byte at offset 3); read as Windows-1252 "
        "(rest of the file kept)",
    }
    for _run in range(2):
        outcome, summary = ingest(str(latin.parent))
        assert outcome.code == EXIT_OK  # taken: a warning does not fail the run
        assert summary["warnings"] == [expected] and summary["errors"] == []
    assert expected.items() <= status()["errors"][0].items()


def test_an_unreadable_file_and_an_unlistable_folder_are_told_every_run(tmp_path, monkeypatch):
    folder = tmp_path / "notes"
    write(folder / "fine.md", "Fine note about the bicycle.\n")
    secret = write(folder / "secret.md", "Locked away.\n")
    write(folder / "locked" / "inside.md", "Cannot be listed.\n")
    # Tests may run as root, for whom permissions do not apply: refuse the reads instead.
    real_open, real_scandir = open, os.scandir

    def refusing_open(file, *args, **kwargs):
        if str(file) == str(secret):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    def refusing_scandir(path="."):
        if str(path) == str(folder / "locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("builtins.open", refusing_open)
    monkeypatch.setattr(os, "scandir", refusing_scandir)
    for _run in range(2):
        outcome, summary = ingest(str(folder))
        assert {(Path(e["path"]).name, e["reason"]) for e in summary["errors"]} == {
            ("secret.md", "cannot read: Permission denied"),
            ("locked", "cannot list the folder: Permission denied"),
        }
        assert outcome.code == EXIT_PARTIAL


def test_a_file_over_the_size_limit_is_told_every_run(tmp_path):
    folder = tmp_path / "notes"
    write(folder / "small.md", "Short.\n")
    write(folder / "big.md", "word " * 500)
    limit = {"SECONDME_INGEST_MAX_FILE_MB": "0.001"}
    for _run in range(2):
        outcome, summary = ingest(str(folder), env=limit)
        assert [Path(e["path"]).name for e in summary["errors"]] == ["big.md"]
        assert summary["errors"][0]["reason"].startswith("too large: 2.4 KB, over ingest.max_file_mb")
        assert outcome.code == EXIT_PARTIAL


def test_an_ingest_where_every_file_failed_is_a_total_failure(tmp_path):
    folder = tmp_path / "junk"
    write(folder / "a.bin", b"\x00\x01\x02" * 50)
    write(folder / "b.md", b"")
    outcome, summary = ingest(str(folder))
    assert len(summary["errors"]) == 2 and summary["added"] == 0
    assert outcome.code == EXIT_ERROR
    assert outcome.error_lines == [
        "error: none of the 2 files was taken (each file is listed above, and in `mem status`)"
    ]


@pytest.fixture
def screenshot(tmp_path: Path) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 80), "white")
    ImageDraw.Draw(image).text((10, 30), "Dentist on Tuesday at 10", fill="black")
    path = tmp_path / "shot.png"
    image.save(path)
    return path


def test_a_screenshot_without_tesseract_fails_with_the_reason_and_a_hint(tmp_path, screenshot):
    bare = tmp_path / "bin"
    bare.mkdir()  # a PATH without the tesseract program
    outcome = invoke(["ingest", str(screenshot)], env={"PATH": str(bare)})
    assert outcome.code == EXIT_ERROR
    assert outcome.error_lines == [
        f"error: {screenshot} was not taken: the tesseract program is not installed (install it: "
        "apt-get install tesseract-ocr (or brew install tesseract)) "
        "(each file is listed above, and in `mem status`)"
    ]
    assert "Traceback" not in outcome.stderr

"""`mem watch`: a real watchdog observer on a temp folder, in-process and as the background
daemon; pause and resume; broken files; and a `kill -9` in the middle of a large folder."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from secondme import paths
from secondme.ingest.watcher import Watcher
from secondme.service import Secondme
from tests.conftest import run_mem

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples not present")

# How long a change may take to show up. Generous because CI machines are shared; the watcher's
# real latency is measured by bench/ingest.py.
DEADLINE_S = 30.0


def eventually(check: Callable[[], Any], what: str, timeout: float = DEADLINE_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.1)


def db() -> sqlite3.Connection:
    """A connection of the test's own to the home's database."""
    conn = sqlite3.connect(str(paths.db_path()), timeout=15)
    conn.execute("PRAGMA busy_timeout = 15000")
    return conn


def source_status(path: Path) -> str | None:
    with contextlib.closing(db()) as conn:
        row = conn.execute("SELECT status FROM sources WHERE path = ?", (str(path),)).fetchone()
    return row[0] if row else None


def queue_paths() -> list[str]:
    with contextlib.closing(db()) as conn:
        return [r[0] for r in conn.execute("SELECT path FROM ingest_queue")]


def found(app: Secondme, query: str, prefix: Path | str) -> Any:
    """The first current search hit whose provenance starts with ``prefix``, if any."""
    for hit in app.search(query, k=5):
        if (hit.memory.source_ref or "").startswith(str(prefix)):
            return hit.memory
    return None


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, Watcher]]:
    """A folder watched by an in-process Watcher running in a thread, with a short debounce."""
    folder = tmp_path / "watched"
    folder.mkdir()
    watcher = Watcher(Secondme(), [(folder, "auto")], debounce=0.3)
    watcher.start()
    thread = threading.Thread(target=watcher.run, name="watcher", daemon=True)
    thread.start()
    try:
        yield folder.resolve(), watcher
    finally:
        # The worker thread owns the watcher's database connection: let it finish first.
        watcher.request_stop()
        thread.join(timeout=30)
        assert not thread.is_alive()
        watcher.close()


# ---------------------------------------------------------------------------------------------
# In-process watcher


def test_note_created_modified_renamed_deleted(watched):
    folder, _watcher = watched
    app = Secondme()
    note = folder / "lighthouse.md"
    note.write_text("# Lighthouse\n\nThe lighthouse keeper is called Oskar.\n")
    first = eventually(lambda: found(app, "lighthouse keeper Oskar", note), "new note searchable")
    assert "Oskar" in first.text

    # Saved the way editors do: a temp file written next to it, then renamed over it.
    temp = folder / "lighthouse.md.tmp"
    temp.write_text("# Lighthouse\n\nThe lighthouse keeper is called Henrik.\n")
    os.replace(temp, note)
    second = eventually(
        lambda: (m := found(app, "lighthouse keeper Henrik", note)) and "Henrik" in m.text and m,
        "edit searchable",
    )
    assert app.store.get(first.id).superseded_by == second.id  # the old text is history
    assert all("Oskar" not in h.memory.text for h in app.search("lighthouse keeper Oskar", k=5))
    assert source_status(temp) is None  # the temp file itself was never ingested

    renamed = folder / "archive" / "lighthouse-2024.md"
    renamed.parent.mkdir()
    note.rename(renamed)
    moved = eventually(lambda: found(app, "lighthouse keeper Henrik", renamed), "rename followed")
    assert moved.id == second.id and moved.path == str(renamed)
    assert source_status(note) is None and source_status(renamed) == "ok"

    renamed.unlink()
    eventually(lambda: source_status(renamed) == "gone", "deletion seen")
    assert app.store.get(second.id).source_status == "gone"
    assert app.store.count() == 1  # one current memory through all four changes


@needs_samples
def test_chat_export_and_screenshot_dropped_in(watched):
    folder, _watcher = watched
    app = Secondme()
    chat = folder / "exports" / "WhatsApp Chat with James.txt"
    chat.parent.mkdir()
    shutil.copy(SAMPLES / "chats" / "whatsapp_android_chat.txt", chat)
    shot = folder / "Screenshot 2025-01-15.png"
    shutil.copy(SAMPLES / "screenshots" / "page_screenshot.png", shot)

    said = eventually(lambda: found(app, "Hi here James", chat), "chat export searchable")
    assert said.text == "James: Hi here" and said.occurred_at == "2023-05-05T15:48:11"
    seen = eventually(lambda: found(app, "Layout Detection Models", shot), "screenshot searchable")
    assert seen.path == str(shot)
    assert source_status(chat) == source_status(shot) == "ok"


def test_ignored_files_never_enter_the_queue(watched):
    folder, _watcher = watched
    (folder / ".git").mkdir()
    (folder / ".git" / "notes.md").write_text("internal\n")
    (folder / "draft.md.swp").write_text("swap\n")
    (folder / ".memignore").write_text("private/\n")
    (folder / "private").mkdir()
    (folder / "private" / "diary.md").write_text("Dear diary\n")
    marker = folder / "visible.md"
    marker.write_text("Visible note about tomatoes.\n")
    eventually(lambda: source_status(marker) == "ok", "visible note ingested")
    with contextlib.closing(db()) as conn:
        seen = {r[0] for r in conn.execute("SELECT path FROM sources")}
    assert seen == {str(marker)}
    assert not [p for p in queue_paths() if "diary" in p or ".git" in p or ".swp" in p]


def test_pause_queues_without_ingesting_and_resume_catches_up(watched):
    folder, _watcher = watched
    assert json.loads(run_mem("watch", "pause", "--json").stdout) == {"paused": True}
    note = folder / "paused.md"
    note.write_text("Written while the watcher was paused: buy olive oil.\n")
    eventually(lambda: str(note) in queue_paths(), "change queued")
    # The entry is due after the 0.3 s debounce; a paused watcher looks once a second.
    with contextlib.closing(db()) as conn:
        due = conn.execute("SELECT due FROM ingest_queue WHERE path = ?", (str(note),)).fetchone()[0]
    time.sleep(max(0.0, due - time.time()) + 2.5)
    assert source_status(note) is None and str(note) in queue_paths()

    assert json.loads(run_mem("watch", "resume", "--json").stdout) == {"paused": False}
    eventually(lambda: source_status(note) == "ok", "caught up after resume")
    eventually(lambda: not queue_paths(), "queue empty")


def test_broken_files_do_not_stop_the_watcher(watched):
    folder, watcher = watched
    (folder / "junk.md").write_bytes(os.urandom(4096))
    (folder / "cut.json").write_text('{"name": "Ana", "type": "personal_chat", "messages": [{"id": 1, ')
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(500))
    good = folder / "after.md"
    time.sleep(0.1)  # the good file arrives after the broken ones
    good.write_text("The spare key is under the blue flower pot.\n")
    app = Secondme()
    eventually(lambda: found(app, "spare key flower pot", good), "good file after broken ones")
    status = json.loads(run_mem("status", "--json").stdout)
    failed = {Path(e["path"]).name for e in status["errors"]}
    assert {"junk.md", "corrupt.png"} <= failed
    assert status["watcher"]["running"] is False  # in-process: no daemon, but it keeps going
    assert not watcher.stop_event.is_set()


def test_catch_up_on_start_sees_what_changed_while_stopped(tmp_path):
    folder = tmp_path / "notes"
    folder.mkdir()
    kept = folder / "kept.md"
    kept.write_text("Unchanged note about the boat.\n")
    deleted = folder / "deleted.md"
    deleted.write_text("This note will be deleted while no watcher runs.\n")
    app = Secondme()
    watcher = Watcher(app, [(folder, "auto")], debounce=0.1)
    assert watcher.catch_up() == 2
    watcher.process_due()
    deleted.unlink()
    (folder / "new.md").write_text("Written while no watcher ran.\n")
    broken = folder / "broken.md"
    broken.write_bytes(os.urandom(2048))

    again = Watcher(app, [(folder, "auto")], debounce=0.1)
    assert again.catch_up() == 3  # the new file, the broken one and the deletion; not kept.md
    again.process_due()
    assert source_status(deleted) == "gone" and source_status(folder / "new.md") == "ok"
    # A broken file is not tried again on every start while its bytes stay the same.
    third = Watcher(app, [(folder, "auto")])
    assert third.catch_up() == 0
    for each in (watcher, again, third):
        each.queue.close()


# ---------------------------------------------------------------------------------------------
# The background daemon


def test_daemon_start_status_pause_resume_stop(tmp_path):
    folder = tmp_path / "inbox"
    folder.mkdir()
    env = {"SECONDME_INGEST_DEBOUNCE_S": "0.3"}
    started = run_mem("watch", "start", str(folder), "--json", env=env)
    assert started.returncode == 0, started.stderr
    pid = json.loads(started.stdout)["pid"]
    try:
        state = json.loads(run_mem("watch", "status", "--json").stdout)
        assert (state["running"], state["pid"], state["paused"]) == (True, pid, False)
        again = run_mem("watch", "start", str(folder))
        assert again.returncode != 0 and "already running" in again.stderr

        note = folder / "daemon.md"
        note.write_text("The daemon saw the note about the red kayak.\n")

        def searchable(query: str) -> bool:
            hits = json.loads(run_mem("search", query, "--json").stdout)
            return any(h["source_ref"].startswith(str(note.resolve())) for h in hits)

        eventually(lambda: searchable("red kayak"), "note ingested by the daemon")
        status = json.loads(run_mem("status", "--json").stdout)
        assert status["watcher"]["folders"] == [{"path": str(folder.resolve()), "kind": "auto"}]
        assert status["queue"] == 0 and status["sources"] == {"ok": 1}

        run_mem("watch", "pause")
        assert json.loads(run_mem("watch", "status", "--json").stdout)["paused"] is True
        note.write_text("The daemon saw the note about the green canoe.\n")
        eventually(lambda: json.loads(run_mem("status", "--json").stdout)["queue"] == 1, "queued")
        run_mem("watch", "resume")
        eventually(lambda: searchable("green canoe"), "caught up after resume")
    finally:
        stopped = json.loads(run_mem("watch", "stop", "--json").stdout)
    assert stopped == {"stopped": True, "pid": pid}
    assert json.loads(run_mem("watch", "status", "--json").stdout)["running"] is False
    assert not paths.home().joinpath("watch.pid").exists()
    log = (paths.logs_dir() / "watch.log").read_text()
    assert f"watching {folder.resolve()} (auto)" in log and "added" in log


def test_kill_9_mid_ingest_then_restart_ingests_every_file_once(tmp_path):
    folder = tmp_path / "big"
    folder.mkdir()
    count = 300
    topics = ["harbour", "orchard", "violin", "glacier", "bakery", "comet"]
    for i in range(count):
        (folder / f"note-{i:03d}.md").write_text(
            f"# Note {i}\n\nEntry {i}: a thought about the {topics[i % len(topics)]}, number {i * 7919}.\n"
        )
    command = [sys.executable, "-m", "secondme", "watch", str(folder)]

    def ingested() -> int:
        if not paths.db_path().exists():
            return 0
        with contextlib.closing(db()) as conn:
            try:
                return conn.execute("SELECT COUNT(*) FROM sources WHERE status = 'ok'").fetchone()[0]
            except sqlite3.OperationalError:  # tables not created yet
                return 0

    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        done_before_kill = eventually(lambda: ingested() >= 20 and ingested(), "first files ingested", 120)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    at_kill = ingested()
    assert 0 < done_before_kill <= at_kill < count, "killed too late to test anything"

    second = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:

        def finished() -> bool:
            with contextlib.closing(db()) as conn:
                queued = conn.execute("SELECT COUNT(*) FROM ingest_queue").fetchone()[0]
            return queued == 0 and ingested() == count

        eventually(finished, "every file ingested after the restart", 300)
        # Vectors are written after each batch; wait for the last one before stopping.
        eventually(lambda: Secondme().pending_count() == 0, "vectors written", 120)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
    assert second.returncode == 0, second.stderr.read().decode() if second.stderr else ""

    with contextlib.closing(db()) as conn:
        rows = conn.execute("SELECT memory_ids FROM sources").fetchall()
        memories = conn.execute("SELECT COUNT(*), COUNT(DISTINCT content_hash) FROM memories").fetchone()
        history = conn.execute("SELECT COUNT(*) FROM history").fetchone()[0]
        errors = conn.execute("SELECT path, reason FROM ingest_errors").fetchall()
    ids = [i for (listed,) in rows for i in json.loads(listed)]
    assert len(rows) == count and len(ids) == count and len(set(ids)) == count
    assert memories == (count, count)  # one memory per file, no content twice
    assert history == 0 and errors == []  # nothing was redone or superseded
    doctor = json.loads(run_mem("doctor", "--json").stdout)
    assert doctor["healthy"] is True and doctor["memories"] == doctor["vectors"] == count

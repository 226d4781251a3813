"""The folder watcher: watchdog events go into a persistent SQLite queue, debounced, and a worker
ingests what is due.

A file leaves the queue in the same transaction that stores its memories, so ``kill -9`` at any
moment loses nothing and repeats nothing: on restart the queue still holds what was not done, and
a scan of the folders catches what changed while no watcher ran.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme import paths
from secondme.errors import InputError, SecondmeError
from secondme.ingest.pipeline import IGNORE_FILE
from secondme.store.sources import WatchQueue, read_meta

if TYPE_CHECKING:
    from secondme.ingest.pipeline import Ingestor
    from secondme.service import Secondme

log = logging.getLogger("secondme.watch")

PAUSED_KEY = "watch.paused"
FOLDERS_KEY = "watch.folders"
# The worker sleeps this long when nothing is queued (events wake it at once).
IDLE_WAIT = 60.0
MAX_ATTEMPTS = 3
BATCH = 50


def pid_path() -> Path:
    """The running watcher's pid file."""
    return paths.home() / "watch.pid"


def log_path() -> Path:
    """The background watcher's log file."""
    return paths.logs_dir() / "watch.log"


# The watch queue lives in the store; the name stays for callers of this module.
Queue = WatchQueue


class _Handler:
    """Turns watchdog events into queue entries (ignored paths never enter the queue)."""

    def __init__(self, watcher: Watcher, root: Path, kind: str) -> None:
        self.watcher = watcher
        self.root = root
        self.kind = kind

    def dispatch(self, event: Any) -> None:
        """Called by watchdog's observer thread for every event."""
        try:
            self._handle(event)
        except Exception:  # an odd event must never stop the observer
            log.exception("could not queue %s", event)

    def _handle(self, event: Any) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        src = Path(os.fsdecode(event.src_path))
        ignored = self.watcher.ingestor.ignore
        delay = self.watcher.debounce
        if event.is_directory:
            # A folder moved out of the watched tree arrives as one "deleted" event for the
            # folder, with nothing for the files inside: queue a deletion for each of them.
            # (Folders renamed inside the tree come with an event per file, handled below.)
            if event.event_type == "deleted":
                gone = [(Path(p), "delete", self.kind, None) for p in self.watcher.queue.known_under(src)]
                self.watcher.push_many(gone, delay)
            return
        if src.name == IGNORE_FILE:
            # New rules: forget the cached ones and look for files they now let in.
            self.watcher.rescan()
            return
        if event.event_type == "moved":
            dest = Path(os.fsdecode(event.dest_path))
            src_ignored = ignored.ignored(src, self.root)
            dest_ignored = ignored.ignored(dest, self.root)
            if src_ignored and not dest_ignored:  # an editor's temp file renamed into place
                self.watcher.push(dest, "upsert", self.kind, delay)
            elif dest_ignored and not src_ignored:
                self.watcher.push(src, "delete", self.kind, delay)
            elif not src_ignored:
                self.watcher.push(src, "move", self.kind, delay, dest=dest)
            return
        if ignored.ignored(src, self.root):
            return
        if event.event_type == "deleted":
            self.watcher.push(src, "delete", self.kind, delay)
        elif event.event_type in ("created", "modified", "closed"):
            self.watcher.push(src, "upsert", self.kind, delay)


class Watcher:
    """Watches folders and keeps their files ingested."""

    def __init__(self, app: Secondme, folders: list[tuple[Path, str]], debounce: float | None = None) -> None:
        from secondme.ingest.pipeline import Ingestor

        self.app = app
        self.ingestor: Ingestor = Ingestor(app)
        self.folders = [(p.expanduser().resolve(), k) for p, k in folders]
        self.debounce = app.settings.ingest.debounce_s if debounce is None else debounce
        self.queue = Queue(app.db_path)
        self.wake = threading.Event()
        self.stop_event = threading.Event()
        self._rescan = threading.Event()
        self.observer: Any = None
        self.processed = 0

    def push(self, path: Path, event: str, kind: str, delay: float, dest: Path | None = None) -> None:
        """Queue an event and wake the worker."""
        self.queue.push(path, event, kind, delay, dest)
        self.wake.set()

    def push_many(self, entries: Sequence[tuple[Path, str, str, Path | None]], delay: float) -> None:
        """Queue several events at once and wake the worker."""
        self.queue.push_many(entries, delay)
        self.wake.set()

    def rescan(self) -> None:
        """Ask the worker to re-read .memignore files and look the folders over again."""
        self._rescan.set()
        self.wake.set()

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        """Start observing, and queue what changed while no watcher ran."""
        from watchdog.observers import Observer

        for folder, _kind in self.folders:
            if not folder.is_dir():
                raise InputError(f"cannot watch {folder}: not a folder")
        self.observer = Observer()
        for folder, kind in self.folders:
            self.observer.schedule(_Handler(self, folder, kind), str(folder), recursive=True)
        # Observe first, then scan: a change made during the scan is seen by one or the other.
        self.observer.start()
        self.app.set_meta(FOLDERS_KEY, json.dumps([{"path": str(f), "kind": k} for f, k in self.folders]))
        self.catch_up()

    def catch_up(self) -> int:
        """Queue files that are new, changed or back since they were last seen, and deletions.

        Returns how many entries were queued.  Files whose size and time match what was
        recorded are left alone, broken ones included: the same bytes would fail the same way.
        """
        entries: list[tuple[Path, str, str, Path | None]] = []
        for folder, kind in self.folders:
            for file, _root in self.ingestor.walk([folder]):
                row = self.ingestor.source_row(file)
                try:
                    stat = file.stat()
                except OSError:
                    continue
                if (
                    row is None
                    or row["status"] == "gone"
                    or row["size"] != stat.st_size
                    or row["mtime"] != stat.st_mtime
                ):
                    entries.append((file, "upsert", kind, None))
            for row in self.ingestor.rows_under(folder):
                if row["status"] != "gone" and not Path(row["path"]).exists():
                    entries.append((Path(row["path"]), "delete", kind, None))
        self.queue.push_many(entries, 0)
        self.wake.set()
        return len(entries)

    def request_stop(self) -> None:
        """Ask the worker loop to end after the file at hand (safe in a signal handler)."""
        self.stop_event.set()
        self.wake.set()

    def stop(self) -> None:
        """Stop observing and let the worker loop end."""
        self.request_stop()
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=5)
            self.observer = None

    def close(self) -> None:
        """Stop, and forget the folders recorded for `mem status`."""
        self.stop()
        with contextlib.suppress(Exception):
            self.app.set_meta(FOLDERS_KEY, "[]")
        self.queue.close()

    def run(self) -> None:
        """Process due entries until :meth:`stop` (waits without using the CPU when idle)."""
        while not self.stop_event.is_set():
            if self._rescan.is_set():
                self._rescan.clear()
                self.ingestor.ignore.forget_cache()
                self.catch_up()
            self.process_due()
            next_due = self.queue.next_due()
            timeout = IDLE_WAIT if next_due is None else max(0.05, next_due - time.time())
            if self.paused():
                # Resuming is a row in the database, not an event: look again every second.
                timeout = 1.0
            self.wake.wait(timeout=min(timeout, IDLE_WAIT))
            self.wake.clear()

    # -- work -------------------------------------------------------------------------------

    def paused(self) -> bool:
        """True while `mem watch pause` is in effect."""
        return self.app.get_meta(PAUSED_KEY) == "1"

    def process_due(self) -> int:
        """Ingest every due entry; returns how many were handled.

        Works in batches of ``BATCH`` files, writing vectors after each, and looks at the pause
        flag between batches so that `mem watch pause` takes effect in the middle of a burst.
        """
        handled = 0
        while not self.stop_event.is_set() and not self.paused():
            rows = self.app.sources.due_entries(time.time(), BATCH)
            if not rows:
                break
            for row in rows:
                if self.stop_event.is_set():
                    break
                self._process(*row)
                handled += 1
            self.app.sync_vectors()
        self.processed += handled
        return handled

    def _process(
        self, entry_id: int, path: str, event: str, dest: str | None, kind: str, attempts: int
    ) -> None:
        def done() -> None:
            # Runs inside the file's ingest transaction; only removes the entry if it was not
            # refreshed by a newer event in the meantime.
            self.app.sources.finish_entry(entry_id, time.time())

        file = Path(path)
        try:
            if event == "delete" or (event == "upsert" and not file.exists()):
                if self.ingestor.remove(file, on_done=done):
                    log.info("removed %s", file)
            elif event == "move" and dest:
                target = Path(dest)
                if self.ingestor.move(file, target, on_done=done):
                    log.info("moved %s -> %s", file, target)
                    if target.exists():
                        # The moved file may also have changed: catch that on the next pass.
                        self.queue.push(target, "upsert", kind, 0)
                else:
                    outcome = self.ingestor.ingest_file(target, kind, on_done=done)
                    log.info("%s %s", outcome, target)
            else:
                outcome = self.ingestor.ingest_file(file, kind, on_done=done)
                log.info("%s %s", outcome, file)
        except SecondmeError as exc:
            self._retry_or_drop(entry_id, file, str(exc), attempts)
        except Exception as exc:  # the watcher keeps going whatever one file does
            log.exception("failed on %s", file)
            self._retry_or_drop(entry_id, file, f"{type(exc).__name__}: {exc}", attempts)

    def _retry_or_drop(self, entry_id: int, file: Path, reason: str, attempts: int) -> None:
        if attempts + 1 >= MAX_ATTEMPTS:
            self.ingestor.record_error(file, f"gave up after {MAX_ATTEMPTS} tries: {reason}")
            self.app.sources.finish_entry(entry_id)
        else:
            self.app.sources.retry_entry(entry_id, time.time() + 5 * (attempts + 1))


# -- running it -------------------------------------------------------------------------------


def folders_from(app: Secondme, given: list[Path], kind: str) -> list[tuple[Path, str]]:
    """Folders from the command line, else from config.toml's [[watch]] tables."""
    if given:
        return [(p, kind) for p in given]
    folders = [(Path(w["path"]), w.get("kind", "auto")) for w in app.settings.watch]
    if not folders:
        raise InputError(
            "no folders to watch",
            hint="give folders on the command line or add [[watch]] tables to config.toml",
        )
    return folders


def lock_path() -> Path:
    """The file a running watcher holds locked (the lock, not the pid file, says it runs)."""
    return paths.home() / "watch.lock"


@contextlib.contextmanager
def _single_instance() -> Any:
    """Hold the watcher lock for this home, or refuse because another watcher holds it."""
    from filelock import FileLock, Timeout

    lock = FileLock(lock_path(), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        pid = read_pid()
        raise SecondmeError(
            f"a watcher is already running for this home (pid {pid})", hint="stop it with `mem watch stop`"
        ) from None
    try:
        pid_path().write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            if read_pid() == os.getpid():
                pid_path().unlink()
        lock.release()


def run_foreground(app: Secondme, folders: list[tuple[Path, str]], announce: Any = print) -> None:
    """Watch until SIGTERM or Ctrl-C."""
    watcher = Watcher(app, folders)
    with _single_instance():

        def on_signal(_signum: int, _frame: Any) -> None:
            # Only flag it: the handler runs on the main thread, maybe mid-transaction.
            watcher.request_stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            watcher.start()
            for folder, kind in watcher.folders:
                announce(f"watching {folder} ({kind})")
            watcher.run()
        finally:
            watcher.close()
            announce("watcher stopped")


def read_pid() -> int | None:
    """The pid in the pid file, if any."""
    try:
        return int(pid_path().read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not reaped, does not count)."""
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _lock_held() -> bool:
    """True while some process holds the watcher lock of this home."""
    from filelock import FileLock, Timeout

    if not lock_path().exists():
        return False
    probe = FileLock(lock_path(), timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    probe.release()
    return False


def daemon_status() -> dict[str, Any]:
    """Whether a watcher runs for this home, its pid, whether it is paused, what it watches.

    A watcher killed with ``kill -9`` leaves its pid file behind but not its lock, so the
    lock decides; the pid must also be alive (a recycled pid is not a watcher).
    """
    pid = read_pid()
    running = _lock_held() and pid is not None and _alive(pid)
    meta = read_meta(paths.db_path(), [PAUSED_KEY, FOLDERS_KEY])
    paused = meta.get(PAUSED_KEY) == "1"
    folders: list[dict[str, str]] = json.loads(meta.get(FOLDERS_KEY) or "[]") if running else []
    return {
        "running": running,
        "pid": pid if running else None,
        "paused": paused,
        "folders": folders,
        "log": str(log_path()),
    }


def start_daemon(args: list[str]) -> int:
    """Start `mem watch` in the background; returns its pid."""
    state = daemon_status()
    if state["running"]:
        raise SecondmeError(f"a watcher is already running (pid {state['pid']})")
    with open(log_path(), "a") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "secondme", "watch", *args],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            env={**os.environ, "SECONDME_WATCH_LOG": "1"},
        )
    deadline = time.time() + 30
    while time.time() < deadline:  # wait until it holds the lock and wrote its pid, or died
        if proc.poll() is not None:
            raise SecondmeError(
                f"the watcher exited at once (code {proc.returncode})", hint=f"see {log_path()}"
            )
        if read_pid() == proc.pid:
            return proc.pid
        time.sleep(0.05)
    return proc.pid


def stop_daemon(timeout: float = 15.0) -> int | None:
    """Stop the background watcher; returns the pid it had, or None if none ran."""
    state = daemon_status()
    pid = state["pid"]
    if not state["running"] or pid is None:
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and _alive(pid):
        time.sleep(0.05)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
    return pid

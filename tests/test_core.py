"""The application core is the one door: homes by argument, events after commit, faces stay out."""

from __future__ import annotations

import ast
import sys
import threading
from pathlib import Path

import pytest

from secondme import plugins
from secondme.memory import NewMemory
from secondme.service import Secondme

RECORDER = """
from secondme.hookspecs import hookimpl

ADDED = []
FORGOTTEN = []

@hookimpl
def memory_added(memory):
    ADDED.append((memory.id, memory.text, memory.source_ref))

@hookimpl
def memory_forgotten(memory_id):
    FORGOTTEN.append(memory_id)
"""


@pytest.fixture
def recorder(tmp_path, monkeypatch):
    """A plugin in a test folder that records every event it hears."""
    folder = tmp_path / "test-plugins"
    folder.mkdir()
    (folder / "recorder.py").write_text(RECORDER)
    monkeypatch.setenv("SECONDME_PLUGINS_DIR", str(folder))
    plugins.manager.cache_clear()
    plugins.manager()
    module = sys.modules["secondme_plugin_recorder"]
    yield module
    plugins.manager.cache_clear()


def test_home_is_an_argument_not_a_process_setting(tmp_path, home):
    one = Secondme(home=tmp_path / "one")
    two = Secondme(home=tmp_path / "two")
    one.add(NewMemory("Ana moved to Lisbon"))
    assert one.count() == 1
    assert two.count() == 0
    assert one.db_path == tmp_path / "one" / "secondme.db"
    assert not (home / "secondme.db").exists()  # the environment's home was not touched


def test_ingest_fires_memory_added_for_every_ingested_memory(tmp_path, recorder):
    from secondme.ingest.pipeline import Ingestor

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "garden.md").write_text("# Garden\n\nPlanted tomatoes on the balcony.\n")
    (notes / "dentist.md").write_text("# Dentist\n\nMy dentist is Dr. Okafor on Main Street.\n")
    app = Secondme()
    summary = Ingestor(app).ingest_paths([notes])
    stored = app.listing(limit=100)
    assert summary.added == 2
    assert stored
    assert sorted(i for i, _, _ in recorder.ADDED) == sorted(m.id for m in stored)
    assert all(ref and ref.startswith(str(notes)) for _, _, ref in recorder.ADDED)
    # Ingesting again changes nothing and announces nothing.
    Ingestor(app).ingest_paths([notes])
    assert len(recorder.ADDED) == len(stored)


def test_events_wait_for_commit_and_vanish_on_rollback(recorder):
    app = Secondme()
    with pytest.raises(RuntimeError), app.transaction():
        app.add_many([NewMemory("This will be rolled back")])
        assert recorder.ADDED == []  # not before the commit
        raise RuntimeError("abort")
    assert recorder.ADDED == []
    assert app.count() == 0
    with app.transaction():
        app.add_many([NewMemory("This one stays")])
        assert recorder.ADDED == []
    assert [t for _, t, _ in recorder.ADDED] == ["This one stays"]


def test_forget_announces(recorder):
    app = Secondme()
    (memory, _), *_ = app.add_many([NewMemory("Lent the ladder to Pedro")])
    assert app.forget([memory.id]) == [memory.id]
    assert [memory.id] == recorder.FORGOTTEN


def test_core_calls_from_many_threads(home):
    """Writers and readers on one core from several threads: no errors, nothing lost."""
    app = Secondme()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                app.add(NewMemory(f"thread {n} note {i} about gardening"))
                app.search("gardening", k=3, mode="keyword")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert app.count() == 40


def test_reader_sees_committed_writes(home):
    app = Secondme()
    reader = app.reader()
    app.add(NewMemory("Ana's birthday is 12 May"))
    assert [m.text for m in reader.listing()] == ["Ana's birthday is 12 May"]


FACES = ["cli", "tui", "eval", "ingest"]
ROOT = Path(__file__).resolve().parents[1] / "secondme"


def _sql_and_store_access(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("conn", "store") and path.parent.name != "store":
            # `self.conn` of a face's own private database (the eval vector cache) is its own.
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id == "self" and node.attr == "conn":
                continue
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.attr}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip().upper()
            tables = ("memories", "sources", "ingest_queue", "ingest_errors", " meta")
            if text.startswith(("SELECT ", "INSERT ", "UPDATE ", "DELETE ")) and any(
                t in node.value for t in tables
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} SQL")
    return found


def test_faces_do_not_reach_around_the_core():
    offenders = []
    for face in FACES:
        for path in sorted((ROOT / face).rglob("*.py")):
            offenders += _sql_and_store_access(path)
    for single in ("mcp.py", "daemon.py", "client.py"):
        if (ROOT / single).exists():
            offenders += _sql_and_store_access(ROOT / single)
    assert offenders == []

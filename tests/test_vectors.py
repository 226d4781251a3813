"""Chroma follows SQLite: sync, doctor, reindex, concurrent writers."""

import subprocess
import sys
import textwrap

import pytest

from secondme import paths
from secondme.errors import StoreError
from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme
from secondme.store.vectors import open_index


@pytest.fixture
def app() -> Secondme:
    app = Secondme()
    app.add_many(
        [
            NewMemory(t)
            for t in [
                "My dentist is Dr. Ana Costa",
                "The car needs new tyres",
                "Pedro lives in Porto",
                "Bought oat milk and coffee",
                "Flight to Tokyo on the 3rd",
            ]
        ]
    )
    return app


def test_vectors_hold_ids_and_filter_metadata_only(app):
    with open_index(paths.chroma_dir()) as index:
        got = index.collection.get(ids=["1"], include=["metadatas", "documents", "embeddings"])
    assert got["documents"] == [None]  # no text in Chroma: SQLite is the only copy
    assert set(got["metadatas"][0]) == {"type", "current", "when_ts", "hash"}
    assert len(got["embeddings"][0]) == 384


def test_vector_search_finds_meaning(app):
    hits = app.search("who looks after my teeth", mode="vector", k=2)
    assert hits[0].memory.text == "My dentist is Dr. Ana Costa"


def test_vault_is_never_embedded(app, monkeypatch):
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", "vectors test passphrase")  # seals the value
    secret, _ = app.add(NewMemory("Gym locker combination caption", type=MemoryType.VAULT))
    with open_index(paths.chroma_dir()) as index:
        assert str(secret.id) not in index.collection.get()["ids"]
        assert index.count() == 5


def test_doctor_finds_and_repairs_drift(app):
    with open_index(paths.chroma_dir()) as index:
        index.delete([2])  # missing
        index.collection.upsert(
            ids=["99"],
            embeddings=[[0.1] * 384],
            metadatas=[{"type": "semantic", "current": True, "when_ts": 0, "hash": "x"}],
        )
        index.collection.update(ids=["3"], metadatas=[{"hash": "stale"}])
    report = app.doctor()
    assert (report.missing, report.orphans, report.stale) == ([2], [99], [3])
    assert not report.healthy
    assert app.doctor(repair=True).repaired
    assert app.doctor().healthy
    assert app.search("tyres", mode="vector", k=1)[0].memory.id == 2


def test_superseded_memories_leave_vector_results(app):
    new = app.supersede(3, NewMemory("Pedro lives in Braga now"))
    ids = [h.memory.id for h in app.search("where does Pedro live", mode="vector")]
    assert 3 not in ids and new.id in ids
    assert 3 in [
        h.memory.id for h in app.search("where does Pedro live", mode="vector", include_superseded=True)
    ]


def test_damaged_chroma_dir_is_a_clear_error(app):
    for file in paths.chroma_dir().rglob("*.sqlite3"):
        file.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="mem reindex"):
        app.search("dentist", mode="vector")
    assert app.store.count() == 5  # nothing stored was lost
    assert app.reindex() == 5
    assert app.search("dentist", mode="vector", k=1)[0].memory.id == 1


def test_missed_vectors_are_caught_up_by_search(app):
    app.store.add(NewMemory("Planted basil on the balcony"))  # stored without indexing
    assert app.pending_count() == 1
    assert app.search("herbs garden balcony", mode="vector", k=1)[0].memory.id == 6
    assert app.pending_count() == 0


WRITER = textwrap.dedent(
    """
    import sys
    from secondme.memory import NewMemory
    from secondme.service import Secondme
    app = Secondme()
    for i in range(200):
        app.add(NewMemory(f"writer {sys.argv[1]} note number {i} about topic {i % 17}"))
    """
)


@pytest.mark.slow
def test_two_processes_adding_200_each():
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, name], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], errors
    assert all("Error" not in e for e in errors), errors
    app = Secondme()
    assert app.store.count() == 400
    report = app.doctor()
    assert report.healthy and report.vectors == 400


def test_the_index_searches_with_a_wide_candidate_list(app, tmp_path):
    """New indexes search with SEARCH_EF candidates, and an index made before is raised to it."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    from secondme.store import vectors

    with open_index(paths.chroma_dir()) as index:
        assert index.collection.configuration["hnsw"]["ef_search"] == vectors.SEARCH_EF
        assert index.collection.configuration["hnsw"]["space"] == "cosine"
    # An index as earlier versions made it: Chroma's default of 100.
    old = tmp_path / "old-chroma"
    client = chromadb.PersistentClient(path=str(old), settings=ChromaSettings(anonymized_telemetry=False))
    made = client.get_or_create_collection(
        vectors.COLLECTION, embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    made.add(ids=["1"], embeddings=[[1.0] * 384])
    assert made.configuration["hnsw"]["ef_search"] < vectors.SEARCH_EF
    vectors.close_index()
    with open_index(old) as index:
        assert index.collection.configuration["hnsw"]["ef_search"] == vectors.SEARCH_EF
        assert index.count() == 1

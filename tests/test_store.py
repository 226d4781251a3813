"""The SQLite store: typed memories, dedupe, history, supersede, forget, full-text search."""

import sqlite3

import pytest

from secondme import paths
from secondme.errors import InputError, NotFoundError
from secondme.memory import MemoryType, NewMemory
from secondme.store.db import connect
from secondme.store.memories import Filters, MemoryStore, fts_query


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(connect(paths.db_path()), paths.db_path())


def test_database_uses_wal_and_named_migrations(store):
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] == 15000
    names = [r[0] for r in store.conn.execute("SELECT name FROM _sqlite_migrations")]
    assert sorted(names) == sorted(
        [
            "m001_memories",
            "m002_sources_and_queue",
            "m003_vector_dirty",
            "hostile-source-warnings",
            "vault-001-vault-forgetting",
            "m004-ids-never-reused",
        ]
    )
    # Opening again applies nothing twice.
    again = connect(paths.db_path())
    assert [r[0] for r in again.conn.execute("SELECT name FROM _sqlite_migrations")] == names


def test_add_keeps_every_field_and_dedupes(store):
    memory, created = store.add(
        NewMemory(
            "Met Ana at the market",
            type=MemoryType.EPISODIC,
            occurred_at="2024-05-01T10:00:00",
            tags=["ana", "market"],
            actor="Ana",
            source_kind="note",
            source_ref="notes.md:3",
        )
    )
    assert created and memory.id == 1
    assert memory.type is MemoryType.EPISODIC
    assert memory.occurred_at == "2024-05-01T10:00:00" and memory.valid_from == "2024-05-01T10:00:00"
    assert memory.tags == ["ana", "market"] and memory.actor == "Ana"
    assert memory.source_ref == "notes.md:3" and len(memory.content_hash) == 64
    same, created = store.add(NewMemory("Met  Ana at the market", type=MemoryType.EPISODIC))
    assert not created and same.id == memory.id
    assert store.count() == 1


def test_empty_text_and_unknown_type_are_refused(store):
    with pytest.raises(InputError, match="empty"):
        store.add(NewMemory("   "))
    with pytest.raises(InputError, match="valid types: core, episodic, semantic, resource, vault"):
        store.add(NewMemory("x", type="feeling"))  # type: ignore[arg-type]
    assert store.count() == 0


def test_edit_keeps_the_previous_version(store):
    memory, _ = store.add(NewMemory("Dentist is Dr. Silva"))
    updated = store.update(memory.id, text="Dentist is Dr. Ana Costa")
    assert updated.text == "Dentist is Dr. Ana Costa" and updated.updated_at
    assert updated.content_hash != memory.content_hash
    history = store.history(memory.id)
    assert [h["snapshot"]["text"] for h in history] == ["Dentist is Dr. Silva"]
    assert [h["id"] for h in (r["snapshot"] for r in history)] == [memory.id]


def test_supersede_keeps_the_old_memory_readable(store):
    old, _ = store.add(NewMemory("I live in Porto", type=MemoryType.SEMANTIC))
    new = store.supersede(old.id, NewMemory("I live in Lisbon", occurred_at="2024-03-02T00:00:00"))
    old = store.get(old.id)
    assert old.superseded_by == new.id and old.valid_to == "2024-03-02T00:00:00"
    current = [m.id for m in store.listing(Filters())]
    assert current == [new.id]
    everything = [m.id for m in store.listing(Filters(include_superseded=True))]
    assert sorted(everything) == [old.id, new.id]


def test_core_set_supersedes_previous_value(store):
    first = store.set_core("city", "I live in Porto")
    second = store.set_core("city", "I live in Lisbon")
    assert store.set_core("city", "I live in Lisbon").id == second.id
    assert [m.text for m in store.core()] == ["I live in Lisbon"]
    assert store.get(first.id).superseded_by == second.id


def test_forget_removes_row_history_and_fts(store):
    memory, _ = store.add(NewMemory("The alarm code is in the drawer"))
    store.update(memory.id, text="The alarm code is in the blue drawer")
    assert store.keyword_search("drawer", Filters(), 10)
    assert store.forget([memory.id, 999]) == [memory.id]
    assert store.keyword_search("drawer", Filters(), 10) == []
    assert store.history(memory.id) == []
    with pytest.raises(NotFoundError):
        store.get(memory.id)


def test_keyword_search_ranks_and_filters(store):
    store.add(NewMemory("My dentist is Dr. Ana Costa", type=MemoryType.SEMANTIC))
    store.add(NewMemory("Ana likes climbing", type=MemoryType.SEMANTIC))
    store.add(
        NewMemory(
            "Dentist appointment went fine", type=MemoryType.EPISODIC, occurred_at="2023-01-05T09:00:00"
        )
    )
    ranked = [i for i, _ in store.keyword_search("who is my dentist?", Filters(), 10)]
    assert set(ranked) == {1, 3}
    only_events = store.keyword_search("dentist", Filters(types=(MemoryType.EPISODIC,)), 10)
    assert [i for i, _ in only_events] == [3]
    before = store.keyword_search("dentist", Filters(until="2023-12-31T00:00:00"), 10)
    assert [i for i, _ in before] == [3]
    # Porter stemming: "climbed" finds "climbing".
    assert [i for i, _ in store.keyword_search("climbed", Filters(), 10)] == [2]


def test_fts_query_is_safe_for_any_text():
    assert fts_query('what "is" my (blood) type? AND OR NEAR*') == '"blood" OR "type" OR "near"'
    assert fts_query("???") is None


def test_vault_rows_never_enter_the_full_text_index(store):
    store.add(NewMemory("Bank login caption", type=MemoryType.VAULT))
    store.add(NewMemory("Bank branch is on Rua Augusta"))
    assert [i for i, _ in store.keyword_search("bank", Filters(), 10)] == [2]
    assert store.keyword_search("bank", Filters(types=(MemoryType.VAULT,)), 10) == []
    store.update(2, type=MemoryType.VAULT)  # a memory moved into the vault leaves the index too
    assert store.keyword_search("bank", Filters(include_vault=True), 10) == []
    store.update(1, type=MemoryType.SEMANTIC)
    assert [i for i, _ in store.keyword_search("bank", Filters(), 10)] == [1]
    assert store.counts_by_type() == {"core": 0, "episodic": 0, "semantic": 1, "resource": 0, "vault": 1}


def test_locked_database_gives_a_store_error(store, monkeypatch):
    other = sqlite3.connect(str(paths.db_path()), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    store.conn.execute("PRAGMA busy_timeout = 100")
    from secondme.errors import StoreError

    with pytest.raises(StoreError, match="locked by another process"):
        store.add(NewMemory("blocked write"))
    other.execute("ROLLBACK")
    assert store.add(NewMemory("blocked write"))[1] is True

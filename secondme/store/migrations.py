"""Schema migrations.  Named, transactional, and never edited once shipped: add a new one."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("secondme")


@migrations(name="m001_memories")
def m001_memories(db: Database) -> None:
    """Memories, their full-text index, edit history and the vector bookkeeping."""
    for statement in _M001:
        db.execute(statement)


# executescript() would commit the migration's transaction half-way, so statements run one by one.
_M001 = [
    """
    CREATE TABLE memories (
        id INTEGER PRIMARY KEY,
        type TEXT NOT NULL,
        text TEXT NOT NULL,
        source_kind TEXT NOT NULL DEFAULT 'cli',
        source_ref TEXT,
        recorded_at TEXT NOT NULL,
        updated_at TEXT,
        occurred_at TEXT,
        valid_from TEXT,
        valid_to TEXT,
        superseded_by INTEGER,
        tags TEXT NOT NULL DEFAULT '[]',
        importance REAL NOT NULL DEFAULT 0.5,
        access_count INTEGER NOT NULL DEFAULT 0,
        last_accessed_at TEXT,
        content_hash TEXT NOT NULL,
        metadata TEXT NOT NULL DEFAULT '{}',
        actor TEXT,
        event TEXT,
        subject TEXT,
        title TEXT,
        resource_kind TEXT,
        path TEXT,
        label TEXT,
        source_status TEXT
    )
    """,
    """
    CREATE INDEX idx_memories_type ON memories(type)
    """,
    """
    CREATE INDEX idx_memories_occurred ON memories(occurred_at)
    """,
    """
    CREATE INDEX idx_memories_hash ON memories(content_hash)
    """,
    """
    CREATE INDEX idx_memories_superseded ON memories(superseded_by)
    """,
    """
    CREATE INDEX idx_memories_source ON memories(source_kind, source_ref)
    """,
    """
    CREATE INDEX idx_memories_label ON memories(label)
    """,
    """
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        text, title, subject, label, tags,
        content='memories', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )
    """,
    """
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text, title, subject, label, tags)
        VALUES (new.id, new.text, new.title, new.subject, new.label, new.tags);
    END
    """,
    """
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, title, subject, label, tags)
        VALUES ('delete', old.id, old.text, old.title, old.subject, old.label, old.tags);
    END
    """,
    """
    CREATE TRIGGER memories_au AFTER UPDATE OF text, title, subject, label, tags ON memories
    BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, title, subject, label, tags)
        VALUES ('delete', old.id, old.text, old.title, old.subject, old.label, old.tags);
        INSERT INTO memories_fts(rowid, text, title, subject, label, tags)
        VALUES (new.id, new.text, new.title, new.subject, new.label, new.tags);
    END
    """,
    """
    CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        memory_id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        changed_at TEXT NOT NULL,
        change TEXT NOT NULL,
        snapshot TEXT NOT NULL
    )
    """,
    """
    CREATE INDEX idx_history_memory ON history(memory_id)
    """,
    """
    -- What the vector index should hold for each memory: a row here means Chroma has a
    -- vector for this memory with this signature (content hash + filter metadata).
    CREATE TABLE vector_state (
        memory_id INTEGER PRIMARY KEY,
        signature TEXT NOT NULL,
        model TEXT NOT NULL,
        indexed_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT
    )
    """,
]


@migrations(name="m002_sources_and_queue")
def m002_sources_and_queue(db: Database) -> None:
    """Ingested files, the persistent watcher queue, and recorded ingest errors."""
    for statement in _M002:
        db.execute(statement)


_M002 = [
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        kind TEXT,
        format TEXT,
        size INTEGER,
        mtime REAL,
        content_hash TEXT,
        status TEXT NOT NULL,
        error TEXT,
        memory_ids TEXT NOT NULL DEFAULT '[]',
        problems INTEGER NOT NULL DEFAULT 0,
        first_seen TEXT NOT NULL,
        last_ingested TEXT
    )
    """,
    "CREATE INDEX idx_sources_hash ON sources(content_hash)",
    """
    CREATE TABLE ingest_queue (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        event TEXT NOT NULL,
        dest_path TEXT,
        kind TEXT NOT NULL DEFAULT 'auto',
        due REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        enqueued_at REAL NOT NULL
    )
    """,
    "CREATE INDEX idx_queue_due ON ingest_queue(due)",
    """
    CREATE TABLE ingest_errors (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    )
    """,
    "CREATE INDEX idx_errors_path ON ingest_errors(path)",
]


@migrations(name="m003_vector_dirty")
def m003_vector_dirty(db: Database) -> None:
    """Flag memories whose vector may need work, so that checking for it costs nothing."""
    for statement in _M003:
        db.execute(statement)


_M003 = [
    "CREATE TABLE vector_dirty (memory_id INTEGER PRIMARY KEY)",
    "INSERT INTO vector_dirty SELECT id FROM memories",
    """
    CREATE TRIGGER memories_dirty_ai AFTER INSERT ON memories BEGIN
        INSERT OR IGNORE INTO vector_dirty (memory_id) VALUES (new.id);
    END
    """,
    """
    CREATE TRIGGER memories_dirty_au
    AFTER UPDATE OF text, type, occurred_at, recorded_at, superseded_by, title, label, subject
    ON memories BEGIN
        INSERT OR IGNORE INTO vector_dirty (memory_id) VALUES (new.id);
    END
    """,
    """
    CREATE TRIGGER memories_dirty_ad AFTER DELETE ON memories BEGIN
        INSERT OR IGNORE INTO vector_dirty (memory_id) VALUES (old.id);
    END
    """,
]


@migrations(name="hostile-source-warnings")
def hostile_m001_source_warnings(db: Database) -> None:
    """What was wrong with a file that was still taken, so that every ingest can tell it again."""
    db.execute("ALTER TABLE sources ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'")


@migrations(name="vault-001-vault-forgetting")
def vault_001(db: Database) -> None:
    """The encrypted vault, tombstones of forgotten memories, and vault rows kept out of FTS."""
    for statement in _VAULT_001:
        db.execute(statement)


_VAULT_001 = [
    """
    -- How the vault's data key is kept: in the OS keyring, or wrapped by a passphrase-derived key.
    CREATE TABLE vault_keys (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        backend TEXT NOT NULL,
        key_id TEXT NOT NULL,
        check_nonce BLOB NOT NULL,
        check_value BLOB NOT NULL,
        salt BLOB,
        scrypt_n INTEGER,
        scrypt_r INTEGER,
        scrypt_p INTEGER,
        wrap_nonce BLOB,
        wrapped_key BLOB,
        created_at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE vault_entries (
        id INTEGER PRIMARY KEY,
        label TEXT NOT NULL UNIQUE,
        caption TEXT,
        kind TEXT NOT NULL DEFAULT 'manual',
        memory_id INTEGER,
        nonce BLOB NOT NULL,
        ciphertext BLOB NOT NULL,
        value_mac TEXT NOT NULL,
        key_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT
    )
    """,
    "CREATE INDEX idx_vault_mac ON vault_entries(value_mac)",
    """
    CREATE TABLE tombstones (
        id INTEGER PRIMARY KEY,
        memory_id INTEGER NOT NULL,
        forgotten_at TEXT NOT NULL,
        reason TEXT NOT NULL
    )
    """,
    # Vault memories never enter the full-text index (their rows hold only a label and caption,
    # but a search must not even find those by accident).
    """
    INSERT INTO memories_fts(memories_fts, rowid, text, title, subject, label, tags)
    SELECT 'delete', id, text, title, subject, label, tags FROM memories WHERE type = 'vault'
    """,
    "DROP TRIGGER memories_ai",
    "DROP TRIGGER memories_ad",
    "DROP TRIGGER memories_au",
    """
    CREATE TRIGGER memories_ai AFTER INSERT ON memories WHEN new.type != 'vault' BEGIN
        INSERT INTO memories_fts(rowid, text, title, subject, label, tags)
        VALUES (new.id, new.text, new.title, new.subject, new.label, new.tags);
    END
    """,
    """
    CREATE TRIGGER memories_ad AFTER DELETE ON memories WHEN old.type != 'vault' BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, title, subject, label, tags)
        VALUES ('delete', old.id, old.text, old.title, old.subject, old.label, old.tags);
    END
    """,
    """
    CREATE TRIGGER memories_au AFTER UPDATE OF text, title, subject, label, tags, type ON memories
    BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, title, subject, label, tags)
        SELECT 'delete', old.id, old.text, old.title, old.subject, old.label, old.tags
        WHERE old.type != 'vault';
        INSERT INTO memories_fts(rowid, text, title, subject, label, tags)
        SELECT new.id, new.text, new.title, new.subject, new.label, new.tags
        WHERE new.type != 'vault';
    END
    """,
    "INSERT INTO memories_fts(memories_fts) VALUES ('optimize')",
]


@migrations(name="m004-ids-never-reused")
def m004_ids_never_reused(db: Database) -> None:
    """New memories take ids above every forgotten one: the store looks the highest up here."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_tombstones_memory_id ON tombstones(memory_id)")

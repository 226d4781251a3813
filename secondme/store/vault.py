"""All SQL about the vault: how its key is kept, and the encrypted entries.

Nothing here sees a plaintext value or a key: rows hold ciphertexts, nonces, a keyed hash of each
value (to reuse an entry for a secret seen twice) and the wrapped key when a passphrase guards it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from secondme import timeparse


@dataclass
class KeyRecord:
    """How the data key is kept (one row of ``vault_keys``)."""

    backend: str
    key_id: str
    check_nonce: bytes
    check_value: bytes
    salt: bytes | None = None
    scrypt_n: int | None = None
    scrypt_r: int | None = None
    scrypt_p: int | None = None
    wrap_nonce: bytes | None = None
    wrapped_key: bytes | None = None
    created_at: str = ""


@dataclass
class EntryRecord:
    """One encrypted vault entry (a row of ``vault_entries``)."""

    id: int
    label: str
    caption: str | None
    kind: str
    memory_id: int | None
    nonce: bytes
    ciphertext: bytes
    value_mac: str
    key_id: str
    created_at: str
    updated_at: str | None


_KEY_FIELDS = [
    "backend",
    "key_id",
    "check_nonce",
    "check_value",
    "salt",
    "scrypt_n",
    "scrypt_r",
    "scrypt_p",
    "wrap_nonce",
    "wrapped_key",
    "created_at",
]
_ENTRY_FIELDS = [
    "id",
    "label",
    "caption",
    "kind",
    "memory_id",
    "nonce",
    "ciphertext",
    "value_mac",
    "key_id",
    "created_at",
    "updated_at",
]


class VaultStore:
    """The vault tables of one database (the caller holds the transaction)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def key_record(self) -> KeyRecord | None:
        """How the key is kept, or None when the vault was never set up."""
        row = self.conn.execute(f"SELECT {', '.join(_KEY_FIELDS)} FROM vault_keys WHERE id = 1").fetchone()
        return KeyRecord(*row) if row else None

    def save_key_record(self, record: KeyRecord) -> None:
        """Replace the key record."""
        values = {k: getattr(record, k) for k in _KEY_FIELDS}
        values["created_at"] = values["created_at"] or timeparse.iso(timeparse.now())
        self.conn.execute(
            f"INSERT OR REPLACE INTO vault_keys (id, {', '.join(_KEY_FIELDS)}) "
            f"VALUES (1, {', '.join('?' * len(_KEY_FIELDS))})",
            [values[k] for k in _KEY_FIELDS],
        )

    def entry(self, label: str) -> EntryRecord | None:
        """The entry with this label."""
        row = self.conn.execute(
            f"SELECT {', '.join(_ENTRY_FIELDS)} FROM vault_entries WHERE label = ?", (label,)
        ).fetchone()
        return EntryRecord(*row) if row else None

    def entry_by_mac(self, mac: str) -> EntryRecord | None:
        """The entry holding the value with this keyed hash (a secret seen before)."""
        row = self.conn.execute(
            f"SELECT {', '.join(_ENTRY_FIELDS)} FROM vault_entries WHERE value_mac = ? ORDER BY id LIMIT 1",
            (mac,),
        ).fetchone()
        return EntryRecord(*row) if row else None

    def entries(self) -> list[EntryRecord]:
        """Every entry, by label."""
        rows = self.conn.execute(f"SELECT {', '.join(_ENTRY_FIELDS)} FROM vault_entries ORDER BY label")
        return [EntryRecord(*r) for r in rows]

    def labels_like(self, prefix: str) -> set[str]:
        """Labels starting with ``prefix`` (to pick a free generated label)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.conn.execute(
            "SELECT label FROM vault_entries WHERE label LIKE ? ESCAPE '\\'", (escaped + "%",)
        )
        return {r[0] for r in rows}

    def insert_entry(
        self,
        label: str,
        caption: str | None,
        kind: str,
        nonce: bytes,
        ciphertext: bytes,
        mac: str,
        key_id: str,
    ) -> int:
        """Store a new entry; returns its id."""
        cursor = self.conn.execute(
            "INSERT INTO vault_entries (label, caption, kind, nonce, ciphertext, value_mac, key_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (label, caption, kind, nonce, ciphertext, mac, key_id, timeparse.iso(timeparse.now())),
        )
        return int(cursor.lastrowid or 0)

    def set_memory(self, label: str, memory_id: int | None) -> None:
        """Link an entry to the vault memory that shows it in listings."""
        self.conn.execute("UPDATE vault_entries SET memory_id = ? WHERE label = ?", (memory_id, label))

    def reencrypt(self, label: str, nonce: bytes, ciphertext: bytes, mac: str, key_id: str) -> None:
        """Replace an entry's ciphertext (a rekey)."""
        self.conn.execute(
            "UPDATE vault_entries SET nonce = ?, ciphertext = ?, value_mac = ?, key_id = ?, updated_at = ? "
            "WHERE label = ?",
            (nonce, ciphertext, mac, key_id, timeparse.iso(timeparse.now()), label),
        )

    def delete_entry(self, label: str) -> bool:
        """Remove an entry; True when it existed."""
        return self.conn.execute("DELETE FROM vault_entries WHERE label = ?", (label,)).rowcount > 0

    def restore_entry(self, record: EntryRecord) -> None:
        """Put back an exported entry exactly as it was (its ciphertext under the same key)."""
        values = {k: getattr(record, k) for k in _ENTRY_FIELDS if k != "id"}
        names = list(values)
        self.conn.execute(
            f"INSERT INTO vault_entries ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [values[k] for k in names],
        )

    def count(self) -> int:
        """How many entries the vault holds."""
        return int(self.conn.execute("SELECT COUNT(*) FROM vault_entries").fetchone()[0])

    def referencing(self, label: str) -> list[int]:
        """Ids of memories whose text holds the placeholder of ``label``."""
        needle = f"[vault:{label}]"
        rows = self.conn.execute(
            "SELECT id FROM memories WHERE instr(text, ?) > 0 ORDER BY id", (needle,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    @staticmethod
    def as_dict(entry: EntryRecord) -> dict[str, Any]:
        """What may be shown about an entry: never its ciphertext or hash."""
        return {
            "label": entry.label,
            "caption": entry.caption,
            "kind": entry.kind,
            "memory_id": entry.memory_id,
            "created_at": entry.created_at,
            "updated_at": entry.updated_at,
        }

"""The SQL behind export and import: whole rows out, whole rows back in.

Rows travel with every column the table has, so fields this module does not know about (an
encrypted vault's ciphertext, say) pass through unchanged.  ``tags`` and ``metadata`` travel as
JSON values rather than JSON text, so that an export is readable.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from secondme.errors import InputError
from secondme.store.memories import MemoryStore

_JSON_COLUMNS = ("tags", "metadata")


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_COLUMNS:
        if isinstance(row.get(key), str):
            row[key] = json.loads(row[key])
    return row


def _encode(value: Any, key: str) -> Any:
    if key == "tags":
        return json.dumps(sorted(set(value or [])))
    if key == "metadata":
        return json.dumps(value or {}, default=str)
    return value


def columns(store: MemoryStore) -> list[str]:
    """The columns of the memories table, in order."""
    return [d[0] for d in store.conn.execute("SELECT * FROM memories LIMIT 0").description]


def memory_rows(store: MemoryStore, include_vault: bool, batch: int = 500) -> Iterator[dict[str, Any]]:
    """Every memory as a dict of all its columns, by id (vault ones only with ``include_vault``)."""
    names = columns(store)
    after = 0
    vault = "" if include_vault else "AND type != 'vault' "
    while True:
        rows = store.conn.execute(
            f"SELECT * FROM memories WHERE id > ? {vault}ORDER BY id LIMIT ?", (after, batch)
        ).fetchall()
        if not rows:
            return
        for row in rows:
            yield _decode(dict(zip(names, row, strict=True)))
        after = rows[-1][0]


def histories(store: MemoryStore, ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The history rows of these memories (oldest first), by memory id."""
    out: dict[int, list[dict[str, Any]]] = {}
    if not ids:
        return out
    rows = store.conn.execute(
        "SELECT memory_id, version, changed_at, change, snapshot FROM history "
        f"WHERE memory_id IN ({','.join('?' * len(ids))}) ORDER BY memory_id, version",
        list(ids),
    ).fetchall()
    for memory_id, version, changed_at, change, snapshot in rows:
        out.setdefault(memory_id, []).append(
            {"version": version, "changed_at": changed_at, "change": change, "snapshot": json.loads(snapshot)}
        )
    return out


def vector_models(store: MemoryStore, ids: Sequence[int]) -> dict[int, str]:
    """Which embedding model made each memory's current vector."""
    if not ids:
        return {}
    rows = store.conn.execute(
        f"SELECT memory_id, model FROM vector_state WHERE memory_id IN ({','.join('?' * len(ids))})",
        list(ids),
    ).fetchall()
    return {int(i): str(m) for i, m in rows}


def forgotten_rows(store: MemoryStore) -> list[dict[str, Any]]:
    """The tombstones: forgotten memory ids, when and why (never their content), oldest first."""
    rows = store.conn.execute("SELECT memory_id, forgotten_at, reason FROM tombstones ORDER BY id").fetchall()
    return [{"memory_id": int(i), "forgotten_at": at, "reason": r} for i, at, r in rows]


def occupied(store: MemoryStore) -> tuple[int, int]:
    """How many memories and tombstones the home holds already."""
    memories = store.conn.execute("SELECT COUNT(*) FROM memories").fetchone()[0]
    tombstones = store.conn.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0]
    return int(memories), int(tombstones)


@dataclass
class Restored:
    """What :func:`restore` wrote."""

    added: list[int] = field(default_factory=list)
    """Ids (in this home) of the memories written."""
    existing: list[int] = field(default_factory=list)
    """Ids in this home of memories the file held that were here already (merge only)."""
    history: int = 0
    forgotten: int = 0


def restore(
    store: MemoryStore,
    memories: Sequence[dict[str, Any]],
    history: dict[int, list[dict[str, Any]]],
    forgotten: Sequence[dict[str, Any]],
    keep_ids: bool,
) -> Restored:
    """Write exported rows in one transaction: all of them, or (on any error) none.

    With ``keep_ids`` the rows keep their ids (the home must be empty).  Without, each memory gets
    a new id, references between the file's memories follow, and a memory the home already
    holds (same type, text and recording time) is matched rather than added twice.
    """
    names = set(columns(store))
    unknown = sorted({k for row in memories for k in row} - names)
    if unknown:
        raise InputError(
            f"the file has memory fields this version does not know: {', '.join(unknown)}",
            hint="import it with the secondme version that wrote it, or a newer one",
        )
    result = Restored()
    id_map: dict[int, int] = {}
    with store.transaction():
        for row in memories:
            old_id = int(row["id"])
            values = {k: _encode(v, k) for k, v in row.items()}
            if not keep_ids:
                match = store.conn.execute(
                    "SELECT id FROM memories WHERE type = ? AND content_hash = ? AND recorded_at = ?",
                    (row["type"], row["content_hash"], row["recorded_at"]),
                ).fetchone()
                if match is not None:
                    id_map[old_id] = int(match[0])
                    result.existing.append(int(match[0]))
                    continue
                values.pop("id")
                values["superseded_by"] = None  # set below, once every new id is known
            keys = list(values)
            cursor = store.conn.execute(
                f"INSERT INTO memories ({', '.join(keys)}) VALUES ({', '.join('?' * len(keys))})",
                [values[k] for k in keys],
            )
            new_id = old_id if keep_ids else int(cursor.lastrowid or 0)
            id_map[old_id] = new_id
            result.added.append(new_id)
            for entry in history.get(old_id, []):
                snapshot = dict(entry["snapshot"])
                snapshot["id"] = new_id
                store.conn.execute(
                    "INSERT INTO history (memory_id, version, changed_at, change, snapshot) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (new_id, entry["version"], entry["changed_at"], entry["change"], json.dumps(snapshot)),
                )
                result.history += 1
        if not keep_ids:
            added = set(result.added)
            for row in memories:
                target = row.get("superseded_by")
                new_id = id_map[int(row["id"])]
                if target is not None and new_id in added and int(target) in id_map:
                    store.conn.execute(
                        "UPDATE memories SET superseded_by = ? WHERE id = ?", (id_map[int(target)], new_id)
                    )
        else:
            for tomb in forgotten:
                store.conn.execute(
                    "INSERT INTO tombstones (memory_id, forgotten_at, reason) VALUES (?, ?, ?)",
                    (int(tomb["memory_id"]), tomb["forgotten_at"], tomb.get("reason") or "unknown"),
                )
                result.forgotten += 1
    return result

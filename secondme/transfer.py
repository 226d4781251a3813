"""Export and import without loss: every memory with its history, validity and provenance.

The JSON Lines format (``FORMAT_VERSION`` 1), one JSON object per line:

1. a header: ``{"format": "secondme-export", "version": 1, "exported_at", "secondme",
   "embedder", "include_vault", "counts": {"memories", "history", "forgotten"}}``;
2. one ``{"record": "memory", "memory": {every column}, "history": [...], "vector_model"}`` per
   memory, by id (superseded ones included; vault ones only with ``include_vault``, exactly as
   stored, so an encrypted vault stays encrypted);
3. one ``{"record": "forgotten", "memory_id", "forgotten_at", "reason"}`` per tombstone;
   with ``include_vault``, the vault still encrypted: one ``{"record": "vault_key", ...}`` (the
   data key wrapped by the passphrase, never the key itself) and one ``{"record": "vault_entry",
   ...}`` per secret (nonce and ciphertext, base64);
4. an end line ``{"record": "end", "counts": {...}}``: a file without it was cut short.

Vectors are not exported (they are derived): an import embeds every memory with the importing
home's model.  ``exported_at`` and ``vector_model`` are the fields that may differ between an
export and the export of its import; everything else is identical.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme.errors import InputError

if TYPE_CHECKING:
    from secondme.service import Secondme

FORMAT = "secondme-export"
FORMAT_VERSION = 1
BUILTIN_FORMATS = ("jsonl", "markdown")


class Export:
    """Everything a home holds, read lazily: ``header`` and ``records()``."""

    def __init__(self, app: Secondme, include_vault: bool = False) -> None:
        from secondme import __version__, timeparse
        from secondme.store import transfer as sql

        self.app = app
        self.include_vault = include_vault
        store = app.store
        counted = 0
        histories = 0
        for batch in self._batches():
            counted += len(batch)
            histories += sum(len(h) for h in self._histories(batch).values())
        self.header: dict[str, Any] = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "exported_at": timeparse.iso(timeparse.now()),
            "secondme": __version__,
            "embedder": app.settings.embedder.model,
            "include_vault": include_vault,
            "counts": {
                "memories": counted,
                "history": histories,
                "forgotten": len(sql.forgotten_rows(store)),
            },
        }
        self.vault_key, self.vault_entries = _sealed_vault(app) if include_vault else (None, [])
        if self.vault_entries:
            self.header["counts"]["vault"] = len(self.vault_entries)

    def _batches(self, size: int = 500) -> Iterator[list[dict[str, Any]]]:
        from secondme.store import transfer as sql

        batch: list[dict[str, Any]] = []
        for row in sql.memory_rows(self.app.store, self.include_vault):
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _histories(self, batch: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
        from secondme.store import transfer as sql

        found = sql.histories(self.app.store, [r["id"] for r in batch])
        if self.include_vault:
            return found
        # A memory that was in the vault once keeps that version out of a vault-less export.
        return {i: [h for h in hs if h["snapshot"].get("type") != "vault"] for i, hs in found.items()}

    def records(self) -> Iterator[dict[str, Any]]:
        """The memory records, then the tombstones (the header and end line are not included)."""
        from secondme.store import transfer as sql

        store = self.app.store
        for batch in self._batches():
            ids = [r["id"] for r in batch]
            history = self._histories(batch)
            models = sql.vector_models(store, ids)
            for row in batch:
                yield {
                    "record": "memory",
                    "memory": row,
                    "history": history.get(row["id"], []),
                    "vector_model": models.get(row["id"]),
                }
        for tomb in sql.forgotten_rows(store):
            yield {"record": "forgotten", **tomb}
        if self.vault_key is not None:
            yield {"record": "vault_key", **self.vault_key}
        for entry in self.vault_entries:
            yield {"record": "vault_entry", **entry}


def _b64(value: Any) -> Any:
    import base64

    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def _sealed_vault(app: Secondme) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The vault as it is stored: ciphertexts, and the data key only as the passphrase wraps it.

    A key kept by this machine's OS keyring cannot travel in a file: such a vault is refused,
    with the command that moves its key behind a passphrase first.
    """
    from dataclasses import asdict

    from secondme.store.vault import VaultStore

    store = VaultStore(app.store.conn)
    entries = store.entries()
    if not entries:
        return None, []
    record = store.key_record()
    if record is None or record.backend != "passphrase":
        raise InputError(
            "the vault's key is kept by this machine's OS keyring, so an export cannot carry it",
            hint="run `mem vault rekey --backend passphrase` first (the export then holds the key "
            "wrapped by your passphrase); nothing was exported",
        )
    key = {k: _b64(v) for k, v in asdict(record).items()}
    return key, [{k: _b64(v) for k, v in asdict(e).items() if k != "id"} for e in entries]


def write_jsonl(export: Export, path: Path) -> None:
    """Write the JSON Lines export (see the module docstring for the format)."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(export.header, ensure_ascii=False) + "\n")
        for record in export.records():
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.write(json.dumps({"record": "end", "counts": export.header["counts"]}) + "\n")


def _slug(text: str, words: int = 6) -> str:
    import re

    parts = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "-".join(parts)[:60] or "memory"


def _front_matter(data: dict[str, Any]) -> str:
    # JSON scalars, lists and maps are valid YAML, so every value is written as JSON: strings
    # with colons, quotes or newlines need no YAML escaping rules of their own.
    lines = ["---"]
    for key, value in data.items():
        lines.append(f"{key}: {json.dumps(value, ensure_ascii=False)}")
    lines.append("---")
    return "\n".join(lines)


def write_markdown(export: Export, path: Path) -> None:
    """Write one Markdown file per memory (``YYYY/YYYY-MM-DD-<id>-<words>.md``) with front matter.

    ``path`` is a folder (created; it must be empty or new).  ``index.md`` lists every memory
    and the tombstones; the front matter of each file holds every field of the memory and its
    history, so nothing is left out.
    """
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InputError(
            f"{path} exists and is not an empty folder", hint="give a new folder for a Markdown export"
        )
    path.mkdir(parents=True, exist_ok=True)
    index = ["# secondme export", "", _front_matter(export.header), "", "## Memories", ""]
    forgotten: list[str] = []
    for record in export.records():
        if record["record"] in ("vault_key", "vault_entry"):
            continue  # ciphertexts are for `mem import`, not for reading
        if record["record"] == "forgotten":
            forgotten.append(f"- memory {record['memory_id']} forgotten at {record['forgotten_at']}")
            continue
        memory = record["memory"]
        when = str(memory.get("occurred_at") or memory.get("recorded_at") or "")[:10] or "undated"
        folder = path / (when[:4] if when != "undated" else when)
        folder.mkdir(exist_ok=True)
        name = f"{when}-{memory['id']}-{_slug(str(memory.get('text', '')))}.md"
        front = dict(memory)
        text = str(front.pop("text", ""))
        front["vector_model"] = record["vector_model"]
        front["history"] = record["history"]
        body = [_front_matter(front), "", text, ""]
        if record["history"]:
            body += ["## Earlier versions", ""]
            for entry in record["history"]:
                body.append(f"- v{entry['version']} ({entry['change']}, {entry['changed_at']}):")
                body.append("  > " + "\n  > ".join(str(entry["snapshot"].get("text", "")).splitlines()))
            body.append("")
        (folder / name).write_text("\n".join(body), encoding="utf-8")
        flag = "" if memory.get("superseded_by") is None else f" (superseded by {memory['superseded_by']})"
        index.append(f"- [{memory['id']}] {when} {memory['type']}: [{name}]({folder.name}/{name}){flag}")
    if forgotten:
        index += ["", "## Forgotten", "", *forgotten]
    (path / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")


def exporters() -> dict[str, Callable[[Export, Path], None]]:
    """Export formats by name: the built-in ones, then those plugins register."""
    from secondme.plugins import plugin_exporters

    found: dict[str, Callable[[Export, Path], None]] = {"jsonl": write_jsonl, "markdown": write_markdown}
    for name, exporter in plugin_exporters().items():
        found.setdefault(name, exporter)  # a plugin cannot replace a built-in format
    return found


# -- import ---------------------------------------------------------------------------------


@dataclass
class Bundle:
    """A parsed, checked export file."""

    header: dict[str, Any]
    memories: list[dict[str, Any]] = field(default_factory=list)
    history: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    forgotten: list[dict[str, Any]] = field(default_factory=list)
    vault_key: dict[str, Any] | None = None
    vault_entries: list[dict[str, Any]] = field(default_factory=list)


def is_export(path: Path) -> bool:
    """True when the file starts with an export header (else it is a plain list of memories)."""
    try:
        with open(path, encoding="utf-8") as handle:
            first = handle.readline()
        data = json.loads(first)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def read_jsonl(path: Path) -> Bundle:
    """Read and check a whole export before anything is written; one clear error otherwise."""
    nothing = "nothing was imported"
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None
    if lines and lines[-1] == "":
        lines.pop()
    header = json.loads(lines[0]) if lines else {}
    version = header.get("version")
    if not isinstance(version, int):
        raise InputError(f"{path}: the header has no format version", hint=nothing)
    if version > FORMAT_VERSION:
        raise InputError(
            f"{path} is export format version {version}; this secondme reads up to version {FORMAT_VERSION}",
            hint=f"upgrade secondme to import it; {nothing}",
        )
    bundle = Bundle(header=header)
    ended = False
    for number, line in enumerate(lines[1:], start=2):
        try:
            record = json.loads(line)
        except ValueError:
            cut = number == len(lines)
            what = "is cut short" if cut else f"has a damaged line {number}"
            raise InputError(f"{path} {what}", hint=nothing) from None
        kind = record.get("record") if isinstance(record, dict) else None
        if ended:
            raise InputError(f"{path}, line {number}: data after the end line", hint=nothing)
        if kind == "memory":
            memory = record.get("memory")
            if (
                not isinstance(memory, dict)
                or not isinstance(memory.get("id"), int)
                or not memory.get("text")
            ):
                raise InputError(
                    f"{path}, line {number}: a memory record without an id or text", hint=nothing
                )
            bundle.memories.append(memory)
            bundle.history[memory["id"]] = list(record.get("history") or [])
        elif kind == "forgotten":
            tomb = {
                "memory_id": record.get("memory_id"),
                "forgotten_at": record.get("forgotten_at"),
                "reason": record.get("reason"),
            }
            if not isinstance(tomb["memory_id"], int) or not tomb["forgotten_at"]:
                raise InputError(f"{path}, line {number}: a damaged tombstone", hint=nothing)
            bundle.forgotten.append(tomb)
        elif kind == "vault_key":
            bundle.vault_key = {k: v for k, v in record.items() if k != "record"}
        elif kind == "vault_entry":
            if not isinstance(record.get("label"), str) or not record.get("ciphertext"):
                raise InputError(f"{path}, line {number}: a damaged vault entry", hint=nothing)
            bundle.vault_entries.append({k: v for k, v in record.items() if k != "record"})
        elif kind == "end":
            ended = True
            expected = record.get("counts", {})
            found = {
                "memories": len(bundle.memories),
                "history": sum(len(h) for h in bundle.history.values()),
                "forgotten": len(bundle.forgotten),
            }
            if bundle.vault_entries:
                found["vault"] = len(bundle.vault_entries)
            if expected != found or header.get("counts") != found:
                raise InputError(f"{path} is incomplete: it says {expected} but holds {found}", hint=nothing)
        else:
            raise InputError(f"{path}, line {number}: unknown record {kind!r}", hint=nothing)
    if not ended:
        raise InputError(f"{path} is cut short (no end line)", hint=f"export it again; {nothing}")
    return bundle


@dataclass
class ImportReport:
    """What ``mem import`` did with an export."""

    added: int = 0
    already_there: int = 0
    history: int = 0
    forgotten: int = 0
    embedded: int = 0
    embedder: str = ""
    exported_with: str = ""
    merged: bool = False
    vault: int = 0
    added_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        data = dict(self.__dict__)
        data.pop("added_ids")
        return data

    def describe(self) -> str:
        """One or two lines for a person."""
        text = (
            f"{self.added} memories restored ({self.history} earlier versions, {self.forgotten} tombstones)"
        )
        if self.merged:
            text += f", {self.already_there} already here"
        text += f"; {self.embedded} embedded with {self.embedder}"
        if self.exported_with and self.exported_with != self.embedder:
            text += f" (the export came from a home using {self.exported_with})"
        return text + "."


def restore(app: Secondme, bundle: Bundle, merge: bool = False) -> ImportReport:
    """Write a checked bundle into ``app``'s home, then embed it with this home's model.

    Into an empty home everything keeps its id.  A home that holds memories already is refused
    unless ``merge``: then memories get new ids, and those already here are counted, not added.
    """
    from secondme.store import transfer as sql

    memories, tombstones = sql.occupied(app.store)
    if (memories or tombstones) and not merge:
        raise InputError(
            f"this home already holds {memories} memories and {tombstones} tombstones",
            hint="import into an empty home (SECONDME_HOME=...), or pass --merge to add the file's "
            "memories with new ids; nothing was imported",
        )
    if bundle.vault_entries and merge:
        raise InputError(
            "an export with its vault can only be imported into an empty home",
            hint="import it into a new home (SECONDME_HOME=...); nothing was imported",
        )
    with app.store.transaction():
        done = sql.restore(app.store, bundle.memories, bundle.history, bundle.forgotten, keep_ids=not merge)
        _restore_vault(app, bundle)
    report = ImportReport(
        added=len(done.added),
        already_there=len(done.existing),
        history=done.history,
        forgotten=done.forgotten,
        merged=merge,
        exported_with=str(bundle.header.get("embedder") or ""),
        added_ids=done.added,
    )
    report.vault = len(bundle.vault_entries)
    report.embedded = app.sync_vectors()
    report.embedder = app.embedder.name if report.embedded else app.settings.embedder.model
    return report


def _restore_vault(app: Secondme, bundle: Bundle) -> None:
    """Put the exported vault back, still encrypted: the same passphrase opens it here."""
    import base64

    from secondme.store.vault import EntryRecord, KeyRecord, VaultStore

    if not bundle.vault_entries:
        return
    if bundle.vault_key is None:
        raise InputError("the export holds vault entries but not their key", hint="nothing was imported")

    def raw(value: Any) -> Any:
        return base64.b64decode(value) if isinstance(value, str) else value

    store = VaultStore(app.store.conn)
    key = bundle.vault_key
    blobs = ("check_nonce", "check_value", "salt", "wrap_nonce", "wrapped_key")
    try:
        store.save_key_record(KeyRecord(**{k: raw(v) if k in blobs else v for k, v in key.items()}))
        for entry in bundle.vault_entries:
            values = {k: raw(v) if k in ("nonce", "ciphertext") else v for k, v in entry.items()}
            store.restore_entry(EntryRecord(id=0, **values))
    except (TypeError, ValueError) as exc:
        raise InputError(f"the export's vault is damaged: {exc}", hint="nothing was imported") from None

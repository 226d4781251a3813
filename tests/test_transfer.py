"""Export and import without loss: a seeded home survives export -> import -> export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secondme import plugins
from secondme.errors import InputError
from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme
from secondme.store.transfer import occupied
from tests.conftest import holds_outside_hex, run_mem

QUERIES = ["dentist", "cat name", "Porto", "invoice pdf", "where do I live"]


@pytest.fixture(autouse=True)
def vault_passphrase(monkeypatch):
    """The seeded home holds a vault memory: its secret is sealed with this passphrase."""
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", "transfer test passphrase")


def seed() -> dict[str, int]:
    """Every type, an edit history, a superseded fact, a superseded core value, a forgotten memory."""
    app = Secondme()
    app.set_core("name", "My name is Ana Duarte")
    app.set_core("city", "I live in Porto")
    moved = app.set_core("city", "I live in Lisbon")  # supersedes Porto
    (dentist, _), (cat, _), (invoice, _), (secret, _), (gone, _), (job, _) = app.add_many(
        [
            NewMemory(
                "Went to the dentist, Dr Okafor, for a filling",
                type=MemoryType.EPISODIC,
                occurred_at="2024-03-02T10:00:00",
                valid_from="2024-03-02T10:00:00",
                source_kind="notes",
                source_ref="/notes/2024-03-02.md:3",
                tags=["health"],
                metadata={"heading": "Tuesday"},
                actor="me",
            ),
            NewMemory("My cat is called Miso", type=MemoryType.SEMANTIC, subject="cat"),
            NewMemory(
                "Invoice for the new bicycle, 2024.pdf",
                type=MemoryType.RESOURCE,
                title="Bicycle invoice",
                path="/docs/invoice.pdf",
                resource_kind="pdf",
            ),
            NewMemory("Bank PIN 4711", type=MemoryType.VAULT),
            NewMemory("A note I regret writing", type=MemoryType.SEMANTIC),
            NewMemory(
                "I work at the harbour office", type=MemoryType.SEMANTIC, valid_to="2023-12-31T00:00:00"
            ),
        ]
    )
    app.edit(cat.id, text="My cat is called Miso; she is a grey tabby", tags=["pets"])
    new_job = app.supersede(job.id, NewMemory("I work at the city library", type=MemoryType.SEMANTIC))
    app.store.touch([cat.id])
    app.forget([gone.id])
    return {
        "dentist": dentist.id,
        "cat": cat.id,
        "invoice": invoice.id,
        "secret": secret.id,
        "gone": gone.id,
        "job": job.id,
        "new_job": new_job.id,
        "city": moved.id,
    }


def use_home(monkeypatch, path: Path) -> Secondme:
    monkeypatch.setenv("SECONDME_HOME", str(path))
    plugins.manager.cache_clear()
    return Secondme()


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_round_trip_is_lossless(tmp_path, monkeypatch):
    ids = seed()
    first = Secondme()
    before = {q: [h.memory.id for h in first.search(q)] for q in QUERIES}
    first.export(tmp_path / "a.jsonl")
    exported = lines(tmp_path / "a.jsonl")
    header, records, end = exported[0], exported[1:-1], exported[-1]
    assert header["version"] == 1 and header["embedder"] == "all-minilm-l6-v2-int8"
    assert header["counts"] == end["counts"]
    memories = {r["memory"]["id"]: r for r in records if r["record"] == "memory"}
    assert {r["memory"]["type"] for r in memories.values()} == {"core", "episodic", "semantic", "resource"}
    assert ids["secret"] not in memories  # vault only with include_vault
    assert [h["snapshot"]["text"] for h in memories[ids["cat"]]["history"]] == ["My cat is called Miso"]
    assert memories[ids["job"]]["memory"]["superseded_by"] == ids["new_job"]
    assert memories[ids["dentist"]]["memory"]["metadata"] == {"heading": "Tuesday"}
    assert [r for r in records if r["record"] == "forgotten"] == [
        {
            "record": "forgotten",
            "memory_id": ids["gone"],
            "forgotten_at": records[-1]["forgotten_at"],
            "reason": "by id",
        }
    ]

    second = use_home(monkeypatch, tmp_path / "second")
    report = second.restore(tmp_path / "a.jsonl")
    assert (report.added, report.forgotten, report.history) == (len(memories), 1, header["counts"]["history"])
    assert report.embedded == len(memories)
    second.export(tmp_path / "b.jsonl")
    again = lines(tmp_path / "b.jsonl")
    # Documented differences: the header's exported_at (and vector_model where models differ).
    assert {**again[0], "exported_at": None} == {**header, "exported_at": None}
    assert again[1:] == exported[1:]
    after = {q: [h.memory.id for h in second.search(q)] for q in QUERIES}
    assert after == before and all(before.values())
    assert before["dentist"][0] == ids["dentist"]
    assert second.get(ids["job"]).superseded_by == ids["new_job"]
    assert second.get(ids["cat"]).access_count == 1


def test_vault_only_when_asked_and_exactly_as_stored(tmp_path, monkeypatch):
    ids = seed()
    app = Secondme()
    row = app.store.conn.execute("SELECT * FROM memories WHERE id = ?", (ids["secret"],)).fetchone()
    app.export(tmp_path / "all.jsonl", include_vault=True)
    records = {
        r["memory"]["id"]: r["memory"] for r in lines(tmp_path / "all.jsonl") if r.get("record") == "memory"
    }
    vault = records[ids["secret"]]
    # Every column passes through unchanged (an encrypted vault's ciphertext columns included).
    assert [vault[k] if k not in ("tags", "metadata") else json.dumps(vault[k]) for k in vault] == list(row)
    app.edit(ids["secret"], type="semantic", text="I changed my bank PIN")  # out of the vault
    app.export(tmp_path / "plain.jsonl")
    plain = (tmp_path / "plain.jsonl").read_text()
    assert "I changed my bank PIN" in plain and not holds_outside_hex(plain.encode(), b"4711")
    target = use_home(monkeypatch, tmp_path / "target")
    target.restore(tmp_path / "all.jsonl")
    restored = target.get(ids["secret"])
    assert restored.type is MemoryType.VAULT
    assert restored.text == vault["text"] and "[vault:" in restored.text  # the placeholder
    assert not holds_outside_hex((tmp_path / "all.jsonl").read_bytes(), b"4711")  # sealed in the vault
    assert ids["secret"] not in [h.memory.id for h in target.search("Bank PIN")]


def test_bad_files_import_nothing(tmp_path):
    seed()
    Secondme().export(tmp_path / "good.jsonl")
    text = (tmp_path / "good.jsonl").read_text()
    cut = tmp_path / "cut.jsonl"
    cut.write_text(text[: len(text) * 2 // 3])
    newer = tmp_path / "newer.jsonl"
    header, rest = text.split("\n", 1)
    newer.write_text(header.replace('"version": 1', '"version": 2') + "\n" + rest)
    lost = tmp_path / "lost.jsonl"
    lost.write_text("\n".join(line for i, line in enumerate(text.splitlines()) if i != 2) + "\n")
    cases = {cut: "is cut short", newer: "export format version 2", lost: "is incomplete"}
    for path, message in cases.items():
        done = run_mem("import", str(path), env={"SECONDME_HOME": str(tmp_path / f"home-{path.stem}")})
        assert done.returncode == 2
        assert message in done.stderr and "nothing was imported" in done.stderr, done.stderr
        assert done.stderr.count("\n") == 1
        listed = run_mem("list", "--json", env={"SECONDME_HOME": str(tmp_path / f"home-{path.stem}")})
        assert json.loads(listed.stdout) == []


def test_overlap_is_refused_or_merged_with_a_report(tmp_path, monkeypatch):
    seed()
    Secondme().export(tmp_path / "a.jsonl")
    target = use_home(monkeypatch, tmp_path / "target")
    target.add(NewMemory("Something only the target has"))
    with pytest.raises(InputError, match="already holds 1 memories"):
        target.restore(tmp_path / "a.jsonl")
    assert occupied(target.store) == (1, 0)
    report = target.restore(tmp_path / "a.jsonl", merge=True)
    count = occupied(target.store)[0]
    assert report.added == count - 1 and report.already_there == 0
    again = target.restore(tmp_path / "a.jsonl", merge=True)
    assert (again.added, again.already_there) == (0, report.added)
    assert occupied(target.store)[0] == count
    # References between merged memories follow the new ids.
    job = target.search("harbour office", include_superseded=True)[0].memory
    assert target.get(job.superseded_by).text == "I work at the city library"
    done = run_mem("import", str(tmp_path / "a.jsonl"), "--merge")
    assert done.returncode == 0 and "already here" in done.stdout


def test_import_re_embeds_with_the_importing_homes_model(tmp_path, monkeypatch):
    seed()
    Secondme().export(tmp_path / "a.jsonl")
    folder = tmp_path / "target" / "plugins"
    folder.mkdir(parents=True)
    from tests.test_plugins import PLUGIN

    (folder / "letters.py").write_text(PLUGIN)
    monkeypatch.setenv("SECONDME_EMBEDDER_MODEL", "letters")
    target = use_home(monkeypatch, tmp_path / "target")
    from secondme import config

    target = Secondme(config.load())
    report = target.restore(tmp_path / "a.jsonl")
    assert report.embedder == "letters" and report.exported_with == "all-minilm-l6-v2-int8"
    assert "the export came from a home using all-minilm-l6-v2-int8" in report.describe()
    target.export(tmp_path / "b.jsonl")
    models = {r.get("vector_model") for r in lines(tmp_path / "b.jsonl")[1:-1] if r["record"] == "memory"}
    assert models == {"letters"}


def test_markdown_export_one_file_per_memory_with_front_matter(tmp_path):
    ids = seed()
    done = run_mem("export", str(tmp_path / "notes"), "--format", "markdown")
    assert done.returncode == 0, done.stderr
    files = sorted((tmp_path / "notes").rglob("*.md"))
    index = (tmp_path / "notes" / "index.md").read_text()
    assert f"memory {ids['gone']} forgotten at" in index
    dentist = next(f for f in files if f.name.startswith(f"2024-03-02-{ids['dentist']}-"))
    text = dentist.read_text()
    front, body = text.split("---\n", 2)[1:]
    fields = dict(line.split(": ", 1) for line in front.strip().splitlines())
    assert json.loads(fields["type"]) == "episodic"
    assert json.loads(fields["tags"]) == ["health"]
    assert json.loads(fields["source_ref"]) == "/notes/2024-03-02.md:3"
    assert body.strip() == "Went to the dentist, Dr Okafor, for a filling"
    cat = next(f for f in files if f"-{ids['cat']}-" in f.name).read_text()
    assert "## Earlier versions" in cat and "> My cat is called Miso" in cat
    assert not any(holds_outside_hex(f.read_bytes(), b"4711") for f in files)
    again = run_mem("export", str(tmp_path / "notes"), "--format", "markdown")
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    unknown = run_mem("export", str(tmp_path / "x"), "--format", "docx")
    assert unknown.returncode == 2 and "unknown export format 'docx'" in unknown.stderr


def test_plain_jsonl_import_still_works(tmp_path):
    path = tmp_path / "plain.jsonl"
    path.write_text('{"text": "Bought sourdough flour", "type": "episodic", "occurred_at": "2024-01-05"}\n')
    done = run_mem("import", str(path), "--json")
    assert json.loads(done.stdout) == {"added": 1, "unchanged": 0}
    stdout = run_mem("export")
    assert stdout.stdout.splitlines()[0].startswith('{"format": "secondme-export"')


def test_the_vault_travels_encrypted_and_opens_with_the_same_passphrase(tmp_path, monkeypatch):
    app = Secondme()
    app.vault_add("wifi", "Blue-Meadow-7731", caption="home router")
    app.add(NewMemory("Ana's birthday is 12 May", type=MemoryType.SEMANTIC))
    app.export(tmp_path / "with-vault.jsonl", include_vault=True)
    app.export(tmp_path / "without.jsonl")
    sealed = (tmp_path / "with-vault.jsonl").read_text()
    assert "Blue-Meadow-7731" not in sealed  # the value travels as ciphertext only
    assert '"record": "vault_entry"' in sealed and '"record": "vault_key"' in sealed
    assert '"vault_' not in (tmp_path / "without.jsonl").read_text()
    target = use_home(monkeypatch, tmp_path / "target")
    report = target.restore(tmp_path / "with-vault.jsonl")
    assert report.vault == 1
    assert target.vault.get("wifi") == "Blue-Meadow-7731"
    # Another passphrase opens nothing.
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", "not the one")
    from secondme.errors import WrongPassphraseError

    with pytest.raises(WrongPassphraseError):
        Secondme().vault.get("wifi")


def test_a_vault_kept_by_the_os_keyring_is_not_exported_without_its_key(tmp_path, monkeypatch):
    from secondme.store.vault import VaultStore

    app = Secondme()
    app.vault_add("pin", "4921")
    store = VaultStore(app.store.conn)
    record = store.key_record()
    assert record is not None
    record.backend = "keyring"  # as a home whose key lives in the OS keyring records it
    with app.store.transaction():
        store.save_key_record(record)
    with pytest.raises(InputError, match="OS keyring"):
        app.export(tmp_path / "x.jsonl", include_vault=True)

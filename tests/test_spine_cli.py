"""The spine's promises, through the real `mem` command in a fresh home."""

import json
import shutil

import pytest

from secondme import paths
from secondme.errors import EXIT_VAULT
from tests.conftest import run_mem


def mem_json(*args: str):
    result = run_mem(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def seeded():
    dentist = mem_json("add", "My dentist is Dr. Ana Costa", "--type", "semantic")
    lisbon = mem_json("add", "Moved to Lisbon", "--at", "2024-03-02")
    return dentist, lisbon


def test_add_and_search(seeded):
    dentist, lisbon = seeded
    assert dentist == {"id": 1, "type": "semantic", "created": True, "ids": [1]}
    assert lisbon["type"] == "episodic"  # guessed: it has an event time
    hits = mem_json("search", "dentist")
    assert hits[0]["id"] == dentist["id"]
    assert set(hits[0]) >= {"id", "type", "text", "score", "occurred_at", "source", "source_ref"}
    assert mem_json("show", str(lisbon["id"]))["occurred_at"] == "2024-03-02T00:00:00"


def test_reindex_after_deleting_chroma_gives_same_results(seeded):
    for text in [
        "Ana's clinic is on Avenida de Roma",
        "Dentists recommend flossing daily",
        "Bought a new bicycle",
        "Pedro's birthday is in June",
    ]:
        mem_json("add", text)
    before = [h["id"] for h in mem_json("search", "dentist")]
    shutil.rmtree(paths.chroma_dir())
    broken = run_mem("search", "dentist")
    assert broken.returncode != 0
    assert "mem reindex" in broken.stderr and "Traceback" not in broken.stderr
    assert mem_json("reindex") == {"indexed": 6}
    assert [h["id"] for h in mem_json("search", "dentist")] == before


def test_forget_removes_everywhere(seeded):
    dentist, _ = seeded
    assert mem_json("forget", str(dentist["id"])) == {"forgotten": [1], "not_found": []}
    assert all(h["id"] != 1 for h in mem_json("search", "dentist"))
    assert mem_json("doctor")["healthy"] is True
    missing = run_mem("show", "1")
    assert missing.returncode == 3 and missing.stderr.startswith("error: no memory with id 1")


def test_edit_and_history(seeded):
    result = run_mem("edit", "1", "--text", "My dentist is Dr. Rita Lopes")
    assert result.returncode == 0, result.stderr
    shown = mem_json("show", "1")
    assert shown["text"] == "My dentist is Dr. Rita Lopes"
    assert shown["history"][0]["snapshot"]["text"] == "My dentist is Dr. Ana Costa"
    assert mem_json("search", "Rita")[0]["id"] == 1
    assert mem_json("doctor")["healthy"] is True


def test_core_list_and_set():
    mem_json("core", "set", "name", "My name is Rui")
    mem_json("core", "set", "name", "My name is Rui Almeida")
    core = mem_json("core")
    assert [(m["label"], m["text"]) for m in core] == [("name", "My name is Rui Almeida")]


def test_stdin_and_list():
    result = run_mem("add", "--json", input="Notes from the call with Marta\n")
    assert result.returncode == 0, result.stderr
    listed = mem_json("list")
    assert [m["text"] for m in listed] == ["Notes from the call with Marta"]


def test_import_is_idempotent(tmp_path):
    from tests.conftest import REPO

    examples = str(REPO / "examples" / "memories.jsonl")
    first = mem_json("import", examples)
    assert first["added"] == 15
    assert mem_json("import", examples) == {"added": 0, "unchanged": 15}
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{"text": "x", "type": "mood"}\n')
    result = run_mem("import", str(bad))
    assert result.returncode == 2
    assert "bad.jsonl, line 2" in result.stderr and "nothing was imported" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["add", ""], 2, "memory text is empty"),
        (["add", "x", "--type", "mood"], 2, "valid types: core, episodic, semantic, resource, vault"),
        (["add", "x", "--at", "the day after never"], 2, "cannot understand the date"),
        (["search", "x", "--since", "soonish"], 2, "cannot understand the date"),
        (["show", "42"], 3, "no memory with id 42"),
        (["add", "remember to change my password"], 2, "no value was recognised"),
        (["add", "my password is hunter2"], EXIT_VAULT, "the vault needs its passphrase"),
    ],
)
def test_bad_input_is_one_clear_line(args, code, message):
    result = run_mem(*args)
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_traceback():
    result = run_mem("show", "42", env={"SECONDME_DEBUG": "1"})
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_nothing_is_lost_after_errors(seeded):
    run_mem("add", "x", "--type", "mood")
    run_mem("edit", "1", "--text", "   ")
    assert mem_json("show", "1")["text"] == "My dentist is Dr. Ana Costa"
    assert len(mem_json("list")) == 2


def test_version():
    result = run_mem("--version")
    assert result.returncode == 0 and result.stdout.startswith("secondme ")

"""`mem mcp`: the real server in a subprocess, driven by the mcp SDK's own stdio client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from secondme.config import AnswerSettings
from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme
from tests.conftest import REPO

TOOLS = {"search_memories", "ask", "get_memory", "recent_memories", "core_profile", "add_memory"}


@pytest.fixture(autouse=True)
def vault_passphrase(monkeypatch):
    """The seeded home holds a vault memory: its secret is sealed with this passphrase."""
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", "mcp test passphrase")


def seed() -> dict[str, int]:
    app = Secondme()
    core = app.set_core("name", "My name is Ana Duarte")
    (dentist, _), (cat, _), (secret, _) = app.add_many(
        [
            NewMemory(
                "Went to the dentist, Dr Okafor, for a filling",
                type=MemoryType.EPISODIC,
                occurred_at="2024-03-02T10:00:00",
                source_kind="notes",
                source_ref="/notes/2024-03-02.md",
            ),
            NewMemory("My cat is called Miso", type=MemoryType.SEMANTIC),
            NewMemory("Dentist portal password: tooth-fairy-42", type=MemoryType.VAULT),
        ]
    )
    app.edit(cat.id, text="My cat is called Miso; she is a grey tabby")
    return {"core": core.id, "dentist": dentist.id, "cat": cat.id, "secret": secret.id}


def params(**env: str):
    from mcp.client.stdio import StdioServerParameters

    # The SDK starts the server with a minimal environment: pass on what finds the home and caches.
    keep = {k: v for k, v in os.environ.items() if k.startswith(("SECONDME_", "XDG_")) or k in ("HOME", "TZ")}
    keep["PYTHONPATH"] = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return StdioServerParameters(
        command=sys.executable, args=["-m", "secondme", "mcp"], env={**keep, **env}, cwd=str(REPO)
    )


def session(body, **env: str):
    """Run ``body(client)`` against a fresh `mem mcp` subprocess."""
    from mcp import Client

    async def main():
        async with Client(params(**env)) as client:
            return await body(client)

    return anyio.run(main)


def text_of(result) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def test_lists_tools_searches_and_keeps_the_vault_out():
    ids = seed()

    async def body(client):
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert set(tools) == TOOLS
        assert tools["search_memories"].annotations.read_only_hint is True
        # `mem ask --thorough` for clients: more evidence, a slower answer.
        assert tools["ask"].input_schema["properties"]["thorough"]["type"] == "boolean"
        # The description tells a client what to do with an unsure answer.
        assert "asking again with ``thorough``" in " ".join(tools["ask"].description.split())
        found = await client.call_tool("search_memories", {"query": "dentist"})
        assert not found.is_error
        hits = [m["id"] for m in found.structured_content["memories"]]
        assert ids["dentist"] in hits and ids["secret"] not in hits
        typed = await client.call_tool(
            "search_memories", {"query": "dentist", "types": ["semantic"], "since": "2020-01-01"}
        )
        assert ids["dentist"] not in [m["id"] for m in typed.structured_content["memories"]]
        dated = await client.call_tool("search_memories", {"query": "dentist", "until": "2023-12-31"})
        assert dated.structured_content["memories"] == []
        recent = await client.call_tool("recent_memories", {"limit": 10})
        assert ids["secret"] not in [m["id"] for m in recent.structured_content["memories"]]
        profile = await client.call_tool("core_profile", {})
        assert profile.structured_content["profile"] == [
            {"id": ids["core"], "label": "name", "text": "My name is Ana Duarte"}
        ]
        memory = await client.call_tool("get_memory", {"id": ids["dentist"]})
        data = memory.structured_content
        assert data["provenance"]["source_ref"] == "/notes/2024-03-02.md"
        assert data["provenance"]["source_kind"] == "notes"
        edited = await client.call_tool("get_memory", {"id": ids["cat"]})
        assert [h["text"] for h in edited.structured_content["history"]] == ["My cat is called Miso"]
        # The vault: refused by id and by type, with a message that says why.
        vault = await client.call_tool("get_memory", {"id": ids["secret"]})
        assert vault.is_error and "vault" in text_of(vault)
        assert "tooth-fairy" not in text_of(vault)
        by_type = await client.call_tool("search_memories", {"query": "password", "types": ["vault"]})
        assert by_type.is_error and "vault is not available" in text_of(by_type)
        everything = await client.call_tool("search_memories", {"query": "password portal tooth fairy"})
        assert "tooth-fairy" not in str(everything.structured_content)
        return True

    assert session(body)


def test_bad_arguments_are_clear_errors():
    seed()

    async def body(client):
        unknown = await client.call_tool("get_memory", {"id": 999})
        assert unknown.is_error and "no memory with id 999" in text_of(unknown)
        wrong_type = await client.call_tool("get_memory", {"id": "seven"})
        assert wrong_type.is_error and "id" in text_of(wrong_type)
        kind = await client.call_tool("search_memories", {"query": "x", "types": ["dreams"]})
        assert kind.is_error and "unknown memory type 'dreams'" in text_of(kind)
        when = await client.call_tool("recent_memories", {"since": "when pigs fly"})
        assert when.is_error and "since" in text_of(when)
        empty = await client.call_tool("search_memories", {"query": "  "})
        assert empty.is_error and "empty" in text_of(empty)
        too_many = await client.call_tool("recent_memories", {"limit": 100000})
        assert too_many.is_error
        return True

    assert session(body)


def test_writes_are_refused_unless_switched_on():
    seed()

    async def refused(client):
        result = await client.call_tool("add_memory", {"text": "Bought a red bicycle"})
        assert result.is_error and "allow_writes" in text_of(result)
        return True

    assert session(refused)
    assert [m.text for m in Secondme().recent(limit=50) if "bicycle" in m.text] == []

    async def allowed(client):
        added = await client.call_tool(
            "add_memory", {"text": "Bought a red bicycle", "type": "episodic", "occurred_at": "2024-05-01"}
        )
        assert not added.is_error, text_of(added)
        vault = await client.call_tool("add_memory", {"text": "pin 1234", "type": "vault"})
        assert vault.is_error and "vault" in text_of(vault)
        found = await client.call_tool("search_memories", {"query": "bicycle"})
        return added.structured_content["id"], [m["id"] for m in found.structured_content["memories"]]

    new_id, found = session(allowed, SECONDME_MCP_ALLOW_WRITES="1")
    assert found[0] == new_id
    memory = Secondme().get(new_id)
    assert memory.source_kind == "mcp" and memory.occurred_at == "2024-05-01T00:00:00"


def test_writes_setting_in_config_toml(home: Path):
    seed()
    (home / "config.toml").write_text("[mcp]\nallow_writes = true\n")

    async def body(client):
        return await client.call_tool("add_memory", {"text": "Ran 10 km along the river"})

    result = session(body)
    assert not result.is_error and result.structured_content["created"] is True


def test_mem_help_does_not_import_mcp():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['mem', '--help']\n"
        "try:\n"
        "    runpy.run_module('secondme', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('MCP' if 'mcp' in sys.modules else 'NO-MCP')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "NO-MCP"


@pytest.mark.slow
def test_ask_streams_progress_and_cites():
    ids = seed()
    progress: list[str] = []

    async def body(client):
        async def on_progress(value, total, message):
            progress.append(message or "")

        return await client.call_tool(
            "ask", {"question": "What is my cat called?"}, progress_callback=on_progress
        )

    result = session(body)
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert "Miso" in data["answer"] and not data["abstained"]
    assert ids["cat"] in [m["id"] for m in data["citations"]]
    # How sure the model was, and whether that makes the answer one to check.
    threshold = AnswerSettings().unsure_below
    assert 0.0 < data["confidence"] <= 1.0 and data["unsure"] is (data["confidence"] < threshold)
    assert progress and "Miso" in progress[-1]

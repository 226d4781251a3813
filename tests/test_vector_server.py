"""The vector index on a real Chroma server (`chroma run`): same behaviour, moves, and outages."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_mem

CHROMA = Path(sys.executable).with_name("chroma")
pytestmark = pytest.mark.skipif(
    not CHROMA.exists() and shutil.which("chroma") is None, reason="the chroma CLI is not installed"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ChromaServer:
    """A `chroma run` process on a private port and data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = str(CHROMA) if CHROMA.exists() else "chroma"
        self.proc = subprocess.Popen(
            [binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        )
        import httpx

        # Waiting for the server to come up is set-up, not a measured limit: it may take long.
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("chroma run did not answer its heartbeat")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.proc = None

    def count(self) -> int:
        import chromadb

        client = chromadb.HttpClient(host="127.0.0.1", port=self.port)
        return client.get_collection("memories").count()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path / "chroma-server")
    chroma.start()
    yield chroma
    chroma.stop()


def mem_json(*args: str, env: dict[str, str]) -> dict | list:
    result = run_mem(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_server_index_behaves_like_the_local_one(server, home):
    env = {"SECONDME_VECTOR_URL": server.url}
    for text in ["Ana's dentist is Dr. Okafor", "Planted tomatoes on the balcony", "Pedro plays the cello"]:
        mem_json("add", text, env=env)
    found = mem_json("search", "music instrument", "--mode", "vector", "-k", "1", env=env)
    assert [h["text"] for h in found] == ["Pedro plays the cello"]
    report = mem_json("doctor", env=env)
    assert report["healthy"] and report["vectors"] == 3 and report["index"].startswith(server.url)
    assert server.count() == 3
    assert not (home / "chroma").exists()  # nothing was written to the local index
    # The same searches give the same memories from a local index.
    local = mem_json("search", "music instrument", "--mode", "vector", "-k", "1", env={})
    assert [h["id"] for h in local] == [h["id"] for h in found]
    assert (home / "chroma").exists()


def test_reindex_moves_the_index_between_local_and_server(server, home):
    for text in ["Bought a blue notebook", "The wifi router is in the hallway"]:
        mem_json("add", text, env={})
    assert mem_json("doctor", env={})["healthy"]
    env = {"SECONDME_VECTOR_URL": server.url}
    assert mem_json("reindex", env=env) == {"indexed": 2}
    assert server.count() == 2
    assert mem_json("doctor", env=env)["healthy"]
    # And back: the local index is rebuilt from the database.
    assert mem_json("reindex", env={}) == {"indexed": 2}
    assert mem_json("doctor", env={})["healthy"]


def test_server_down_loses_nothing_and_catches_up(server, home):
    env = {"SECONDME_VECTOR_URL": server.url}
    mem_json("add", "Ana lives in Lisbon", env=env)
    server.stop()
    added = run_mem("add", "Pedro lives in Porto", "--json", env=env)
    assert added.returncode == 0, added.stderr
    warning = [line for line in added.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and warning[0].startswith("warning: the Chroma server at")
    searched = run_mem("search", "Porto", "--json", env=env)
    assert searched.returncode == 0, searched.stderr
    assert "searching by keywords only" in searched.stderr
    assert [h["text"] for h in json.loads(searched.stdout)] == ["Pedro lives in Porto"]
    down = run_mem("doctor", env=env)
    assert down.returncode != 0
    assert down.stderr.startswith("error: the Chroma server at") and len(down.stderr.splitlines()) == 1
    server.start()  # same port, same data
    repaired = mem_json("doctor", "--repair", env=env)
    assert (repaired["waiting"], repaired["missing"], repaired["repaired"]) == ([2], [], True)
    assert mem_json("doctor", env=env)["healthy"]
    assert server.count() == 2

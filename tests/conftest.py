"""Every test gets its own data home; model files come from the shared cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh SECONDME_HOME for each test."""
    path = tmp_path / "home"
    monkeypatch.setenv("SECONDME_HOME", str(path))
    monkeypatch.delenv("SECONDME_DEBUG", raising=False)
    for key in list(os.environ):
        if key.startswith(
            ("SECONDME_LLM_", "SECONDME_EMBEDDER_", "SECONDME_SEARCH_", "SECONDME_ANSWER_", "SECONDME_VAULT_")
        ):
            monkeypatch.delenv(key)
    # Never touch the keyring of the person running the tests: the keyring tests start their own.
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    from secondme import plugins

    plugins.manager.cache_clear()
    return path


def run_mem(
    *args: str, input: str | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real `mem` command in a subprocess (the current SECONDME_HOME applies)."""
    return subprocess.run(
        [sys.executable, "-m", "secondme", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


class NoModel:
    """An answer model that fails the test when asked: for questions declined before the model."""

    name = "none"

    def chat(self, *args, **kwargs):  # pragma: no cover - fails the test if reached
        raise AssertionError("the model was asked")


def chat_window(text: str, speakers: list[str], when: str = "2024-03-09T18:02:00"):
    """A chat window memory of ``speakers`` ("Pedro: ...\nAna: ..."), as chat ingest stores it."""
    from secondme.memory import MemoryType, NewMemory

    return NewMemory(
        text, type=MemoryType.EPISODIC, occurred_at=when, source_kind="chat", metadata={"speakers": speakers}
    )


#: Eight book titles, one long note each (:func:`book_notes`): more than the usual evidence
#: budget holds, so a larger budget quotes more of them.
BOOKS = ["Dune", "Emma", "Ulysses", "Beloved", "Middlemarch", "Rebecca", "Persuasion", "Kindred"]


def book_note(n: int, title: str) -> str:
    """The text of the ``n``-th book note."""
    return (
        f"Finished reading the book {title} on the long train ride home from the coast, and "
        f"wrote three pages of notes about its characters, its ending and the places it "
        f"describes so that the book club can talk it over on evening {n}."
    )


def book_notes():
    """The eight book notes as episodic memories, a month apart."""
    from secondme.memory import MemoryType, NewMemory

    return [
        NewMemory(book_note(n, title), type=MemoryType.EPISODIC, occurred_at=f"2025-0{n + 1}-10T20:00:00")
        for n, title in enumerate(BOOKS)
    ]


#: Maria's chat about a pup: the memories never name a kitten (the detail check).
PUP_CHAT = "Maria: We adopted a pup last week, she is called Coco.\nJohn: Aww, congrats!"


def holds_outside_hex(data: bytes, digits: bytes) -> bool:
    """Whether a short run of digits is in `data` outside runs of hex text.

    The vault keeps ciphertext, MACs and key ids as hex: a 4-digit PIN turns up in them by
    chance now and then (about once in a hundred exports), which says nothing about a leak.
    """
    return digits in re.sub(rb"[0-9a-f]{16,}", b"", data)


@pytest.fixture(scope="session")
def default_llm():
    """The default answer model, loaded once for the session."""
    from secondme import config
    from secondme.models.llm import load_llm

    return load_llm(config.Settings().llm)


@pytest.fixture(scope="session")
def tiny_llm():
    """SmolLM2-135M: fast, for plumbing (it invents facts, so never for answer quality)."""
    from secondme import config
    from secondme.models.llm import load_llm

    settings = config.Settings().llm
    settings.model = "smollm2-135m"
    return load_llm(settings)

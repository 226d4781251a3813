"""`mem tui` in a real terminal: tmux runs it over a seeded home, keys go in, the pane is read."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

DENTIST = "My dentist is Dr. Ana Costa, at Clinica Sorriso"


class Terminal:
    """One tmux server on a private socket, running one command in a 100x30 window."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def tmux(self, *args: str) -> str:
        """Run a tmux command against this server."""
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=True)
        return out.stdout

    def start(self, command: str, width: int = 100, height: int = 30) -> None:
        """Start ``command``; if it exits, its output and status stay on screen for the test to show."""
        shell = f"{command} 2>&1; echo EXITED $?; sleep 120"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), shell)

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str, literal: bool = False) -> None:
        """Send keys (tmux key names, or text with ``literal``)."""
        self.tmux("send-keys", "-t", "t", *(["-l"] if literal else []), *keys)

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 600.0) -> str:
        """Poll the pane until ``ready(screen)``; fails showing the last screen."""
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if ready(screen):
                return screen
            if "EXITED" in screen:
                break
            time.sleep(0.2)
        raise AssertionError(f"the terminal never showed what was expected; it shows:\n{screen}")


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    """A private tmux server, killed afterwards."""
    term = Terminal(f"secondme-test-{os.getpid()}-{time.monotonic_ns()}")
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-L", term.socket, "kill-server"], capture_output=True)


def test_mem_tui_searches_and_answers_in_a_real_terminal(home: Path, terminal: Terminal):
    app = Secondme()
    app.add_many(
        [
            NewMemory(DENTIST, type=MemoryType.SEMANTIC, occurred_at="2024-01-10T09:00:00"),
            NewMemory(
                "Dinner with Ana at Taberna da Rua",
                type=MemoryType.EPISODIC,
                occurred_at="2024-03-02T20:30:00",
            ),
            NewMemory("The spare key is under the blue flower pot", occurred_at="2023-11-05T08:00:00"),
        ]
    )
    env = {"SECONDME_HOME": str(home), "SECONDME_LLM_MODEL": "smollm2-135m", "TERM": "xterm-256color"}
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    terminal.start(f"env {assignments} {shlex.quote(sys.executable)} -m secondme tui --theme dark")

    first = terminal.wait_for(lambda s: "All memories" in s and "Taberna" in s)
    assert "episodic" in first and "semantic" in first

    terminal.keys("/")
    terminal.keys("dentist", literal=True)
    found = terminal.wait_for(lambda s: "for “dentist”" in s and "Searching" not in s)
    assert "result" in found and "My dentist is Dr. Ana Costa" in found, found  # the searched memory

    terminal.keys("Enter")  # back to the list: the footer offers the list's keys again
    terminal.wait_for(lambda s: "Ask" in s.rstrip().splitlines()[-1])
    terminal.keys("a")
    terminal.keys("Who is my dentist?", literal=True)
    terminal.keys("Enter")
    # The answer ends with the model's name (or says it abstained); either way it is an answer.
    answered = terminal.wait_for(lambda s: "smollm2-135m" in s or "do not say" in s, timeout=900)
    assert "Who is my dentist?" in answered
    assert "Thinking…" not in answered
    assert "read thoroughly" not in answered

    terminal.keys("C-r")  # the same question again, reading more of the memories
    again = terminal.wait_for(lambda s: "read thoroughly" in s, timeout=900)
    assert "Who is my dentist?" in again and "Thinking" not in again

    terminal.keys("Escape")  # closes the panel (a terminal needs a moment to tell Escape from Alt)
    # The footer offers the list's keys again ("^r Ask thoroughly" was the panel's).
    terminal.wait_for(lambda s: " a Ask " in s.rstrip().splitlines()[-1])
    terminal.keys("q")
    terminal.wait_for(lambda s: "EXITED 0" in s, timeout=300)

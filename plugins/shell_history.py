"""A source plugin: bash and zsh history become episodic memories, one per shell session.

Copy this file into ``<home>/plugins`` (or name this folder in ``[plugins] dirs``), then
``mem ingest ~/.bash_history ~/.zsh_history``.  Ingesting the file again later adds only the new
sessions (unchanged sessions are recognised and kept).

What it reads:

- zsh's extended history (``setopt EXTENDED_HISTORY``): ``: <epoch>:<seconds>;<command>``, with
  multi-line commands continued by a trailing backslash and zsh's "metafied" bytes decoded;
- bash with ``HISTTIMEFORMAT`` set: a ``#<epoch>`` line before each command;
- plain history of either shell (no times): commands are kept in groups, in file order.

Commands run within ``SESSION_GAP`` of each other form one session (at most ``MAX_COMMANDS``
commands a memory).  Commands that look like they hold a secret (a password, a token, a key)
are left out and counted as problems, never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from secondme.classify import classify
from secondme.hookspecs import hookimpl
from secondme.ingest.sources.base import ParseError, ParseProblem, ParseResult, read_bytes
from secondme.memory import MemoryType, NewMemory

SESSION_GAP = timedelta(minutes=30)
MAX_COMMANDS = 25
NAMES = {
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".histfile",
    ".sh_history",
    "bash_history",
    "zsh_history",
}

_ZSH = re.compile(rb"^: (\d{9,11}):(\d+);")
_BASH_STAMP = re.compile(rb"^#(\d{9,11})\s*$")
_ZSH_META = 0x83


@dataclass
class Command:
    """One command line and when it ran (None: the history has no times)."""

    text: str
    at: datetime | None
    line: int


def unmetafy(data: bytes) -> bytes:
    """Undo zsh's history encoding: a 0x83 byte means "the next byte XOR 32"."""
    if _ZSH_META not in data:
        return data
    out = bytearray()
    flip = False
    for byte in data:
        if flip:
            out.append(byte ^ 32)
            flip = False
        elif byte == _ZSH_META:
            flip = True
        else:
            out.append(byte)
    return bytes(out)


def _local(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch).astimezone()


def parse_commands(data: bytes) -> tuple[str, list[Command]]:
    """The shell ("zsh", "bash" or "shell" when unknown) and the commands of a history file."""
    lines = data.split(b"\n")
    if any(_ZSH.match(line) for line in lines[:50]):
        return "zsh", _zsh_commands(lines)
    stamped = any(_BASH_STAMP.match(line) for line in lines[:50])
    return ("bash" if stamped else "shell"), _bash_commands(lines)


def _zsh_commands(lines: list[bytes]) -> list[Command]:
    commands: list[Command] = []
    number = 0
    while number < len(lines):
        raw = lines[number]
        start = number
        # A command with newlines is stored as lines ending in a backslash.
        while raw.endswith(b"\\") and number + 1 < len(lines):
            number += 1
            raw = raw[:-1] + b"\n" + lines[number]
        number += 1
        match = _ZSH.match(raw)
        if match:
            text = unmetafy(raw[match.end() :]).decode("utf-8", "replace")
            at: datetime | None = _local(int(match.group(1)))
        else:
            text, at = unmetafy(raw).decode("utf-8", "replace"), None
        if text.strip():
            commands.append(Command(text.strip(), at, start + 1))
    return commands


def _bash_commands(lines: list[bytes]) -> list[Command]:
    commands: list[Command] = []
    at: datetime | None = None
    for number, raw in enumerate(lines, start=1):
        stamp = _BASH_STAMP.match(raw)
        if stamp:
            at = _local(int(stamp.group(1)))
            continue
        text = raw.decode("utf-8", "replace").strip()
        if text:
            commands.append(Command(text, at, number))
            at = None
    return commands


def sessions(commands: list[Command]) -> list[list[Command]]:
    """Commands grouped into sessions: a gap of SESSION_GAP, or MAX_COMMANDS, starts a new one."""
    groups: list[list[Command]] = []
    for command in commands:
        current = groups[-1] if groups else None
        if (
            current is None
            or len(current) >= MAX_COMMANDS
            or (command.at is None) != (current[-1].at is None)
            or (
                command.at is not None
                and current[-1].at is not None
                and command.at - current[-1].at > SESSION_GAP
            )
        ):
            groups.append([command])
        else:
            current.append(command)
    return groups


def _describe(shell: str, group: list[Command]) -> str:
    first, last = group[0].at, group[-1].at
    if first is not None and last is not None:
        day = f"{first.day} {first:%B %Y}"
        head = f"Shell commands ({shell}) on {day}, {first:%H:%M}-{last:%H:%M}:"
    else:
        head = f"Shell commands ({shell} history, lines {group[0].line}-{group[-1].line}):"
    return "\n".join([head, *(f"$ {c.text}" for c in group)])


class ShellHistorySource:
    """bash and zsh history files."""

    name = "shell-history"

    def can_parse(self, path: Path, head: bytes) -> bool:
        """A history file by its name, or by zsh's extended-history lines."""
        if path.name in NAMES or path.name.endswith("_history"):
            return True
        first = head.split(b"\n", 1)[0]
        return bool(_ZSH.match(first))

    def parse(self, path: Path) -> ParseResult:
        """One episodic memory per session; secret-looking commands are left out."""
        try:
            data = read_bytes(path)
        except OSError as exc:
            raise ParseError(f"cannot read {path}: {exc}") from None
        shell, commands = parse_commands(data)
        result = ParseResult(format=f"{shell}-history")
        kept: list[Command] = []
        for command in commands:
            if classify(command.text) is MemoryType.VAULT:
                result.problems.append(
                    ParseProblem(f"line {command.line}", "looks like it holds a secret; not stored")
                )
            else:
                kept.append(command)
        for group in sessions(kept):
            result.drafts.append(
                NewMemory(
                    text=_describe(shell, group),
                    type=MemoryType.EPISODIC,
                    source_kind="shell-history",
                    source_ref=f"{path}:{group[0].line}",
                    occurred_at=group[0].at.isoformat() if group[0].at else None,
                    tags=["shell", shell] if shell != "shell" else ["shell"],
                    metadata={"commands": len(group), "lines": [group[0].line, group[-1].line]},
                )
            )
        return result


@hookimpl
def register_sources(register):
    """Offer the shell-history source to `mem ingest` and `mem watch`."""
    register(ShellHistorySource())

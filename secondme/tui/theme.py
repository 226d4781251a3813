"""Following the terminal's light or dark background.

Textual draws its own colours, so it cannot simply inherit the terminal's; this module guesses
which of its light and dark themes matches: ``COLORFGBG`` where the terminal sets it, else the
terminal's answer to the OSC 11 "what is your background colour" query, else dark.
"""

from __future__ import annotations

import os
import re
import select
import sys

DARK = "textual-dark"
LIGHT = "textual-light"
CHOICES = ("auto", "dark", "light", "ansi")
"""``--theme`` values; ``ansi`` uses the terminal's own palette."""

_OSC11_REPLY = re.compile(rb"\]11;rgba?:([0-9a-fA-F]+)/([0-9a-fA-F]+)/([0-9a-fA-F]+)")


def from_colorfgbg(value: str | None) -> bool | None:
    """True for a light background, False for dark, None when ``COLORFGBG`` does not say."""
    if not value:
        return None
    last = value.split(";")[-1]
    if not last.isdigit():
        return None
    # The background is an ANSI colour number: 7 (white) and 9-15 (bright) are light.
    background = int(last)
    return background == 7 or 9 <= background <= 15


def from_osc11(reply: bytes) -> bool | None:
    """True for a light background from a terminal's OSC 11 reply, None when unreadable."""
    match = _OSC11_REPLY.search(reply)
    if not match:
        return None
    channels = []
    for part in match.groups():
        scale = 16 ** len(part) - 1
        channels.append(int(part, 16) / scale)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5


def _query_terminal(timeout: float = 0.1) -> bytes:
    """Ask the terminal for its background colour; b"" when it does not answer in time."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()) or os.name != "posix":
        return b""
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    reply = b""
    try:
        tty.setcbreak(fd)
        os.write(sys.stdout.fileno(), b"\x1b]11;?\x1b\\")
        while select.select([fd], [], [], timeout)[0]:
            reply += os.read(fd, 64)
            if reply.endswith((b"\x07", b"\x1b\\")):
                break
    except OSError:
        return b""
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
    return reply


def resolve(choice: str = "auto") -> str:
    """The Textual theme name for a ``--theme`` choice."""
    if choice == "dark":
        return DARK
    if choice == "light":
        return LIGHT
    if choice == "ansi":
        return "textual-ansi"
    light = from_colorfgbg(os.environ.get("COLORFGBG"))
    if light is None:
        light = from_osc11(_query_terminal())
    return LIGHT if light else DARK

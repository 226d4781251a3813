"""Which core a command talks to: the running daemon, else the data home in this process."""

from __future__ import annotations

import os
import sys
from typing import Any


def open_core(local: bool = False) -> Any:
    """The daemon's client when a daemon answers for this home, else an in-process ``Secondme``.

    Both have the same methods and return the same types for what the commands use.  Finding
    out costs a ``stat`` of the socket and one short request: no heavy module is imported unless
    the command works in-process.  ``local=True`` (commands that need more of the core than the
    daemon serves) and ``SECONDME_NO_DAEMON=1`` always work in-process.  A daemon of another
    protocol version is reported in one line and left alone.
    """
    if not local and not os.environ.get("SECONDME_NO_DAEMON"):
        from secondme.client import DaemonClient, DaemonUnavailable, ProtocolMismatch

        try:
            return DaemonClient.connect()
        except ProtocolMismatch as mismatch:
            print(f"warning: {mismatch}", file=sys.stderr)
        except DaemonUnavailable as unavailable:
            if "stale" in str(unavailable):
                _clean_stale()
            _autostart()
    from secondme.service import Secondme

    return Secondme()


def _clean_stale() -> None:
    """A socket nobody answers on: a daemon that was killed.  Say so once and tidy up."""
    from secondme import daemon

    state = daemon.process_status()
    if state["stale_removed"]:
        print(
            "warning: the daemon is not running (it was stopped without cleaning up; removed its "
            f"{' and '.join(state['stale_removed'])}); working in-process",
            file=sys.stderr,
        )


def _autostart() -> None:
    """Start the daemon in the background when ``daemon.autostart`` is on (this command goes on)."""
    from secondme import config
    from secondme.errors import SecondmeError

    try:
        settings = config.load()
    except SecondmeError:
        return  # a broken config.toml: the command itself says so, once
    try:
        if not settings.daemon.autostart:
            return
        from secondme import daemon

        if not daemon.process_status()["running"]:
            daemon.spawn()
    except Exception as exc:  # never let auto-start stop the command itself
        print(f"warning: could not start the daemon: {exc}", file=sys.stderr)


def daemon_client() -> Any:
    """The running daemon's client, or None (no daemon, or one of another protocol version)."""
    from secondme.client import connect_or_none

    return connect_or_none()

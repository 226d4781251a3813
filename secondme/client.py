"""Talking to a running `mem daemon`: the core's methods, over HTTP on the home's unix socket.

:class:`DaemonClient` has the same method names and return types as
:class:`secondme.service.Secondme` for what the faces use, so a command does not care which one
:func:`secondme.cli.core.open_core` gave it.  Only the standard library is used here (plus
:mod:`secondme.wire`): finding out that no daemon runs costs a ``stat`` and, at most, one
connection attempt.

When the daemon dies in the middle of a request, calls that are safe to repeat (reads, ``add``,
which skips what is already stored, ``forget``) run again in-process after one line on stderr;
the others say that the change may or may not have been made.
"""

from __future__ import annotations

import builtins
import http.client
import json
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme import paths, wire
from secondme.errors import SecondmeError

if TYPE_CHECKING:
    from secondme.answer import Answer
    from secondme.memory import Memory, MemoryType, NewMemory
    from secondme.retrieve import Hit
    from secondme.service import DoctorReport, Secondme

#: Seconds to wait for the daemon's greeting before working in-process.
CONNECT_TIMEOUT_S = 0.5


def connect_or_none() -> DaemonClient | None:
    """The running daemon's client, or None (no daemon, or one of another protocol version)."""
    try:
        return DaemonClient.connect()
    except (DaemonUnavailable, ProtocolMismatch):
        return None


class DaemonUnavailable(Exception):
    """No daemon answers on this home's socket (none runs, or it left a stale socket)."""


class DaemonLost(DaemonUnavailable):
    """The daemon went away in the middle of a request."""


class ProtocolMismatch(SecondmeError):
    """The daemon speaks another protocol version than this client."""


class _UnixConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket."""

    def __init__(self, path: Path, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class DaemonClient:
    """The core's API, served by the daemon of the current home."""

    def __init__(self, conn: _UnixConnection, hello: dict[str, Any]) -> None:
        self._conn = conn
        self.hello = hello
        self._local: Secondme | None = None

    @classmethod
    def connect(cls, timeout: float = CONNECT_TIMEOUT_S, path: Path | None = None) -> DaemonClient:
        """Greet the daemon and check its protocol version.

        Raises :class:`DaemonUnavailable` when nothing answers and :class:`ProtocolMismatch`
        when the daemon speaks another version.
        """
        path = path or paths.daemon_socket()
        if not path.exists():
            raise DaemonUnavailable("no daemon socket")
        conn = _UnixConnection(path, timeout)
        try:
            conn.request("GET", "/v1/hello", headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL)})
            response = conn.getresponse()
            data = json.loads(response.read() or b"{}")
        except (ConnectionRefusedError, FileNotFoundError) as exc:
            conn.close()
            raise DaemonUnavailable(f"stale daemon socket: {exc}") from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            conn.close()
            raise DaemonUnavailable(f"the daemon socket does not answer: {exc}") from None
        if response.status == 409 or data.get("protocol") != wire.PROTOCOL:
            conn.close()
            raise ProtocolMismatch(
                f"the running daemon (secondme {data.get('version')}, protocol {data.get('protocol')}) "
                f"does not speak this client's protocol {wire.PROTOCOL}; working without it",
                hint="restart it: mem daemon stop && mem daemon start",
            )
        if response.status != 200:
            conn.close()
            raise DaemonUnavailable(f"the daemon answered {response.status}")
        # Requests may take long (an answer, a reindex): no timeout once greeted.
        if conn.sock is not None:
            conn.sock.settimeout(None)
        return cls(conn, data)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    # -- transport -------------------------------------------------------------------------------

    def _send(self, method: str, url: str, body: dict[str, Any] | None = None) -> http.client.HTTPResponse:
        payload = json.dumps(body or {}).encode()
        try:
            self._conn.request(
                method,
                url,
                body=payload,
                headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL), "Content-Type": "application/json"},
            )
            return self._conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise DaemonLost(str(exc)) from None

    def _call(self, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._send("POST", f"/v1/{name}", body)
        try:
            data = json.loads(response.read())
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._conn.close()
            raise DaemonLost(str(exc)) from None
        if response.status != 200:
            raise wire.error_in(data)
        return data

    def _local_core(self) -> Secondme:
        if self._local is None:
            from secondme.service import Secondme

            self._local = Secondme()
        return self._local

    def _retry(self, what: str) -> Secondme:
        print(f"warning: the daemon stopped during {what}; doing it in-process", file=sys.stderr)
        return self._local_core()

    @staticmethod
    def _lost(what: str) -> SecondmeError:
        return SecondmeError(
            f"the daemon stopped during {what}; the change may or may not have been made",
            hint="check with `mem show` or `mem list`, then run the command again",
        )

    # -- writing ---------------------------------------------------------------------------------

    def add(self, new: NewMemory, dedupe: bool = True) -> tuple[Memory, bool]:
        """Store a memory and index it; returns (memory, created)."""
        return self.add_many([new], dedupe=dedupe)[0]

    def add_many(self, items: Sequence[NewMemory], dedupe: bool = True) -> list[tuple[Memory, bool]]:
        """Store memories in one transaction, then index them."""
        body = {"items": [asdict(item) for item in items], "dedupe": dedupe}
        try:
            data = self._call("add_many", body)
        except DaemonLost:
            # Safe to repeat: what reached the database is found by its content hash.
            return self._retry("an add").add_many(items, dedupe=dedupe)
        return [(wire.memory_in(m), bool(created)) for m, created in data["results"]]

    def add_parts(
        self, items: Sequence[NewMemory], dedupe: bool = True
    ) -> builtins.list[builtins.list[tuple[Memory, bool]]]:
        """Like :meth:`add_many`, with every part of a text too long for one memory."""
        body = {"items": [asdict(item) for item in items], "dedupe": dedupe}
        try:
            data = self._call("add_parts", body)
        except DaemonLost:
            return self._retry("an add").add_parts(items, dedupe=dedupe)
        return [[(wire.memory_in(m), bool(created)) for m, created in parts] for parts in data["results"]]

    def edit(self, memory_id: int, **fields: Any) -> Memory:
        """Change a memory (history kept) and re-index it."""
        try:
            data = self._call("edit", {"id": memory_id, "fields": fields})
        except DaemonLost:
            raise self._lost("an edit") from None
        return wire.memory_in(data["memory"])

    def set_core(self, label: str, value: str) -> Memory:
        """Set a core memory (the previous value is superseded, not lost)."""
        try:
            data = self._call("set_core", {"label": label, "value": value})
        except DaemonLost:
            raise self._lost("`mem core set`") from None
        return wire.memory_in(data["memory"])

    def forget(self, ids: Sequence[int], reason: str = "by id") -> list[int]:
        """Remove memories for good; returns the ids that existed."""
        try:
            return list(self._call("forget", {"ids": list(ids), "reason": reason})["forgotten"])
        except DaemonLost:
            # Repeating is safe, but ids removed before the daemon died now read as not found.
            raise self._lost("a forget") from None

    def drop_sources(self, source: str) -> None:
        """Forget the records of the files under ``source`` (a path as this process sees it)."""
        try:
            self._call("drop_sources", {"source": _absolute(source)})
        except DaemonLost:
            self._retry("a forget").drop_sources(source)

    # -- choosing what to forget -----------------------------------------------------------------

    def ids_from_source(self, source: str) -> list[int]:
        """Every memory from a file or folder (relative paths are this process's, not the daemon's)."""
        absolute = _absolute(source)
        try:
            found = self._call("ids_from_source", {"source": absolute})["ids"]
            if not found and source != absolute:
                found = self._call("ids_from_source", {"source": source})["ids"]
            return [int(i) for i in found]
        except DaemonLost:
            return self._retry("a read").ids_from_source(source)

    def ids_matching(self, query: str) -> list[int]:
        """Every memory (superseded and vault ones too) holding these words."""
        try:
            return [int(i) for i in self._call("ids_matching", {"query": query})["ids"]]
        except DaemonLost:
            return self._retry("a read").ids_matching(query)

    def ids_between(self, since: str | None, until: str | None) -> list[int]:
        """Every memory whose time falls between ``since`` and ``until``."""
        try:
            return [int(i) for i in self._call("ids_between", {"since": since, "until": until})["ids"]]
        except DaemonLost:
            return self._retry("a read").ids_between(since, until)

    # -- reading ---------------------------------------------------------------------------------

    def get(self, memory_id: int) -> Memory:
        """One memory."""
        try:
            return wire.memory_in(self._call("get", {"id": memory_id})["memory"])
        except DaemonLost:
            return self._retry("a read").get(memory_id)

    def get_many(self, ids: Sequence[int]) -> dict[int, Memory]:
        """The memories that exist among ``ids``, by id."""
        try:
            found = self._call("get_many", {"ids": list(ids)})["memories"]
        except DaemonLost:
            return self._retry("a read").get_many(ids)
        return {memory.id: memory for memory in map(wire.memory_in, found)}

    def history(self, memory_id: int) -> builtins.list[dict[str, Any]]:
        """The earlier versions of a memory, oldest first."""
        try:
            return list(self._call("history", {"id": memory_id})["history"])
        except DaemonLost:
            return self._retry("a read").history(memory_id)

    def list(
        self,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        include_superseded: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> builtins.list[Memory]:
        """Memories newest first."""
        body = {
            "types": [t.value for t in types],
            "since": since,
            "until": until,
            "include_superseded": include_superseded,
            "limit": limit,
            "offset": offset,
        }
        try:
            return [wire.memory_in(m) for m in self._call("list", body)["memories"]]
        except DaemonLost:
            return self._retry("a read").list(types, since, until, include_superseded, limit, offset)

    def recent(
        self,
        limit: int = 20,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
    ) -> builtins.list[Memory]:
        """The newest current memories, vault ones left out (as the core's ``recent``)."""
        body = {"limit": limit, "types": [t.value for t in types], "since": since, "until": until}
        try:
            return [wire.memory_in(m) for m in self._call("recent", body)["memories"]]
        except DaemonLost:
            return self._retry("a read").recent(limit=limit, types=types, since=since, until=until)

    def core(self) -> builtins.list[Memory]:
        """The current core memories."""
        try:
            return [wire.memory_in(m) for m in self._call("core")["memories"]]
        except DaemonLost:
            return self._retry("a read").core()

    def search(
        self,
        query: str,
        k: int | None = None,
        types: Sequence[MemoryType] = (),
        since: str | None = None,
        until: str | None = None,
        mode: str = "hybrid",
        include_superseded: bool | None = None,
    ) -> builtins.list[Hit]:
        """Hybrid search, run by the daemon."""
        body = {
            "query": query,
            "k": k,
            "types": [t.value for t in types],
            "since": since,
            "until": until,
            "mode": mode,
            "include_superseded": include_superseded,
        }
        try:
            return [wire.hit_in(h) for h in self._call("search", body)["hits"]]
        except DaemonLost:
            return self._retry("a search").search(query, k, types, since, until, mode, include_superseded)

    def pending_count(self) -> int:
        """How many memories wait for a vector."""
        try:
            return int(self._call("pending_count")["pending"])
        except DaemonLost:
            return self._retry("a read").pending_count()

    def ask(
        self,
        question: str,
        k: int | None = None,
        on_token: Callable[[str], None] | None = None,
        on_hits: Callable[[builtins.list[Hit]], None] | None = None,
        mode: str = "hybrid",
        today: datetime | None = None,
        llm: Any = None,
        thorough: bool = False,
    ) -> Answer:
        """Answer a question: ``on_hits`` gets the memories found, ``on_token`` the answer's pieces.

        ``llm`` is accepted for the core's signature and ignored: the daemon's model answers.
        """
        try:
            return self._ask(question, k, on_token, on_hits, mode, today, thorough)
        except DaemonLost:
            return self._retry("an answer").ask(
                question, k, on_token=on_token, on_hits=on_hits, mode=mode, today=today, thorough=thorough
            )

    def _ask(
        self,
        question: str,
        k: int | None,
        on_token: Callable[[str], None] | None,
        on_hits: Callable[[builtins.list[Hit]], None] | None,
        search_mode: str,
        today: datetime | None,
        thorough: bool,
    ) -> Answer:
        body = {
            "question": question,
            "k": k,
            "mode": search_mode,
            "today": today.isoformat() if today else None,
            "thorough": thorough,
        }
        response = self._send("POST", "/v1/ask", body)
        if response.status != 200:
            try:
                data = json.loads(response.read())
            except (OSError, http.client.HTTPException, ValueError) as exc:
                raise DaemonLost(str(exc)) from None
            raise wire.error_in(data)
        try:
            while True:
                line = response.readline()
                if not line:
                    break
                event = json.loads(line)
                kind = event["event"]
                if kind == "hits":
                    if on_hits:
                        on_hits([wire.hit_in(h) for h in event["hits"]])
                elif kind == "token":
                    if on_token:
                        on_token(event["text"])
                elif kind == "answer":
                    response.read()  # the end of the chunked body: the connection can be reused
                    return wire.answer_in(event["answer"])
                elif kind == "error":
                    response.read()
                    raise wire.error_in(event)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            self._conn.close()
            raise DaemonLost(str(exc)) from None
        self._conn.close()
        raise DaemonLost("the answer stream ended early")

    # -- looking after the home ------------------------------------------------------------------

    def doctor(self, repair: bool = False) -> DoctorReport:
        """Compare the index with the database (and repair it)."""
        try:
            return wire.doctor_in(self._call("doctor", {"repair": repair})["report"])
        except DaemonLost:
            return self._retry("`mem doctor`").doctor(repair=repair)

    def reindex(self) -> int:
        """Rebuild the vector index from SQLite."""
        try:
            return int(self._call("reindex")["indexed"])
        except DaemonLost:
            # Rebuilding from the truth again is always safe.
            return self._retry("`mem reindex`").reindex()

    # -- the daemon itself -----------------------------------------------------------------------

    def watch_start(self, folders: builtins.list[tuple[Path, str]]) -> dict[str, Any]:
        """Run the folder watcher inside the daemon."""
        try:
            return self._call("watch/start", {"folders": [[str(p), kind] for p, kind in folders]})
        except DaemonLost:
            raise SecondmeError("the daemon stopped while starting the watcher") from None

    def watch_stop(self) -> dict[str, Any]:
        """Stop the watcher the daemon hosts."""
        try:
            return self._call("watch/stop")
        except DaemonLost:
            return {"stopped": True, "pid": self.hello.get("pid")}

    def status(self) -> dict[str, Any]:
        """The home's counts for `mem status` (as the core's ``status``)."""
        try:
            return self._call("status")["status"]
        except DaemonLost:
            return self._retry("a read").status()

    def stop(self) -> None:
        """Ask the daemon to finish its requests and exit."""
        try:
            self._call("stop")
        except DaemonLost:
            pass


def _absolute(source: str) -> str:
    """A path as this process means it (the daemon runs in another working directory)."""
    return str(Path(source).expanduser().resolve())

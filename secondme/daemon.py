"""`mem daemon`: one warm process per data home, serving the core's API on a unix socket.

The daemon keeps the embedder, the vector index client and the answer model loaded, hosts the
folder watcher, and answers HTTP (JSON, and NDJSON for streamed answers) on ``daemon.sock`` in
the data home.  The socket is created with mode 0600 and every connection's peer credentials are
checked, so only the home's owner gets in.

SQLite stays the only truth: every request thread has its own connection, writes commit before
they are answered, and the vector index is brought up to date from SQLite on start, so a daemon
killed at any moment loses nothing.  Answers run one at a time on their own worker thread, in
the order they arrive, so searches and adds never wait behind a generation.

Heavy modules (starlette, uvicorn, the models) are imported inside functions: ``mem --help``
imports :mod:`secondme.cli`, which never imports this module's server half.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme import __version__, config, paths, wire
from secondme.errors import InputError, SecondmeError

if TYPE_CHECKING:
    from secondme.answer import Prepared
    from secondme.service import Secondme

log = logging.getLogger("secondme.daemon")

# Unix socket paths are limited to 108 bytes (104 on macOS) including the final NUL.
MAX_SOCKET_PATH = 103
# How often the idle check looks at the answer model.
IDLE_CHECK_S = 5.0


class Cancelled(Exception):
    """The client of a streamed answer went away: stop generating for it."""


def lock_path() -> Path:
    """The file a running daemon holds locked (the lock, not the pid file, says it runs)."""
    return paths.home() / "daemon.lock"


def log_path() -> Path:
    """Where a daemon started in the background writes its log."""
    return paths.logs_dir() / "daemon.log"


def check_socket_path(path: Path) -> None:
    """Refuse a socket path the operating system cannot bind."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise SecondmeError(
            f"the daemon's socket path is too long for the operating system: {path}",
            hint="use a shorter SECONDME_HOME",
        )


# -- what stays warm ---------------------------------------------------------------------------


class Engine:
    """The loaded models and one core per thread, sharing them."""

    def __init__(self, settings: config.Settings | None = None) -> None:
        self.settings = settings or config.load()
        self._config_mtime = _mtime(paths.config_path())
        self._local = threading.local()
        self._generation_id = 0
        self._embedder: Any = None
        self._embedder_lock = threading.Lock()
        self._llm: Any = None
        # One worker: answers are generated one at a time, first come first served.
        self.generator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="secondme-generate")
        self.last_answer = time.monotonic()
        self.started = time.time()
        self.watcher: Any = None
        self._watch_thread: threading.Thread | None = None
        self._watch_stack: contextlib.ExitStack | None = None
        self._watch_lock = threading.Lock()
        self.indexer = Indexer(self)

    # The embedder is shared by every thread's core: loaded once, under a lock.
    @property
    def embedder(self) -> Any:
        """The embedder, loaded on first use."""
        with self._embedder_lock:
            if self._embedder is None:
                from secondme.models.embedder import load_embedder

                self._embedder = load_embedder(self.settings.embedder)
            return self._embedder

    def core(self) -> Secondme:
        """This thread's core: its own SQLite connection, the shared models."""
        self._reload_settings()
        core = getattr(self._local, "core", None)
        if core is None or self._local.generation != self._generation_id:
            from secondme.service import Secondme

            # A request's writes are answered once committed; their vectors are the indexer's.
            later = None if threading.current_thread() is self.indexer.thread else self.indexer.request
            core = Secondme(self.settings, embedder=self.embedder, index_later=later)
            self._local.core = core
            self._local.generation = self._generation_id
        return core

    def _reload_settings(self) -> None:
        # config.toml edited while the daemon runs: new cores read the new settings.
        mtime = _mtime(paths.config_path())
        if mtime != self._config_mtime:
            self.settings = config.load()  # a broken file is reported to this request, and the next
            self._config_mtime = mtime
            self._generation_id += 1

    def warm_up(self) -> None:
        """Load the embedder and the index, catch up on writes the index missed, load the model."""
        started = time.perf_counter()
        core = self.core()
        written = core.sync_vectors()
        if written:
            log.info("indexed %d memories that had no vector yet", written)
        with contextlib.suppress(SecondmeError):
            core.search("warm up", k=1)
        log.info("embedder and index ready in %.2f s", time.perf_counter() - started)
        self.generator.submit(self._load_llm_quietly)

    # -- the answer model (only ever touched on the generator thread) --------------------------

    def _load_llm(self) -> Any:
        if self._llm is None:
            from secondme.models.llm import load_llm

            started = time.perf_counter()
            self._llm = load_llm(self.settings.llm)
            log.info(
                "answer model %s loaded in %.2f s",
                getattr(self._llm, "name", "?"),
                time.perf_counter() - started,
            )
        return self._llm

    def _load_llm_quietly(self) -> None:
        try:
            self._load_llm()
        except BaseException as exc:  # reported to the first question instead
            log.warning("the answer model could not be loaded: %s", exc)

    def _unload_if_idle(self) -> None:
        limit = self.settings.daemon.idle_unload_s
        if self._llm is not None and limit > 0 and time.monotonic() - self.last_answer >= limit:
            self._llm = None
            import gc

            gc.collect()
            log.info("answer model unloaded after %.0f s idle", limit)

    def check_idle(self) -> None:
        """Queue an unload of the answer model when it has not been used for a while."""
        self.generator.submit(self._unload_if_idle)

    def generate(
        self, prepared: Prepared, on_token: Callable[[str], None], cancelled: threading.Event
    ) -> Any:
        """Generate the answer for ``prepared`` (runs on the generator thread)."""
        from secondme.answer import generate

        if cancelled.is_set():
            raise Cancelled()

        def token(piece: str) -> None:
            if cancelled.is_set():
                raise Cancelled()
            on_token(piece)

        core = self.core()
        try:
            if not prepared.needs_model:
                return generate(core, prepared, None, token)
            llm = self._load_llm()
            # Primed before every question, as `mem ask` in-process and `mem eval` do, so that an
            # answer does not depend on the question asked before it (the model keeps the
            # prefix: priming again only cuts the context back to it).
            answer = generate(core, prepared, llm, token, prime=self.settings.llm.cache_prompt_prefix)
            from secondme.plugins import manager

            manager().hook.answer_given(question=answer.question, answer=answer)
            return answer
        finally:
            self.last_answer = time.monotonic()

    def status(self) -> dict[str, Any]:
        """What the daemon holds (for `mem daemon status`)."""
        return {
            "protocol": wire.PROTOCOL,
            "version": __version__,
            "pid": os.getpid(),
            "home": str(paths.home()),
            "started": self.started,
            "embedder_loaded": self._embedder is not None,
            "llm_loaded": self._llm is not None,
            "watching": self.watcher is not None,
        }

    # -- the folder watcher --------------------------------------------------------------------

    def watch_start(self, folders: list[tuple[Path, str]]) -> dict[str, Any]:
        """Run the folder watcher inside the daemon (one per home, as with `mem watch`)."""
        from secondme.ingest import watcher as watching
        from secondme.service import Secondme

        with self._watch_lock:
            if self.watcher is not None:
                raise SecondmeError(
                    "the daemon already runs a watcher", hint="stop it first with `mem watch stop`"
                )
            stack = contextlib.ExitStack()
            stack.enter_context(watching._single_instance())
            try:
                # The watcher's own core: its thread owns that connection.
                instance = watching.Watcher(Secondme(self.settings, embedder=self.embedder), folders)
                instance.start()
            except BaseException:
                stack.close()
                raise
            self.watcher, self._watch_stack = instance, stack
            self._watch_thread = threading.Thread(target=self._watch_loop, name="secondme-watch", daemon=True)
            self._watch_thread.start()
        for folder, kind in instance.folders:
            log.info("watching %s (%s)", folder, kind)
        return {"started": True, "pid": os.getpid(), "log": str(log_path())}

    def _watch_loop(self) -> None:
        watcher = self.watcher
        try:
            watcher.run()
        except Exception:
            log.exception("the watcher stopped on an error")

    def watch_stop(self) -> dict[str, Any]:
        """Stop the hosted watcher; says whether one ran."""
        with self._watch_lock:
            watcher, thread, stack = self.watcher, self._watch_thread, self._watch_stack
            self.watcher = self._watch_thread = self._watch_stack = None
            if watcher is None:
                return {"stopped": False, "pid": None}
            watcher.request_stop()
            if thread is not None:
                thread.join()
            watcher.close()
            if stack is not None:
                stack.close()
            log.info("watcher stopped")
            return {"stopped": True, "pid": os.getpid()}

    def close(self) -> None:
        """Stop the watcher, index what waits, stop the generator (pending answers are dropped)."""
        with contextlib.suppress(Exception):
            self.watch_stop()
        self.indexer.close()
        self.generator.shutdown(wait=True, cancel_futures=True)


class Indexer:
    """Writes the vectors of the memories the requests stored, on its own thread.

    A request that adds or edits memories is answered once SQLite has committed them; this thread
    then embeds them.  Nothing can be lost in between: the memories stay marked as waiting for a
    vector until it is written, every search brings the index up to date before it looks, and a
    daemon that is killed indexes them when it starts again.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._wake = threading.Event()
        self._stopping = False
        self.thread = threading.Thread(target=self._run, name="secondme-index", daemon=True)
        self.thread.start()

    def request(self) -> None:
        """Something was written: index it soon (requests that come meanwhile share one pass)."""
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                written = self.engine.core().sync_vectors()
                if written:
                    log.debug("indexed %d memories", written)
            except Exception as exc:  # the memories stay waiting; the next write or search retries
                detail = exc.message if isinstance(exc, SecondmeError) else repr(exc)
                log.warning("indexing failed, the memories wait for the next try: %s", detail)
            if self._stopping:
                return

    def close(self) -> None:
        """Index what still waits, then stop."""
        self._stopping = True
        self._wake.set()
        self.thread.join()


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


# -- the API -----------------------------------------------------------------------------------


def _new_memory(data: dict[str, Any]) -> Any:
    from secondme.memory import MemoryType, NewMemory

    return NewMemory(**{**data, "type": MemoryType.parse(data["type"])})


def _types(values: list[str] | None) -> tuple[Any, ...]:
    from secondme.memory import MemoryType

    return tuple(MemoryType.parse(v) for v in values or [])


def _edit_fields(data: dict[str, Any]) -> dict[str, Any]:
    from secondme.memory import MemoryType

    fields = dict(data)
    if "type" in fields:
        fields["type"] = MemoryType.parse(fields["type"])
    return fields


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        raise TypeError("ids must be a list of integers")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _reason(body: dict[str, Any]) -> str:
    reason = body.get("reason", "by id")
    # The reason is kept in a tombstone: one of the CLI's own, never free text that could quote a memory.
    if reason not in ("by id", "by source", "by query", "by date range"):
        raise InputError(f"unknown reason to forget: {str(reason)[:40]!r}")
    return str(reason)


def _search(core: Secondme, body: dict[str, Any]) -> Any:
    hits = core.search(
        body["query"],
        k=body.get("k"),
        types=_types(body.get("types")),
        since=body.get("since"),
        until=body.get("until"),
        mode=body.get("mode", "hybrid"),
        include_superseded=body.get("include_superseded"),
    )
    return {"hits": [wire.hit_out(h) for h in hits]}


def _list(core: Secondme, body: dict[str, Any]) -> Any:
    memories = core.list(
        types=_types(body.get("types")),
        since=body.get("since"),
        until=body.get("until"),
        include_superseded=body.get("include_superseded", False),
        limit=body.get("limit", 20),
        offset=body.get("offset", 0),
    )
    return {"memories": [wire.memory_out(m) for m in memories]}


#: The core's methods the daemon serves (besides ``ask``, which streams): name -> handler.
CALLS: dict[str, Callable[[Secondme, dict[str, Any]], Any]] = {
    "add_many": lambda core, body: {
        "results": [
            [wire.memory_out(m), created]
            for m, created in core.add_many(
                [_new_memory(d) for d in body["items"]], dedupe=body.get("dedupe", True)
            )
        ]
    },
    "add_parts": lambda core, body: {
        "results": [
            [[wire.memory_out(m), created] for m, created in parts]
            for parts in core.add_parts(
                [_new_memory(d) for d in body["items"]], dedupe=body.get("dedupe", True)
            )
        ]
    },
    "edit": lambda core, body: {
        "memory": wire.memory_out(core.edit(body["id"], **_edit_fields(body["fields"])))
    },
    "set_core": lambda core, body: {"memory": wire.memory_out(core.set_core(body["label"], body["value"]))},
    "forget": lambda core, body: {"forgotten": core.forget(_ids(body["ids"]), reason=_reason(body))},
    "drop_sources": lambda core, body: core.drop_sources(_text(body["source"])) or {},
    "ids_from_source": lambda core, body: {"ids": core.ids_from_source(_text(body["source"]))},
    "ids_matching": lambda core, body: {"ids": core.ids_matching(_text(body["query"]))},
    "ids_between": lambda core, body: {"ids": core.ids_between(body.get("since"), body.get("until"))},
    "get": lambda core, body: {"memory": wire.memory_out(core.get(body["id"]))},
    "get_many": lambda core, body: {
        "memories": [wire.memory_out(m) for m in core.get_many(_ids(body["ids"])).values()]
    },
    "history": lambda core, body: {"history": core.history(body["id"])},
    "list": _list,
    "recent": lambda core, body: {
        "memories": [
            wire.memory_out(m)
            for m in core.recent(
                limit=int(body.get("limit", 20)),
                types=_types(body.get("types")),
                since=body.get("since"),
                until=body.get("until"),
            )
        ]
    },
    "core": lambda core, body: {"memories": [wire.memory_out(m) for m in core.core()]},
    "search": _search,
    "pending_count": lambda core, body: {"pending": core.pending_count()},
    "status": lambda core, body: {"status": core.status()},
    "doctor": lambda core, body: {"report": core.doctor(repair=body.get("repair", False)).to_dict()},
    "reindex": lambda core, body: {"indexed": core.reindex()},
}


def make_app(engine: Engine, on_stop: Callable[[], None]) -> Any:
    """The Starlette application: ``GET /v1/hello``, ``POST /v1/{call}``, ``POST /v1/ask``."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response, StreamingResponse
    from starlette.routing import Route

    def reply(data: Any, status: int = 200) -> Response:
        return JSONResponse(data, status_code=status, headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL)})

    def failure(exc: BaseException) -> Response:
        if not isinstance(exc, SecondmeError):
            log.error("request failed", exc_info=exc)
        return reply(wire.error_out(exc), status=400 if isinstance(exc, SecondmeError) else 500)

    def bad_request(what: str, exc: BaseException) -> Response:
        # A body of the wrong shape (a missing key, a string for a list): the caller's mistake,
        # told in one line like every other error, never a 500.
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        error = InputError(f"bad request to {what}: {detail}", hint="see docs/daemon.md for the API")
        return reply(wire.error_out(error), status=400)

    async def read_body(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise InputError(f"the request body is not JSON: {exc}") from None
        if not isinstance(body, dict):
            raise InputError("the request body must be a JSON object")
        return body

    def mismatch(request: Request) -> Response | None:
        theirs = request.headers.get(wire.PROTOCOL_HEADER)
        if theirs != str(wire.PROTOCOL):
            return reply(
                {
                    "error": "ProtocolMismatch",
                    "message": f"the daemon speaks protocol {wire.PROTOCOL}, the client {theirs}",
                    "hint": "restart the daemon: mem daemon stop && mem daemon start",
                    "protocol": wire.PROTOCOL,
                    "version": __version__,
                },
                status=409,
            )
        return None

    async def hello(request: Request) -> Response:
        return reply(engine.status(), status=409 if mismatch(request) else 200)

    async def call(request: Request) -> Response:
        refused = mismatch(request)
        if refused is not None:
            return refused
        name = request.path_params["name"]
        handler = CALLS.get(name)
        if handler is None:
            return reply({"error": "NotFound", "message": f"no call {name!r}", "hint": None}, status=404)
        try:
            body = await read_body(request)
        except SecondmeError as exc:
            return failure(exc)

        def run() -> Any:
            return handler(engine.core(), body)

        try:
            return reply(await run_in_threadpool(run))
        except SecondmeError as exc:
            return failure(exc)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
            return bad_request(name, exc)
        except Exception as exc:
            return failure(exc)

    async def ask(request: Request) -> Response:
        refused = mismatch(request)
        if refused is not None:
            return refused
        from secondme.answer import prepare

        try:
            body = await read_body(request)
        except SecondmeError as exc:
            return failure(exc)

        def retrieve() -> Prepared:
            today = body.get("today")
            question, k, mode = body["question"], body.get("k"), body.get("mode", "hybrid")
            thorough = body.get("thorough", False)
            if not isinstance(question, str) or not (k is None or isinstance(k, int)):
                raise TypeError("question must be a string and k a whole number")
            if not isinstance(thorough, bool):
                raise TypeError("thorough must be true or false")
            if mode not in ("hybrid", "keyword", "vector"):
                raise ValueError(f"unknown search mode {mode!r}")
            return prepare(
                engine.core(),
                question,
                k=k,
                search_mode=mode,
                today=datetime.fromisoformat(today) if today else None,
                thorough=thorough,
            )

        try:
            prepared = await run_in_threadpool(retrieve)
        except SecondmeError as exc:
            return failure(exc)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            return bad_request("ask", exc)
        except Exception as exc:
            return failure(exc)
        return StreamingResponse(
            _answer_stream(engine, prepared),
            media_type="application/x-ndjson",
            headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL)},
        )

    async def watch(request: Request) -> Response:
        refused = mismatch(request)
        if refused is not None:
            return refused
        action = request.path_params["action"]
        try:
            body = await read_body(request)
            if action == "start":
                folders = [(Path(str(p)), str(kind)) for p, kind in body["folders"]]
                return reply(await run_in_threadpool(engine.watch_start, folders))
            if action != "stop":
                return reply(
                    {"error": "NotFound", "message": f"no watch action {action!r}", "hint": None}, status=404
                )
            return reply(await run_in_threadpool(engine.watch_stop))
        except SecondmeError as exc:
            return failure(exc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return bad_request(f"watch/{action}", exc)
        except Exception as exc:
            return failure(exc)

    async def stop(request: Request) -> Response:
        on_stop()
        return reply({"stopping": True, "pid": os.getpid()})

    return Starlette(
        routes=[
            Route("/v1/hello", hello, methods=["GET"]),
            Route("/v1/ask", ask, methods=["POST"]),
            Route("/v1/watch/{action:str}", watch, methods=["POST"]),
            Route("/v1/stop", stop, methods=["POST"]),
            Route("/v1/{name:str}", call, methods=["POST"]),
        ]
    )


async def _answer_stream(engine: Engine, prepared: Prepared) -> AsyncIterator[bytes]:
    """NDJSON: the memories found at once, then tokens as they come, then the whole answer."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    cancelled = threading.Event()

    def on_token(piece: str) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, ("token", piece))

    def line(data: dict[str, Any]) -> bytes:
        return (json.dumps(data, ensure_ascii=False) + "\n").encode()

    yield line({"event": "hits", "hits": [wire.hit_out(h) for h in prepared.hits]})
    future = asyncio.wrap_future(engine.generator.submit(engine.generate, prepared, on_token, cancelled))

    def finished(done: asyncio.Future[Any]) -> None:
        if not done.cancelled():
            done.exception()  # read below; marked as seen so a client that left logs nothing
        queue.put_nowait(("done", None))

    future.add_done_callback(finished)
    try:
        while True:
            kind, piece = await queue.get()
            if kind == "token":
                yield line({"event": "token", "text": piece})
                continue
            try:
                answer = future.result()
            except Exception as exc:
                if not isinstance(exc, SecondmeError):
                    log.error("answer failed", exc_info=exc)
                yield line({"event": "error", **wire.error_out(exc)})
            else:
                yield line({"event": "answer", "answer": wire.answer_out(answer)})
            return
    finally:
        # The client left (or the answer is done): a queued or running generation stops.
        cancelled.set()


# -- serving -----------------------------------------------------------------------------------


def _peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end of a unix socket (None where unsupported)."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return uid
    if sys.platform == "darwin":  # pragma: no cover - LOCAL_PEERCRED gives a struct xucred
        sol_local, local_peercred = 0, 1
        with contextlib.suppress(OSError):
            data = sock.getsockopt(sol_local, local_peercred, struct.calcsize("IIh16I"))
            return int(struct.unpack_from("II", data)[1])
    return None


def _protocol_class() -> Any:
    """uvicorn's HTTP protocol, refusing connections from any other user than ours."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class OwnerOnly(H11Protocol):
        def connection_made(self, transport: Any) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            uid = _peer_uid(sock) if sock is not None else None
            if uid is not None and uid != os.getuid():
                log.warning("refused a connection from uid %d", uid)
                transport.close()
                return
            super().connection_made(transport)

    return OwnerOnly


def _bind(path: Path) -> socket.socket:
    """A listening unix socket at ``path`` with mode 0600 from the start (no window at 0666)."""
    check_socket_path(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # stale: we hold the lock, so no daemon is behind it
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(str(path))
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    sock.setblocking(False)
    return sock


def serve(announce: Callable[[str], None] = print) -> None:
    """Run the daemon in the foreground until SIGTERM, Ctrl-C or `mem daemon stop`."""
    import uvicorn
    from filelock import FileLock, Timeout

    home = paths.home()
    os.chmod(home, 0o700)  # the socket's folder: nobody else's business
    lock = FileLock(str(lock_path()))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        pid = read_pid()
        raise SecondmeError(
            f"a daemon is already running for this home (pid {pid})", hint="stop it with `mem daemon stop`"
        ) from None
    socket_path = paths.daemon_socket()
    try:
        engine = Engine()
        sock = _bind(socket_path)
        paths.daemon_pid().write_text(str(os.getpid()))
        server: Any = None

        def on_stop() -> None:
            if server is not None:
                server.should_exit = True

        app = make_app(engine, on_stop)
        uv_config = uvicorn.Config(
            app,
            http=_protocol_class(),
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(uv_config)
        announce(f"secondme daemon {__version__} (pid {os.getpid()}) serving {socket_path}")

        async def main() -> None:
            loop = asyncio.get_running_loop()
            warm = loop.run_in_executor(None, engine.warm_up)
            idle = asyncio.create_task(_idle_checks(engine))
            try:
                await server.serve(sockets=[sock])
            finally:
                idle.cancel()
                with contextlib.suppress(Exception):
                    await warm

        try:
            asyncio.run(main())
        finally:
            engine.close()
            sock.close()
    finally:
        with contextlib.suppress(OSError):
            if read_pid() == os.getpid():
                socket_path.unlink(missing_ok=True)
                paths.daemon_pid().unlink()
        lock.release()
    announce("secondme daemon stopped")


async def _idle_checks(engine: Engine) -> None:
    while True:
        await asyncio.sleep(IDLE_CHECK_S)
        engine.check_idle()


# -- managing it from the outside ----------------------------------------------------------------


def read_pid() -> int | None:
    """The pid in the pid file, if any."""
    try:
        return int(paths.daemon_pid().read_text().strip())
    except (OSError, ValueError):
        return None


def lock_held() -> bool:
    """True while some process holds this home's daemon lock."""
    from filelock import FileLock, Timeout

    if not lock_path().exists():
        return False
    lock = FileLock(str(lock_path()))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def process_status() -> dict[str, Any]:
    """Whether a daemon process runs for this home (by its lock and pid), without talking to it.

    A daemon killed with ``kill -9`` leaves its pid file and socket behind but not its lock:
    those leftovers are reported as stale and removed.
    """
    import psutil

    pid = read_pid()
    running = lock_held() and pid is not None and psutil.pid_exists(pid)
    stale: list[str] = []
    if not running and not lock_held():
        for leftover in (paths.daemon_pid(), paths.daemon_socket()):
            if leftover.exists():
                with contextlib.suppress(OSError):
                    leftover.unlink()
                    stale.append(leftover.name)
    return {"running": running, "pid": pid if running else None, "stale_removed": stale}


def spawn() -> subprocess.Popen[bytes]:
    """Start `mem daemon run` in the background, its output going to the daemon's log."""
    check_socket_path(paths.daemon_socket())
    with open(log_path(), "a") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "secondme", "daemon", "run"],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )


def start_background(wait_s: float = 120.0) -> dict[str, Any]:
    """Start `mem daemon run` in the background and wait until it answers; returns its hello."""
    from secondme.client import DaemonClient, DaemonUnavailable

    state = process_status()
    if state["running"]:
        raise SecondmeError(f"a daemon is already running (pid {state['pid']})")
    proc = spawn()
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SecondmeError(
                f"the daemon exited at once (code {proc.returncode})", hint=f"see {log_path()}"
            )
        try:
            return DaemonClient.connect(timeout=1.0).hello
        except DaemonUnavailable:
            time.sleep(0.05)
    raise SecondmeError(f"the daemon did not answer within {wait_s:.0f} s", hint=f"see {log_path()}")


def stop(timeout: float = 30.0) -> int | None:
    """Stop the daemon of this home; returns its pid, or None when none ran."""
    import psutil

    from secondme.client import DaemonClient, DaemonUnavailable

    state = process_status()
    pid = state["pid"]
    if pid is None:
        return None
    with contextlib.suppress(DaemonUnavailable, SecondmeError):
        DaemonClient.connect(timeout=1.0).stop()
    try:
        process = psutil.Process(pid)
        try:
            process.wait(timeout=timeout)
        except psutil.TimeoutExpired:
            process.terminate()
            try:
                process.wait(timeout=5)
            except psutil.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
    except psutil.NoSuchProcess:
        pass
    process_status()  # removes what a killed daemon left behind
    return pid

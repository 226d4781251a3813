"""`mem daemon`: real daemon processes, real sockets, the real `mem` command on both sides.

No test asserts on time: waits poll for a state (a file appears, a process answers) and only
give up after a generous deadline.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BOOKS, book_note, run_mem

# The tiny model keeps the daemon's model load cheap; answers only need to be plumbing.
CONFIG = '[llm]\nmodel = "smollm2-135m"\nmax_tokens = 24\n'


def mem_json(*args: str, env: dict[str, str] | None = None):
    result = run_mem(*args, "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def wait_for(check, what: str, deadline_s: float = 240.0):
    """Poll ``check`` until it returns something true (a generous deadline, not a timing test)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def configured(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(CONFIG)
    return home


@pytest.fixture
def daemon(configured: Path):
    """Start `mem daemon` in the background (env extras via ``daemon.start(env)``); stop it after."""
    started: list[int] = []

    class Control:
        def start(self, env: dict[str, str] | None = None) -> int:
            info = mem_json("daemon", "start", env=env)
            started.append(info["pid"])
            return int(info["pid"])

        def pid(self) -> int:
            return started[-1]

    yield Control()
    run_mem("daemon", "stop")
    for pid in started:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def without_daemon(*args: str):
    return mem_json(*args, env={"SECONDME_NO_DAEMON": "1"})


def comparable(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k != "timings"}


def test_commands_give_the_same_json_with_and_without_the_daemon(daemon, configured):
    for text, extra in (
        ("My dentist is Dr. Ana Costa", ["--type", "semantic"]),
        ("Moved to Lisbon", ["--at", "2024-03-02"]),
        ("The spare house key is under the blue flower pot", []),
    ):
        without_daemon("add", text, *extra)
    without_daemon("core", "set", "name", "My name is Rui")
    reads = [
        ("search", "dentist"),
        ("search", "Lisbon", "--mode", "keyword"),
        ("list",),
        ("list", "--type", "episodic", "--all"),
        ("show", "2"),
        ("core",),
        ("doctor",),
        ("status",),
        ("forget", "--query", "Lisbon", "--dry-run"),
        ("forget", "--since", "2024-03-01", "--until", "2024-03-31", "--dry-run"),
        ("add", "Moved to Lisbon", "--at", "2024-03-02"),
    ]
    # An answer counts an access to the memories it cites: ask first, then read both ways.
    asked_before = without_daemon("ask", "Where is the spare key?")
    before = [without_daemon(*args) for args in reads]
    daemon.start()
    after = [mem_json(*args) for args in reads]
    assert after == before
    asked_after = mem_json("ask", "Where is the spare key?")
    assert asked_after["model"] == "smollm2-135m"
    assert comparable(asked_after) == comparable(asked_before)
    # An answer does not depend on what the daemon was asked before it.
    mem_json("ask", "Who is my dentist?")
    assert comparable(mem_json("ask", "Where is the spare key?")) == comparable(asked_before)
    # Writes through the daemon land in the same database the in-process commands read.
    added = mem_json("add", "Pedro's birthday is in June")
    assert added == {"id": 5, "type": added["type"], "created": True, "ids": [5]}
    assert without_daemon("show", "5")["text"] == "Pedro's birthday is in June"
    assert mem_json("search", "birthday")[0]["id"] == 5
    edited = mem_json("edit", "5", "--text", "Pedro's birthday is on 3 June")
    shown = without_daemon("show", "5")
    assert shown.pop("history")[0]["snapshot"]["text"] == "Pedro's birthday is in June"
    assert edited == shown and edited["text"] == "Pedro's birthday is on 3 June"
    assert mem_json("forget", "5") == {"forgotten": [5], "not_found": []}
    mem_json("add", "Pedro's birthday cake came from the bakery on Rua Augusta")
    assert mem_json("forget", "--query", "bakery", "--yes") == {"forgotten": [6], "not_found": []}
    assert without_daemon("forget", "--query", "bakery", "--dry-run")["would_forget"] == []
    assert without_daemon("doctor")["healthy"] is True
    # Errors too: the same line and exit code.
    for args in (("show", "99"), ("edit", "99", "--text", "x"), ("forget", "99")):
        local = run_mem(*args, env={"SECONDME_NO_DAEMON": "1"})
        served = run_mem(*args)
        assert (served.returncode, served.stderr) == (local.returncode, local.stderr) != (0, "")


def test_ask_shows_the_memories_found_before_the_answer(daemon, configured):
    run_mem("add", "The wifi router is in the hallway cupboard", env={"SECONDME_NO_DAEMON": "1"})
    for env in ({"SECONDME_NO_DAEMON": "1"}, None):
        if env is None:
            daemon.start()
        result = run_mem("ask", "Where is the wifi router?", env=env)
        assert result.returncode == 0, result.stderr
        out = result.stdout
        assert out.startswith("Found 1 memory:\n  [1] ")
        assert "hallway cupboard" in out.splitlines()[1]
        assert out.splitlines()[2] == ""  # the answer streams in under the memories


NO_MODEL_PLUGIN = """
from pathlib import Path
from secondme.hookspecs import hookimpl

@hookimpl
def register_llms(register):
    def factory(settings):
        (Path(__file__).parent / "loaded").write_text("the model was loaded")
        raise RuntimeError("not for this question")
    register("marker", factory)
"""


def test_a_question_with_nothing_to_go_on_never_loads_the_model(configured):
    (configured / "plugins").mkdir()
    (configured / "plugins" / "marker.py").write_text(NO_MODEL_PLUGIN)
    (configured / "config.toml").write_text('[llm]\nmodel = "marker"\n')
    run_mem("add", "Bought a new bicycle", env={"SECONDME_NO_DAEMON": "1"})
    answer = mem_json("ask", "What is my blood type?", env={"SECONDME_NO_DAEMON": "1"})
    assert answer["abstained"] is True and answer["answer"] == "I don't know."
    assert not (configured / "plugins" / "loaded").exists()


def test_the_socket_is_private_and_the_daemon_is_single(daemon, configured):
    daemon.start()
    sock = configured / "daemon.sock"
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(configured.stat().st_mode) == 0o700
    second = run_mem("daemon", "start")
    assert second.returncode != 0
    assert second.stderr.startswith("error: a daemon is already running") and "Traceback" not in second.stderr
    status = mem_json("daemon", "status")
    assert status["running"] and status["answering"] and status["pid"] == daemon.pid()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to connect as another user")
def test_other_users_are_refused(daemon, configured):
    daemon.start()
    # The child enters the home as root, then becomes nobody: the folders above stay out of it.
    code = (
        "import os, socket, sys\n"
        "os.chdir(sys.argv[1]); os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX); s.connect('daemon.sock')\n"
        "try:\n"
        "    s.sendall(b'GET /v1/hello HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
        "    print(s.recv(100) or 'closed')\n"
        # The daemon closes another user's connection as soon as it is made: the request may
        # meet the closed socket (a broken pipe) or the read a reset, whichever comes first.
        "except (BrokenPipeError, ConnectionResetError):\n"
        "    print('closed')\n"
    )
    # The socket file is 0600 and its folder 0700: the other user cannot even reach it.
    result = subprocess.run([sys.executable, "-c", code, str(configured)], capture_output=True, text=True)
    assert result.returncode != 0 and "PermissionError" in result.stderr
    # Past the file modes, the peer credentials still refuse it.
    os.chmod(configured, 0o755)
    os.chmod(configured / "daemon.sock", 0o666)
    result = subprocess.run([sys.executable, "-c", code, str(configured)], capture_output=True, text=True)
    assert result.stdout.strip() == "closed", result.stderr


HANG_PLUGIN = """
import os, time
from pathlib import Path
import numpy as np
from secondme.hookspecs import hookimpl

def hang_here(what):
    # Only inside the daemon (started with SECONDME_TEST_HANG): say so, then wait to be killed
    # or released.
    marker = os.environ.get("SECONDME_TEST_HANG")
    if marker:
        # Written whole then renamed, so a reader never sees the file empty.
        Path(marker + ".tmp").write_text(what)
        os.replace(marker + ".tmp", marker)
        release = Path(marker + ".release")
        while not release.exists():
            time.sleep(0.05)

class Letters:
    name = "letters"
    dim = 26
    def count_tokens(self, text):
        # Asked only for a text too long to be sure it fits, before anything is stored.
        if "HANG" in text:
            hang_here("splitting")
        return len(text.split())
    def embed(self, texts):
        if any("HANG" in t for t in texts):
            hang_here("embedding")
        out = np.zeros((len(texts), 26), dtype="float32")
        for row, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[row, ord(ch) - 97] += 1
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-9, None)

class Echo:
    name = "echo"
    def chat(self, messages, max_tokens, stop=None):
        yield "The key is under the pot "
        hang_here("answering")
        yield "[1]."

@hookimpl
def register_embedders(register):
    register("letters", lambda settings: Letters())

@hookimpl
def register_llms(register):
    register("echo", lambda settings: Echo())
"""


@pytest.fixture
def hanging(configured: Path) -> Path:
    (configured / "plugins").mkdir()
    (configured / "plugins" / "hang.py").write_text(HANG_PLUGIN)
    (configured / "config.toml").write_text('[llm]\nmodel = "echo"\n[embedder]\nmodel = "letters"\n')
    return configured / "hang-marker"


def test_kill_9_during_an_add_loses_nothing(daemon, hanging):
    mem_json("add", "The spare house key is under the blue flower pot", env={"SECONDME_NO_DAEMON": "1"})
    pid = daemon.start(env={"SECONDME_TEST_HANG": str(hanging)})
    # Long enough to be measured before it is stored: the daemon hangs before its transaction.
    text = "HANG: the bike lock code is in the drawer. " + "Really. " * 40
    client = subprocess.Popen(
        [sys.executable, "-m", "secondme", "add", text, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: hanging.exists(), "the daemon to be inside the add")
    assert hanging.read_text() == "splitting"  # nothing stored yet
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate(timeout=300)
    assert client.returncode == 0, err
    assert err.startswith("warning: the daemon stopped during an add; doing it in-process")
    assert json.loads(out)["id"] == 2  # stored once, by the retry
    assert [m["id"] for m in without_daemon("list")] == [2, 1]
    assert without_daemon("doctor")["healthy"] is True
    assert without_daemon("search", "bike lock")[0]["id"] == 2


def test_an_add_is_answered_before_its_vector_and_a_kill_then_loses_nothing(daemon, hanging):
    mem_json("add", "The spare house key is under the blue flower pot", env={"SECONDME_NO_DAEMON": "1"})
    pid = daemon.start(env={"SECONDME_TEST_HANG": str(hanging)})
    # The embedder hangs on this text, on the daemon's indexing thread: the add is answered anyway.
    added = run_mem("add", "HANG: the bike lock code is in the drawer", "--json")
    assert added.returncode == 0 and added.stderr == ""
    assert json.loads(added.stdout)["id"] == 2
    wait_for(lambda: hanging.exists(), "the daemon to be indexing")
    assert hanging.read_text() == "embedding"
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), "the daemon to die")
    assert [m["id"] for m in without_daemon("list")] == [2, 1]
    report = without_daemon("doctor")
    assert (report["healthy"], report["waiting"], report["missing"]) == (True, [2], [])
    assert without_daemon("search", "bike lock", "--mode", "vector")[0]["id"] == 2  # a search catches up
    assert without_daemon("doctor")["waiting"] == []


def test_kill_9_during_an_answer_loses_nothing(daemon, hanging):
    mem_json("add", "The spare house key is under the blue flower pot", env={"SECONDME_NO_DAEMON": "1"})
    before = without_daemon("list")
    pid = daemon.start(env={"SECONDME_TEST_HANG": str(hanging)})
    client = subprocess.Popen(
        [sys.executable, "-m", "secondme", "ask", "Where is the spare key?"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: hanging.exists() and hanging.read_text() == "answering", "the daemon to be answering")
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate(timeout=300)
    assert client.returncode == 0, err
    assert "warning: the daemon stopped during an answer; doing it in-process" in err
    assert out.count("Found 1 memory:") == 2  # once from the daemon, once in-process
    assert "The key is under the pot [1]." in out and "[1]" in out.split("Sources:")[1]
    after = without_daemon("list")
    assert [(m["id"], m["text"]) for m in after] == [(m["id"], m["text"]) for m in before]
    status = mem_json("daemon", "status")
    assert status["running"] is False


def test_two_clients_ask_at_once_and_both_get_answers(daemon, configured):
    without_daemon("add", "The spare house key is under the blue flower pot")
    without_daemon("add", "The wifi router is in the hallway cupboard")
    daemon.start()
    questions = ["Where is the spare key?", "Where is the wifi router?"]
    clients = [
        subprocess.Popen(
            [sys.executable, "-m", "secondme", "ask", q, "--json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for q in questions
    ]
    # A search while both answers are queued or running is served too.
    assert mem_json("search", "router")[0]["id"] == 2
    for question, client in zip(questions, clients, strict=True):
        out, err = client.communicate(timeout=600)
        assert client.returncode == 0, err
        assert err == ""  # answered by the daemon, no fallback
        answer = json.loads(out)
        assert answer["question"] == question and answer["model"] == "smollm2-135m"
        assert answer["answer"].strip()


def test_a_killed_daemon_leaves_nothing_that_stops_the_next_one(daemon, configured):
    without_daemon("add", "My dentist is Dr. Ana Costa")
    pid = daemon.start()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), "the daemon to die")
    assert (configured / "daemon.sock").exists() and (configured / "daemon.pid").exists()
    result = run_mem("search", "dentist", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0]["id"] == 1
    assert result.stderr.startswith("warning: the daemon is not running")
    assert len(result.stderr.splitlines()) == 1
    assert not (configured / "daemon.sock").exists() and not (configured / "daemon.pid").exists()
    # A stale pid file alone (the socket already gone) is cleaned up by status.
    (configured / "daemon.pid").write_text(str(pid))
    status = mem_json("daemon", "status")
    assert status["running"] is False and status["stale_removed"] == ["daemon.pid"]
    daemon.start()
    assert mem_json("search", "dentist")[0]["id"] == 1
    assert mem_json("daemon", "stop")["stopped"] is True
    assert mem_json("daemon", "stop") == {"stopped": False, "pid": None}


def test_a_daemon_of_another_protocol_is_reported_and_left_alone(daemon, configured, monkeypatch, capsys):
    from secondme import wire
    from secondme.cli.core import open_core
    from secondme.service import Secondme

    daemon.start()
    monkeypatch.setattr(wire, "PROTOCOL", wire.PROTOCOL + 1)
    core = open_core()
    assert isinstance(core, Secondme)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("warning: the running daemon") and "mem daemon stop && mem daemon start" in err
    assert alive(daemon.pid())


def test_the_daemon_hosts_the_folder_watcher(daemon, configured, tmp_path):
    (configured / "config.toml").write_text(CONFIG + "[ingest]\ndebounce_s = 0.3\n")
    folder = tmp_path / "inbox"
    folder.mkdir()
    pid = daemon.start()
    started = mem_json("watch", "start", str(folder))
    assert started["started"] is True and started["pid"] == pid
    state = mem_json("watch", "status")
    assert (state["running"], state["pid"]) == (True, pid)
    assert mem_json("daemon", "status")["watching"] is True
    again = run_mem("watch", "start", str(folder))
    assert again.returncode != 0 and again.stderr.startswith("error: the daemon already runs a watcher")

    note = folder / "kayak.md"
    note.write_text("The note about the red kayak in the garage.\n")

    def searchable() -> bool:
        return any(h["source_ref"].startswith(str(note.resolve())) for h in mem_json("search", "red kayak"))

    wait_for(searchable, "the note to be ingested by the daemon's watcher")
    assert mem_json("watch", "stop") == {"stopped": True, "pid": pid}
    assert mem_json("watch", "status")["running"] is False
    assert alive(pid) and mem_json("daemon", "status")["watching"] is False


def test_the_answer_model_is_unloaded_when_idle_and_reloaded_for_a_question(daemon, configured):
    (configured / "config.toml").write_text(CONFIG + "[daemon]\nidle_unload_s = 1\n")
    without_daemon("add", "The spare house key is under the blue flower pot")
    daemon.start()
    log = configured / "logs" / "daemon.log"
    wait_for(lambda: "answer model unloaded after 1 s idle" in log.read_text(), "the idle model unloaded")
    assert log.read_text().count("answer model smollm2-135m loaded") == 1
    answer = mem_json("ask", "Where is the spare key?")
    assert answer["model"] == "smollm2-135m" and answer["answer"].strip()
    assert log.read_text().count("answer model smollm2-135m loaded") == 2


HEAVY = ("chromadb", "llama_cpp", "onnxruntime", "numpy", "sqlite_utils", "starlette", "uvicorn")


def test_commands_served_by_the_daemon_import_nothing_heavy(daemon, configured):
    without_daemon("add", "My dentist is Dr. Ana Costa")
    daemon.start()
    for args in (
        ["search", "dentist"],
        ["add", "Bought a new bicycle"],
        ["list"],
        ["show", "1"],
        ["status"],
        ["forget", "--query", "bicycle", "--dry-run"],
    ):
        code = (
            "import sys, runpy\n"
            f"sys.argv = ['mem', *{args!r}, '--json']\n"
            "try:\n"
            "    runpy.run_module('secondme', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    assert not exit.code, exit.code\n"
            f"print('LOADED:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip().splitlines()[-1] == "LOADED:", args


def test_autostart_starts_the_daemon_for_the_next_commands(daemon, configured):
    (configured / "config.toml").write_text(CONFIG + "[daemon]\nautostart = true\n")
    result = run_mem("add", "My dentist is Dr. Ana Costa", "--json")
    assert result.returncode == 0, result.stderr
    status = wait_for(
        lambda: (s := mem_json("daemon", "status"))["answering"] and s, "the daemon to be started"
    )
    try:
        assert mem_json("search", "dentist")[0]["id"] == 1
    finally:
        assert mem_json("daemon", "stop") == {"stopped": True, "pid": status["pid"]}


def test_a_write_the_index_missed_is_indexed_when_the_daemon_starts(daemon, hanging):
    pid = daemon.start(env={"SECONDME_TEST_HANG": str(hanging)})
    client = subprocess.Popen(
        [sys.executable, "-m", "secondme", "add", "HANG: the bike lock code is in the drawer", "--json"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: hanging.exists(), "the daemon to be inside the add")
    client.kill()  # the client cannot retry: only the database has the memory now
    client.wait()
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not alive(pid), "the daemon to die")
    assert [m["id"] for m in without_daemon("list")] == [1]
    hanging.unlink()
    daemon.start()
    log = hanging.parent / "logs" / "daemon.log"
    wait_for(lambda: "indexed 1 memories that had no vector yet" in log.read_text(), "the catch-up")
    assert mem_json("doctor")["healthy"] is True
    assert mem_json("search", "bike lock", "--mode", "vector")[0]["id"] == 1


def test_searches_and_adds_are_not_blocked_behind_an_answer(daemon, hanging):
    without_daemon("add", "The spare house key is under the blue flower pot")
    daemon.start(env={"SECONDME_TEST_HANG": str(hanging)})
    stuck = subprocess.Popen(
        [sys.executable, "-m", "secondme", "ask", "Where is the spare key?"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: hanging.exists() and hanging.read_text() == "answering", "an answer in progress")
    # The generation cannot finish until released: these would never return if they waited for it.
    searched = run_mem("search", "spare key", "--json")
    assert searched.returncode == 0 and searched.stderr == ""
    assert json.loads(searched.stdout)[0]["id"] == 1
    added = run_mem("add", "The wifi router is in the hallway cupboard", "--json")
    assert added.returncode == 0 and added.stderr == ""
    assert json.loads(added.stdout)["created"] is True
    # The asker leaves; once released, its answer is dropped and the next question is served.
    stuck.kill()
    stuck.wait()
    Path(str(hanging) + ".release").write_text("go")
    answered = run_mem("ask", "Where is the spare key?", "--json")
    assert answered.returncode == 0 and answered.stderr == ""
    assert json.loads(answered.stdout)["answer"] == "The key is under the pot [1]."


def test_the_tui_uses_the_daemon_and_loads_no_model_itself(daemon, configured):
    from secondme.memory import NewMemory
    from secondme.tui.backend import Backend

    without_daemon("add", "My dentist is Dr. Ana Costa")
    daemon.start()
    backend = Backend()
    backend.warm_up()
    assert backend.search("dentist")[0].memory.id == 1
    memory, created = backend.add(NewMemory("Bought a new bicycle"))
    assert created and backend.memory(memory.id).text == "Bought a new bicycle"
    pieces: list[str] = []
    answer = backend.ask("Who is my dentist?", on_token=pieces.append)
    assert answer.model == "smollm2-135m" and "".join(pieces).strip() == answer.streamed
    # The ask panel's ctrl+r: the daemon reads more of the memories for a thorough question.
    for n, title in enumerate(BOOKS):
        backend.add(NewMemory(book_note(n, title)))
    question = "Which book did I read on the train?"

    def quoted(thorough: bool) -> int:
        answer = backend.ask(question, on_token=lambda piece: None, thorough=thorough)
        return sum(len(e.text()) for e in answer.excerpts)

    assert quoted(True) > quoted(False) > 0
    # Everything heavy happened in the daemon.
    assert backend.app._embedder is None and backend.llm is None


def test_mcp_tools_answer_the_same_through_the_daemon(daemon, configured, monkeypatch):
    """`mem mcp` serves through the daemon when one runs: the same tool results as in-process."""
    import anyio

    from secondme.client import DaemonClient
    from secondme.mcp import build_server
    from secondme.service import Secondme

    for text in ("My dentist is Dr. Ana Costa", "Moved to Lisbon", "Bought a blue notebook"):
        without_daemon("add", text, "--type", "semantic")
    without_daemon("core", "set", "name", "My name is Rui")
    calls = [
        ("search_memories", {"query": "dentist"}),
        ("recent_memories", {"limit": 2}),
        ("core_profile", {}),
        ("get_memory", {"id": 2}),
    ]

    def results(server) -> list:
        async def run() -> list:
            return [(await server.call_tool(name, args)).structured_content for name, args in calls]

        return anyio.run(run)

    local = results(build_server(core_factory=Secondme, allow_writes=False))
    daemon.start()
    through = results(build_server(core_factory=DaemonClient.connect, allow_writes=False))
    assert through == local
    assert [m["text"] for m in through[0]["memories"]][:1] == ["My dentist is Dr. Ana Costa"]


class PrimeRecorder:
    """Stands for the answer model: notes when it is primed and when it is asked."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def prime(self, messages: list[dict[str, str]]) -> None:
        self.calls.append("prime")

    def chat(self, messages: list[dict[str, str]], max_tokens: int = 0):
        self.calls.append("chat")
        yield "Under the blue flower pot [1]."


def test_the_daemon_primes_the_model_before_every_question(home):
    """Each question starts from the saved prefix, as in-process (the real model's side of this
    is `test_priming_again_starts_each_question_from_the_prefix_whatever_was_asked_before`)."""
    import threading

    from secondme.answer import prepare
    from secondme.daemon import Engine
    from secondme.memory import NewMemory

    engine = Engine()
    try:
        core = engine.core()
        core.add(NewMemory("The spare house key is under the blue flower pot"))
        recorder = PrimeRecorder()
        engine._llm = recorder
        for question in ("Where is the spare key?", "Where is the flower pot?", "Where is the spare key?"):
            engine.generate(prepare(core, question), lambda piece: None, threading.Event())
        assert recorder.calls == ["prime", "chat"] * 3
    finally:
        engine.close()


def test_a_thorough_answer_reads_more_of_the_memories_with_or_without_the_daemon(daemon, configured):
    for n, title in enumerate(BOOKS[:7]):
        without_daemon("add", book_note(n, title), "--at", f"2025-0{n + 1}-10")
    question = "Which book did I read on the train?"
    usual = without_daemon("ask", question)
    thorough = without_daemon("ask", "--thorough", question)

    def quoted(answer: dict) -> int:
        return sum(len(e["text"]) for e in answer["evidence"])

    assert quoted(thorough) > quoted(usual) > 0
    daemon.start()
    assert comparable(mem_json("ask", "--thorough", question)) == comparable(thorough)
    assert comparable(mem_json("ask", question)) == comparable(usual)

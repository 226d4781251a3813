"""Plugin hooks: documented, and a plugins directory can add an embedder."""

import inspect
import json

from secondme import config, hookspecs, plugins
from secondme.memory import NewMemory
from secondme.service import Secondme


def test_every_hook_is_documented():
    hooks = [f for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if not name.startswith("_")]
    assert {f.__name__ for f in hooks} >= {"register_embedders", "register_llms", "memory_added"}
    for hook in hooks:
        assert hook.__doc__ and len(hook.__doc__.split()) > 5, hook.__name__


PLUGIN = """
import numpy as np
from secondme.hookspecs import hookimpl

ADDED = []

class Letters:
    name = "letters"
    dim = 26
    def embed(self, texts):
        out = np.zeros((len(texts), 26), dtype="float32")
        for row, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[row, ord(ch) - 97] += 1
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-9, None)

@hookimpl
def register_embedders(register):
    register("letters", lambda settings: Letters())

@hookimpl
def memory_added(memory):
    ADDED.append(memory.id)
"""


def test_plugins_dir_embedder_and_events(home, monkeypatch):
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "letters.py").write_text(PLUGIN)
    plugins.manager.cache_clear()
    monkeypatch.setenv("SECONDME_EMBEDDER_MODEL", "letters")
    app = Secondme(config.load())
    app.add_many([NewMemory("aaaa bbb"), NewMemory("zzzz yyy")])
    assert app.embedder.name == "letters"
    assert [h.memory.id for h in app.search("zzz", mode="vector", k=1)] == [2]
    import sys

    assert sys.modules["secondme_plugin_letters"].ADDED == [1, 2]


def test_example_plugin_logs_added_memories(monkeypatch):
    from tests.conftest import REPO

    monkeypatch.setenv("SECONDME_PLUGINS_DIR", str(REPO / "plugins"))
    plugins.manager.cache_clear()
    Secondme().add(NewMemory("Planted tomatoes on the balcony today"))
    from secondme import paths

    line = (paths.logs_dir() / "added.log").read_text().strip()
    assert line.endswith("\t1\tsemantic\tPlanted tomatoes on the balcony today")


# -- where plugins come from ----------------------------------------------------------------


def make_dist(site, dist: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution (dist-info) that declares ``secondme`` entry points."""
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[secondme]\n{lines}\n")


def test_example_plugins_load_through_entry_points(tmp_path, monkeypatch):
    from tests.conftest import REPO

    site = tmp_path / "site"
    make_dist(site, "secondme_examples", {"shell": "shell_history", "browser": "browser_history"})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(REPO / "plugins"))
    plugins.manager.cache_clear()
    loaded = {p.name: p for p in plugins.manager().loaded()}
    assert set(loaded) == {"shell", "browser"}
    assert loaded["shell"].hooks == ["register_sources"]
    assert "secondme_examples 1.0" in loaded["shell"].origin
    names = [s.name for s in plugins.plugin_sources()]
    assert names == ["browser-history", "shell-history"] or names == ["shell-history", "browser-history"]
    history = tmp_path / ".bash_history"
    history.write_text("#1709388000\nmake deploy\n")
    from secondme.ingest.pipeline import Ingestor

    summary = Ingestor(Secondme()).ingest_paths([history])
    assert summary.memories_added == 1


def test_load_plugins_selects_and_empty_loads_none(tmp_path, monkeypatch):
    from tests.conftest import REPO

    monkeypatch.setenv("SECONDME_PLUGINS_DIR", str(REPO / "plugins"))
    plugins.manager.cache_clear()
    assert {p.name for p in plugins.manager().loaded()} == {"added_log", "browser_history", "shell_history"}
    monkeypatch.setenv("SECONDME_LOAD_PLUGINS", "added_log, nope")
    plugins.manager.cache_clear()
    loaded = {p.name: p for p in plugins.manager().loaded()}
    assert set(loaded) == {"added_log", "nope"}
    assert loaded["added_log"].active and not loaded["nope"].active
    assert "not found" in loaded["nope"].error
    monkeypatch.setenv("SECONDME_LOAD_PLUGINS", "")
    plugins.manager.cache_clear()
    assert plugins.manager().loaded() == []


def test_plugin_folders_from_config_toml(home, tmp_path):
    folder = tmp_path / "mine"
    (folder / "packaged").mkdir(parents=True)
    (folder / "packaged" / "__init__.py").write_text(
        "from secondme.hookspecs import hookimpl\n\n@hookimpl\ndef memory_forgotten(memory_id):\n    pass\n"
    )
    (folder / "_private.py").write_text("raise RuntimeError('never loaded')\n")
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'[plugins]\ndirs = ["{folder}"]\n')
    plugins.manager.cache_clear()
    loaded = plugins.manager().loaded()
    assert [(p.name, p.hooks, p.active) for p in loaded] == [("packaged", ["memory_forgotten"], True)]


# -- broken plugins -------------------------------------------------------------------------

BROKEN_IMPORT = "import this_module_does_not_exist\n"

RAISES = """
from secondme.hookspecs import hookimpl

CALLS = []

@hookimpl
def memory_added(memory):
    CALLS.append(memory.id)
    raise KeyError("city")
"""

COUNTS = """
from secondme.hookspecs import hookimpl

SEEN = []

@hookimpl
def memory_added(memory):
    SEEN.append(memory.id)
"""


def test_a_broken_plugin_does_not_take_the_app_down(home, capfd):
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "broken.py").write_text(BROKEN_IMPORT)
    (home / "plugins" / "raises.py").write_text(RAISES)
    (home / "plugins" / "counts.py").write_text(COUNTS)
    plugins.manager.cache_clear()
    app = Secondme()
    for text in ("first memory here", "second memory here", "third memory here"):
        app.add(NewMemory(text))
    import sys

    assert sys.modules["secondme_plugin_raises"].CALLS == [1]  # called once, then disabled
    assert sys.modules["secondme_plugin_counts"].SEEN == [1, 2, 3]  # the others carry on
    err = capfd.readouterr().err.strip().splitlines()
    assert err == [
        "warning: plugin broken disabled: failed to load: "
        "ModuleNotFoundError: No module named 'this_module_does_not_exist'",
        "warning: plugin raises disabled: memory_added raised KeyError: 'city'",
    ]
    state = {p.name: (p.active, p.hooks) for p in plugins.manager().loaded()}
    assert state == {
        "broken": (False, []),
        "counts": (True, ["memory_added"]),
        "raises": (False, ["memory_added"]),
    }
    assert [h.memory.text for h in app.search("second", mode="keyword")] == ["second memory here"]


def test_mem_plugins_lists_what_is_loaded(home):
    from tests.conftest import run_mem

    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "broken.py").write_text(BROKEN_IMPORT)
    (home / "plugins" / "counts.py").write_text(COUNTS)
    (home / "plugins" / "badreg.py").write_text(
        "from secondme.hookspecs import hookimpl\n\n@hookimpl\ndef register_sources(register):\n"
        "    raise ValueError('no sources today')\n"
    )
    done = run_mem("plugins", "--json")
    assert done.returncode == 0, done.stderr
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    assert listed["counts"]["active"] and listed["counts"]["hooks"] == ["memory_added"]
    assert not listed["broken"]["active"] and "this_module_does_not_exist" in listed["broken"]["error"]
    assert listed["badreg"]["error"] == "register_sources raised ValueError: no sources today"
    text = run_mem("plugins")
    assert "counts  (active)" in text.stdout and "hooks: memory_added" in text.stdout
    assert "broken  (disabled: failed to load" in text.stdout


# -- the newer hooks ------------------------------------------------------------------------

COMMANDS = """
from secondme.hookspecs import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command()
    def hello(name: str):
        \"\"\"Say hello.\"\"\"
        print(f"hello {name}")
"""

CLASH = """
from secondme.hookspecs import hookimpl

@hookimpl
def register_commands(cli):
    @cli.command("search")
    def search(query: str):
        print("hijacked")
"""


def test_plugin_commands_and_clashes(home):
    from tests.conftest import run_mem

    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "greet.py").write_text(COMMANDS)
    (home / "plugins" / "clash.py").write_text(CLASH)
    done = run_mem("hello", "Ana")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "hello Ana\n"
    assert "plugin clash disabled: register_commands: the command name search is already taken" in done.stderr
    searched = run_mem("search", "anything")
    assert "hijacked" not in searched.stdout and searched.returncode == 0


EXPORTER = """
import csv
from secondme.hookspecs import hookimpl

def write_csv(export, path):
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "type", "text"])
        for record in export.records():
            if record["record"] == "memory":
                m = record["memory"]
                out.writerow([m["id"], m["type"], m["text"]])

@hookimpl
def register_exporters(register):
    register("csv", write_csv)
    register("jsonl", lambda export, path: None)  # cannot replace a built-in format
"""

ECHO_LLM = """
from secondme.hookspecs import hookimpl

ANSWERS = []

class Echo:
    name = "echo"
    def chat(self, messages, max_tokens, stop=None):
        yield "Miso [1]"

@hookimpl
def register_llms(register):
    register("echo", lambda settings: Echo())

@hookimpl
def answer_given(question, answer):
    ANSWERS.append((question, answer.answer, answer.citations))
"""


def test_plugin_exporter(home, tmp_path):
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "csvexport.py").write_text(EXPORTER)
    plugins.manager.cache_clear()
    app = Secondme()
    app.add(NewMemory("My cat is called Miso"))
    app.export(tmp_path / "out.csv", format="csv")
    assert (tmp_path / "out.csv").read_text().splitlines() == [
        "id,type,text",
        "1,semantic,My cat is called Miso",
    ]
    app.export(tmp_path / "out.jsonl", format="jsonl")
    assert (tmp_path / "out.jsonl").read_text().startswith('{"format": "secondme-export"')


def test_answer_given_event_and_plugin_llm(home, monkeypatch):
    (home / "plugins").mkdir(parents=True)
    (home / "plugins" / "echo.py").write_text(ECHO_LLM)
    plugins.manager.cache_clear()
    monkeypatch.setenv("SECONDME_LLM_MODEL", "echo")
    app = Secondme(config.load())
    app.add(NewMemory("My cat is called Miso"))
    result = app.ask("What is my cat called?")
    import sys

    assert sys.modules["secondme_plugin_echo"].ANSWERS == [("What is my cat called?", "Miso [1]", [1])]
    assert result.model == "echo"


# -- the docs -------------------------------------------------------------------------------


def test_docs_give_every_hook_with_its_exact_signature():
    import re

    from tests.conftest import REPO

    docs = (REPO / "docs" / "plugins.md").read_text()
    documented = dict(re.findall(r"^### `(\w+)\(([^)]*)\)`$", docs, flags=re.MULTILINE))
    specs = {
        name: ", ".join(inspect.signature(f).parameters)
        for name, f in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(f, "secondme_spec")
    }
    assert len(specs) == 8
    assert documented == specs

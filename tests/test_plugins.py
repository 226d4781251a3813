"""Plugin hooks: documented, and a plugins directory can add an embedder."""

import inspect

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

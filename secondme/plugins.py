"""Loading plugins: installed packages (entry point group ``secondme``) and a plugins directory.

Plugins load on first use, never at import time, so ``mem --help`` stays fast.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import pluggy

from secondme import hookspecs, paths


def plugins_dirs() -> list[Path]:
    """Directories whose ``*.py`` files are loaded as plugins."""
    dirs = [paths.home() / "plugins"]
    extra = os.environ.get("SECONDME_PLUGINS_DIR")
    if extra:
        dirs.extend(Path(p) for p in extra.split(os.pathsep) if p)
    return dirs


@lru_cache(maxsize=1)
def manager() -> pluggy.PluginManager:
    """The plugin manager, with every plugin loaded."""
    pm = pluggy.PluginManager("secondme")
    pm.add_hookspecs(hookspecs)
    if not os.environ.get("SECONDME_NO_ENTRYPOINT_PLUGINS"):
        pm.load_setuptools_entrypoints("secondme")
    for directory in plugins_dirs():
        if not directory.is_dir():
            continue
        for file in sorted(directory.glob("*.py")):
            name = f"secondme_plugin_{file.stem}"
            spec = importlib.util.spec_from_file_location(name, file)
            if spec is None or spec.loader is None:
                continue
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            pm.register(module, name=name)
    return pm


def _collect(hook_name: str) -> dict[str, Callable[..., Any]]:
    found: dict[str, Callable[..., Any]] = {}

    def register(name: str, factory: Callable[..., Any]) -> None:
        found[name] = factory

    getattr(manager().hook, hook_name)(register=register)
    return found


def plugin_embedders() -> dict[str, Callable[..., Any]]:
    """Embedders registered by plugins, by name."""
    return _collect("register_embedders")


def plugin_llms() -> dict[str, Callable[..., Any]]:
    """Answer models registered by plugins, by name."""
    return _collect("register_llms")

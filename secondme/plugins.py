"""Loading plugins: installed packages (entry point group ``secondme``) and plugin folders.

Plugins load on first use, never at import time, so ``mem --help`` stays fast.  Where they come
from:

- installed packages that declare an entry point in the ``secondme`` group;
- ``*.py`` files and packages (folders with ``__init__.py``) in ``<home>/plugins``, in the folders
  that ``[plugins] dirs`` in ``config.toml`` names, and in ``SECONDME_PLUGINS_DIR`` (paths joined
  with the OS path separator).

``SECONDME_LOAD_PLUGINS`` chooses which load: a comma-separated list of plugin names (an entry
point's name, or a file's or folder's name without ``.py``); set but empty, none load.

A plugin that fails to import, or raises inside a hook, is reported once (one line on stderr,
and in ``mem plugins``) and disabled; the other plugins and secondme keep working.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pluggy

from secondme import hookspecs, paths

ENTRY_POINT_GROUP = "secondme"
SELECT_ENV = "SECONDME_LOAD_PLUGINS"
DIRS_ENV = "SECONDME_PLUGINS_DIR"


@dataclass
class PluginInfo:
    """One plugin: where it came from, which hooks it implements, and whether it is disabled."""

    name: str
    origin: str
    """``entry point <dist> <version>`` or the file or folder it was loaded from."""
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    """Why the plugin was disabled (it failed to import, or raised in a hook); None when active."""

    @property
    def active(self) -> bool:
        """True unless the plugin was disabled."""
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``mem plugins --json``)."""
        return {
            "name": self.name,
            "origin": self.origin,
            "hooks": self.hooks,
            "active": self.active,
            "error": self.error,
        }


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, plus what was loaded from where and what failed."""

    def __init__(self) -> None:
        super().__init__("secondme")
        self.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.quiet = False

    def report(self, info: PluginInfo, reason: str) -> None:
        """Disable a plugin and say so once: one line on stderr, and in ``mem plugins``."""
        if info.error is not None:
            return
        info.error = reason
        if self.get_plugin(info.name) is not None:
            self.unregister(name=info.name)
        if not self.quiet:
            print(f"warning: plugin {info.name} disabled: {reason}", file=sys.stderr)

    def add(self, name: str, origin: str, load: Callable[[], Any]) -> PluginInfo | None:
        """Import a plugin with ``load()`` and register it with its hooks guarded."""
        if name in self.infos:
            # The first plugin of a name wins; a second one is reported, not silently dropped.
            if not self.quiet:
                print(
                    f"warning: plugin {name} from {origin} skipped: a plugin of that name is already "
                    f"loaded from {self.infos[name].origin}",
                    file=sys.stderr,
                )
            return None
        info = PluginInfo(name=name, origin=origin)
        self.infos[name] = info
        try:
            plugin = load()
            guarded = self._guarded(plugin, info)
            self.register(guarded, name=name)
        except Exception as exc:  # an import error, a syntax error, a bad hook signature...
            self.report(info, f"failed to load: {_one_line(exc)}")
            return info
        info.hooks = sorted(caller.name for caller in self.get_hookcallers(guarded) or [])
        return info

    def _guarded(self, plugin: Any, info: PluginInfo) -> SimpleNamespace:
        """A stand-in for ``plugin`` whose hook implementations cannot raise into the caller."""
        guarded = SimpleNamespace(__name__=getattr(plugin, "__name__", info.name))
        for attr in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attr)
            if opts is None:
                continue
            function = getattr(plugin, attr)
            if opts.get("hookwrapper") or opts.get("wrapper"):
                setattr(guarded, attr, function)  # wrappers drive a generator: pass them through
            else:
                setattr(guarded, attr, self._guard(function, info, attr))
        return guarded

    def _guard(self, function: Callable[..., Any], info: PluginInfo, hook: str) -> Callable[..., Any]:
        manager = self

        @functools.wraps(function)  # keeps the signature (pluggy reads the argument names from it)
        def call(*args: Any, **kwargs: Any) -> Any:
            if info.error is not None:
                return None
            try:
                return function(*args, **kwargs)
            except Exception as exc:
                manager.report(info, f"{hook} raised {_one_line(exc)}")
                return None

        return call

    def loaded(self) -> list[PluginInfo]:
        """Every plugin that was found, active or disabled, in load order."""
        return list(self.infos.values())


def _one_line(exc: BaseException) -> str:
    return traceback.format_exception_only(type(exc), exc)[-1].strip().replace("\n", " ")


def selected() -> set[str] | None:
    """The plugin names ``SECONDME_LOAD_PLUGINS`` allows (None: every plugin)."""
    value = os.environ.get(SELECT_ENV)
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def plugins_dirs() -> list[Path]:
    """Folders whose ``*.py`` files and packages are loaded as plugins."""
    dirs = [paths.home() / "plugins"]
    try:
        from secondme import config

        dirs.extend(Path(p).expanduser() for p in config.load().plugins.dirs)
    except Exception as exc:  # a broken config.toml is reported by the command that reads it
        print(f"warning: plugin folders from config.toml not read: {_one_line(exc)}", file=sys.stderr)
    extra = os.environ.get(DIRS_ENV)
    if extra:
        dirs.extend(Path(p).expanduser() for p in extra.split(os.pathsep) if p)
    unique: list[Path] = []
    for directory in dirs:
        if directory not in unique:
            unique.append(directory)
    return unique


def _folder_plugins(directory: Path) -> Iterator[tuple[str, Path]]:
    if not directory.is_dir():
        return
    for entry in sorted(directory.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            yield entry.stem, entry
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            yield entry.name, entry / "__init__.py"


def _load_file(name: str, file: Path) -> Callable[[], ModuleType]:
    def load() -> ModuleType:
        module_name = f"secondme_plugin_{name}"
        search = [str(file.parent)] if file.name == "__init__.py" else None
        spec = importlib.util.spec_from_file_location(module_name, file, submodule_search_locations=search)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module

    return load


@lru_cache(maxsize=1)
def manager() -> PluginManager:
    """The plugin manager, with every selected plugin loaded."""
    from importlib.metadata import entry_points

    pm = PluginManager()
    wanted = selected()
    if wanted is not None and not wanted:
        return pm
    if not os.environ.get("SECONDME_NO_ENTRYPOINT_PLUGINS"):
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if wanted is None or ep.name in wanted:
                dist = f" ({ep.dist.name} {ep.dist.version})" if ep.dist is not None else ""
                pm.add(ep.name, f"entry point {ep.value}{dist}", ep.load)
    for directory in plugins_dirs():
        for name, file in _folder_plugins(directory):
            if wanted is None or name in wanted:
                pm.add(name, str(file.parent if file.name == "__init__.py" else file), _load_file(name, file))
    for name in sorted((wanted or set()) - set(pm.infos)):
        info = PluginInfo(name=name, origin=SELECT_ENV)
        pm.infos[name] = info
        pm.report(info, "not found (no entry point or plugin file of that name)")
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


def plugin_exporters() -> dict[str, Callable[..., Any]]:
    """Export formats registered by plugins, by name."""
    return _collect("register_exporters")


def plugin_sources() -> list[Any]:
    """Ingest sources registered by plugins."""
    found: list[Any] = []
    manager().hook.register_sources(register=found.append)
    return found


def add_commands(cli: Any) -> None:
    """Let every plugin add its commands to the Typer app ``cli``.

    A plugin whose command takes a name that is already used is disabled and its commands are
    removed, so that it can never replace a built-in command.
    """
    pm = manager()
    taken = command_names(cli)
    for impl in pm.hook.register_commands.get_hookimpls():
        info = pm.infos.get(impl.plugin_name)
        before_commands = len(cli.registered_commands)
        before_groups = len(cli.registered_groups)
        impl.function(cli=cli)
        new = [_command_name(c) for c in cli.registered_commands[before_commands:]]
        new += [g.name for g in cli.registered_groups[before_groups:] if g.name]
        clash = sorted(n for n in new if n in taken)
        if clash and info is not None:
            pm.report(info, f"register_commands: the command name {', '.join(clash)} is already taken")
        if info is not None and info.error is not None:
            # Nothing of a plugin that failed half-way stays behind.
            del cli.registered_commands[before_commands:]
            del cli.registered_groups[before_groups:]
            continue
        taken.update(new)


def command_names(cli: Any) -> set[str]:
    """The names of the commands and command groups of the Typer app ``cli``."""
    return {_command_name(c) for c in cli.registered_commands} | {
        g.name for g in cli.registered_groups if g.name
    }


def _command_name(command: Any) -> str:
    if command.name:
        return str(command.name)
    callback = command.callback
    return str(getattr(callback, "__name__", "")).lower().replace("_", "-")


def check() -> list[PluginInfo]:
    """Load every plugin and run its registration hooks once, so that a broken one shows up."""
    pm = manager()
    for hook in ("register_sources", "register_embedders", "register_llms", "register_exporters"):
        getattr(pm.hook, hook)(register=lambda *args, **kwargs: None)
    return pm.loaded()

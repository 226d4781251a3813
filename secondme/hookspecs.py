"""Plugin hook specifications.

Every hook is documented here and in ``docs/plugins.md``; a test checks that the two agree.
Registration hooks are called with a ``register`` callback; events are called after the fact and
their return value is ignored.  A hook that raises disables its plugin (see
:mod:`secondme.plugins`).
"""

from __future__ import annotations

from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("secondme")
hookimpl = pluggy.HookimplMarker("secondme")


@hookspec
def register_embedders(register: Any) -> None:
    """Register embedders: call ``register(name, factory)`` where ``factory(settings)`` returns an
    object with ``name``, ``dim`` and ``embed(texts) -> numpy array``.  Select one with
    ``[embedder] model = "name"``."""


@hookspec
def register_llms(register: Any) -> None:
    """Register answer models: call ``register(name, factory)`` where ``factory(settings)`` returns
    an object with ``name`` and ``chat(messages, max_tokens, stream)``.  Select one with
    ``[llm] model = "name"``."""


@hookspec
def register_sources(register: Any) -> None:
    """Register ingest sources: call ``register(source)`` with an object that has ``name``,
    ``can_parse(path, head) -> bool`` and ``parse(path) -> ParseResult`` (see
    ``secondme.ingest.sources.base``).  Plugin sources are tried before the built-in ones."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add commands to ``mem``: ``cli`` is the Typer app, so use ``@cli.command()`` or
    ``cli.add_typer(...)``.  A command may not take the name of an existing one (the plugin is
    disabled if it tries).  Import heavy modules inside the command, not at the top of the plugin."""


@hookspec
def register_exporters(register: Any) -> None:
    """Register export formats for ``mem export --format NAME``: call ``register(name, exporter)``
    where ``exporter(export, path)`` writes ``export`` (a :class:`secondme.transfer.Export`: its
    ``header`` dict and its ``records()``) to ``path``."""


@hookspec
def memory_added(memory: Any) -> None:
    """Event: a memory was stored (``memory`` is a :class:`secondme.memory.Memory`).  Called once
    per new memory, after it is committed; not called for text that was already known."""


@hookspec
def memory_forgotten(memory_id: int) -> None:
    """Event: the memory ``memory_id`` was removed for good (its row, history and vector are
    gone).  Called once per forgotten memory, after the removal is committed."""


@hookspec
def answer_given(question: str, answer: Any) -> None:
    """Event: a question was answered.  ``answer`` is a :class:`secondme.answer.Answer` (its
    ``answer`` text, ``citations`` ids, ``abstained`` flag, ``unsure`` flag and the ``hits`` it
    was built from)."""

"""Plugin hook specifications.  Every hook is documented; a test checks that."""

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
def memory_added(memory: Any) -> None:
    """Called after a memory was stored (``memory`` is a :class:`secondme.memory.Memory`)."""


@hookspec
def memory_forgotten(memory_id: int) -> None:
    """Called after a memory was removed for good."""

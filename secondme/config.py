"""Typed settings: defaults, then ``config.toml`` in the home, then ``SECONDME_*`` variables.

Every setting lives in a section: ``llm.model_path`` is ``[llm] model_path = ...`` in the file and
``SECONDME_LLM_MODEL_PATH`` in the environment.  ``config.example.toml`` documents them all.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from secondme import paths
from secondme.errors import InputError


@dataclass
class LLMSettings:
    """The answer model (llama.cpp)."""

    model: str = "qwen2.5-coder-1.5b"
    model_path: str = ""
    n_gpu_layers: int = 0
    n_threads: int = 0
    n_ctx: int = 4096
    max_tokens: int = 256
    temperature: float = 0.0
    seed: int = 0
    cache_prompt_prefix: bool = True


@dataclass
class EmbedderSettings:
    """The embedding model (ONNX)."""

    model: str = "all-minilm-l6-v2-int8"
    model_path: str = ""
    tokenizer_path: str = ""
    batch_size: int = 32
    max_tokens: int = 256
    n_threads: int = 0


@dataclass
class SearchSettings:
    """Hybrid retrieval."""

    k: int = 10
    candidates: int = 50
    rrf_k: int = 1
    vector_weight: float = 0.7
    owner_boost: float = 4.0
    owner_names: str = ""
    neighbour_weight: float = 0.5
    include_superseded: bool = False


@dataclass
class AnswerSettings:
    """Building the prompt for ``mem ask``."""

    k: int = 8
    max_memory_chars: int = 500
    context_tokens: int = 350
    list_context_tokens: int = 600
    thorough_context_tokens: int = 600
    min_score: float = 0.0
    check_attribution: bool = True
    check_details: bool = True
    unsure_below: float = 0.4


@dataclass
class IngestSettings:
    """Ingesting files and watching folders."""

    max_file_mb: float = 50.0
    on_delete: str = "keep"
    debounce_s: float = 1.0
    batch_files: int = 50


@dataclass
class VectorSettings:
    """Where the vector index lives: the data home (default) or a Chroma server."""

    url: str = ""
    collection: str = "memories"


@dataclass
class MCPSettings:
    """The MCP server (``mem mcp``)."""

    allow_writes: bool = False


@dataclass
class PluginSettings:
    """Where plugins load from, besides ``<home>/plugins`` and installed packages."""

    dirs: list[str] = field(default_factory=list)


@dataclass
class DaemonSettings:
    """The background process that keeps models loaded (``mem daemon``)."""

    autostart: bool = False
    idle_unload_s: float = 600.0
    connect_timeout_s: float = 0.5


@dataclass
class Settings:
    """All settings."""

    llm: LLMSettings = field(default_factory=LLMSettings)
    embedder: EmbedderSettings = field(default_factory=EmbedderSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    vector: VectorSettings = field(default_factory=VectorSettings)
    mcp: MCPSettings = field(default_factory=MCPSettings)
    plugins: PluginSettings = field(default_factory=PluginSettings)
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    watch: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Settings as nested dicts."""
        return asdict(self)


_SECTIONS = ("llm", "embedder", "search", "answer", "ingest", "vector", "mcp", "daemon")


def _coerce(value: Any, typ: type, where: str) -> Any:
    try:
        if typ is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        if typ is int:
            return int(value)
        if typ is float:
            return float(value)
        return str(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(1e400)
        raise InputError(
            f"setting {where} has the value {value!r}, which is not a {typ.__name__}",
            hint=f"fix it in {paths.config_path()} or the environment",
        ) from None


def load(path: Path | None = None) -> Settings:
    """Read the settings for the current home."""
    settings = Settings()
    path = path or paths.config_path()
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read {path}: {exc}", hint="fix the TOML syntax") from None
    for section in _SECTIONS:
        target = getattr(settings, section)
        types = {f.name: f.type for f in fields(target)}
        values = data.get(section, {})
        if not isinstance(values, dict):
            raise InputError(f"[{section}] in {path} must be a table")
        for key, value in values.items():
            if key not in types:
                raise InputError(
                    f"unknown setting {section}.{key} in {path}",
                    hint=f"known: {', '.join(sorted(types))}",
                )
            setattr(target, key, _coerce(value, _type_of(types[key]), f"{section}.{key}"))
        for key, typ in types.items():
            env = os.environ.get(f"SECONDME_{section.upper()}_{key.upper()}")
            if env is not None:
                setattr(target, key, _coerce(env, _type_of(typ), f"{section}.{key}"))
    settings.plugins.dirs = _plugin_dirs(data.get("plugins", {}), path)
    watch = data.get("watch", [])
    if not isinstance(watch, list):
        raise InputError(f"watch in {path} must be an array of tables ([[watch]])")
    settings.watch = [dict(w) for w in watch]
    for entry in settings.watch:
        if not isinstance(entry.get("path"), str):
            raise InputError(f'every [[watch]] in {path} needs a path = "..."')
        if entry.setdefault("kind", "auto") not in ("auto", "notes", "chats", "screenshots"):
            raise InputError(
                f"[[watch]] kind {entry['kind']!r} in {path} is not one of auto, notes, chats, screenshots"
            )
    if settings.ingest.on_delete not in ("keep", "forget"):
        raise InputError(f"ingest.on_delete must be keep or forget, not {settings.ingest.on_delete!r}")
    if not 0.0 <= settings.answer.unsure_below <= 1.0:
        raise InputError(
            f"answer.unsure_below must be a probability from 0 to 1, not {settings.answer.unsure_below!r}",
            hint=f"0 never flags an answer as unsure; the default is {AnswerSettings.unsure_below}",
        )
    return settings


def changed(settings: Settings) -> dict[str, Any]:
    """The settings that differ from the defaults, as ``{"answer.context_tokens": 200}``.

    A benchmark report records them: a run made with ``SECONDME_ANSWER_CONTEXT_TOKENS=200`` must
    not read as a run of the defaults.
    """
    defaults = Settings()
    found: dict[str, Any] = {}
    for section in _SECTIONS:
        ours, theirs = getattr(settings, section), getattr(defaults, section)
        for f in fields(ours):
            value = getattr(ours, f.name)
            if value != getattr(theirs, f.name):
                found[f"{section}.{f.name}"] = value
    return found


def _plugin_dirs(section: Any, path: Path) -> list[str]:
    """``[plugins] dirs = ["~/my-plugins", ...]``: folders whose plugins load too."""
    if not isinstance(section, dict):
        raise InputError(f"[plugins] in {path} must be a table")
    unknown = set(section) - {"dirs"}
    if unknown:
        raise InputError(f"unknown setting plugins.{sorted(unknown)[0]} in {path}", hint="known: dirs")
    dirs = section.get("dirs", [])
    if not isinstance(dirs, list) or not all(isinstance(d, str) for d in dirs):
        raise InputError(f"plugins.dirs in {path} must be a list of folder paths")
    return list(dirs)


def _type_of(annotation: Any) -> type:
    # Annotations are strings under `from __future__ import annotations`.
    name = annotation if isinstance(annotation, str) else annotation.__name__
    return {"int": int, "float": float, "bool": bool}.get(name, str)

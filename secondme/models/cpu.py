"""Which x86 instructions this CPU has, and the llama.cpp build that uses them.

``make setup`` runs this file as a script (standard library only, nothing of secondme imported)
to choose llama-cpp-python's CMake flags: the instruction sets this CPU reports, AVX-512 where it
has it. A CPU without AVX2 gets a build without it (llama.cpp's portable default assumes AVX2).

A wheel built that way stops with an illegal instruction on a CPU that lacks what it was built
for (a virtual environment copied to another machine, an image built elsewhere). Before loading
a model, :func:`check_build` finds that out in a child process, once per build, and says so in a
sentence instead of letting the process die.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")

#: llama.cpp's CMake switch -> the /proc/cpuinfo flags a CPU needs for it, in the order a build
#: line lists them. GGML_AVX512 compiles with -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw.
CMAKE_SWITCHES: dict[str, tuple[str, ...]] = {
    "GGML_SSE42": ("sse4_2",),
    "GGML_AVX": ("avx",),
    "GGML_AVX2": ("avx2",),
    "GGML_FMA": ("fma",),
    "GGML_F16C": ("f16c",),
    "GGML_BMI2": ("bmi2",),
    "GGML_AVX512": ("avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"),
    "GGML_AVX512_VBMI": ("avx512vbmi",),
    "GGML_AVX512_VNNI": ("avx512_vnni",),
}

#: Extensions of AVX-512 that only count with AVX-512 itself.
AVX512_EXTENSIONS = ("GGML_AVX512_VBMI", "GGML_AVX512_VNNI")

#: A feature llama.cpp's system information reports for its CPU build -> the cpuinfo flag.
BUILD_FEATURES: dict[str, str] = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX_VNNI": "avx_vnni",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str] | None:
    """The instruction-set flags of this machine's first x86 CPU; None where that is unknown."""
    if platform.machine().lower() not in {"x86_64", "amd64", "i686", "i386"}:
        return None
    flags = _first_field(cpuinfo, {"flags"})
    return None if flags is None else frozenset(flags.split())


def cpu_model(cpuinfo: Path = CPUINFO) -> str | None:
    """The CPU's model name as /proc/cpuinfo gives it ("Intel(R) Xeon(R) Processor"), or None."""
    return _first_field(cpuinfo, {"model name", "Model", "Hardware"})


def _first_field(cpuinfo: Path, names: set[str]) -> str | None:
    """The value of the first of ``names`` in a /proc/cpuinfo-style file; None if none is there."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in names and value.strip():
            return value.strip()
    return None


def loaded_build() -> dict[str, object] | None:
    """The llama.cpp build this process has loaded: version and CPU features; None if not loaded.

    Benchmark reports record it: the same code answers differently on another build (its
    kernels round differently) and at another speed.
    """
    llama_cpp = sys.modules.get("llama_cpp")
    if llama_cpp is None:
        return None
    info = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    return {"version": getattr(llama_cpp, "__version__", None), "features": build_features(info)}


def cmake_args(flags: Iterable[str] | None) -> list[str]:
    """llama.cpp's CMake flags for a CPU with ``flags``: each instruction set on or off.

    Unknown flags (another architecture, no /proc/cpuinfo) give llama.cpp's portable build.
    """
    args = ["-DGGML_NATIVE=OFF"]
    if flags is None:
        return args
    have = set(flags)
    on = {switch for switch, needs in CMAKE_SWITCHES.items() if have.issuperset(needs)}
    if "GGML_AVX512" not in on:
        on.difference_update(AVX512_EXTENSIONS)
    for switch in CMAKE_SWITCHES:
        args.append(f"-D{switch}={'ON' if switch in on else 'OFF'}")
    return args


def build_features(system_info: str) -> list[str]:
    """The CPU features a llama.cpp build was compiled for, from ``llama_print_system_info()``."""
    features = []
    for part in system_info.split("|"):
        name, _, value = part.partition("=")
        name = name.split(":")[-1].strip()
        if value.strip() == "1" and name in BUILD_FEATURES:
            features.append(name)
    return features


def missing(features: Iterable[str], flags: Iterable[str]) -> list[str]:
    """The build's features (llama.cpp's names) that a CPU with ``flags`` lacks."""
    have = set(flags)
    return [name for name in features if BUILD_FEATURES[name] not in have]


_PROBE = "import llama_cpp; print(llama_cpp.llama_print_system_info().decode('utf-8', 'replace'))"
REBUILD_HINT = "rebuild llama-cpp-python on this machine: make setup (it picks this CPU's instructions)"


def check_build(cache: Path, python: str = sys.executable) -> str | None:
    """Raise :class:`~secondme.errors.ModelError` if the installed llama.cpp build cannot run here.

    The probe imports llama_cpp in a child process, so an illegal instruction ends the child,
    not the caller. Its answer is kept in ``cache`` under a key of the package's path and its
    library files (names, sizes and times), so each build is probed once.  Returns that key
    (:func:`build_key`), which the caller can use to key its own records of this build.
    """
    from secondme.errors import ModelError

    key = build_key()
    flags = cpu_flags()
    if flags is None or key is None:
        return key  # not x86, or llama_cpp is not installed: loading the model says so
    record = cache / f"llama-build-{key}.json"
    try:
        features = json.loads(record.read_text())["features"]
    except (OSError, ValueError, KeyError, TypeError):
        features = None
    if features is None:
        try:
            probe = subprocess.run(
                [python, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=False
            )
        except subprocess.TimeoutExpired:
            return key  # a machine this slow is better served by trying to load the model
        if probe.returncode == -signal.SIGILL:
            raise ModelError(
                "the installed llama-cpp-python uses instructions this CPU does not have "
                "(it stopped with an illegal instruction)",
                hint=REBUILD_HINT,
            )
        if probe.returncode != 0:
            return key  # loading the model reports the failure in its own words
        features = build_features(probe.stdout)
        with contextlib.suppress(OSError):  # unrecorded, it is probed again next time
            cache.mkdir(parents=True, exist_ok=True)
            tmp = record.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"features": features}))
            tmp.replace(record)
    lacking = missing(features, flags)
    if lacking:
        raise ModelError(
            f"the installed llama-cpp-python was built for {', '.join(lacking)}, "
            "which this CPU does not have",
            hint=REBUILD_HINT,
        )
    return key


def build_key() -> str | None:
    """A key that changes whenever llama_cpp's compiled libraries do; None when not installed."""
    from importlib.util import find_spec

    spec = find_spec("llama_cpp")
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    parts = [str(package)]
    for lib in sorted(package.rglob("*")):
        if lib.suffix in {".so", ".dylib", ".dll"} or ".so." in lib.name:
            stat = lib.stat()
            parts.append(f"{lib.name}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


if __name__ == "__main__":
    # `python secondme/models/cpu.py`: the CMake flags for this machine, on one line.
    print(" ".join(cmake_args(cpu_flags())))

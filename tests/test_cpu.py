"""The llama.cpp build for this CPU: flags chosen from /proc/cpuinfo, and builds that cannot run here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from secondme.errors import ModelError
from secondme.models import cpu
from tests.conftest import REPO, run_mem

# Flags lines as Linux writes them (trimmed): a Xeon with AVX-512, VBMI, VNNI and AMX; a laptop
# CPU with AVX2 only; an old CPU with AVX but no AVX2, FMA or F16C.
XEON = (
    "fpu vme sse sse2 ssse3 fma cx16 pni sse4_1 sse4_2 avx f16c bmi1 avx2 bmi2 avx512f avx512dq "
    "avx512cd avx512bw avx512vl avx512vbmi avx512_vnni avx512_bf16 amx_int8 amx_tile avx_vnni"
)
LAPTOP = "fpu sse sse2 ssse3 fma pni sse4_1 sse4_2 avx f16c bmi1 avx2 bmi2"
OLD = "fpu sse sse2 ssse3 pni sse4_1 sse4_2 avx"


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    block = f"processor\t: {{n}}\nmodel name\t: Some CPU\nflags\t\t: {flags}\n\n"
    path.write_text(block.format(n=0) + block.format(n=1))
    return path


def test_flags_are_read_from_cpuinfo(tmp_path, monkeypatch):
    monkeypatch.setattr(cpu.platform, "machine", lambda: "x86_64")
    flags = cpu.cpu_flags(cpuinfo(tmp_path, LAPTOP))
    assert flags is not None and {"avx2", "fma", "bmi2"} <= flags and "avx512f" not in flags
    assert cpu.cpu_flags(tmp_path / "absent") is None
    assert cpu.cpu_model(cpuinfo(tmp_path, LAPTOP)) == "Some CPU"
    assert cpu.cpu_model(tmp_path / "absent") is None
    monkeypatch.setattr(cpu.platform, "machine", lambda: "aarch64")
    assert cpu.cpu_flags(cpuinfo(tmp_path, LAPTOP)) is None


def switches(args: list[str]) -> dict[str, str]:
    assert args[0] == "-DGGML_NATIVE=OFF"
    return dict(arg[2:].split("=") for arg in args[1:])


def test_each_instruction_set_is_switched_by_what_the_cpu_has():
    xeon = switches(cpu.cmake_args(XEON.split()))
    assert {k for k, v in xeon.items() if v == "OFF"} == set()
    assert xeon["GGML_AVX512"] == xeon["GGML_AVX512_VBMI"] == xeon["GGML_AVX512_VNNI"] == "ON"
    laptop = switches(cpu.cmake_args(LAPTOP.split()))
    assert {k for k, v in laptop.items() if v == "OFF"} == {
        "GGML_AVX512",
        "GGML_AVX512_VBMI",
        "GGML_AVX512_VNNI",
    }
    old = switches(cpu.cmake_args(OLD.split()))
    assert {k for k, v in old.items() if v == "ON"} == {"GGML_SSE42", "GGML_AVX"}
    # AVX-512's extensions count only with AVX-512 itself (all five parts of it).
    partial = switches(cpu.cmake_args([*LAPTOP.split(), "avx512f", "avx512vbmi", "avx512_vnni"]))
    assert partial["GGML_AVX512"] == partial["GGML_AVX512_VBMI"] == partial["GGML_AVX512_VNNI"] == "OFF"
    assert cpu.cmake_args(None) == ["-DGGML_NATIVE=OFF"]  # unknown CPU: llama.cpp's portable build


def test_the_script_prints_this_machines_flags():
    printed = subprocess.run(
        [sys.executable, str(REPO / "secondme" / "models" / "cpu.py")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert printed.stdout.split() == cpu.cmake_args(cpu.cpu_flags())


def test_build_features_are_read_and_compared_with_the_cpu():
    info = (
        "CPU : SSE3 = 1 | SSSE3 = 1 | AVX = 1 | AVX2 = 1 | F16C = 1 | FMA = 1 | BMI2 = 1 | "
        "AVX512 = 1 | AVX512_VNNI = 1 | LLAMAFILE = 1 | OPENMP = 1 | REPACK = 1 | "
    )
    features = cpu.build_features(info)
    assert features == ["SSE3", "SSSE3", "AVX", "AVX2", "F16C", "FMA", "BMI2", "AVX512", "AVX512_VNNI"]
    assert cpu.missing(features, XEON.split()) == []
    assert cpu.missing(features, LAPTOP.split()) == ["AVX512", "AVX512_VNNI"]
    assert cpu.build_features("CUDA : ARCHS = 890 | USE_GRAPHS = 1 | CPU : AVX2 = 1 | AVX512 = 0 |") == [
        "AVX2"
    ]


def test_the_installed_build_is_probed_once(tmp_path):
    if cpu.cpu_flags() is None:
        pytest.skip("no x86 /proc/cpuinfo here")
    cache = tmp_path / "cache"
    cpu.check_build(cache)  # the build make setup chose for this CPU runs here
    (record,) = cache.glob("llama-build-*.json")
    features = json.loads(record.read_text())["features"]
    import llama_cpp

    assert features == cpu.build_features(llama_cpp.llama_print_system_info().decode())
    assert features  # an x86 build names at least its SSE3
    assert cpu.missing(features, cpu.cpu_flags() or ()) == []
    # Recorded: no second probe (a Python that does not exist would fail it).
    cpu.check_build(cache, python=str(tmp_path / "no-python"))


def fake_llama_cpp(root: Path, body: str) -> Path:
    package = root / "llama_cpp"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    return root


def test_a_build_for_instructions_this_cpu_lacks_is_refused(tmp_path, monkeypatch):
    root = fake_llama_cpp(
        tmp_path / "site",
        "def llama_print_system_info():\n"
        "    return b'CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | LLAMAFILE = 1 |'\n",
    )
    monkeypatch.setenv("PYTHONPATH", str(root))
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset(LAPTOP.split()))
    monkeypatch.setattr(cpu, "build_key", lambda: "fake-avx512")
    with pytest.raises(
        ModelError, match=r"built for AVX512, AMX_INT8, which this CPU does not have.*make setup"
    ):
        cpu.check_build(tmp_path / "cache")
    # The same build on a CPU that has them passes, from the record this time.
    monkeypatch.setattr(cpu, "cpu_flags", lambda: frozenset(XEON.split()))
    cpu.check_build(tmp_path / "cache", python=str(tmp_path / "no-python"))


def test_an_illegal_instruction_is_one_line_not_a_dead_process(tmp_path):
    if cpu.cpu_flags() is None:
        pytest.skip("no x86 /proc/cpuinfo here")
    # A llama_cpp that dies as a build for another CPU does as soon as it is imported.
    root = fake_llama_cpp(tmp_path / "site", "import os, signal\nos.kill(os.getpid(), signal.SIGILL)\n")
    assert run_mem("add", "The spare key is under the blue mat").returncode == 0
    asked = run_mem("ask", "Where is the spare key?", env={"PYTHONPATH": str(root)})
    assert asked.returncode == 4
    assert asked.stderr.strip() == (
        "error: the installed llama-cpp-python uses instructions this CPU does not have "
        f"(it stopped with an illegal instruction) ({cpu.REBUILD_HINT})"
    )

"""`mem --help` must stay fast: the heavy libraries load only inside the commands that use them."""

import subprocess
import sys

HEAVY = ("chromadb", "llama_cpp", "onnxruntime", "textual", "torch", "tokenizers", "numpy", "watchdog")


def test_cli_import_loads_no_heavy_module():
    code = f"import sys, secondme.cli\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_mem_help_runs_without_heavy_modules():
    code = (
        "import sys, runpy\n"
        "sys.argv = ['mem', '--help']\n"
        "try:\n"
        "    runpy.run_module('secondme', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('LOADED:' + ' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout and "ask" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "LOADED:"

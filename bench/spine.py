"""Whole-process timings of the main commands on this machine (a benchmark, not a test).

    python bench/spine.py [--memories 10000] [--runs 7] [--out bench/results]

Measures, each as a fresh `mem` process: `mem --help`, `mem add`, `mem search` over a home holding
``--memories`` generated memories, and `mem ask` (time to first answer byte and total) with the
default model, plus the peak RSS of `mem ask`.  Writes JSON and Markdown into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MEM = [sys.executable, "-m", "secondme"]


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """(total seconds, seconds to the first byte of stdout) of one `mem` process."""
    started = time.perf_counter()
    proc = subprocess.Popen([*MEM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    first = proc.stdout.read(1)
    first_at = time.perf_counter() - started if first else None
    proc.stdout.read()
    proc.wait()
    total = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"mem {' '.join(args)} failed: {proc.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
    return total, first_at


def seed_home(env: dict[str, str], count: int) -> None:
    """Fill the home with ``count`` generated memories (in-process, batched)."""
    os.environ.update(env)
    from secondme.eval.corpus import generate_corpus
    from secondme.memory import NewMemory
    from secondme.service import Secondme

    app = Secondme()
    batch: list[NewMemory] = []
    for item in generate_corpus(count, seed=1):
        batch.append(NewMemory(**item))
        if len(batch) == 1000:
            app.add_many(batch)
            batch = []
    if batch:
        app.add_many(batch)
    for text in ["My dentist is Dr. Ana Costa", "Moved to Lisbon in March 2024"]:
        app.add(NewMemory(text))


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max in seconds."""
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="secondme-bench-")
    env = {**os.environ, "SECONDME_HOME": home}
    results: dict[str, object] = {}

    print(f"seeding {args.memories} memories into {home} ...", flush=True)
    started = time.perf_counter()
    seed_home(env, args.memories)
    results["seed"] = {"memories": args.memories, "seconds": round(time.perf_counter() - started, 2)}

    results["help"] = summary([timed(["--help"], env)[0] for _ in range(args.runs)])
    results["add"] = summary(
        [timed(["add", f"Benchmark note number {i} about the garden"], env)[0] for i in range(args.runs)]
    )
    queries = [
        "dentist",
        "trip to Kyoto with Sofia",
        "what is Maya allergic to",
        "climbing gym hours",
        "passport",
        "dinner on Friday",
        "Lisbon",
    ]
    results["search"] = summary(
        [timed(["search", queries[i % len(queries)]], env)[0] for i in range(args.runs)]
    )
    questions = ["Who is my dentist?", "Where did I move in March 2024?", "What is my blood type?"]
    timed(["ask", questions[0]], env)  # warm the page cache and the saved prompt prefix
    totals: list[float] = []
    firsts: list[float] = []
    for i in range(args.runs):
        total, first = timed(["ask", questions[i % len(questions)]], env)
        totals.append(total)
        firsts.append(first or total)
    results["ask_total"] = summary(totals)
    results["ask_first_token"] = summary(firsts)
    # ru_maxrss of children: the largest child so far, which is a `mem ask` (in KiB on Linux).
    results["ask_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    meta = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "answer_model": "qwen2.5-coder-1.5b (Q4_K_M)",
        "embedder": "all-MiniLM-L6-v2 int8 ONNX",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    (args.out / f"spine-{stamp}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    rows = [
        ("mem --help", results["help"], "< 0.3 s"),
        ("mem add", results["add"], "< 1 s"),
        (f"mem search ({args.memories} memories)", results["search"], "< 1 s"),
        ("mem ask: first token", results["ask_first_token"], ""),
        ("mem ask: total", results["ask_total"], "< 3 s"),
    ]
    lines = [
        f"# Spine timings {meta['date']} ({commit}, {meta['cores']} cores)",
        "",
        "| command | median | min | max | target |",
        "|---|---|---|---|---|",
    ]
    for name, stats, target in rows:
        assert isinstance(stats, dict)
        lines.append(
            f"| {name} | {stats['median_s']} s | {stats['min_s']} s | {stats['max_s']} s | {target} |"
        )
    lines.append(f"| mem ask: peak RSS | {results['ask_peak_rss_mb']} MB | | | < 2500 MB |")
    text = "\n".join(lines) + "\n"
    (args.out / f"spine-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()

"""Whole-process timings with a warm `mem daemon` against none, in the same run (a benchmark).

    python bench/daemon.py [--memories 10000] [--runs 5] [--asks 3] [--out bench/results]

Seeds a fresh home with ``--memories`` generated memories, starts `mem daemon` and waits until
its models are loaded, then times, each as a fresh `mem` process and alternating between the
two ways so that both see the same machine load: `mem --help`, `mem add`, `mem search` and
`mem ask` (the memories shown, the model's first token and the total), with the daemon
(warm) and without it (``SECONDME_NO_DAEMON=1``).

The floor for an answer is measured in the same run with llama.cpp's own counters: the same
prompt, evaluated from an empty cache, gives the prompt rate and the decode rate, and the floor
is prompt tokens / prompt rate + answer tokens / decode rate.  Targets (ratios hold on any
machine): warm add and search within 1.5x of `mem --help`; warm ask total within 1.2x of the
floor.  Bytecode is written as usual (PYTHONDONTWRITEBYTECODE is unset), as for an installed
`mem`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MEM = [sys.executable, "-m", "secondme"]
QUESTIONS = ["Who is my dentist?", "Where did I move in March 2024?", "What is Maya allergic to?"]
QUERIES = [
    "dentist",
    "trip to Kyoto with Sofia",
    "what is Maya allergic to",
    "climbing gym hours",
    "passport",
]


def timed(args: list[str], env: dict[str, str]) -> dict[str, float | None]:
    """Seconds of one `mem` process: total, first byte, and first byte of the answer (for ask).

    `mem ask` prints the memories it found, a blank line, then the answer: the answer's first
    byte is the first one after that blank line.
    """
    started = time.perf_counter()
    proc = subprocess.Popen([*MEM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    first = answer = None
    seen = b""
    while True:
        byte = proc.stdout.read(1)
        if not byte:
            break
        now = time.perf_counter() - started
        if first is None:
            first = now
        if answer is None and seen.endswith(b"\n\n"):
            answer = now
        seen += byte
    proc.wait()
    total = time.perf_counter() - started
    if proc.returncode != 0:
        assert proc.stderr is not None
        raise SystemExit(f"mem {' '.join(args)} failed: {proc.stderr.read().decode()[-800:]}")
    return {"total": total, "first_byte": first, "answer_first": answer, "output": seen.decode()}  # type: ignore[dict-item]


def seed_home(count: int) -> None:
    """Fill the current home with ``count`` generated memories (in-process, batched)."""
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


def floor_for(question: str) -> dict[str, Any]:
    """llama.cpp's own prompt and decode rates for this question's real prompt, from a cold cache."""
    from secondme.answer import prepare
    from secondme.models.llm import load_llm
    from secondme.service import Secondme

    app = Secondme()
    prepared = prepare(app, question)
    llm = _model(app.settings.llm, load_llm)
    return {
        "question": question,
        "needs_model": prepared.needs_model,
        **llama_rates(llm, prepared.messages, app.settings.llm.max_tokens),
    }


def llama_rates(llm: Any, messages: list[dict[str, str]], max_tokens: int) -> dict[str, Any]:
    """Answer ``messages`` with llama.cpp itself from a cold cache (no prompt state kept) and
    read its own counters: prompt and decode tokens per second, and the floor, the seconds those
    rates give for this prompt and answer.  A face's time divided by the floor is what it adds."""
    import llama_cpp

    ctx = llm.llama._ctx.ctx
    llm.llama.reset()
    llama_cpp.llama_perf_context_reset(ctx)
    result: Any = llm.llama.create_chat_completion(
        messages=messages,  # type: ignore[arg-type]
        max_tokens=max_tokens,
        temperature=0.0,
        top_k=1,
    )
    perf = llama_cpp.llama_perf_context(ctx)
    llm.llama.reset()
    usage = result["usage"]
    prompt_rate = perf.n_p_eval / (perf.t_p_eval_ms / 1000)
    decode_rate = perf.n_eval / (perf.t_eval_ms / 1000) if perf.n_eval else float("nan")
    prompt_tokens = int(usage["prompt_tokens"])
    answer_tokens = int(usage["completion_tokens"])
    return {
        "prompt_tokens": prompt_tokens,
        "answer_tokens": answer_tokens,
        "prompt_tok_s": round(prompt_rate, 2),
        "decode_tok_s": round(decode_rate, 2),
        "floor_s": round(prompt_tokens / prompt_rate + answer_tokens / decode_rate, 3),
        "answer": result["choices"][0]["message"]["content"],
    }


_MODEL: dict[str, Any] = {}


def _model(settings: Any, load: Any) -> Any:
    if "llm" not in _MODEL:
        _MODEL["llm"] = load(settings)
    return _MODEL["llm"]


def summary(values: list[float]) -> dict[str, float]:
    """Median, min and max in seconds."""
    return {
        "median_s": round(statistics.median(values), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "runs": len(values),
    }


def wait_warm(env: dict[str, str], deadline_s: float = 600) -> dict[str, Any]:
    """Wait until the daemon reports both models loaded."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        out = subprocess.run([*MEM, "daemon", "status", "--json"], capture_output=True, text=True, env=env)
        status = json.loads(out.stdout)
        if status.get("embedder_loaded") and status.get("llm_loaded"):
            return status
        time.sleep(1)
    raise SystemExit("the daemon did not load its models in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memories", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5, help="runs of --help, add and search, each way")
    parser.add_argument("--asks", type=int, default=3, help="questions asked each way")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--home", type=Path, help="a home seeded by an earlier run (skips seeding)")
    args = parser.parse_args()

    home = str(args.home) if args.home else tempfile.mkdtemp(prefix="smb-")
    os.environ["SECONDME_HOME"] = home
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # The seeded memories include secrets: a throwaway home's vault opens without a keyring.
    os.environ.setdefault("SECONDME_VAULT_PASSPHRASE", "benchmark home, thrown away")
    base = {**os.environ, "SECONDME_HOME": home}
    local = {**base, "SECONDME_NO_DAEMON": "1"}
    results: dict[str, Any] = {}

    if args.home:
        results["seed_s"] = None
    else:
        print(f"seeding {args.memories} memories into {home} ...", flush=True)
        started = time.perf_counter()
        seed_home(args.memories)
        results["seed_s"] = round(time.perf_counter() - started, 2)
    timed(["--help"], base)  # writes the bytecode once, as an install would
    subprocess.run([*MEM, "daemon", "start", "--json"], check=True, env=base, capture_output=True)
    try:
        results["daemon"] = wait_warm(base)
        samples: dict[str, list[float]] = {
            k: [] for k in ("help", "add_local", "add_warm", "search_local", "search_warm")
        }
        stamp_run = datetime.now().strftime("%Y%m%d-%H%M%S")
        for i in range(args.runs):
            samples["help"].append(timed(["--help"], base)["total"])  # type: ignore[arg-type]
            for way, env in (("local", local), ("warm", base)):
                # Unique per run: a note seen before is found by its hash and not stored again.
                note = f"Benchmark note {i} ({way}, run {stamp_run}) about the garden"
                samples[f"add_{way}"].append(timed(["add", note, "--type", "semantic"], env)["total"])  # type: ignore[arg-type]
                query = QUERIES[i % len(QUERIES)]
                samples[f"search_{way}"].append(timed(["search", query], env)["total"])  # type: ignore[arg-type]
            print(
                f"run {i + 1}/{args.runs}: " + ", ".join(f"{k} {v[-1]:.2f}" for k, v in samples.items()),
                flush=True,
            )
        results.update({k: summary(v) for k, v in samples.items()})

        asks: list[dict[str, Any]] = []
        for i in range(args.asks):
            question = QUESTIONS[i % len(QUESTIONS)]
            row: dict[str, Any] = {"question": question}
            for way, env in (("local", local), ("warm", base)):
                got = timed(["ask", question], env)
                row[way] = {
                    "total_s": round(got["total"], 3),  # type: ignore[arg-type]
                    "memories_shown_s": round(got["first_byte"], 3) if got["first_byte"] else None,
                    "first_token_s": round(got["answer_first"], 3) if got["answer_first"] else None,
                }
                # The answer: after the memories and their blank line, before the sources.
                row[f"{way}_answer"] = str(got["output"]).split("\n\n", 1)[-1].split("\n\n")[0].strip()
            row["floor"] = floor_for(question)
            row["warm_over_floor"] = round(row["warm"]["total_s"] / row["floor"]["floor_s"], 2)
            asks.append(row)
            print(json.dumps(row, indent=1), flush=True)
        results["ask"] = asks
    finally:
        subprocess.run([*MEM, "daemon", "stop"], env=base, capture_output=True)

    help_s = results["help"]["median_s"]
    results["ratios"] = {
        "add_warm_over_help": round(results["add_warm"]["median_s"] / help_s, 2),
        "search_warm_over_help": round(results["search_warm"]["median_s"] / help_s, 2),
        "add_local_over_help": round(results["add_local"]["median_s"] / help_s, 2),
        "search_local_over_help": round(results["search_local"]["median_s"] / help_s, 2),
        "ask_warm_over_floor_median": round(
            statistics.median(a["warm_over_floor"] for a in results["ask"]), 2
        ),
    }
    # A copy of the tree (so that editing the checkout cannot change a run) names its commit.
    commit = (
        os.environ.get("BENCH_COMMIT")
        or subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
        ).stdout.strip()
    )
    load = os.getloadavg()
    meta = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in load],
        "machine": platform.machine(),
        "python": platform.python_version(),
        "memories": args.memories,
        "answer_model": "qwen2.5-coder-1.5b (Q4_K_M)",
        "embedder": "all-MiniLM-L6-v2 int8 ONNX",
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    (args.out / f"daemon-{stamp}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    text = report(meta, results)
    (args.out / f"daemon-{stamp}.md").write_text(text)
    print(text)


def report(meta: dict[str, Any], results: dict[str, Any]) -> str:
    """The Markdown table."""
    r = results["ratios"]
    lines = [
        f"# Daemon timings {meta['date']} ({meta['commit']}, {meta['cores']} cores, "
        f"{meta['memories']} memories, load average at the end {meta['load_average_at_end']})",
        "",
        "Whole `mem` processes, medians (min-max); warm = `mem daemon` running with its models loaded,",
        "in-process = `SECONDME_NO_DAEMON=1`; both ways alternate in the same run.",
        "",
        "| command | in-process | warm daemon | warm / `mem --help` | target |",
        "|---|---|---|---|---|",
        f"| `mem --help` | {fmt(results['help'])} | | 1.00 | |",
        f"| `mem add` | {fmt(results['add_local'])} | {fmt(results['add_warm'])} | "
        f"{r['add_warm_over_help']} | <= 1.5 |",
        f"| `mem search` | {fmt(results['search_local'])} | {fmt(results['search_warm'])} | "
        f"{r['search_warm_over_help']} | <= 1.5 |",
        "",
        "`mem ask`: seconds from the process start; the floor is llama.cpp's own rates for the same",
        "prompt from an empty cache (prompt tokens / prompt rate + answer tokens / decode rate).",
        "",
        "| question | prompt tok | answer tok | prompt tok/s | decode tok/s | floor | in-process: "
        "memories / first token / total | warm: memories / first token / total | warm / floor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a in results["ask"]:
        f = a["floor"]
        lines.append(
            f"| {a['question']} | {f['prompt_tokens']} | {f['answer_tokens']} | {f['prompt_tok_s']} | "
            f"{f['decode_tok_s']} | {f['floor_s']} s | {triple(a['local'])} | {triple(a['warm'])} | "
            f"{a['warm_over_floor']} |"
        )
    lines.append("")
    lines.append(f"Median warm ask / floor: {r['ask_warm_over_floor_median']} (target <= 1.2).")
    return "\n".join(lines) + "\n"


def fmt(stats: dict[str, float]) -> str:
    """``median (min-max)`` in seconds."""
    return f"{stats['median_s']} s ({stats['min_s']}-{stats['max_s']})"


def triple(row: dict[str, Any]) -> str:
    """memories shown / first token / total."""
    return f"{row['memories_shown_s']} / {row['first_token_s']} / {row['total_s']} s"


if __name__ == "__main__":
    main()

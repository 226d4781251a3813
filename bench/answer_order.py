"""Whether an answer depends on the question asked before it: the daemon's case.

    python bench/answer_order.py REPORT.json [REPORT.json ...] [--limit N] [--out bench/results]

A ``mem eval`` report keeps the prompt of every answer the model wrote.  One process loads the
answer model and answers those prompts, in the report's order, three ways:

- ``loaded``: the saved state of the fixed prompt prefix read from its file before each prompt,
  as ``mem eval`` and an in-process ``mem ask`` do;
- ``primed``: :meth:`LlamaCppLLM.prime` before each prompt, which cuts the context back to the
  prefix the model already holds (no file is read): what the daemon does;
- ``reused``: primed once, then llama-cpp-python's own reuse of whatever the previous prompt
  shares with the next one past the prefix ("Today is ...", "Memories (oldest first):"): what
  the daemon did before it primed every question.

Answers are greedy, so a way that starts each prompt from the same state gives the same words;
the report counts the answers of ``primed`` and ``reused`` that differ from ``loaded`` and the
seconds each way took (prompt tokens counted by the model's tokenizer).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from evidence_select import write  # noqa: E402

from secondme import config  # noqa: E402
from secondme.answer.prompt import system_message  # noqa: E402
from secondme.models.llm import load_llm  # noqa: E402

WAYS = ("loaded", "primed", "reused")


def answered(path: Path, limit: int) -> list[dict[str, Any]]:
    """The records whose answer the model wrote (declines before the model have no prompt)."""
    data = json.loads(path.read_text())
    records = [r for r in data["records"] if r.get("prompt") and "generate_s" in (r.get("timings") or {})]
    return records[:limit] if limit else records


def run(path: Path, llm: Any, settings: config.Settings, limit: int) -> dict[str, Any]:
    records = answered(path, limit)
    # The reports' homes have no core memories: the system prompt is the instructions alone.
    system = [system_message([], settings.answer.max_memory_chars)]

    def answer(record: dict[str, Any], way: str) -> str:
        if way == "loaded":
            llm.llama.reset()  # the prefix is no longer held: prime reads it from its file
        if way in ("loaded", "primed"):
            llm.prime(system)
        messages = [*system, {"role": "user", "content": record["prompt"]}]
        return "".join(llm.chat(messages, max_tokens=settings.llm.max_tokens))

    answers: dict[str, list[str]] = {}
    seconds: dict[str, float] = {}
    for way in WAYS:
        if way == "reused":
            llm.llama.reset()
            llm.prime(system)
        started = time.perf_counter()
        answers[way] = [answer(r, way) for r in records]
        seconds[way] = time.perf_counter() - started
    tokens = [len(llm.llama.tokenize(r["prompt"].encode("utf-8"), add_bos=False)) for r in records]
    loaded = answers["loaded"]
    differ = {
        way: [r["question"] for r, a, b in zip(records, loaded, answers[way], strict=True) if a != b]
        for way in WAYS[1:]
    }
    return {
        "report": path.stem,
        "answers": len(records),
        "median_prompt_tokens": statistics.median(tokens) if tokens else 0,
        "seconds": {way: round(s, 1) for way, s in seconds.items()},
        "differ": differ,
        "rows": [
            {"question": r["question"], **{w: answers[w][i] for w in WAYS}} for i, r in enumerate(records)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--limit", type=int, default=0, help="the first N answers of each report")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    settings = config.load()
    llm = load_llm(settings.llm)
    results = [run(Path(p), llm, settings, args.limit) for p in args.reports]
    from secondme.models.cpu import build_key

    lines = [
        "# Answers in any order: a prompt state loaded, primed, or the previous prompt reused",
        "",
        f"Model `{settings.llm.model}`, llama.cpp build `{build_key()}`.  Each recorded prompt answered"
        " in the report's order; an answer counts as different when one word differs from `loaded`.",
        "",
        "| report | answers | median prompt tokens | primed: differ | reused: differ"
        " | s loaded / primed / reused |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        s, differ = r["seconds"], r["differ"]
        lines.append(
            f"| `{r['report']}` | {r['answers']} | {r['median_prompt_tokens']:.0f} | {len(differ['primed'])}"
            f" | {len(differ['reused'])} | {s['loaded']} / {s['primed']} / {s['reused']} |"
        )
    lines.append("")
    for r in results:
        for way in WAYS[1:]:
            for question in r["differ"][way]:
                lines.append(f"- `{r['report']}` {way}: {question}")
    write(Path(args.out), "answer-order", {"results": results}, lines)


if __name__ == "__main__":
    main()

"""Fusion parameters for hybrid search, chosen by cross-validation over LoCoMo dev conversations.

    python bench/fusion_cv.py [--out bench/results]

Each conversation is loaded once (through the same chat pipeline as ``mem eval locomo``), and
each question's BM25 and vector rankings are kept (50 candidates each, as search fetches).  The
fusion (reciprocal rank with ``rrf_k`` and a vector weight) is then recomputed offline for every
setting in the grid.  Three folds: fit on two conversations (the best mean of evidence
recall@5/10/20), test on the third; the held-out numbers are reported beside the fitted ones,
with BM25 and vector alone on the same held-out questions.  Writes JSON and Markdown.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import pickle
import re
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from secondme.eval.datasets import load_locomo  # noqa: E402
from secondme.eval.locomo import KS, RETRIEVAL_CATEGORIES, load_conversation, ranked_turns_of  # noqa: E402
from secondme.eval.metrics import evidence_recall_at_k  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402
from secondme.retrieve import fuse  # noqa: E402
from secondme.store.memories import Filters  # noqa: E402

RRF_KS = (1, 3, 5, 10, 20, 60)
VECTOR_WEIGHTS = (0.0, 0.3, 0.5, 0.7, 1.0, 1.5)
CANDIDATES = 50
#: Pseudo-relevance feedback: memories read, words added, weight of the expanded ranking.
PRF_DOCS = 3
PRF_TERMS = 5
PRF_WEIGHT = 0.5
#: How much of the previous message a per-message unit carries (characters).
PREVIOUS_CHARS = 100
#: Settings also shown on every conversation as they are (no fitting).
FIXED = ((10, 1.0), (3, 0.5), (5, 0.5), (1, 0.5), (5, 0.7), (10, 0.5), (20, 0.5))


def collect() -> dict[str, list[dict]]:
    """Per conversation: each question's rankings, turn map and evidence."""
    out: dict[str, list[dict]] = {}
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for conversation in load_locomo():
            with workspace.home(conversation.sample_id, models) as app:
                turns_of = load_conversation(app, conversation)
                df = document_frequencies(app, list(turns_of))
                rows = []
                for question in conversation.questions:
                    if question.category not in RETRIEVAL_CATEGORIES or not question.evidence:
                        continue
                    filters = Filters()
                    keyword = [i for i, _ in app.store.keyword_search(question.question, filters, CANDIDATES)]
                    vector = [i for i, _ in app.vector_search(question.question, CANDIDATES, filters)]
                    prf = expanded_keyword(app, question.question, keyword, df, len(turns_of))
                    rows.append(
                        {
                            "keyword_prf": prf,
                            "keyword": keyword,
                            "vector": vector,
                            "evidence": question.evidence,
                            "category": question.category_name,
                        }
                    )
                window_of = {turn: memory_id for memory_id, held in turns_of.items() for turn in held}
            # The same conversation as one unit per message, with its speaker and part of the
            # message before it; a unit's hit counts for the window that holds the message.
            with workspace.home(f"{conversation.sample_id}-units", models) as units_app:
                unit_turn = load_units(units_app, conversation)
                questions = [
                    q for q in conversation.questions if q.category in RETRIEVAL_CATEGORIES and q.evidence
                ]
                for row, question in zip(rows, questions, strict=True):
                    filters = Filters()
                    for field, found in (
                        (
                            "unit_keyword",
                            units_app.store.keyword_search(question.question, filters, CANDIDATES),
                        ),
                        ("unit_vector", units_app.vector_search(question.question, CANDIDATES, filters)),
                    ):
                        windows: dict[int, None] = {}
                        for unit_id, _ in found:
                            window = window_of.get(unit_turn.get(unit_id, ""))
                            if window is not None:
                                windows.setdefault(window, None)
                        row[field] = list(windows)
            out[conversation.sample_id] = [{**r, "turns_of": turns_of} for r in rows]
    return out


def _terms(text: str) -> list[str]:
    from secondme.store.memories import STOPWORDS

    return [w for w in re.findall(r"[a-z]{3,}", text.lower()) if w not in STOPWORDS]


def document_frequencies(app, ids: list[int]) -> dict[str, int]:
    """In how many memories of the home each word occurs."""
    df: dict[str, int] = {}
    for memory in app.store.get_many(ids).values():
        for word in set(_terms(memory.text)):
            df[word] = df.get(word, 0) + 1
    return df


def expanded_keyword(app, query: str, first: list[int], df: dict[str, int], total: int) -> list[int]:
    """BM25 with pseudo-relevance feedback (RM3-like): the question plus the words that stand out
    in its top memories, searched again; the two rankings fused, the original weighted higher."""
    top = app.store.get_many(first[:PRF_DOCS])
    asked = set(_terms(query))
    weight: dict[str, float] = {}
    for memory in top.values():
        words = _terms(memory.text)
        for word in set(words):
            if word in asked:
                continue
            weight[word] = weight.get(word, 0.0) + words.count(word) / len(words) * math.log(
                1 + total / (df.get(word, 0) + 1)
            )
    extra = [w for w, _ in sorted(weight.items(), key=lambda x: -x[1])[:PRF_TERMS]]
    if not extra:
        return first
    second = [i for i, _ in app.store.keyword_search(f"{query} {' '.join(extra)}", Filters(), CANDIDATES)]
    scores = fuse([first, second], 10, [1.0, PRF_WEIGHT])
    return sorted(scores, key=lambda i: (-scores[i], i))


def load_units(app, conversation) -> dict[int, str]:
    """Store one memory per message; returns memory id -> the message's dia_id."""
    from secondme.eval.locomo import conversation_messages
    from secondme.memory import MemoryType, NewMemory
    from secondme.timeparse import iso

    messages = conversation_messages(conversation)
    drafts = []
    for n, message in enumerate(messages):
        previous = messages[n - 1] if n else None
        context = ""
        if previous is not None and previous.conversation == message.conversation:
            context = f"\n(after {previous.speaker}: {previous.text[:PREVIOUS_CHARS]})"
        drafts.append(
            NewMemory(
                text=f"{message.speaker}: {message.text}{context}",
                type=MemoryType.EPISODIC,
                source_kind="chat",
                occurred_at=iso(message.timestamp),
                metadata={"ref": message.ref},
            )
        )
    unit_turn: dict[int, str] = {}
    for draft, (memory, _created) in zip(drafts, app.add_many(drafts, dedupe=False), strict=True):
        unit_turn[memory.id] = str(draft.metadata["ref"])
    return unit_turn


def recall(rows: list[dict], ranker) -> dict[str, float]:
    sums = dict.fromkeys(KS, 0.0)
    for row in rows:
        ranked = ranked_turns_of(ranker(row), row["turns_of"])
        for k in KS:
            sums[k] += evidence_recall_at_k(row["evidence"], ranked, k)
    return {f"recall@{k}": sums[k] / max(1, len(rows)) for k in KS}


def hybrid(rrf_k: int, weight: float, prefix: str = "", keyword: str = "keyword"):
    def rank(row: dict) -> list[int]:
        scores = fuse([row[f"{prefix}{keyword}"], row[f"{prefix}vector"]], rrf_k, [1.0, weight])
        return sorted(scores, key=lambda i: (-scores[i], i))

    return rank


def both(rrf_k: int, weight: float):
    """Windows and per-message units, all four rankings fused (vectors weighted)."""

    def rank(row: dict) -> list[int]:
        lists = [row["keyword"], row["vector"], row["unit_keyword"], row["unit_vector"]]
        scores = fuse(lists, rrf_k, [1.0, weight, 1.0, weight])
        return sorted(scores, key=lambda i: (-scores[i], i))

    return rank


def spread_sessions(rrf_k: int, weight: float, penalty: float):
    """Hybrid, then greedily re-ranked: each window already taken from a session lowers the
    fused score of that session's other windows by ``penalty`` (multi-hop evidence spans sessions)."""

    def session(row: dict, memory_id: int) -> str | None:
        held = row["turns_of"].get(memory_id) or []
        return held[0].split(":")[0] if held else None

    def rank(row: dict) -> list[int]:
        scores = fuse([row["keyword"], row["vector"]], rrf_k, [1.0, weight])
        pool = sorted(scores, key=lambda i: (-scores[i], i))
        taken: dict[str | None, int] = {}
        chosen = []
        while pool:
            best = max(pool, key=lambda i: scores[i] * (1 - penalty) ** taken.get(session(row, i), 0))
            pool.remove(best)
            chosen.append(best)
            taken[session(row, best)] = taken.get(session(row, best), 0) + 1
        return chosen

    return rank


def objective(metrics: dict[str, float]) -> float:
    return sum(metrics.values()) / len(metrics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    parser.add_argument("--rankings", help="A file to keep the collected rankings in (reused when present).")
    args = parser.parse_args()
    started = time.perf_counter()
    cache = Path(args.rankings) if args.rankings else None
    if cache is not None and cache.exists():
        data = pickle.loads(cache.read_bytes())
    else:
        data = collect()
        if cache is not None:
            cache.write_bytes(pickle.dumps(data))
    grid = list(itertools.product(RRF_KS, VECTOR_WEIGHTS))
    folds = []
    for test in data:
        train = [row for name, rows in data.items() if name != test for row in rows]
        scored = [(objective(recall(train, hybrid(k, w))), k, w) for k, w in grid]
        _, best_k, best_w = max(scored, key=lambda s: (s[0], -abs(s[2] - 1.0), s[1]))
        held = data[test]
        folds.append(
            {
                "test": test,
                "questions": len(held),
                "rrf_k": best_k,
                "vector_weight": best_w,
                "fitted": recall(train, hybrid(best_k, best_w)),
                "held_out": recall(held, hybrid(best_k, best_w)),
                "default_held_out": recall(held, hybrid(10, 1.0)),
                "bm25": recall(held, lambda r: r["keyword"]),
                "vector": recall(held, lambda r: r["vector"]),
            }
        )
    units = {}
    for test, rows in data.items():
        units[test] = {
            "windows (10, 1.0)": recall(rows, hybrid(10, 1.0)),
            "units (10, 1.0)": recall(rows, hybrid(10, 1.0, "unit_")),
            "units (3, 0.5)": recall(rows, hybrid(3, 0.5, "unit_")),
            "units BM25": recall(rows, lambda r: r["unit_keyword"]),
            "units vector": recall(rows, lambda r: r["unit_vector"]),
            "windows + units (10, 1.0)": recall(rows, both(10, 1.0)),
            "windows + units (3, 0.5)": recall(rows, both(3, 0.5)),
            "BM25 + PRF": recall(rows, lambda r: r["keyword_prf"]),
            "BM25": recall(rows, lambda r: r["keyword"]),
            "hybrid (3, 0.5) with BM25 + PRF": recall(rows, hybrid(3, 0.5, "", "keyword_prf")),
            "hybrid (3, 0.5)": recall(rows, hybrid(3, 0.5)),
            "hybrid (3, 0.5), sessions spread 0.1": recall(rows, spread_sessions(3, 0.5, 0.1)),
            "hybrid (3, 0.5), sessions spread 0.3": recall(rows, spread_sessions(3, 0.5, 0.3)),
        }
    fixed = {}
    for k, w in FIXED:
        fixed[f"rrf_k={k}, w={w}"] = {test: recall(rows, hybrid(k, w)) for test, rows in data.items()}
    everything = [row for rows in data.values() for row in rows]
    result = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "grid": {"rrf_k": RRF_KS, "vector_weight": VECTOR_WEIGHTS},
        "folds": folds,
        "fixed": fixed,
        "units": units,
        "all": {
            "default": recall(everything, hybrid(10, 1.0)),
            "bm25": recall(everything, lambda r: r["keyword"]),
            "vector": recall(everything, lambda r: r["vector"]),
        },
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    (out / f"fusion-cv-{stamp}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    lines = [
        "# Fusion parameters by 3-fold cross-validation (LoCoMo dev, categories 1-4)",
        "",
        "Fit on two conversations (best mean of recall@5/10/20 over the grid), test on the third.",
        "",
        "| held-out | q | rrf_k | vector w | fitted @5/@10/@20 | held-out @5/@10/@20 | "
        "default (10, 1.0) held-out | BM25 held-out | vector held-out |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(m: dict[str, float]) -> str:
        return " / ".join(f"{m[f'recall@{k}']:.3f}" for k in KS)

    for f in folds:
        lines.append(
            f"| {f['test']} | {f['questions']} | {f['rrf_k']} | {f['vector_weight']} | {cell(f['fitted'])} | "
            f"{cell(f['held_out'])} | {cell(f['default_held_out'])} | {cell(f['bm25'])} | "
            f"{cell(f['vector'])} |"
        )
    lines += [
        "",
        "Units and query expansion on each conversation (@5/@10/@20; a unit hit counts for its window):",
        "",
    ]
    lines += ["| units | " + " | ".join(data) + " |", "|---|" + "---|" * len(data)]
    for name in next(iter(units.values())):
        lines.append(f"| {name} | " + " | ".join(cell(units[t][name]) for t in data) + " |")
    lines += ["", "Fixed settings on each conversation (@5/@10/@20):", ""]
    lines += ["| setting | " + " | ".join(data) + " |", "|---|" + "---|" * len(data)]
    for name, per in fixed.items():
        lines.append(f"| {name} | " + " | ".join(cell(per[t]) for t in data) + " |")
    lines.append("| BM25 | " + " | ".join(cell(recall(data[t], lambda r: r["keyword"])) for t in data) + " |")
    lines += [
        "",
        f"All questions: default hybrid {cell(result['all']['default'])}, "
        f"BM25 {cell(result['all']['bm25'])}, vector {cell(result['all']['vector'])}.",
        "",
        f"Command: `python bench/fusion_cv.py`; {result['elapsed_s']} s.",
    ]
    (out / f"fusion-cv-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

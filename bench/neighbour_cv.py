"""How much a chat window next to a strong match is raised, by cross-validation on LoCoMo.

    python bench/neighbour_cv.py [--out bench/results]

An exchange often runs over two windows: "Did Jon and Gina both take part in dance
competitions?" matches Gina's "I used to compete in dance competitions", and Jon's answer
("my dance crew took home first in a local comp") is the next window.  Hybrid search raises a
window right before or after one of its top matches, in the same sitting, by
``search.neighbour_weight`` x that match's score.  Each LoCoMo dev conversation is loaded as
``mem eval locomo`` loads it and every question is searched with each weight of the grid
through the real search (``Secondme.search``, period boost included).  Three folds: fitted on
two conversations (the best mean of evidence recall@5/10/20, pooled over their questions),
scored on the third, beside BM25 and vectors alone on the same held-out questions.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from evidence_select import write  # noqa: E402

from secondme.eval.datasets import load_locomo  # noqa: E402
from secondme.eval.locomo import DEPTH, KS, RETRIEVAL_CATEGORIES, load_conversation, ranked_turns  # noqa: E402
from secondme.eval.metrics import evidence_recall_at_k  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402
from secondme.timeparse import question_time  # noqa: E402

WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
#: The single-retriever baselines, searched once (the weight does not apply to them).
BASELINES = ("keyword", "vector")


def collect() -> tuple[dict[str, dict[str, dict[int, float]]], dict[str, int]]:
    """Per setting (each weight, then BM25 and vectors) and conversation: recall@k."""
    table: dict[str, dict[str, dict[int, float]]] = {}
    size: dict[str, int] = {}
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for conversation in load_locomo():
            today = conversation.sessions[-1].date
            with workspace.home(conversation.sample_id, models) as app:
                turns_of = load_conversation(app, conversation)
                questions = [
                    q for q in conversation.questions if q.category in RETRIEVAL_CATEGORIES and q.evidence
                ]
                size[conversation.sample_id] = len(questions)
                settings: list[tuple[str, str, float]] = [("hybrid", str(w), w) for w in WEIGHTS]
                settings += [(mode, mode, 0.0) for mode in BASELINES]
                for mode, name, weight in settings:
                    app.settings.search.neighbour_weight = weight
                    found: dict[int, list[float]] = {k: [] for k in KS}
                    for question in questions:
                        when = question_time(question.question, today)
                        hits = app.search(question.question, k=DEPTH, mode=mode, when=when)
                        turns = ranked_turns(hits, turns_of)
                        for k in KS:
                            value = evidence_recall_at_k(question.evidence, turns, k)
                            if value is not None:
                                found[k].append(value)
                    table.setdefault(name, {})[conversation.sample_id] = {
                        k: statistics.mean(v) if v else 0.0 for k, v in found.items()
                    }
    return table, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    table, size = collect()
    names = list(size)
    weights = [str(w) for w in WEIGHTS]

    def fmt(values: dict[int, float]) -> str:
        return " / ".join(f"{values[k]:.3f}" for k in KS)

    def pooled(setting: str, chosen: list[str]) -> dict[int, float]:
        total = sum(size[c] for c in chosen)
        return {k: sum(table[setting][c][k] * size[c] for c in chosen) / total for k in KS}

    folds: list[dict[str, Any]] = []
    for held in names:
        train = [c for c in names if c != held]
        best = max(weights, key=lambda w: (sum(pooled(w, train).values()), -float(w)))
        folds.append(
            {
                "held_out": held,
                "fitted": float(best),
                "fitted_recall": pooled(best, train),
                "held_out_recall": table[best][held],
                "without": table["0.0"][held],
                "bm25": table["keyword"][held],
                "vector": table["vector"][held],
            }
        )
    lines = [
        "# Neighbouring chat windows: LoCoMo dev, 3-fold cross-validation over the conversations",
        "",
        f"Evidence recall@{'/'.join(map(str, KS))} at turn level, as `mem eval locomo` counts it, "
        f"categories 1-4 ({', '.join(f'{c}: {size[c]} questions' for c in names)}); every "
        "search through `Secondme.search` (period boost included).",
        "",
        "| neighbour weight | " + " | ".join(names) + " | all (pooled) |",
        "|---|" + "---|" * (len(names) + 1),
        *(
            f"| {w} | " + " | ".join(fmt(table[w][c]) for c in names) + f" | {fmt(pooled(w, names))} |"
            for w in [*weights, *BASELINES]
        ),
        "",
        "| held out | fitted weight | fitted (two conversations) | held-out | held-out without (0) "
        "| BM25 held-out | vector held-out |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {f['held_out']} | {f['fitted']} | {fmt(f['fitted_recall'])} | {fmt(f['held_out_recall'])} "
            f"| {fmt(f['without'])} | {fmt(f['bm25'])} | {fmt(f['vector'])} |"
            for f in folds
        ),
        "",
        f"Command: `python bench/neighbour_cv.py`; {time.perf_counter() - started:.0f} s.",
    ]
    write(Path(args.out), "neighbour-cv", {"table": table, "size": size, "folds": folds}, lines)


if __name__ == "__main__":
    main()

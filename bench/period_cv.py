"""How much a memory dated in the question's period is raised, by cross-validation on LoCoMo.

    python bench/period_cv.py [--out bench/results]

"What did Maria start, as mentioned on 3 June 2023?": search raises the fused score of
memories dated inside the period the question names (``retrieve.PERIOD_BOOST``; a boost, not
a filter, since an event can be told about after it happened).  Each LoCoMo dev conversation
is loaded as ``mem eval locomo`` loads it, each question's BM25 and vector rankings are kept
(as search fetches them), and the fusion and the boost are replayed offline for every value
of the grid.  Three folds: fitted on two conversations (the best mean of evidence
recall@5/10/20), scored on the third.  Questions without a period are not changed by any
value; the table shows them pooled with the rest, as ``mem eval`` counts, and the questions
with a period apart.
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
from secondme.eval.locomo import KS, RETRIEVAL_CATEGORIES, load_conversation, ranked_turns_of  # noqa: E402
from secondme.eval.metrics import evidence_recall_at_k  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402
from secondme.retrieve import fuse, memory_moment  # noqa: E402
from secondme.store.memories import Filters  # noqa: E402
from secondme.timeparse import question_time  # noqa: E402

BOOSTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


def collect() -> dict[str, dict[str, Any]]:
    """Per conversation: each question's rankings and period, the memories' dates and turns."""
    out: dict[str, dict[str, Any]] = {}
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for conversation in load_locomo():
            today = conversation.sessions[-1].date
            with workspace.home(conversation.sample_id, models) as app:
                turns_of = load_conversation(app, conversation)
                moments = {i: memory_moment(m) for i, m in app.store.get_many(list(turns_of)).items()}
                settings = app.settings.search
                rows = []
                for question in conversation.questions:
                    if question.category not in RETRIEVAL_CATEGORIES or not question.evidence:
                        continue
                    n = settings.candidates
                    keyword = [i for i, _ in app.store.keyword_search(question.question, Filters(), n)]
                    vector = [i for i, _ in app.vector_search(question.question, n, Filters())]
                    rows.append(
                        {
                            "keyword": keyword,
                            "vector": vector,
                            "when": question_time(question.question, today),
                            "evidence": question.evidence,
                        }
                    )
            out[conversation.sample_id] = {
                "rows": rows,
                "turns_of": turns_of,
                "moments": moments,
                "fusion": (settings.rrf_k, settings.vector_weight),
            }
    return out


def recall(data: dict[str, Any], boost: float, only_period: bool = False) -> dict[int, float]:
    rrf_k, weight = data["fusion"]
    found: dict[int, list[float]] = {k: [] for k in KS}
    for row in data["rows"]:
        when = row["when"]
        if only_period and not when.has_period:
            continue
        scores = fuse([row["keyword"], row["vector"]], rrf_k, [1.0, weight])
        if when.has_period:
            for memory_id in scores:
                moment = data["moments"].get(memory_id)
                if moment is not None and when.contains(moment):
                    scores[memory_id] *= 1.0 + boost
        ranked = sorted(scores, key=lambda i: (-scores[i], i))
        turns = ranked_turns_of(ranked, data["turns_of"])
        for k in KS:
            value = evidence_recall_at_k(row["evidence"], turns, k)
            if value is not None:
                found[k].append(value)
    return {k: statistics.mean(v) if v else 0.0 for k, v in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    data = collect()
    names = list(data)
    table = {b: {c: recall(data[c], b) for c in names} for b in BOOSTS}
    period = {b: {c: recall(data[c], b, only_period=True) for c in names} for b in BOOSTS}
    size = {c: len(data[c]["rows"]) for c in names}
    with_period = {c: sum(1 for r in data[c]["rows"] if r["when"].has_period) for c in names}

    def fmt(values: dict[int, float]) -> str:
        return " / ".join(f"{values[k]:.3f}" for k in KS)

    def pooled(b: float, chosen: list[str]) -> float:
        return sum(sum(table[b][c][k] for k in KS) * size[c] for c in chosen)

    folds = []
    for held in names:
        train = [c for c in names if c != held]
        best = max(BOOSTS, key=lambda b: (pooled(b, train), -b))
        folds.append({"held_out": held, "fitted": best, "held_out_recall": table[best][held]})
    lines = [
        "# Period boost: LoCoMo dev, 3-fold cross-validation over the conversations",
        "",
        f"Recall@{'/'.join(map(str, KS))} (turns), all questions of categories 1-4 with evidence; "
        f"in brackets recall@10 of the questions that name a period "
        f"({', '.join(f'{c}: {with_period[c]}' for c in names)}).",
        "",
        "| boost | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        *(
            f"| {b} | " + " | ".join(f"{fmt(table[b][c])} ({period[b][c][10]:.2f})" for c in names) + " |"
            for b in BOOSTS
        ),
        "",
        "| held out | fitted boost | held-out recall | with the boost of before (0.5) |",
        "|---|---|---|---|",
        *(
            f"| {f['held_out']} | {f['fitted']} | {fmt(f['held_out_recall'])} | "
            f"{fmt(table[0.5][f['held_out']])} |"
            for f in folds
        ),
        "",
        f"Command: `python bench/period_cv.py`; {time.perf_counter() - started:.0f} s.",
    ]
    write(
        Path(args.out),
        "period-cv",
        {
            "table": {str(b): table[b] for b in BOOSTS},
            "period": {str(b): period[b] for b in BOOSTS},
            "folds": folds,
        },
        lines,
    )


if __name__ == "__main__":
    main()

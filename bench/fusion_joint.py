"""Fusion parameters chosen across both benchmarks, by leaving one group out (a study).

    python bench/fusion_joint.py --locomo RANKINGS.pkl [--lme LME.pkl] [--out bench/results]

``--locomo`` is the rankings file ``bench/fusion_cv.py --rankings`` keeps (each LoCoMo dev
question's BM25 and vector rankings, 50 candidates each).  ``--lme`` is collected here the first
time (each LongMemEval_S dev question's haystack loaded through the chat pipeline, as
``mem eval longmemeval`` does, and its two rankings kept) and reused after.

Four groups: the three LoCoMo conversations and LongMemEval.  Each group in turn is held out;
the setting (rrf_k, vector weight) with the best mean score over the other three is tested on
it.  A group's score is the mean of its own metrics (LoCoMo: evidence recall@5/10/20 at turn
level; LongMemEval: recall_any@5, recall_all@5 and recall_any@10 at session level), so each
benchmark weighs the same however many questions it has.  The held-out rows are the numbers to
trust.  Like ``fusion_cv.py`` this ranks without the period boost that questions naming a time
get in `mem ask`; `mem eval` measures the chosen setting with it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import pickle
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from fusion_cv import hybrid  # noqa: E402
from fusion_cv import recall as locomo_recall  # noqa: E402

from secondme.eval.metrics import recall_all_at_k, recall_any_at_k  # noqa: E402
from secondme.store.memories import Filters  # noqa: E402

RRF_KS = (1, 3, 5, 10, 20, 60)
VECTOR_WEIGHTS = (0.3, 0.5, 0.7, 1.0, 1.5)
CANDIDATES = 50
LME = "longmemeval"


def collect_lme() -> list[dict[str, Any]]:
    """Each LongMemEval question's BM25 and vector rankings, with its windows' sessions."""
    from secondme.eval.datasets import load_longmemeval
    from secondme.eval.longmemeval import load_haystack
    from secondme.eval.runner import SharedModels, Workspace

    rows = []
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for number, question in enumerate(load_longmemeval()):
            if question.is_abstention or not question.answer_session_ids:
                continue
            with workspace.home(question.question_id, models) as app:
                sessions_of = load_haystack(app, question)
                filters = Filters()
                keyword = [i for i, _ in app.store.keyword_search(question.question, filters, CANDIDATES)]
                vector = [i for i, _ in app.vector_search(question.question, CANDIDATES, filters)]
            rows.append(
                {
                    "keyword": keyword,
                    "vector": vector,
                    "sessions_of": sessions_of,
                    "gold": list(question.answer_session_ids),
                    "category": question.question_type,
                }
            )
            print(f"collected {number + 1}: {question.question_id}", flush=True)
    return rows


def lme_recall(rows: list[dict[str, Any]], ranker: Any) -> dict[str, float]:
    """Session-level recall of a ranking over LongMemEval rows."""
    sums = {"recall_any@5": 0.0, "recall_all@5": 0.0, "recall_any@10": 0.0}
    for row in rows:
        seen: dict[str, None] = {}
        for memory_id in ranker(row):
            for session in row["sessions_of"].get(memory_id, []):
                seen.setdefault(session, None)
        ranked = list(seen)
        sums["recall_any@5"] += recall_any_at_k(row["gold"], ranked, 5) or 0.0
        sums["recall_all@5"] += recall_all_at_k(row["gold"], ranked, 5) or 0.0
        sums["recall_any@10"] += recall_any_at_k(row["gold"], ranked, 10) or 0.0
    return {name: value / max(1, len(rows)) for name, value in sums.items()}


def measure(group: str, rows: list[dict[str, Any]], ranker: Any) -> dict[str, float]:
    return lme_recall(rows, ranker) if group == LME else locomo_recall(rows, ranker)


def mean(metrics: dict[str, float]) -> float:
    return sum(metrics.values()) / len(metrics)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locomo", type=Path, required=True, help="fusion_cv.py's rankings file")
    parser.add_argument("--lme", type=Path, help="LongMemEval rankings (collected when missing)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    groups: dict[str, list[dict[str, Any]]] = dict(pickle.loads(args.locomo.read_bytes()))
    if args.lme is not None and args.lme.exists():
        groups[LME] = pickle.loads(args.lme.read_bytes())
    else:
        groups[LME] = collect_lme()
        if args.lme is not None:
            args.lme.write_bytes(pickle.dumps(groups[LME]))
    grid = list(itertools.product(RRF_KS, VECTOR_WEIGHTS))
    table = {(k, w): {g: measure(g, rows, hybrid(k, w)) for g, rows in groups.items()} for k, w in grid}
    alone = {
        name: {g: measure(g, rows, lambda r, n=name: r[n]) for g, rows in groups.items()}
        for name in ("keyword", "vector")
    }
    folds: list[dict[str, Any]] = []
    for held in groups:
        others = [g for g in groups if g != held]
        best = max(grid, key=lambda s: (sum(mean(table[s][g]) for g in others), s[0] == 3, -abs(s[1] - 1.0)))
        folds.append(
            {
                "held_out": held,
                "setting": best,
                "fitted": sum(mean(table[best][g]) for g in others) / len(others),
                "held_out_metrics": table[best][held],
                "bm25": alone["keyword"][held],
                "vector": alone["vector"][held],
            }
        )
    overall = max(grid, key=lambda s: sum(mean(table[s][g]) for g in groups))
    report: dict[str, Any] = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "groups": {g: len(rows) for g, rows in groups.items()},
        "folds": [{**f, "setting": list(f["setting"])} for f in folds],
        "consensus_all_groups": list(overall),
        "table": {f"{k},{w}": v for (k, w), v in table.items()},
        "alone": alone,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"fusion-joint-{stamp}.json").write_text(json.dumps(report, indent=1) + "\n")

    def cell(metrics: dict[str, float]) -> str:
        return " / ".join(f"{v:.3f}" for v in metrics.values())

    lines = [
        f"# Fusion across LoCoMo and LongMemEval, one group held out at a time ({stamp})",
        "",
        "LoCoMo cells: recall@5 / @10 / @20 (turns); LongMemEval cells: recall_any@5 / recall_all@5 / "
        "recall_any@10 (sessions). Groups: "
        + ", ".join(f"{g} ({n} q)" for g, n in report["groups"].items())
        + ".",
        "",
        "| held out | fitted on the others (rrf_k, w) | held-out hybrid | held-out BM25 | held-out vector |",
        "|---|---|---|---|---|",
    ]
    for fold in folds:
        lines.append(
            f"| {fold['held_out']} | {fold['setting'][0]}, {fold['setting'][1]} | "
            f"{cell(fold['held_out_metrics'])} | "
            f"{cell(fold['bm25'])} | {cell(fold['vector'])} |"
        )
    lines += ["", "Every setting on every group:", ""]
    lines += ["| rrf_k, w | " + " | ".join(groups) + " |", "|---|" + "---|" * len(groups)]
    for (k, w), per in table.items():
        lines.append(f"| {k}, {w} | " + " | ".join(cell(per[g]) for g in groups) + " |")
    lines += ["", f"Best over all four groups (not held out): {overall[0]}, {overall[1]}."]
    (args.out / f"fusion-joint-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[:12]))


if __name__ == "__main__":
    main()

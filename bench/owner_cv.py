"""How much others' words in chats should weigh for a question about the owner.

    python bench/owner_cv.py [--out bench/results]

For every LongMemEval_S dev question with evidence turns (not abstention), the haystack is
loaded as ``mem eval longmemeval`` loads it and searched once without the weighting
(``search.owner_boost = 0``, 120 hits deep).  Each value of ``owner_boost`` is then replayed on
those hits with the search's own weighting (:func:`secondme.retrieve._weigh_others`), and
measured at the level the benchmark marks evidence, the single message:

- *window@8*: every marked message is in the 8 memories ``mem ask`` reads;
- *reach*: every marked message is in the prompt's evidence, chosen by ``select_evidence``
  with the real embedder within ``answer.context_tokens``;
- session recall_any@5 / recall_all@5, as ``mem eval longmemeval`` counts them.

LoCoMo is not measured: its speakers are two named people, neither of them the owner, so the
weighting never applies there.  The value is chosen by 3-fold cross-validation over the
questions (every third question held out) and, as a second check, with one question type held
out at a time.
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

from evidence_select import UnitVectors, unit_turn, write  # noqa: E402

from secondme import timeparse  # noqa: E402
from secondme.answer import evidence  # noqa: E402
from secondme.answer.pipeline import select_hits  # noqa: E402
from secondme.eval.datasets import load_longmemeval  # noqa: E402
from secondme.eval.longmemeval import load_haystack, ranked_sessions  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402
from secondme.owner import about_the_owner  # noqa: E402
from secondme.retrieve import _weigh_others  # noqa: E402

BOOSTS = (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 8.0)
DEPTH = 120
READ = 8


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    rows = collect()
    report(rows, Path(args.out), time.perf_counter() - started)


def collect() -> list[dict[str, Any]]:
    """One row per question and boost value."""
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for number, question in enumerate(load_longmemeval()):
            text_of = {
                f"{s.session_id}:{i}": turn["content"]
                for s in question.sessions
                for i, turn in enumerate(s.turns)
            }
            wanted = {
                f"{s.session_id}:{i}"
                for s in question.sessions
                for i, turn in enumerate(s.turns)
                if turn["has_answer"]
            }
            if question.is_abstention or not wanted:
                continue
            with workspace.home(question.question_id, models) as app:
                app.settings.search.owner_boost = 0.0
                sessions_of = load_haystack(app, question)
                when = timeparse.question_time(question.question, question.question_date)
                hits = app.search(question.question, k=DEPTH, when=when)
                similarity = UnitVectors(app).scorer(app.embed([question.question])[0])
                budget = app.settings.answer.context_tokens
                owner = about_the_owner(question.question)
                for boost in BOOSTS:
                    ranked = reorder(hits, boost) if owner else hits
                    rows.append(
                        {
                            "question": number,
                            "category": question.question_type,
                            "boost": boost,
                            "owner": owner,
                        }
                        | measure(question, ranked, sessions_of, wanted, text_of, budget, similarity)
                    )
            print(f"{number + 1}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def reorder(hits: list[Any], boost: float) -> list[Any]:
    """The hits in the order the search gives them with ``owner_boost = boost``."""
    weighed = _weigh_others(
        {h.memory.id: h.score for h in hits}, {h.memory.id: h.memory for h in hits}, boost
    )
    return sorted(hits, key=lambda h: (-weighed[h.memory.id], h.memory.id))


def measure(
    question: Any,
    hits: list[Any],
    sessions_of: dict[int, list[str]],
    wanted: set[str],
    text_of: dict[str, str],
    budget: int,
    similarity: Any,
) -> dict[str, Any]:
    gold = set(question.answer_session_ids)
    sessions = ranked_sessions(hits[:50], sessions_of)
    read = select_hits(hits[:READ])
    in_read = {ref for h in read for ref in h.memory.metadata.get("refs") or []}
    shown: set[str] = set()
    excerpts = evidence.select_evidence(question.question, read, budget, similarity)
    for excerpt in excerpts:
        held = [(ref, text_of.get(ref, "")) for ref in excerpt.memory.metadata.get("refs") or []]
        shown.update(t for unit in excerpt.units if (t := unit_turn(unit, held)) is not None)
    return {
        "window8": wanted <= in_read,
        "reach": wanted <= shown,
        "any5": bool(gold & set(sessions[:5])),
        "all5": gold <= set(sessions[:5]),
        "tokens": sum(evidence.estimate_tokens(e.text()) for e in excerpts),
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.mean(float(r[key]) for r in rows) if rows else 0.0


def report(rows: list[dict[str, Any]], out: Path, elapsed: float) -> None:
    kinds = sorted({r["category"] for r in rows})
    questions = sorted({r["question"] for r in rows})
    owner_questions = len({r["question"] for r in rows if r["owner"]})

    def at(part: list[dict[str, Any]], boost: float, key: str = "reach") -> float:
        return _mean([r for r in part if r["boost"] == boost], key)

    lines = [
        "# Others' words in chats, for questions about the owner: LongMemEval_S dev",
        "",
        f"{len(questions)} questions with marked evidence messages, {owner_questions} of them about the "
        "owner (the others are not changed by the setting).  window@8: every marked message in the 8 "
        "memories read; reach: every marked message in the prompt's evidence; recall: sessions, as "
        "`mem eval longmemeval` counts them.",
        "",
        "## Every value, all questions (fitted on everything: for reading, not choosing)",
        "",
        "| owner_boost | window@8 | reach | recall_any@5 | recall_all@5 | median evidence tokens | "
        + " | ".join(f"reach {k}" for k in kinds)
        + " |",
        "|---" * (6 + len(kinds)) + "|",
    ]
    for boost in BOOSTS:
        mine = [r for r in rows if r["boost"] == boost]
        cells = [f"{at([r for r in rows if r['category'] == k], boost):.2f}" for k in kinds]
        lines.append(
            f"| {boost} | {at(rows, boost, 'window8'):.3f} | {at(rows, boost):.3f} | "
            f"{at(rows, boost, 'any5'):.3f} | {at(rows, boost, 'all5'):.3f} | "
            f"{statistics.median(r['tokens'] for r in mine):.0f} | " + " | ".join(cells) + " |"
        )
    fold_of = {q: i % 3 for i, q in enumerate(questions)}
    folds = []
    lines += [
        "",
        "## Cross-validated: every third question held out (fitted on reach, ties to the smaller value)",
        "",
        "| held out | fitted | fitted reach | held-out reach | held-out reach at 0 "
        "| held-out recall_all@5 | at 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    groups = [(f"fold {f + 1}", [q for q in questions if fold_of[q] == f]) for f in range(3)]
    groups += [(kind, sorted({r["question"] for r in rows if r["category"] == kind})) for kind in kinds]
    for name, held in groups:
        train = [r for r in rows if r["question"] not in held]
        test = [r for r in rows if r["question"] in held]
        best = max(BOOSTS, key=lambda b: (round(at(train, b), 6), -b))
        fold = {
            "held_out": name,
            "fitted": best,
            "fitted_reach": at(train, best),
            "held_out_reach": at(test, best),
            "held_out_reach_at_0": at(test, 0.0),
            "held_out_all5": at(test, best, "all5"),
            "held_out_all5_at_0": at(test, 0.0, "all5"),
        }
        folds.append(fold)
        lines.append(
            f"| {name} | {best} | {fold['fitted_reach']:.3f} | {fold['held_out_reach']:.3f} | "
            f"{fold['held_out_reach_at_0']:.3f} | {fold['held_out_all5']:.3f} | "
            f"{fold['held_out_all5_at_0']:.3f} |"
        )
    lines += ["", f"Command: `python bench/owner_cv.py`; {elapsed:.0f} s."]
    write(out, "owner-boost", {"folds": folds, "rows": rows}, lines)


if __name__ == "__main__":
    main()

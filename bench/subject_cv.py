"""Choose the subject check's thresholds by cross-validation over LoCoMo's dev conversations.

    python bench/subject_cv.py [--out bench/results]

LoCoMo's adversarial questions (category 5) ask about one speaker what the other one did
("What did Caroline realise after her charity race?" when Melanie ran it); ``mem ask`` should
decline them.  :func:`secondme.answer.checks.check_subject` does so before the model runs, from
the memories ``mem ask`` retrieves: it declines when the best sentence about someone else holds
the question's words with at least ``min_weight`` (summed IDF) and the best sentence about the
person asked about reaches less than ``share`` of that.

For every question of the dev split, the memories are retrieved as ``mem ask`` retrieves them
(``answer.k``, ``answer.min_score``, time in the question, asked at the last session's date) and
the support is measured once; each setting is then a pair of thresholds.  A setting is chosen
on two conversations and scored on the third: the share of adversarial questions declined
minus :data:`PENALTY` times the share of answerable questions (categories 1-4) declined (a
wrong "I don't know" costs an answer; a missed decline leaves it to the model and the answer
check).  No answer model runs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from secondme import timeparse  # noqa: E402
from secondme.answer import checks  # noqa: E402
from secondme.answer.pipeline import select_hits  # noqa: E402
from secondme.eval.datasets import load_locomo  # noqa: E402
from secondme.eval.locomo import load_conversation  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402

MIN_WEIGHTS = (0.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0)
SHARES = (0.5, 0.6, 0.7, 0.85, 1.0)
#: One answerable question declined weighs as much as this many adversarial ones declined.
PENALTY = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for conversation in load_locomo():
            with workspace.home(conversation.sample_id, models) as app:
                load_conversation(app, conversation)
                today = conversation.sessions[-1].date
                answer = app.settings.answer
                for index, question in enumerate(conversation.questions):
                    when = timeparse.question_time(question.question, today)
                    hits = select_hits(app.search(question.question, k=answer.k, when=when), answer.min_score)
                    support = checks.subject_support(question.question, [h.memory for h in hits])
                    rows.append(
                        {
                            "conversation": conversation.sample_id,
                            "question": index,
                            "adversarial": question.category == 5,
                            "support": support,
                        }
                    )
            print(f"{conversation.sample_id}: {time.perf_counter() - started:.0f} s", flush=True)
    report(rows, Path(args.out), time.perf_counter() - started)


def declined(row: dict[str, Any], setting: tuple[float, float]) -> bool:
    """Whether the check declines the row's question under ``setting`` (``setting`` is
    ``(min_weight, share)`` of :meth:`SubjectSupport.declines`)."""
    support = row["support"]
    return support is not None and support.declines(*setting)


def rates(rows: list[dict[str, Any]], setting: tuple[float, float]) -> tuple[float, float]:
    """(share of adversarial questions declined, share of answerable questions declined)."""
    adversarial = [declined(r, setting) for r in rows if r["adversarial"]]
    answerable = [declined(r, setting) for r in rows if not r["adversarial"]]
    return sum(adversarial) / max(1, len(adversarial)), sum(answerable) / max(1, len(answerable))


def objective(rows: list[dict[str, Any]], setting: tuple[float, float]) -> float:
    caught, wrong = rates(rows, setting)
    return caught - PENALTY * wrong


def report(rows: list[dict[str, Any]], out: Path, elapsed: float) -> None:
    conversations = sorted({r["conversation"] for r in rows})
    grid = list(itertools.product(MIN_WEIGHTS, SHARES))
    shipped = (checks.SUBJECT_MIN_WEIGHT, checks.SUBJECT_SHARE)
    lines = [
        "# Subject check: thresholds by cross-validation (LoCoMo dev, every question)",
        "",
        "Declined: adversarial questions (category 5) the check declines before the model runs; "
        "false: answerable questions (categories 1-4) it declines.  Setting: (min_weight, share). "
        f"Objective: declined - {PENALTY:g} x false.",
        "",
        "## Cross-validated: fitted on two conversations, scored on the third",
        "",
        "| held out | fitted setting | fitted declined / false | held-out declined / false | "
        f"shipped {shipped} held-out declined / false |",
        "|---|---|---|---|---|",
    ]
    folds = []
    for held in conversations:
        train = [r for r in rows if r["conversation"] != held]
        test = [r for r in rows if r["conversation"] == held]
        best = max(grid, key=lambda s: (objective(train, s), s[0], -s[1]))
        fold = {
            "held_out": held,
            "fitted": best,
            "fitted_rates": rates(train, best),
            "held_out_rates": rates(test, best),
            "shipped_held_out_rates": rates(test, shipped),
        }
        folds.append(fold)
        lines.append(
            f"| {held} | {best} | {_pair(fold['fitted_rates'])} | {_pair(fold['held_out_rates'])} | "
            f"{_pair(fold['shipped_held_out_rates'])} |"
        )
    counts = {
        "adversarial": sum(r["adversarial"] for r in rows),
        "answerable": sum(not r["adversarial"] for r in rows),
        "checked": sum(r["support"] is not None for r in rows),
    }
    lines += [
        "",
        f"{counts['adversarial']} adversarial and {counts['answerable']} answerable questions; the "
        f"check applies to {counts['checked']} (one participant named, no first person).",
        "",
        "## Every setting, all conversations pooled (for reading, not choosing)",
        "",
        "| setting | declined | false |",
        "|---|---|---|",
    ]
    lines += [f"| {s} | {_pair(rates(rows, s), ' | ')} |" for s in grid]
    lines += ["", f"Command: `python bench/subject_cv.py`; {elapsed:.0f} s."]
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    out.mkdir(parents=True, exist_ok=True)
    kept = [
        r | {"support": None if r["support"] is None else [r["support"].own, r["support"].other]}
        for r in rows
    ]
    data = {"folds": folds, "counts": counts, "rows": kept, "shipped": shipped, "penalty": PENALTY}
    (out / f"subject-cv-{stamp}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (out / f"subject-cv-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


def _pair(values: tuple[float, float], sep: str = " / ") -> str:
    return sep.join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    main()

"""Answer F1, abstention and latency against the evidence budget (``answer.context_tokens``).

    python bench/budget_sweep.py [--questions 30] [--budgets 200,350,600,1000] [--out bench/results]

The LoCoMo dev questions at evenly spread positions (the same positions ``mem eval locomo
--answer-limit N`` answers: :func:`secondme.eval.runner.spread`) are each answered once per
budget through ``mem ask``'s own path, in one process: each conversation is loaded once, the
model once, and the budgets take turns on every question, so load on the machine falls on all
of them alike.  Scoring as in ``mem eval locomo``: token F1 for categories 1-4, abstention for
category 5, and false abstention (declined, but the question has an answer) for 1-4.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from secondme.answer import ask, strip_citations  # noqa: E402
from secondme.eval.datasets import load_locomo  # noqa: E402
from secondme.eval.locomo import load_conversation  # noqa: E402
from secondme.eval.metrics import locomo_answer_score  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace, spread  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=30)
    parser.add_argument("--budgets", default="200,350,600,1000")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    conversations = load_locomo()
    total = sum(len(c.questions) for c in conversations)
    chosen = spread(total, args.questions)
    records = []
    started = time.perf_counter()
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=True, embedding_cache=True)
        llm = models.llm
        position = 0
        for conversation in conversations:
            picked = [(i, q) for i, q in enumerate(conversation.questions) if position + i in chosen]
            position += len(conversation.questions)
            if not picked:
                continue
            with workspace.home(conversation.sample_id, models) as app:
                load_conversation(app, conversation)
                today = conversation.sessions[-1].date
                for index, question in picked:
                    for budget in budgets:
                        app.settings.answer.context_tokens = budget
                        t = time.perf_counter()
                        result = ask(app, question.question, llm=llm, today=today)
                        seconds = time.perf_counter() - t
                        score = locomo_answer_score(
                            strip_citations(result.answer), question.answer, question.category
                        )
                        records.append(
                            {
                                "id": f"{conversation.sample_id}#{index}",
                                "category": question.category_name,
                                "budget": budget,
                                "answer": result.answer,
                                "gold": question.answer,
                                "score": score,
                                "abstained": result.abstained,
                                "prompt_tokens": result.prompt_tokens,
                                "seconds": round(seconds, 2),
                            }
                        )
                        print(json.dumps(records[-1]), flush=True)
    rows = []
    for budget in budgets:
        mine = [r for r in records if r["budget"] == budget]
        answerable = [r for r in mine if r["category"] != "adversarial"]
        adversarial = [r for r in mine if r["category"] == "adversarial"]
        rows.append(
            {
                "budget": budget,
                "f1": statistics.mean(r["score"] for r in answerable) if answerable else None,
                "abstention": statistics.mean(r["score"] for r in adversarial) if adversarial else None,
                "false_abstention": statistics.mean(r["abstained"] for r in answerable)
                if answerable
                else None,
                "median_prompt_tokens": statistics.median(r["prompt_tokens"] for r in mine),
                "median_seconds": statistics.median(r["seconds"] for r in mine),
                "mean_seconds": statistics.mean(r["seconds"] for r in mine),
                "answerable": len(answerable),
                "adversarial": len(adversarial),
            }
        )
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "questions": args.questions,
        "rows": rows,
        "records": records,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    (out / f"budget-sweep-{stamp}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines = [
        f"# Evidence budget sweep: LoCoMo dev, {args.questions} questions spread over the split",
        "",
        "| context_tokens | F1 (1-4) | abstention (5) | false abstention (1-4) | median prompt tokens "
        "| median s/answer | mean s/answer |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['budget']} | {fmt(r['f1'])} (n={r['answerable']}) | {fmt(r['abstention'])} "
            f"(n={r['adversarial']}) | {fmt(r['false_abstention'])} | {r['median_prompt_tokens']} "
            f"| {r['median_seconds']:.1f} | {r['mean_seconds']:.1f} |"
        )
    lines += [
        "",
        f"Command: `python bench/budget_sweep.py --questions {args.questions} --budgets "
        f"{args.budgets}`; {result['elapsed_s']} s in all.",
    ]
    (out / f"budget-sweep-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Answer F1, abstention and latency against the evidence budget (``answer.context_tokens``).

    python bench/budget_sweep.py [--questions 150] [--held-out | --fresh]
                                 [--budgets 200,350,600,1000] [--out bench/results]
    python bench/budget_sweep.py --reports SWEEP.json [SWEEP.json ...] [--out bench/results]

The LoCoMo dev questions of one of ``mem eval locomo``'s answer samples (the tuning sample by
default, or ``--held-out`` / ``--fresh``: :func:`secondme.eval.locomo.answer_positions`) are each
answered once per budget through ``mem eval``'s own answer path
(:func:`secondme.eval.runner.answer_question`), in one process: each conversation is loaded
once, the model once, and the budgets take turns on every question, so load on the machine
falls on all of them alike.  Scored as ``mem eval locomo`` scores: token F1 for categories 1-4,
abstention for category 5, false abstention (declined, but the question has an answer) for
1-4; the overall score is the mean over all of them (F1 or abstention per question).

Which budget to ship is chosen by cross-validation over the conversations: the budget with the
best overall score on two (the smaller on a tie: fewer tokens to wait for) is scored on the
third.  llama.cpp's own prompt and decode rates are measured in the same run, before and after
(:func:`daemon.llama_rates`, a cold prompt), and each budget's seconds are given beside the
floor those rates set for its uncached prompt tokens and answer tokens.  ``--reports`` reads
earlier sweeps' answers (of different samples) and makes the same choice over them together,
without the model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from daemon import llama_rates  # noqa: E402

from secondme.answer import prepare  # noqa: E402
from secondme.eval.datasets import load_locomo  # noqa: E402
from secondme.eval.locomo import answer_metrics, answer_positions, load_conversation  # noqa: E402
from secondme.eval.report import free_base  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace, answer_question, load_average  # noqa: E402


def score_of(records: list[dict[str, Any]]) -> dict[str, Any]:
    """F1, abstention, false abstention and the overall score of some answers."""
    answerable = [r for r in records if r["category"] != "adversarial"]
    adversarial = [r for r in records if r["category"] == "adversarial"]

    def mean(values: list[float]) -> float | None:
        return statistics.mean(values) if values else None

    return {
        "overall": mean([r["score"] for r in records]),
        "f1": mean([r["score"] for r in answerable]),
        "abstention": mean([r["score"] for r in adversarial]),
        "false_abstention": mean([float(r["declined"]) for r in answerable]),
        "answerable": len(answerable),
        "adversarial": len(adversarial),
    }


def choose(records: list[dict[str, Any]], budgets: list[int]) -> int:
    """The budget with the best overall score (the smaller on a tie)."""

    def overall(budget: int) -> float:
        return round(score_of([r for r in records if r["budget"] == budget])["overall"] or 0.0, 9)

    return max(budgets, key=lambda b: (overall(b), -b))


def cross_validate(records: list[dict[str, Any]], budgets: list[int]) -> list[dict[str, Any]]:
    """Fit the budget on all conversations but one, score it on that one, for each in turn;
    beside it, what every budget scores on the held-out conversation."""
    folds = []
    for held in sorted({r["conversation"] for r in records}):
        fitted = choose([r for r in records if r["conversation"] != held], budgets)
        test = [r for r in records if r["conversation"] == held]
        folds.append(
            {
                "held_out": held,
                "fitted": fitted,
                "held_out_scores": {b: score_of([r for r in test if r["budget"] == b]) for b in budgets},
            }
        )
    return folds


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def floor(app: Any, question: str, today: Any, llm: Any) -> dict[str, Any]:
    """llama.cpp's own rates on ``question``'s prompt at the budget set, from a cold cache."""
    prepared = prepare(app, question, today=today)
    return llama_rates(llm, prepared.messages, app.settings.llm.max_tokens)


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Answer the sample at every budget; the run's records, rates and load."""
    budgets = [int(b) for b in args.budgets.split(",")]
    conversations = load_locomo()
    total = sum(len(c.questions) for c in conversations)
    chosen = answer_positions(total, total, args.questions, args.held_out, args.fresh)
    name = "fresh" if args.fresh else "held out" if args.held_out else "tuning"
    records: list[dict[str, Any]] = []
    rates: list[dict[str, Any]] = []
    load = {"start": load_average()}
    started = time.perf_counter()
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=True, embedding_cache=True)
        plan, position = [], 0
        for conversation in conversations:
            picked = [(i, q) for i, q in enumerate(conversation.questions) if position + i in chosen]
            position += len(conversation.questions)
            if picked:
                plan.append((conversation, picked))
        for number, (conversation, picked) in enumerate(plan, 1):
            with workspace.home(conversation.sample_id, models) as app:
                load_conversation(app, conversation)
                today = conversation.sessions[-1].date
                # llama.cpp's own rates before the first answer and after the last one.
                if number == 1:
                    rates.append(floor(app, picked[0][1].question, today, models.llm))
                shipped = app.settings.answer.context_tokens, app.settings.answer.list_context_tokens
                # One budget for every question: questions that ask for several things do not
                # get their larger one (``answer.list_context_tokens``) here.
                app.settings.answer.list_context_tokens = 0
                for index, question in picked:
                    for budget in budgets:
                        app.settings.answer.context_tokens = budget
                        outcome = answer_question(app, models, question.question, today)
                        metrics = answer_metrics(outcome["answer"], question)
                        records.append(
                            {
                                "id": f"{conversation.sample_id}#{index}",
                                "conversation": conversation.sample_id,
                                "category": question.category_name,
                                "budget": budget,
                                "answer": outcome["answer"],
                                "gold": question.answer,
                                "score": metrics.get("f1", metrics.get("abstention")),
                                # Declined, as mem eval counts it (an adversarial one is scored so).
                                "declined": bool(metrics.get("false_abstention", metrics.get("abstention"))),
                                "declined_by": outcome.get("declined_by"),
                                "prompt_tokens": outcome.get("prompt_tokens"),
                                "answer_tokens": len(outcome.get("tokens") or []),
                                "confidence": outcome.get("confidence"),
                                "unsure": outcome.get("unsure"),
                                "seconds": round(outcome["seconds"], 3),
                                "error": outcome["error"],
                            }
                        )
                        print(json.dumps(records[-1]), flush=True)
                app.settings.answer.context_tokens, app.settings.answer.list_context_tokens = shipped
                if number == len(plan):
                    rates.append(floor(app, picked[0][1].question, today, models.llm))
    load["end"] = load_average()
    command = f"python bench/budget_sweep.py --questions {args.questions} --budgets {args.budgets}" + (
        " --fresh" if args.fresh else " --held-out" if args.held_out else ""
    )
    with_floors(records, rates)
    return {
        "command": command,
        "sample": name,
        "questions": args.questions,
        "budgets": budgets,
        "rates": rates,
        "load_average": load,
        "records": records,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def with_floors(records: list[dict[str, Any]], rates: list[dict[str, Any]]) -> None:
    """Each answer's floor: the seconds llama.cpp's own rates in its run give for its uncached
    prompt tokens and its answer tokens (None when the model was not asked)."""
    prompt_rate = statistics.mean(r["prompt_tok_s"] for r in rates)
    decode_rate = statistics.mean(r["decode_tok_s"] for r in rates)
    for r in records:
        r["floor_s"] = (
            r["prompt_tokens"] / prompt_rate + r["answer_tokens"] / decode_rate
            if r["prompt_tokens"]
            else None
        )


def pooled(paths: list[str]) -> dict[str, Any]:
    """The records of earlier sweeps together (each with its own run's floor), at the budgets
    they all answered: one choice over the conversations of several samples.  No model runs."""
    runs = [json.loads(Path(path).read_text(encoding="utf-8")) for path in paths]
    budgets = sorted(set.intersection(*(set(run["budgets"]) for run in runs)))
    records = []
    for run in runs:
        with_floors(run["records"], run["rates"])
        records += [{**r, "sample": run["sample"]} for r in run["records"] if r["budget"] in budgets]
    return {
        "command": "python bench/budget_sweep.py --reports " + " ".join(Path(p).name for p in paths),
        "sample": " + ".join(run["sample"] for run in runs),
        "questions": sum(run["questions"] for run in runs),
        "budgets": budgets,
        "rates": [rate for run in runs for rate in run["rates"]],
        "load_average": {run["sample"]: run["load_average"] for run in runs},
        "records": records,
        "elapsed_s": sum(run["elapsed_s"] for run in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=150)
    sample = parser.add_mutually_exclusive_group()
    sample.add_argument("--held-out", action="store_true", help="mem eval locomo --held-out's questions")
    sample.add_argument("--fresh", action="store_true", help="mem eval locomo --fresh's questions")
    sample.add_argument("--reports", nargs="+", help="earlier sweeps' JSON, analysed together (no model)")
    parser.add_argument("--budgets", default="200,350,600,1000")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    result = analyse(pooled(args.reports) if args.reports else run(args))
    write(result, Path(args.out), "budget-sweep-pooled" if args.reports else "budget-sweep")


def analyse(result: dict[str, Any]) -> dict[str, Any]:
    """Add each budget's figures (``rows``) and the cross-validated choice (``folds``)."""
    records, budgets = result["records"], result["budgets"]
    rows = []
    for budget in budgets:
        mine = [r for r in records if r["budget"] == budget]
        modelled = [r for r in mine if r["prompt_tokens"]]
        rows.append(
            {
                "budget": budget,
                **score_of(mine),
                "median_prompt_tokens": statistics.median(r["prompt_tokens"] for r in modelled),
                "median_seconds": statistics.median(r["seconds"] for r in modelled),
                "mean_seconds": statistics.mean(r["seconds"] for r in modelled),
                "mean_floor_s": statistics.mean(r["floor_s"] for r in modelled),
                "per_conversation": {
                    c: score_of([r for r in mine if r["conversation"] == c])
                    for c in sorted({r["conversation"] for r in mine})
                },
            }
        )
    return {**result, "rows": rows, "folds": cross_validate(records, budgets)}


def write(result: dict[str, Any], out: Path, prefix: str) -> None:
    """The JSON and Markdown report, named by the minute (never over an earlier one)."""
    out.mkdir(parents=True, exist_ok=True)
    stem = free_base(out, f"{prefix}-{datetime.now():%Y%m%d-%H%M}")
    rows, records = result["rows"], result["records"]
    rates, load, command = result["rates"], result["load_average"], result["command"]
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    conversations_seen = sorted({r["conversation"] for r in records})
    lines = [
        f"# Evidence budget sweep: LoCoMo dev, answer samples: {result['sample']} "
        f"({result['questions']} questions)",
        "",
        f"Command: `{command}`; {result['elapsed_s']:.0f} s of answering in all, load average {load}.  "
        "llama.cpp's own rates in the same run (a cold prompt, before and after): "
        + ", ".join(f"{r['prompt_tok_s']:.1f} prompt / {r['decode_tok_s']:.1f} decode tok/s" for r in rates)
        + ".  Overall: F1 for categories 1-4 and abstention for category 5, one score per question, "
        "averaged.  Floor: the seconds those rates give for each answer's uncached prompt tokens and "
        "its answer tokens.",
        "",
        "| context_tokens | overall | F1 (1-4) | abstention (5) | false abstention (1-4) | median prompt "
        "tokens | median s/answer | mean s/answer | mean floor s | time / floor |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['budget']} | {fmt(r['overall'])} | {fmt(r['f1'])} (n={r['answerable']}) | "
            f"{fmt(r['abstention'])} (n={r['adversarial']}) | {fmt(r['false_abstention'])} | "
            f"{r['median_prompt_tokens']:g} | {r['median_seconds']:.1f} | {r['mean_seconds']:.1f} | "
            f"{r['mean_floor_s']:.1f} | {r['mean_seconds'] / r['mean_floor_s']:.2f} |"
        )
    lines += [
        "",
        "Per conversation, overall / F1 / abstention:",
        "",
        "| context_tokens | " + " | ".join(conversations_seen) + " |",
        "|---|" + "---|" * len(conversations_seen),
        *(
            f"| {r['budget']} | "
            + " | ".join(
                f"{fmt(s['overall'])} / {fmt(s['f1'])} / {fmt(s['abstention'])}"
                for s in (r["per_conversation"][c] for c in conversations_seen)
            )
            + " |"
            for r in rows
        ),
        "",
        "Cross-validated choice (the best overall score on two conversations, the smaller budget on a "
        "tie), scored on the third:",
        "",
        "| held out | fitted | held-out overall at the fitted budget | held-out overall at each budget |",
        "|---|---|---|---|",
        *(
            f"| {f['held_out']} | {f['fitted']} | {fmt(f['held_out_scores'][f['fitted']]['overall'])} | "
            + ", ".join(f"{b}: {fmt(s['overall'])}" for b, s in f["held_out_scores"].items())
            + " |"
            for f in result["folds"]
        ),
        "",
    ]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""The detail check replayed on recorded answers: which questions it would decline.

    python bench/detail_replay.py REPORT.json [REPORT.json ...] [--out bench/results]
    python bench/detail_replay.py --locomo [--out bench/results]

The check (:func:`secondme.answer.details.check_detail`) runs before the model on the evidence
the prompt shows, so a recorded ``mem eval`` report (each answer's prompt is kept) says exactly
what it would do: the evidence is read back from the prompt, and a question the check declines
is scored as "I don't know".  Answers the model gave are otherwise unchanged, so the figures
are what a new run would give with the same answers.  Questions declined before the model in
the recording (no prompt) stay declined.

``--locomo`` does not need answers: every question of the LoCoMo dev split (all 497, not a
sample) is prepared as ``mem eval locomo`` would ask it (retrieval, evidence, the checks before
the model; no model), and the report counts which the detail check declines: of the
adversarial questions (right) and of the answerable ones (false, whatever the model would
have answered).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from evidence_select import write  # noqa: E402

from secondme.answer.details import CONCRETE, check_detail  # noqa: E402

# A memory in the prompt: ``[12] (8 May 2023, episodic, chat) "text"``.
_SHOWN = re.compile(r'^\[(\d+)\] \([^()\n]*\) "(.*)"$')


def shown(prompt: str) -> list[tuple[int, str]]:
    """The (memory id, text) pairs a recorded prompt showed, in its order."""
    body = prompt.split("\n\nQuestion:", 1)[0]
    found = []
    for line in body.splitlines():
        match = _SHOWN.match(line)
        if match:
            found.append((int(match.group(1)), match.group(2)))
    return found


def replay(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    answered = [r for r in data["records"] if "answer" in r]
    lme = data["bench"] == "longmemeval" if "bench" in data else "answer_sessions" in answered[0]
    rows = []
    for record in answered:
        if lme:
            refusal = bool(record.get("abstention_question"))
            score = record["metrics"].get("accuracy")
        else:
            refusal = record["category"] == "adversarial"
            score = record["metrics"].get("f1")
        prompt = record.get("prompt") or ""
        declined = None
        if prompt and not record["abstained"]:
            declined = check_detail(record["question"], shown(prompt))
        rows.append(
            {
                "id": record["id"],
                "category": record["category"],
                "question": record["question"],
                "refusal": refusal,
                # Declined as the benchmark counts it (its scorer reads "The memories do not say"
                # as declining too), else as the answer path said.
                "abstained": bool(
                    record["metrics"].get(
                        "abstention" if refusal else "false_abstention", record["abstained"]
                    )
                ),
                "declined": None if declined is None else declined.explain(),
                "score": score,
            }
        )
    return {"report": path.name, "lme": lme, "rows": rows}


#: What counts as another of the kind asked about, the settings the cross-validation chooses
#: from: siblings only (a shared parent: "pup" for "kitten"), or cousins too (a shared
#: grandparent: "Rome" for "Barcelona") for places and people, or for every concrete kind.
VARIANTS = {
    "siblings": frozenset(),
    "cousins: places, people": frozenset({"noun.location", "noun.person"}),
    "cousins: every concrete kind": CONCRETE,
}


def prepare_all() -> dict[str, dict[str, Any]]:
    """Every LoCoMo dev question through :func:`prepare` (no model), the detail check run with
    each of :data:`VARIANTS` on the evidence prepared: per variant, what it declines."""
    from secondme.answer.pipeline import prepare
    from secondme.eval.datasets import load_locomo
    from secondme.eval.locomo import load_conversation
    from secondme.eval.runner import SharedModels, Workspace

    results: dict[str, dict[str, Any]] = {
        name: {"report": f"LoCoMo dev, all questions ({name})", "variant": name, "lme": False, "rows": []}
        for name in VARIANTS
    }
    with Workspace() as workspace:
        settings = workspace.settings()
        models = SharedModels(settings, answers=False, embedding_cache=True)
        for conversation in load_locomo():
            today = conversation.sessions[-1].date
            with workspace.home(conversation.sample_id, models) as app:
                app.settings.answer.check_details = False  # run below, once per variant
                load_conversation(app, conversation)
                for index, question in enumerate(conversation.questions):
                    prepared = prepare(app, question.question, today=today)
                    shown = [(e.memory.id, e.text()) for e in prepared.excerpts]
                    for name, kinds in VARIANTS.items():
                        declined = None
                        if prepared.declined is None:
                            declined = check_detail(question.question, shown, cousin_kinds=kinds)
                        results[name]["rows"].append(
                            {
                                "id": f"{conversation.sample_id}#{index}",
                                "conversation": conversation.sample_id,
                                "category": question.category_name,
                                "question": question.question,
                                "refusal": question.category_name == "adversarial",
                                "abstained": False,
                                "declined": None if declined is None else declined.explain(),
                                "score": None,
                            }
                        )
    return results


def cross_validate(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Three folds over the conversations: the variant with the best abstention gained less
    false abstention gained on two (ties: the narrower, first in :data:`VARIANTS`), scored on
    the third."""

    def rates(name: str, conversations: set[str]) -> tuple[float, float, int, int, int, int]:
        rows = [r for r in results[name]["rows"] if r["conversation"] in conversations]
        refusals = [r for r in rows if r["refusal"]]
        answerable = [r for r in rows if not r["refusal"]]
        right = sum(1 for r in refusals if r["declined"])
        wrong = sum(1 for r in answerable if r["declined"])
        return right / len(refusals), wrong / len(answerable), right, len(refusals), wrong, len(answerable)

    conversations = sorted({r["conversation"] for r in next(iter(results.values()))["rows"]})
    folds = []
    for held in conversations:
        train = set(conversations) - {held}
        fitted = max(
            VARIANTS, key=lambda n: (rates(n, train)[0] - rates(n, train)[1], -list(VARIANTS).index(n))
        )
        folds.append(
            {"held_out": held, "fitted": fitted, "train": rates(fitted, train), "test": rates(fitted, {held})}
        )
    return folds


def summary(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["rows"]
    refusals = [r for r in rows if r["refusal"]]
    answerable = [r for r in rows if not r["refusal"]]

    def mean(values: list[float]) -> float:
        return statistics.mean(values) if values else 0.0

    after = [0.0 if r["declined"] else (r["score"] or 0.0) for r in answerable]
    return {
        "report": result["report"],
        "refusals": len(refusals),
        "answerable": len(answerable),
        "abstention_before": mean([float(r["abstained"]) for r in refusals]),
        "abstention_after": mean([float(r["abstained"] or bool(r["declined"])) for r in refusals]),
        "false_before": mean([float(r["abstained"]) for r in answerable]),
        "false_after": mean([float(r["abstained"] or bool(r["declined"])) for r in answerable]),
        "score_before": mean([r["score"] or 0.0 for r in answerable]),
        "score_after": mean(after),
        "declined_refusals": sum(1 for r in refusals if r["declined"]),
        "declined_answerable": sum(1 for r in answerable if r["declined"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="*")
    parser.add_argument("--locomo", action="store_true", help="every LoCoMo dev question, no model")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    results = [replay(Path(p)) for p in args.reports]
    folds: list[dict[str, Any]] = []
    if args.locomo:
        variants = prepare_all()
        folds = cross_validate(variants)
        results += list(variants.values())
    sums = [summary(r) for r in results if not r.get("variant")]
    lines = [
        "# The detail check replayed on recorded answers (`bench/detail_replay.py`)",
        "",
        "Abstention: share of the questions the memories do not answer (LoCoMo's adversarial, "
        "LongMemEval's abstention questions) that are declined; false abstention: share of the "
        "answerable ones declined; score: LoCoMo F1 (categories 1-4) or LongMemEval's stand-in "
        "accuracy over the answerable ones, a declined one scoring 0.",
        "",
        "| report | abstention | false abstention | score | declined: refusals / answerable |",
        "|---|---|---|---|---|",
        *(
            f"| `{s['report']}` | {s['abstention_before']:.3f} -> {s['abstention_after']:.3f} "
            f"(n={s['refusals']}) | {s['false_before']:.3f} -> {s['false_after']:.3f} (n={s['answerable']}) "
            f"| {s['score_before']:.3f} -> {s['score_after']:.3f} | {s['declined_refusals']} / "
            f"{s['declined_answerable']} |"
            for s in sums
        ),
        "",
        *(
            [
                "Every LoCoMo dev question prepared as `mem eval locomo` asks it (no model), the check "
                "run on the evidence with each setting: how many it declines.",
                "",
                "| setting | adversarial declined | answerable declined |",
                "|---|---|---|",
                *(
                    f"| {r['variant']} | {sum(1 for x in r['rows'] if x['refusal'] and x['declined'])}"
                    f"/{sum(1 for x in r['rows'] if x['refusal'])} | "
                    f"{sum(1 for x in r['rows'] if not x['refusal'] and x['declined'])}"
                    f"/{sum(1 for x in r['rows'] if not x['refusal'])} |"
                    for r in results
                    if r.get("variant")
                ),
                "",
                "Which relatives count, by 3-fold cross-validation over the conversations (fitted "
                "on two: the best abstention gained less false abstention gained; scored on the third):",
                "",
                "| held out | fitted | fitted: declined adversarial / answerable | held out: declined "
                "adversarial / answerable |",
                "|---|---|---|---|",
                *(
                    f"| {f['held_out']} | {f['fitted']} | {f['train'][2]}/{f['train'][3]} / "
                    f"{f['train'][4]}/{f['train'][5]} | {f['test'][2]}/{f['test'][3]} / "
                    f"{f['test'][4]}/{f['test'][5]} |"
                    for f in folds
                ),
                "",
            ]
            if folds
            else []
        ),
        "Every question the check declines:",
        "",
        "| report | kind | question | declined with |",
        "|---|---|---|---|",
        *(
            f"| `{r['report']}` | {'refusal' if row['refusal'] else 'answerable'} | {row['question']} "
            f"| {row['declined']} |"
            for r in results
            for row in r["rows"]
            if row["declined"]
        ),
        "",
        f"Command: `python bench/detail_replay.py {' '.join(Path(p).name for p in args.reports)}"
        f"{' --locomo' if args.locomo else ''}`; "
        f"{time.perf_counter() - started:.0f} s.",
    ]
    write(Path(args.out), "detail-replay", {"summaries": sums, "folds": folds, "results": results}, lines)
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""Cutting an answer's opening that restates the question: in the sample and held out.

    python bench/restated_holdout.py [--questions 120] [--records FILE] [--sample REPORT]
                                     [--out bench/results]

Small models answer in whole sentences: "The biggest challenge John faced in his journey to
becoming assistant manager was self-doubt." against LoCoMo's gold "self-doubt".  The rule
tried here (:func:`drop_restatement`) cuts the first sentence's opening before "is/are/was/
were" (and, in the second variant, "because") when at least three quarters of its words, two
at least, are the question's, it does not end in a pronoun ("John believes it is ...") and no
passive follows ("were compared to ...").  It was written while reading the answers of the
150-question sample of ``mem eval locomo``, so it is scored twice:

- in the sample: replayed on a recorded report's answers (``--sample``);
- held out: on ``--questions`` other questions of the dev split, spread evenly over those the
  sample leaves out (same file order and spreading as ``mem eval locomo``), answered through
  ``mem ask``'s own code path at each conversation's last session.  ``--records`` reuses the
  answers of an earlier run of this script instead of asking the model again.

Scores: LoCoMo token F1 (citations removed) for categories 1-4.  Writes JSON and Markdown.
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

from secondme.answer import strip_citations  # noqa: E402
from secondme.answer.citations import CITATION  # noqa: E402
from secondme.answer.evidence import stems  # noqa: E402
from secondme.eval.datasets import LOCOMO_CATEGORIES, load_locomo  # noqa: E402
from secondme.eval.locomo import DEFAULT_ANSWERS, answer_positions, load_conversation  # noqa: E402
from secondme.eval.metrics import locomo_answer_score  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace, answer_question  # noqa: E402

#: The share of the opening's words that must be the question's.
RESTATED_SHARE = 0.75
VARIANTS = {
    "is/are/was/were": re.compile(r"\s+(is|are|was|were)\s+", re.IGNORECASE),
    "is/are/was/were/because": re.compile(r"\s+(is|are|was|were|because)\s+", re.IGNORECASE),
}
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_PRONOUNS = frozenset(
    {"i", "you", "he", "she", "it", "we", "they", "this", "that", "these", "those", "there", "who", "which"}
    | {"what", "one"}
)
_PARTICIPLE = re.compile(r"[a-z]+ed\b")


def _stems(text: str) -> set[str]:
    return stems(CITATION.sub(" ", text))


def drop_restatement(question: str, answer: str, joins: re.Pattern[str]) -> str:
    """``answer`` without a first-sentence opening that only restates ``question``."""
    answer = answer.strip()
    parts = _FIRST_SENTENCE.split(answer, maxsplit=1)
    first, rest = parts[0], parts[1] if len(parts) > 1 else ""
    asked = _stems(question)
    cut: tuple[str, str, str] | None = None
    for join in joins.finditer(first):
        head, tail = first[: join.start()], first[join.end() :].strip()
        words = CITATION.sub(" ", head).split()
        if not tail or not words or words[-1].strip(",;:").lower() in _PRONOUNS:
            continue
        word = join.group(1).lower()
        if word != "because" and _PARTICIPLE.match(tail.lower()):
            continue
        said = _stems(head)
        if len(said) >= 2 and len(said & asked) >= RESTATED_SHARE * len(said):
            cut = (head, word, tail)
    if cut is None:
        return answer
    head, word, tail = cut
    if word == "because":
        tail = f"because {tail}"
    moved = "".join(f"[{c}]" for c in CITATION.findall(head) if f"[{c}]" not in tail)
    if moved:
        stop = re.search(r"[.!?]$", tail)
        tail = f"{tail[: stop.start()]} {moved}{stop.group()}" if stop else f"{tail} {moved}"
    shortened = tail[0].upper() + tail[1:]
    return f"{shortened} {rest}" if rest else shortened


def ask_held_out(count: int) -> list[dict[str, Any]]:
    """Answer the held-out questions with the shipped pipeline; one record each."""
    conversations = load_locomo()
    total = sum(len(c.questions) for c in conversations)
    chosen = answer_positions(total, total, count, held_out=True)
    records: list[dict[str, Any]] = []
    position = 0
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=True, embedding_cache=True)
        for conversation in conversations:
            wanted = []
            for question in conversation.questions:
                if position in chosen:
                    wanted.append(question)
                position += 1
            if not wanted:
                continue
            today = conversation.sessions[-1].date
            with workspace.home(conversation.sample_id, models) as app:
                load_conversation(app, conversation)
                for question in wanted:
                    outcome = answer_question(app, models, question.question, today)
                    records.append(
                        {
                            "conversation": conversation.sample_id,
                            "category": question.category,
                            "question": question.question,
                            "gold": question.answer,
                            "abstained": bool(outcome["abstained"]),
                            "written": outcome["answer"],
                            "seconds": round(outcome["seconds"], 2),
                            "error": outcome["error"],
                        }
                    )
                    print(f"{len(records)}/{count} {question.question[:60]}", file=sys.stderr, flush=True)
    return records


def sample_records(report: Path) -> list[dict[str, Any]]:
    """The answered questions of a ``mem eval locomo`` report, in this script's form."""
    numbers = {name: number for number, name in LOCOMO_CATEGORIES.items()}
    data = json.loads(report.read_text(encoding="utf-8"))
    return [
        {
            "category": numbers[r["category"]],
            "question": r["question"],
            "gold": r["gold"],
            "abstained": r["abstained"],
            "written": r["answer"],
        }
        for r in data["records"]
        if r["system"] == "hybrid" and "answer" in r
    ]


def score(records: list[dict[str, Any]], joins: re.Pattern[str] | None) -> dict[str, Any]:
    """F1 by category (1-4) with the answers as written (``joins`` None) or cut."""
    by_category: dict[str, list[float]] = {}
    changed = []
    for record in records:
        if record["category"] == 5:
            continue
        written = record["written"]
        answer = (
            written
            if joins is None or record["abstained"]
            else drop_restatement(record["question"], written, joins)
        )
        value = locomo_answer_score(strip_citations(answer), record["gold"], record["category"])
        by_category.setdefault(LOCOMO_CATEGORIES[record["category"]], []).append(value)
        if answer != written:
            before = locomo_answer_score(strip_citations(written), record["gold"], record["category"])
            changed.append((before, value, record["question"], written, answer))
    every = [v for values in by_category.values() for v in values]
    return {
        "f1": statistics.mean(every) if every else 0.0,
        "n": len(every),
        "by_category": {c: statistics.mean(v) for c, v in sorted(by_category.items())},
        "changed": changed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--records", type=Path, help="held-out answers of an earlier run (its JSON)")
    parser.add_argument("--sample", type=Path, help="a `mem eval locomo` report to replay the cut on")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    if args.records:
        held = json.loads(args.records.read_text(encoding="utf-8"))["held_out"]
    else:
        held = ask_held_out(args.questions)
    sets = {"held out": held}
    if args.sample:
        sets = {f"sample ({args.sample.stem})": sample_records(args.sample), **sets}
    lines = [
        "# Cutting a restated opening from answers: the LoCoMo sample and held-out questions",
        "",
        f"Held out: {len(held)} questions outside the {DEFAULT_ANSWERS}-question answer sample, spread over "
        "the rest of the dev split; `mem ask`'s code path at each conversation's last session.  F1: "
        "LoCoMo token F1, categories 1-4, citations removed.",
        "",
        "| questions | cut at | F1 as written | F1 cut | answers changed | by category (as written -> cut) |",
        "|---|---|---|---|---|---|",
    ]
    results: dict[str, Any] = {}
    for name, records in sets.items():
        written = score(records, None)
        for variant, joins in VARIANTS.items():
            cut = score(records, joins)
            results[f"{name} / {variant}"] = {k: v for k, v in cut.items() if k != "changed"}
            before = written["by_category"]
            categories = ", ".join(f"{c} {before[c]:.3f} -> {cut['by_category'][c]:.3f}" for c in before)
            lines.append(
                f"| {name} (n={written['n']}) | {variant} | {written['f1']:.3f} | {cut['f1']:.3f} "
                f"| {len(cut['changed'])} | {categories} |"
            )
    adversarial = [r for r in held if r["category"] == 5]
    answerable = [r for r in held if r["category"] != 5]
    lines += [
        "",
        f"Held out, as shipped (the cut does not touch declines): adversarial abstention "
        f"{sum(r['abstained'] for r in adversarial) / max(1, len(adversarial)):.3f} (n={len(adversarial)}), "
        f"false abstention {sum(r['abstained'] for r in answerable) / max(1, len(answerable)):.3f} "
        f"(n={len(answerable)}).",
    ]
    lines += ["", "Held-out answers changed (F1 as written -> cut), cut at is/are/was/were/because:", ""]
    widest = VARIANTS["is/are/was/were/because"]
    for was, now, question, written_text, answer in score(held, widest)["changed"]:
        lines.append(f'- {was:.2f} -> {now:.2f}: {question} "{written_text}" -> "{answer}"')
    seconds = [r["seconds"] for r in held if "seconds" in r]
    if seconds:
        lines += ["", f"Median {statistics.median(seconds):.1f} s per held-out answer."]
    options = (f" --records {args.records}" if args.records else "") + (
        f" --sample {args.sample}" if args.sample else ""
    )
    seconds_run = time.perf_counter() - started
    lines += ["", f"Command: `python bench/restated_holdout.py{options}`; {seconds_run:.0f} s."]
    write(Path(args.out), "restated-holdout", {"held_out": held, "results": results}, lines)


if __name__ == "__main__":
    main()

"""Choose ``answer.unsure_below`` by cross-validation over LoCoMo's dev conversations.

    python bench/confidence_cv.py REPORT.json [REPORT.json ...] [--fresh REPORT.json] [--out DIR]

Reads the answers of ``mem eval locomo`` reports (each record keeps the model's tokens and
their log-probabilities).  An answer the model gave (not declined) is *wrong* as the report
counts it (:func:`secondme.eval.report.answered_wrong`): its F1 is below 0.5 (categories 1-4),
or the question has no answer (category 5, adversarial: the answer should have been "I don't
know").  An answer is flagged unsure when the
probability of its least likely word (:func:`secondme.answer.confidence.least_sure`) is below
the threshold.  A threshold is chosen on two conversations and scored on the third; the
objective is Youden's J: the share of wrong answers flagged minus the share of right answers
flagged.  It does not depend on how many answers are wrong (more than half, on LoCoMo, where
plain accuracy would flag nearly every answer), and it is 0 for a flag that says nothing.
With ``--fresh``, the threshold fitted on all the other reports is also scored on that
report's answers (questions none of the others ask).  No model runs.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from secondme.answer.confidence import answer_tokens, least_sure  # noqa: E402
from secondme.eval.report import RIGHT_ANSWER, answered_wrong  # noqa: E402

THRESHOLDS = (0.0, *(round(0.05 * i, 2) for i in range(1, 19)))
#: Ways of reading the tokens: the shipped one (the answer's words) first, which wins ties.
READINGS = ("words", "all tokens", "mean of words", "first word")


def rows_of(path: Path, sample: str) -> list[dict[str, Any]]:
    """One row per answer the model gave: conversation, category, wrong, confidence variants."""
    report = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for record in report["records"]:
        tokens = record.get("tokens")
        wrong = answered_wrong(record)
        if record.get("system") != "hybrid" or not tokens or wrong is None:
            continue
        pairs = [(str(piece), float(logprob)) for piece, logprob in tokens]
        words = [lp for _, lp in answer_tokens(pairs)]
        texts = [lp for piece, lp in pairs if piece]
        rows.append(
            {
                "sample": sample,
                "id": record["id"],
                "conversation": record["id"].split("#")[0],
                "category": record["category"],
                "f1": record["metrics"].get("f1"),
                "wrong": wrong,
                "words": least_sure(pairs),
                "all tokens": math.exp(min(texts)) if texts else None,
                "mean of words": math.exp(sum(words) / len(words)) if words else None,
                "first word": math.exp(words[0]) if words else None,
            }
        )
    return rows


def flag_counts(rows: list[dict[str, Any]], threshold: float, variant: str = "words") -> dict[str, int]:
    """How many answers the flag marks, and how many of them (and of all) are wrong."""
    flagged = [r for r in rows if r[variant] is not None and r[variant] < threshold]
    return {
        "answers": len(rows),
        "wrong": sum(r["wrong"] for r in rows),
        "flagged": len(flagged),
        "flagged_wrong": sum(r["wrong"] for r in flagged),
    }


def youden(counts: dict[str, int]) -> float:
    """Wrong answers flagged (share of the wrong ones) minus right answers flagged (share of the
    right ones)."""
    wrong, right = counts["wrong"], counts["answers"] - counts["wrong"]
    if not wrong or not right:
        return 0.0
    return counts["flagged_wrong"] / wrong - (counts["flagged"] - counts["flagged_wrong"]) / right


def fit(rows: list[dict[str, Any]], variant: str = "words") -> float:
    """The threshold with the best :func:`youden` (the lower one on a tie: flag less)."""
    return max(THRESHOLDS, key=lambda t: (round(youden(flag_counts(rows, t, variant)), 9), -t))


def fit_reading(rows: list[dict[str, Any]]) -> tuple[str, float]:
    """The way of reading the tokens and its threshold with the best :func:`youden` (the shipped
    reading on a tie)."""
    return max(
        ((reading, fit(rows, reading)) for reading in READINGS),
        key=lambda pair: round(youden(flag_counts(rows, pair[1], pair[0])), 9),
    )


def cross_validate(
    rows: list[dict[str, Any]], choose: Callable[[list[dict[str, Any]]], tuple[str, float]], lines: list[str]
) -> list[dict[str, Any]]:
    """Fit (reading, threshold) with ``choose`` on all conversations but one, score the flag on
    that one, for each in turn; a table row per fold and one for the folds together go to
    ``lines``."""
    folds = []
    for held in sorted({r["conversation"] for r in rows}):
        reading, threshold = choose([r for r in rows if r["conversation"] != held])
        counts = flag_counts([r for r in rows if r["conversation"] == held], threshold, reading)
        folds.append({"held_out": held, "reading": reading, "fitted": threshold, "held_out_counts": counts})
        setting = f"{threshold:g}" if reading == "words" else f"{reading}, {threshold:g}"
        lines.append(f"| {held} | {setting} | {describe(counts)} |")
    total = {key: sum(f["held_out_counts"][key] for f in folds) for key in folds[0]["held_out_counts"]}
    lines.append(f"| all three held-out folds | | {describe(total)} |")
    return folds


def describe(counts: dict[str, int]) -> str:
    """Flagged answers; the share of them wrong, and of the others; the share of wrong ones
    flagged and of right ones; Youden's J."""
    flagged, wrong, answers = counts["flagged"], counts["wrong"], counts["answers"]
    right = answers - wrong
    among = counts["flagged_wrong"] / flagged if flagged else float("nan")
    rest = (wrong - counts["flagged_wrong"]) / (answers - flagged) if answers > flagged else float("nan")
    caught = counts["flagged_wrong"] / wrong if wrong else float("nan")
    false = (flagged - counts["flagged_wrong"]) / right if right else float("nan")
    shares = " | ".join(f"{share:.2f}" for share in (among, rest, caught, false))
    return f"{flagged}/{answers} | {shares} | {youden(counts):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="+", type=Path, help="mem eval locomo reports (JSON)")
    parser.add_argument("--fresh", type=Path, help="a report whose answers are scored, never fitted on")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [row for path in args.reports for row in rows_of(path, path.stem)]
    fresh = rows_of(args.fresh, args.fresh.stem) if args.fresh else []
    header = "| flagged | wrong among flagged | wrong among the others | wrong flagged | right flagged | J |"
    lines = [
        "# Unsure answers: `answer.unsure_below` by cross-validation (LoCoMo dev)",
        "",
        f"Answers the model gave (not declined) in {', '.join(f'`{p.stem}`' for p in args.reports)}. "
        f"Wrong: F1 below {RIGHT_ANSWER} (categories 1-4), or any answer to an adversarial question "
        "(category 5). Flagged: the least likely word's probability below the threshold. J "
        "(Youden's): the share of wrong answers flagged minus the share of right answers flagged.",
        "",
        "## Cross-validated: fitted on two conversations, scored on the third",
        "",
        "| held out | fitted threshold | " + header[2:],
        "|---|---|---|---|---|---|---|---|",
    ]
    folds = cross_validate(rows, lambda train: ("words", fit(train)), lines)
    chosen = fit(rows)
    lines += [
        "",
        f"Fitted on every answer above: **{chosen:g}** ({describe(flag_counts(rows, chosen))}).",
        "",
        "## The way of reading the tokens fitted too (the same folds)",
        "",
        "| held out | fitted reading, threshold | " + header[2:],
        "|---|---|---|---|---|---|---|---|",
    ]
    joint = cross_validate(rows, fit_reading, lines)
    data: dict[str, Any] = {"folds": folds, "joint_folds": joint, "chosen": chosen, "right_f1": RIGHT_ANSWER}
    if fresh:
        counts = flag_counts(fresh, chosen)
        data["fresh"] = {"report": args.fresh.stem, "threshold": chosen, "counts": counts}
        lines += [
            "",
            f"## Scored on answers never fitted on: `{args.fresh.stem}`",
            "",
            "| threshold | " + header[2:],
            "|---|---|---|---|---|---|---|",
            f"| {chosen:g} | {describe(counts)} |",
        ]
    lines += [
        "",
        "## Every threshold and way of reading the tokens, all answers pooled (for reading, not choosing)",
        "",
        "| reading | threshold | " + header[2:],
        "|---|---|---|---|---|---|---|---|",
    ]
    for variant in READINGS:
        for threshold in THRESHOLDS[1:]:
            lines.append(f"| {variant} | {threshold:g} | {describe(flag_counts(rows, threshold, variant))} |")
    by_category: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_category.setdefault(r["category"], []).append(r)
    lines += [
        "",
        f"## At {chosen:g}, by category (all answers pooled)",
        "",
        "| category | " + header[2:],
        "|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {c} | {describe(flag_counts(rs, chosen))} |" for c, rs in sorted(by_category.items())]
    command = " ".join(["python bench/confidence_cv.py", *sys.argv[1:]])
    lines += ["", f"Command: `{command}`; {time.perf_counter() - started:.1f} s."]
    data["rows"] = rows + fresh
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"confidence-cv-{stamp}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (args.out / f"confidence-cv-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

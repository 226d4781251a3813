"""LongMemEval's stand-in judge against answers read by hand, and recorded runs scored again.

    python bench/lme_rescore.py [--out bench/results]

LongMemEval scores answers with a GPT-4o judge, which cannot run here; ``mem eval longmemeval``
uses a deterministic stand-in (:func:`secondme.eval.metrics.lme_answer_correct`).  Two runs'
answers were read by hand with the judge's own rules (the ``*-judged.md`` files).  This script
scores those answers with the stand-in as it is now and with the earlier rule (every token of
the gold in the answer), counts where each agrees with the reading by hand, and scores the
recorded answers of the latest runs again with both.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from evidence_select import write  # noqa: E402

from secondme.eval.metrics import (  # noqa: E402
    _off_by_one,
    lme_answer_correct,
    lme_gold_answers,
    lme_gold_recall,
)

#: Runs whose scored answers were read by hand: (the reading, the run).
JUDGED = (
    ("longmemeval-20261202-1408-judged", "longmemeval-20261202-1408"),
    ("longmemeval-20261203-0902-judged", "longmemeval-20261203-0902"),
)
#: Recorded runs scored again.
RUNS = ("longmemeval-20261203-0902", "longmemeval-20261204-0454", "longmemeval-20261204-0846")
ROW = re.compile(r"^\| (\d+) \| ([\w-]+) \| .*? \| (yes|no) \| (yes|no) \|")


def every_gold_token(record: dict[str, Any]) -> bool:
    """The earlier rule: each token of an accepted gold answer is in the answer."""
    answers = lme_gold_answers(record["gold"])
    if any(lme_gold_recall(record["answer"], a) == 1.0 for a in answers):
        return True
    return record["category"] == "temporal-reasoning" and any(
        _off_by_one(record["answer"], a) for a in answers
    )


def required_tokens(record: dict[str, Any]) -> bool:
    """The stand-in as it is now."""
    return lme_answer_correct(record["answer"], record["gold"], record["category"], record["question"])


def scored(run: str) -> list[dict[str, Any]]:
    """The run's answered, scored, non-abstention records, in the order its report lists them."""
    data = json.loads((RESULTS / f"{run}.json").read_text())
    return [
        r
        for r in data["records"]
        if "answer" in r and r["metrics"].get("accuracy") is not None and not r.get("abstention_question")
    ]


def readings(judged: str, run: str) -> list[tuple[dict[str, Any], bool]]:
    """(record, right by hand) for every row of a reading; a row's number is the record's place
    among the run's answered records."""
    data = json.loads((RESULTS / f"{run}.json").read_text())
    answered = [r for r in data["records"] if "answer" in r]
    out = []
    for line in (RESULTS / f"{judged}.md").read_text().splitlines():
        row = ROW.match(line)
        if row is None:
            continue
        record = answered[int(row.group(1))]
        assert record["category"] == row.group(2) and record["metrics"].get("accuracy") is not None, line
        out.append((record, row.group(4) == "yes"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args()
    started = time.perf_counter()
    rules = {"every gold token (before)": every_gold_token, "required tokens (now)": required_tokens}
    read = [pair for judged, run in JUDGED for pair in readings(judged, run)]
    agreement: dict[str, dict[str, Any]] = {}
    for name, rule in rules.items():
        verdicts = [(rule(r), right, r) for r, right in read]
        agreement[name] = {
            "agree": sum(v == right for v, right, _ in verdicts),
            "right_called_wrong": [r["question"] for v, right, r in verdicts if right and not v],
            "wrong_called_right": [r["question"] for v, right, r in verdicts if v and not right],
        }
    accuracy = {
        run: {name: sum(rule(r) for r in scored(run)) / len(scored(run)) for name, rule in rules.items()}
        for run in RUNS
    }
    lines = [
        "# LongMemEval's stand-in judge against the answers read by hand",
        "",
        f"{len(read)} answers of {', '.join(run for _, run in JUDGED)} read by hand "
        f"({', '.join(f'`{j}.md`' for j, _ in JUDGED)}).",
        "",
        "| rule | agrees with the reading | right answers called wrong | wrong answers called right |",
        "|---|---|---|---|",
        *(
            f"| {name} | {a['agree']} of {len(read)} | {len(a['right_called_wrong'])} "
            f"| {len(a['wrong_called_right'])} |"
            for name, a in agreement.items()
        ),
        "",
        "Right answers the stand-in now still calls wrong:",
        "",
        *(f"- {q}" for q in dict.fromkeys(agreement["required tokens (now)"]["right_called_wrong"])),
        "",
        "| recorded run (48 scored answers) | " + " | ".join(rules) + " |",
        "|---|" + "---|" * len(rules),
        *(f"| {run} | " + " | ".join(f"{accuracy[run][n]:.3f}" for n in rules) + " |" for run in RUNS),
        "",
        f"Command: `python bench/lme_rescore.py`; {time.perf_counter() - started:.1f} s.",
    ]
    write(Path(args.out), "lme-rescore", {"agreement": agreement, "accuracy": accuracy}, lines)


if __name__ == "__main__":
    main()

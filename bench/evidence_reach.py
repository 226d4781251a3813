"""Where answers are lost: evidence never retrieved, retrieved but not quoted, or quoted and misread.

    python bench/evidence_reach.py bench/results/locomo-....json

Reads a `mem eval locomo` run with answers (records with ``evidence_turns``: the turns of the
memories the prompt quoted).  For each answerable question (categories 1-4) with evidence:

- *quoted*: every evidence turn was in the prompt; *partly*: some; *not quoted*: none;
- the answer's F1 in each group, and the hybrid recall@10 of the same questions.

A low F1 where the evidence was quoted is the model's reading; a large "not quoted" share is
retrieval or the evidence budget.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any


def reach(record: dict[str, Any]) -> str:
    """How much of the question's evidence the prompt quoted."""
    quoted = set(record.get("evidence_turns") or [])
    evidence = set(record["evidence"])
    found = len(evidence & quoted)
    if found == len(evidence):
        return "quoted"
    return "partly" if found else "not quoted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    args = parser.parse_args()
    records = json.loads(args.run.read_text())["records"]
    rows = [
        r
        for r in records
        if r.get("system") == "hybrid"
        and "answer" in r
        and "evidence_turns" in r
        and r["category"] != "adversarial"
        and r["evidence"]
        and not r.get("error")
    ]
    if not rows:
        raise SystemExit("no answered questions with evidence_turns: run `mem eval locomo` again")
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        for category in (row["category"], "all"):
            groups[(category, reach(row))].append(row)
    print(f"# Evidence reach: `{args.run.name}`, {len(rows)} answerable questions\n")
    print("| category | reach | questions | share | F1 | hybrid recall@10 |")
    print("|---|---|---|---|---|---|")
    categories = sorted({c for c, _ in groups}, key=lambda c: (c == "all", c))
    for category in categories:
        total = sum(len(v) for (c, _), v in groups.items() if c == category)
        for level in ("quoted", "partly", "not quoted"):
            members = groups.get((category, level), [])
            if not members:
                continue
            f1 = sum(float(r["metrics"].get("f1") or 0.0) for r in members) / len(members)
            recall = sum(float(r["metrics"].get("recall@10") or 0.0) for r in members) / len(members)
            share = len(members) / total
            print(f"| {category} | {level} | {len(members)} | {share:.2f} | {f1:.3f} | {recall:.3f} |")


if __name__ == "__main__":
    main()

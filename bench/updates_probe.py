"""Knowledge updates and "when did I last": does `mem ask` answer with the newest value?

    python bench/updates_probe.py [--out bench/results]

One home holds 40 dated memories of one person's life (written for this probe): values that
change over time (cholesterol, rent, weight, a manager, a phone, a gym), things done again and
again (climbing, haircuts, calls, visits), and a few unrelated events.  Twenty-two questions
are asked through ``ask()`` with the default model on a fixed day: fifteen about the current
value or the last time, seven about the past ("previous", "before", "first"), which must keep
the older value.  An answer is right when it holds the expected value and none of the
outdated ones.  The same home and questions for every run, so runs compare change to change.

LoCoMo and LongMemEval hold few questions of this kind (LongMemEval's knowledge-update type is
ten dev questions, each in a haystack of 50 sessions), and a run of either costs 12-23 minutes:
this probe checks the mechanism in 3 minutes.  It is written, not collected, so it says
nothing about how often such questions come up; the benchmarks say that.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

#: (text, date) of every memory in the home.
MEMORIES = [
    ("Dr. Sousa said my cholesterol is 210, should come down.", "2025-07-02"),
    ("Cholesterol down to 185 at the check-up with Dr. Sousa.", "2025-11-20"),
    ("I work as a barista at Cafe Lua.", "2022-03-01"),
    ("Started my new job as a data analyst at Northwind today.", "2024-09-02"),
    ("Went climbing at Bloco with Pedro for the first time.", "2025-09-06"),
    ("Climbing at Bloco again, sent the blue 6b.", "2025-10-04"),
    ("Climbing session at Bloco, shoulder felt weak.", "2025-10-11"),
    ("Ran 10k along the river.", "2025-10-20"),
    ("Bought a used Renault Clio.", "2021-05-10"),
    ("Sold the Clio and bought a Tesla Model 3.", "2024-02-15"),
    ("Moved into a flat in Arroios, Lisbon.", "2020-01-15"),
    ("Moved to Porto, a flat in Cedofeita.", "2023-08-01"),
    ("Weighed 82 kg this morning.", "2025-01-10"),
    ("Down to 78 kg on the scale.", "2025-05-12"),
    ("Weighed in at 76 kg.", "2025-09-08"),
    ("Dentist check-up with Dr. Ana Costa, no cavities.", "2024-03-12"),
    ("Went to the dentist, Dr. Ana Costa, for a cleaning.", "2025-02-20"),
    ("My manager is Carla.", "2023-01-09"),
    ("Carla left the company; my new manager is Tiago.", "2025-03-03"),
    ("Got a Pixel 6 phone.", "2022-04-01"),
    ("Switched to an iPhone 15.", "2024-10-05"),
    ("New 10k personal best: 52:10.", "2024-04-21"),
    ("Broke my 10k personal best again: 49:35.", "2025-05-18"),
    ("Called grandma, she is doing well.", "2025-09-14"),
    ("Called grandma for her birthday.", "2025-11-02"),
    ("Joined the Holmes Place gym.", "2023-02-01"),
    ("Cancelled Holmes Place and joined the Fitness Hut gym.", "2025-01-20"),
    ("Started learning German on Duolingo.", "2023-06-01"),
    ("Dropped German; I'm learning Japanese now.", "2025-04-02"),
    ("Got a haircut at Barbearia Porto.", "2025-08-30"),
    ("Haircut at Barbearia Porto, shorter this time.", "2025-10-18"),
    ("MEO installed fibre internet at home.", "2022-02-11"),
    ("Switched the home internet to NOS.", "2025-06-09"),
    ("Rent is 850 euros a month.", "2023-08-01"),
    ("The landlord raised the rent to 920 euros a month.", "2025-08-01"),
    ("Weekend in Lisbon, dinner at Cervejaria Ramiro.", "2025-04-12"),
    ("Day trip to Lisbon for a concert at Coliseu.", "2025-09-27"),
    ("Watched Dune Part Two at the cinema.", "2024-03-05"),
    ("Pedro's birthday party at his place.", "2025-06-21"),
    ("Bought a new rain jacket.", "2025-11-12"),
]
#: (question, kind, the value the answer must hold, values it must not hold).
QUESTIONS = [
    ("What is my cholesterol?", "current", "185", ["210"]),
    ("Where do I work?", "current", "Northwind", ["Cafe Lua"]),
    ("When did I last go climbing?", "last", "11 October 2025", ["6 September", "4 October"]),
    ("What car do I drive?", "current", "Tesla", ["Clio"]),
    ("Where do I live?", "current", "Porto", ["Arroios"]),
    ("How much do I weigh?", "current", "76", ["82", "78"]),
    ("When did I last go to the dentist?", "last", "20 February 2025", ["12 March 2024"]),
    ("Who is my manager?", "current", "Tiago", []),
    ("What phone do I have?", "current", "iPhone", ["Pixel"]),
    ("What is my 10k personal best?", "current", "49:35", ["52:10"]),
    ("When did I last call grandma?", "last", "2 November 2025", ["14 September"]),
    ("Which gym do I go to?", "current", "Fitness Hut", []),
    ("Which language am I learning?", "current", "Japanese", []),
    ("When did I last get a haircut?", "last", "18 October 2025", ["30 August"]),
    ("Who is my internet provider?", "current", "NOS", ["MEO"]),
    ("How much is my rent?", "current", "920", ["850"]),
    ("When was I last in Lisbon?", "last", "27 September 2025", ["12 April"]),
    ("What was my previous job?", "past", "Cafe Lua", ["Northwind"]),
    ("When did I first go climbing?", "past", "6 September 2025", ["11 October", "4 October"]),
    ("Where did I live before Porto?", "past", "Arroios", []),
    ("What phone did I have before the iPhone?", "past", "Pixel", []),
    ("How much was my rent before the raise?", "past", "850", ["920"]),
]
TODAY = datetime(2025, 12, 1)


def is_right(answer: str, want: str, wrong: list[str]) -> bool:
    text = answer.lower()
    return want.lower() in text and not any(w.lower() in text for w in wrong)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    os.environ["SECONDME_HOME"] = tempfile.mkdtemp(prefix="secondme-updates-")
    from evidence_select import write

    from secondme.answer import ask
    from secondme.memory import MemoryType, NewMemory
    from secondme.models.llm import load_llm
    from secondme.service import Secondme

    started = time.perf_counter()
    app = Secondme()
    app.add_many(
        [NewMemory(text, type=MemoryType.EPISODIC, occurred_at=f"{day}T12:00:00") for text, day in MEMORIES]
    )
    llm = load_llm(app.settings.llm)
    rows = []
    for question, kind, want, wrong in QUESTIONS:
        answer = ask(app, question, llm=llm, today=TODAY)
        rows.append(
            {
                "question": question,
                "kind": kind,
                "expected": want,
                "answer": answer.answer,
                "right": is_right(answer.answer, want, wrong),
                "superseded": [e.memory.id for e in answer.superseded],
                "prompt_tokens": answer.prompt_tokens,
                "seconds": round(answer.timings.get("total_s", 0.0), 2),
            }
        )
    elapsed = time.perf_counter() - started
    kinds = ("current", "last", "past")
    right = {k: sum(r["right"] for r in rows if r["kind"] == k) for k in kinds}
    count = {k: sum(1 for r in rows if r["kind"] == k) for k in kinds}
    total = sum(right.values())
    lines = [
        "# Knowledge updates and last times (`bench/updates_probe.py`)",
        "",
        f"Default model, asked on {TODAY.date()}: **{total}/{len(rows)} right** "
        + ", ".join(f"{k} {right[k]}/{count[k]}" for k in kinds)
        + f"; median prompt {statistics.median(r['prompt_tokens'] or 0 for r in rows)} tokens, "
        + f"median {statistics.median(r['seconds'] for r in rows)} s per answer.",
        "",
        "| question | kind | expected | answer | right | superseded |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['question']} | {r['kind']} | {r['expected']} | {r['answer'].replace('|', '/')} | "
            f"{'yes' if r['right'] else 'no'} | {', '.join(map(str, r['superseded']))} |"
            for r in rows
        ),
        "",
        f"Command: `python bench/updates_probe.py`; {elapsed:.0f} s.",
    ]
    write(Path(args.out), "updates-probe", {"rows": rows, "right": total, "elapsed_s": elapsed}, lines)


if __name__ == "__main__":
    main()

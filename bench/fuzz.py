"""Hostile input against every entry point of `mem`, far longer than the test suite's run.

    python bench/fuzz.py [--examples 150] [--seed 20261202] [--only add,search] [--out bench/results]

The entry points, their strategies and the rules are those of tests/fuzz_entry_points.py: the
command line and stdin of add, search, list, show/edit/forget, core; `mem import` lines; ingest of
mutated fixtures of every format; config files; whole command lines.  Every invocation runs in
process through `secondme.cli.main` against a throwaway home seeded with three memories, and is
counted as

- ok: exit 0;
- failed: a non-zero exit told in one `error:` line with a hint (a failure recorded with a reason);
- traceback, crash (an exception only the catch-all caught), lost or changed (a seeded memory
  lost or changed), bad-message (an undocumented exit code, no hint, several error lines, a
  usage box).

Writes ``fuzz-<stamp>.json`` and ``.md`` into ``--out``; the JSON keeps the first broken
invocations of each entry point, to replay.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OUTCOMES = ["ok", "failed", "traceback", "crash", "lost", "changed", "bad-message"]


def run_entry_point(name: str, examples: int, seed: int, home: Path, work: Path) -> dict:
    """Run ``examples`` invocations of one entry point; count each outcome."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import seed as hypothesis_seed

    from tests.fuzz_entry_points import ENTRY_POINTS, Invocation, classify, entry_point_runner

    run = entry_point_runner(home, work)
    counts: Counter[str] = Counter()
    codes: Counter[int] = Counter()
    broken: list[dict] = []
    reasons: Counter[str] = Counter()

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(invocation=ENTRY_POINTS[name])
    def hostile(invocation: Invocation) -> None:
        verdict = run(invocation)
        outcome = classify(verdict)
        counts[outcome] += 1
        codes[verdict.outcome.code] += 1
        if outcome == "failed":
            # The reason without its specifics, to show which failures were met how often.
            line = verdict.outcome.error_lines[0]
            reasons[line.removeprefix("error: ")[:70]] += 1
        if verdict.problems and len(broken) < 10:
            broken.append(
                {
                    "args": invocation.args,
                    "input": repr(invocation.input)[:300],
                    "files": {k: repr(v[:200]) for k, v in invocation.files.items()},
                    "config": invocation.config,
                    "code": verdict.outcome.code,
                    "stderr": verdict.outcome.stderr[-500:],
                    "problems": verdict.problems,
                }
            )

    start = time.perf_counter()
    hostile()
    seconds = time.perf_counter() - start
    tried = sum(counts.values())
    return {
        "tried": tried,
        **{outcome: counts[outcome] for outcome in OUTCOMES},
        "failed_with_reason_share": round(counts["failed"] / max(1, tried - counts["ok"]), 4),
        "exit_codes": {str(code): n for code, n in sorted(codes.items())},
        "common_reasons": dict(reasons.most_common(8)),
        "seconds": round(seconds, 1),
        "broken": broken,
    }


def main() -> None:
    """Run every entry point and write the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=150, help="invocations per entry point")
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--only", default="", help="comma-separated entry points (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    options = parser.parse_args()

    from tests.fuzz_entry_points import ENTRY_POINTS

    names = [n for n in options.only.split(",") if n] or list(ENTRY_POINTS)
    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            # A fresh home per entry point, so that one entry point's additions cannot hide
            # another's problems; the same seeded memories in each.
            home = Path(scratch) / name.replace("/", "-") / "home"
            work = home.parent / "work"
            work.mkdir(parents=True)
            os.environ["SECONDME_HOME"] = str(home)
            results[name] = run_entry_point(name, options.examples, options.seed, home, work)
            row = results[name]
            print(
                f"{name:<18} tried {row['tried']:>5}  ok {row['ok']:>5}  failed {row['failed']:>5}  "
                f"traceback {row['traceback']}  crash {row['crash']}  lost {row['lost']}  "
                f"changed {row['changed']}  bad-message {row['bad-message']}  ({row['seconds']} s)",
                flush=True,
            )
    totals = {key: sum(r[key] for r in results.values()) for key in ["tried", *OUTCOMES]}
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    report = {
        "benchmark": "fuzz",
        "command": "python bench/fuzz.py " + " ".join(sys.argv[1:]),
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count()},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "examples_per_entry_point": options.examples,
        "seed": options.seed,
        "totals": totals,
        "entry_points": results,
    }
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / f"fuzz-{stamp}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    lines = [
        f"# Fuzzing every entry point ({report['when']})",
        "",
        f"`{report['command']}`: {options.examples} invocations per entry point, seed {options.seed}, "
        f"load {report['load_before'][0]} before and {report['load_after'][0]} after.",
        "",
        "| entry point | tried | ok | failed, told with a reason | tracebacks | crashes | memories lost "
        "| memories changed | bad messages | exit codes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in [*results.items(), ("all", {**totals, "exit_codes": {}})]:
        codes = ", ".join(f"{c}: {n}" for c, n in row["exit_codes"].items())
        lines.append(
            f"| {name} | {row['tried']} | {row['ok']} | {row['failed']} | {row['traceback']} "
            f"| {row['crash']} | {row['lost']} | {row['changed']} | {row['bad-message']} | {codes} |"
        )
    lines += ["", "Most common reasons given, per entry point:", ""]
    for name, row in results.items():
        shown = "; ".join(f"{reason} ({n})" for reason, n in row["common_reasons"].items())
        lines.append(f"- {name}: {shown or '-'}")
    (options.out / f"fuzz-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

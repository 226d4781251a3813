"""Retrieval confidence as a reason to say "I don't know", chosen by cross-validation (a study).

    python bench/abstention_cv.py bench/results/locomo-....json [--max-false 0.10] [--out DIR]

Reads a `mem eval locomo` run with answers (its hybrid records carry ``retrieved_signals``: each
hit's fused score, keyword rank, vector rank and cosine distance).  A rule "also abstain when the
retrieval looks weak" is one signal and one threshold:

- ``best_distance``: the closest vector match is farther than t;
- ``top_score``: the best fused score is below t;
- ``keyword_hits``: fewer than t of the top 5 hits matched the question's words.

For each conversation in turn, the rule is fitted on the others (the most adversarial
questions declined, with false abstention on answerable questions at most ``--max-false``) and
measured on the one held out, beside the answers as they were.  Nothing is tuned on the whole
split: the held-out rows are the numbers to trust.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def features(record: dict[str, Any]) -> dict[str, float]:
    """The retrieval signals of one answered question."""
    signals = record.get("retrieved_signals") or []
    distances = [s[3] for s in signals if s[3] is not None]
    return {
        "best_distance": min(distances) if distances else 2.0,
        "top_score": signals[0][0] if signals else 0.0,
        "keyword_hits": float(sum(1 for s in signals[:5] if s[1] is not None)),
    }


#: signal -> (abstain when the value is ...): True means "above t", False "below t".
ABOVE = {"best_distance": True, "top_score": False, "keyword_hits": False}


def rule(signal: str, threshold: float) -> Callable[[dict[str, float]], bool]:
    """Whether the retrieval is weak enough to abstain."""
    if ABOVE[signal]:
        return lambda f: f[signal] > threshold
    return lambda f: f[signal] < threshold


def score(rows: list[dict[str, Any]], weak: Callable[[dict[str, float]], bool] | None) -> dict[str, Any]:
    """Abstention (adversarial), false abstention and F1 (answerable) with the rule applied."""
    adversarial = [r for r in rows if r["adversarial"]]
    answerable = [r for r in rows if not r["adversarial"]]

    def declines(r: dict[str, Any]) -> bool:
        return bool(r["abstained"] or (weak is not None and weak(r["features"])))

    f1 = [0.0 if declines(r) else r["f1"] for r in answerable]
    return {
        "abstention": _mean([declines(r) for r in adversarial]),
        "false_abstention": _mean([declines(r) for r in answerable]),
        "f1": _mean(f1),
        "n_adversarial": len(adversarial),
        "n_answerable": len(answerable),
    }


def _mean(values: list[Any]) -> float | None:
    return round(sum(float(v) for v in values) / len(values), 3) if values else None


def fit(rows: list[dict[str, Any]], max_false: float) -> tuple[str, float] | None:
    """The signal and threshold that decline the most adversarial questions within ``max_false``."""
    base = score(rows, None)
    best: tuple[tuple[float, float, float], tuple[str, float]] | None = None
    for signal in ABOVE:
        for threshold in sorted({r["features"][signal] for r in rows}):
            got = score(rows, rule(signal, threshold))
            false = got["false_abstention"] or 0.0
            if false > max(max_false, base["false_abstention"] or 0.0):
                continue
            key = (got["abstention"] or 0.0, -false, got["f1"] or 0.0)
            if best is None or key > best[0]:
                best = (key, (signal, threshold))
    if best is None or best[0][0] <= (base["abstention"] or 0.0):
        return None  # nothing beats answering as before
    return best[1]


def load(path: Path) -> list[dict[str, Any]]:
    """The answered hybrid questions of a LoCoMo run."""
    data = json.loads(path.read_text())
    rows = []
    for record in data["records"]:
        if record.get("system") != "hybrid" or "answer" not in record or record.get("error"):
            continue
        adversarial = record["category"] == "adversarial"
        metrics = record["metrics"]
        rows.append(
            {
                "conversation": record["id"].split("#")[0],
                "adversarial": adversarial,
                "abstained": bool(record.get("abstained")),
                "f1": 0.0 if adversarial else float(metrics.get("f1") or 0.0),
                "features": features(record),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `mem eval locomo` JSON with answers")
    parser.add_argument("--max-false", type=float, default=0.10)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    args = parser.parse_args()
    rows = load(args.run)
    if not any("retrieved_signals" in r for r in json.loads(args.run.read_text())["records"]):
        raise SystemExit("this run has no retrieved_signals: run `mem eval locomo` again")
    by_conversation: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_conversation[row["conversation"]].append(row)
    folds: list[dict[str, Any]] = []
    for held_out in sorted(by_conversation):
        train = [r for c, rs in by_conversation.items() if c != held_out for r in rs]
        test = by_conversation[held_out]
        chosen = fit(train, args.max_false)
        weak = rule(*chosen) if chosen else None
        folds.append(
            {
                "held_out": held_out,
                "rule": None if chosen is None else {"signal": chosen[0], "threshold": chosen[1]},
                "fitted": score(train, weak),
                "fitted_before": score(train, None),
                "held_out_after": score(test, weak),
                "held_out_before": score(test, None),
            }
        )
    report = {
        "run": str(args.run),
        "max_false": args.max_false,
        "rows": len(rows),
        "all_before": score(rows, None),
        "folds": folds,
    }
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"abstention-cv-{stamp}.json").write_text(json.dumps(report, indent=1) + "\n")
    lines = [
        f"# Abstention from retrieval confidence, cross-validated ({stamp})",
        "",
        f"Run: `{args.run.name}`, {len(rows)} answered questions; false abstention allowed when fitting: "
        f"{args.max_false}.",
        "",
        "| held out | rule fitted on the others | held-out abstention before / after | held-out false "
        "abstention before / after | held-out F1 (1-4) before / after | fitted abstention / false |",
        "|---|---|---|---|---|---|",
    ]
    for fold in folds:
        b, a, f = fold["held_out_before"], fold["held_out_after"], fold["fitted"]
        fitted_rule = fold["rule"]
        said = (
            "none (answering as before wins)"
            if fitted_rule is None
            else f"{fitted_rule['signal']} {fitted_rule['threshold']}"
        )
        lines.append(
            f"| {fold['held_out']} (adv {b['n_adversarial']}, ans {b['n_answerable']}) | {said} | "
            f"{b['abstention']} / {a['abstention']} | {b['false_abstention']} / {a['false_abstention']} | "
            f"{b['f1']} / {a['f1']} | {f['abstention']} / {f['false_abstention']} |"
        )
    (args.out / f"abstention-cv-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

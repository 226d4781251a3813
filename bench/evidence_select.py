"""Which evidence selection puts the question's own messages in front of the model.

    python bench/evidence_select.py [--longmemeval] [--out bench/results]

For every answerable LoCoMo dev question with evidence (categories 1-4), the memories are
retrieved as ``mem ask`` retrieves them, then each selection setting picks the units (messages,
sentences) that go into the prompt, within ``answer.context_tokens``.  A unit counts for the
turn (``dia_id``) it was cut from.  Measured per setting and conversation:

- *reach*: every evidence turn of the question is in the prompt; *any*: at least one is;
- the evidence tokens the prompt spends.

``--longmemeval`` measures the same on LongMemEval_S dev (not abstention questions), where
the evidence turns are those the benchmark marks ``has_answer``: a check on data the settings
were not chosen on.

No answer model runs: this isolates the selection step.  Settings that use the embedder
(``similarity``) are chosen by cross-validation: fitted on two conversations, scored on the
third.  The same units are embedded once per conversation.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from secondme import timeparse  # noqa: E402
from secondme.answer import evidence  # noqa: E402
from secondme.answer.pipeline import select_hits  # noqa: E402
from secondme.eval.datasets import load_locomo, load_longmemeval  # noqa: E402
from secondme.eval.locomo import conversation_messages, load_conversation  # noqa: E402
from secondme.eval.longmemeval import load_haystack  # noqa: E402
from secondme.eval.runner import SharedModels, Workspace  # noqa: E402

WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0)
FLOORS = (0.1, 0.2, 0.3)
DEPTHS = (8, 12)
#: The shipped setting, shown against the word-only one on LongMemEval.
CHOSEN = (8, 1.0, 0.2, 0.8)
#: The weight of the owner's own messages for first-person questions (LongMemEval only: LoCoMo's
#: speakers are two named people, neither of them "me").
OWNER = (0.0, 0.2, 0.4, 0.8)


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def unit_turn(unit: evidence.Unit, turns: list[tuple[str, str]]) -> str | None:
    """The turn a unit was cut from (its text, less speaker and "…", found in the turn's)."""
    body = unit.text.split(": ", 1)[1] if unit.speaker else unit.text
    probe = _norm(body.replace("…", ""))[:40]
    for dia_id, text in turns:
        if probe and probe in _norm(text):
            return dia_id
    return None


class UnitVectors:
    """Unit vectors of one conversation's memories, each text embedded once."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.vectors: dict[str, Any] = {}

    def scorer(self, question_vector: Any) -> evidence.Similarity:
        def similarity(texts: list[str]) -> list[float]:
            missing = [t for t in dict.fromkeys(texts) if t not in self.vectors]
            if missing:
                self.vectors.update(zip(missing, self.app.embed(missing), strict=True))
            return [float(self.vectors[t] @ question_vector) for t in texts]

        return similarity


def settings(longmemeval: bool = False) -> list[tuple[int, float, float, float]]:
    """(depth, weight, floor, owner) of every setting measured; (8, 0, 0, 0) is the word-only
    choice of before.  On LongMemEval: the word-only setting and the chosen one with each owner
    weight."""
    if longmemeval:
        return [(DEPTHS[0], 0.0, 0.0, 0.0)] + [(*CHOSEN[:3], owner) for owner in OWNER]
    out = []
    for depth, weight in itertools.product(DEPTHS, WEIGHTS):
        if weight == 0.0:
            out.append((depth, 0.0, 0.0, 0.0))
        else:
            out.extend((depth, weight, floor, 0.0) for floor in FLOORS)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--longmemeval", action="store_true", help="LongMemEval_S dev instead of LoCoMo")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    started = time.perf_counter()
    if args.longmemeval:
        report(longmemeval_rows(started), Path(args.out), time.perf_counter() - started, "longmemeval")
        return
    rows: list[dict[str, Any]] = []
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for conversation in load_locomo():
            with workspace.home(conversation.sample_id, models) as app:
                turns_of = load_conversation(app, conversation)
                text_of = {m.ref: m.text for m in conversation_messages(conversation)}
                budget = app.settings.answer.context_tokens
                today = conversation.sessions[-1].date
                vectors = UnitVectors(app)

                turns = functools.partial(locomo_turns, turns_of=turns_of, text_of=text_of)

                for index, question in enumerate(conversation.questions):
                    if question.category == 5 or not question.evidence:
                        continue
                    when = timeparse.question_time(question.question, today)
                    found = {
                        depth: select_hits(app.search(question.question, k=depth, when=when))
                        for depth in DEPTHS
                    }
                    question_vector = app.embed([question.question])[0]
                    wanted = set(question.evidence)
                    for row in measure(
                        question.question, question_vector, found, wanted, budget, vectors, turns
                    ):
                        rows.append(
                            {"conversation": conversation.sample_id, "question": index}
                            | {"category": question.category_name}
                            | row
                        )
            print(f"{conversation.sample_id}: {time.perf_counter() - started:.0f} s", flush=True)
    report(rows, Path(args.out), time.perf_counter() - started, "locomo")


def locomo_turns(memory_id: int, turns_of: dict[int, list[str]], text_of: dict[str, str]) -> list[Any]:
    """The (dia_id, text) pairs of a LoCoMo memory."""
    return [(t, text_of.get(t, "")) for t in turns_of.get(memory_id, [])]


def lme_turns(memory_id: int, refs_of: dict[int, list[str]], text_of: dict[str, str]) -> list[Any]:
    """The (turn id, text) pairs of the messages a LongMemEval memory holds (its window, not its
    whole session: a message counts as retrieved only when its own window is)."""
    return [(ref, text_of.get(ref, "")) for ref in refs_of.get(memory_id, [])]


def measure(
    question: str,
    question_vector: Any,
    found: dict[int, list[Any]],
    wanted: set[str],
    budget: int,
    vectors: UnitVectors,
    turns: Any,
    longmemeval: bool = False,
) -> list[dict[str, Any]]:
    """One row per setting: what its selection shows of the ``wanted`` turns.

    ``turns(memory_id)`` lists the (turn id, text) pairs a memory was made from.
    """
    rows = []
    for depth, weight, floor, owner in settings(longmemeval):
        evidence.SIMILARITY_WEIGHT, evidence.SIMILARITY_FLOOR, evidence.OWNER_WEIGHT = weight, floor, owner
        excerpts = evidence.select_evidence(
            question, found[depth], budget, vectors.scorer(question_vector) if weight else None
        )
        shown = set()
        for excerpt in excerpts:
            held = turns(excerpt.memory.id)
            for unit in excerpt.units:
                if (turn := unit_turn(unit, held)) is not None:
                    shown.add(turn)
        rows.append(
            {
                "setting": [depth, weight, floor, owner],
                "reach": wanted <= shown,
                "any": bool(wanted & shown),
                "tokens": sum(evidence.estimate_tokens(e.text()) for e in excerpts),
                "retrieved": wanted <= {t for h in found[depth] for t, _ in turns(h.memory.id)},
            }
        )
    return rows


def longmemeval_rows(started: float) -> list[dict[str, Any]]:
    """The rows of every LongMemEval_S dev question with evidence turns; one fold, by type."""
    rows: list[dict[str, Any]] = []
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False, embedding_cache=True)
        for number, question in enumerate(load_longmemeval()):
            turns_of_session = {
                session.session_id: [
                    (f"{session.session_id}:{i}", turn["content"], turn["has_answer"])
                    for i, turn in enumerate(session.turns)
                ]
                for session in question.sessions
            }
            wanted = {ref for held in turns_of_session.values() for ref, _, marked in held if marked}
            if question.is_abstention or not wanted:
                continue
            with workspace.home(question.question_id, models) as app:
                load_haystack(app, question)
                vectors = UnitVectors(app)

                when = timeparse.question_time(question.question, question.question_date)
                found = {
                    depth: select_hits(app.search(question.question, k=depth, when=when)) for depth in DEPTHS
                }
                refs_of = {
                    h.memory.id: h.memory.metadata.get("refs") or [] for hits in found.values() for h in hits
                }
                text_of = {ref: text for held in turns_of_session.values() for ref, text, _ in held}
                turns = functools.partial(lme_turns, refs_of=refs_of, text_of=text_of)
                question_vector = app.embed([question.question])[0]
                budget = app.settings.answer.context_tokens
                for row in measure(
                    question.question,
                    question_vector,
                    found,
                    wanted,
                    budget,
                    vectors,
                    turns,
                    longmemeval=True,
                ):
                    rows.append({"conversation": "longmemeval", "question": number} | row)
                    rows[-1]["category"] = question.question_type
            print(f"{number + 1}: {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return statistics.mean(float(r[key]) for r in rows) if rows else 0.0


def report(rows: list[dict[str, Any]], out: Path, elapsed: float, bench: str) -> None:
    conversations = sorted({r["conversation"] for r in rows})
    by: dict[tuple[str, tuple[Any, ...]], list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault((r["conversation"], tuple(r["setting"])), []).append(r)
    all_settings = [tuple(s) for s in settings(bench == "longmemeval")]
    base = (DEPTHS[0], 0.0, 0.0, 0.0)

    def pooled(convs: list[str], setting: tuple[Any, ...], key: str) -> float:
        return _mean([r for c in convs for r in by.get((c, setting), [])], key)

    lines = [
        f"# Evidence selection: {bench} dev, answerable questions with evidence",
        "",
        "Reach: every evidence turn in the prompt; any: at least one.  Setting: (hits, similarity "
        f"weight, floor, owner weight); {base} is the word-only selection "
        "of before.",
        "",
        "## Every setting, all conversations pooled (fitted on everything: for reading, not choosing)",
        "",
        "| setting | reach | any | median evidence tokens | all evidence in the retrieved memories |",
        "|---|---|---|---|---|",
    ]
    for setting in all_settings:
        mine = [r for c in conversations for r in by.get((c, setting), [])]
        lines.append(
            f"| {setting} | {_mean(mine, 'reach'):.3f} | {_mean(mine, 'any'):.3f} | "
            f"{statistics.median(r['tokens'] for r in mine):.0f} | {_mean(mine, 'retrieved'):.3f} |"
        )
    if bench == "longmemeval":
        lines += longmemeval_tables(rows, all_settings, base)
        lines += ["", f"Command: `python bench/evidence_select.py --longmemeval`; {elapsed:.0f} s."]
        write(out, f"evidence-select-{bench}", {"summary": summary(rows)}, lines)
        return
    lines += [
        "",
        "## Cross-validated: fitted on two conversations, scored on the third",
        "",
        "| held out | fitted setting | fitted reach | held-out reach | held-out any "
        "| word-only held-out reach |",
        "|---|---|---|---|---|---|",
    ]
    folds = []
    for held in conversations:
        train = [c for c in conversations if c != held]
        best = max(all_settings, key=lambda s: (pooled(train, s, "reach"), -s[0], -s[1]))
        fold = {
            "held_out": held,
            "fitted": best,
            "fitted_reach": pooled(train, best, "reach"),
            "held_out_reach": pooled([held], best, "reach"),
            "held_out_any": pooled([held], best, "any"),
            "base_held_out_reach": pooled([held], base, "reach"),
        }
        folds.append(fold)
        lines.append(
            f"| {held} | {best} | {fold['fitted_reach']:.3f} | {fold['held_out_reach']:.3f} | "
            f"{fold['held_out_any']:.3f} | {fold['base_held_out_reach']:.3f} |"
        )
    lines += ["", f"Command: `python bench/evidence_select.py`; {elapsed:.0f} s."]
    write(out, "evidence-select", {"folds": folds, "summary": summary(rows)}, lines)


def longmemeval_tables(
    rows: list[dict[str, Any]], all_settings: list[Any], base: tuple[Any, ...]
) -> list[str]:
    """Reach per question type and setting, and 3-fold cross-validation over the questions."""
    kinds = sorted({r["category"] for r in rows})
    lines = ["", "## Reach by question type (setting: hits, weight, floor, owner)", ""]
    lines += ["| setting | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for setting in all_settings:
        mine = [r for r in rows if tuple(r["setting"]) == setting]
        cells = [f"{_mean([r for r in mine if r['category'] == k], 'reach'):.2f}" for k in kinds]
        lines.append(f"| {setting} | " + " | ".join(cells) + " |")
    questions = sorted({r["question"] for r in rows})
    fold_of = {q: i % 3 for i, q in enumerate(questions)}
    lines += ["", "## Cross-validated over the questions (every third question held out)", ""]
    lines += ["| fold | fitted setting | fitted reach | held-out reach | word-only held-out reach |"]
    lines += ["|---|---|---|---|---|"]
    for fold in range(3):
        train = [r for r in rows if fold_of[r["question"]] != fold]
        test = [r for r in rows if fold_of[r["question"]] == fold]

        def reach(part: list[dict[str, Any]], setting: tuple[Any, ...]) -> float:
            return _mean([r for r in part if tuple(r["setting"]) == setting], "reach")

        best = max(all_settings, key=lambda s: (reach(train, s), -s[3]))
        lines.append(
            f"| {fold + 1} | {best} | {reach(train, best):.3f} | {reach(test, best):.3f} | "
            f"{reach(test, base):.3f} |"
        )
    return lines


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per group (conversation or question type) and setting: questions, reach, any, tokens."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in rows:
        group = r["conversation"] if r["conversation"] != "longmemeval" else r["category"]
        groups.setdefault(group, {}).setdefault(str(tuple(r["setting"])), []).append(r)
    return {
        group: {
            setting: {
                "questions": len(mine),
                "reach": round(_mean(mine, "reach"), 4),
                "any": round(_mean(mine, "any"), 4),
                "retrieved": round(_mean(mine, "retrieved"), 4),
                "median_tokens": statistics.median(r["tokens"] for r in mine),
            }
            for setting, mine in by_setting.items()
        }
        for group, by_setting in groups.items()
    }


def write(out: Path, name: str, data: dict[str, Any], lines: list[str]) -> None:
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}-{stamp}.json").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (out / f"{name}-{stamp}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

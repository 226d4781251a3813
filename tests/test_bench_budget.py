"""bench/budget_sweep.py's scoring and its cross-validated choice of evidence budget."""

import importlib.util
import json

import pytest

from tests.conftest import REPO


def _sweep():
    spec = importlib.util.spec_from_file_location("budget_sweep", REPO / "bench" / "budget_sweep.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(conversation: str, budget: int, category: str, score: float, declined: bool = False):
    return {
        "conversation": conversation,
        "budget": budget,
        "category": category,
        "score": score,
        "declined": declined,
    }


def test_answers_score_as_mem_eval_scores_them():
    sweep = _sweep()
    scores = sweep.score_of(
        [
            _record("a", 350, "single-hop", 0.5),
            _record("a", 350, "temporal", 0.0, declined=True),
            _record("a", 350, "adversarial", 1.0, declined=True),  # declined what has no answer
        ]
    )
    assert scores["f1"] == pytest.approx(0.25)
    assert scores["abstention"] == 1.0
    assert scores["false_abstention"] == 0.5  # one of the two answerable questions declined
    assert scores["overall"] == pytest.approx(0.5)  # one score per question, averaged
    assert (scores["answerable"], scores["adversarial"]) == (2, 1)


def test_the_budget_is_fitted_on_two_conversations_and_scored_on_the_third():
    sweep = _sweep()
    table = {  # conversation -> budget -> (answerable F1, adversarial abstention)
        "a": {200: (0.2, 0.0), 350: (0.6, 1.0), 600: (0.6, 1.0)},  # 350 and 600 tie: the smaller
        "b": {200: (0.3, 1.0), 350: (0.5, 1.0), 600: (0.4, 0.0)},
        "c": {200: (0.1, 0.0), 350: (0.2, 0.0), 600: (0.9, 1.0)},  # only c wants the large budget
    }
    records = [
        rec
        for conversation, by_budget in table.items()
        for budget, (f1, abstention) in by_budget.items()
        for rec in (
            _record(conversation, budget, "single-hop", f1),
            _record(conversation, budget, "adversarial", abstention, declined=bool(abstention)),
        )
    ]
    assert sweep.choose(records, [200, 350, 600]) == 600  # pooled, c's gain outweighs b's loss
    folds = sweep.cross_validate(records, [200, 350, 600])
    assert [(f["held_out"], f["fitted"]) for f in folds] == [("a", 600), ("b", 600), ("c", 350)]
    # Held out, the fitted budget's score is the third conversation's own at that budget.
    assert folds[1]["held_out_scores"][600]["overall"] == pytest.approx(0.2)
    assert folds[2]["held_out_scores"][350]["overall"] == pytest.approx(0.1)


def test_sweeps_of_two_samples_are_chosen_over_together(tmp_path):
    sweep = _sweep()
    rates = [{"prompt_tok_s": 50.0, "decode_tok_s": 10.0}]

    def run(sample: str, conversation_scores: dict[str, dict[int, float]], budgets: list[int]) -> str:
        records = [
            {
                **_record(conversation, budget, "single-hop", score),
                "prompt_tokens": budget,
                "answer_tokens": 10,
                "seconds": 1.0,
            }
            for conversation, by_budget in conversation_scores.items()
            for budget, score in by_budget.items()
        ]
        path = tmp_path / f"{sample}.json"
        run = {"sample": sample, "questions": len(conversation_scores), "budgets": budgets, "rates": rates}
        path.write_text(json.dumps({**run, "load_average": None, "records": records, "elapsed_s": 1.0}))
        return str(path)

    # The tuning sample favours 350 and also answered 1000; the held-out sample favours 200.
    tuning = run(
        "tuning",
        {"a": {200: 0.4, 350: 0.6, 1000: 0.9}, "b": {200: 0.4, 350: 0.5, 1000: 0.9}},
        [200, 350, 1000],
    )
    held = run("held out", {"a": {200: 0.9, 350: 0.5}, "b": {200: 0.8, 350: 0.5}}, [200, 350])
    result = sweep.pooled([tuning, held])
    assert result["budgets"] == [200, 350]  # only the budgets both answered
    assert result["sample"] == "tuning + held out" and result["questions"] == 4
    assert {r["sample"] for r in result["records"]} == {"tuning", "held out"}
    # The floor is each run's own: 200 prompt tokens at 50 tok/s and 10 answer tokens at 10 tok/s.
    assert {r["floor_s"] for r in result["records"] if r["budget"] == 200} == {5.0}
    assert sweep.choose(result["records"], result["budgets"]) == 200  # 0.625 against 0.525

"""How sure the model was of its answer: token log-probabilities, the least sure word, "unsure"."""

import json
import math

import pytest

from secondme.answer import ask as ask_question
from secondme.answer.confidence import answer_tokens, least_sure
from secondme.errors import InputError
from secondme.memory import NewMemory
from secondme.service import Secondme
from tests.conftest import run_mem


class Hesitant:
    """An answer model that says one fixed thing and how likely each of its tokens was."""

    name = "hesitant"
    scores_tokens = True

    def __init__(self, tokens: list[tuple[str, float]]) -> None:
        self.tokens = tokens

    def chat(self, messages, max_tokens, stop=None, logprobs=None):
        for piece, logprob in self.tokens:
            if logprobs is not None:
                logprobs.append((piece, logprob))
            yield piece


def spare_key(key_id: int, lisbon: float) -> list[tuple[str, float]]:
    return [
        ("Under", -0.01),
        (" the", -0.02),
        (" pot", -0.1),
        (" in", -0.3),
        (" Lisbon", lisbon),
        (" [", -2.0),
        (str(key_id), -3.0),
        ("]", -0.5),
        (".", -2.5),
        ("", -4.0),
    ]


def test_citations_punctuation_and_the_end_token_do_not_count():
    tokens = spare_key(12, -0.7)
    assert [piece for piece, _ in answer_tokens(tokens)] == ["Under", " the", " pot", " in", " Lisbon"]
    assert least_sure(tokens) == pytest.approx(math.exp(-0.7))
    # A citation of two memories, split over tokens as a model writes it.
    cited = [("Rui", -0.2), (" [", -0.1), ("4", -5.0), (",", -1.0), (" 7", -6.0), ("].", -1.0)]
    assert least_sure(cited) == pytest.approx(math.exp(-0.2))


def test_an_answer_without_words_has_no_confidence():
    assert least_sure([]) is None
    assert least_sure([(" [", -0.1), ("3", -2.0), ("]", -0.1), (".", -1.0)]) is None


def test_an_answer_the_model_hesitated_over_is_unsure_and_says_so_to_every_face():
    from secondme.wire import answer_in, answer_out

    app = Secondme()
    key, _ = app.add(NewMemory("The spare house key is under the blue flower pot"))
    sure = ask_question(app, "Where is the spare key?", llm=Hesitant(spare_key(key.id, -0.4)))
    assert sure.confidence == pytest.approx(math.exp(-0.4)) and not sure.unsure
    assert sure.answer == f"Under the pot in Lisbon [{key.id}]." and not sure.abstained
    hesitant = ask_question(app, "Where is the spare key?", llm=Hesitant(spare_key(key.id, -2.3)))
    assert hesitant.confidence == pytest.approx(math.exp(-2.3)) and hesitant.unsure
    assert hesitant.answer == sure.answer  # flagged, not changed
    data = hesitant.to_dict()
    assert data["unsure"] is True and data["confidence"] == round(math.exp(-2.3), 4)
    again = answer_in(json.loads(json.dumps(answer_out(hesitant))))
    assert (again.confidence, again.unsure, again.token_logprobs) == (
        hesitant.confidence,
        True,
        hesitant.token_logprobs,
    )
    # 0 turns the flag off.
    app.settings.answer.unsure_below = 0.0
    assert not ask_question(app, "Where is the spare key?", llm=Hesitant(spare_key(key.id, -2.3))).unsure


def test_a_decline_is_never_unsure():
    app = Secondme()
    app.add(NewMemory("The spare house key is under the blue flower pot"))
    app.settings.answer.unsure_below = 1.0
    idk = ask_question(app, "Where is the spare key?", llm=Hesitant([("I", -0.1), (" don't know.", -1.5)]))
    assert idk.abstained and not idk.unsure and idk.confidence == pytest.approx(math.exp(-1.5))


def test_a_model_that_does_not_score_tokens_gives_no_confidence():
    class Plain:
        name = "plain"

        def chat(self, messages, max_tokens, stop=None):
            yield "Under the blue flower pot [1]."

    app = Secondme()
    app.add(NewMemory("The spare house key is under the blue flower pot"))
    app.settings.answer.unsure_below = 1.0
    answer = ask_question(app, "Where is the spare key?", llm=Plain())
    assert answer.confidence is None and not answer.unsure and answer.token_logprobs == []


def test_the_threshold_must_be_a_probability(home):
    from secondme import config

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[answer]\nunsure_below = 30\n")
    with pytest.raises(InputError, match=r"answer\.unsure_below must be a probability from 0 to 1"):
        config.load()
    result = run_mem("ask", "Where is the key?")
    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith("error: answer.unsure_below must be a probability")


def test_the_real_model_reports_each_token_it_writes_without_changing_them(tiny_llm):
    messages = [{"role": "user", "content": "Name three colours."}]
    # Each run from an empty context: a prompt partly reused from the run before is evaluated in
    # other batches, which moves the logits a little and can change a greedy choice.
    tiny_llm.llama.reset()
    plain = "".join(tiny_llm.chat(messages, max_tokens=24))
    tiny_llm.llama.reset()
    scored: list[tuple[str, float]] = []
    text = "".join(tiny_llm.chat(messages, max_tokens=24, logprobs=scored))
    assert text == plain
    assert "".join(piece for piece, _ in scored) == text
    assert len(scored) >= 3 and all(logprob <= 0.0 for _, logprob in scored)
    # Greedy: each token written was the most likely one, so none is near impossible.
    assert all(logprob > math.log(1e-4) for _, logprob in scored)


@pytest.mark.slow
def test_the_default_model_is_sure_of_a_stated_fact_and_the_cli_flags_a_hesitant_answer(default_llm):
    app = Secondme()
    app.add(NewMemory("My dentist is Dr. Ana Costa"))
    dentist = ask_question(app, "Who is my dentist?", llm=default_llm)
    assert "Ana Costa" in dentist.answer
    assert dentist.confidence is not None and dentist.confidence > 0.5 and not dentist.unsure
    # The same answer through `mem`, with a threshold every answer falls below.
    shown = run_mem("ask", "Who is my dentist?", "--explain", env={"SECONDME_ANSWER_UNSURE_BELOW": "1"})
    assert shown.returncode == 0, shown.stderr
    assert "(unsure: the model hesitated over this answer; check it against the sources)" in shown.stdout
    assert "confidence 0." in shown.stdout
    plain = run_mem("ask", "Who is my dentist?")
    assert "unsure" not in plain.stdout


def test_the_threshold_is_chosen_where_flags_tell_wrong_answers_from_right_ones(tmp_path):
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("confidence_cv", REPO / "bench" / "confidence_cv.py")
    assert spec is not None and spec.loader is not None
    cv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cv)

    def record(qid: str, category: str, f1: float | None, logprob: float, abstained: bool = False):
        metrics = {"abstention": 1.0 if abstained else 0.0} if f1 is None else {"f1": f1}
        tokens = [["Ana", -0.01], [" Costa", logprob], [" [", -3.0], ["4", -4.0], ["].", -2.0]]
        return {"id": qid, "system": "hybrid", "category": category, "metrics": metrics, "tokens": tokens}

    records = [
        record("c1#0", "single-hop", 1.0, -0.1),  # sure and right
        record("c1#1", "single-hop", 0.9, -0.3),
        record("c1#2", "single-hop", 0.0, -1.5),  # hesitant and wrong
        record("c1#3", "adversarial", None, -2.0),  # answered what has no answer: wrong
        record("c2#0", "temporal", 0.2, -1.2),
        record("c2#1", "temporal", 1.0, -0.2),
        record("c2#2", "multi-hop", 0.0, -0.05),  # sure and wrong: no threshold catches it
        {**record("c2#3", "adversarial", None, -0.1, abstained=True), "abstained": True},  # declined
        {"id": "c2#4", "system": "bm25", "category": "temporal", "metrics": {"f1": 0.0}},  # not an answer
    ]
    report = tmp_path / "locomo-test.json"
    report.write_text(json.dumps({"records": records}))
    rows = cv.rows_of(report, "test")
    assert [r["id"] for r in rows] == ["c1#0", "c1#1", "c1#2", "c1#3", "c2#0", "c2#1", "c2#2"]
    assert [r["wrong"] for r in rows] == [False, False, True, True, True, False, True]
    assert rows[2]["words"] == pytest.approx(math.exp(-1.5))  # the citation's tokens left out
    assert rows[0]["all tokens"] == pytest.approx(math.exp(-4.0))
    # Below 0.4 (logprob -0.92) the three hesitant answers are flagged, all wrong; the sure
    # wrong one is missed: J = 3/4 - 0/3.
    assert cv.flag_counts(rows, 0.4) == {"answers": 7, "wrong": 4, "flagged": 3, "flagged_wrong": 3}
    assert cv.youden(cv.flag_counts(rows, 0.4)) == pytest.approx(0.75)
    # The lowest threshold with the best J: 0.35, the first to flag the answer at e^-1.2 = 0.301.
    assert cv.fit(rows) == 0.35
    assert cv.youden(cv.flag_counts(rows, 0.0)) == 0.0

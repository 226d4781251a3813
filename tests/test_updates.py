"""Knowledge updates: older statements of what a question asks about now stay out of the prompt."""

from datetime import datetime

import pytest

from secondme.answer import ask as ask_question
from secondme.answer import prepare
from secondme.answer.evidence import Excerpt, Unit
from secondme.answer.pipeline import generate
from secondme.answer.updates import asks_current_value, drop_superseded
from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme
from secondme.timeparse import question_time
from tests.conftest import run_mem

TODAY = datetime(2025, 12, 1)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is my cholesterol?", True),
        ("Who is my manager?", True),
        ("When did I last see Ana?", True),
        ("How much do I weigh?", True),
        ("Where is the painting 'Ethereal Dreams' currently hanging?", True),
        # The past, a total, a comparison, a list across memories: not one current value.
        ("What was my previous job?", False),
        ("What is the total number of views on my videos?", False),
        ("How much more does my car use now compared to last year?", False),
        ("What are all the books I read?", False),
        ("What books have I read?", False),
        ("Which cities have I visited?", False),
        # A span since something began: the older statements tell when it began.
        ("How long have I had my car?", False),
        ("How long has Caroline had her current group of friends for?", False),
        ("How long is my commute now?", True),
        # A chat participant in the present tense: mostly lists gathered across sessions.
        ("What do Melanie's kids like?", False),
        # Not a question about a fact: a request.
        ("I am planning a trip; do you have any suggestions?", False),
    ],
)
def test_which_questions_ask_for_a_current_value(question, expected):
    assert asks_current_value(question, question_time(question, TODAY)) is expected


def _excerpt(app: Secondme, text: str, when: str | None, score: float) -> Excerpt:
    kind = MemoryType.EPISODIC if when else MemoryType.SEMANTIC
    memory, _ = app.add(NewMemory(text, type=kind, occurred_at=when))
    return Excerpt(memory=memory, rank=0, units=[Unit(index=0, text=text, score=score)])


def test_older_strong_statements_are_superseded_and_weak_ones_kept():
    app = Secondme()
    old = _excerpt(app, "Rent is 850 euros a month.", "2023-08-01T12:00:00", 1.9)
    new = _excerpt(app, "The landlord raised the rent to 920 euros.", "2025-08-01T12:00:00", 1.6)
    weak = _excerpt(app, "Paid the electricity bill.", "2022-01-01T12:00:00", 0.4)
    question = "How much is my rent?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [old, new, weak])
    assert [e.memory.id for e in gone] == [old.memory.id]
    assert [e.memory.id for e in kept] == [new.memory.id, weak.memory.id]
    # The newest of the strong statements holds even when it scores lower than an older one;
    # a question about the past keeps them all.
    question = "How much was my rent before the raise?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [old, new, weak])
    assert gone == [] and len(kept) == 3


def test_an_older_statement_in_other_words_is_superseded_too_but_never_becomes_the_newest():
    app = Secondme()
    first = _excerpt(app, "Weighed 82 kg this morning.", "2025-01-10T12:00:00", 1.07)
    middle = _excerpt(app, "Down to 78 kg on the scale.", "2025-05-12T12:00:00", 0.52)
    latest = _excerpt(app, "Weighed in at 76 kg.", "2025-09-08T12:00:00", 0.85)
    other = _excerpt(app, "Bought a new rain jacket.", "2025-03-01T12:00:00", 0.5)
    question = "How much do I weigh?"
    when = question_time(question, TODAY)
    # By the question's words alone, 78 kg bears on it too weakly to be compared: it stays.
    kept, gone = drop_superseded(question, when, [first, middle, latest, other])
    assert [e.memory.id for e in gone] == [first.memory.id]
    # It says what the strong ones say (the real embedder: cosine 0.75 with 76 kg).
    kept, gone = drop_superseded(question, when, [first, middle, latest, other], app.embed)
    assert {e.memory.id for e in gone} == {first.memory.id, middle.memory.id}
    assert [e.memory.id for e in kept] == [latest.memory.id, other.memory.id]
    # A newer statement that bears on the question weakly does not replace the newest strong one.
    later = _excerpt(app, "Weighed in at the gym, same as always.", "2025-11-20T12:00:00", 0.3)
    kept, gone = drop_superseded(question, when, [first, latest, later], app.embed)
    assert [e.memory.id for e in gone] == [first.memory.id]
    assert latest.memory.id in [e.memory.id for e in kept]


def test_for_how_many_an_event_like_a_count_is_not_superseded_with_the_counts():
    app = Secondme()
    count = _excerpt(app, "Worn the red sneakers 2 times so far.", "2025-05-01T12:00:00", 1.2)
    party = _excerpt(app, "Wore the red sneakers to the party.", "2025-06-01T12:00:00", 0.6)
    recount = _excerpt(app, "Worn the red sneakers 3 times now.", "2025-09-01T12:00:00", 1.1)
    question = "How many times have I worn my red sneakers?"
    when = question_time(question, TODAY)
    # The party says what the counts say (cosine 0.7), but it is an event to count, not a count.
    kept, gone = drop_superseded(question, when, [count, party, recount], app.embed)
    assert [e.memory.id for e in gone] == [count.memory.id]
    assert [e.memory.id for e in kept] == [party.memory.id, recount.memory.id]


def test_a_question_about_now_sees_only_the_newest_statement():
    app = Secondme()
    old, _ = app.add(
        NewMemory(
            "Dr. Sousa said my cholesterol is 210, should come down.",
            type=MemoryType.EPISODIC,
            occurred_at="2025-07-02T12:00:00",
        )
    )
    new, _ = app.add(
        NewMemory(
            "Cholesterol down to 185 at the check-up with Dr. Sousa.",
            type=MemoryType.EPISODIC,
            occurred_at="2025-11-20T12:00:00",
        )
    )
    app.add(
        NewMemory("Bought a new rain jacket.", type=MemoryType.EPISODIC, occurred_at="2025-11-12T12:00:00")
    )
    prepared = prepare(app, "What is my cholesterol?", today=TODAY)
    user = prepared.messages[-1]["content"]
    assert "185" in user and "210" not in user
    assert [e.memory.id for e in prepared.superseded] == [old.id]
    # `mem ask --json` lists what was left out (here without a model: nothing else is asked).
    listed = generate(app, prepared, None).to_dict()["superseded"]
    assert [item["id"] for item in listed] == [old.id] and "210" in listed[0]["text"]
    # Asked about the past, both are there, in time order.
    past = prepare(app, "What was my cholesterol in July?", today=TODAY).messages[-1]["content"]
    assert past.index(f"[{old.id}]") < past.index(f"[{new.id}]")


@pytest.mark.slow
def test_default_model_answers_with_the_newest_value(default_llm):
    app = Secondme()
    for text, when in (
        ("My manager is Carla.", "2023-01-09"),
        ("Carla left the company; my new manager is Tiago.", "2025-03-03"),
        ("New 10k personal best: 52:10.", "2024-04-21"),
        ("Broke my 10k personal best again: 49:35.", "2025-05-18"),
        ("Got a haircut at Barbearia Porto.", "2025-08-30"),
        ("Haircut at Barbearia Porto, shorter this time.", "2025-10-18"),
    ):
        app.add(NewMemory(text, type=MemoryType.EPISODIC, occurred_at=f"{when}T12:00:00"))
    # Each of these was answered with the older value before (the model follows the memory that
    # repeats the question's words best).
    manager = ask_question(app, "Who is my manager?", llm=default_llm, today=TODAY)
    assert "Tiago" in manager.answer and not manager.abstained, manager.answer
    best = ask_question(app, "What is my 10k personal best?", llm=default_llm, today=TODAY)
    assert "49:35" in best.answer and "52:10" not in best.answer, best.answer
    haircut = ask_question(app, "When did I last get a haircut?", llm=default_llm, today=TODAY)
    assert "18 October 2025" in haircut.answer, haircut.answer
    assert [m.id for m in haircut.cited] == [6]


@pytest.mark.slow
def test_mem_ask_explain_shows_what_was_superseded():
    for text, when in (
        ("My rent is 850 euros a month.", "2023-08-01"),
        ("My rent went up to 920 euros a month.", "2025-08-01"),
    ):
        assert run_mem("add", text, "--at", when).returncode == 0
    result = run_mem("ask", "How much is my rent?", "--explain", "--now", "2025-12-01")
    assert result.returncode == 0, result.stderr
    # The memories found come first, then the answer, its sources and the explanation.
    answer = result.stdout.split("Sources:")[0].strip().splitlines()[-1]
    assert "920" in answer and "850" not in answer, result.stdout
    superseded = result.stdout.split("Superseded")[1]
    assert "[1] 2023-08-01  My rent is 850 euros" in superseded, result.stdout


def test_messages_of_one_sitting_do_not_supersede_each_other():
    app = Secondme()
    breed = _excerpt(app, "A collar that would suit a Golden Retriever like Max?", "2023-05-25T10:02:00", 1.5)
    collar = _excerpt(
        app, "I'll go with a nylon collar for Max's active lifestyle.", "2023-05-25T10:09:00", 1.6
    )
    question = "What breed is my dog?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [breed, collar])
    assert gone == [] and kept == [breed, collar]
    # Another conversation later the same day is an update ("worn them 4 times", then 6).
    four = _excerpt(app, "I've worn my new Converse 4 times.", "2023-05-30T17:45:00", 1.7)
    six = _excerpt(app, "That's 6 times I've worn the Converse now.", "2023-05-30T22:16:00", 1.5)
    question = "How many times have I worn my new Converse?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [four, six])
    assert gone == [four] and kept == [six]


def test_a_fact_noted_today_does_not_supersede_what_happened():
    app = Secondme()
    dinner = _excerpt(app, "Had dinner with Ana and Pedro at Taberna.", "2025-06-14T19:30:00", 1.4)
    climbing = _excerpt(app, "Saw Ana at the climbing gym in Alcantara.", "2025-10-21T18:00:00", 1.3)
    phone = _excerpt(app, "Ana Costa's clinic phone number is +351 21 555 0142.", None, 1.5)
    question = "When did I last see Ana?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [dinner, climbing, phone])
    assert gone == [dinner] and kept == [climbing, phone]


def test_what_was_superseded_travels_to_the_daemon_s_clients():
    import json

    from secondme.wire import answer_in, answer_out

    app = Secondme()
    for text, when in (
        ("Rent is 850 euros a month.", "2023-08-01"),
        ("The rent went up to 920 euros.", "2025-08-01"),
    ):
        app.add(NewMemory(text, type=MemoryType.EPISODIC, occurred_at=f"{when}T12:00:00"))
    answer = generate(app, prepare(app, "How much is my rent?", today=TODAY), None)
    assert [e.memory.id for e in answer.superseded] == [1]
    again = answer_in(json.loads(json.dumps(answer_out(answer))))
    assert again.to_dict()["superseded"] == answer.to_dict()["superseded"]
    assert [e.memory.id for e in again.excerpts] == [2]


def test_a_count_of_separate_events_is_not_superseded_but_a_stated_count_is():
    app = Secondme()
    dune = _excerpt(app, "Finished reading Dune, what a book.", "2025-03-02T21:00:00", 1.4)
    piranesi = _excerpt(app, "Finished reading Piranesi on the train.", "2025-06-10T08:00:00", 1.3)
    question = "How many books have I read?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [dune, piranesi])
    assert gone == [] and kept == [dune, piranesi]
    four = _excerpt(app, "I've worn my new Converse four times already.", "2025-02-01T12:00:00", 1.6)
    sixth = _excerpt(app, "Wore the Converse again, the sixth time.", "2025-05-01T12:00:00", 1.4)
    question = "How many times have I worn my new Converse?"
    kept, gone = drop_superseded(question, question_time(question, TODAY), [four, sixth])
    assert gone == [four] and kept == [sixth]

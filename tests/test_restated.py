"""Answers that open by restating the question lose the restatement, streamed or not."""

import random

import pytest

from secondme.answer import ask as ask_question
from secondme.answer.restated import RestatedStream, answer_start, drop_restated
from secondme.memory import NewMemory
from secondme.service import Secondme
from tests.test_answer import Scripted

DROPPED = [
    (
        "What natural disaster affected John's old area on 7 July, 2023?",
        "The natural disaster that affected John's old area on 7 July, 2023, was a flood [12].",
        "A flood [12].",
    ),
    (
        "Where is the spare key?",
        "The spare key is under the blue flower pot [3].",
        "Under the blue flower pot [3].",
    ),
    (
        "What shelters does Maria volunteer at?",
        "Maria volunteers at a homeless shelter.",
        "A homeless shelter.",
    ),
    (
        "How does Gina stay confident in her business?",
        "Gina stays confident in her business by reminding herself of her progress [8].",
        "By reminding herself of her progress [8].",
    ),
    # The asker's "my" is the answer's "your".
    ("What is my dentist's name?", "Your dentist's name is Dr. Ana Costa [2].", "Dr. Ana Costa [2]."),
    (
        "Would John be considered a patriotic person?",
        "Yes, John would be considered a patriotic person [4].",
        "Yes [4].",
    ),
    ("Would Melanie go on another roadtrip soon?", "Yes, Melanie would go on another roadtrip soon.", "Yes."),
]

KEPT = [
    ("When did I last see Ana?", "I don't know."),
    ("When did I last see Ana?", "You last saw Ana on 11 June 2023 [48]."),
    # One word of the question is no restatement.
    ("What toy does Miso like?", "The red laser toy [52]."),
    ("Where do I work?", "You work at Northwind as a data analyst [7]."),
    # The opening ends on a word the question lacks ("with"): "Melanie" alone would mislead.
    ("What is Caroline's relationship status?", "Caroline is in a relationship with Melanie [196]."),
    # ... or on "have", which the question lacks.
    ("What did Maria plan to do later on?", "Maria planned to have dinner with friends from the gym."),
    # The question's words go on after "saw": the restatement had not ended.
    (
        "What precautionary sign did Melanie see at the café?",
        "The precautionary sign Melanie saw at the café was posted on a door.",
    ),
    # A citation inside the opening keeps it.
    ("Where is the spare key?", "The spare key [3] is under the blue flower pot."),
    # A yes that says more than the question.
    (
        "Would John be considered a patriotic person?",
        "Yes, John would be considered a patriotic person because he served.",
    ),
    ("How much did I spend on the flights and the hotel together?", "$420 + $180 = $600 [64][71]."),
    ("What did Gina make a limited edition line of?", "Hoodies [132]."),
    # A negation is more than the question.
    ("Is Miso my cat?", "No, Miso is not your cat."),
    # Lists the model wrote line by line are left as written.
    ("What events has John attended?", "John has attended:\n- a march\n- a 5K run"),
]


@pytest.mark.parametrize(("question", "answer", "expected"), DROPPED)
def test_a_restated_question_is_left_out(question, answer, expected):
    assert drop_restated(question, answer) == expected


@pytest.mark.parametrize(("question", "answer"), KEPT)
def test_answers_that_do_not_restate_the_question_are_kept(question, answer):
    assert answer_start(question, answer) == 0
    assert drop_restated(question, answer) == answer


def _streamed(question: str, pieces: list[str]) -> str:
    shown: list[str] = []
    stream = RestatedStream(question, shown.append)
    for piece in pieces:
        stream(piece)
    assert stream.close() == "".join(shown)
    return "".join(shown)


def _splits(text: str) -> list[list[str]]:
    chosen = random.Random(text)
    cuts = sorted(chosen.sample(range(1, len(text)), min(6, len(text) - 1)))
    return [
        list(text),
        [w + " " for w in text.split(" ")[:-1]] + [text.split(" ")[-1]],
        [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)],
    ]


@pytest.mark.parametrize(("question", "answer"), [(q, a) for q, a, _ in DROPPED] + KEPT)
def test_the_stream_shows_what_the_answer_ends_as(question, answer):
    for pieces in _splits(answer):
        assert _streamed(question, pieces) == drop_restated(question, answer)


def test_the_stream_holds_words_back_only_while_they_may_restate_the_question():
    shown: list[str] = []
    stream = RestatedStream("Where is the spare key?", shown.append)
    stream("Under ")
    assert shown == ["Under "]  # "Under" is not the question's: decided at once
    shown.clear()
    stream = RestatedStream("Where is the spare key?", shown.append)
    for piece in ["The ", "spare ", "key ", "is "]:
        stream(piece)
    assert shown == []
    for piece in ["under ", "the ", "blue ", "flower ", "pot."]:
        stream(piece)
    assert "".join(shown) == "Under the blue flower pot."


def test_mem_ask_answers_without_the_restated_question_and_streams_the_same():
    app = Secondme()
    key, _ = app.add(NewMemory("The spare house key is under the blue flower pot"))
    said = f"The spare house key is under the blue flower pot [{key.id}]."
    pieces: list[str] = []
    result = ask_question(app, "Where is the spare house key?", llm=Scripted(said), on_token=pieces.append)
    assert result.answer == f"Under the blue flower pot [{key.id}]."
    assert result.citations == [key.id] and not result.abstained
    assert result.draft == said  # the model's own words are kept
    # What streamed is the answer, so `mem ask` shows no "Checked:" line after it.
    assert "".join(pieces).strip() == result.streamed == result.answer

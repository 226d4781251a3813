"""Chat windows next to a strong match: which windows are neighbours, and what search does."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from secondme.memory import ChatPlace
from secondme.retrieve import chat_neighbours
from secondme.service import Secondme
from tests.conftest import run_mem

GAP = timedelta(minutes=30)

# Gina's question and Jon's answer land in two windows (the two messages are too long for one);
# the answer shares no word with "Which dance competition did Jon win?".  Other days hold
# windows that do share words with it.
ASKED_AND_ANSWERED = (
    "3/9/24, 09:00 - Gina: Jon, did you ever win a dance competition? The dance competition "
    "posters are all over town again, and the dance competition season opens next month. I keep "
    "wondering whether a dance competition is worth the nerves, the travel and the early starts "
    "for anyone who is not a professional, honestly.\n"
    "3/9/24, 09:{minute} - Jon: Yes! My crew took first place at the Riverside regional in 2019. "
    "The trophy still sits on my shelf, next to the photo from that night.\n"
    "5/9/24, 18:00 - Jon: Did you see who will win the cooking show?\n"
    "6/9/24, 19:00 - Gina: The competition at work is fierce this year, Jon.\n"
    "7/9/24, 20:00 - Jon: I watched a dance film last night, the one with the rooftop scene.\n"
)


def place(i: int, start: str, end: str | None = None, conversation: str = "c") -> ChatPlace:
    return ChatPlace(i, conversation, start, end or start)


def test_the_windows_just_before_and_after_in_one_sitting_are_neighbours():
    near = [
        place(1, "2024-03-09T08:00:00", "2024-03-09T08:10:00"),
        place(2, "2024-03-09T08:20:00", "2024-03-09T08:40:00"),
        place(3, "2024-03-09T09:00:00", "2024-03-09T09:05:00"),
        place(4, "2024-03-09T09:30:00"),
    ]
    assert chat_neighbours(near[1], near, GAP) == [1, 3]
    # The first and the last window have one side only.
    assert chat_neighbours(near[0], near, GAP) == [2]
    assert chat_neighbours(near[3], near, GAP) == [3]
    # Windows with the same start (one export date for a whole session) keep their stored order.
    same = [place(5, "2023-05-08T13:56:00"), place(6, "2023-05-08T13:56:00"), place(7, "2023-05-08T13:56:00")]
    assert chat_neighbours(same[1], same, GAP) == [5, 7]


def test_a_pause_another_conversation_or_unknown_times_end_the_neighbourhood():
    after_a_pause = [place(1, "2024-03-09T08:00:00", "2024-03-09T08:10:00"), place(2, "2024-03-09T08:41:00")]
    assert chat_neighbours(after_a_pause[1], after_a_pause, GAP) == []
    assert chat_neighbours(after_a_pause[0], after_a_pause, GAP) == []
    # The window in between belongs to another conversation of the same export: skipped.
    mixed = [
        place(1, "2024-03-09T08:00:00"),
        place(2, "2024-03-09T08:05:00", conversation="other"),
        place(3, "2024-03-09T08:10:00"),
    ]
    assert chat_neighbours(mixed[2], mixed, GAP) == [1]
    # One aware and one naive time, or no time at all: not known to be one sitting.
    odd = [place(1, "2024-03-09T08:00:00+00:00"), place(2, "2024-03-09T08:05:00")]
    assert chat_neighbours(odd[1], odd, GAP) == []
    assert chat_neighbours(ChatPlace(9, "c", None, None), [place(1, "2024-03-09T08:00:00")], GAP) == []


def _ingest(app: Secondme, text: str, name: str = "jon.txt") -> list:
    from secondme.ingest.sources.chats import drafts_from_messages, parse_chat

    path = Path(app.store.path).parent / name
    path.write_text(text, encoding="utf-8")
    drafts = drafts_from_messages(parse_chat(path).messages, path, "whatsapp")
    return [memory for memory, _ in app.add_many(drafts)]


def test_the_store_finds_the_windows_of_the_same_chat_near_in_time():
    from secondme.memory import MemoryType
    from secondme.store.memories import Filters

    app = Secondme()
    asked, answered, *later = _ingest(app, ASKED_AND_ANSWERED.format(minute="05"))
    other_file = _ingest(app, "3/9/24, 09:02 - Ana: a window of another export, same morning\n", "ana.txt")
    hours = timedelta(hours=6)
    near = app.store.chat_windows_near([asked, answered], hours, Filters())
    assert sorted(p.id for p in near[asked.id]) == [asked.id, answered.id]
    assert near[answered.id] == near[asked.id]  # one sitting, one lookup
    assert other_file[0].id not in {p.id for p in near[asked.id]}
    # The windows of later days are out of reach; filters apply (a search for facts only).
    assert not {m.id for m in later} & {p.id for p in near[asked.id]}
    assert app.store.chat_windows_near([asked], hours, Filters(types=[MemoryType.SEMANTIC])) == {asked.id: []}
    # A memory that is not a chat window has no neighbours to look up.
    from secondme.memory import NewMemory

    note, _ = app.add(NewMemory("Jon's crew won the Riverside regional"))
    assert app.store.chat_windows_near([note], hours, Filters()) == {}


def test_the_answer_in_the_next_window_is_found_with_the_question_that_prompted_it():
    app = Secondme()
    asked, answered, *_ = _ingest(app, ASKED_AND_ANSWERED.format(minute="05"))
    question = "Which dance competition did Jon win?"

    app.settings.search.neighbour_weight = 0.0
    alone = [h.memory.id for h in app.search(question, k=3)]
    assert asked.id in alone[:2] and answered.id not in alone

    app.settings.search.neighbour_weight = 0.5
    hits = {h.memory.id: h for h in app.search(question, k=3)}
    assert asked.id in hits and answered.id in hits
    assert hits[answered.id].neighbour_of == asked.id
    # Lower ranked days are not raised: they have no strong match beside them.
    assert all(h.neighbour_of in (None, asked.id, answered.id) for h in hits.values())
    # Keyword-only and vector-only search stay what they say.
    assert answered.id not in [h.memory.id for h in app.search(question, k=3, mode="keyword")]


def test_an_answer_after_a_pause_is_not_raised():
    app = Secondme()
    # Two hours between the messages: Jon's reply starts another sitting.
    asked, answered, *_ = _ingest(app, ASKED_AND_ANSWERED.replace("09:{minute}", "11:05"))
    hits = app.search("Which dance competition did Jon win?", k=3)
    assert asked.id in [h.memory.id for h in hits[:2]]
    assert answered.id not in [h.memory.id for h in hits]
    assert all(h.neighbour_of is None for h in hits)


def test_mem_search_json_says_which_window_raised_a_neighbour(home):
    app = Secondme()
    asked, answered, *_ = _ingest(app, ASKED_AND_ANSWERED.format(minute="05"))
    app.close()
    result = run_mem("search", "Which dance competition did Jon win?", "--json", "-k", "3")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_id = {row["id"]: row for row in rows}
    assert by_id[answered.id]["neighbour_of"] == asked.id
    assert by_id[asked.id]["neighbour_of"] in (None, answered.id)


@pytest.mark.parametrize("weight", [0.0, 0.25])
def test_search_settings_are_read_from_the_config_file(tmp_path, weight):
    from secondme import config

    settings_file = tmp_path / "config.toml"
    settings_file.write_text(f"[search]\nneighbour_weight = {weight}\n", encoding="utf-8")
    assert config.load(settings_file).search.neighbour_weight == weight


def test_the_daemon_wire_keeps_which_window_raised_a_neighbour():
    from secondme.wire import hit_in, hit_out

    app = Secondme()
    asked, answered, *_ = _ingest(app, ASKED_AND_ANSWERED.format(minute="05"))
    hits = app.search("Which dance competition did Jon win?", k=3)
    again = [hit_in(json.loads(json.dumps(hit_out(h)))) for h in hits]
    assert [h.neighbour_of for h in again] == [h.neighbour_of for h in hits]
    assert answered.id in [h.memory.id for h in again if h.neighbour_of == asked.id]

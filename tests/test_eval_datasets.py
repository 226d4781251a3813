"""Benchmark loaders: the real dev splits load with the counts we observed, bad files fail clearly."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from secondme.errors import InputError
from secondme.eval.datasets import (
    LME_QUESTION_TYPES,
    LOCOMO_FILE,
    LONGMEMEVAL_FILE,
    default_bench_dir,
    load_locomo,
    load_longmemeval,
    normalise_evidence,
    parse_lme_date,
    parse_locomo_date,
)

BENCH = default_bench_dir()
needs_locomo = pytest.mark.skipif(
    not (BENCH / LOCOMO_FILE).exists(), reason="shared/bench/locomo_dev.json is not here"
)
needs_lme = pytest.mark.skipif(
    not (BENCH / LONGMEMEVAL_FILE).exists(), reason="shared/bench/longmemeval_s_dev.json is not here"
)


# --- the real LoCoMo dev split ------------------------------------------------------------------


@pytest.fixture(scope="module")
def locomo():
    return load_locomo()


@needs_locomo
def test_locomo_dev_has_three_conversations_and_497_questions(locomo):
    assert [c.sample_id for c in locomo] == ["conv-26", "conv-30", "conv-41"]
    assert sum(len(c.questions) for c in locomo) == 497
    assert [len(c.questions) for c in locomo] == [199, 105, 193]


@needs_locomo
def test_locomo_sessions_come_from_session_lists_not_date_keys(locomo):
    # conv-26 has 35 date keys but only 19 sessions.
    assert [len(c.sessions) for c in locomo] == [19, 19, 32]
    assert [sum(len(s.turns) for s in c.sessions) for c in locomo] == [419, 369, 663]
    assert [s.index for s in locomo[0].sessions] == list(range(1, 20))
    for conversation in locomo:
        dates = [s.date for s in conversation.sessions]
        assert dates == sorted(dates)


@needs_locomo
def test_locomo_speakers_turns_and_dates(locomo):
    first = locomo[0]
    assert (first.speaker_a, first.speaker_b) == ("Caroline", "Melanie")
    assert first.sessions[0].date == datetime(2023, 5, 8, 13, 56)
    assert first.sessions[0].turns[0].dia_id == "D1:1"
    assert first.sessions[0].turns[0].speaker == "Caroline"
    captions = [sum(1 for _, t in c.turns() if t.blip_caption) for c in locomo]
    assert captions == [116, 72, 131]


@needs_locomo
def test_locomo_category_counts(locomo):
    counts = Counter(q.category for c in locomo for q in c.questions)
    assert counts == {1: 74, 2: 90, 3: 21, 4: 200, 5: 112}
    assert {q.category_name for c in locomo for q in c.questions if q.category == 1} == {"multi-hop"}


@needs_locomo
def test_locomo_answers_are_strings_and_adversarial_ones_mostly_absent(locomo):
    questions = [q for c in locomo for q in c.questions]
    assert all(isinstance(q.answer, str) for q in questions if q.category != 5)
    # Integer answers in the file (years, counts) come back as text.
    raw = json.loads((BENCH / LOCOMO_FILE).read_text())
    raw_answers = [q.get("answer") for c in raw for q in c["qa"]]
    ints = [(n, a) for n, a in enumerate(raw_answers) if isinstance(a, int)]
    assert len(ints) == 6
    assert all(questions[n].answer == str(a) for n, a in ints)
    adversarial = [q for q in questions if q.category == 5]
    assert sum(1 for q in adversarial if q.answer is None) == 110
    assert all(q.adversarial_answer for q in adversarial)


@needs_locomo
def test_locomo_evidence_is_normalised_and_points_at_real_turns(locomo):
    joined = [q for q in locomo[0].questions if q.evidence == ["D8:6", "D9:17"]]
    assert len(joined) == 1  # was one string "D8:6; D9:17" in the file
    for conversation in locomo:
        turns = conversation.turn_index()
        for question in conversation.questions:
            assert all(e in turns for e in question.evidence)
    assert sum(1 for c in locomo for q in c.questions if not q.evidence) == 2


# --- the real LongMemEval_S dev split -----------------------------------------------------------


@pytest.fixture(scope="module")
def lme():
    return load_longmemeval()


@needs_lme
def test_longmemeval_dev_has_60_questions_10_per_type(lme):
    assert len(lme) == 60
    assert Counter(q.question_type for q in lme) == {t: 10 for t in LME_QUESTION_TYPES}


@needs_lme
def test_longmemeval_abstention_questions(lme):
    abstentions = [q for q in lme if q.is_abstention]
    assert len(abstentions) == 2
    assert all(q.question_id.endswith("_abs") for q in abstentions)
    assert {q.question_type for q in abstentions} == {"temporal-reasoning"}


@needs_lme
def test_longmemeval_haystacks(lme):
    assert sum(len(q.sessions) for q in lme) == 2927
    assert min(len(q.sessions) for q in lme) == 43
    assert max(len(q.sessions) for q in lme) == 55
    turns = [t for q in lme for s in q.sessions for t in s.turns]
    assert len(turns) == 29804
    assert sum(1 for t in turns if t["has_answer"]) == 94
    assert {t["role"] for t in turns} == {"user", "assistant"}
    for question in lme:
        ids = {s.session_id for s in question.sessions}
        assert set(question.answer_session_ids) <= ids


@needs_lme
def test_longmemeval_dates_answers_and_repeated_sessions(lme):
    first = lme[0]
    assert first.question_date == datetime(2023, 10, 8, 15, 29)
    assert first.sessions[0].date == datetime(2023, 5, 17, 23, 40)
    assert first.sessions[0].session_id == "ultrachat_140677"
    assert all(isinstance(q.answer, str) for q in lme)
    by_id = {q.question_id: q for q in lme}
    assert (by_id["81507db6"].answer, by_id["60472f9c"].answer) == ("3", "2")  # ints in the file
    repeated = [q for q in lme if len({s.session_id for s in q.sessions}) < len(q.sessions)]
    assert [q.question_id for q in repeated] == ["caf03d32"]


# --- parsing pieces -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1:56 pm on 8 May, 2023", datetime(2023, 5, 8, 13, 56)),
        ("12:09 am on 13 September, 2023", datetime(2023, 9, 13, 0, 9)),
        ("12:24 pm on 7 April, 2023", datetime(2023, 4, 7, 12, 24)),
        ("11:01 AM on 17 December, 2022", datetime(2022, 12, 17, 11, 1)),
        ("9:55 am on 22 Oct 2023", datetime(2023, 10, 22, 9, 55)),
    ],
)
def test_parse_locomo_date(text, expected):
    assert parse_locomo_date(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "13:56 pm on 8 May, 2023", "1:56 pm on 8 Mai, 2023"])
def test_parse_locomo_date_rejects_other_shapes(text):
    with pytest.raises(ValueError):
        parse_locomo_date(text)


def test_parse_lme_date():
    assert parse_lme_date("2023/05/28 (Sun) 19:47") == datetime(2023, 5, 28, 19, 47)
    assert parse_lme_date("2023/05/28 19:47") == datetime(2023, 5, 28, 19, 47)
    with pytest.raises(ValueError):
        parse_lme_date("28 May 2023")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (["D1:3"], ["D1:3"]),
        (["D"], []),
        (["D:1:3"], ["D1:3"]),
        (["D1:3; D2:4"], ["D1:3", "D2:4"]),
        (["D1:3 D2:4"], ["D1:3", "D2:4"]),
        (["D1:3,D2:4", "D1:3"], ["D1:3", "D2:4"]),
        (["D01:03"], ["D1:3"]),
        ("D5:1", ["D5:1"]),
        (None, []),
        ([], []),
    ],
)
def test_normalise_evidence(raw, expected):
    assert normalise_evidence(raw) == expected


def test_default_bench_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECONDME_BENCH_DIR", str(tmp_path))
    assert default_bench_dir() == tmp_path
    monkeypatch.delenv("SECONDME_BENCH_DIR")
    assert default_bench_dir().parts[-2:] == ("shared", "bench")


# --- bad files ----------------------------------------------------------------------------------


def _locomo_item(**changes):
    item = {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bo",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [{"speaker": "Ann", "dia_id": "D1:1", "text": "hi"}],
            "session_2_date_time": "2:00 pm on 9 May, 2023",  # a date with no session
        },
        "qa": [{"question": "q?", "answer": 7, "evidence": ["D1:1"], "category": 2}],
    }
    item.update(changes)
    return item


def _write(tmp_path: Path, data, name="bench.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _error(loader, path) -> str:
    with pytest.raises(InputError) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def test_small_locomo_file_loads(tmp_path):
    [conversation] = load_locomo(_write(tmp_path, [_locomo_item()]))
    assert len(conversation.sessions) == 1
    assert conversation.questions[0].answer == "7"
    assert conversation.sessions[0].turns[0].blip_caption is None


def test_missing_file_names_the_path(tmp_path):
    message = _error(load_locomo, tmp_path / "nope.json")
    assert "not found" in message


def test_not_json(tmp_path):
    assert "not JSON" in _error(load_longmemeval, _write(tmp_path, "{not json"))


def test_wrong_top_level_shape(tmp_path):
    assert "expected a list" in _error(load_locomo, _write(tmp_path, {"qa": []}))
    assert "expected a list" in _error(load_longmemeval, _write(tmp_path, "3"))


def test_locomo_missing_key_names_the_item(tmp_path):
    message = _error(load_locomo, _write(tmp_path, [_locomo_item(), {"sample_id": "conv-y"}]))
    assert "conversation 1 (conv-y)" in message
    assert "'conversation'" in message


def test_locomo_missing_answer_outside_category_5(tmp_path):
    item = _locomo_item(qa=[{"question": "q?", "evidence": [], "category": 4}])
    assert "missing key 'answer'" in _error(load_locomo, _write(tmp_path, [item]))
    item = _locomo_item(qa=[{"question": "q?", "evidence": [], "category": 5}])
    assert load_locomo(_write(tmp_path, [item]))[0].questions[0].answer is None


def test_locomo_bad_date_and_category(tmp_path):
    item = _locomo_item()
    item["conversation"]["session_1_date_time"] = "sometime"
    assert "session_1" in _error(load_locomo, _write(tmp_path, [item]))
    item = _locomo_item(qa=[{"question": "q?", "answer": "x", "evidence": [], "category": 9}])
    assert "unknown category 9" in _error(load_locomo, _write(tmp_path, [item]))


def _lme_item(**changes):
    item = {
        "question_id": "q1_abs",
        "question_type": "temporal-reasoning",
        "question": "When?",
        "answer": 3,
        "question_date": "2023/05/30 (Tue) 10:00",
        "haystack_session_ids": ["s1", "s2"],
        "haystack_dates": ["2023/05/28 (Sun) 19:47", "2023/05/29 (Mon) 08:00"],
        "haystack_sessions": [
            [{"role": "user", "content": "hello", "has_answer": True}],
            [{"role": "assistant", "content": "hi"}],
        ],
        "answer_session_ids": ["s1"],
    }
    item.update(changes)
    return item


def test_small_longmemeval_file_loads(tmp_path):
    [question] = load_longmemeval(_write(tmp_path, [_lme_item()]))
    assert question.answer == "3"
    assert question.is_abstention
    assert [s.session_id for s in question.sessions] == ["s1", "s2"]
    assert question.sessions[1].turns == [{"role": "assistant", "content": "hi", "has_answer": False}]


def test_longmemeval_missing_key_names_item_n(tmp_path):
    broken = _lme_item()
    del broken["answer_session_ids"]
    message = _error(load_longmemeval, _write(tmp_path, [_lme_item(), broken]))
    assert "item 1 (q1_abs)" in message
    assert "'answer_session_ids'" in message


def test_longmemeval_haystack_lengths_must_agree(tmp_path):
    item = _lme_item(haystack_dates=["2023/05/28 (Sun) 19:47"])
    assert "differ in length" in _error(load_longmemeval, _write(tmp_path, [item]))


def test_longmemeval_bad_date(tmp_path):
    item = _lme_item(question_date="tomorrow")
    assert "not a LongMemEval date" in _error(load_longmemeval, _write(tmp_path, [item]))

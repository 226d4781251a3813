"""The synthetic corpus for speed runs: deterministic, mixed like real data, rarely repeated."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields
from datetime import datetime

import pytest

from secondme.eval.corpus import CORE_ITEMS, MIX, generate_corpus, perf_queries
from secondme.memory import NewMemory

N = 20_000


@pytest.fixture(scope="module")
def corpus():
    return list(generate_corpus(N, seed=7))


def test_same_seed_same_corpus_other_seed_other_corpus():
    assert list(generate_corpus(500, seed=3)) == list(generate_corpus(500, seed=3))
    assert list(generate_corpus(500, seed=3)) != list(generate_corpus(500, seed=4))


def test_sizes():
    assert list(generate_corpus(0)) == []
    assert len(list(generate_corpus(1))) == 1
    assert len(list(generate_corpus(1234))) == 1234
    with pytest.raises(ValueError):
        list(generate_corpus(-1))


def test_mix_is_roughly_as_documented(corpus):
    kinds = Counter()
    for item in corpus:
        if item["type"] == "core":
            kinds["core"] += 1
        elif item["source_kind"] in ("chat", "note", "screenshot"):
            kinds[item["source_kind"]] += 1
        elif item["type"] == "vault":
            kinds["secret"] += 1
        elif item["type"] == "semantic":
            kinds["fact"] += 1
        else:
            kinds["event"] += 1
    assert kinds["core"] == N // 2000
    rest = N - kinds["core"]
    for kind, share in MIX.items():
        # 20,000 draws: the binomial spread is well under 1 point for these shares.
        assert kinds[kind] / rest == pytest.approx(share, abs=0.015), kind


def test_items_are_valid_memory_drafts(corpus):
    allowed = {f.name for f in fields(NewMemory)}
    for item in corpus[:2000]:
        assert set(item) <= allowed
        NewMemory(**item).validate()
    assert {i["type"] for i in corpus} == {"core", "episodic", "semantic", "resource", "vault"}
    assert {i["source_kind"] for i in corpus} == {"note", "chat", "screenshot", "cli"}


def test_fields_by_kind(corpus):
    for item in corpus:
        assert item["text"].strip()
        assert isinstance(item["tags"], list) and item["tags"]
        if item["source_kind"] == "screenshot":
            assert item["type"] == "resource"
            assert item["title"].startswith("Screenshot ")
            assert item["source_ref"].endswith(".png")
        else:
            assert item["title"] is None
        if item["source_kind"] == "chat":
            assert item["actor"]
            assert all(":" in line for line in item["text"].splitlines())
        if item["type"] == "core":
            assert item["label"] in {label for label, _ in CORE_ITEMS}


def test_dates_spread_over_five_years(corpus):
    dates = [datetime.fromisoformat(i["occurred_at"]) for i in corpus]
    assert min(dates) >= datetime(2020, 1, 1)
    assert max(dates) <= datetime(2024, 12, 31, 23, 59, 59)
    per_year = Counter(d.year for d in dates)
    assert set(per_year) == {2020, 2021, 2022, 2023, 2024}
    assert min(per_year.values()) > N / 10


def test_chat_has_a_handful_of_recurring_people(corpus):
    people = Counter(i["tags"][1] for i in corpus if i["source_kind"] == "chat")
    assert 8 <= len(people) <= 12
    assert people.most_common(1)[0][0] == "anna"


def test_texts_rarely_repeat(corpus):
    # The store drops duplicate text, so repeats would shrink the corpus on ingest.
    assert len({i["text"] for i in corpus}) / len(corpus) > 0.995


def test_vocabulary_is_varied(corpus):
    words = Counter(w.lower() for i in corpus for w in i["text"].split())
    assert len(words) > 1500


def test_one_hundred_thousand_items_are_generated():
    # How fast is a benchmark's question (bench/), not a test's.
    count = sum(1 for _ in generate_corpus(100_000))
    assert count == 100_000


def test_perf_queries(corpus):
    queries = perf_queries()
    assert queries == perf_queries(0)
    assert queries != perf_queries(1)
    assert len(queries) == 50 == len(set(queries))
    assert len(perf_queries(n=200)) == 200
    # Every query shares a content word with the corpus, so searches have something to find.
    vocabulary = {w.lower().strip(".,:;!?'") for i in corpus for w in i["text"].split()}
    stop = {"what", "when", "where", "who", "how", "did", "the", "with", "from", "about", "is"}
    for query in queries:
        words = [w.lower() for w in query.split() if w.lower() not in stop and len(w) > 2]
        assert any(w in vocabulary for w in words), query

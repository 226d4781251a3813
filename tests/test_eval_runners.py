"""`mem eval`: the LoCoMo, LongMemEval and speed runners, on small files written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from secondme.answer.pipeline import DECLINE_SOURCES
from secondme.cli import app as cli_app
from secondme.eval.datasets import LOCOMO_FILE, default_bench_dir
from secondme.eval.metrics import is_abstention
from secondme.eval.report import (
    declines,
    recompute_perf_summary,
    recompute_summary,
    summary_mismatches,
    unsure_answers,
)
from secondme.eval.runner import CachedEmbedder, Tally, spread, spread_outside
from tests.conftest import run_mem

BENCH = default_bench_dir()
#: The answer model for runs that only need answers to exist: the smallest one, on one thread
#: (on a shared, busy machine llama.cpp's second thread mostly waits).
TINY_LLM = {
    "SECONDME_LLM_MODEL": "smollm2-135m",
    "SECONDME_LLM_N_THREADS": "1",
    "SECONDME_LLM_MAX_TOKENS": "20",
}


# --- small benchmark files ----------------------------------------------------------------------


def turn(speaker: str, dia_id: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"speaker": speaker, "dia_id": dia_id, "text": text, **extra}


LOCOMO = [
    {
        "sample_id": "conv-test",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Ben",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                turn("Ana", "D1:1", "Hi Ben! I adopted a greyhound called Pistachio last weekend."),
                turn("Ben", "D1:2", "Congratulations! Greyhounds are gentle dogs."),
                turn("Ana", "D1:3", "She loves the beach at Caparica.", blip_caption="a dog on a beach"),
                turn("Ben", "D1:4", "I started learning the cello in April."),
            ],
            "session_2_date_time": "7:10 pm on 20 June, 2023",
            "session_2": [
                turn("Ana", "D2:1", "My sister Clara moved to Porto for a job at a bakery."),
                turn("Ben", "D2:2", "Porto is lovely. My cello teacher is from there."),
                turn("Ana", "D2:3", "Pistachio ran away at the park but came back."),
            ],
        },
        "qa": [
            {"question": "What is the name of Ana's greyhound?", "answer": "Pistachio",
             "evidence": ["D1:1"], "category": 4},
            {"question": "When did Ben start learning the cello?", "answer": "April 2023",
             "evidence": ["D1:4"], "category": 2},
            {"question": "Where did Ana's sister Clara move, and where does she work?",
             "answer": "Porto, a bakery", "evidence": ["D2:1"], "category": 1},
            {"question": "What did Ben's greyhound eat at the beach?",
             "adversarial_answer": "biscuits", "evidence": [], "category": 5},
        ],
    }
]  # fmt: skip


def lme_question(qid: str, qtype: str, question: str, answer: str, answer_sessions: list[str]) -> dict:
    sessions = {
        "s-bike": [
            {"role": "user", "content": "I bought a red gravel bike from Decathlon for my commute."},
            {"role": "assistant", "content": "Nice choice! Gravel bikes are versatile.", "has_answer": False},
        ],
        "s-cook": [
            {"role": "user", "content": "Give me a recipe for a lentil curry."},
            {"role": "assistant", "content": "Fry onions, add lentils, coconut milk and curry paste."},
        ],
        "s-move": [
            {"role": "user", "content": "We moved into a flat in Lisbon near the river in March."},
            {"role": "assistant", "content": "Congratulations on the move to Lisbon!"},
        ],
    }
    ids = list(sessions)
    return {
        "question_id": qid,
        "question_type": qtype,
        "question": question,
        "answer": answer,
        "question_date": "2023/06/01 (Thu) 10:00",
        "haystack_dates": ["2023/05/01 (Mon) 09:00", "2023/05/10 (Wed) 18:30", "2023/05/20 (Sat) 12:00"],
        "haystack_session_ids": ids,
        "haystack_sessions": [sessions[i] for i in ids],
        "answer_session_ids": answer_sessions,
    }


LME = [
    lme_question("q1", "single-session-user", "What colour is the gravel bike I bought?", "red", ["s-bike"]),
    lme_question(
        "q2_abs", "single-session-user", "What colour is my kayak?", "You never mentioned a kayak", []
    ),
    lme_question("q3", "multi-session", "Which city did I move to?", "Lisbon", ["s-move"]),
]


@pytest.fixture
def locomo_file(tmp_path: Path) -> Path:
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    return path


@pytest.fixture
def lme_file(tmp_path: Path) -> Path:
    path = tmp_path / "lme.json"
    path.write_text(json.dumps(LME))
    return path


def run_eval(*args: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run `mem eval ... --json` in-process; returns (printed summary, the report JSON it wrote)."""
    result = CliRunner().invoke(cli_app, ["eval", *args, "--json"], env=env)
    assert result.exit_code == 0, (result.output, result.exception)
    printed = json.loads(result.stdout)
    report = json.loads(Path(printed["files"]["json"]).read_text())
    return printed, report


def run_answered(bench: str, path: Path, out: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """`mem eval BENCH PATH ARGS` with the tiny answer model and no embedding cache, its report
    checked against its records; returns (printed summary, report JSON)."""
    printed, report = run_eval(
        bench, str(path), *args, "--no-embedding-cache", "--out", str(out), env=TINY_LLM
    )
    agrees(report)
    return printed, report


def agrees(report: dict[str, Any]) -> None:
    """The summary a run reported is the one its per-question records give."""
    assert summary_mismatches(report["summary"], recompute_summary(report["records"])) == []


def rechecked(path: Path) -> Any:
    """`mem eval recheck PATH --json`: the numbers derived again from the raw per-question fields."""
    return CliRunner().invoke(cli_app, ["eval", "recheck", str(path), "--json"])


# --- LoCoMo -------------------------------------------------------------------------------------


def test_locomo_retrieval_three_systems(locomo_file: Path, tmp_path: Path):
    out = tmp_path / "results"
    printed, report = run_eval(
        "locomo", str(locomo_file), "--no-answers", "--no-embedding-cache", "--out", str(out)
    )
    agrees(report)
    assert printed["summary"] == report["summary"]
    records = report["records"]
    assert len(records) == 4 * 3 and {r["system"] for r in records} == {"bm25", "vector", "hybrid"}
    assert report["metadata"]["git_commit"] and report["metadata"]["models"]["embedder"]
    by_id = {(r["id"], r["system"]): r for r in records}
    # A plain keyword question finds its evidence turn with BM25.
    assert by_id[("conv-test#0", "bm25")]["metrics"]["recall@5"] == 1.0
    # Adversarial questions have no retrieval score; nothing was answered.
    assert by_id[("conv-test#3", "hybrid")]["metrics"]["recall@10"] is None
    assert all("f1" not in r["metrics"] for r in records)
    # Retrieved turn ids are real dia_ids, each once.
    turns = by_id[("conv-test#1", "hybrid")]["retrieved_turns"]
    assert turns and len(turns) == len(set(turns)) and all(t.startswith("D") for t in turns)
    names = {p.suffix for p in out.iterdir()}
    assert names == {".json", ".md", ".png"}
    markdown = Path(printed["files"]["markdown"]).read_text()
    assert "expanded into the dia_ids" in markdown and "| recall@10 |" in markdown


def test_locomo_windows_cover_every_turn_once(locomo_file: Path):
    from secondme.eval.datasets import load_locomo
    from secondme.eval.locomo import load_conversation
    from secondme.eval.runner import SharedModels, Workspace

    conversation = load_locomo(locomo_file)[0]
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False)
        with workspace.home("c", models) as app:
            turns_of = load_conversation(app, conversation)
            texts = [app.store.get(i).text for i in turns_of]
    held = [t for turns in turns_of.values() for t in turns]
    assert sorted(held) == sorted(t.dia_id for _, t in conversation.turns())
    assert any("[image: a dog on a beach]" in text for text in texts)
    # Sessions are days apart, so no window mixes them.
    assert all(len({t.split(":")[0] for t in turns}) == 1 for turns in turns_of.values())


def test_locomo_answers_with_tiny_model(locomo_file: Path, tmp_path: Path):
    printed, report = run_eval(
        "locomo",
        str(locomo_file),
        "--no-embedding-cache",
        "--out",
        str(tmp_path),
        env={**TINY_LLM, "SECONDME_LLM_MAX_TOKENS": "40"},
    )
    agrees(report)
    assert report["metadata"]["models"]["llm"] == "smollm2-135m"
    # The settings the environment changed are on record: the report is not one of the defaults.
    assert report["metadata"]["params"]["settings"] == {
        "llm.model": "smollm2-135m",
        "llm.n_threads": 1,
        "llm.max_tokens": 40,
    }
    answered = [r for r in report["records"] if "answer" in r]
    assert len(answered) == 4 and {r["system"] for r in answered} == {"hybrid"}
    for record in answered:
        metric = "abstention" if record["category"] == "adversarial" else "f1"
        assert 0.0 <= record["metrics"][metric] <= 1.0
        assert record["metrics"]["seconds"] > 0 and record["error"] is None
    assert printed["summary"]["overall"]["hybrid"]["f1"]["n"] == 3
    assert printed["params"]["answered"] == 4 and printed["params"]["answer_sample"] == "tuning"
    # False abstention sits beside abstention: on the answerable questions only.
    for record in answered:
        declined = record["metrics"].get("false_abstention")
        if record["category"] == "adversarial":
            assert declined is None
        else:
            assert declined == (1.0 if is_abstention(record["answer"]) else 0.0)
    assert printed["summary"]["overall"]["hybrid"]["false_abstention"]["n"] == 3
    # Each decline the answer path made says where it was made, and the report counts them.
    for record in answered:
        assert record.get("declined_by") in (None, *DECLINE_SOURCES)
    counted = sum(sum(c.values()) for c in declines(report["records"]).values())
    assert counted == sum(
        (r["metrics"].get("false_abstention") or r["metrics"].get("abstention") or 0) for r in answered
    )
    markdown = Path(printed["files"]["markdown"]).read_text()
    assert ("## Declined answers, by where they were declined" in markdown) == (counted > 0)
    # Each answer the model wrote keeps its tokens, and how sure the model was of it.
    written = [r for r in answered if r.get("declined_by") != "before the model"]
    for record in written:
        assert record["tokens"] and all(logprob <= 0.0 for _, logprob in record["tokens"])
        assert record["confidence"] is None or 0.0 < record["confidence"] <= 1.0
    assert ("## Answers flagged unsure" in markdown) == (unsure_answers(report["records"])["answers"] > 0)

    # Recomputed from the answers and ranked turns alone, every number agrees ...
    path = Path(printed["files"]["json"])
    result = rechecked(path)
    assert result.exit_code == 0 and json.loads(result.stdout)["agrees"] is True, result.output
    # ... and a record changed behind the summary's back is caught.
    scored = next(r for r in report["records"] if r["category"] != "adversarial" and "answer" in r)
    scored["answer"] = str(scored["gold"])
    hybrid = next(r for r in report["records"] if r["system"] == "hybrid" and r["evidence"])
    hybrid["retrieved_turns"] = []
    path.write_text(json.dumps(report))
    result = rechecked(path)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["mismatches"]
    assert any("hybrid.f1.mean" in p for p in problems) and any("recall@5" in p for p in problems)
    # An answer turned into a refusal (or a refusal into an answer) moves false abstention,
    # and the recheck sees it.
    scored["answer"] = str(scored["gold"]) if scored["metrics"]["false_abstention"] else "I don't know."
    path.write_text(json.dumps(report))
    problems = json.loads(rechecked(path).stdout)["mismatches"]
    assert any("hybrid.false_abstention.mean" in p for p in problems), problems


def test_locomo_held_out_answers_avoid_the_default_sample(tmp_path: Path):
    """--held-out answers only questions outside the 150 the default sample takes."""
    from secondme.eval.locomo import DEFAULT_ANSWERS

    many = [{**LOCOMO[0], "qa": LOCOMO[0]["qa"] * 40}]  # 160 questions, the same four repeated
    path = tmp_path / "locomo160.json"
    path.write_text(json.dumps(many))
    printed, report = run_answered("locomo", path, tmp_path, "--held-out", "--answer-limit", "2")
    answered = sorted(int(r["id"].split("#")[1]) for r in report["records"] if "answer" in r)
    tuning = spread(160, DEFAULT_ANSWERS)
    outside = [i for i in range(160) if i not in tuning]
    assert len(outside) == 10 and answered == [outside[0], outside[5]]
    assert printed["params"]["answer_sample"] == "held out" and printed["params"]["answered"] == 2
    assert "outside the tuning sample" in Path(printed["files"]["markdown"]).read_text()


def test_failed_question_is_recorded_not_dropped(locomo_file: Path, monkeypatch: pytest.MonkeyPatch):
    from secondme.eval.locomo import run_locomo
    from secondme.service import Secondme

    real = Secondme.search

    def flaky(self: Secondme, query: str, *args: Any, **kwargs: Any) -> Any:
        if "cello" in query and kwargs.get("mode") == "vector":
            raise RuntimeError("index on fire")
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(Secondme, "search", flaky)
    run = run_locomo(locomo_file, answers=False, embedding_cache=False, progress=False)
    failed = [r for r in run.records if r["error"]]
    assert [(r["id"], r["system"]) for r in failed] == [("conv-test#1", "vector")]
    assert failed[0]["error"] == "RuntimeError: index on fire"
    assert failed[0]["metrics"]["recall@10"] == 0.0  # counted as a miss
    assert run.params["failed"] == 1 and run.params["questions"] == 4
    assert run.mismatches() == []


def test_a_conversation_that_fails_to_load_fails_its_questions(
    locomo_file: Path, monkeypatch: pytest.MonkeyPatch
):
    from secondme.eval import locomo

    def broken(app: Any, conversation: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(locomo, "load_conversation", broken)
    run = locomo.run_locomo(locomo_file, answers=False, embedding_cache=False, progress=False)
    assert {r["error"] for r in run.records} == {"loading the conversation failed: OSError: disk full"}
    assert len(run.records) == 4 * 3  # every question, every system: recorded, not dropped
    assert run.params["memories"] == 0 and run.params["failed"] == 12
    assert all(r["metrics"]["recall@10"] in (0.0, None) for r in run.records)


# --- LongMemEval --------------------------------------------------------------------------------


def test_longmemeval_limit_and_session_recall(lme_file: Path, tmp_path: Path):
    printed, report = run_eval(
        "longmemeval",
        str(lme_file),
        "--limit",
        "2",
        "--no-answers",
        "--no-embedding-cache",
        "--out",
        str(tmp_path),
    )
    agrees(report)
    records = report["records"]
    assert sorted({r["id"] for r in records}) == ["q1", "q2_abs"]
    by_id = {(r["id"], r["system"]): r for r in records}
    for system in ("bm25", "vector", "hybrid"):
        assert by_id[("q1", system)]["metrics"]["recall_any@5"] == 1.0  # only 3 sessions
        assert by_id[("q2_abs", system)]["metrics"]["recall_any@5"] is None  # _abs: skipped
    assert by_id[("q1", "bm25")]["retrieved_sessions"][0] == "s-bike"
    assert printed["summary"]["overall"]["hybrid"]["recall_all@5"]["n"] == 1
    assert printed["params"]["questions"] == 2
    assert printed["params"]["settings"] == {}  # the defaults: nothing to list
    path = Path(printed["files"]["json"])
    assert rechecked(path).exit_code == 0
    for record in report["records"]:
        record["retrieved_sessions"].reverse()  # s-bike falls out of first place: NDCG drops
    path.write_text(json.dumps(report))
    result = rechecked(path)
    assert result.exit_code == 1 and "ndcg@10" in result.stdout


def test_eval_says_which_settings_were_not_the_defaults(lme_file: Path, tmp_path: Path):
    args = ["eval", "longmemeval", str(lme_file), "--limit", "1", "--no-answers", "--out", str(tmp_path)]
    result = CliRunner().invoke(cli_app, args, env={"SECONDME_ANSWER_CONTEXT_TOKENS": "200"})
    assert result.exit_code == 0, result.output
    assert "Settings not the defaults: answer.context_tokens = 200." in result.stdout
    (report,) = tmp_path.glob("longmemeval-*.json")
    assert json.loads(report.read_text())["metadata"]["params"]["settings"] == {"answer.context_tokens": 200}
    assert "answer.context_tokens" in report.with_suffix(".md").read_text()  # the report's parameters


def test_longmemeval_answers_count_false_abstention(lme_file: Path, tmp_path: Path):
    printed, report = run_answered("longmemeval", lme_file, tmp_path, "--limit", "2")
    answered = {r["id"]: r for r in report["records"] if "answer" in r}
    assert set(answered) == {"q1", "q2_abs"}
    q1 = answered["q1"]["metrics"]
    assert q1["false_abstention"] == (1.0 if is_abstention(answered["q1"]["answer"]) else 0.0)
    assert "false_abstention" not in answered["q2_abs"]["metrics"]  # declining is right there
    assert printed["summary"]["overall"]["hybrid"]["false_abstention"]["n"] == 1
    path = Path(printed["files"]["json"])
    assert rechecked(path).exit_code == 0
    record = next(r for r in report["records"] if r["id"] == "q1" and "answer" in r)
    record["answer"] = "red" if q1["false_abstention"] else "I don't know."
    path.write_text(json.dumps(report))
    result = rechecked(path)
    assert result.exit_code == 1 and "false_abstention" in result.stdout


def test_committed_reports_agree_with_their_records():
    """The newest LoCoMo and LongMemEval reports in bench/results pass `mem eval recheck`."""
    results = Path(__file__).resolve().parent.parent / "bench" / "results"
    for bench in ("locomo", "longmemeval"):
        newest = max(results.glob(f"{bench}-*.json"))
        result = rechecked(newest)
        assert result.exit_code == 0, (newest, result.output)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("bench", ["locomo", "longmemeval"])
def test_bad_benchmark_file_is_one_line_and_exit_2(bench: str, tmp_path: Path):
    broken = tmp_path / "broken.json"
    broken.write_text('[{"sample_id": ')
    result = run_mem("eval", bench, str(broken), "--no-answers", "--out", str(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(broken) in lines[0] and "not JSON" in lines[0]

    missing = tmp_path / "nowhere.json"
    result = run_mem("eval", bench, str(missing), "--no-answers")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert str(missing) in result.stderr and "not found" in result.stderr

    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text(json.dumps([{"question_id": "x"}] if bench == "longmemeval" else [{"qa": []}]))
    result = run_mem("eval", bench, str(wrong_shape), "--no-answers")
    assert result.returncode == 2 and "malformed" in result.stderr and str(wrong_shape) in result.stderr


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--no-answers", "--held-out"], "--held-out"),
        (["--no-answers", "--fresh"], "--fresh"),
        (["--held-out", "--fresh"], "--fresh"),
    ],
)
def test_contradicting_samples_are_one_line_and_exit_2(locomo_file: Path, flags: list[str], named: str):
    result = run_mem("eval", "locomo", str(locomo_file), *flags)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert named in result.stderr


def test_bad_perf_sizes_exit_2():
    result = run_mem("eval", "perf", "--sizes", "ten")
    assert result.returncode == 2 and "not a corpus size" in result.stderr


# --- the real dev splits, briefly ---------------------------------------------------------------


@pytest.mark.skipif(not (BENCH / LOCOMO_FILE).exists(), reason="shared/bench/locomo_dev.json is not here")
def test_locomo_dev_split_quick_look(tmp_path: Path):
    printed, report = run_eval("locomo", "--limit", "5", "--no-answers", "--out", str(tmp_path))
    agrees(report)
    assert printed["params"]["conversations"] == 1 and printed["params"]["questions"] == 5
    assert printed["params"]["memories"] > 30  # conv-26 has 419 turns
    recall = printed["summary"]["overall"]["bm25"]["recall@20"]
    assert recall["n"] == 5 and recall["mean"] is not None


# --- speed --------------------------------------------------------------------------------------


def test_perf_small_corpus(tmp_path: Path):
    from secondme.eval.perf import run_perf

    run = run_perf([60], queries=3, process_runs=1, ask_runs=0, progress=False)
    operations = {r["operation"] for r in run.records}
    assert operations == {
        "add_many (1000)",
        "search bm25",
        "search vector",
        "search hybrid",
        "mem search (process)",
        "mem --help",
    }
    assert summary_mismatches(run.summary, recompute_perf_summary(run.records)) == []
    (row,) = run.scale
    assert row["corpus_size"] == 60 and row["add_per_s"] > 0 and row["errors"] == ""
    assert row["db_mb"] > 0 and row["chroma_mb"] > 0 and row["search_peak_rss_mb"] > 0
    files = run.write(tmp_path)
    assert files.png is not None and files.png.exists()
    assert files.json.with_name(files.json.stem + "-scale.png").exists()
    assert "## Scale" in files.markdown.read_text()
    assert json.loads(files.json.read_text())["scale"] == run.scale


# --- the pieces ---------------------------------------------------------------------------------


def test_tally_agrees_with_recompute():
    records = [
        {"id": "a", "system": "bm25", "category": "temporal", "metrics": {"r@5": 1.0, "f1": None}},
        {"id": "a", "system": "hybrid", "category": "temporal", "metrics": {"r@5": 0.5, "f1": 0.25}},
        {"id": "b", "system": "bm25", "category": "multi-hop", "metrics": {"r@5": 0.0}},
        {"id": "b", "system": "hybrid", "category": "multi-hop", "metrics": {"r@5": None, "f1": 1.0}},
        {"id": "c", "system": "hybrid", "category": "odd", "metrics": {"seconds": 2.5}},
    ]
    tally = Tally()
    for record in records:
        tally.add(record)
    summary = tally.summary()
    assert summary_mismatches(summary, recompute_summary(records)) == []
    assert summary["categories"] == ["multi-hop", "temporal", "odd"]
    assert summary["overall"]["hybrid"]["f1"] == {"mean": 0.625, "n": 2}


def test_spread_is_even_and_bounded():
    assert spread(10, None) == set(range(10))
    assert spread(3, 5) == {0, 1, 2}
    assert spread(10, 5) == {0, 2, 4, 6, 8}
    assert spread(497, 100) <= set(range(497)) and len(spread(497, 100)) == 100


def test_spread_outside_shares_nothing_with_the_first_sample():
    taken = spread(497, 150)
    held = spread_outside(497, taken, 120)
    assert len(held) == 120 and not held & taken and held <= set(range(497))
    assert spread_outside(10, {0, 2, 4, 6, 8}, None) == {1, 3, 5, 7, 9}
    assert spread_outside(10, {0, 2, 4, 6, 8}, 2) == {1, 5}
    assert spread_outside(3, {0, 1, 2}, 5) == set()


def test_held_out_positions_follow_the_whole_split_under_a_limit():
    """A --limit run avoids the positions the full split's default sample takes."""
    from secondme.eval.locomo import DEFAULT_ANSWERS, answer_positions

    full = answer_positions(497, 497, None, held_out=True)
    limited = answer_positions(200, 497, None, held_out=True)
    assert limited == {i for i in full if i < 200}
    assert not limited & spread(497, DEFAULT_ANSWERS)
    assert answer_positions(200, 497, 50, held_out=False) == spread(200, 50)


def test_the_fresh_sample_shares_no_question_with_the_other_two():
    """--fresh answers only questions that neither the default nor the held-out sample holds."""
    from secondme.eval.locomo import DEFAULT_ANSWERS, answer_positions

    tuning = answer_positions(497, 497, DEFAULT_ANSWERS)
    held_out = answer_positions(497, 497, DEFAULT_ANSWERS, held_out=True)
    fresh = answer_positions(497, 497, None, fresh=True)
    assert len(fresh) == 497 - 2 * DEFAULT_ANSWERS
    assert not fresh & tuning and not fresh & held_out
    assert len(answer_positions(497, 497, 100, fresh=True)) == 100
    # Under --limit the same questions are avoided.
    assert answer_positions(400, 497, None, fresh=True) == {i for i in fresh if i < 400}


class CountingEmbedder:
    name = "fake"
    dim = 4

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.seen += texts
        return np.array([[len(t), 1.0, 2.0, 3.0] for t in texts], dtype=np.float32)


def test_cached_embedder_returns_the_same_vectors(tmp_path: Path):
    inner = CountingEmbedder()
    cache = CachedEmbedder(inner, tmp_path / "vectors.sqlite")
    first = cache.embed(["a", "bb", "ccc"])
    again = CachedEmbedder(inner, tmp_path / "vectors.sqlite").embed(["ccc", "dddd", "a"])
    assert inner.seen == ["a", "bb", "ccc", "dddd"]  # only the new text was embedded again
    assert np.array_equal(again, np.array([first[2], [4, 1, 2, 3], first[0]], dtype=np.float32))
    assert (cache.hits, cache.misses) == (0, 3)
    cache.embed(["a"])  # one text is a query: never cached, always embedded
    assert inner.seen[-1] == "a" and (cache.hits, cache.misses) == (0, 3)


def test_declines_are_counted_by_where_they_were_made():
    records = [
        {"category": "single-hop", "metrics": {"false_abstention": 1.0}, "declined_by": "answer check"},
        {"category": "single-hop", "metrics": {"false_abstention": 1.0}, "declined_by": "answer check"},
        # Read as a refusal by the benchmark's rule though the answer path did not flag it.
        {"category": "single-hop", "metrics": {"false_abstention": 1.0}},
        {"category": "single-hop", "metrics": {"false_abstention": 0.0}},
        {"category": "adversarial", "metrics": {"abstention": 1.0}, "declined_by": "before the model"},
        {"category": "adversarial", "metrics": {"abstention": 0.0}},
        {"category": "temporal", "metrics": {"f1": 1.0}},
    ]
    assert declines(records) == {
        ("false", "single-hop"): {"answer check": 2, "model": 1},
        ("right", "adversarial"): {"before the model": 1},
    }


def test_unsure_answers_are_counted_against_right_and_wrong_ones():
    from secondme.eval.report import unsure_answers, unsure_line

    records = [
        {"metrics": {"f1": 0.9}, "confidence": 0.8, "unsure": False},
        {"metrics": {"f1": 0.2}, "confidence": 0.1, "unsure": True},
        {"metrics": {"f1": 0.6}, "confidence": 0.2, "unsure": True},
        {"metrics": {"f1": 0.0}, "confidence": 0.7, "unsure": False},
        # A question the memories do not answer, answered anyway: wrong.
        {"metrics": {"abstention": 0.0}, "confidence": 0.25, "unsure": True},
        {"metrics": {"accuracy": 1.0}, "confidence": 0.9, "unsure": False},
        # Declined, or written by a model that gives no confidence: not counted.
        {"metrics": {"f1": 0.0, "false_abstention": 1.0}, "abstained": True, "confidence": 0.1},
        {"metrics": {"f1": 0.9}, "confidence": None},
    ]
    counts = unsure_answers(records)
    assert counts == {"answers": 6, "wrong": 3, "flagged": 3, "flagged_wrong": 2}
    assert unsure_line(counts) == (
        "3 of 6 answers flagged unsure, 2 of them wrong (67%); 2 of the 3 wrong answers flagged."
    )


def test_an_answerable_question_declined_after_the_model_answered_keeps_what_it_would_have_scored():
    from secondme.eval.metrics import locomo_answer_score
    from secondme.eval.report import declined_drafts, drafts_line, quality_markdown
    from secondme.eval.runner import keep_draft_score

    def score(draft: str) -> float:
        return locomo_answer_score(draft, "a cup with a dog face", 4)

    right = {"question": "What did they make?", "gold": "a cup with a dog face", "category": "single-hop"}
    right |= {"metrics": {"f1": 0.0, "false_abstention": 1.0}, "draft": "A cup with a dog face [71]."}
    right["declined_by"] = "answer check"
    wrong = {
        **right,
        "question": "What | else?",
        "draft": "Clay sculptures [71].",
        "metrics": {**right["metrics"]},
    }
    refused = {**right, "draft": "I don't know.", "metrics": {**right["metrics"]}}  # the model declined
    answered = {
        **right,
        "draft": "A cup with a dog face, they said.",
        "metrics": {"f1": 0.9, "false_abstention": 0.0},
    }
    for record in (right, wrong, refused, answered):
        keep_draft_score(record, score)
    assert right["draft_score"] == 1.0 and wrong["draft_score"] == 0.0
    assert "draft_score" not in refused and "draft_score" not in answered
    drafts = declined_drafts([wrong, refused, answered, right])
    assert drafts == [right, wrong]
    assert drafts_line(drafts) == (
        "2 declined after the model had answered; 1 of them would have scored 0.5 or more, mean 0.500."
    )
    summary = {"systems": ["hybrid"], "metrics": ["f1"], "overall": {}, "by_category": {}}
    report = quality_markdown("locomo", summary, {}, records=[wrong, right])
    section = report.split("## Answerable questions declined after the model had answered")[1]
    assert (
        "| 1.000 | What did they make? | A cup with a dog face [71]. | a cup with a dog face | answer check |"
        in section
    )
    assert "What \\| else?" in section  # a cell's own bar does not split the table

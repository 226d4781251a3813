"""``mem eval longmemeval``: session retrieval and answers on LongMemEval_S.

Every question comes with its own haystack of about 48 dated chat sessions between a user and an
assistant.  The haystack goes into a fresh home the way a chat export does: each turn becomes a
:class:`~secondme.ingest.sources.base.ChatMessage` (speaker ``user`` or ``assistant``, the
session's date, conversation = the session id, ``ref`` = ``"<session_id>:<turn index>"``), and
:func:`~secondme.ingest.sources.chats.drafts_from_messages` groups them into windows, one
episodic memory each.  A window never spans two sessions.

Retrieval, per question and per system (BM25 only, vectors only, secondme's hybrid), at
session level, abstention (``_abs``) questions skipped:

    Take the ranked memories of the search (:data:`DEPTH` of them), map each to its session
    id, drop sessions already seen; the result is the ranked list of sessions.  recall_any@k is
    1 when one answer session is in the top k, recall_all@k when all are; NDCG@10 uses
    LongMemEval's own formula (:func:`secondme.eval.metrics.ndcg_at_k`).

Answers come from ``mem ask``'s own code path asked (``today=``) at the question's date.  Accuracy
is normalised containment: the answer is right when every content word of the gold answer that
the question does not already say (LoCoMo normalisation, number words as digits, Porter stems)
appears in it (:func:`secondme.eval.metrics.lme_answer_correct`).  Preference questions, whose
gold is a rubric for a judge model, are not scored.  ``_abs`` questions are scored by abstention.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme.eval.datasets import LmeQuestion, load_longmemeval
from secondme.eval.metrics import (
    LME_JUDGE_ONLY_TYPES,
    is_abstention,
    lme_answer_score,
    lme_gold_recall,
    ndcg_at_k,
    recall_all_at_k,
    recall_any_at_k,
)
from secondme.eval.runner import (
    ANSWERING_SYSTEM,
    SYSTEMS,
    EvalRun,
    Progress,
    Recorder,
    RunCosts,
    SharedModels,
    Workspace,
    answer_question,
    keep_draft_score,
    keep_outcome,
    limited,
    search_all,
    spread,
)

if TYPE_CHECKING:
    from secondme.ingest.sources.base import ChatMessage
    from secondme.retrieve import Hit
    from secondme.service import Secondme

#: Memories retrieved per question and system; sessions hold several windows each, and ten
#: distinct sessions are needed for the @10 metrics.
DEPTH = 50

SESSION_RULE = (
    "session-level retrieval: the ranked memories are mapped to their session ids, repeats "
    "dropped; recall_any@k / recall_all@k against answer_session_ids, NDCG@10 in LongMemEval's "
    "form; _abs questions skipped"
)
ANSWER_RULE = (
    "answer accuracy = normalised containment: every distinct gold token (LoCoMo normalisation, "
    "number words as digits, Porter stems) of the gold or of an answer it calls 'also "
    "acceptable' appears in the answer; temporal-reasoning counts of days, weeks or months one "
    "off are correct, as in the judge's prompt; gold_token_recall = the share "
    "of them that does; single-session-preference is not scored (its gold is a rubric for a "
    "judge model); _abs questions score 1 when the answer declines"
)


def haystack_messages(question: LmeQuestion) -> list[ChatMessage]:
    """The question's haystack as chat messages, one per turn, in haystack order."""
    from secondme.ingest.sources.base import ChatMessage

    messages = []
    for session in question.sessions:
        for index, turn in enumerate(session.turns):
            messages.append(
                ChatMessage(
                    conversation=session.session_id,
                    speaker=turn["role"],
                    text=turn["content"],
                    timestamp=session.date,
                    ref=f"{session.session_id}:{index}",
                )
            )
    return messages


def load_haystack(app: Secondme, question: LmeQuestion) -> dict[int, list[str]]:
    """Store the haystack in ``app``; returns memory id -> the session ids it stands for."""
    from secondme.ingest.sources.chats import drafts_from_messages

    drafts = drafts_from_messages(haystack_messages(question), f"longmemeval/{question.question_id}", "lme")
    sessions_of: dict[int, list[str]] = {}
    for draft, parts in zip(drafts, app.add_parts(drafts), strict=True):
        # Identical windows are stored once (the same session can appear twice in a haystack);
        # a window too long for one memory is stored in parts, each standing for its session.
        session = str(draft.metadata.get("conversation"))
        for memory, _created in parts:
            held = sessions_of.setdefault(memory.id, [])
            if session not in held:
                held.append(session)
    return sessions_of


def ranked_sessions(hits: list[Hit], sessions_of: dict[int, list[str]]) -> list[str]:
    """Session ids in the order their first memory ranks, repeats dropped."""
    seen: dict[str, None] = {}
    for hit in hits:
        for session in sessions_of.get(hit.memory.id, []):
            seen.setdefault(session, None)
    return list(seen)


def _retrieval_metrics(question: LmeQuestion, ranked: list[str] | None) -> dict[str, float | None]:
    names = ("recall_any@5", "recall_all@5", "recall_any@10", "ndcg@10")
    if question.is_abstention or not question.answer_session_ids:
        return dict.fromkeys(names)
    if ranked is None:
        return dict.fromkeys(names, 0.0)  # the search failed: a miss
    gold = question.answer_session_ids
    return {
        "recall_any@5": recall_any_at_k(gold, ranked, 5),
        "recall_all@5": recall_all_at_k(gold, ranked, 5),
        "recall_any@10": recall_any_at_k(gold, ranked, 10),
        "ndcg@10": ndcg_at_k(gold, ranked, 10),
    }


def run_longmemeval(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    answers: bool = True,
    answer_limit: int | None = None,
    embedding_cache: bool = True,
    progress: bool = True,
) -> EvalRun:
    """Run LongMemEval_S: one fresh home per question's haystack, every system, then an answer.

    ``limit`` keeps the first N questions.  ``answers=False`` skips the answer model;
    ``answer_limit`` answers only that many questions, evenly spread, and retrieval still covers
    all.  ``embedding_cache`` reuses vectors of texts embedded by earlier runs.  A missing or
    malformed file raises :class:`~secondme.errors.InputError` before anything is loaded.
    """
    costs = RunCosts()
    questions = limited(load_longmemeval(path), limit)
    to_answer = spread(len(questions), answer_limit) if answers else set()
    recorder = Recorder()
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers, embedding_cache)
        if answers:
            models.llm  # noqa: B018 - load it now: a missing model fails before any work
        with Progress(len(questions), "LongMemEval", enabled=progress) as bar:
            for position, question in enumerate(questions):
                bar.note(f"loading {question.question_id}")
                with workspace.home(question.question_id, models) as app:
                    sessions_of, load_error = costs.load(
                        app, functools.partial(load_haystack, app, question), "the haystack"
                    )
                    bar.note(question.question_id)
                    answer = position in to_answer
                    for record in _question_records(app, models, question, sessions_of, load_error, answer):
                        recorder.add(record)
                bar.advance()
    params = costs.params(
        path=path,
        limit=limit,
        counts={"questions": len(questions)},
        depth=DEPTH,
        answers=answers,
        answered=len(to_answer),
        failed=len(recorder.failed),
        models=models,
    )
    notes = [
        "each question's haystack is loaded into a fresh home through the chat pipeline "
        "(ChatMessage per turn with the session date, drafts_from_messages windows per session)",
        f"the same homes and embedder serve all three systems: {', '.join(SYSTEMS)} "
        f"(search modes {', '.join(SYSTEMS.values())}); {DEPTH} memories retrieved per search",
        SESSION_RULE,
        "answers: secondme.answer.ask (the `mem ask` path, hits from hybrid search), asked at the "
        "question's date",
        ANSWER_RULE,
        "a question that failed scores 0 on its metrics and is listed below",
    ]
    return EvalRun(
        bench="longmemeval",
        records=recorder.records,
        summary=recorder.tally.summary(),
        models=models.names(),
        params=params,
        notes=notes,
        failed=recorder.failed,
    )


def _question_records(
    app: Secondme,
    models: SharedModels,
    question: LmeQuestion,
    sessions_of: dict[int, list[str]],
    load_error: str | None,
    answer: bool,
) -> list[dict[str, Any]]:
    base = {
        "id": question.question_id,
        "category": question.question_type,
        "question": question.question,
        "gold": question.answer,
        "answer_sessions": question.answer_session_ids,
        "abstention_question": question.is_abstention,
    }
    results = (
        {s: ([], load_error, 0.0) for s in SYSTEMS}
        if load_error
        else search_all(app, question.question, DEPTH, question.question_date)
    )
    records = []
    for system, (hits, error, seconds) in results.items():
        ranked = None if error else ranked_sessions(hits, sessions_of)
        metrics = _retrieval_metrics(question, ranked)
        metrics["search_ms"] = None if error else round(seconds * 1000, 2)
        record: dict[str, Any] = {
            **base,
            "system": system,
            "metrics": metrics,
            "retrieved_sessions": (ranked or [])[:10],
            "error": error,
        }
        if system == ANSWERING_SYSTEM and answer:
            _add_answer(record, app, models, question, load_error)
        records.append(record)
    return records


def _add_answer(
    record: dict[str, Any],
    app: Secondme,
    models: SharedModels,
    question: LmeQuestion,
    load_error: str | None,
) -> None:
    metric = "abstention" if question.is_abstention else "accuracy"
    if load_error:  # already the record's error: nothing was there to answer from
        record["metrics"][metric] = 0.0
        record["metrics"]["seconds"] = None
        return
    outcome = answer_question(app, models, question.question, question.question_date)
    keep_outcome(record, outcome)
    if outcome["error"]:
        # A failure is a miss, except where no answer could have been scored at all.
        unscored = not question.is_abstention and question.question_type in LME_JUDGE_ONLY_TYPES
        record["metrics"][metric] = None if unscored else 0.0
        record["metrics"]["seconds"] = None
        record["error"] = "; ".join(e for e in (record["error"], f"answer: {outcome['error']}") if e)
        return

    def score(answer: str) -> float | None:
        return lme_answer_score(
            answer, question.answer, question.question_type, question.is_abstention, question.question
        )

    record["metrics"][metric] = score(outcome["answer"])
    if not question.is_abstention:
        # Declining a question the haystack answers (preference questions too: they are
        # unscored, but "I don't know" is no recommendation).
        record["metrics"]["false_abstention"] = 1.0 if is_abstention(outcome["answer"]) else 0.0
        keep_draft_score(record, score)
    if metric == "accuracy" and record["metrics"][metric] is not None:
        # Containment fails a right answer over one pronoun ("your bedroom" for "my bedroom");
        # the share of gold tokens found shows how near the misses are.
        record["metrics"]["gold_token_recall"] = lme_gold_recall(outcome["answer"], question.answer)
    record["metrics"]["seconds"] = round(outcome["seconds"], 3)
    record["metrics"]["prompt_tokens"] = outcome.get("prompt_tokens")

"""``mem eval locomo``: retrieval and answers on LoCoMo's long two-person conversations.

Each conversation goes into a fresh home the way a chat export does: every turn becomes a
:class:`~secondme.ingest.sources.base.ChatMessage` (speaker name, the session's date, ``ref`` =
its ``dia_id``; an image turn carries its caption in the text), and
:func:`~secondme.ingest.sources.chats.drafts_from_messages` groups them into windows, one
episodic memory each.

Retrieval, per question and per system (BM25 only, vectors only, secondme's hybrid), at turn
level, categories 1-4 only:

    Take the ranked memories of the search (:data:`DEPTH` of them), expand each window memory
    into the ``dia_id``s of the turns it holds, in conversation order, drop turns already
    seen, and keep the first ``k`` turn ids.  Evidence recall@k is the share of the
    question's evidence turns among them (k = 5, 10, 20).

So a window of eight turns fills eight of the ``k`` places: the metric charges secondme for
coarse memories, as a turn-level benchmark should.

Answers come from ``mem ask``'s own code path (:func:`secondme.answer.ask`, the run's model
loaded once), asked (``today=``) at the conversation's last session date.  Categories 1-4 are
scored by LoCoMo's token F1 (:func:`secondme.eval.metrics.locomo_answer_score`) and by false
abstention (1 when the answer declines a question the conversation does answer); category 5
(adversarial) by abstention: 1 when the answer declines.

Which questions are answered: by default the *tuning sample*, :data:`DEFAULT_ANSWERS` positions
spread evenly over the split (:func:`~secondme.eval.runner.spread`).  Changes to the answer path
have been measured, and so in effect tuned, on those questions, so ``held_out=True`` answers
questions spread over the rest of the split instead
(:func:`~secondme.eval.runner.spread_outside`): the check that a figure holds on questions
nobody has looked at.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme.eval.datasets import LocomoConversation, LocomoQuestion, load_locomo
from secondme.eval.metrics import evidence_recall_at_k, is_abstention, locomo_answer_score
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
    search_all,
    spread,
    spread_outside,
)

if TYPE_CHECKING:
    from secondme.ingest.sources.base import ChatMessage
    from secondme.memory import NewMemory
    from secondme.retrieve import Hit
    from secondme.service import Secondme

#: Memories retrieved per question and system; enough to fill the top 20 turns.
DEPTH = 20
#: The cut-offs of evidence recall, in turns.
KS = (5, 10, 20)
#: Questions ``mem eval locomo`` answers by default, spread over the split: the smallest sample
#: that a claim about answers may rest on (a 60-question sample moved F1 by 0.09 between draws).
#: At 4-8 s an answer on two CPU cores that is 10-20 minutes; all 497 would take up to an hour.
#: These positions of the full dev split are also the *tuning sample* that ``held_out`` avoids.
DEFAULT_ANSWERS = 150
#: Where each answer sample (``answer_sample`` in a report) is spread, for the report's notes.
SAMPLE_SPREAD = {
    "tuning": "evenly over the split",
    "held out": f"over those outside the tuning sample (the {DEFAULT_ANSWERS} answered by default, "
    "on which the answer path was measured)",
    "fresh": f"over those outside both the tuning sample and the default held-out sample "
    f"({DEFAULT_ANSWERS} each)",
}
#: Categories whose retrieval is scored (5, adversarial, has no answer to find).
RETRIEVAL_CATEGORIES = (1, 2, 3, 4)

TURN_RULE = (
    "evidence recall@k at turn level: the ranked memories are expanded into the dia_ids of "
    "the turns each window holds (in conversation order), repeats dropped, the first k kept; "
    "recall = share of the question's evidence turns among them; categories 1-4"
)


def conversation_messages(conversation: LocomoConversation) -> list[ChatMessage]:
    """The conversation as chat messages: speaker, session date, ``ref`` = ``dia_id``.

    An image turn's caption is added to its text in brackets, as an image description would be.
    """
    from secondme.ingest.sources.base import ChatMessage

    messages = []
    for session, turn in conversation.turns():
        text = turn.text
        meta: dict[str, Any] = {"session": session.index}
        if turn.blip_caption:
            text = f"{text} [image: {turn.blip_caption}]".strip()
            meta["media"] = True
        messages.append(
            ChatMessage(
                conversation=conversation.sample_id,
                speaker=turn.speaker,
                text=text,
                timestamp=session.date,
                ref=turn.dia_id,
                meta=meta,
            )
        )
    return messages


def window_turns(draft: NewMemory, order: list[str], position: dict[str, int]) -> list[str]:
    """The ``dia_id``s a window memory holds, from its ``first_ref``..``last_ref`` range."""
    first = position.get(str(draft.metadata.get("first_ref")))
    last = position.get(str(draft.metadata.get("last_ref")))
    if first is None or last is None:
        return []
    return order[first : last + 1]


def load_conversation(app: Secondme, conversation: LocomoConversation) -> dict[int, list[str]]:
    """Store the conversation in ``app``; returns memory id -> the turn ids it holds."""
    from secondme.ingest.sources.chats import drafts_from_messages

    messages = conversation_messages(conversation)
    order = [m.ref for m in messages]
    position = {ref: i for i, ref in enumerate(order)}
    drafts = drafts_from_messages(messages, f"locomo/{conversation.sample_id}", "locomo")
    turns_of: dict[int, list[str]] = {}
    for draft, parts in zip(drafts, app.add_parts(drafts), strict=True):
        # A window with the same text as an earlier one is stored once: it holds both.  A window
        # too long for one memory is stored in parts: each part stands for the window's turns.
        for memory, _created in parts:
            held = turns_of.setdefault(memory.id, [])
            held.extend(t for t in window_turns(draft, order, position) if t not in held)
    return turns_of


def ranked_turns(hits: list[Hit], turns_of: dict[int, list[str]]) -> list[str]:
    """The turn ids behind ranked hits, expanded in order, repeats dropped (see the module doc)."""
    return ranked_turns_of([hit.memory.id for hit in hits], turns_of)


def ranked_turns_of(ids: list[int], turns_of: dict[int, list[str]]) -> list[str]:
    """The turn ids behind memory ids, expanded in order, repeats dropped."""
    seen: dict[str, None] = {}
    for memory_id in ids:
        for turn in turns_of.get(memory_id, []):
            seen.setdefault(turn, None)
    return list(seen)


def answer_positions(
    total: int, full: int, count: int | None, held_out: bool = False, fresh: bool = False
) -> set[int]:
    """The positions (in file order) of the run's ``total`` questions to answer.

    ``count`` of them spread evenly; with ``held_out``, spread over the positions outside the
    tuning sample (:data:`DEFAULT_ANSWERS` spread over the ``full`` split's questions); with
    ``fresh``, spread over those outside both the tuning sample and the default held-out sample
    (:data:`DEFAULT_ANSWERS` spread over the rest), which answer rules have been read against
    too.  The samples are fixed by the whole split, so a ``--limit`` run avoids the same
    questions.
    """
    tuning = spread(full, DEFAULT_ANSWERS)
    if fresh:
        return spread_outside(total, tuning | spread_outside(full, tuning, DEFAULT_ANSWERS), count)
    if held_out:
        return spread_outside(total, tuning, count)
    return spread(total, count)


def select_questions(
    conversations: list[LocomoConversation], limit: int | None
) -> list[tuple[LocomoConversation, list[tuple[int, LocomoQuestion]]]]:
    """The first ``limit`` questions in file order, grouped by conversation (numbered in it)."""
    chosen = []
    left = limit
    for conversation in conversations:
        if left is not None and left <= 0:
            break
        numbered = list(enumerate(conversation.questions))
        if left is not None:
            numbered = numbered[:left]
            left -= len(numbered)
        if numbered:
            chosen.append((conversation, numbered))
    return chosen


def _retrieval_metrics(question: LocomoQuestion, turns: list[str] | None) -> dict[str, float | None]:
    scored = question.category in RETRIEVAL_CATEGORIES and bool(question.evidence)
    metrics: dict[str, float | None] = {}
    for k in KS:
        if not scored:
            metrics[f"recall@{k}"] = None
        elif turns is None:
            metrics[f"recall@{k}"] = 0.0  # the search failed: a miss
        else:
            metrics[f"recall@{k}"] = evidence_recall_at_k(question.evidence, turns, k)
    return metrics


def run_locomo(
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    answers: bool = True,
    answer_limit: int | None = None,
    held_out: bool = False,
    fresh: bool = False,
    embedding_cache: bool = True,
    progress: bool = True,
) -> EvalRun:
    """Run LoCoMo: load each conversation into a fresh home, search with every system, answer.

    ``limit`` keeps the first N questions in file order (only the conversations they need are
    loaded).  ``answers=False`` skips the answer model; ``answer_limit`` answers only that many
    questions, evenly spread (:func:`~secondme.eval.runner.spread`), and retrieval still covers
    all.  ``held_out`` takes those questions from outside the tuning sample, ``fresh`` from
    outside both it and the held-out sample (:func:`answer_positions`).  ``embedding_cache``
    reuses vectors of texts embedded by earlier runs
    (:class:`~secondme.eval.runner.CachedEmbedder`).  A missing or malformed file raises
    :class:`~secondme.errors.InputError` before anything is loaded.
    """
    costs = RunCosts()
    conversations = load_locomo(path)
    plan = select_questions(conversations, limit)
    total = sum(len(numbered) for _, numbered in plan)
    full = sum(len(conversation.questions) for conversation in conversations)
    to_answer = answer_positions(total, full, answer_limit, held_out, fresh) if answers else set()
    recorder = Recorder()
    position = 0
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers, embedding_cache)
        if answers:
            models.llm  # noqa: B018 - load it now: a missing model fails before any work
        with Progress(total, "LoCoMo", enabled=progress) as bar:
            for conversation, numbered in plan:
                bar.note(f"loading {conversation.sample_id}")
                with workspace.home(conversation.sample_id, models) as app:
                    turns_of, load_error = costs.load(
                        app, functools.partial(load_conversation, app, conversation), "the conversation"
                    )
                    today = conversation.sessions[-1].date if conversation.sessions else None
                    bar.note(conversation.sample_id)
                    for index, question in numbered:
                        answer = position in to_answer
                        position += 1
                        for record in _question_records(
                            app, models, conversation, index, question, turns_of, load_error, today, answer
                        ):
                            recorder.add(record)
                        bar.advance()
    params = costs.params(
        path=path,
        limit=limit,
        counts={"conversations": len(plan), "questions": total},
        depth=DEPTH,
        answers=answers,
        answered=len(to_answer),
        failed=len(recorder.failed),
        models=models,
    )
    params["answer_sample"] = "fresh" if fresh else "held out" if held_out else "tuning"
    notes = [
        "each conversation is loaded into a fresh home through the chat pipeline "
        "(ChatMessage per turn with the session date, drafts_from_messages windows)",
        f"the same homes and embedder serve all three systems: {', '.join(SYSTEMS)} "
        f"(search modes {', '.join(SYSTEMS.values())}); {DEPTH} memories retrieved per search",
        TURN_RULE,
        "answers: secondme.answer.ask (the `mem ask` path, hits from hybrid search), asked at the "
        "conversation's last session; the answer's [id] citation markers are removed before "
        "scoring; token F1 with LoCoMo's normalisation and false abstention (the answer "
        "declines) for categories 1-4, abstention (the answer declines) for category 5",
        f"answered: {len(to_answer)} questions spread {SAMPLE_SPREAD[params['answer_sample']]}",
        "a question that failed scores 0 on its metrics and is listed below",
    ]
    return EvalRun(
        bench="locomo",
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
    conversation: LocomoConversation,
    index: int,
    question: LocomoQuestion,
    turns_of: dict[int, list[str]],
    load_error: str | None,
    today: Any,
    answer: bool,
) -> list[dict[str, Any]]:
    qid = f"{conversation.sample_id}#{index}"
    base = {
        "id": qid,
        "category": question.category_name,
        "question": question.question,
        "gold": question.answer,
        "evidence": question.evidence,
    }
    results = (
        {s: ([], load_error, 0.0) for s in SYSTEMS}
        if load_error
        else search_all(app, question.question, DEPTH, today)
    )
    records = []
    for system, (hits, error, seconds) in results.items():
        turns = None if error else ranked_turns(hits, turns_of)
        metrics = _retrieval_metrics(question, turns)
        metrics["search_ms"] = None if error else round(seconds * 1000, 2)
        record: dict[str, Any] = {
            **base,
            "system": system,
            "metrics": metrics,
            "retrieved_turns": (turns or [])[: max(KS)],
            "retrieved_memories": [h.memory.id for h in hits],
            # What each hit's rank rests on, for studying retrieval confidence (abstention).
            "retrieved_signals": [
                [
                    round(h.score, 6),
                    h.keyword_rank,
                    h.vector_rank,
                    None if h.distance is None else round(h.distance, 4),
                ]
                for h in hits[: max(KS)]
            ],
            "error": error,
        }
        if system == ANSWERING_SYSTEM and answer:
            _add_answer(record, app, models, question, load_error, today)
            # The turns the prompt quoted: did the evidence reach the model at all?
            record["evidence_turns"] = ranked_turns_of(record.get("evidence_memories", []), turns_of)
        records.append(record)
    return records


def answer_metrics(answer: str, question: LocomoQuestion) -> dict[str, float]:
    """How ``mem eval locomo`` scores an answer, its citations left out: ``abstention`` for a
    question with no answer (category 5), else ``f1`` and ``false_abstention`` (declining a
    question the conversation answers: the price of abstention, always beside it)."""
    from secondme.answer import strip_citations

    scored = strip_citations(answer)
    score = locomo_answer_score(scored, question.answer, question.category)
    if question.category == 5:
        return {"abstention": score}
    return {"f1": score, "false_abstention": 1.0 if is_abstention(scored) else 0.0}


def _add_answer(
    record: dict[str, Any],
    app: Secondme,
    models: SharedModels,
    question: LocomoQuestion,
    load_error: str | None,
    today: Any,
) -> None:
    metric = "abstention" if question.category == 5 else "f1"
    if load_error:  # already the record's error: nothing was there to answer from
        record["metrics"][metric] = 0.0
        record["metrics"]["seconds"] = None
        return
    outcome = answer_question(app, models, question.question, today)
    keep_outcome(record, outcome)
    if outcome["error"]:
        record["metrics"][metric] = 0.0
        record["metrics"]["seconds"] = None
        record["error"] = "; ".join(e for e in (record["error"], f"answer: {outcome['error']}") if e)
        return
    record["metrics"].update(answer_metrics(outcome["answer"], question))
    if metric == "f1":
        keep_draft_score(record, lambda draft: locomo_answer_score(draft, question.answer, question.category))
    record["metrics"]["seconds"] = round(outcome["seconds"], 3)
    record["metrics"]["prompt_tokens"] = outcome.get("prompt_tokens")

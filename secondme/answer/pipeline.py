"""``mem ask`` end to end: retrieve, select evidence, prompt the model, check the answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from secondme import timeparse
from secondme.answer.arithmetic import correct_arithmetic
from secondme.answer.checks import (
    Misattribution,
    check_attribution,
    check_subject,
    says_nothing,
    tidy_answer,
)
from secondme.answer.citations import (
    IDK,
    attribute,
    is_abstention,
    parse_citations,
    recite,
    unsupported_citations,
)
from secondme.answer.confidence import least_sure
from secondme.answer.details import check_excerpts
from secondme.answer.evidence import Excerpt, budget_for, select_evidence
from secondme.answer.prompt import build_prompt, system_message
from secondme.answer.restated import RestatedStream, drop_restated
from secondme.answer.updates import drop_superseded
from secondme.memory import Memory
from secondme.owner import owner_names

if TYPE_CHECKING:
    from secondme.retrieve import Hit
    from secondme.service import Secondme

# Vector-only matches farther than this (cosine distance) are unrelated: keep them out of prompts.
MAX_VECTOR_ONLY_DISTANCE = 0.75


#: Where an answer can be declined (:attr:`Answer.declined_by`), in the order the path meets them.
DECLINE_SOURCES = ("before the model", "model", "answer check")


@dataclass
class Answer:
    """The result of ``mem ask``."""

    question: str
    answer: str
    citations: list[int]
    abstained: bool
    hits: list[Hit]
    invalid_citations: list[int] = field(default_factory=list)
    citations_inferred: bool = False
    model: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    prompt: list[dict[str, str]] = field(default_factory=list)
    draft: str | None = None
    """The model's own words (a check may have replaced them: see :func:`check_attribution`)."""
    misattribution: Misattribution | None = None
    cited: list[Memory] = field(default_factory=list)
    """The memories the answer cites, in citation order."""
    excerpts: list[Excerpt] = field(default_factory=list)
    """What of each memory the prompt showed."""
    superseded: list[Excerpt] = field(default_factory=list)
    """Older statements of what the question asks about now, left out of the prompt
    (:func:`secondme.answer.updates.drop_superseded`)."""
    prompt_tokens: int | None = None
    """Tokens of the question's own part of the prompt (the system part is cached)."""
    when: timeparse.QuestionTime | None = None
    token_logprobs: list[tuple[str, float]] = field(default_factory=list)
    """Each token the model wrote, with the natural-log probability it gave it (empty for a
    model that does not report them)."""
    confidence: float | None = None
    """The probability the model gave the least likely word of its answer
    (:mod:`secondme.answer.confidence`); None when no model answered or it does not say."""
    unsure: bool = False
    """An answer (not a decline) whose :attr:`confidence` is below ``answer.unsure_below``:
    answers like it are wrong more often than right."""

    @property
    def streamed(self) -> str | None:
        """What the answer's stream showed: the model's words without an opening that restated
        the question (:mod:`secondme.answer.restated`); None when no model answered."""
        return None if self.draft is None else drop_restated(self.question, self.draft)

    @property
    def declined_by(self) -> str | None:
        """Where the answer was declined, if it was (:data:`DECLINE_SOURCES`): "before the
        model" (nothing retrieved, or :func:`check_subject`: the memories tell only of someone
        else), "model" (it said it does not know) or "answer check" (:func:`check_attribution`
        found that its answer told of someone else)."""
        if not self.abstained:
            return None
        if self.model is None:
            return "before the model"
        return "answer check" if self.misattribution is not None else "model"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``mem ask --json``."""
        return {
            "question": self.question,
            "answer": self.answer,
            "draft": self.draft if self.draft is not None else self.answer,
            "misattribution": self.misattribution.to_dict() if self.misattribution else None,
            "declined_by": self.declined_by,
            "citations": self.citations,
            "abstained": self.abstained,
            "memories": [h.to_dict() for h in self.hits],
            "evidence": [{"id": e.memory.id, "text": e.text()} for e in self.excerpts],
            "superseded": [{"id": e.memory.id, "text": e.text()} for e in self.superseded],
            "invalid_citations": self.invalid_citations,
            "citations_inferred": self.citations_inferred,
            "model": self.model,
            "prompt_tokens": self.prompt_tokens,
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "unsure": self.unsure,
            "time": self.when.to_dict() if self.when else None,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def select_hits(hits: list[Hit], min_score: float = 0.0) -> list[Hit]:
    """Drop weak matches: below ``min_score``, or vector-only and too far to be about the question."""
    return [
        h
        for h in hits
        if h.score >= min_score
        and (h.keyword_rank is not None or h.distance is None or h.distance <= MAX_VECTOR_ONLY_DISTANCE)
    ]


class _Loader(threading.Thread):
    """Loads the answer model in the background (its prompt prefix is evaluated after retrieval)."""

    def __init__(self, settings: Any) -> None:
        super().__init__(daemon=True, name="secondme-llm-loader")
        self.settings = settings
        self.llm: Any = None
        self.error: BaseException | None = None
        self.timings: dict[str, float] = {}

    def run(self) -> None:
        from secondme.models.llm import load_llm

        try:
            started = time.perf_counter()
            self.llm = load_llm(self.settings)
            self.timings["load_s"] = time.perf_counter() - started
        except BaseException as exc:  # handed to the caller's thread by result()
            self.error = exc

    def result(self) -> Any:
        """The loaded model, or the error loading it raised."""
        self.join()
        if self.error is not None:
            raise self.error
        return self.llm


def count_tokens(llm: Any, text: str) -> int:
    """Tokens of ``text`` for the model (an estimate where the model has no tokenizer)."""
    llama = getattr(llm, "llama", None)
    if llama is not None and hasattr(llama, "tokenize"):
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False))
    from secondme.answer.evidence import estimate_tokens

    return estimate_tokens(text)


@dataclass
class Prepared:
    """A question with what retrieval found for it: everything the model needs, nothing loaded."""

    question: str
    core: list[Memory]
    hits: list[Hit]
    excerpts: list[Excerpt]
    messages: list[dict[str, str]]
    system: list[dict[str, str]]
    started: float
    when: timeparse.QuestionTime | None = None
    timings: dict[str, float] = field(default_factory=dict)
    superseded: list[Excerpt] = field(default_factory=list)
    declined: Misattribution | None = None
    """Set when the memories tell what the question asks only of someone else (see
    :func:`check_subject`): the answer says so without asking the model."""

    @property
    def needs_model(self) -> bool:
        """False when the answer is known without the model: nothing to answer from ("I don't
        know") or :attr:`declined`."""
        return bool(self.hits or self.core) and self.declined is None


def prepare(
    app: Secondme,
    question: str,
    k: int | None = None,
    search_mode: str = "hybrid",
    today: datetime | None = None,
    thorough: bool = False,
) -> Prepared:
    """Retrieve the memories for ``question``, choose the evidence and build the prompt.

    No model is touched.  ``today`` is the moment the question is asked (default: now); "last
    week" and "in May" in the question, and "Today is ..." in the prompt, are relative to it.
    ``thorough`` quotes up to ``answer.thorough_context_tokens`` of evidence instead of
    ``answer.context_tokens``: a slower answer that is right more often.
    """
    from secondme.errors import InputError

    question = (question or "").strip()
    if not question:
        raise InputError("the question is empty")
    settings = app.settings
    today = today or timeparse.now()
    started = time.perf_counter()
    core = app.core()
    system = [system_message(core, settings.answer.max_memory_chars)]
    when = timeparse.question_time(question, today)
    hits = select_hits(
        app.search(question, k=k or settings.answer.k, mode=search_mode, when=when), settings.answer.min_score
    )
    # A question the memories answer only of someone else needs no evidence by meaning: it is
    # declined without the model, so the embedder is not asked.
    declined = (
        check_subject(question, [h.memory for h in hits]) if settings.answer.check_attribution else None
    )
    semantic = search_mode != "keyword" and hits and declined is None
    similarity = _similarity_to(app, question) if semantic else None
    owner = owner_names(settings.search.owner_names)
    # A question that asks for several things ("What books has Ana read?") finds them spread
    # over several memories: it gets the larger budget.
    context = settings.answer.context_tokens
    if thorough:
        context = max(context, settings.answer.thorough_context_tokens)
    budget = budget_for(question, context, settings.answer.list_context_tokens)
    excerpts = select_evidence(question, hits, budget, similarity, owner)
    # "What is my rent?": only the newest of the memories that state it reaches the model.
    excerpts, superseded = drop_superseded(question, when, excerpts, app.embed if semantic else None)
    if declined is None and settings.answer.check_details:
        # "What is the name of Maria's kitten?" when her chats tell only of a pup: declined
        # without the model, which would answer with the pup's name.
        declined = check_excerpts(question, excerpts)
    messages = build_prompt(
        question,
        core,
        hits,
        settings.answer.max_memory_chars,
        today=today,
        excerpts=excerpts,
        order=when.order,
        span=when.span,
    )
    prepared = Prepared(
        question,
        core,
        hits,
        excerpts,
        messages,
        system,
        started,
        when=when,
        superseded=superseded,
        declined=declined,
    )
    prepared.timings["retrieve_s"] = time.perf_counter() - started
    return prepared


def _similarity_to(app: Secondme, question: str) -> Callable[[list[str]], Any]:
    """Cosine similarities of texts to ``question``, by the embedder the search already loaded."""

    def similarity(texts: list[str]) -> Any:
        vectors = app.embed([question, *texts])
        return vectors[1:] @ vectors[0]

    return similarity


def ask(
    app: Secondme,
    question: str,
    k: int | None = None,
    on_token: Callable[[str], None] | None = None,
    llm: Any = None,
    search_mode: str = "hybrid",
    today: datetime | None = None,
    on_hits: Callable[[list[Hit]], None] | None = None,
    thorough: bool = False,
) -> Answer:
    """Answer ``question`` from memories, streaming tokens to ``on_token``.

    ``on_hits`` gets the retrieved memories before the model is asked.  The model is loaded
    only when there is something to answer from.  ``today`` and ``thorough``: see
    :func:`prepare`.
    """
    settings = app.settings
    prime = settings.llm.cache_prompt_prefix
    loader = None
    # llama.cpp points file descriptors 1 and 2 at /dev/null while it loads a model: anything
    # printed meanwhile is lost.  So the model loads during retrieval only when nothing is
    # printed before the answer (no ``on_hits``); otherwise the memories are shown first.
    if llm is None and on_hits is None and (question or "").strip() and _surely_answered(app, question):
        # Core memories or a keyword match will reach the prompt: load the model (mostly reading
        # the file, in C code that releases the GIL) while the rest of retrieval runs.  Its
        # prompt prefix is evaluated after retrieval, where it does not compete for the CPU.
        loader = _Loader(settings.llm)
        loader.start()
    try:
        prepared = prepare(app, question, k=k, search_mode=search_mode, today=today, thorough=thorough)
    except BaseException:
        if loader is not None:
            loader.join()
        raise
    if on_hits:
        on_hits(prepared.hits)
    if not prepared.needs_model:
        if loader is not None:
            # Leaving the interpreter while the loader is inside llama.cpp loses buffered output.
            loader.join()
        return generate(app, prepared, None, on_token)
    if loader is not None:
        llm = loader.result()
        prepared.timings.update(loader.timings)
    elif llm is None:
        from secondme.models.llm import load_llm

        loading = time.perf_counter()
        llm = load_llm(settings.llm)
        prepared.timings["load_s"] = time.perf_counter() - loading
    return generate(app, prepared, llm, on_token, prime=prime)


def _surely_answered(app: Secondme, question: str) -> bool:
    """True when the model will be needed whatever the vectors find (cheap: no embedder)."""
    if app.core():
        return True
    return bool(app.search(question, k=1, mode="keyword"))


def generate(
    app: Secondme,
    prepared: Prepared,
    llm: Any,
    on_token: Callable[[str], None] | None = None,
    prime: bool = False,
) -> Answer:
    """Ask the model (``None`` when :attr:`Prepared.needs_model` is false) and check its answer."""
    settings = app.settings
    question, core, hits, messages = prepared.question, prepared.core, prepared.hits, prepared.messages
    excerpts, when = prepared.excerpts, prepared.when
    timings, started = prepared.timings, prepared.started
    shown = [e.memory for e in excerpts]
    by_id = {m.id: m for m in shown + core}
    if not prepared.needs_model or llm is None:
        # Nothing to go on, or only what someone else did: say so without using the model.
        declined = prepared.declined
        text = declined.explain() if declined is not None else IDK + "."
        if on_token:
            on_token(text)
        timings["total_s"] = time.perf_counter() - started
        return Answer(
            question,
            text,
            [],
            True,
            hits,
            timings=timings,
            prompt=messages,
            misattribution=declined,
            excerpts=excerpts,
            superseded=prepared.superseded,
            when=when,
        )
    if prime and hasattr(llm, "prime"):
        priming = time.perf_counter()
        llm.prime(prepared.system)
        timings["prime_s"] = time.perf_counter() - priming
    pieces: list[str] = []
    # Faces are shown the answer as it will stand: a restated question held back, then left out.
    stream = RestatedStream(question, on_token) if on_token else None
    gen_started = time.perf_counter()
    # Models that can say how likely each token was (llama.cpp) say it as they write.
    token_logprobs: list[tuple[str, float]] = []
    scoring = {"logprobs": token_logprobs} if getattr(llm, "scores_tokens", False) else {}
    for piece in llm.chat(messages, max_tokens=settings.llm.max_tokens, **scoring):
        if not pieces:
            timings["first_token_s"] = time.perf_counter() - started
        pieces.append(piece)
        if stream:
            stream(piece)
    if stream:
        stream.close()
    timings["generate_s"] = time.perf_counter() - gen_started
    draft = "".join(pieces).strip()
    # The model's arithmetic is redone in code ("542 + 1,456 = 2,008" gets 1,998).
    text = correct_arithmetic(tidy_answer(draft))
    if says_nothing(text):
        # Only citations ("[31]."): the model named a memory but gave no answer from it.
        text = f"{IDK}."
    cited = parse_citations(text)
    valid = [i for i in cited if i in by_id]
    invalid = [i for i in cited if i not in by_id]
    abstained = text.lower().startswith("i don't know") or (is_abstention(text) and not valid)
    inferred = False
    if abstained:
        valid = []
    elif not valid:
        # Small models sometimes answer without citing: attribute the answer to the memories
        # it repeats, and say that the citations were inferred.
        valid = attribute(text, shown + core)
        inferred = bool(valid)
    else:
        # Cited memories that hold none of the answer's own words, where others shown do: the
        # model cited a neighbour of the memory it used.
        better = unsupported_citations(text, question, [by_id[i] for i in valid], shown + core)
        if better:
            text, valid, inferred = recite(text, better), better, True
    wrong_person = None
    if not abstained and settings.answer.check_attribution:
        wrong_person = check_attribution(question, text, shown)
        if wrong_person is not None:
            text, abstained, valid, inferred = wrong_person.explain(), True, [], False
    if not abstained:
        # "The natural disaster that affected John's old area was a flood [12]." -> "A flood [12]."
        text = drop_restated(question, text)
    app.touch(valid)
    confidence = least_sure(token_logprobs) if token_logprobs else None
    unsure = not abstained and confidence is not None and confidence < settings.answer.unsure_below
    timings["total_s"] = time.perf_counter() - started
    return Answer(
        question,
        text,
        valid,
        abstained,
        hits,
        invalid_citations=invalid,
        citations_inferred=inferred,
        model=getattr(llm, "name", None),
        timings=timings,
        prompt=messages,
        draft=draft,
        misattribution=wrong_person,
        cited=[by_id[i] for i in valid],
        excerpts=excerpts,
        superseded=prepared.superseded,
        prompt_tokens=count_tokens(llm, messages[-1]["content"]),
        when=when,
        token_logprobs=token_logprobs,
        confidence=confidence,
        unsure=unsure,
    )

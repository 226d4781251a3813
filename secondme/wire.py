"""The daemon's protocol: JSON forms of the core's results, exact both ways.

The daemon (``secondme.daemon``) serves the core's API as HTTP on a unix socket and the client
(``secondme.client``) turns the JSON back into the same objects the core returns, so that a face
cannot tell which one it talks to.  Light on purpose: the client imports this on every command.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from secondme.memory import Memory, MemoryType

if TYPE_CHECKING:
    from secondme.answer import Answer
    from secondme.answer.evidence import Excerpt
    from secondme.retrieve import Hit
    from secondme.service import DoctorReport

#: Bumped whenever a request or a response changes shape; client and daemon must agree.
PROTOCOL = 2
#: The header every request and response carries.
PROTOCOL_HEADER = "X-Secondme-Protocol"


def memory_out(memory: Memory) -> dict[str, Any]:
    """A memory as JSON (every field)."""
    return memory.to_dict()


def memory_in(data: dict[str, Any]) -> Memory:
    """The memory :func:`memory_out` wrote."""
    return Memory(**{**data, "type": MemoryType(data["type"])})


def hit_out(hit: Hit) -> dict[str, Any]:
    """A search hit as JSON, with its whole memory."""
    return {
        "memory": memory_out(hit.memory),
        "score": hit.score,
        "keyword_rank": hit.keyword_rank,
        "vector_rank": hit.vector_rank,
        "distance": hit.distance,
        "extra": hit.extra,
        "neighbour_of": hit.neighbour_of,
    }


def hit_in(data: dict[str, Any]) -> Hit:
    """The hit :func:`hit_out` wrote."""
    from secondme.retrieve import Hit

    return Hit(
        memory=memory_in(data["memory"]),
        score=data["score"],
        keyword_rank=data["keyword_rank"],
        vector_rank=data["vector_rank"],
        distance=data["distance"],
        extra=data["extra"],
        neighbour_of=data.get("neighbour_of"),
    )


def excerpt_out(excerpt: Excerpt) -> dict[str, Any]:
    """What of one memory a prompt showed, as JSON."""
    return {
        "memory": memory_out(excerpt.memory),
        "rank": excerpt.rank,
        "whole": excerpt.whole,
        "units": [{"index": u.index, "text": u.text, "speaker": u.speaker} for u in excerpt.units],
    }


def excerpt_in(data: dict[str, Any]) -> Excerpt:
    """The excerpt :func:`excerpt_out` wrote."""
    from secondme.answer.evidence import Excerpt, Unit

    return Excerpt(
        memory_in(data["memory"]),
        data["rank"],
        [Unit(u["index"], u["text"], u["speaker"]) for u in data["units"]],
        whole=data["whole"],
    )


def answer_out(answer: Answer) -> dict[str, Any]:
    """An answer as JSON, prompt and draft included."""
    wrong = answer.misattribution
    return {
        "question": answer.question,
        "answer": answer.answer,
        "citations": answer.citations,
        "abstained": answer.abstained,
        "hits": [hit_out(h) for h in answer.hits],
        "invalid_citations": answer.invalid_citations,
        "citations_inferred": answer.citations_inferred,
        "model": answer.model,
        "timings": answer.timings,
        "prompt": answer.prompt,
        "draft": answer.draft,
        "misattribution": None
        if wrong is None
        else {
            "asked_about": wrong.asked_about,
            "said_by": wrong.said_by,
            "memory_id": wrong.memory_id,
            "kind": wrong.kind,
        },
        "cited": [memory_out(m) for m in answer.cited],
        "excerpts": [excerpt_out(e) for e in answer.excerpts],
        "superseded": [excerpt_out(e) for e in answer.superseded],
        "prompt_tokens": answer.prompt_tokens,
        "when": answer.when.to_dict() if answer.when else None,
        "token_logprobs": [list(pair) for pair in answer.token_logprobs],
        "confidence": answer.confidence,
        "unsure": answer.unsure,
    }


def answer_in(data: dict[str, Any]) -> Answer:
    """The answer :func:`answer_out` wrote."""
    from secondme.answer import Answer, Misattribution
    from secondme.timeparse import QuestionTime

    wrong = data["misattribution"]
    when = data.get("when")
    return Answer(
        question=data["question"],
        answer=data["answer"],
        citations=data["citations"],
        abstained=data["abstained"],
        hits=[hit_in(h) for h in data["hits"]],
        invalid_citations=data["invalid_citations"],
        citations_inferred=data["citations_inferred"],
        model=data["model"],
        timings=data["timings"],
        prompt=data["prompt"],
        draft=data["draft"],
        misattribution=None if wrong is None else Misattribution(**wrong),
        cited=[memory_in(m) for m in data.get("cited", [])],
        excerpts=[excerpt_in(e) for e in data.get("excerpts", [])],
        superseded=[excerpt_in(e) for e in data.get("superseded", [])],
        prompt_tokens=data.get("prompt_tokens"),
        token_logprobs=[(str(piece), float(logprob)) for piece, logprob in data.get("token_logprobs", [])],
        confidence=data.get("confidence"),
        unsure=bool(data.get("unsure", False)),
        when=None
        if when is None
        else QuestionTime(
            since=datetime.fromisoformat(when["since"]) if when["since"] else None,
            until=datetime.fromisoformat(when["until"]) if when["until"] else None,
            order=when["order"],
            phrase=when["phrase"],
            relative_days=when["relative_days"],
        ),
    )


def doctor_in(data: dict[str, Any]) -> DoctorReport:
    """The report ``DoctorReport.to_dict`` wrote."""
    from secondme.service import DoctorReport

    return DoctorReport(
        memories=data["memories"],
        vectors=data["vectors"],
        missing=data["missing"],
        orphans=data["orphans"],
        stale=data["stale"],
        index=data.get("index", ""),
        repaired=data["repaired"],
        waiting=data.get("waiting", []),
    )


def error_out(error: BaseException) -> dict[str, Any]:
    """An error as JSON: the core's own errors keep their class, message and hint."""
    from secondme.errors import SecondmeError

    if isinstance(error, SecondmeError):
        return {"error": type(error).__name__, "message": error.message, "hint": error.hint}
    return {"error": type(error).__name__, "message": str(error), "hint": None}


def error_in(data: dict[str, Any]) -> Exception:
    """The error :func:`error_out` wrote, raised again in the client as the same class."""
    from secondme import errors

    cls = getattr(errors, str(data.get("error")), None)
    if isinstance(cls, type) and issubclass(cls, errors.SecondmeError):
        return cls(data.get("message", ""), hint=data.get("hint"))
    return errors.SecondmeError(
        f"the daemon failed: {data.get('error')}: {data.get('message')}",
        hint="see the daemon's log (`mem daemon status`)",
    )

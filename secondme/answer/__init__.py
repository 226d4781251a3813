"""Answering a question: core + retrieved memories as quoted data, a cited answer, or "I don't know".

The memories go into the prompt as data, each tagged with its id and date; only the parts that
bear on the question are shown (:mod:`~secondme.answer.evidence`).  The model must cite ids
like ``[12]``; citations are checked against what the prompt held, an answer that says the
memories do not tell is reported as an abstention, and a question about one person that the
memories answer only of another is declined, before the model runs or after
(:mod:`~secondme.answer.checks`).

- :mod:`~secondme.answer.prompt`: the system prompt and how memories are rendered;
- :mod:`~secondme.answer.evidence`: choosing messages and sentences into a token budget;
- :mod:`~secondme.answer.citations`: ``[12]`` markers, abstentions, inferred citations;
- :mod:`~secondme.answer.checks`: who the memories tell of, before and after the model;
- :mod:`~secondme.answer.restated`: an opening that restates the question left out, streamed too;
- :mod:`~secondme.answer.confidence`: how sure the model was of its answer ("unsure" answers);
- :mod:`~secondme.answer.pipeline`: :func:`ask`, which runs them in order.
"""

from secondme.answer.checks import Misattribution, check_attribution, check_subject, speaker_lines
from secondme.answer.citations import IDK, attribute, is_abstention, parse_citations, strip_citations
from secondme.answer.evidence import Excerpt, select_evidence
from secondme.answer.pipeline import (
    MAX_VECTOR_ONLY_DISTANCE,
    Answer,
    Prepared,
    ask,
    generate,
    prepare,
    select_hits,
)
from secondme.answer.prompt import SYSTEM_PROMPT, build_prompt, quote, render_memory

__all__ = [
    "IDK",
    "MAX_VECTOR_ONLY_DISTANCE",
    "SYSTEM_PROMPT",
    "Answer",
    "Excerpt",
    "Misattribution",
    "Prepared",
    "ask",
    "attribute",
    "build_prompt",
    "check_attribution",
    "check_subject",
    "generate",
    "is_abstention",
    "parse_citations",
    "prepare",
    "quote",
    "render_memory",
    "select_evidence",
    "select_hits",
    "speaker_lines",
    "strip_citations",
]

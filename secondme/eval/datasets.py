"""Loaders for the benchmark development splits: LoCoMo and LongMemEval_S.

The files live outside the repository, in ``shared/bench/`` beside it (see its README).  Each
loader turns one file into typed records and fails with an :class:`InputError` that names the
file and what is wrong with it, never with a bare ``KeyError`` from deep inside.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import secondme
from secondme.errors import InputError

LOCOMO_FILE = "locomo_dev.json"
LONGMEMEVAL_FILE = "longmemeval_s_dev.json"

#: LoCoMo's question categories, numbered as its official evaluation code numbers them.
LOCOMO_CATEGORIES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}

#: LongMemEval's six question types.
LME_QUESTION_TYPES: tuple[str, ...] = (
    "single-session-user",
    "single-session-assistant",
    "single-session-preference",
    "multi-session",
    "temporal-reasoning",
    "knowledge-update",
)

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}

# "1:56 pm on 8 May, 2023"; parsed by hand so the result does not depend on the locale.
_LOCOMO_DATE = re.compile(
    r"^\s*(\d{1,2}):(\d{2})\s*([ap])\.?m\.?\s+on\s+(\d{1,2})\s+([a-z]+)\.?,?\s+(\d{4})\s*$",
    re.IGNORECASE,
)
# "2023/05/28 (Sun) 19:47"; the weekday is redundant, so it is optional and not checked.
_LME_DATE = re.compile(
    r"^\s*(\d{4})/(\d{1,2})/(\d{1,2})\s*(?:\([a-z]{2,4}\))?\s*(\d{1,2}):(\d{2})\s*$",
    re.IGNORECASE,
)
# One evidence id, tolerant of the malformed shapes seen in the data ("D:1:3", "D 4: 5").
_EVIDENCE_ID = re.compile(r"D\s*:?\s*(\d+)\s*:\s*(\d+)", re.IGNORECASE)
_SESSION_KEY = re.compile(r"^session_(\d+)$")


def default_bench_dir() -> Path:
    """Where the benchmark files are: ``$SECONDME_BENCH_DIR``, else ``shared/bench`` beside the repo."""
    override = os.environ.get("SECONDME_BENCH_DIR")
    if override:
        return Path(override).expanduser()
    return Path(secondme.__file__).resolve().parents[2] / "shared" / "bench"


# --- LoCoMo -------------------------------------------------------------------------------------


@dataclass
class LocomoTurn:
    """One utterance of a LoCoMo conversation; image turns carry a caption of the image."""

    dia_id: str
    speaker: str
    text: str
    blip_caption: str | None = None


@dataclass
class LocomoSession:
    """One dated sitting of a LoCoMo conversation (``session_N`` and its date)."""

    index: int
    date: datetime
    turns: list[LocomoTurn] = field(default_factory=list)


@dataclass
class LocomoQuestion:
    """A LoCoMo question with its gold answer and evidence turn ids.

    Category 5 (adversarial) questions usually have no ``answer``, only an
    ``adversarial_answer``: a plausible trap that the conversation never supports.
    """

    question: str
    answer: str | None
    evidence: list[str]
    category: int
    adversarial_answer: str | None = None

    @property
    def category_name(self) -> str:
        """The category's name, e.g. ``"multi-hop"``."""
        return LOCOMO_CATEGORIES.get(self.category, str(self.category))


@dataclass
class LocomoConversation:
    """A long two-person conversation and the questions asked about it."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    sessions: list[LocomoSession]
    questions: list[LocomoQuestion]

    def turns(self) -> Iterator[tuple[LocomoSession, LocomoTurn]]:
        """Every turn with its session, in conversation order."""
        for session in self.sessions:
            for turn in session.turns:
                yield session, turn

    def turn_index(self) -> dict[str, LocomoTurn]:
        """Turns by ``dia_id``, to look up evidence."""
        return {turn.dia_id: turn for _, turn in self.turns()}


def parse_locomo_date(text: str) -> datetime:
    """Parse a LoCoMo session date such as ``"1:56 pm on 8 May, 2023"``.

    Raises :class:`ValueError` when the text has another shape.
    """
    match = _LOCOMO_DATE.match(text or "")
    if not match:
        raise ValueError(f"not a LoCoMo date: {text!r}")
    hour, minute, half, day, month_name, year = match.groups()
    month = _MONTHS.get(month_name.lower())
    if month is None:
        raise ValueError(f"unknown month in {text!r}")
    hour_12 = int(hour)
    if not 1 <= hour_12 <= 12:
        raise ValueError(f"hour out of range in {text!r}")
    # 12 am is midnight and 12 pm is noon.
    hour_24 = hour_12 % 12 + (12 if half.lower() == "p" else 0)
    return datetime(int(year), month, int(day), hour_24, int(minute))


def normalise_evidence(raw: Any) -> list[str]:
    """Clean a LoCoMo evidence list into ``"D<session>:<turn>"`` ids.

    Handles the malformed entries in the data: ids joined with ``;``, ``,`` or spaces in one
    string, a stray colon (``"D:1:3"``), leading zeros.  Pieces with no session and turn
    number (a bare ``"D"``) are dropped.  Order is kept and duplicates removed.
    """
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw)
    seen: dict[str, None] = {}
    for item in items:
        for match in _EVIDENCE_ID.finditer(str(item)):
            seen.setdefault(f"D{int(match.group(1))}:{int(match.group(2))}", None)
    return list(seen)


def load_locomo(path: str | Path | None = None) -> list[LocomoConversation]:
    """Load LoCoMo conversations from ``path`` (default: ``locomo_dev.json`` in the bench dir).

    Sessions come from the ``session_N`` lists in numeric order; date keys with no session
    (conv-26 has some) are ignored.  Integer answers become strings.
    """
    file = Path(path) if path is not None else default_bench_dir() / LOCOMO_FILE
    data = _read_json(file)
    if not isinstance(data, list):
        raise _bad(file, f"expected a list of conversations, found {_kind(data)}")
    return [_locomo_conversation(file, n, item) for n, item in enumerate(data)]


def _locomo_conversation(file: Path, n: int, item: Any) -> LocomoConversation:
    where = f"conversation {n}"
    item = _need_dict(file, where, item)
    sample_id = str(_need(file, where, item, "sample_id"))
    where = f"conversation {n} ({sample_id})"
    conv = _need_dict(file, where, _need(file, where, item, "conversation"))
    qa = _need(file, where, item, "qa")
    if not isinstance(qa, list):
        raise _bad(file, f"{where}: 'qa' should be a list, found {_kind(qa)}")

    session_numbers = sorted(
        int(m.group(1))
        for key, value in conv.items()
        if (m := _SESSION_KEY.match(key)) and isinstance(value, list)
    )
    sessions = []
    for number in session_numbers:
        s_where = f"{where}, session_{number}"
        date_text = _need(file, s_where, conv, f"session_{number}_date_time")
        try:
            date = parse_locomo_date(str(date_text))
        except ValueError as exc:
            raise _bad(file, f"{s_where}: {exc}") from None
        turns = []
        for t, turn in enumerate(conv[f"session_{number}"]):
            t_where = f"{s_where}, turn {t}"
            turn = _need_dict(file, t_where, turn)
            caption = turn.get("blip_caption")
            turns.append(
                LocomoTurn(
                    dia_id=str(_need(file, t_where, turn, "dia_id")),
                    speaker=str(_need(file, t_where, turn, "speaker")),
                    text=str(_need(file, t_where, turn, "text")),
                    blip_caption=str(caption) if caption is not None else None,
                )
            )
        sessions.append(LocomoSession(index=number, date=date, turns=turns))

    questions = [_locomo_question(file, f"{where}, qa item {q}", raw) for q, raw in enumerate(qa)]
    return LocomoConversation(
        sample_id=sample_id,
        speaker_a=str(_need(file, where, conv, "speaker_a")),
        speaker_b=str(_need(file, where, conv, "speaker_b")),
        sessions=sessions,
        questions=questions,
    )


def _locomo_question(file: Path, where: str, raw: Any) -> LocomoQuestion:
    raw = _need_dict(file, where, raw)
    try:
        category = int(_need(file, where, raw, "category"))
    except (TypeError, ValueError):
        raise _bad(file, f"{where}: 'category' is not a number") from None
    if category not in LOCOMO_CATEGORIES:
        raise _bad(file, f"{where}: unknown category {category}")
    # Adversarial questions have no gold answer by design; every other one must.
    answer = raw.get("answer") if category == 5 else _need(file, where, raw, "answer")
    adversarial = raw.get("adversarial_answer")
    return LocomoQuestion(
        question=str(_need(file, where, raw, "question")),
        answer=str(answer) if answer is not None else None,
        evidence=normalise_evidence(raw.get("evidence")),
        category=category,
        adversarial_answer=str(adversarial) if adversarial is not None else None,
    )


# --- LongMemEval --------------------------------------------------------------------------------


@dataclass
class LmeSession:
    """One chat session of a LongMemEval haystack.

    ``turns`` are dicts with ``role`` ("user" or "assistant"), ``content`` and ``has_answer``
    (always present here, False when the file leaves it out).
    """

    session_id: str
    date: datetime
    turns: list[dict[str, Any]]


@dataclass
class LmeQuestion:
    """A LongMemEval question with its own haystack of sessions.

    ``is_abstention`` marks the ``_abs`` questions, whose answer is not in the history; their
    ``answer`` explains why.  Session ids can repeat inside one haystack (one dev question has
    a session twice, on two dates); they are kept as the file has them.
    """

    question_id: str
    question_type: str
    question: str
    answer: str
    question_date: datetime
    sessions: list[LmeSession]
    answer_session_ids: list[str]
    is_abstention: bool


def parse_lme_date(text: str) -> datetime:
    """Parse a LongMemEval date such as ``"2023/05/28 (Sun) 19:47"``.

    Raises :class:`ValueError` when the text has another shape.
    """
    match = _LME_DATE.match(text or "")
    if not match:
        raise ValueError(f"not a LongMemEval date: {text!r}")
    year, month, day, hour, minute = (int(g) for g in match.groups())
    return datetime(year, month, day, hour, minute)


def load_longmemeval(path: str | Path | None = None) -> list[LmeQuestion]:
    """Load LongMemEval questions from ``path`` (default: ``longmemeval_s_dev.json``).

    Integer answers become strings.  The three haystack lists of a question must have the
    same length.
    """
    file = Path(path) if path is not None else default_bench_dir() / LONGMEMEVAL_FILE
    data = _read_json(file)
    if not isinstance(data, list):
        raise _bad(file, f"expected a list of questions, found {_kind(data)}")
    return [_lme_question(file, n, item) for n, item in enumerate(data)]


def _lme_question(file: Path, n: int, item: Any) -> LmeQuestion:
    where = f"item {n}"
    item = _need_dict(file, where, item)
    qid = str(_need(file, where, item, "question_id"))
    where = f"item {n} ({qid})"
    ids = _need_list(file, where, item, "haystack_session_ids")
    dates = _need_list(file, where, item, "haystack_dates")
    bodies = _need_list(file, where, item, "haystack_sessions")
    if not len(ids) == len(dates) == len(bodies):
        raise _bad(
            file,
            f"{where}: haystack lists differ in length "
            f"({len(ids)} ids, {len(dates)} dates, {len(bodies)} sessions)",
        )
    sessions = []
    for s, (sid, date_text, body) in enumerate(zip(ids, dates, bodies, strict=True)):
        s_where = f"{where}, session {s}"
        if not isinstance(body, list):
            raise _bad(file, f"{s_where}: expected a list of turns, found {_kind(body)}")
        turns = []
        for t, turn in enumerate(body):
            t_where = f"{s_where}, turn {t}"
            turn = _need_dict(file, t_where, turn)
            turns.append(
                {
                    "role": str(_need(file, t_where, turn, "role")),
                    "content": str(_need(file, t_where, turn, "content")),
                    "has_answer": bool(turn.get("has_answer", False)),
                }
            )
        sessions.append(
            LmeSession(session_id=str(sid), date=_lme_date(file, s_where, date_text), turns=turns)
        )
    question_date = _lme_date(file, where, _need(file, where, item, "question_date"))
    return LmeQuestion(
        question_id=qid,
        question_type=str(_need(file, where, item, "question_type")),
        question=str(_need(file, where, item, "question")),
        answer=str(_need(file, where, item, "answer")),
        question_date=question_date,
        sessions=sessions,
        answer_session_ids=[str(x) for x in _need_list(file, where, item, "answer_session_ids")],
        is_abstention=qid.endswith("_abs"),
    )


def _lme_date(file: Path, where: str, value: Any) -> datetime:
    try:
        return parse_lme_date(str(value))
    except ValueError as exc:
        raise _bad(file, f"{where}: {exc}") from None


# --- shared checks ------------------------------------------------------------------------------


def _read_json(file: Path) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"benchmark file not found: {file}",
            hint="put the file there, pass its path, or set SECONDME_BENCH_DIR",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read benchmark file {file}: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"benchmark file {file} is not JSON: {exc.msg} at line {exc.lineno}") from None


def _bad(file: Path, what: str) -> InputError:
    return InputError(f"malformed benchmark file {file}: {what}")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return type(value).__name__


def _need(file: Path, where: str, item: dict[str, Any], key: str) -> Any:
    if key not in item or item[key] is None:
        raise _bad(file, f"{where}: missing key {key!r}")
    return item[key]


def _need_dict(file: Path, where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(file, f"{where}: expected an object, found {_kind(value)}")
    return value


def _need_list(file: Path, where: str, item: dict[str, Any], key: str) -> list[Any]:
    value = _need(file, where, item, key)
    if not isinstance(value, list):
        raise _bad(file, f"{where}: {key!r} should be a list, found {_kind(value)}")
    return value

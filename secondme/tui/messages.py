"""Typed messages that workers post back to the UI thread (``post_message`` is thread-safe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from secondme.answer import Answer
    from secondme.memory import Memory
    from secondme.retrieve import Hit
    from secondme.service import DoctorReport
    from secondme.tui.backend import Details, Row, StatusReport


class PageLoaded(Message):
    """A page of the memory list arrived."""

    def __init__(self, generation: int, page: int, rows: list[Row]) -> None:
        super().__init__()
        self.generation = generation
        self.page = page
        self.rows = rows


class TotalCounted(Message):
    """How many rows the current listing has."""

    def __init__(self, generation: int, total: int) -> None:
        super().__init__()
        self.generation = generation
        self.total = total


class CountsLoaded(Message):
    """Memories per type, for the sidebar; ``total`` includes vault captions."""

    def __init__(self, counts: dict[str, int]) -> None:
        super().__init__()
        self.counts = counts
        self.total = sum(counts.values())


class SearchDone(Message):
    """Search results for the query the user typed (keyword-only first, then hybrid)."""

    def __init__(self, serial: int, query: str, hits: list[Hit], seconds: float, final: bool = True) -> None:
        super().__init__()
        self.serial = serial
        self.query = query
        self.hits = hits
        self.seconds = seconds
        self.final = final
        """False for the instant keyword-only results that the hybrid search then replaces."""


class DetailsLoaded(Message):
    """The detail pane's memory, history and supersede links."""

    def __init__(self, details: Details) -> None:
        super().__init__()
        self.details = details


class RelatedLoaded(Message):
    """Related memories for the memory in the detail pane."""

    def __init__(self, memory_id: int, hits: list[Hit]) -> None:
        super().__init__()
        self.memory_id = memory_id
        self.hits = hits


class AnswerToken(Message):
    """A piece of the answer being written."""

    def __init__(self, serial: int, text: str) -> None:
        super().__init__()
        self.serial = serial
        self.text = text


class AnswerDone(Message):
    """The finished answer with its citations."""

    def __init__(self, serial: int, answer: Answer, cited: dict[int, Memory]) -> None:
        super().__init__()
        self.serial = serial
        self.answer = answer
        self.cited = cited


class AnswerFailed(Message):
    """The answer could not be made (e.g. the model is missing): what happened and what to do."""

    def __init__(self, serial: int, message: str, hint: str | None) -> None:
        super().__init__()
        self.serial = serial
        self.message = message
        self.hint = hint


class ActionDone(Message):
    """A change to the memories succeeded; ``memory_id`` is what to show next (None: nothing)."""

    def __init__(self, text: str, memory_id: int | None) -> None:
        super().__init__()
        self.text = text
        self.memory_id = memory_id


class Failed(Message):
    """Something in a worker failed: shown as a notification, never a crash."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__()
        self.message = message
        self.hint = hint


class StatusLoaded(Message):
    """The status screen's report."""

    def __init__(self, report: StatusReport) -> None:
        super().__init__()
        self.report = report


class DoctorLoaded(Message):
    """Index health for the status screen."""

    def __init__(self, report: DoctorReport | None, error: str | None = None) -> None:
        super().__init__()
        self.report = report
        self.error = error

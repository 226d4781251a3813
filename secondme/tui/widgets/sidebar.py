"""The sidebar: memory types with their counts (vault shown locked) and the timeline view."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from secondme.memory import MemoryType

ALL = "all"
TIMELINE = "timeline"
VIEWS: tuple[str, ...] = (ALL, *(t.value for t in MemoryType), TIMELINE)
"""Sidebar entries in order: everything, each type, then the timeline."""

_LABELS = {ALL: "all", TIMELINE: "timeline"}


class Sidebar(OptionList):
    """Memory types with counts; choosing one filters the list."""

    class Chosen(Message):
        """The user picked a view (``all``, a type name or ``timeline``)."""

        def __init__(self, view: str) -> None:
            super().__init__()
            self.view = view

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(*[Option(self._label(v, None), id=v) for v in VIEWS], id=id)
        self.counts: dict[str, int] = {}

    @staticmethod
    def _label(view: str, count: int | None) -> Text:
        name = _LABELS.get(view, view)
        number = "" if count is None else f"{count:,}"
        # Padding belongs to the name's span: SVG renderers squeeze a span's leading spaces.
        text = Text(name + " " * max(1, 15 - cell_len(name) - len(number)), no_wrap=True)
        text.append(number, style="dim")
        if view == MemoryType.VAULT.value:
            text.append("\n  values locked", style="dim italic")
        return text

    def set_counts(self, counts: dict[str, int]) -> None:
        """Show per-type counts; ``all`` excludes vault, as listings and searches do."""
        self.counts = dict(counts)
        totals = dict(counts)
        totals[ALL] = sum(n for t, n in counts.items() if t != MemoryType.VAULT.value)
        totals[TIMELINE] = counts.get(MemoryType.EPISODIC.value, 0)
        for view in VIEWS:
            self.replace_option_prompt(view, self._label(view, totals.get(view, 0)))

    def select_view(self, view: str) -> None:
        """Highlight a view without announcing it (the app already switched to it)."""
        self.highlighted = VIEWS.index(view)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter or a click on an entry chooses that view."""
        event.stop()
        if event.option.id:
            self.post_message(self.Chosen(event.option.id))

"""The memory list: a virtual, lazily paged list that stays fast with any number of memories.

Only the rows on screen are drawn, and only the pages they fall on are fetched, in a worker, from
``MemoryStore.listing``; a bounded cache keeps recent pages.  The same widget shows search
results (a short, fixed list) and the timeline (episodic memories grouped by day).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from secondme.memory import MemoryType
from secondme.store.memories import Filters
from secondme.tui.backend import PAGE_SIZE, Row
from secondme.tui.messages import Failed, PageLoaded, TotalCounted

if TYPE_CHECKING:
    from secondme.retrieve import Hit
    from secondme.tui.backend import Backend

MAX_CACHED_PAGES = 40
"""Pages kept in memory (4,000 rows): enough to scroll back and forth without refetching."""


def fit(text: str, width: int) -> str:
    """``text`` cut or padded to exactly ``width`` cells, with an ellipsis when cut."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


class MemoryList(ScrollView, can_focus=True):
    """Memories, one per line: time, type, text and source."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
        Binding("enter", "open", "Open", show=False, tooltip="Open the memory in the detail pane"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "memory-list--cursor",
        "memory-list--when",
        "memory-list--day",
        "memory-list--source",
        "memory-list--superseded",
        "memory-list--loading",
        "memory-list--empty",
        *(f"memory-list--type-{t.value}" for t in MemoryType),
    }

    class Highlighted(Message):
        """The cursor is on another memory."""

        def __init__(self, memory_id: int) -> None:
            super().__init__()
            self.memory_id = memory_id

    class Opened(Message):
        """The user chose a memory (enter or double click)."""

        def __init__(self, memory_id: int) -> None:
            super().__init__()
            self.memory_id = memory_id

    def __init__(self, backend: Backend, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.backend = backend
        self.filters = Filters()
        self.timeline = False
        self.generation = 0
        self.total: int | None = None
        self.cursor = 0
        self.empty_text = "No memories here."
        self._hits: list[Row] | None = None
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self._in_flight: set[int] = set()
        self._fetch_scheduled = False
        self._announced: int | None = None
        self._pending_focus: int | None = None

    # -- what to show -----------------------------------------------------------------------

    @property
    def showing_hits(self) -> bool:
        """True while the list holds search results rather than a listing."""
        return self._hits is not None

    def show_listing(self, filters: Filters, timeline: bool = False, keep_cursor: bool = False) -> None:
        """Page through memories matching ``filters`` (newest first), from the top."""
        self.filters = filters
        self.timeline = timeline
        self._hits = None
        self._reset(keep_cursor)
        self._count(self.generation, filters)

    def show_hits(self, hits: list[Hit], focus_id: int | None = None) -> None:
        """Show search results, best first (the cursor on ``focus_id`` if it is among them)."""
        self._hits = [Row.of(h.memory) for h in hits]
        self.timeline = False
        self._reset(keep_cursor=False)
        self._pending_focus = focus_id
        self._set_total(len(self._hits))

    def reload(self, focus_id: int | None = None) -> None:
        """Fetch the listing again after a change; the cursor goes to ``focus_id`` if listed.

        Without ``focus_id`` (or when that memory is not among the first pages) the cursor stays
        at the same position.
        """
        if self._hits is None:
            self.show_listing(self.filters, self.timeline, keep_cursor=True)
            self._pending_focus = focus_id

    def drop_row(self, memory_id: int) -> None:
        """Remove a forgotten memory from search results (listings are reloaded instead)."""
        if self._hits is not None:
            self._hits = [r for r in self._hits if r.id != memory_id]
            self._set_total(len(self._hits))
            self._move_to(min(self.cursor, max(0, len(self._hits) - 1)))

    def _reset(self, keep_cursor: bool) -> None:
        self.generation += 1
        self._pages.clear()
        self._in_flight.clear()
        self._announced = None
        if not keep_cursor:
            self.cursor = 0
            self.total = None  # a new listing: blank until its first page arrives, no stale rows
            self.scroll_to(y=0, animate=False, immediate=True)
        self.refresh()

    def _set_total(self, total: int) -> None:
        self.total = total
        self.virtual_size = Size(0, total)
        if total and self.cursor >= total:
            self.cursor = total - 1
        self.refresh()
        self._announce()

    # -- rows -------------------------------------------------------------------------------

    def row_at(self, index: int) -> Row | None:
        """The row at ``index`` if it is loaded."""
        if self._hits is not None:
            return self._hits[index] if 0 <= index < len(self._hits) else None
        page = self._pages.get(index // PAGE_SIZE)
        if page is None:
            return None
        offset = index % PAGE_SIZE
        return page[offset] if offset < len(page) else None

    @property
    def highlighted(self) -> Row | None:
        """The row under the cursor, if loaded."""
        return self.row_at(self.cursor)

    def index_of(self, memory_id: int) -> int | None:
        """Where a memory is among the loaded rows."""
        if self._hits is not None:
            return next((i for i, r in enumerate(self._hits) if r.id == memory_id), None)
        for page_no, rows in self._pages.items():
            for offset, row in enumerate(rows):
                if row.id == memory_id:
                    return page_no * PAGE_SIZE + offset
        return None

    def loaded_rows(self) -> list[Row]:
        """The rows loaded so far, in order (tests and screenshots read them)."""
        if self._hits is not None:
            return list(self._hits)
        return [row for page in sorted(self._pages) for row in self._pages[page]]

    # -- paging -----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="memory-count")
    def _count(self, generation: int, filters: Filters) -> None:
        # The first page before the count: the rows can show while SQLite counts the rest.
        try:
            rows = self.backend.page(filters, 0)
            self.post_message(PageLoaded(generation, 0, rows))
            total = len(rows) if len(rows) < PAGE_SIZE else self.backend.count(filters)
            self.post_message(TotalCounted(generation, total))
        except Exception as error:  # shown as a notification: the list stays usable
            self._report(error)

    @work(thread=True, exclusive=True, group="memory-pages")
    def _load_pages(self, generation: int, filters: Filters, pages: list[int]) -> None:
        worker = get_current_worker()
        for page in pages:
            if worker.is_cancelled:
                return
            try:
                rows = self.backend.page(filters, page, total=self.total)
            except Exception as error:
                self._report(error)
                return
            self.post_message(PageLoaded(generation, page, rows))

    def _report(self, error: BaseException) -> None:
        from secondme.tui.backend import translate

        problem = translate(error)
        self.post_message(Failed(problem.message, problem.hint))

    def on_total_counted(self, message: TotalCounted) -> None:
        """The listing's size is known: size the scroll area to it."""
        message.stop()
        if message.generation == self.generation and self._hits is None:
            self._set_total(message.total)

    def on_page_loaded(self, message: PageLoaded) -> None:
        """Keep a page, forgetting the oldest beyond the cache's size, and redraw."""
        message.stop()
        if message.generation != self.generation or self._hits is not None:
            return
        self._in_flight.discard(message.page)
        self._pages[message.page] = message.rows
        if self.total is None and message.page == 0:
            self._set_total(len(message.rows))  # for now; the count follows
        self._pages.move_to_end(message.page)
        while len(self._pages) > MAX_CACHED_PAGES:
            self._pages.popitem(last=False)
        self.refresh()
        self._announce()

    def _visible_pages(self) -> set[int]:
        top = int(self.scroll_offset.y)
        bottom = top + max(1, self.scrollable_content_region.height)
        pages = set(range(top // PAGE_SIZE, bottom // PAGE_SIZE + 1))
        pages.add(self.cursor // PAGE_SIZE)
        if self.timeline and top % PAGE_SIZE == 0 and top:
            pages.add(top // PAGE_SIZE - 1)  # the row above decides whether a day starts here
        limit = ((self.total or 0) - 1) // PAGE_SIZE
        return {p for p in pages if 0 <= p <= limit}

    def _fetch_visible(self) -> None:
        self._fetch_scheduled = False
        if self._hits is not None or self.total is None:
            return
        missing = {p for p in self._visible_pages() if p not in self._pages}
        if not missing or missing <= self._in_flight:
            return
        self._in_flight = missing
        self._load_pages(self.generation, self.filters, sorted(missing))

    def _want_pages(self) -> None:
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_after_refresh(self._fetch_visible)

    # -- drawing ----------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        """Draw one visible line (the Line API: only what is on screen is ever drawn)."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        index = int(self.scroll_offset.y) + y
        if self.total is None:
            return Strip.blank(width, base)
        if self.total == 0:
            if y == 0:
                style = self.get_component_rich_style("memory-list--empty")
                return Strip([Segment(fit(" " + self.empty_text, width), style)], width)
            return Strip.blank(width, base)
        if index >= self.total:
            return Strip.blank(width, base)
        row = self.row_at(index)
        if row is None:
            self._want_pages()
            style = self.get_component_rich_style("memory-list--loading")
            return Strip([Segment(fit("  …", width), style)], width)
        segments = self._row_segments(row, index, width)
        strip = Strip(segments, width)
        if index == self.cursor:
            cursor = self.get_component_rich_style("memory-list--cursor")
            strip = Strip([Segment(s.text, (s.style or Style()) + cursor) for s in segments], width)
        return strip

    def _row_segments(self, row: Row, index: int, width: int) -> list[Segment]:
        when_style = self.get_component_rich_style("memory-list--when")
        type_style = self.get_component_rich_style(f"memory-list--type-{row.type.value}")
        text_style = self.rich_style
        if row.superseded:
            text_style = text_style + self.get_component_rich_style("memory-list--superseded")
        source_style = self.get_component_rich_style("memory-list--source")
        show_source = width >= 84
        source_width = 18 if show_source else 0
        parts: list[Segment] = []
        if self.timeline:
            previous = self.row_at(index - 1) if index else None
            new_day = previous is None or previous.when[:10] != row.when[:10]
            day = self.get_component_rich_style("memory-list--day")
            parts.append(Segment(fit(row.when[:10] if new_day else "", 10), day))
            parts.append(Segment(" │ ", day))
            parts.append(Segment(fit(row.when[11:16], 5) + "  ", when_style))
        else:
            with_time = width >= 76
            when = row.when[:16].replace("T", " ") if with_time else row.when[:10]
            parts.append(Segment(" " + fit(when, 16 if with_time else 10) + " ", when_style))
            parts.append(Segment(fit(row.type.value, 8) + " ", type_style))
        used = sum(cell_len(s.text) for s in parts)
        text_width = max(0, width - used - (source_width + 1 if show_source else 0))
        parts.append(Segment(fit(row.text, text_width), text_style))
        if show_source:
            parts.append(Segment(" " + fit(row.source, source_width), source_style))
        return parts

    def watch_scroll_y(self, old: float, new: float) -> None:
        """Scrolling by wheel or scrollbar: fetch the pages that came into view."""
        super().watch_scroll_y(old, new)
        self._want_pages()

    def on_resize(self, event: events.Resize) -> None:
        """A resize may show more rows."""
        self._want_pages()

    # -- the cursor -------------------------------------------------------------------------

    def _move_to(self, index: int) -> None:
        if not self.total:
            self.cursor = 0
            self.refresh()
            return
        self.cursor = max(0, min(index, self.total - 1))
        height = max(1, self.scrollable_content_region.height)
        top = int(self.scroll_offset.y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)
        self.refresh()
        self._want_pages()
        self._announce()

    def move_to_id(self, memory_id: int) -> bool:
        """Put the cursor on a memory if it is among the loaded rows."""
        index = self.index_of(memory_id)
        if index is None:
            return False
        self._move_to(index)
        return True

    def _announce(self) -> None:
        if self._pending_focus is not None:
            index = self.index_of(self._pending_focus)
            if index is not None:
                self._pending_focus = None
                self._move_to(index)
                return
            if self.total is None or (self.total and not self._pages and self._hits is None):
                return  # not loaded yet: look again when the first page arrives
            # Not on the loaded pages: leave the cursor, and the detail pane, as they are.
            self._pending_focus = None
            row = self.highlighted
            self._announced = row.id if row else None
            return
        row = self.highlighted
        if row is not None and row.id != self._announced:
            self._announced = row.id
            self.post_message(self.Highlighted(row.id))

    def action_cursor_up(self) -> None:
        """One row up."""
        self._move_to(self.cursor - 1)

    def action_cursor_down(self) -> None:
        """One row down."""
        self._move_to(self.cursor + 1)

    def action_page_up(self) -> None:
        """One screen up."""
        self._move_to(self.cursor - max(1, self.scrollable_content_region.height - 1))

    def action_page_down(self) -> None:
        """One screen down."""
        self._move_to(self.cursor + max(1, self.scrollable_content_region.height - 1))

    def action_first(self) -> None:
        """The newest memory."""
        self._move_to(0)

    def action_last(self) -> None:
        """The oldest memory (fetches only the last page)."""
        self._move_to((self.total or 1) - 1)

    def action_open(self) -> None:
        """Open the highlighted memory."""
        row = self.highlighted
        if row is not None:
            self.post_message(self.Opened(row.id))

    def on_click(self, event: events.Click) -> None:
        """A click picks a row; a double click opens it."""
        offset = event.get_content_offset(self)
        if offset is None or not self.total:
            return
        index = int(self.scroll_offset.y) + offset.y
        if index < self.total:
            self.focus()
            self._move_to(index)
            if event.chain >= 2:
                self.action_open()

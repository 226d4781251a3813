"""The secondme TUI: browse, search, edit and ask, with every blocking call in a worker.

``make_app()`` builds the app for ``mem tui`` and for the tests alike.  The UI thread never waits
on SQLite, Chroma or a model: workers (``@work(thread=True, exclusive=True)``) do that and post
typed messages (:mod:`secondme.tui.messages`) back.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, OptionList, Static, TextArea
from textual.worker import get_current_worker

from secondme.errors import SecondmeError
from secondme.memory import Memory, MemoryType, NewMemory
from secondme.store.memories import Filters
from secondme.textsplit import snippet
from secondme.tui import theme as themes
from secondme.tui.backend import Backend, Cancelled, reveal_vault_value, translate
from secondme.tui.keys import APP_BINDINGS, FOCUS_ACTIONS
from secondme.tui.messages import (
    ActionDone,
    AnswerDone,
    AnswerFailed,
    AnswerToken,
    CountsLoaded,
    DetailsLoaded,
    Failed,
    RelatedLoaded,
    SearchDone,
)
from secondme.tui.widgets.ask import AskPanel
from secondme.tui.widgets.detail import DetailPane
from secondme.tui.widgets.memory_list import MemoryList
from secondme.tui.widgets.sidebar import ALL, TIMELINE, VIEWS, Sidebar

if TYPE_CHECKING:
    from secondme.service import Secondme

SEARCH_DEBOUNCE = 0.08
"""Seconds of quiet typing before a search runs (short: the search itself takes tens of ms)."""

DETAIL_DEBOUNCE = 0.08
"""Seconds the cursor must rest on a row before its details and related memories load."""

WARM_UP_DELAY = 0.4
"""Seconds after start before the embedder loads, so it does not slow down the first screen."""

WELCOME = """\
Welcome to secondme. Nothing is remembered yet.

Add a first memory:
  • here: press n, write it, then ctrl+s
  • from a shell: mem add "My dentist is Dr. Ana Costa"
  • many at once: mem import memories.jsonl
  • your files: mem ingest ~/notes  (or keep up: mem watch)

Then search with /, ask with a, and see every key with ?."""


#: App keys whose action moves the focus into a text box (see ``SecondmeApp.on_event``).
FOCUS_KEYS = {
    key: binding.action
    for binding in APP_BINDINGS
    if binding.action in FOCUS_ACTIONS
    for key in binding.key.split(",")
}


def focus_now(widget: Widget) -> None:
    """Focus at once, not after a refresh: keys typed right after "/" belong to the search box."""
    widget.screen.set_focus(widget)


class MemoryFetched(Message):
    """A memory loaded for an action (edit, forget, ...) that needs it whole."""

    def __init__(self, purpose: str, memory: Memory) -> None:
        super().__init__()
        self.purpose = purpose
        self.memory = memory


def read_date(text: str, end_of_day: bool = False) -> str:
    """A typed date as stored ISO text; a bare date as ``until`` means the end of that day."""
    from datetime import datetime

    from secondme import timeparse
    from secondme.errors import InputError

    moment = timeparse.parse_when(text)
    if moment.year < 1900:
        raise InputError(f"cannot understand the date {text!r}")
    if end_of_day and moment.time() == datetime.min.time() and ":" not in text:
        moment += timedelta(days=1, seconds=-1)
    return timeparse.iso(moment)


class SecondmeApp(App[None]):
    """Browse, search, edit and ask your memories."""

    CSS_PATH = "app.tcss"
    TITLE = "secondme"
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (110, "-wide")]  # type: ignore[misc]

    def __init__(self, backend: Backend, theme: str = themes.DARK, warm_up: bool = True) -> None:
        super().__init__()
        self.backend = backend
        self._start_theme = theme
        self._warm_up = warm_up
        self.view = ALL
        self.since: str | None = None
        self.until: str | None = None
        self.query_text = ""
        self.search_serial = 0
        self.searching = False
        self.last_search_seconds: float | None = None
        self.last_hits: list[Any] = []
        self.total_memories: int | None = None
        self.selected_id: int | None = None
        self._search_timer: Timer | None = None
        self._detail_timer: Timer | None = None
        self._focus_after_search: int | None = None

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Sidebar | search and list | detail; the ask panel opens below them."""
        yield Header(show_clock=False, icon="◉")
        with Vertical(id="body"):
            yield Sidebar(id="sidebar")
            with Vertical(id="center"):
                with Horizontal(id="searchbar"):
                    yield Input(placeholder="/ search", id="search", compact=True)
                    yield Input(placeholder="since", id="since", compact=True)
                    yield Input(placeholder="until", id="until", compact=True)
                yield Static("", id="list-info")
                yield MemoryList(self.backend, id="memories")
                yield Static(Text(WELCOME), id="welcome")
            yield DetailPane(id="detail")
        yield AskPanel(id="ask")
        yield Footer()

    @property
    def memories(self) -> MemoryList:
        """The memory list."""
        return self.query_one("#memories", MemoryList)

    @property
    def detail(self) -> DetailPane:
        """The detail pane."""
        return self.query_one("#detail", DetailPane)

    @property
    def ask_panel(self) -> AskPanel:
        """The ask panel."""
        return self.query_one("#ask", AskPanel)

    def on_mount(self) -> None:
        """Show the newest memories at once; load the embedder a moment later."""
        self.theme = self._start_theme
        self.query_one("#sidebar", Sidebar).highlighted = 0
        self.refresh_counts()
        self._show_listing()
        focus_now(self.memories)
        if self._warm_up:
            self.set_timer(WARM_UP_DELAY, self._warm)

    async def on_event(self, event: events.Event) -> None:
        """Run the keys that move the focus into a text box as soon as they arrive.

        Textual forwards a key to the focused widget and checks the app's own bindings only
        when the key bubbles back up, through one message queue per ancestor.  Keys typed right
        after "/" meanwhile go to the list, and the ones after those overtake them once the
        search box has the focus: "dentist" became "tistden".  Moving the focus here, before the
        next key is read, keeps the typed text in order.
        """
        if (
            isinstance(event, events.Key)
            and not event.is_forwarded
            and event.key in FOCUS_KEYS
            and len(self.screen_stack) == 1
            and not isinstance(self.focused, Input | TextArea)
        ):
            event.stop()
            await self.run_action(FOCUS_KEYS[event.key])
            return
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        # A key forwarded to the list before a click or binding moved the focus comes back
        # here when a text box has the focus (a text box keeps the keys it handles), and
        # belongs in it rather than being dropped.  Textual calls App's own handler after this
        # one unless the default is prevented.
        focused = self.focused
        if isinstance(focused, Input) and event.is_forwarded and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            focused.insert_text_at_cursor(event.character)

    # -- loading ----------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="warm-up")
    def _warm(self) -> None:
        try:
            self.backend.warm_up()
        except Exception:
            pass  # the first search reports the same problem, with its hint

    @work(thread=True, exclusive=True, group="counts")
    def refresh_counts(self) -> None:
        """Reload the per-type counts (sidebar, header, first-run screen)."""
        try:
            self.post_message(CountsLoaded(self.backend.counts()))
        except Exception as error:
            self._fail(error)

    def on_counts_loaded(self, message: CountsLoaded) -> None:
        """Update the sidebar; an empty base gets the first-run screen."""
        self.total_memories = message.total
        self.query_one("#sidebar", Sidebar).set_counts(message.counts)
        self.sub_title = f"{message.total:,} memories"
        self.set_class(message.total == 0, "-empty")

    def current_filters(self) -> Filters:
        """The filters the sidebar and the since/until boxes make."""
        if self.view == TIMELINE:
            types: tuple[MemoryType, ...] = (MemoryType.EPISODIC,)
        elif self.view == ALL:
            types = ()
        else:
            types = (MemoryType(self.view),)
        return Filters(types=types, since=self.since, until=self.until)

    def _show_listing(self) -> None:
        self.memories.show_listing(self.current_filters(), timeline=self.view == TIMELINE)
        self._update_info()

    def _update_info(self, note: str | None = None) -> None:
        info = Text(no_wrap=True, overflow="ellipsis")
        if note:
            info.append(note, style="bold")
        elif self.query_text:
            if self.searching and not self.memories.showing_hits:
                info.append(f"Searching for “{self.query_text}”…", style="italic")
            else:
                count = self.memories.total or 0
                info.append(
                    f"{count} result{'s' if count != 1 else ''} for “{self.query_text}”", style="bold"
                )
                if self.searching:
                    info.append(" · by keywords; refining…", style="italic")
        elif self.view == TIMELINE:
            info.append("Timeline: episodic memories by day, newest first", style="bold")
        else:
            info.append(
                "All memories" if self.view == ALL else f"{self.view.capitalize()} memories", style="bold"
            )
            info.append(", newest first")
        if self.view not in (ALL,) and self.query_text:
            info.append(f" · {self.view}")
        if self.since or self.until:
            info.append(f" · {(self.since or '…')[:10]} → {(self.until or 'now')[:10]}", style="dim")
        self.query_one("#list-info", Static).update(info)

    # -- search and filters -----------------------------------------------------------------

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value.strip()
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, lambda: self.run_search(same_text=True))
        self.search_serial += 1  # whatever is still on its way is for older text
        if self.query_text:
            # Keyword matches at once, on every keystroke; the hybrid search refines them when
            # typing pauses.
            self.searching = True
            filters = self.current_filters()
            self._quick_search(
                self.search_serial, self.query_text, tuple(filters.types), self.since, self.until
            )

    @on(Input.Submitted, "#search")
    def _search_submitted(self) -> None:
        focus_now(self.memories)

    @on(Input.Changed, "#since")
    @on(Input.Changed, "#until")
    def _filter_changed(self) -> None:
        # Read the boxes only once typing pauses: "202" on the way to "2024" is not a date.
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DEBOUNCE, self.run_search)

    def _read_time_filters(self) -> bool:
        """Take since/until from their boxes; False (and the box marked) when one is unreadable."""
        readable = True
        for box_id in ("since", "until"):
            box = self.query_one(f"#{box_id}", Input)
            text = box.value.strip()
            try:
                moment = read_date(text, end_of_day=box_id == "until") if text else None
            except SecondmeError:
                box.add_class("-invalid")
                self._update_info(
                    note=f"Cannot read the date “{text}” (try 2024-03-02, yesterday, 3 weeks ago)"
                )
                readable = False
                continue
            box.remove_class("-invalid")
            setattr(self, box_id, moment)
        return readable

    def run_search(self, same_text: bool = False) -> None:
        """Search for what the box holds (or go back to the listing when it is empty).

        ``same_text`` says nothing changed since the keyword results were asked for, so those
        may still be shown until the hybrid ones arrive.
        """
        if not self._read_time_filters():
            return
        if not same_text:
            self.search_serial += 1
        if not self.query_text:
            self.searching = False
            self._show_listing()
            return
        self.searching = True
        self._update_info()
        filters = self.current_filters()
        self._search(self.search_serial, self.query_text, tuple(filters.types), self.since, self.until)

    @work(thread=True, exclusive=True, group="search")
    def _search(
        self,
        serial: int,
        query: str,
        types: tuple[MemoryType, ...],
        since: str | None,
        until: str | None,
    ) -> None:
        started = time.perf_counter()
        try:
            hits = self.backend.search(query, types=types, since=since, until=until)
        except Exception as error:
            self._fail(error)
            return
        self.post_message(SearchDone(serial, query, hits, time.perf_counter() - started))

    @work(thread=True, exclusive=True, group="quick-search")
    def _quick_search(
        self,
        serial: int,
        query: str,
        types: tuple[MemoryType, ...],
        since: str | None,
        until: str | None,
    ) -> None:
        started = time.perf_counter()
        try:
            hits = self.backend.quick_search(query, types=types, since=since, until=until)
        except Exception:
            return  # the hybrid search follows and reports any problem
        self.post_message(SearchDone(serial, query, hits, time.perf_counter() - started, final=False))

    def on_search_done(self, message: SearchDone) -> None:
        """Show results, unless the user has typed more since (or better ones are shown)."""
        if message.serial != self.search_serial:
            return
        if not message.final and not self.searching:
            return  # the hybrid results for this query are already on screen
        self.searching = not message.final
        if message.final:
            self.last_search_seconds = message.seconds
        self.last_hits = message.hits
        focus_id = self._focus_after_search
        if not message.final and self.memories.showing_hits and self.memories.highlighted:
            focus_id = self.memories.highlighted.id  # keep the cursor where it is while refining
        self.memories.show_hits(message.hits, focus_id=focus_id)
        if message.final:
            self._focus_after_search = None
        self._update_info()

    def action_focus_search(self) -> None:
        """Put the cursor in the search box."""
        focus_now(self.query_one("#search", Input))

    def action_filters(self) -> None:
        """Put the cursor in the since box."""
        focus_now(self.query_one("#since", Input))

    @on(Sidebar.Chosen)
    def _view_chosen(self, event: Sidebar.Chosen) -> None:
        self.action_view(event.view)

    def action_view(self, view: str) -> None:
        """Show one type, everything, or the timeline."""
        if view not in VIEWS:
            return
        self.view = view
        self.query_one("#sidebar", Sidebar).select_view(view)
        if self.query_text:
            self.run_search()
        else:
            self._show_listing()

    def action_timeline(self) -> None:
        """Toggle the timeline of episodic memories."""
        self.action_view(ALL if self.view == TIMELINE else TIMELINE)

    # -- the detail pane --------------------------------------------------------------------

    @on(MemoryList.Highlighted)
    def _highlighted(self, event: MemoryList.Highlighted) -> None:
        self.selected_id = event.memory_id
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(DETAIL_DEBOUNCE, lambda: self._load_details(event.memory_id))

    @on(MemoryList.Opened)
    def _opened(self, event: MemoryList.Opened) -> None:
        self.open_memory(event.memory_id, focus=True)

    @on(DetailPane.OpenMemory)
    def _follow_link(self, event: DetailPane.OpenMemory) -> None:
        self.open_memory(event.memory_id)

    def open_memory(self, memory_id: int, focus: bool = False) -> None:
        """Show a memory in the detail pane (and put the list's cursor on it if it is listed)."""
        self.selected_id = memory_id
        self.memories.move_to_id(memory_id)
        if self.detail.memory is None or self.detail.memory.id != memory_id:
            self._load_details(memory_id)
        if focus:
            links = self.query_one("#detail-links", OptionList)
            if links.option_count:
                if links.highlighted is None:
                    links.highlighted = 0
                focus_now(links)
            else:
                focus_now(self.detail)

    @work(thread=True, exclusive=True, group="details")
    def _load_details(self, memory_id: int) -> None:
        try:
            details = self.backend.details(memory_id)
        except Exception as error:
            self._fail(error)
            return
        self.post_message(DetailsLoaded(details))

    @work(thread=True, exclusive=True, group="related")
    def _load_related(self, memory: Memory) -> None:
        try:
            hits = self.backend.related(memory)
        except Exception as error:
            self._fail(error)
            hits = []
        self.post_message(RelatedLoaded(memory.id, hits))

    def on_details_loaded(self, message: DetailsLoaded) -> None:
        """Show the memory unless the user moved on."""
        if message.details.memory.id == self.selected_id:
            self.detail.show(message.details)
            self._load_related(message.details.memory)  # slower (a search): it fills in later

    def on_related_loaded(self, message: RelatedLoaded) -> None:
        """Add related memories to the detail pane."""
        self.detail.show_related(message.memory_id, message.hits)

    # -- asking -----------------------------------------------------------------------------

    def action_ask(self) -> None:
        """Open the ask panel."""
        self.ask_panel.add_class("-open")
        focus_now(self.query_one("#question", Input))

    @on(AskPanel.Asked)
    def _asked(self, event: AskPanel.Asked) -> None:
        serial = self.ask_panel.start(thorough=event.thorough)
        self._ask(serial, event.question, event.thorough)

    @work(thread=True, exclusive=True, group="ask")
    def _ask(self, serial: int, question: str, thorough: bool) -> None:
        worker = get_current_worker()
        try:

            def on_token(piece: str) -> None:
                if worker.is_cancelled:
                    raise Cancelled  # a newer question replaced this one: stop generating
                self.post_message(AnswerToken(serial, piece))

            answer = self.backend.ask(question, on_token=on_token, thorough=thorough)
            cited = {h.memory.id: h.memory for h in answer.hits}
            missing = [i for i in answer.citations if i not in cited]
            for memory_id in missing:
                cited[memory_id] = self.backend.memory(memory_id)
        except Cancelled:
            return
        except Exception as error:
            problem = translate(error)
            self.post_message(AnswerFailed(serial, problem.message, problem.hint))
            return
        self.post_message(AnswerDone(serial, answer, cited))

    def on_answer_token(self, message: AnswerToken) -> None:
        """A piece of the answer."""
        self.ask_panel.add_token(message.serial, message.text)

    def on_answer_done(self, message: AnswerDone) -> None:
        """The whole answer, with citations to jump to."""
        self.ask_panel.finish(message.serial, message.answer, message.cited)

    def on_answer_failed(self, message: AnswerFailed) -> None:
        """No answer: say why and what fixes it."""
        self.ask_panel.fail(message.serial, message.message, message.hint)

    @on(AskPanel.CitationChosen)
    def _citation(self, event: AskPanel.CitationChosen) -> None:
        self.open_memory(event.memory_id)

    # -- actions on the selected memory -----------------------------------------------------

    def _act(self, purpose: str) -> None:
        if self.selected_id is None:
            self.notify("Pick a memory first.", severity="warning")
            return
        self._fetch(purpose, self.selected_id)

    @work(thread=True, exclusive=True, group="fetch")
    def _fetch(self, purpose: str, memory_id: int) -> None:
        try:
            self.post_message(MemoryFetched(purpose, self.backend.memory(memory_id)))
        except Exception as error:
            self._fail(error)

    def on_memory_fetched(self, message: MemoryFetched) -> None:
        """Open the dialog the action needs."""
        from secondme.tui.screens.modals import ConfirmScreen, EditScreen, TypeScreen

        memory = message.memory
        if message.purpose == "edit":
            self.push_screen(EditScreen(memory), lambda fields: self._edited(memory, fields))
        elif message.purpose == "forget":
            self.push_screen(
                ConfirmScreen(
                    f"Forget #{memory.id}?",
                    f"“{snippet(memory.text, 120)}”\n\nIt is removed for good: the database, the search "
                    "indexes and its edit history.",
                    confirm="Forget",
                    danger=True,
                ),
                lambda yes: self._confirmed("forget", memory, yes),
            )
        elif message.purpose == "pin":
            self._write("pin", memory.id)
        elif message.purpose == "type":
            self.push_screen(TypeScreen(memory), lambda kind: self._typed(memory, kind))
        elif message.purpose == "reveal":
            if memory.type is not MemoryType.VAULT:
                self.notify("Only vault memories have a value to reveal.", severity="warning")
                return
            self.push_screen(
                ConfirmScreen(
                    f"Reveal vault #{memory.id}?",
                    f"“{snippet(memory.text, 120)}”\n\nThe value shows for a few seconds, then hides again.",
                    confirm="Reveal",
                ),
                lambda yes: self._confirmed("reveal", memory, yes),
            )

    def _confirmed(self, what: str, memory: Memory, yes: bool | None) -> None:
        from secondme.tui.screens.modals import RevealScreen

        if not yes:
            return
        if what == "forget":
            self._write("forget", memory.id)
        elif what == "reveal":
            try:
                value = reveal_vault_value(memory)
            except SecondmeError as problem:
                self.notify(str(problem), severity="error")
                return
            self.push_screen(RevealScreen(memory, value))

    def _typed(self, memory: Memory, kind: MemoryType | None) -> None:
        if kind is not None:
            self._write("type", memory.id, kind)

    def _added(self, new: NewMemory | None) -> None:
        if new is not None:
            self._write("add", None, new)

    def _edited(self, memory: Memory, fields: dict[str, Any] | None) -> None:
        if fields:
            self._write("edit", memory.id, fields)
        elif fields is not None:
            self.notify("Nothing changed.")

    def action_add(self) -> None:
        """Open the add dialog."""
        from secondme.tui.screens.modals import AddScreen

        self.push_screen(AddScreen(), self._added)

    def action_edit(self) -> None:
        """Edit the selected memory."""
        self._act("edit")

    def action_forget(self) -> None:
        """Forget the selected memory (after confirming)."""
        self._act("forget")

    def action_pin(self) -> None:
        """Pin the selected memory to core."""
        self._act("pin")

    def action_change_type(self) -> None:
        """Change the selected memory's type."""
        self._act("type")

    def action_reveal(self) -> None:
        """Reveal a vault value (after confirming), hidden again after a few seconds."""
        self._act("reveal")

    @work(thread=True, exclusive=False, group="write")
    def _write(self, what: str, memory_id: int | None, payload: Any = None) -> None:
        try:
            if what == "add":
                assert isinstance(payload, NewMemory)
                memory, created = self.backend.add(payload)
                text = (
                    f"Remembered #{memory.id} ({memory.type.value})"
                    if created
                    else f"Already remembered #{memory.id}"
                )
                self.post_message(ActionDone(text, memory.id))
            elif what == "edit" and memory_id is not None:
                memory = self.backend.edit(memory_id, **payload)
                self.post_message(
                    ActionDone(f"Saved #{memory.id}; the old version is in its history", memory.id)
                )
            elif what == "forget" and memory_id is not None:
                removed = self.backend.forget(memory_id)
                text = f"Forgot #{memory_id}" if removed else f"#{memory_id} was already gone"
                self.post_message(ActionDone(text, None))
            elif what == "pin" and memory_id is not None:
                memory = self.backend.pin(memory_id)
                self.post_message(ActionDone(f"Pinned #{memory.id} to core as “{memory.label}”", memory.id))
            elif what == "type" and memory_id is not None:
                memory = self.backend.change_type(memory_id, payload)
                self.post_message(ActionDone(f"#{memory.id} is now {memory.type.value}", memory.id))
        except Exception as error:
            self._fail(error)

    def on_action_done(self, message: ActionDone) -> None:
        """Say what happened and bring every view up to date."""
        self.notify(message.text, markup=False)
        self.refresh_counts()
        if message.memory_id is None:
            self.detail.clear("Forgotten.")
            if self.selected_id is not None:
                self.memories.drop_row(self.selected_id)
            self.selected_id = None
        else:
            self.selected_id = message.memory_id
            self._load_details(message.memory_id)
        if self.query_text:
            self._focus_after_search = message.memory_id
            self.run_search()
        else:
            self.memories.reload(focus_id=message.memory_id)

    # -- everything else --------------------------------------------------------------------

    def _fail(self, error: BaseException) -> None:
        problem = translate(error)
        self.post_message(Failed(problem.message, problem.hint))

    def on_failed(self, message: Failed) -> None:
        """A worker failed: tell the user, keep going."""
        text = message.message + (f"\n{message.hint}" if message.hint else "")
        self.notify(text, title="Problem", severity="error", timeout=10, markup=False)
        if self.searching:
            self.searching = False
            self._update_info()

    def action_leave(self) -> None:
        """Close the ask panel, else clear the search, else go back to the list."""
        focused = self.focused
        if self.ask_panel.has_class("-open") and (
            focused is None or self.ask_panel in focused.ancestors_with_self
        ):
            self.ask_panel.remove_class("-open")
            focus_now(self.memories)
            return
        search = self.query_one("#search", Input)
        if focused is search and search.value:
            search.value = ""
            return
        focus_now(self.memories)

    def action_status(self) -> None:
        """Show the status screen."""
        from secondme.tui.screens.status import StatusScreen

        self.push_screen(StatusScreen(self.backend))

    def action_help(self) -> None:
        """Show every key."""
        from secondme.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def action_refresh(self) -> None:
        """Reload counts and the list (after `mem add` in another terminal, say)."""
        self.refresh_counts()
        if self.query_text:
            self.run_search()
        else:
            self.memories.reload()

    def action_toggle_theme(self) -> None:
        """Switch between the light and dark themes."""
        self.theme = themes.LIGHT if self.current_theme.dark else themes.DARK


def make_app(
    secondme: Secondme | None = None, llm: Any = None, theme: str = "auto", warm_up: bool = True
) -> SecondmeApp:
    """The TUI over a data home (the current one by default), with an optional preloaded model.

    ``theme`` is ``auto`` (follow the terminal), ``dark``, ``light``, ``ansi`` or a Textual theme
    name.  Tests pass ``warm_up=False`` to skip loading the embedder before it is needed.
    """
    name = themes.resolve(theme) if theme in themes.CHOICES else theme
    return SecondmeApp(Backend(secondme, llm=llm), theme=name, warm_up=warm_up)

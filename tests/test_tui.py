"""The TUI: every action through Pilot (checked in SQLite), and snapshots of the main screens."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from secondme import timeparse
from secondme.errors import NotFoundError
from secondme.memory import MemoryType, NewMemory
from secondme.service import Secondme

textual = pytest.importorskip("textual")

from textual.widgets import Input, OptionList, Static, TextArea  # noqa: E402

from secondme.tui import theme as themes  # noqa: E402
from secondme.tui.app import SecondmeApp, make_app  # noqa: E402
from secondme.tui.backend import Row, provenance, reveal_vault_value  # noqa: E402
from secondme.tui.keys import APP_BINDINGS, ASK_BINDINGS  # noqa: E402
from secondme.tui.screens import modals  # noqa: E402
from secondme.tui.screens.help import HelpScreen  # noqa: E402
from secondme.tui.screens.modals import AddScreen, ConfirmScreen, EditScreen, RevealScreen, TypeScreen  # noqa: E402
from secondme.tui.screens.status import StatusScreen  # noqa: E402
from secondme.tui.widgets.ask import renumber  # noqa: E402
from tests.conftest import BOOKS, PUP_CHAT, book_notes, chat_window  # noqa: E402

FROZEN = datetime(2024, 6, 1, 12, 0, 0)

DENTIST = "My dentist is Dr. Ana Costa, at Clinica Sorriso"
DINNER = "Dinner with Ana at Taberna da Rua; she talked about climbing"
CLIMB = "Climbing in Sintra with Ana and Pedro"
LEASE = "Lease contract: rent 1150 EUR, ends 2025-08-31"
OLD_JOB = "I work at Acme as a designer"
NEW_JOB = "I work at Globex as a product designer"


@pytest.fixture(autouse=True)
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recorded times are fixed, so screens (and snapshots) never show "now"."""
    monkeypatch.setattr(timeparse, "now", lambda: FROZEN)


@pytest.fixture(autouse=True)
def vault_passphrase(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's vault secret is encrypted under a passphrase (no keyring in tests)."""
    monkeypatch.setenv("SECONDME_VAULT_PASSPHRASE", "test passphrase")


BANK = "Bank app PIN is [vault:app-pin]"


def seed() -> Secondme:
    """A small, fixed memory base: every type, a chat with file and lines, a superseded fact."""
    app = Secondme()
    app.add_many(
        [
            NewMemory("My name is Rui and I live in Lisbon", type=MemoryType.CORE, label="name"),
            NewMemory(DENTIST, type=MemoryType.SEMANTIC, occurred_at="2024-01-10T09:00:00", tags=["health"]),
            NewMemory(
                DINNER,
                type=MemoryType.EPISODIC,
                occurred_at="2024-03-02T20:30:00",
                source_kind="chat",
                source_ref="chats/whatsapp-ana.txt#L12..L18",
                actor="Ana",
                tags=["ana", "whatsapp"],
            ),
            NewMemory(CLIMB, type=MemoryType.EPISODIC, occurred_at="2024-03-02T10:00:00"),
            NewMemory(
                LEASE,
                type=MemoryType.RESOURCE,
                occurred_at="2023-09-01T00:00:00",
                source_kind="note",
                source_ref="notes/home/lease.md#p2",
                path="notes/home/lease.md",
            ),
            NewMemory("Bank app PIN is 4921", type=MemoryType.VAULT, occurred_at="2023-05-05T00:00:00"),
        ]
    )
    old, _ = app.add(NewMemory(OLD_JOB, occurred_at="2022-01-01T00:00:00"))
    app.supersede(old.id, NewMemory(NEW_JOB, occurred_at="2024-02-01T00:00:00"))
    return app


def by_text(app: Secondme, text: str) -> int:
    """The id of the memory with this text (superseded and vault ones included)."""
    from secondme.store.memories import Filters

    everything = Filters(include_superseded=True, include_vault=True)
    return next(m.id for m in app.store.listing(everything, limit=10_000) if m.text == text)


async def settle(pilot: Any, app: SecondmeApp, rounds: int = 3) -> None:
    """Let timers fire and workers finish (debounces, pages, details, related memories)."""
    for _ in range(rounds):
        await pilot.pause(0.2)
        await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot: Any, condition: Any, timeout: float = 900.0) -> None:
    """Wait for a condition the UI reaches asynchronously (the limit only stops a hung test)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError("the TUI did not get there in time")
        await pilot.pause(0.1)
        waited += 0.1


async def select(pilot: Any, app: SecondmeApp, memory_id: int) -> None:
    """Put the list cursor on a memory and wait for the detail pane to show it."""
    assert app.memories.move_to_id(memory_id)
    await settle(pilot, app)
    assert app.detail.memory is not None and app.detail.memory.id == memory_id


class ScriptedLLM:
    """A stand-in model that streams a fixed reply (for exact citation and abstention checks)."""

    name = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    def chat(self, messages: list[dict[str, str]], max_tokens: int, stop: Any = None) -> Iterator[str]:
        for word in self.reply.split(" "):
            yield word + " "


def text_of(widget: Any) -> str:
    """What a Static shows, as plain text (its content rendered the way Rich would)."""
    import io

    from rich.console import Console

    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(content)
    return console.file.getvalue()


def notifications(app: SecondmeApp) -> list[str]:
    """Texts of the notifications shown so far."""
    return [n.message for n in app._notifications]


def rendered_rows(app: SecondmeApp) -> list[str]:
    """The list's visible lines as plain text."""
    lines = []
    for y in range(app.memories.scrollable_content_region.height):
        lines.append("".join(segment.text for segment in app.memories.render_line(y)).rstrip())
    return [line for line in lines if line]


# -- browsing ---------------------------------------------------------------------------------


async def test_first_screen_lists_newest_first_with_type_counts():
    app = make_app(secondme=seed(), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        rows = app.memories.loaded_rows()
        assert [r.text for r in rows][:3] == ["My name is Rui and I live in Lisbon", DINNER, CLIMB]
        assert OLD_JOB not in [r.text for r in rows]  # superseded: reachable from its successor
        assert "Bank app PIN" not in [r.text for r in rows]  # vault has its own view
        sidebar = app.query_one("#sidebar")
        assert sidebar.counts == {"core": 1, "episodic": 2, "semantic": 2, "resource": 1, "vault": 1}
        prompt = str(sidebar.get_option("vault").prompt)
        assert "values locked" in prompt
        assert app.detail.memory is not None and app.detail.memory.id == rows[0].id
        assert not app.has_class("-empty")


async def test_empty_base_shows_a_first_run_screen():
    app = make_app(theme="dark", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.has_class("-empty")
        welcome = text_of(app.query_one("#welcome", Static))
        assert "mem add" in welcome and "mem import" in welcome and "press n" in welcome
        assert "mem ingest" in welcome
        assert app.query_one("#welcome").display and not app.memories.display


async def test_open_shows_provenance_times_strength_and_related(home):
    base = seed()
    dinner = by_text(base, DINNER)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, dinner)
        facts = text_of(app.query_one("#detail-facts", Static))
        assert "chats/whatsapp-ana.txt" in facts and "lines 12-18" in facts
        assert "2024-03-02 20:30" in facts and "importance 0.50" in facts and "ana, whatsapp" in facts
        related = app.detail.related or []
        assert related and dinner not in [h.memory.id for h in related]
        # enter opens the links list; following the first link shows that memory
        app.memories.focus()
        await pilot.press("enter")
        await settle(pilot, app)
        links = app.query_one("#detail-links", OptionList)
        assert app.focused is links
        await pilot.press("enter")
        await settle(pilot, app)
        assert app.detail.memory is not None and app.detail.memory.id == related[0].memory.id


async def test_supersede_links_go_both_ways():
    base = seed()
    old, new = by_text(base, OLD_JOB), by_text(base, NEW_JOB)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, new)
        assert [m.id for m in app.detail.details.supersedes] == [old]
        links = app.query_one("#detail-links", OptionList)
        assert links.get_option(f"supersedes-{old}") is not None
        app.open_memory(old)
        await settle(pilot, app)
        assert app.detail.memory.id == old
        assert app.detail.details.superseded_by.id == new
        assert "valid" in text_of(app.query_one("#detail-facts", Static))


async def test_sidebar_type_filter_by_key_and_by_mouse():
    app = make_app(secondme=seed(), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("3")
        await settle(pilot, app)
        assert {r.type for r in app.memories.loaded_rows()} == {MemoryType.SEMANTIC}
        await pilot.press("5")
        await settle(pilot, app)
        assert [r.text for r in app.memories.loaded_rows()] == [BANK]
        # a click on "episodic" in the sidebar
        sidebar = app.query_one("#sidebar", OptionList)
        await pilot.click(sidebar, offset=(2, 2))
        await settle(pilot, app)
        assert app.view == "episodic"
        assert {r.type for r in app.memories.loaded_rows()} == {MemoryType.EPISODIC}
        # a click on the second row moves the cursor there
        await pilot.click(app.memories, offset=(5, 1))
        await settle(pilot, app)
        assert app.memories.cursor == 1 and app.detail.memory.text == CLIMB


async def test_search_as_you_type_then_clear():
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"dentist")
        await settle(pilot, app)
        assert app.memories.showing_hits
        assert app.memories.loaded_rows()[0].text == DENTIST
        assert app.last_search_seconds is not None
        assert "for “dentist”" in text_of(app.query_one("#list-info", Static))
        assert app.detail.memory.text == DENTIST
        await pilot.press("escape")  # clears the box, back to the listing
        await settle(pilot, app)
        assert not app.memories.showing_hits and len(app.memories.loaded_rows()) == 6


def type_ahead(app: SecondmeApp, keys: str) -> None:
    """Queue keystrokes all at once, the way a terminal delivers fast typing (Pilot waits between keys)."""
    from textual import events

    names = {"/": "slash", " ": "space", "?": "question_mark"}
    for char in keys:
        app.post_message(events.Key(names.get(char, char), char))


async def test_text_typed_right_after_slash_or_a_stays_in_order(monkeypatch):
    # The keys typed before "/" has moved the focus are in flight; the rest of the word arrives
    # the moment the focus moves (as in a busy real terminal).  All of it must land in order.
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    for action, rest in (("action_focus_search", "tist"), ("action_ask", " is my dentist")):
        original = getattr(SecondmeApp, action)

        def moved(self: SecondmeApp, original: Any = original, rest: str = rest) -> None:
            original(self)
            type_ahead(self, rest)

        monkeypatch.setattr(SecondmeApp, action, moved)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        type_ahead(app, "/den")
        await settle(pilot, app)
        assert app.query_one("#search", Input).value == "dentist"
        assert app.memories.loaded_rows()[0].text == DENTIST
        await pilot.press("enter")  # back to the list
        await settle(pilot, app)
        type_ahead(app, "aWho")
        await settle(pilot, app)
        assert app.ask_panel.has_class("-open")
        assert app.query_one("#question", Input).value == "Who is my dentist"


async def test_search_with_type_and_time_filters():
    app = make_app(secondme=seed(), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("2", "slash", *"ana")
        await settle(pilot, app)
        rows = app.memories.loaded_rows()
        assert rows and {r.type for r in rows} == {MemoryType.EPISODIC}
        await pilot.press("escape", "escape", "0", "f", *"2024-03-01")
        await settle(pilot, app)
        assert app.since == "2024-03-01T00:00:00"
        assert all(r.when >= "2024-03-01" for r in app.memories.loaded_rows())
        await pilot.press("tab", *"2024-03-02")  # until: the whole day counts
        await settle(pilot, app)
        assert app.until == "2024-03-02T23:59:59"
        assert {r.text for r in app.memories.loaded_rows()} == {DINNER, CLIMB}
        await pilot.press("backspace", "x")
        await settle(pilot, app)
        assert app.query_one("#until", Input).has_class("-invalid")


async def test_timeline_groups_episodic_memories_by_day():
    base = seed()
    base.add(NewMemory("Coffee with Pedro", type=MemoryType.EPISODIC, occurred_at="2024-02-20T08:00:00"))
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("l")
        await settle(pilot, app)
        assert app.view == "timeline"
        lines = rendered_rows(app)
        assert lines[0].startswith("2024-03-02 │ 20:30")
        assert lines[1].startswith("           │ 10:00")  # same day: no second date
        assert lines[2].startswith("2024-02-20 │ 08:00")


async def test_large_base_is_paged_not_loaded_whole():
    base = Secondme()
    # Straight into SQLite: the list needs no vectors, and this keeps the test quick.
    base.store.add_many(
        [
            NewMemory(
                f"note number {i}", occurred_at=f"2023-{1 + i % 12:02d}-{1 + i % 28:02d}T00:00:{i % 60:02d}"
            )
            for i in range(2500)
        ],
        dedupe=False,
    )
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.memories.total == 2500
        assert len(app.memories.loaded_rows()) == 100  # one page
        await pilot.press("end")
        await settle(pilot, app)
        assert app.memories.cursor == 2499
        assert len(app.memories.loaded_rows()) <= 300
        # the far end is read oldest-first and reversed: same rows, same order as an offset read
        expected = [m.id for m in base.store.listing(limit=100, offset=2400)]
        assert [app.memories.row_at(i).id for i in range(2400, 2500)] == expected
        await pilot.press("pageup", "pageup", "home")
        await settle(pilot, app)
        assert app.memories.cursor == 0


# -- actions ----------------------------------------------------------------------------------


async def test_add_from_the_modal_stores_the_memory():
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, AddScreen)
        app.screen.query_one("#text", TextArea).text = "Ana's birthday dinner at Cervejaria Ramiro"
        app.screen.query_one("#when", Input).value = "2024-05-04 20:00"
        app.screen.query_one("#tags", Input).value = "ana, birthday"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        memory = base.store.get(by_text(base, "Ana's birthday dinner at Cervejaria Ramiro"))
        assert memory.type is MemoryType.EPISODIC  # guessed: it has a time
        assert memory.occurred_at == "2024-05-04T20:00:00" and memory.tags == ["ana", "birthday"]
        assert memory.source_kind == "tui"
        assert app.detail.memory.id == memory.id
        assert app.query_one("#sidebar").counts["episodic"] == 3
        assert any("Remembered" in n for n in notifications(app))


async def test_add_refuses_a_secret_and_an_empty_text():
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "text first" in text_of(app.screen.query_one("#error", Static))
        app.screen.query_one("#text", TextArea).text = "my password is hunter2"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "secret" in text_of(app.screen.query_one("#error", Static))
        await pilot.press("escape")
        await settle(pilot, app)
        assert base.store.count() == 7


async def test_add_into_an_empty_base_leaves_the_first_run_screen():
    base = Secondme()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.has_class("-empty")
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#text", TextArea).text = "The spare key is under the blue pot"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        assert not app.has_class("-empty")
        assert [r.text for r in app.memories.loaded_rows()] == ["The spare key is under the blue pot"]


async def test_edit_in_a_text_area_keeps_history():
    base = seed()
    dentist = by_text(base, DENTIST)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, dentist)
        await pilot.press("e")
        await settle(pilot, app)
        assert isinstance(app.screen, EditScreen)
        area = app.screen.query_one("#text", TextArea)
        assert area.text == DENTIST
        area.text = "My dentist is Dr. Ana Costa, now at Clinica Lumiar"
        await pilot.press("ctrl+s")
        await settle(pilot, app)
        memory = base.store.get(dentist)
        assert memory.text == "My dentist is Dr. Ana Costa, now at Clinica Lumiar"
        history = base.store.history(dentist)
        assert [h["snapshot"]["text"] for h in history] == [DENTIST]
        assert app.detail.memory.text == memory.text
        assert "1 earlier version" in text_of(app.query_one("#detail-facts", Static))
        assert any(r.text == memory.text for r in app.memories.loaded_rows())


async def test_forget_asks_first_and_cancel_keeps_the_memory():
    base = seed()
    lease = by_text(base, LEASE)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, lease)
        await pilot.press("d")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await settle(pilot, app)
        assert base.store.get(lease).text == LEASE
        await pilot.press("d")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        with pytest.raises(NotFoundError):
            base.store.get(lease)
        assert LEASE not in [r.text for r in app.memories.loaded_rows()]
        assert app.query_one("#sidebar").counts["resource"] == 0
        assert app.detail.memory is not None and app.detail.memory.id != lease  # the next one in line


async def test_forget_from_search_results():
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("slash", *"lease contract", "enter")
        await settle(pilot, app)
        assert app.memories.highlighted.text == LEASE
        await pilot.press("d")
        await settle(pilot, app)
        await pilot.press("y")
        await settle(pilot, app)
        assert LEASE not in [m.text for m in base.store.listing(limit=100)]
        assert LEASE not in [r.text for r in app.memories.loaded_rows()]


async def test_pin_to_core():
    base = seed()
    dentist = by_text(base, DENTIST)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, dentist)
        await pilot.press("p")
        await settle(pilot, app)
        memory = base.store.get(dentist)
        assert memory.type is MemoryType.CORE and memory.label == "my-dentist-is"
        assert dentist in [m.id for m in base.store.core()]
        assert base.store.history(dentist)[-1]["snapshot"]["type"] == "semantic"
        assert app.query_one("#sidebar").counts["core"] == 2


async def test_change_type():
    base = seed()
    climb = by_text(base, CLIMB)
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, climb)
        await pilot.press("t")
        await settle(pilot, app)
        assert isinstance(app.screen, TypeScreen)
        await pilot.press("down", "enter")  # episodic -> semantic
        await settle(pilot, app)
        assert base.store.get(climb).type is MemoryType.SEMANTIC
        assert app.detail.memory.type is MemoryType.SEMANTIC


async def test_reveal_vault_confirms_then_hides_again(monkeypatch):
    monkeypatch.setattr(modals, "REVEAL_SECONDS", 1)
    base = seed()
    with_value = base.vault_add("gym-locker", "4471", caption="Gym locker code")
    assert reveal_vault_value(with_value) == "4471"
    assert reveal_vault_value(base.store.get(by_text(base, BANK))) == "4921"
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("5")
        await settle(pilot, app)
        await select(pilot, app, with_value.id)
        await pilot.press("v")
        await settle(pilot, app)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        # Decrypting takes its time on a slow machine: wait for the screen, not for a clock.
        await until(pilot, lambda: isinstance(app.screen, RevealScreen))
        assert "4471" in text_of(app.screen.query_one("#secret", Static))
        await until(pilot, lambda: not isinstance(app.screen, RevealScreen))  # hidden again by itself
        # an entry removed from the vault says so (shown long enough to be read here)
        monkeypatch.setattr(modals, "REVEAL_SECONDS", 600)
        base.vault.remove("app-pin")
        await select(pilot, app, by_text(base, BANK))
        await pilot.press("v")
        await settle(pilot, app)
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, RevealScreen))
        assert "No secret value is stored" in text_of(app.screen.query_one("#secret", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RevealScreen)


async def test_reveal_is_refused_for_other_types():
    app = make_app(secondme=seed(), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("v")
        await settle(pilot, app)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("Only vault memories" in n for n in notifications(app))


# -- asking -----------------------------------------------------------------------------------


async def test_ask_streams_an_answer_from_the_tiny_model(tiny_llm):
    base = seed()
    app = make_app(secondme=base, llm=tiny_llm, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a")
        assert app.ask_panel.has_class("-open") and isinstance(app.focused, Input)
        await pilot.press(*"Who is my dentist?", "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        panel = app.ask_panel
        assert panel.streamed.strip() and panel.answer.model == "smollm2-135m"
        # What streamed is the model's own words; the panel then shows them as checked.
        assert panel.answer.draft == panel.streamed.strip()
        assert DENTIST in [h.memory.text for h in panel.answer.hits]
        citations = app.query_one("#citations", OptionList)
        assert citations.option_count == len(panel.citations)
        for memory_id in panel.citations:  # what was cited was counted as used, in SQLite
            assert base.store.get(memory_id).access_count == 1
        if panel.citations:
            citations.focus()
            await pilot.press("enter")
            await settle(pilot, app)
            assert app.detail.memory.id == panel.citations[0]


async def test_citations_are_numbered_and_jump_to_the_memory():
    base = seed()
    dentist = by_text(base, DENTIST)
    llm = ScriptedLLM(f"Your dentist is Dr. Ana Costa [{dentist}].")
    app = make_app(secondme=base, llm=llm, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *"Who is my dentist?", "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        await settle(pilot, app)
        answer = text_of(app.query_one("#answer", Static))
        assert "Dr. Ana Costa [1]." in answer
        citations = app.query_one("#citations", OptionList)
        assert citations.option_count == 1
        assert "[1]" in str(citations.get_option_at_index(0).prompt)
        await pilot.click(citations, offset=(3, 0))
        await settle(pilot, app)
        assert app.detail.memory.id == dentist
        assert app.memories.highlighted.id == dentist
        assert base.store.get(dentist).access_count == 1
        await pilot.press("escape")  # the list has the focus: the panel stays until closed from it
        app.query_one("#question").focus()
        await pilot.press("escape")
        assert not app.ask_panel.has_class("-open")


async def test_a_new_question_replaces_the_answer_being_written():
    class SlowLLM(ScriptedLLM):
        def chat(self, messages: list[dict[str, str]], max_tokens: int, stop: Any = None) -> Iterator[str]:
            question = messages[-1]["content"].rsplit("Question:", 1)[-1].strip()
            for word in [question, *["more"] * 200]:
                time.sleep(0.01)
                yield word + " "

    app = make_app(secondme=seed(), llm=SlowLLM(""), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app, rounds=1)
        await pilot.press("a", *"first dentist?", "enter")
        await until(pilot, lambda: "first" in app.ask_panel.streamed)
        question = app.query_one("#question", Input)
        question.value = "second dentist?"
        await pilot.press("enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        assert app.ask_panel.answer.question == "second dentist?"
        assert app.ask_panel.streamed.startswith("second dentist?")


async def test_an_abstention_is_shown_as_such():
    llm = ScriptedLLM("I don't know.")
    app = make_app(secondme=seed(), llm=llm, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *"What is my blood type?", "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        assert app.ask_panel.answer.abstained and app.ask_panel.has_class("-abstained")
        assert "your memories do not say" in text_of(app.query_one("#answer", Static))
        assert app.query_one("#citations", OptionList).option_count == 0


@pytest.mark.parametrize(("logprob", "unsure"), [(-2.5, True), (-0.2, False)])
async def test_an_answer_the_model_hesitated_over_is_marked_unsure(logprob, unsure):
    class HesitantLLM(ScriptedLLM):
        scores_tokens = True

        def chat(self, messages, max_tokens, stop=None, logprobs=None):
            for word in self.reply.split(" "):
                if logprobs is not None:
                    logprobs.append((word + " ", logprob if word == "Costa" else -0.01))
                yield word + " "

    base = seed()
    dentist = by_text(base, DENTIST)
    app = make_app(secondme=base, llm=HesitantLLM(f"Dr. Ana Costa [{dentist}]."), theme="dark", warm_up=False)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *"Who is my dentist?", "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        shown = text_of(app.query_one("#answer", Static))
        assert "Dr. Ana Costa [1]." in shown
        assert app.ask_panel.answer.unsure is unsure
        assert ("(unsure: the model hesitated over this answer" in shown) is unsure
        # An unsure answer points to the key that asks again with more of the memories.
        assert ("ctrl+r asks again, reading more of your memories" in shown) is unsure
        first = app.ask_panel.answer
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.ask_panel.answer not in (None, first))
        shown = text_of(app.query_one("#answer", Static))
        assert app.ask_panel.answer.question == "Who is my dentist?" and app.ask_panel.thorough
        assert app.ask_panel.answer.unsure is unsure and "read thoroughly" in shown
        assert "ctrl+r asks again" not in shown  # asked thoroughly already


async def test_ctrl_r_asks_the_question_again_reading_more_of_the_memories():
    class RecordingLLM(ScriptedLLM):
        def __init__(self, reply: str) -> None:
            super().__init__(reply)
            self.prompts: list[str] = []

        def chat(self, messages: list[dict[str, str]], max_tokens: int, stop: Any = None) -> Iterator[str]:
            self.prompts.append(messages[-1]["content"])
            yield from super().chat(messages, max_tokens, stop)

    base = seed()
    base.add_many(book_notes())
    llm = RecordingLLM("I don't know.")
    app = make_app(secondme=base, llm=llm, theme="dark", warm_up=False)

    def titles(prompt: str) -> set[str]:
        return {title for title in BOOKS if title in prompt}

    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *"Which book did I read on the train?", "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        usual = app.ask_panel.answer
        assert not app.ask_panel.thorough
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.ask_panel.answer not in (None, usual))
        assert app.ask_panel.thorough and app.ask_panel.answer.question == usual.question
        # The thorough prompt quotes every book; the usual one only some.
        assert len(llm.prompts) == 2
        assert len(titles(llm.prompts[1])) == len(BOOKS) > len(titles(llm.prompts[0])) >= 1
        # Enter asks as usual again.
        await pilot.press("enter")
        await until(pilot, lambda: len(llm.prompts) == 3 and app.ask_panel.answer is not None)
        assert not app.ask_panel.thorough and llm.prompts[2] == llm.prompts[0]


@pytest.mark.parametrize(
    ("chat", "speakers", "model_says", "question", "reason", "model_said"),
    [
        # Declined after the model: its words came from what Pedro said of himself.
        (
            "Pedro: I ran a charity race and realised that self-care really matters\nAna: Well done!",
            ["Pedro", "Ana"],
            "Ana realised that self-care really matters [1].",
            "What did Ana realise after the race?",
            "your memories say that of Pedro, not Ana",
            "(the model said: Ana realised that self-care really matters [1].)",
        ),
        # Declined before the model: the memories tell of a pup, never of a kitten.
        (
            PUP_CHAT,
            ["Maria", "John"],
            "Coco [1].",
            "What is the name of Maria's kitten?",
            'your memories mention "pup", not "kitten"',
            None,
        ),
    ],
)
async def test_a_declined_answer_says_why(chat, speakers, model_says, question, reason, model_said):
    base = Secondme()
    base.add(chat_window(chat, speakers))
    app = make_app(secondme=base, llm=ScriptedLLM(model_says), theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *question, "enter")
        await until(pilot, lambda: app.ask_panel.answer is not None)
        assert app.ask_panel.answer.abstained and app.ask_panel.has_class("-abstained")
        shown = text_of(app.query_one("#answer", Static))
        assert reason in shown
        if model_said:
            assert model_said in shown
        else:
            assert "the model said" not in shown
        assert app.query_one("#citations", OptionList).option_count == 0


async def test_missing_model_says_what_fixes_it_and_browsing_still_works(monkeypatch, tmp_path):
    monkeypatch.setenv("SECONDME_LLM_MODEL_PATH", str(tmp_path / "no-such-model.gguf"))
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await pilot.press("a", *"Who is my dentist?", "enter")
        await until(pilot, lambda: app.ask_panel.has_class("-failed"))
        text = text_of(app.query_one("#answer", Static))
        assert "does not exist" in text and "fix llm.model_path" in text
        await pilot.press("escape", "3")
        await settle(pilot, app)
        assert {r.type for r in app.memories.loaded_rows()} == {MemoryType.SEMANTIC}
        assert base.store.count() == 7


# -- bad conditions, status, help, theme -------------------------------------------------------


async def test_a_database_locked_by_another_writer_gives_a_message_not_a_crash():
    base = seed()
    dentist = by_text(base, DENTIST)
    base.store.conn.execute("PRAGMA busy_timeout = 200")  # fail fast instead of waiting 15 s
    app = make_app(secondme=base, theme="dark", warm_up=False)
    other = sqlite3.connect(str(base.db_path), isolation_level=None)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot, app)
        await select(pilot, app, dentist)
        other.execute("BEGIN IMMEDIATE")  # a watcher in the middle of a write
        try:
            await pilot.press("p")
            await settle(pilot, app)
            assert any("locked by another process" in n for n in notifications(app))
            assert base.store.get(dentist).type is MemoryType.SEMANTIC
            await pilot.press("down")  # still browsing
            await settle(pilot, app)
            assert app.is_running and app.detail.memory.id != dentist
        finally:
            other.execute("ROLLBACK")
            other.close()
        await select(pilot, app, dentist)
        await pilot.press("p")
        await settle(pilot, app)
        assert base.store.get(dentist).type is MemoryType.CORE


async def test_status_screen_shows_folders_models_ingest_and_index_health(home):
    (home).mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('[[watch]]\npath = "/data/notes"\nkind = "notes"\n')
    base = seed()
    app = make_app(secondme=base, theme="dark", warm_up=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("s")
        await settle(pilot, app)
        screen = app.screen
        assert isinstance(screen, StatusScreen)
        await until(pilot, lambda: screen.report is not None and screen.doctor is not None)
        text = text_of(screen.query_one("#status-report", Static))
        assert "/data/notes (notes)" in text
        assert "qwen2.5-coder-1.5b" in text and "all-minilm-l6-v2-int8" in text
        assert "not running" in text and "0 waiting" in text
        assert "not available yet" in text  # the mind is not built
        assert screen.doctor.healthy
        assert "agrees with the database" in text_of(screen.query_one("#status-doctor", Static))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StatusScreen)


async def test_help_lists_every_binding_and_the_footer_shows_the_main_ones():
    app = make_app(secondme=seed(), theme="dark", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        shown = {b.action for b in APP_BINDINGS if b.show}
        assert {"focus_search", "ask", "add", "edit", "forget", "pin", "help", "quit"} <= shown
        assert all(b.description and b.tooltip for b in APP_BINDINGS)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        from secondme.tui.screens.help import keys_table

        cells = [str(c) for column in keys_table().columns for c in column._cells]
        for binding in APP_BINDINGS:
            assert binding.tooltip in cells
        lowered = [cell.lower() for cell in cells]
        for binding in ASK_BINDINGS:  # the ask panel's keys, in their own section
            assert binding.key in cells and binding.tooltip.lower() in lowered
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_theme_toggles_between_light_and_dark():
    app = make_app(secondme=seed(), theme="light", warm_up=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot, app)
        assert app.theme == themes.LIGHT
        await pilot.press("ctrl+t")
        assert app.theme == themes.DARK


@pytest.mark.parametrize(
    ("value", "light"), [("15;0", False), ("0;15", True), ("0;default;7", True), ("", None), ("x", None)]
)
def test_colorfgbg_tells_light_from_dark(value, light):
    assert themes.from_colorfgbg(value) is light


def test_osc11_reply_tells_light_from_dark():
    assert themes.from_osc11(b"\x1b]11;rgb:ffff/ffff/ffff\x1b\\") is True
    assert themes.from_osc11(b"\x1b]11;rgb:1e1e/1e1e/2e2e\x07") is False
    assert themes.from_osc11(b"garbage") is None


def test_auto_theme_follows_colorfgbg(monkeypatch):
    monkeypatch.setenv("COLORFGBG", "0;15")
    assert themes.resolve("auto") == themes.LIGHT
    monkeypatch.setenv("COLORFGBG", "15;0")
    assert themes.resolve("auto") == themes.DARK
    assert themes.resolve("light") == themes.LIGHT


def test_quick_search_is_keyword_only_and_filtered():
    base = seed()
    backend = make_app(secondme=base, warm_up=False).backend
    hits = backend.quick_search("dentist")
    assert [h.memory.text for h in hits] == [DENTIST] and hits[0].vector_rank is None
    assert backend.quick_search("ana", types=(MemoryType.EPISODIC,))
    assert all(
        h.memory.type is MemoryType.EPISODIC
        for h in backend.quick_search("ana", types=(MemoryType.EPISODIC,))
    )
    assert backend.quick_search("dentist", since="2024-02-01T00:00:00") == []


def test_rows_and_provenance_read_like_people_write():
    base = seed()
    dinner = base.store.get(by_text(base, DINNER))
    assert Row.of(dinner).source == "whatsapp-ana.txt"
    assert ("at", "lines 12-18") in provenance(dinner)
    lease = base.store.get(by_text(base, LEASE))
    assert ("at", "paragraph 2") in provenance(lease)
    assert renumber("A [12] and B [3, 12] and C [99]", [12, 3]) == "A [1] and B [2, 1] and C [99]"


def test_mem_tui_is_a_command(home):
    from tests.conftest import run_mem

    result = run_mem("tui", "--help")
    assert result.returncode == 0 and "--theme" in result.stdout
    bad = run_mem("tui", "--theme", "purple")
    assert bad.returncode == 2 and "unknown theme" in bad.stderr


# -- snapshots of the main screens (layout only; behaviour is tested above) --------------------

SIZES = [(80, 24), (120, 40)]


def snapshot_app(llm: Any = None) -> SecondmeApp:
    """The seeded app as the snapshots show it (dark theme, no embedder warm-up)."""
    return make_app(secondme=seed(), llm=llm, theme="dark", warm_up=False)


def settled(*keys: str, wait_answer: bool = False) -> Any:
    """A ``run_before`` that presses keys and waits for the screen to be complete."""

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        for box in app.query(Input):
            box.cursor_blink = False  # a blinking cursor would make snapshots flaky
        await settle(pilot, app)
        for key in keys:
            await pilot.press(key)
            await settle(pilot, app, rounds=1)
        if wait_answer:
            await until(pilot, lambda: app.ask_panel.answer is not None)
        await settle(pilot, app)

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_browse(snap_compare, size):
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=settled("down"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_search(snap_compare, size):
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=settled("slash", *"dentist", "enter"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_timeline(snap_compare, size):
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=settled("l"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_ask(snap_compare, size):
    llm = ScriptedLLM("Your dentist is Dr. Ana Costa [2], at Clinica Sorriso.")
    keys = ("a", *"Who is my dentist?", "enter")
    assert snap_compare(snapshot_app(llm), terminal_size=size, run_before=settled(*keys, wait_answer=True))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_help(snap_compare, size):
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=settled("question_mark"))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_snapshot_first_run(snap_compare, size):
    app = make_app(secondme=Secondme(), theme="dark", warm_up=False)
    assert snap_compare(app, terminal_size=size, run_before=settled())

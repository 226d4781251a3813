"""The detail pane: one memory in full, where it came from, when it holds, and what it links to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from secondme.memory import Memory, MemoryType
from secondme.textsplit import snippet
from secondme.tui.backend import Details, provenance, vault_value_stored

if TYPE_CHECKING:
    from secondme.retrieve import Hit


def _when(value: str | None) -> str:
    return (value or "").replace("T", " ")[:16]


def facts_table(memory: Memory, history: list[dict[str, object]]) -> Table:
    """The memory's fields as a two-column grid (label, value); empty fields are left out."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    rows: list[tuple[str, str | None]] = [
        ("happened", _when(memory.occurred_at) or "unknown"),
        ("recorded", _when(memory.recorded_at)),
        ("edited", _when(memory.updated_at)),
    ]
    if memory.valid_to or (memory.valid_from and memory.valid_from != memory.occurred_at):
        validity = f"{_when(memory.valid_from) or '…'} → {_when(memory.valid_to) or 'now'}"
        rows.append(("valid", validity))
    rows += provenance(memory)
    rows += [
        ("label", memory.label),
        ("title", memory.title),
        ("subject", memory.subject),
        ("actor", memory.actor),
        ("tags", ", ".join(memory.tags) if memory.tags else None),
    ]
    used = f"used {memory.access_count} time{'s' if memory.access_count != 1 else ''}"
    if memory.last_accessed_at:
        used += f", last {_when(memory.last_accessed_at)}"
    rows.append(("strength", f"importance {memory.importance:.2f} · {used}"))
    if history:
        last = history[-1]
        rows.append(
            (
                "history",
                f"{len(history)} earlier version(s), last {last['change']} {_when(str(last['changed_at']))}",
            )
        )
    for label, value in rows:
        if value not in (None, ""):
            grid.add_row(label, value)
    return grid


class DetailPane(VerticalScroll):
    """Everything about the highlighted memory."""

    class OpenMemory(Message):
        """The user chose a linked memory (supersede link or related)."""

        def __init__(self, memory_id: int) -> None:
            super().__init__()
            self.memory_id = memory_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.details: Details | None = None
        self.related: list[Hit] | None = None

    @property
    def memory(self) -> Memory | None:
        """The memory shown, if any."""
        return self.details.memory if self.details else None

    def compose(self) -> ComposeResult:
        """Head, text, facts, then the links list (keyboard and mouse can follow links)."""
        yield Static("Pick a memory to see it here.", id="detail-head")
        yield Static("", id="detail-text")
        yield Static("", id="detail-facts")
        yield Static("", id="detail-links-title")
        yield OptionList(id="detail-links", compact=True)

    def show(self, details: Details) -> None:
        """Show a memory; related memories arrive later through :meth:`show_related`."""
        self.details = details
        self.related = None
        memory = details.memory
        head = Text(no_wrap=True, overflow="ellipsis")
        # Spaces end the span before them: SVG exports squeeze a span's leading spaces.
        head.append(f"#{memory.id} ", style="bold")
        head.append(memory.type.value + "  ", style=f"bold {_type_colour(memory.type)}")
        name = memory.title or memory.label
        if name:
            head.append(name + "  ", style="italic")
        if memory.superseded_by is not None:
            head.append("(superseded)", style="dim")
        self.query_one("#detail-head", Static).update(head)
        body: Text | Group = Text(memory.text)
        if memory.type is MemoryType.VAULT:
            stored = vault_value_stored(memory)
            note = (
                "Value hidden (locked). Press v to reveal it for a few seconds."
                if stored
                else "Locked: no value is stored for this entry (it was removed from the vault)."
            )
            body = Group(Text(memory.text), Text(note, style="dim italic"))
        self.query_one("#detail-text", Static).update(body)
        self.query_one("#detail-facts", Static).update(facts_table(memory, details.history))
        self._fill_links()
        self.scroll_home(animate=False)

    def show_related(self, memory_id: int, hits: list[Hit]) -> None:
        """Add related memories, if they belong to the memory still shown."""
        if self.memory is None or self.memory.id != memory_id:
            return
        self.related = hits
        self._fill_links()

    def clear(self, text: str = "Pick a memory to see it here.") -> None:
        """Show nothing (e.g. after the memory was forgotten)."""
        self.details = None
        self.related = None
        self.query_one("#detail-head", Static).update(text)
        for name in ("#detail-text", "#detail-facts", "#detail-links-title"):
            self.query_one(name, Static).update("")
        self.query_one("#detail-links", OptionList).clear_options()

    def _fill_links(self) -> None:
        links = self.query_one("#detail-links", OptionList)
        kept = links.highlighted
        links.clear_options()
        if self.details is None:
            return
        options: list[Option] = []
        if self.details.superseded_by is not None:
            newer = self.details.superseded_by
            options.append(_link("superseded by", newer))
        for older in self.details.supersedes:
            options.append(_link("supersedes", older))
        if self.related is None and self.details.memory.type is not MemoryType.VAULT:
            options.append(Option(Text("related: looking…", style="dim"), disabled=True))
        for hit in self.related or []:
            options.append(_link("related", hit.memory))
        links.add_options(options)
        enabled = [i for i, option in enumerate(options) if not option.disabled]
        if enabled and (kept is not None or links.has_focus):
            # Keep the user's place when related memories arrive after the supersede links.
            links.highlighted = min(kept or 0, enabled[-1]) if kept in enabled else enabled[0]
        title = self.query_one("#detail-links-title", Static)
        title.update(Text("Links (enter opens)", style="bold") if options else "")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Follow a link."""
        event.stop()
        if event.option.id:
            self.post_message(self.OpenMemory(int(event.option.id.rsplit("-", 1)[1])))


def _link(kind: str, memory: Memory) -> Option:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{kind} ", style="dim")
    text.append(f"#{memory.id} ", style="bold")
    text.append(snippet(memory.text, 60))
    return Option(text, id=f"{kind.replace(' ', '_')}-{memory.id}")


def _type_colour(kind: MemoryType) -> str:
    # Plain ANSI names: they read on light and dark themes alike.
    return {
        MemoryType.CORE: "magenta",
        MemoryType.EPISODIC: "cyan",
        MemoryType.SEMANTIC: "green",
        MemoryType.RESOURCE: "blue",
        MemoryType.VAULT: "yellow",
    }[kind]

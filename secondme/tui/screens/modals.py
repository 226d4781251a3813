"""Modal dialogs: add, edit, change type, confirm, and the vault reveal that hides itself again."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, OptionList, Select, Static, TextArea
from textual.widgets.option_list import Option

from secondme.errors import SecondmeError
from secondme.memory import Memory, MemoryType, NewMemory

AUTO = "auto"
REVEAL_SECONDS = 15
"""How long a revealed vault value stays on screen."""


def _tags(text: str) -> list[str]:
    return sorted({t.strip() for t in text.replace(";", ",").split(",") if t.strip()})


def _when(text: str) -> str | None:
    from secondme import timeparse

    return timeparse.iso(timeparse.parse_when(text)) if text.strip() else None


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing something that cannot be undone."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "answer(False)", "Cancel"),
        Binding("y", "answer(True)", "Yes"),
    ]

    def __init__(self, title: str, body: str, confirm: str = "Yes", danger: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.confirm = confirm
        self.danger = danger

    def compose(self) -> ComposeResult:
        """Title, explanation, the two buttons."""
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(Text(self.body), classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (n)", id="no")
                yield Button(f"{self.confirm} (y)", id="yes", variant="error" if self.danger else "primary")

    def on_mount(self) -> None:
        """Focus Cancel, so a stray enter does nothing harmful."""
        self.query_one("#no", Button).focus()

    def action_answer(self, value: bool) -> None:
        """Close with the answer."""
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class AddScreen(ModalScreen[NewMemory | None]):
    """A form for a new memory: text, type (or guessed), when, tags, label."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def compose(self) -> ComposeResult:
        """The form."""
        types = [("guess from the text", AUTO)] + [(t.value, t.value) for t in MemoryType]
        with Vertical(classes="dialog -wide"):
            yield Label("New memory", classes="dialog-title")
            yield TextArea(id="text", soft_wrap=True, show_line_numbers=False)
            with Horizontal(classes="form-row"):
                yield Select(types, value=AUTO, allow_blank=False, id="type", compact=True)
                yield Input(placeholder="when (e.g. yesterday, 2024-03-02)", id="when", compact=True)
            with Horizontal(classes="form-row"):
                yield Input(placeholder="tags, comma separated", id="tags", compact=True)
                yield Input(placeholder="label (core memories)", id="label", compact=True)
            yield Static("", classes="dialog-error", id="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        """Start typing the text at once."""
        self.query_one("#text", TextArea).focus()

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Check the form and hand the draft back (the app stores it in a worker)."""
        from secondme.classify import classify

        text = self.query_one("#text", TextArea).text
        error = self.query_one("#error", Static)
        if not text.strip():
            error.update("Write the memory's text first.")
            return
        try:
            occurred = _when(self.query_one("#when", Input).value)
        except SecondmeError as problem:
            error.update(f"{problem.message} ({problem.hint})" if problem.hint else problem.message)
            return
        chosen = self.query_one("#type", Select).value
        if chosen == AUTO:
            kind = classify(text, has_time=occurred is not None)
            if kind is MemoryType.VAULT:
                error.update(
                    "This looks like a secret, so it is not stored in plain text. "
                    "Choose the vault type to keep it encrypted, or pick another type."
                )
                return
        else:
            kind = MemoryType.parse(str(chosen))
        label = self.query_one("#label", Input).value.strip() or None
        self.dismiss(
            NewMemory(
                text=text,
                type=kind,
                occurred_at=occurred,
                tags=_tags(self.query_one("#tags", Input).value),
                source_kind="tui",
                label=label,
            )
        )

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class EditScreen(ModalScreen[dict[str, Any] | None]):
    """Edit a memory's text, time and tags; the store keeps the previous version."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, memory: Memory) -> None:
        super().__init__()
        self.memory = memory

    def compose(self) -> ComposeResult:
        """The form, filled with the memory as it is."""
        m = self.memory
        with Vertical(classes="dialog -wide"):
            yield Label(f"Edit #{m.id} ({m.type.value}); the old version is kept", classes="dialog-title")
            yield TextArea(m.text, id="text", soft_wrap=True, show_line_numbers=False)
            with Horizontal(classes="form-row"):
                yield Input(
                    (m.occurred_at or "").replace("T", " "),
                    placeholder="when it happened",
                    id="when",
                    compact=True,
                )
                yield Input(", ".join(m.tags), placeholder="tags, comma separated", id="tags", compact=True)
            yield Static("", classes="dialog-error", id="error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cancel (esc)", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        """Edit the text first."""
        self.query_one("#text", TextArea).focus()

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Hand back only the fields that changed (nothing changed: nothing is written)."""
        m = self.memory
        error = self.query_one("#error", Static)
        text = self.query_one("#text", TextArea).text
        if not text.strip():
            error.update("The text cannot be empty (to remove a memory, forget it).")
            return
        try:
            when = _when(self.query_one("#when", Input).value)
        except SecondmeError as problem:
            error.update(f"{problem.message} ({problem.hint})" if problem.hint else problem.message)
            return
        fields: dict[str, Any] = {}
        if text.strip() != m.text.strip():
            fields["text"] = text
        if when != m.occurred_at:
            fields["occurred_at"] = when
        tags = _tags(self.query_one("#tags", Input).value)
        if tags != sorted(m.tags):
            fields["tags"] = tags
        self.dismiss(fields)

    @on(Button.Pressed, "#save")
    def _save(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class TypeScreen(ModalScreen[MemoryType | None]):
    """Pick another type for a memory."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, memory: Memory) -> None:
        super().__init__()
        self.memory = memory

    def compose(self) -> ComposeResult:
        """The five types, the current one highlighted."""
        with Vertical(classes="dialog"):
            yield Label(f"Type of #{self.memory.id}", classes="dialog-title")
            yield OptionList(*[Option(t.value, id=t.value) for t in MemoryType], id="types")
            yield Static(Text("enter: choose · esc: cancel", style="dim"))

    def on_mount(self) -> None:
        """Start on the current type."""
        types = self.query_one("#types", OptionList)
        types.highlighted = list(MemoryType).index(self.memory.type)
        types.focus()

    def action_cancel(self) -> None:
        """Keep the type."""
        self.dismiss(None)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(MemoryType(str(event.option.id)))


class RevealScreen(ModalScreen[None]):
    """Shows a vault value for a few seconds, then hides it again (any key hides it sooner)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter,space,v", "hide", "Hide")]

    def __init__(self, memory: Memory, value: str | None, seconds: int | None = None) -> None:
        super().__init__()
        self.memory = memory
        self.value = value
        self.left = seconds or REVEAL_SECONDS
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """The caption, the value (or why there is none) and the countdown."""
        with Vertical(classes="dialog"):
            yield Label(f"Vault #{self.memory.id}: {self.memory.text}", classes="dialog-title")
            if self.value is None:
                yield Static(
                    Text(
                        "No secret value is stored for this memory: its vault entry was removed.",
                    ),
                    id="secret",
                )
            else:
                yield Static(Text(self.value, style="bold"), id="secret")
            yield Static("", id="countdown")

    def on_mount(self) -> None:
        """Start the countdown."""
        self._tick_label()
        self._timer = self.set_interval(1, self._tick)

    def _tick(self) -> None:
        self.left -= 1
        if self.left <= 0:
            self.action_hide()
        else:
            self._tick_label()

    def _tick_label(self) -> None:
        self.query_one("#countdown", Static).update(
            Text(f"Hides in {self.left} s (any of esc, enter, space, v hides it now)", style="dim")
        )

    def action_hide(self) -> None:
        """Hide the value now."""
        if self._timer is not None:
            self._timer.stop()
        if self.is_attached and self.app.screen is self:
            self.dismiss(None)

"""The help screen: every key, read from the bindings data."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from secondme.tui.keys import APP_BINDINGS, OTHER_KEYS, key_names


def keys_table() -> Table:
    """All keys with what they do, grouped."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row(Text("Main keys", style="bold underline"), "")
    for binding in APP_BINDINGS:
        table.add_row(key_names(binding), binding.tooltip or binding.description)
    for title, rows in OTHER_KEYS:
        table.add_row("", "")
        table.add_row(Text(title, style="bold underline"), "")
        for keys, what in rows:
            table.add_row(keys, what)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys and how the app works, in one scrollable page."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "close", "Close")]

    def compose(self) -> ComposeResult:
        """The keys table and a few words on what the panes are."""
        with VerticalScroll(classes="dialog -wide", id="help"):
            yield Label("secondme keys (esc closes)", classes="dialog-title")
            yield Static(
                Text(
                    "Left: memory types with counts. Middle: your memories, newest first, or search "
                    "results while the search box has text. Right (below on narrow screens): the "
                    "highlighted memory with its source, times, links and related memories."
                ),
                classes="dialog-body",
            )
            yield Static(keys_table())

    def action_close(self) -> None:
        """Back to the memories."""
        self.dismiss(None)

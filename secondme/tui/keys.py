"""Key bindings as data: the app, the footer and the help screen all read them from here."""

from __future__ import annotations

from textual.binding import Binding

APP_BINDINGS: list[Binding] = [
    Binding("slash", "focus_search", "Search", key_display="/", tooltip="Search as you type (hybrid)"),
    Binding("a", "ask", "Ask", tooltip="Ask a question; the answer cites your memories"),
    Binding("n", "add", "New", tooltip="Add a memory"),
    Binding("e", "edit", "Edit", tooltip="Edit the highlighted memory (the old version is kept)"),
    Binding("d,delete", "forget", "Forget", tooltip="Forget the highlighted memory, after confirming"),
    Binding("p", "pin", "Pin", tooltip="Pin the highlighted memory to core (part of every answer)"),
    Binding("t", "change_type", "Type", show=False, tooltip="Change the highlighted memory's type"),
    Binding("v", "reveal", "Reveal", show=False, tooltip="Reveal a vault value for a few seconds"),
    Binding("l", "timeline", "Timeline", show=False, tooltip="Episodic memories by day"),
    Binding("f", "filters", "Filters", show=False, tooltip="Jump to the since/until time filters"),
    Binding("0", "view('all')", "All", show=False, tooltip="Show every type (vault excepted)"),
    Binding("1", "view('core')", "Core", show=False, tooltip="Only core memories"),
    Binding("2", "view('episodic')", "Episodic", show=False, tooltip="Only episodic memories"),
    Binding("3", "view('semantic')", "Semantic", show=False, tooltip="Only semantic memories"),
    Binding("4", "view('resource')", "Resource", show=False, tooltip="Only resources"),
    Binding("5", "view('vault')", "Vault", show=False, tooltip="Only vault captions (values stay locked)"),
    Binding("s", "status", "Status", show=False, tooltip="Watched folders, models, index health"),
    Binding("r", "refresh", "Refresh", show=False, tooltip="Reload counts and the list"),
    Binding("ctrl+t", "toggle_theme", "Theme", show=False, tooltip="Switch between light and dark"),
    Binding("escape", "leave", "Back", show=False, tooltip="Clear the search, close the ask panel"),
    Binding("question_mark,f1", "help", "Help", key_display="?", tooltip="This help"),
    Binding("q", "quit", "Quit", tooltip="Leave secondme"),
]
"""The app's own keys (letters do nothing while a text box has the focus; escape leaves it)."""

ASK_THOROUGHLY = Binding(
    "ctrl+r",
    "ask_thoroughly",
    "Ask thoroughly",
    tooltip="Ask the question in the box reading more of your memories: slower, right more often",
)
ASK_BINDINGS: list[Binding] = [ASK_THOROUGHLY]
"""The ask panel's own keys (enter in its box asks as usual)."""

FOCUS_ACTIONS = frozenset({"focus_search", "ask", "filters"})
"""The actions that put the cursor in a text box: the app runs them the moment their key arrives."""


def key_names(binding: Binding) -> str:
    """A binding's keys as the help shows them ("d delete", "? f1")."""
    keys = binding.key.split(",")
    return " ".join([binding.key_display, *keys[1:]] if binding.key_display else keys)


def _as_row(binding: Binding) -> tuple[str, str]:
    """A widget's binding as a help row: its keys, and its tooltip in lower case like the rows
    of the keys widgets handle themselves."""
    text = binding.tooltip or binding.description
    return key_names(binding), text[:1].lower() + text[1:]


OTHER_KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "In the ask panel",
        [
            ("enter", "ask the question in the box"),
            *[_as_row(binding) for binding in ASK_BINDINGS],
            ("tab, ↑ ↓, enter", "open a cited memory"),
        ],
    ),
    (
        "In the memory list",
        [
            ("↑ ↓  j k", "move"),
            ("pgup pgdn", "a screen at a time"),
            ("home end  g G", "newest, oldest"),
            ("enter / double click", "open the memory's links"),
        ],
    ),
    (
        "Anywhere",
        [
            ("tab / shift+tab", "next / previous pane"),
            ("ctrl+p", "command palette (themes, quit, screenshots)"),
            ("mouse", "click a type, a row, a link or a citation; scroll with the wheel"),
        ],
    ),
    (
        "In dialogs",
        [
            ("ctrl+s", "save"),
            ("esc", "cancel"),
            ("y / n", "answer a confirmation"),
        ],
    ),
]
"""Keys handled by widgets, described for the help screen."""

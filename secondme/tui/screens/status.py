"""The status screen: data home, counts, models, watched folders, ingest, mind and index health."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from secondme.tui.messages import DoctorLoaded, StatusLoaded

if TYPE_CHECKING:
    from secondme.service import DoctorReport
    from secondme.tui.backend import Backend, StatusReport

NOT_YET = "not available yet"


def _model_line(info: dict[str, Any]) -> Text:
    # Each span ends with its spaces: SVG exports squeeze a span's leading spaces.
    text = Text(str(info.get("name", "?")) + "  ", style="bold")
    if not info.get("installed"):
        text.append("not installed  ", style="red")
        if info.get("install"):
            text.append(f"({info['install']})", style="dim")
    elif info.get("verified") is False:
        text.append("installed, verified on first use", style="dim")
    else:
        text.append("ready", style="green")
    return text


def report_table(report: StatusReport) -> Table:
    """The status report as label/value rows."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("data home", report.home)
    grid.add_row("database", report.database)
    counts = ", ".join(f"{t} {n:,}" for t, n in report.counts.items())
    grid.add_row("memories", f"{sum(report.counts.values()):,} ({counts})")
    pending = f"{report.pending_vectors:,}" if report.pending_vectors <= 1000 else "more than 1,000"
    grid.add_row("waiting for vectors", pending)
    grid.add_row("answer model", _model_line(report.answer_model))
    grid.add_row("embedder", _model_line(report.embedder))
    if report.watch:
        folders = Text()
        for i, entry in enumerate(report.watch):
            folders.append(("\n" if i else "") + f"{entry.get('path', '?')} ({entry.get('kind', 'auto')})")
        grid.add_row("watched folders", folders)
    else:
        grid.add_row("watched folders", Text("none ([[watch]] path = ... in config.toml)", style="dim"))
    if report.ingest is None:
        not_yet = Text(f"{NOT_YET}: comes with `mem ingest` and `mem watch`", style="dim")
        grid.add_row("ingest queue", not_yet)
        grid.add_row("recent errors", not_yet.copy())
    else:
        grid.add_row("watcher", str(report.ingest.get("watcher", "?")))
        grid.add_row("ingest queue", f"{report.ingest.get('queue', 0):,} waiting")
        errors = report.ingest.get("errors") or []
        grid.add_row("recent errors", Text("\n".join(errors)) if errors else Text("none", style="green"))
    if report.mind is None:
        grid.add_row("mind backlog", Text(f"{NOT_YET}: the background mind is not built", style="dim"))
    else:
        grid.add_row("mind backlog", ", ".join(f"{k} {v}" for k, v in report.mind.items()))
    return grid


def doctor_text(report: DoctorReport | None, error: str | None) -> Text:
    """Index health in one or two lines."""
    if report is None:
        return Text(f"cannot check the index: {error}", style="red")
    text = Text(f"{report.memories:,} memories, {report.vectors:,} vectors: ")
    if report.healthy:
        text.append("the vector index agrees with the database", style="green")
    else:
        text.append(
            f"{len(report.missing)} missing, {len(report.orphans)} orphan, {len(report.stale)} stale "
            "(fix: mem doctor --repair)",
            style="yellow",
        )
    return text


class StatusScreen(ModalScreen[None]):
    """What secondme is doing and what it runs on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,s", "close", "Close"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.report: StatusReport | None = None
        self.doctor: DoctorReport | None = None

    def compose(self) -> ComposeResult:
        """Placeholders filled by workers."""
        with VerticalScroll(classes="dialog -wide", id="status"):
            yield Label("Status (r reloads, esc closes)", classes="dialog-title")
            yield Static(Text("Reading…", style="dim"), id="status-report")
            yield Label("Index health", classes="dialog-subtitle")
            yield Static(Text("Checking the vector index…", style="dim"), id="status-doctor")

    def on_mount(self) -> None:
        """Load the report, then check the index (slow on a large base)."""
        self.action_reload()

    def action_reload(self) -> None:
        """Read everything again."""
        self._load_report()
        self._check_index()

    @work(thread=True, exclusive=True, group="status")
    def _load_report(self) -> None:
        from secondme.tui.backend import translate
        from secondme.tui.messages import Failed

        try:
            self.post_message(StatusLoaded(self.backend.status()))
        except Exception as error:
            problem = translate(error)
            self.app.post_message(Failed(problem.message, problem.hint))

    @work(thread=True, exclusive=True, group="doctor")
    def _check_index(self) -> None:
        from secondme.tui.backend import translate

        try:
            self.post_message(DoctorLoaded(self.backend.doctor()))
        except Exception as error:
            self.post_message(DoctorLoaded(None, translate(error).message))

    def on_status_loaded(self, message: StatusLoaded) -> None:
        """Show the report."""
        self.report = message.report
        self.query_one("#status-report", Static).update(report_table(message.report))

    def on_doctor_loaded(self, message: DoctorLoaded) -> None:
        """Show index health."""
        self.doctor = message.report
        self.query_one("#status-doctor", Static).update(doctor_text(message.report, message.error))

    def action_close(self) -> None:
        """Back to the memories."""
        self.dismiss(None)

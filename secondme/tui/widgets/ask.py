"""The ask panel: a question, the answer as it streams in, and numbered citations to jump to."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from secondme.tui.keys import ASK_BINDINGS, ASK_THOROUGHLY, key_names

if TYPE_CHECKING:
    from secondme.answer import Answer
    from secondme.memory import Memory

_CITED = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")

THOROUGH_HINT = f"{key_names(ASK_THOROUGHLY)} asks again, reading more of your memories (slower)"
"""What an unsure answer suggests (an answer asked thoroughly suggests nothing more)."""


def renumber(text: str, citations: list[int]) -> str:
    """Replace memory ids in ``[12]`` citations by their number in ``citations`` (``[1]``)."""
    numbers = {memory_id: n for n, memory_id in enumerate(citations, start=1)}

    def swap(match: re.Match[str]) -> str:
        ids = [int(part) for part in match.group(1).split(",")]
        if not all(i in numbers for i in ids):
            return match.group(0)  # not a memory the answer may cite: leave it as written
        return "[" + ", ".join(str(numbers[i]) for i in ids) + "]"

    return _CITED.sub(swap, text)


class AskPanel(Vertical):
    """Ask a question about your memories."""

    BINDINGS: ClassVar[list[BindingType]] = [*ASK_BINDINGS]

    class Asked(Message):
        """The user asked a question (``thorough``: read more of the memories for it)."""

        def __init__(self, question: str, thorough: bool = False) -> None:
            super().__init__()
            self.question = question
            self.thorough = thorough

    class CitationChosen(Message):
        """The user picked a citation: show that memory."""

        def __init__(self, memory_id: int) -> None:
            super().__init__()
            self.memory_id = memory_id

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.serial = 0
        self.streamed = ""
        self.answer: Answer | None = None
        self.citations: list[int] = []
        self.thorough = False
        """Whether the answer shown (or being written) was asked thoroughly."""

    def compose(self) -> ComposeResult:
        """The question box, the answer, the citations."""
        yield Input(
            placeholder="Ask, then enter (e.g. when did I last see Ana?)", id="question", compact=True
        )
        yield Static("", id="answer")
        yield OptionList(id="citations", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the question box asks."""
        event.stop()
        question = event.value.strip()
        if question:
            self.post_message(self.Asked(question))

    def action_ask_thoroughly(self) -> None:
        """Ask the question in the box (or the last one asked), reading more of the memories."""
        question = self.query_one("#question", Input).value.strip()
        if not question and self.answer is not None:
            question = self.answer.question
        if question:
            self.post_message(self.Asked(question, thorough=True))

    def start(self, thorough: bool = False) -> int:
        """Clear the last answer; returns the serial number the new answer's messages carry."""
        self.serial += 1
        self.streamed = ""
        self.answer = None
        self.citations = []
        self.thorough = thorough
        self.remove_class("-abstained", "-failed")
        thinking = "Thinking, reading more of your memories…" if thorough else "Thinking…"
        self.query_one("#answer", Static).update(Text(thinking, style="dim italic"))
        self.query_one("#citations", OptionList).clear_options()
        return self.serial

    def add_token(self, serial: int, piece: str) -> None:
        """Append a streamed piece of the answer."""
        if serial != self.serial:
            return  # a piece of an answer the user already replaced
        self.streamed += piece
        self.query_one("#answer", Static).update(Text(self.streamed))

    def finish(self, serial: int, answer: Answer, cited: dict[int, Memory]) -> None:
        """Show the final answer with numbered citations, or say that it abstained."""
        if serial != self.serial:
            return
        self.answer = answer
        self.citations = [i for i in answer.citations if i in cited]
        body = Text()
        if answer.abstained:
            self.add_class("-abstained")
            body.append("I don't know", style="bold")
            wrong = answer.misattribution
            if wrong is not None:
                body.append(f" — {wrong.reason('your memories')}.\n")
            else:
                body.append(" — your memories do not say.\n", style="")
            said = (answer.draft or answer.answer).strip()
            if said and not said.lower().startswith("i don't know"):
                body.append(f"(the model said: {said})", style="dim")
        else:
            body.append(renumber(answer.answer.strip(), self.citations))
            if answer.citations_inferred:
                body.append("\n(citations inferred: the answer repeats these memories' words)", style="dim")
            elif not self.citations:
                body.append("\n(no citations: check this answer against your memories)", style="dim")
            if answer.unsure:
                from secondme.answer.confidence import UNSURE

                body.append(f"\n({UNSURE})", style="dim")
                if not self.thorough:
                    body.append(f"\n{THOROUGH_HINT}", style="dim")
        footnote = [answer.model or "", "read thoroughly" if self.thorough else ""]
        if any(footnote):
            body.append("\n" + " · ".join(part for part in footnote if part), style="dim italic")
        self.query_one("#answer", Static).update(body)
        options = []
        for number, memory_id in enumerate(self.citations, start=1):
            memory = cited[memory_id]
            line = Text(no_wrap=True, overflow="ellipsis")
            line.append(f"[{number}] ", style="bold")
            line.append(f"#{memory_id} ", style="dim")
            line.append(f"{(memory.when or '')[:10]}  ", style="dim")
            line.append(" ".join(memory.text.split()))
            options.append(Option(line, id=f"cite-{memory_id}"))
        citations = self.query_one("#citations", OptionList)
        citations.add_options(options)
        if options:
            citations.highlighted = 0

    def fail(self, serial: int, message: str, hint: str | None) -> None:
        """Say why there is no answer and what fixes it."""
        if serial != self.serial:
            return
        self.add_class("-failed")
        body = Text(message, style="bold")
        if hint:
            body.append(f"\nTo fix it: {hint}", style="")
        body.append("\nBrowsing and search still work.", style="dim")
        self.query_one("#answer", Static).update(body)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Jump to a cited memory."""
        event.stop()
        if event.option.id:
            self.post_message(self.CitationChosen(int(event.option.id.split("-", 1)[1])))

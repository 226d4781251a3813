"""Commands that find and answer: search, ask."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from secondme.cli.core import open_core
from secondme.cli.memories import _types, _when
from secondme.cli.options import JsonOpt, KOpt, SinceOpt, TypeOpt, UntilOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError
from secondme.textsplit import snippet

if TYPE_CHECKING:
    from secondme.memory import Memory

ModeOpt = Annotated[
    str, typer.Option("--mode", help="hybrid (default), keyword (BM25 only) or vector (vectors only).")
]


def _check_mode(mode: str) -> str:
    if mode not in ("hybrid", "keyword", "vector"):
        raise InputError(f"unknown search mode {mode!r}", hint="use hybrid, keyword or vector")
    return mode


def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: KOpt = None,
    type_: TypeOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    mode: ModeOpt = "hybrid",
    json_: JsonOpt = False,
) -> None:
    """Find memories: keywords (BM25) and meaning (vectors), fused."""
    if not query.strip():
        raise InputError("the search query is empty")
    hits = open_core().search(
        query, k=k, types=_types(type_), since=_when(since), until=_when(until), mode=_check_mode(mode)
    )
    if json_:
        emit_json([h.to_dict() for h in hits])
        return
    if not hits:
        typer.echo("No matching memories.")
    for hit in hits:
        m = hit.memory
        when = (m.occurred_at or m.recorded_at or "")[:10]
        typer.echo(f"{m.id:>6}  {hit.score:.4f}  {when:<10}  {m.type.value:<9} {snippet(m.text, 64)}")


def ask(
    question: Annotated[str, typer.Argument(help="Your question, e.g. 'When did I last see Ana?'")],
    k: KOpt = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Also show the memories used, their ranks and timings.")
    ] = False,
    mode: ModeOpt = "hybrid",
    allow_vault: Annotated[
        bool,
        typer.Option(
            "--allow-vault",
            help="Show vault secrets the answer points to (decrypted here, after the model answered; "
            "never sent to it).",
        ),
    ] = False,
    now: Annotated[
        str | None,
        typer.Option(
            "--now", help="Ask as if it were this moment (e.g. 2023-05-08): 'last week' counts from it."
        ),
    ] = None,
    thorough: Annotated[
        bool,
        typer.Option(
            "--thorough",
            help="Read more of the memories (answer.thorough_context_tokens): slower, right more often.",
        ),
    ] = False,
    json_: JsonOpt = False,
) -> None:
    """Answer a question from your memories, citing them; says "I don't know" when they don't tell."""
    from secondme.vault import related_labels

    app = open_core()

    def stream(piece: str) -> None:
        sys.stdout.write(piece)
        sys.stdout.flush()

    def found(hits: list) -> None:
        # The memories first, at once: the answer streams in under them.
        if hits:
            typer.echo(f"Found {len(hits)} {'memory' if len(hits) == 1 else 'memories'}:")
            for hit in hits:
                when = (hit.memory.occurred_at or hit.memory.recorded_at or "")[:10]
                typer.echo(f"  [{hit.memory.id}] {when}  {snippet(hit.memory.text, 70)}")
        else:
            typer.echo("Found no memories about that.")
        typer.echo("")
        sys.stdout.flush()

    from secondme import timeparse

    today = timeparse.parse_when(now) if now else None
    # With --allow-vault the answer is printed once complete, with its placeholders filled in.
    live = not json_ and not allow_vault
    result = app.ask(
        question,
        k=k,
        on_token=stream if live else None,
        on_hits=found if live else None,
        mode=_check_mode(mode),
        today=today,
        thorough=thorough,
    )
    shown = {h.memory.id: h.memory for h in result.hits}
    labels = related_labels(
        question, result.answer, [shown[i] for i in result.citations if i in shown], result.hits
    )
    values: dict[str, str] = {}
    answer = result.answer
    if allow_vault and labels:
        # Secrets are decrypted here, in this process, after the model answered.
        vault = open_core(local=True).vault
        values = {label: vault.get(label, purpose="ask --allow-vault") for label in labels}
        answer = vault.substitute(result.answer, values)
    if json_:
        data = result.to_dict()
        data["vault_labels"] = labels
        if allow_vault:
            data["answer"] = answer
            data["vault_values"] = values
        emit_json(data)
        return
    if not live:
        sys.stdout.write(answer)
    sys.stdout.write("\n")
    if labels and allow_vault:
        for label in labels:
            if f"[vault:{label}]" not in result.answer:
                typer.echo(f"{label}: {values[label]}")
    elif labels:
        names = ", ".join(labels)
        typer.echo(
            f"\nIn the vault: {names} (see it with `mem vault get {labels[0]}`, or ask with --allow-vault)"
        )
    if live and result.streamed is not None and result.answer != result.streamed:
        # The streamed words were the model's; the check that overrules them gets the last word.
        typer.echo(f"\nChecked: {result.answer}")
    if result.unsure:
        from secondme.answer.confidence import UNSURE

        typer.echo(f"({UNSURE})")
        if not thorough:
            typer.echo("Ask again with --thorough to read more of your memories (slower).")
    if result.cited:
        _list_memories("Sources:", result.cited, 70)
    if result.invalid_citations:
        typer.echo(
            f"(ignored citations of memories that were not given: {result.invalid_citations})", err=True
        )
    if explain:
        typer.echo("\nRetrieved:")
        for hit in result.hits:
            beside = f"  next to [{hit.neighbour_of}]" if hit.neighbour_of is not None else ""
            typer.echo(
                f"  [{hit.memory.id}] score {hit.score:.4f}  bm25 #{hit.keyword_rank or '-'}  "
                f"vector #{hit.vector_rank or '-'}{beside}  {snippet(hit.memory.text, 50)}"
            )
        if result.superseded:
            _list_memories(
                "Superseded (older statements of what was asked, left out of the prompt):",
                [e.memory for e in result.superseded],
                60,
            )
        timing = "  ".join(f"{k} {v:.2f}" for k, v in result.timings.items())
        sure = f"   confidence {result.confidence:.2f}" if result.confidence is not None else ""
        typer.echo(f"\nModel: {result.model or '-'}{sure}   {timing}")


def _list_memories(title: str, memories: list[Memory], width: int) -> None:
    typer.echo(f"\n{title}")
    for memory in memories:
        when = (memory.occurred_at or memory.recorded_at or "")[:10]
        typer.echo(f"  [{memory.id}] {when}  {snippet(memory.text, width)}")


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    app.command("search")(search)
    app.command("ask")(ask)

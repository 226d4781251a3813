"""Options shared by several commands, defined once."""

from __future__ import annotations

from typing import Annotated

import typer

#: The largest integer SQLite stores: ids, limits and offsets above it are usage errors.
MAX_INT = 2**63 - 1

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
KOpt = Annotated[int | None, typer.Option("-k", "--k", min=1, max=1000, help="How many memories to use.")]
TypeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--type", "-t", help="Only this memory type (repeatable): core, episodic, semantic, resource, vault."
    ),
]
SinceOpt = Annotated[
    str | None,
    typer.Option("--since", help="Only memories from this time on (e.g. 2024-01-01, '3 days ago')."),
]
UntilOpt = Annotated[str | None, typer.Option("--until", help="Only memories up to this time.")]

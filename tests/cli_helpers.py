"""Running ``mem`` in process exactly as the ``mem`` entry point does (``secondme.cli.main``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from typer.testing import CliRunner

# The catch-all's words: an exception nobody turned into a message for people.
UNEXPECTED = "run with SECONDME_DEBUG=1 for details"


@dataclass
class Outcome:
    """What one ``mem`` run printed and how it exited."""

    code: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        """stderr lines that are errors (ingest lists files on stderr before its one error line)."""
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


def invoke(
    args: Sequence[str], input: str | bytes | None = None, env: Mapping[str, str | None] | None = None
) -> Outcome:
    """Run ``mem ARGS`` in this process through ``secondme.cli.main``, stdin from ``input``."""
    from secondme.cli import main

    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (stdout, stderr, _mixed):
        code: object = 0
        try:
            main(list(args))
        except SystemExit as exit_:
            code = exit_.code
        finally:
            os.environ.pop("SECONDME_DEBUG", None)
            sys.stdout.flush()
            sys.stderr.flush()
        out = stdout.getvalue().decode("utf-8", "replace")
        err = stderr.getvalue().decode("utf-8", "replace")
    assert isinstance(code, int), code
    return Outcome(code, out, err)

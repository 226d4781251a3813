"""Every entry point under hostile input: no traceback, a documented exit code, one error line
with a hint, and no existing memory lost or changed (tests/fuzz_entry_points.py has the rules).

Sized for CI and derandomized; bench/fuzz.py runs the same entry points far longer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from tests.fuzz_entry_points import ENTRY_POINTS, Invocation, entry_point_runner

EXAMPLES = {"ingest": 12, "config": 15, "search": 15}


@pytest.mark.parametrize("entry_point", sorted(ENTRY_POINTS))
def test_entry_point_survives_hostile_input(entry_point: str, home: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    run = entry_point_runner(home, work)

    @settings(
        max_examples=EXAMPLES.get(entry_point, 25),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(invocation=ENTRY_POINTS[entry_point])
    def hostile(invocation: Invocation) -> None:
        verdict = run(invocation)
        assert not verdict.problems, (invocation, verdict.outcome)

    hostile()

"""Real forgetting: after ``mem forget`` no file under the home holds the forgotten words."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from secondme import paths
from secondme.memory import MemoryType, NewMemory, content_hash
from secondme.service import Secondme
from tests.conftest import REPO, run_mem

MARKER = "Zorblaxian marker: the quintessential flamingo rendezvous at Vexhollow"
EDITED = MARKER + " moved to Tuesday by Quillomir"
# The marker and its distinctive words, by their first six letters: the full-text index keeps
# stemmed, lowercased tokens ("quintessenti"), which these prefixes also catch.
WORDS = ["zorblaxian", "quintessential", "flamingo", "rendezvous", "vexhollow", "quillomir"]


def traces(words: list[str], exact: bool = False) -> dict[str, list[str]]:
    """Which files under the home hold which of the words (case-insensitive; by their first six
    letters unless ``exact``)."""
    found: dict[str, list[str]] = {}
    for path in paths.home().rglob("*"):
        if path.is_file():
            data = path.read_bytes().lower()
            hits = [w for w in words if (w if exact else w[:6]).encode() in data]
            if hits:
                found[str(path.relative_to(paths.home()))] = hits
    return found


HOLDER = """
import sys
from secondme.service import Secondme
app = Secondme()
print(len(app.search("flamingo rendezvous", k=3)), flush=True)
sys.stdin.readline()
hits = app.search("flamingo rendezvous Vexhollow", k=5)
print(",".join(str(h.memory.id) for h in hits), flush=True)
sys.stdin.readline()
"""


def test_forget_leaves_no_trace_while_another_process_holds_the_database_open():
    marker = json.loads(run_mem("add", MARKER, "--json").stdout)["id"]
    other = json.loads(run_mem("add", "Cats like long naps in the sun", "--json").stdout)["id"]
    assert run_mem("edit", str(marker), "--text", EDITED).returncode == 0
    assert json.loads(run_mem("show", str(marker), "--json").stdout)["history"]  # edited once
    assert traces(WORDS)  # the words are there before
    # Chroma's log keeps each vector's metadata, our content hash among it, after a delete.
    hashes = [content_hash(MARKER), content_hash(EDITED)]
    assert "chroma/chroma.sqlite3" in traces(hashes, exact=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert int(holder.stdout.readline()) >= 1  # it has read the database and the index
        forgot = run_mem("forget", str(marker))
        assert forgot.returncode == 0, forgot.stderr
        assert traces(WORDS) == {}
        assert traces(hashes, exact=True) == {}
        # The other process goes on working, and no longer finds the marker.
        holder.stdin.write("\n")
        holder.stdin.flush()
        ids = holder.stdout.readline().strip()
        assert str(marker) not in ids.split(",")
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=120) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    assert traces(WORDS) == {}
    # Only a tombstone remains, and the rest of the home is intact.
    conn = sqlite3.connect(paths.db_path())
    assert conn.execute("SELECT memory_id, reason FROM tombstones").fetchall() == [(marker, "by id")]
    assert run_mem("show", str(marker)).returncode == 3
    vector = json.loads(run_mem("search", "cats napping", "--mode", "vector", "--json").stdout)
    assert [h["id"] for h in vector] == [other]
    assert "The vector index agrees" in run_mem("doctor").stdout
    audit = (paths.logs_dir() / "audit.log").read_text()
    assert '"event": "forget"' in audit and f"[{marker}]" in audit


def test_forgetting_a_memory_takes_its_earlier_versions_along():
    app = Secondme()
    first = app.set_core("hideout", "My hideout is the Zorblaxian cave")
    second = app.set_core("hideout", "My hideout is now the Quillomir tower")
    assert app.store.get(first.id).superseded_by == second.id
    assert app.forget([second.id]) == [second.id, first.id]
    assert traces(["zorblaxian", "quillomir"]) == {}


def test_a_forgotten_id_is_never_given_again():
    app = Secondme()
    kept = app.add(NewMemory("Ana likes figs"))[0]
    gone = app.add(NewMemory("Pedro owes me ten euros"))[0]
    assert app.forget([gone.id]) == [gone.id]
    # The newest id was forgotten: the next memory does not take it over (a tombstone, an old
    # answer's citation or an export still mean the forgotten one).
    after = app.add(NewMemory("Maria moved to Braga"))[0]
    assert (kept.id, gone.id, after.id) == (1, 2, 3)
    assert [(t["id"], t["reason"]) for t in app.store.tombstones()] == [(2, "by id")]


def test_forget_by_source_query_and_dates(tmp_path: Path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "trip.md").write_text(
        "# Trip\n\nThe Vexhollow trip is in May.\n\n## Packing\n\nBring the flamingo hat.\n"
    )
    (notes / "other.md").write_text("# Other\n\nNothing about trips here, only gardening.\n")
    assert run_mem("ingest", str(notes)).returncode == 0
    app = Secondme()
    app.add(NewMemory("Quillomir called about the boat", type=MemoryType.EPISODIC, occurred_at="2020-01-05"))
    app.add(NewMemory("Quillomir sent the boat invoice", type=MemoryType.EPISODIC, occurred_at="2021-06-01"))

    # A query forget shows what it would do, and asks for --yes.
    dry = run_mem("forget", "--query", "Quillomir", "--dry-run", "--json")
    assert len(json.loads(dry.stdout)["would_forget"]) == 2
    unconfirmed = run_mem("forget", "--query", "Quillomir")
    assert unconfirmed.returncode == 2 and "add --yes" in unconfirmed.stderr
    assert traces(["quillomir"])  # nothing changed yet

    by_date = run_mem("forget", "--since", "2019-12-01", "--until", "2020-12-31", "--yes", "--json")
    assert len(json.loads(by_date.stdout)["forgotten"]) == 1
    assert run_mem("forget", "--query", "Quillomir", "--yes").returncode == 0
    assert traces(["quillomir"]) == {}

    trip = notes / "trip.md"
    by_source = run_mem("forget", "--source", str(trip), "--yes", "--json")
    assert len(json.loads(by_source.stdout)["forgotten"]) >= 1
    assert traces(["vexhollow", "flamingo"]) == {}
    assert traces(["gardening"])  # the other note stays
    reasons = {r for (r,) in sqlite3.connect(paths.db_path()).execute("SELECT reason FROM tombstones")}
    assert reasons == {"by date range", "by query", "by source"}

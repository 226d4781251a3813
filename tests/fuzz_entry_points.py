"""Hostile input for every entry point of ``mem``, and the rules every answer must keep.

Used by tests/test_fuzz_entry_points.py (a small, derandomized run) and by bench/fuzz.py (a long
run whose figures are committed).  Each entry point is a hypothesis strategy that draws one
invocation: the command line, stdin, and files it reads (an import file, a mutated export, a
config file).  :func:`run_and_check` runs it in process through ``secondme.cli.main`` and says
which rules it broke:

- no traceback, no unexpected exception (the catch-all's "run with SECONDME_DEBUG=1");
- an exit code from :data:`secondme.errors.EXIT_CODES`;
- on failure, exactly one ``error:`` line, ending with a hint in parentheses;
- the memories that existed before are all still there, unchanged.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from secondme.errors import EXIT_CODES, EXIT_OK
from tests.cli_helpers import UNEXPECTED, Outcome, invoke

# Memories every run starts with; no hostile input may lose or change them.
SEED = [
    ("My dentist is Dr. Ana Costa", "semantic"),
    ("Lunch with Rui at the harbour on 2024-03-02", "episodic"),
    ("The boiler manual is in the blue folder", "resource"),
]
SEED_IDS = range(1, len(SEED) + 1)

# Text that has broken programs before: control characters, lone surrogates' neighbours,
# right-to-left marks, NUL, huge numbers, format strings, SQL and shell fragments.
NASTY = [
    "",
    " ",
    "\x00",
    "\n\n",
    "-",
    "--",
    "-k",
    "0",
    "-1",
    "99999999999999999999",
    "1e309",
    "NaN",
    "%s%n",
    "{0}",
    "'; DROP TABLE memories; --",
    '" OR 1=1 --',
    "$(rm -rf /)",
    "\u202eevil",
    "\ufeffbom",
    "😀" * 3,
    "漢字",
    "a" * 300,
    "NEAR(",
    'title:"x',
    "*",
    "AND OR NOT",
    "^",
    "../../etc/passwd",
    "yesterday",
    "3 days ago",
    "2024-02-30",
    "0000-00-00",
    "9999-12-31",
    "core",
    "vault",
]
TEXT = st.sampled_from(NASTY) | st.text(max_size=60)
WORDY = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400)
INTS = st.integers(min_value=-(10**6), max_value=10**9).map(str)
IDS = st.integers(min_value=len(SEED) + 1, max_value=10**12).map(str) | TEXT  # never a seeded id
TYPES = st.sampled_from(["core", "episodic", "semantic", "resource", "vault", "mood", "", "EPISODIC"])
MODES = st.sampled_from(["hybrid", "keyword", "vector", "fuzzy", ""])


@dataclass
class Invocation:
    """One run of ``mem``: its arguments, stdin, and files to write first (relative names)."""

    args: list[str]
    input: str | bytes | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    config: str | None = None


def _opt(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    return st.one_of(st.just([]), values.map(lambda v: [name, v]))


@st.composite
def add_args(draw: st.DrawFn) -> Invocation:
    args = ["add"]
    use_stdin = draw(st.booleans())
    if not use_stdin:
        args.append(draw(TEXT | WORDY))
    args += draw(_opt("--type", TYPES)) + draw(_opt("--at", TEXT)) + draw(_opt("--tag", TEXT))
    args += draw(_opt("--label", TEXT)) + draw(st.sampled_from([[], ["--json"]]))
    stdin = draw(st.binary(max_size=300) | WORDY.map(str.encode)) if use_stdin else None
    return Invocation(args, input=stdin)


@st.composite
def search_args(draw: st.DrawFn) -> Invocation:
    args = ["search", draw(TEXT | WORDY), "--mode", draw(st.sampled_from(["keyword", "hybrid"]) | MODES)]
    args += draw(_opt("-k", INTS)) + draw(_opt("--type", TYPES)) + draw(_opt("--since", TEXT))
    args += draw(_opt("--until", TEXT)) + draw(st.sampled_from([[], ["--json"]]))
    return Invocation(args)


@st.composite
def list_args(draw: st.DrawFn) -> Invocation:
    args = ["list", *draw(_opt("--limit", INTS)), *draw(_opt("--offset", INTS))]
    args += draw(_opt("--type", TYPES)) + draw(_opt("--since", TEXT)) + draw(_opt("--until", TEXT))
    return Invocation(args + draw(st.sampled_from([[], ["--json"], ["--all"]])))


@st.composite
def lookup_args(draw: st.DrawFn) -> Invocation:
    command = draw(st.sampled_from(["show", "forget", "edit"]))
    ids = draw(st.lists(IDS, min_size=0 if command == "forget" else 1, max_size=3))
    if command != "forget":
        ids = ids[:1]
    args = [command, *ids]
    if command == "edit":
        args += ["--text", draw(TEXT), *draw(_opt("--type", TYPES)), *draw(_opt("--at", TEXT))]
    return Invocation(args + draw(st.sampled_from([[], ["--json"]])))


@st.composite
def core_args(draw: st.DrawFn) -> Invocation:
    if draw(st.booleans()):
        return Invocation(["core", "set", draw(TEXT), draw(TEXT | WORDY)])
    return Invocation(["core", *draw(st.sampled_from([[], ["--json"], ["--bad"], ["unset"]]))])


# JSON Lines for `mem import`: the right keys with the wrong values, and lines that are not JSON.
IMPORT_KEYS = ["text", "type", "occurred_at", "tags", "importance", "metadata", "label", "id", "bogus"]
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
IMPORT_LINE = (
    st.fixed_dictionaries(
        {"text": TEXT | WORDY},
        optional={k: JSON_VALUES | TYPES for k in IMPORT_KEYS if k != "text"},
    ).map(lambda d: json.dumps(d, ensure_ascii=False))
    | st.dictionaries(st.sampled_from(IMPORT_KEYS), JSON_VALUES, max_size=4).map(json.dumps)
    | TEXT
)


@st.composite
def import_args(draw: st.DrawFn) -> Invocation:
    lines = draw(st.lists(IMPORT_LINE, max_size=5))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = draw(st.binary(max_size=200))
    return Invocation(
        ["import", "in.jsonl", *draw(st.sampled_from([[], ["--json"]]))], files={"in.jsonl": data}
    )


# Mutated versions of the fixtures, ingested through the command line.
MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]),
        st.integers(min_value=0, max_value=2**31),
        st.binary(min_size=1, max_size=12),
    ),
    max_size=5,
)


def mutate(data: bytes, edits: list[tuple[str, int, bytes]]) -> bytes:
    """Apply byte-level edits (flip, delete, insert, truncate, duplicate) at seeded places."""
    buffer = bytearray(data)
    for operation, seed, blob in edits:
        at = seed % (len(buffer) + 1)
        if operation == "flip" and buffer:
            buffer[at % len(buffer)] ^= blob[0] or 0xFF
        elif operation == "delete":
            del buffer[at : at + 1 + blob[0] % 64]
        elif operation == "insert":
            buffer[at:at] = blob
        elif operation == "truncate":
            del buffer[at:]
        elif operation == "duplicate":
            buffer[at:at] = buffer[at : at + 1 + blob[0] % 256]
    return bytes(buffer)


def fixture_bytes() -> dict[str, tuple[str, bytes]]:
    """Each format's fixture as (file name, bytes); images left out (OCR is slow and not ours)."""
    from tests.fixture_files import every_format

    global _FIXTURES
    if _FIXTURES is None:
        with tempfile.TemporaryDirectory() as folder:
            made = every_format(Path(folder))
            _FIXTURES = {k: (p.name, p.read_bytes()) for k, p in made.items() if k != "screenshot"}
    return _FIXTURES


_FIXTURES: dict[str, tuple[str, bytes]] | None = None


@st.composite
def ingest_args(draw: st.DrawFn) -> Invocation:
    formats = fixture_bytes()
    chosen = draw(st.lists(st.sampled_from(sorted(formats)), min_size=1, max_size=3, unique=True))
    files = {}
    for name in chosen:
        file_name, data = formats[name]
        files[f"inbox/{file_name}"] = mutate(data, draw(MUTATIONS))
    kind = draw(st.sampled_from([[], ["--kind", "auto"], ["--kind", "chats"], ["--kind", "bogus"]]))
    target = draw(st.sampled_from(["inbox", f"inbox/{formats[chosen[0]][0]}", "inbox/missing"]))
    return Invocation(["ingest", target, *kind, *draw(st.sampled_from([[], ["--json"]]))], files=files)


# config.toml: the real sections and keys with values of every type, and plain junk.
CONFIG_KEYS = {
    "llm": ["model", "model_path", "n_ctx", "n_threads", "max_tokens", "temperature"],
    "embedder": ["model", "max_tokens", "batch_size", "n_threads"],
    "search": ["k", "include_superseded"],
    "answer": ["max_memory_chars"],
    "ingest": ["max_file_mb", "on_delete", "batch_files"],
    "bogus": ["x"],
}
TOML_VALUES = st.sampled_from(
    ['"x"', "0", "-1", "1", "3.5", "true", "[]", "{}", '"keep"', '"forget"', "1e400", '"\\u0000"', "nan"]
)


@st.composite
def config_text(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=80))
    lines = []
    for section in draw(st.lists(st.sampled_from(sorted(CONFIG_KEYS)), max_size=3, unique=True)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(CONFIG_KEYS[section]), max_size=3, unique=True)):
            lines.append(f"{key} = {draw(TOML_VALUES)}")
    if draw(st.booleans()):
        lines.append(
            f'[[watch]]\npath = {draw(TOML_VALUES)}\nkind = "{draw(st.sampled_from(["auto", "x"]))}"'
        )
    return "\n".join(lines)


@st.composite
def config_args(draw: st.DrawFn) -> Invocation:
    command = draw(
        st.sampled_from(
            [
                ["config", "show"],
                ["config", "path"],
                ["list"],
                ["status"],
                ["search", "dentist", "--mode", "keyword"],
            ]
        )
    )
    return Invocation(command, config=draw(config_text()))


# Whole command lines: words and options of every command, in any order.
WORDS = [
    "add", "search", "list", "show", "status", "export", "import", "core", "set", "config", "show",
    "path", "doctor", "models", "--json", "--type", "-t", "-k", "--k", "--limit", "-n", "--offset",
    "--since", "--until", "--mode", "--at", "--tag", "--label", "--kind", "--all", "--help", "-h",
    "--version", "--", "-", "x", "1", "-5", "99999", "forget", "edit", "watch", "tui", "eval", "ask",
]  # fmt: skip


@st.composite
def argv_soup(draw: st.DrawFn) -> Invocation:
    args = draw(st.lists(st.sampled_from(WORDS) | TEXT, min_size=0, max_size=6))
    # Commands that change or remove what exists, start processes or run for minutes are drawn
    # by the other entry points with safe arguments; here they meet an unknown option, which
    # must stop them before they do anything.
    if args[:1] and args[0] in {"forget", "edit", "watch", "tui", "eval", "ask", "ingest", "reindex"}:
        args = [args[0], "--no-such-option", *args[1:]]
    return Invocation(args, input=draw(st.none() | TEXT))


ENTRY_POINTS: dict[str, st.SearchStrategy[Invocation]] = {
    "add": add_args(),
    "search": search_args(),
    "list": list_args(),
    "show/edit/forget": lookup_args(),
    "core": core_args(),
    "import": import_args(),
    "ingest": ingest_args(),
    "config": config_args(),
    "argv": argv_soup(),
}


# ---------------------------------------------------------------------------------------------
# Running and checking


def seed_home() -> None:
    """Fill the current (empty) home with :data:`SEED`."""
    for text, kind in SEED:
        outcome = invoke(["add", text, "--type", kind])
        assert outcome.code == EXIT_OK, outcome.stderr


def snapshot(home: Path) -> dict[int, tuple[Any, ...]]:
    """The seeded memories as stored: every column."""
    conn = sqlite3.connect(home / "secondme.db")
    try:
        rows = conn.execute(
            f"SELECT * FROM memories WHERE id IN ({', '.join('?' * len(SEED_IDS))})", list(SEED_IDS)
        ).fetchall()
    finally:
        conn.close()
    return {row[0]: tuple(row) for row in rows}


@dataclass
class Verdict:
    """What one invocation did, and which rules it broke."""

    outcome: Outcome
    problems: list[str]

    @property
    def failed_with_reason(self) -> bool:
        """A failure told in one line with a hint."""
        return self.outcome.code != EXIT_OK and not self.problems


def run_and_check(
    invocation: Invocation, home: Path, work: Path, before: dict[int, tuple[Any, ...]]
) -> Verdict:
    """Run one invocation in ``work`` (files written there first) and check every rule."""
    for name, data in invocation.files.items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    config = home / "config.toml"
    if invocation.config is not None:
        config.write_text(invocation.config, encoding="utf-8", errors="surrogatepass")
    args = [str(work / a) if a in invocation.files or a.startswith("inbox") else a for a in invocation.args]
    try:
        outcome = invoke(args, input=invocation.input)
    finally:
        config.unlink(missing_ok=True)
        for name in invocation.files:
            (work / name).unlink(missing_ok=True)
    problems = check(outcome)
    after = snapshot(home)
    lost = sorted(set(before) - set(after))
    changed = sorted(i for i in before if i in after and after[i] != before[i])
    if lost:
        problems.append(f"lost memories {lost}")
    if changed:
        problems.append(f"changed memories {changed}")
    return Verdict(outcome, problems)


def check(outcome: Outcome) -> list[str]:
    """The rules for what a run prints and how it exits."""
    problems = []
    if "Traceback" in outcome.stderr or "Traceback" in outcome.stdout:
        problems.append("traceback")
    if UNEXPECTED in outcome.stderr:
        problems.append("crash: " + next(line for line in outcome.stderr.splitlines() if UNEXPECTED in line))
    if outcome.code not in EXIT_CODES:
        problems.append(f"exit code {outcome.code} is not documented")
    errors = outcome.error_lines
    if outcome.code == EXIT_OK and errors:
        problems.append("error line with exit 0")
    if outcome.code != EXIT_OK:
        if len(errors) != 1:
            problems.append(f"{len(errors)} error lines: {outcome.stderr[-300:]!r}")
        elif not errors[0].endswith(")") or " (" not in errors[0]:
            problems.append(f"no hint: {errors[0]!r}")
        if "Usage:" in outcome.stderr or "╭" in outcome.stderr:
            problems.append("usage box")
    return problems


def classify(verdict: Verdict) -> str:
    """One word for the figures: ok, failed (told with a reason), or the first rule broken."""
    if verdict.problems:
        first = verdict.problems[0]
        for word in ("traceback", "crash", "lost", "changed"):
            if first.startswith(word):
                return word
        return "bad-message"
    return "failed" if verdict.failed_with_reason else "ok"


def entry_point_runner(home: Path, work: Path) -> Callable[[Invocation], Verdict]:
    """A checker bound to a seeded home (seeding it on first use)."""
    if not (home / "secondme.db").exists():
        seed_home()
    before = snapshot(home)
    assert len(before) == len(SEED)
    return lambda invocation: run_and_check(invocation, home, work, before)

"""The example plugins in plugins/: shell history and browser history, on real files."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from secondme import plugins
from secondme.service import Secondme
from tests.conftest import REPO


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"example_{name}", REPO / "plugins" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp())


# -- shell history --------------------------------------------------------------------------


def test_zsh_extended_history_sessions_multiline_and_metafied(tmp_path):
    shell = load("shell_history")
    # "café" as zsh writes it: the UTF-8 byte 0xA9 is stored as 0x83, 0xA9 ^ 32.
    cafe = b"echo caf\xc3\x83" + bytes([0xA9 ^ 32])
    data = b"\n".join(
        [
            b": %d:0;cd ~/src/secondme" % epoch("2024-03-02T14:05:00"),
            b": %d:3;make test" % epoch("2024-03-02T14:06:10"),
            b": %d:0;for f in *.md; do\\" % epoch("2024-03-02T14:20:00"),
            b"  wc -l $f\\",
            b"done",
            b": %d:0;" % epoch("2024-03-02T20:00:00") + cafe,
            b": %d:0;export GITHUB_TOKEN=ghp_abcdefghijklmnop1234" % epoch("2024-03-02T20:01:00"),
            b"",
        ]
    )
    path = tmp_path / ".zsh_history"
    path.write_bytes(data)
    source = shell.ShellHistorySource()
    assert source.can_parse(path, data[:100])
    assert source.can_parse(tmp_path / "renamed.txt", data[:100])  # by content too
    result = source.parse(path)
    assert result.format == "zsh-history"
    texts = [d.text for d in result.drafts]
    assert texts[0] == (
        "Shell commands (zsh) on 2 March 2024, 14:05-14:20:\n"
        "$ cd ~/src/secondme\n$ make test\n$ for f in *.md; do\n  wc -l $f\ndone"
    )
    assert texts[1] == "Shell commands (zsh) on 2 March 2024, 20:00-20:00:\n$ echo café"
    assert [d.occurred_at for d in result.drafts] == [
        "2024-03-02T14:05:00+00:00",
        "2024-03-02T20:00:00+00:00",
    ]
    assert all(d.type.value == "episodic" and d.source_kind == "shell-history" for d in result.drafts)
    assert "ghp_" not in "".join(texts)
    assert [p.where for p in result.problems] == ["line 7"]


def test_bash_history_with_and_without_timestamps(tmp_path):
    shell = load("shell_history")
    stamped = tmp_path / ".bash_history"
    stamped.write_text(
        f"#{epoch('2023-11-05T09:00:00')}\ngit pull\n#{epoch('2023-11-05T09:01:00')}\nvim notes.md\n"
        f"#{epoch('2023-11-06T18:30:00')}\nssh pi@garden.local\n"
    )
    result = shell.ShellHistorySource().parse(stamped)
    assert result.format == "bash-history"
    assert [d.text for d in result.drafts] == [
        "Shell commands (bash) on 5 November 2023, 09:00-09:01:\n$ git pull\n$ vim notes.md",
        "Shell commands (bash) on 6 November 2023, 18:30-18:30:\n$ ssh pi@garden.local",
    ]
    plain = tmp_path / "bash_history"
    plain.write_text("\n".join(f"echo {i}" for i in range(30)) + "\n")
    result = shell.ShellHistorySource().parse(plain)
    assert [d.text.splitlines()[0] for d in result.drafts] == [
        "Shell commands (shell history, lines 1-25):",
        "Shell commands (shell history, lines 26-30):",
    ]
    assert all(d.occurred_at is None for d in result.drafts)


def test_shell_history_ingests_from_the_plugin_folder_and_again_adds_only_new(tmp_path, monkeypatch):
    from secondme.ingest.pipeline import Ingestor

    monkeypatch.setenv("SECONDME_PLUGINS_DIR", str(REPO / "plugins"))
    monkeypatch.setenv("SECONDME_LOAD_PLUGINS", "shell_history")
    plugins.manager.cache_clear()
    path = tmp_path / ".zsh_history"
    path.write_bytes(b": %d:0;terraform plan\n" % epoch("2024-01-10T10:00:00"))
    app = Secondme()
    summary = Ingestor(app).ingest_paths([path])
    assert summary.memories_added == 1
    with open(path, "ab") as handle:
        handle.write(b": %d:0;kubectl get pods\n" % epoch("2024-01-12T09:00:00"))
    summary = Ingestor(app).ingest_paths([path])
    assert summary.memories_added == 1
    hits = app.search("terraform", k=3)
    assert hits[0].memory.source_kind == "shell-history"
    assert [p.name for p in plugins.manager().loaded()] == ["shell_history"]


# -- browser history ------------------------------------------------------------------------

FIREFOX_SCHEMA = [
    "CREATE TABLE moz_origins ( id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, host TEXT NOT NULL, "
    "frecency INTEGER NOT NULL, recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, "
    "recalc_alt_frecency INTEGER NOT NULL DEFAULT 0, UNIQUE (prefix, host) )",
    "CREATE TABLE moz_places (   id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR, "
    "rev_host LONGVARCHAR, visit_count INTEGER DEFAULT 0, hidden INTEGER DEFAULT 0 NOT NULL, "
    "typed INTEGER DEFAULT 0 NOT NULL, frecency INTEGER DEFAULT -1 NOT NULL, last_visit_date INTEGER , "
    "guid TEXT, foreign_count INTEGER DEFAULT 0 NOT NULL, url_hash INTEGER DEFAULT 0 NOT NULL , "
    "description TEXT, preview_image_url TEXT, site_name TEXT, origin_id INTEGER REFERENCES moz_origins(id), "
    "recalc_frecency INTEGER NOT NULL DEFAULT 0, alt_frecency INTEGER, "
    "recalc_alt_frecency INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE moz_historyvisits (  id INTEGER PRIMARY KEY, from_visit INTEGER, place_id INTEGER, "
    "visit_date INTEGER, visit_type INTEGER, session INTEGER, source INTEGER DEFAULT 0 NOT NULL, "
    "triggeringPlaceId INTEGER)",
]

CHROMIUM_SCHEMA = [
    "CREATE TABLE urls(id INTEGER PRIMARY KEY AUTOINCREMENT,url LONGVARCHAR,title LONGVARCHAR,"
    "visit_count INTEGER DEFAULT 0 NOT NULL,typed_count INTEGER DEFAULT 0 NOT NULL,"
    "last_visit_time INTEGER NOT NULL,hidden INTEGER DEFAULT 0 NOT NULL)",
    "CREATE TABLE visits(id INTEGER PRIMARY KEY AUTOINCREMENT,url INTEGER NOT NULL,"
    "visit_time INTEGER NOT NULL,from_visit INTEGER,transition INTEGER DEFAULT 0 NOT NULL,"
    "segment_id INTEGER,visit_duration INTEGER DEFAULT 0 NOT NULL,"
    "incremented_omnibox_typed_score BOOLEAN DEFAULT FALSE NOT NULL,opener_visit INTEGER,"
    "originator_cache_guid TEXT,originator_visit_id INTEGER,originator_from_visit INTEGER,"
    "originator_opener_visit INTEGER,is_known_to_sync BOOLEAN DEFAULT FALSE NOT NULL,"
    "consider_for_ntp_most_visited BOOLEAN DEFAULT FALSE NOT NULL,external_referrer_url TEXT,app_id TEXT)",
]

PAGES = [
    ("https://www.bbc.co.uk/food/recipes/sourdough", "How to make sourdough", "2024-03-02T09:15:00"),
    ("https://en.wikipedia.org/wiki/Lisbon", "Lisbon - Wikipedia", "2024-03-02T21:40:00"),
    ("https://en.wikipedia.org/wiki/Lisbon", "Lisbon - Wikipedia", "2024-03-02T22:00:00"),
    ("https://example.com/login?session_id=abc123&next=/", "Sign in", "2024-03-03T08:00:00"),
    ("about:newtab", "New Tab", "2024-03-03T08:01:00"),
]


def firefox(path: Path, pages=PAGES) -> sqlite3.Connection:
    """A places.sqlite as Firefox keeps it: WAL, exclusive lock, recent rows still in the WAL."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in FIREFOX_SCHEMA:
        conn.execute(statement)
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("PRAGMA locking_mode=EXCLUSIVE")
    for index, (url, title, when) in enumerate(pages, start=1):
        conn.execute(
            "INSERT OR IGNORE INTO moz_places (id, url, title, rev_host, guid) VALUES "
            "((SELECT id FROM moz_places WHERE url = ?), ?, ?, '', ?)",
            (url, url, title, f"g{index}"),
        )
        place = conn.execute("SELECT id FROM moz_places WHERE url = ?", (url,)).fetchone()[0]
        conn.execute(
            "INSERT INTO moz_historyvisits (place_id, visit_date, visit_type) VALUES (?, ?, 1)",
            (place, epoch(when) * 1_000_000),
        )
    conn.execute("BEGIN EXCLUSIVE")  # hold the lock, as a running Firefox does
    return conn


def test_firefox_history_is_read_from_a_copy_while_the_browser_holds_its_lock(tmp_path):
    browser = load("browser_history")
    path = tmp_path / "places.sqlite"
    held = firefox(path)
    try:
        assert Path(str(path) + "-wal").stat().st_size > 0
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            sqlite3.connect(path, timeout=0).execute("SELECT COUNT(*) FROM moz_places").fetchone()
        source = browser.BrowserHistorySource()
        assert source.can_parse(path, path.read_bytes()[:100])
        result = source.parse(path)
    finally:
        held.close()
    assert result.format == "firefox-history"
    assert [d.text for d in result.drafts] == [
        "Web pages visited in Firefox on 2 March 2024:\n"
        "- 09:15 How to make sourdough <https://www.bbc.co.uk/food/recipes/sourdough>\n"
        "- 21:40 Lisbon - Wikipedia <https://en.wikipedia.org/wiki/Lisbon>",
        "Web pages visited in Firefox on 3 March 2024:\n- 08:00 Sign in <https://example.com/login>",
    ]
    assert result.drafts[0].occurred_at == "2024-03-02T09:15:00+00:00"
    assert result.drafts[0].source_ref == f"{path}#2024-03-02"


def test_chromium_history(tmp_path):
    browser = load("browser_history")
    path = tmp_path / "History"
    conn = sqlite3.connect(path)
    for statement in CHROMIUM_SCHEMA:
        conn.execute(statement)
    for url, title, when in PAGES[:3]:
        webkit = (epoch(when) + browser.CHROMIUM_EPOCH_OFFSET_S) * 1_000_000
        row = conn.execute("SELECT id FROM urls WHERE url = ?", (url,)).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO urls (url, title, visit_count, last_visit_time) VALUES (?, ?, 1, ?)",
                (url, title, webkit),
            )
            row = conn.execute("SELECT id FROM urls WHERE url = ?", (url,)).fetchone()
        conn.execute("INSERT INTO visits (url, visit_time) VALUES (?, ?)", (row[0], webkit))
    conn.commit()
    conn.close()
    result = browser.BrowserHistorySource().parse(path)
    assert result.format == "chromium-history"
    assert [d.text for d in result.drafts] == [
        "Web pages visited in Chromium on 2 March 2024:\n"
        "- 09:15 How to make sourdough <https://www.bbc.co.uk/food/recipes/sourdough>\n"
        "- 21:40 Lisbon - Wikipedia <https://en.wikipedia.org/wiki/Lisbon>"
    ]


def test_not_a_history_database(tmp_path):
    browser = load("browser_history")
    path = tmp_path / "places.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE other (x)").connection.close()
    from secondme.ingest.sources.base import ParseError

    with pytest.raises(ParseError, match="not a browser history database"):
        browser.BrowserHistorySource().parse(path)
    assert not browser.BrowserHistorySource().can_parse(tmp_path / "notes.sqlite", b"SQLite format 3\x00")


def test_browser_history_through_mem_ingest(tmp_path, monkeypatch):
    from tests.conftest import run_mem

    path = tmp_path / "places.sqlite"
    firefox(path).close()
    env = {"SECONDME_PLUGINS_DIR": str(REPO / "plugins"), "TZ": "UTC"}
    done = run_mem("ingest", str(path), "--json", env=env)
    assert done.returncode == 0, done.stderr
    found = run_mem("search", "sourdough", "--json", env=env)
    assert "How to make sourdough" in found.stdout

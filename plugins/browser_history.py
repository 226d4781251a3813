"""A source plugin: Firefox and Chromium browsing history become episodic memories, one per day.

Copy this file into ``<home>/plugins`` (or name this folder in ``[plugins] dirs``), then ingest
the profile's history database:

- Firefox: ``~/.mozilla/firefox/<profile>/places.sqlite``
- Chromium, Chrome, Brave, Edge: ``~/.config/chromium/Default/History`` (and the like)

A running browser keeps its history database locked (Firefox opens it in exclusive mode), so the
file and its write-ahead log are copied to a temporary folder and read there; the browser's own
files are never opened.  History databases are often larger than the default
``ingest.max_file_mb``: raise it if the file is skipped as too large.

Each day's visits (web pages only, the first visit of each page that day) become memories of
at most ``MAX_PAGES`` pages.  Addresses whose query looks like it carries a credential (a token,
a session, a signature) keep only their path; pages whose title or address looks like a secret
are left out.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from secondme.classify import classify
from secondme.hookspecs import hookimpl
from secondme.ingest.sources.base import ParseError, ParseProblem, ParseResult
from secondme.memory import MemoryType, NewMemory

MAX_PAGES = 15
MAX_VISITS = 50_000
SQLITE_MAGIC = b"SQLite format 3\x00"
# Chromium counts microseconds from 1601-01-01 (UTC); Firefox from 1970-01-01.
CHROMIUM_EPOCH_OFFSET_S = 11_644_473_600

FIREFOX_SQL = """
SELECT p.url, p.title, v.visit_date FROM moz_historyvisits v JOIN moz_places p ON p.id = v.place_id
WHERE p.hidden = 0 ORDER BY v.visit_date DESC LIMIT ?
"""
CHROMIUM_SQL = """
SELECT u.url, u.title, v.visit_time FROM visits v JOIN urls u ON u.id = v.url
WHERE u.hidden = 0 ORDER BY v.visit_time DESC LIMIT ?
"""
_CREDENTIAL_QUERY = re.compile(
    r"(?:^|[?&;])(?:[\w-]*token|code|sig|signature|auth[\w-]*|session[\w-]*|sid|key|password|secret)=",
    re.IGNORECASE,
)


@dataclass
class Visit:
    """One visit of a web page."""

    url: str
    title: str
    at: datetime


def browser_of(path: Path) -> str | None:
    """ "firefox" or "chromium" from the file's name, or None."""
    if path.name == "places.sqlite":
        return "firefox"
    if path.name == "History":
        return "chromium"
    return None


def read_copy(path: Path, sql: str) -> list[tuple[str, str | None, int]]:
    """Run ``sql`` on a copy of the database (and its -wal), so a browser's lock does not matter."""
    with tempfile.TemporaryDirectory(prefix="secondme-history-") as scratch:
        copy = Path(scratch) / path.name
        try:
            shutil.copy2(path, copy)
            for suffix in ("-wal", "-journal"):
                extra = path.with_name(path.name + suffix)
                if extra.exists():
                    shutil.copy2(extra, copy.with_name(copy.name + suffix))
        except OSError as exc:
            raise ParseError(f"cannot copy {path}: {exc}") from None
        try:
            conn = sqlite3.connect(copy)
            try:
                return conn.execute(sql, (MAX_VISITS,)).fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise ParseError(f"{path} is not a browser history database this plugin knows: {exc}") from None


def _clean_url(url: str) -> str:
    base, _, query = url.partition("?")
    if query and _CREDENTIAL_QUERY.search("?" + query):
        return base
    return url


def visits(path: Path) -> tuple[str, list[Visit]]:
    """The browser and its visits of web pages, oldest first."""
    browser = browser_of(path)
    if browser == "firefox":
        rows = read_copy(path, FIREFOX_SQL)

        def moment(value: int) -> datetime:
            return datetime.fromtimestamp(value / 1_000_000, tz=UTC).astimezone()
    elif browser == "chromium":
        rows = read_copy(path, CHROMIUM_SQL)

        def moment(value: int) -> datetime:
            seconds = value / 1_000_000 - CHROMIUM_EPOCH_OFFSET_S
            return datetime.fromtimestamp(seconds, tz=UTC).astimezone()
    else:
        raise ParseError(f"{path.name} is not a browser history database (places.sqlite or History)")
    found = [
        Visit(_clean_url(url), (title or "").strip(), moment(stamp).replace(microsecond=0))
        for url, title, stamp in rows
        if stamp and url.startswith(("http://", "https://"))
    ]
    found.reverse()
    return browser, found


def days(found: list[Visit]) -> dict[str, list[Visit]]:
    """Visits by local day, each page once a day (its first visit)."""
    out: dict[str, list[Visit]] = {}
    seen: set[tuple[str, str]] = set()
    for visit in found:
        day = visit.at.date().isoformat()
        if (day, visit.url) in seen:
            continue
        seen.add((day, visit.url))
        out.setdefault(day, []).append(visit)
    return out


class BrowserHistorySource:
    """Firefox ``places.sqlite`` and Chromium ``History`` databases."""

    name = "browser-history"

    def can_parse(self, path: Path, head: bytes) -> bool:
        """A SQLite file named like a browser's history database."""
        return browser_of(path) is not None and head.startswith(SQLITE_MAGIC)

    def parse(self, path: Path) -> ParseResult:
        """One episodic memory per day (or per MAX_PAGES pages of a day)."""
        browser, found = visits(path)
        label = {"firefox": "Firefox", "chromium": "Chromium"}[browser]
        result = ParseResult(format=f"{browser}-history")
        for day, pages in days(found).items():
            kept = []
            for visit in pages:
                if classify(f"{visit.title} {visit.url}") is MemoryType.VAULT:
                    result.problems.append(ParseProblem(day, "a page that looks like a secret; not stored"))
                else:
                    kept.append(visit)
            for start in range(0, len(kept), MAX_PAGES):
                chunk = kept[start : start + MAX_PAGES]
                first = chunk[0].at
                lines = [f"Web pages visited in {label} on {first.day} {first:%B %Y}:"]
                lines += [f"- {v.at:%H:%M} {v.title or v.url} <{v.url}>" for v in chunk]
                result.drafts.append(
                    NewMemory(
                        text="\n".join(lines),
                        type=MemoryType.EPISODIC,
                        source_kind="browser-history",
                        source_ref=f"{path}#{day}",
                        occurred_at=first.isoformat(),
                        tags=["browsing", browser],
                        metadata={"pages": len(chunk)},
                    )
                )
        return result


@hookimpl
def register_sources(register):
    """Offer the browser-history source to `mem ingest` and `mem watch`."""
    register(BrowserHistorySource())

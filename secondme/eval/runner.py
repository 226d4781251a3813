"""What every ``mem eval`` quality run shares: temporary homes, shared models, progress, records.

A run loads each conversation (LoCoMo) or question haystack (LongMemEval) into a fresh data home
under one temporary directory, so that it never touches the user's memories and no haystack sees
another.  The models are loaded once per run and handed to every home.  Settings come from the
defaults and ``SECONDME_*`` variables, never from the user's ``config.toml``, so that a result
depends only on the code, the data and what the command line says.

Each question gives one *record* per system (see :mod:`secondme.eval.report` for the format).
A question that raises is recorded as failed, with the error text, and scores 0 on the metrics
it should have had: a failure is a miss, never a question quietly left out of an average.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from secondme.config import changed
from secondme.eval.datasets import LME_QUESTION_TYPES, LOCOMO_CATEGORIES

if TYPE_CHECKING:
    from secondme.config import Settings
    from secondme.eval.report import ReportFiles
    from secondme.models.embedder import Embedder
    from secondme.retrieve import Hit
    from secondme.service import Secondme

T = TypeVar("T")

#: The systems compared on the same homes and embedder, and the search mode behind each.
SYSTEMS: dict[str, str] = {"bm25": "keyword", "vector": "vector", "hybrid": "hybrid"}

#: The system whose hits ``mem ask`` uses, so the one that also answers.
ANSWERING_SYSTEM = "hybrid"

_CATEGORY_ORDER = [*LOCOMO_CATEGORIES.values(), *LME_QUESTION_TYPES]


# --- models and homes ---------------------------------------------------------------------------


class CachedEmbedder:
    """An embedder that remembers its vectors in a SQLite file, keyed by model and text.

    Embedding dominates the time of a benchmark run (LongMemEval_S holds about 25,000 long
    windows), and the texts do not change between runs that tune retrieval.  The vectors are
    the ones the wrapped embedder returned for the same text, so results do not change; only
    the time does.  ``hits`` and ``misses`` count texts served from the file and embedded.
    """

    def __init__(self, inner: Embedder, path: Path, salt: str = "") -> None:
        import sqlite3

        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.salt = salt
        self.hits = 0
        self.misses = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")

    def _key(self, text: str) -> str:
        import hashlib

        return hashlib.sha256(f"{self.name}|{self.salt}|{text}".encode()).hexdigest()

    def embed(self, texts: list[str]) -> Any:
        """Vectors for ``texts``: from the file where known, else from the wrapped embedder.

        A single text (a search query) always goes to the model, uncached, so that search
        timings stay what a user would see.
        """
        import numpy as np

        if len(texts) == 1:
            return self.inner.embed(texts)

        keys = [self._key(t) for t in texts]
        found: dict[str, bytes] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            rows = self.conn.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(chunk))})", chunk
            ).fetchall()
            found.update(rows)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        missing = [i for i, key in enumerate(keys) if key not in found or len(found[key]) != self.dim * 4]
        if missing:
            vectors = np.asarray(self.inner.embed([texts[i] for i in missing]), dtype=np.float32)
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany(
                    "INSERT OR REPLACE INTO vectors VALUES (?, ?)",
                    [(keys[i], vectors[n].tobytes()) for n, i in enumerate(missing)],
                )
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
            out[missing] = vectors
        skipped = set(missing)
        known = [i for i in range(len(texts)) if i not in skipped]
        for i in known:
            out[i] = np.frombuffer(found[keys[i]], dtype=np.float32)
        self.hits += len(known)
        self.misses += len(missing)
        return out


class SharedModels:
    """The embedder and answer model of one run, each loaded once on first use."""

    def __init__(self, settings: Settings, answers: bool, embedding_cache: bool = False) -> None:
        self.settings = settings
        self.answers = answers
        self.embedding_cache = embedding_cache
        self._embedder: Embedder | None = None
        self._llm: Any = None

    @property
    def embedder(self) -> Embedder:
        """The embedder every home of the run shares (behind the vector cache when asked)."""
        if self._embedder is None:
            from secondme.models.embedder import load_embedder

            embedder = load_embedder(self.settings.embedder)
            if self.embedding_cache:
                from secondme import paths

                salt = f"max_tokens={self.settings.embedder.max_tokens}|{self.settings.embedder.model_path}"
                embedder = CachedEmbedder(embedder, paths.cache_dir() / "eval" / "embeddings.sqlite", salt)
            self._embedder = embedder
        return self._embedder

    def embedding_stats(self) -> dict[str, int] | None:
        """Texts served from and added to the vector cache (None without the cache)."""
        if isinstance(self._embedder, CachedEmbedder):
            return {"cached": self._embedder.hits, "embedded": self._embedder.misses}
        return None

    @property
    def llm(self) -> Any:
        """The answer model (loaded on first use)."""
        if self._llm is None:
            from secondme.models.llm import load_llm

            self._llm = load_llm(self.settings.llm)
        return self._llm

    def names(self) -> dict[str, str]:
        """Model names for the report."""
        names = {"embedder": self.settings.embedder.model_path or self.settings.embedder.model}
        if self.answers:
            names["llm"] = self.settings.llm.model_path or self.settings.llm.model
        return names

    def threads(self) -> dict[str, int]:
        """The thread settings (0 = the models' own default), which move timings a lot."""
        return {"embedder": self.settings.embedder.n_threads, "llm": self.settings.llm.n_threads}


class Workspace:
    """A temporary directory holding one fresh data home per conversation or haystack."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="secondme-eval-"))

    def settings(self) -> Settings:
        """Default settings plus ``SECONDME_*`` variables (no config file is read)."""
        from secondme import config

        return config.load(self.root / "no-config.toml")

    @contextlib.contextmanager
    def home(self, name: str, models: SharedModels) -> Iterator[Secondme]:
        """Open a fresh home called ``name`` with the run's embedder; it is deleted afterwards."""
        from secondme.service import Secondme

        path = self.root / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name) or "home")
        app: Secondme | None = None
        try:
            # Loading the embedder per home would cost a second per haystack: share one.
            app = Secondme(models.settings, embedder=models.embedder, home=path)
            # A throwaway home: its vault (benchmark corpora hold a few vault items) is locked by a
            # random passphrase and never touches the OS keyring.
            app.vault.use_passphrase(secrets.token_hex(16))
            yield app
        finally:
            if app is not None:
                with contextlib.suppress(Exception):
                    app.close()
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        """Delete the whole temporary directory."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- errors and timing --------------------------------------------------------------------------


def error_text(error: BaseException) -> str:
    """One line naming an error: its type and message."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def attempt(action: Callable[[], T]) -> tuple[T | None, str | None, float]:
    """Run ``action``; return (result, None, seconds), or (None, error text, seconds) if it raised."""
    started = time.perf_counter()
    try:
        result = action()
    except Exception as error:  # recorded against the question, the run goes on
        return None, error_text(error), time.perf_counter() - started
    return result, None, time.perf_counter() - started


@dataclass
class RunCosts:
    """What a run spends beside its questions: loading each home, the time and the machine's load.

    Made when the run starts; :meth:`load` fills each fresh home, :meth:`params` lists what the
    finished run depended on, as its report shows it.
    """

    started: float = field(default_factory=time.perf_counter)
    load_at_start: list[float] | None = field(default_factory=lambda: load_average())
    ingest_s: float = 0.0
    memories: int = 0

    def load(
        self, app: Secondme, load: Callable[[], dict[int, list[str]]], what: str
    ) -> tuple[dict[int, list[str]], str | None]:
        """Fill a fresh home with ``load()`` (memory id -> the benchmark ids it holds), then warm
        it up.  Returns (what ``load`` returned, None), or ({}, "loading WHAT failed: ...") when
        it raised: every question asked of that home is then recorded as failed."""
        held, error, seconds = attempt(load)
        self.ingest_s += seconds
        if error is not None:
            return {}, f"loading {what} failed: {error}"
        self.memories += len(held or {})
        warm_up(app)
        return held or {}, None

    def params(
        self,
        *,
        path: str | Path | None,
        limit: int | None,
        counts: Mapping[str, int],
        depth: int,
        answers: bool,
        answered: int,
        failed: int,
        models: SharedModels,
    ) -> dict[str, Any]:
        """What the finished run depended on; ``counts``: what it loaded and asked (conversations,
        questions)."""
        return {
            "path": str(path) if path is not None else "default dev split",
            "limit": limit,
            **counts,
            "memories": self.memories,
            "depth": depth,
            "answers": answers,
            "answered": answered,
            "failed": failed,
            "ingest_s": round(self.ingest_s, 1),
            "elapsed_s": round(time.perf_counter() - self.started, 1),
            # Settings the run changed from the defaults (SECONDME_* variables), {} for none.
            "settings": changed(models.settings),
            "embedding_cache": models.embedding_stats(),
            "threads": models.threads(),
            "load_average": {"start": self.load_at_start, "end": load_average()},
        }


def warm_up(app: Secondme) -> None:
    """One untimed search after loading a home.

    The first vector query on a new index pays one-time costs (opening and compacting it); left
    in, they would land on whichever system happens to search first.
    """
    with contextlib.suppress(Exception):  # a broken index shows up in the timed searches
        app.search("warm up", k=1, mode="vector")


def search_all(
    app: Secondme, question: str, depth: int, today: datetime | None = None
) -> dict[str, tuple[list[Hit], str | None, float]]:
    """Each system's hits for ``question``: {system: (hits, error or None, seconds)}.

    With ``today``, the time the question speaks of ("in May 2023", "last week") is parsed as
    ``mem ask`` does and raises memories of that period in the hybrid system.
    """
    from secondme.timeparse import question_time

    when = question_time(question, today) if today is not None else None
    out: dict[str, tuple[list[Hit], str | None, float]] = {}
    for system, mode in SYSTEMS.items():
        search = functools.partial(
            app.search, question, k=depth, mode=mode, when=when if system == ANSWERING_SYSTEM else None
        )
        hits, error, seconds = attempt(search)
        out[system] = (hits or [], error, seconds)
    return out


def answer_question(app: Secondme, models: SharedModels, question: str, today: datetime) -> dict[str, Any]:
    """Answer through ``mem ask``'s own code path, asked at ``today``.

    Returns ``{"answer", "abstained", "citations", "draft", "declined_by", "seconds", "timings",
    "prompt_tokens", "evidence", "prompt", "confidence", "unsure", "tokens", "error"}``
    (``tokens``: the model's [text, log-probability] pairs; ``evidence``: the ids of the memories the prompt
    quoted; ``prompt``: the question's part of the prompt, to read where an answer went wrong)
    (``draft``: the model's words when the answer differs from them, else None: a check replaced
    them, or a restated question was left out, :mod:`secondme.answer.restated`); on an
    error the answer is empty and ``error`` holds its text.
    """

    def run() -> Any:
        return app.ask(question, llm=models.llm, today=today)

    result, error, seconds = attempt(run)
    if result is None:
        return {"answer": "", "abstained": None, "citations": [], "seconds": seconds, "error": error}
    return {
        "answer": result.answer,
        "abstained": result.abstained,
        "citations": result.citations,
        "draft": result.draft if result.draft != result.answer else None,
        "declined_by": result.declined_by,
        "seconds": seconds,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
        "prompt_tokens": result.prompt_tokens,
        "evidence": [excerpt.memory.id for excerpt in result.excerpts],
        "prompt": result.prompt[-1]["content"] if result.prompt else None,
        "confidence": result.confidence,
        "unsure": result.unsure,
        "tokens": [[piece, round(logprob, 4)] for piece, logprob in result.token_logprobs],
        "error": None,
    }


def keep_draft_score(record: dict[str, Any], score: Callable[[str], float | None]) -> None:
    """For an answerable question declined after the model had answered it (a check replaced
    its words): what the model's own answer would have scored, as ``draft_score``.  Whether a
    check declines right answers or wrong ones is what says if it is worth its place."""
    from secondme.answer import strip_citations
    from secondme.eval.metrics import is_abstention

    draft = strip_citations(str(record.get("draft") or ""))
    if (record.get("metrics") or {}).get("false_abstention") == 1.0 and draft and not is_abstention(draft):
        record["draft_score"] = score(draft)


def keep_outcome(record: dict[str, Any], outcome: dict[str, Any]) -> None:
    """Copy what :func:`answer_question` returned into a report record (scores aside); the
    model's ``draft`` only when the answer differs from it."""
    record["answer"] = outcome["answer"]
    record["abstained"] = outcome["abstained"]
    if outcome.get("draft"):
        record["draft"] = outcome["draft"]
    if outcome.get("declined_by"):
        record["declined_by"] = outcome["declined_by"]
    record["citations"] = outcome.get("citations", [])
    record["evidence_memories"] = outcome.get("evidence", [])
    if outcome.get("prompt"):
        record["prompt"] = outcome["prompt"]
    if outcome.get("tokens"):
        # The model's tokens and their log-probabilities: how sure it was, word by word.
        record["tokens"] = outcome["tokens"]
        record["confidence"] = None if outcome["confidence"] is None else round(outcome["confidence"], 4)
        record["unsure"] = outcome["unsure"]
    record["timings"] = outcome.get("timings", {})


# --- the summary, kept while the run goes ---------------------------------------------------------


class Tally:
    """Running sums per system, metric and category, giving the summary as records arrive.

    Kept apart from :func:`secondme.eval.report.recompute_summary` on purpose: the two must
    agree, and a test checks that they do.
    """

    def __init__(self) -> None:
        self.systems: list[str] = []
        self.metrics: list[str] = []
        self.categories: list[str] = []
        # (system, category or None for all, metric) -> [sum, count]
        self.sums: dict[tuple[str, str | None, str], list[float]] = {}

    def add(self, record: Mapping[str, Any]) -> None:
        """Count one record."""
        system = str(record["system"])
        category = str(record.get("category", ""))
        if system not in self.systems:
            self.systems.append(system)
        if category not in self.categories:
            self.categories.append(category)
        for name, value in record["metrics"].items():
            if name not in self.metrics:
                self.metrics.append(name)
            if value is None:
                continue
            for key in ((system, None, name), (system, category, name)):
                cell = self.sums.setdefault(key, [0.0, 0])
                cell[0] += float(value)
                cell[1] += 1

    def _cell(self, system: str, category: str | None) -> dict[str, dict[str, Any]]:
        out = {}
        for name in self.metrics:
            total, count = self.sums.get((system, category, name), [0.0, 0])
            out[name] = {"mean": total / count if count else None, "n": int(count)}
        return out

    def summary(self) -> dict[str, Any]:
        """The summary in :func:`~secondme.eval.report.recompute_summary`'s shape."""
        categories = [c for c in _CATEGORY_ORDER if c in self.categories]
        categories += [c for c in self.categories if c not in categories]
        return {
            "systems": list(self.systems),
            "metrics": list(self.metrics),
            "categories": categories,
            "overall": {s: self._cell(s, None) for s in self.systems},
            "by_category": {c: {s: self._cell(s, c) for s in self.systems} for c in categories},
        }


# --- the result of a run ------------------------------------------------------------------------


@dataclass
class EvalRun:
    """A finished quality run: its records, its summary and what it depended on."""

    bench: str
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    models: dict[str, str]
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    def write(self, out_dir: str | Path | None = None) -> ReportFiles:
        """Write the JSON, Markdown and PNG report; the Markdown ends with how it was measured."""
        from secondme.eval.report import write_report

        files = write_report(
            self.bench,
            self.records,
            summary=self.summary,
            out_dir=out_dir,
            models=self.models,
            params=self.params,
        )
        extra = ["", "## How this was measured", "", *(f"- {note}" for note in self.notes)]
        if self.failed:
            extra += ["", f"## Failed questions ({len(self.failed)})", ""]
            extra += [f"- {f['id']} ({f['system']}): {f['error']}" for f in self.failed[:50]]
            if len(self.failed) > 50:
                extra.append(f"- ... and {len(self.failed) - 50} more (see the JSON)")
        with open(files.markdown, "a", encoding="utf-8") as handle:
            handle.write("\n".join(extra) + "\n")
        return files

    def mismatches(self) -> list[str]:
        """Where the summary disagrees with one recomputed from the records (empty: agrees)."""
        from secondme.eval.report import recompute_summary, summary_mismatches

        return summary_mismatches(self.summary, recompute_summary(self.records))


class Recorder:
    """Collects records, keeps the tally and lists the failures."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.tally = Tally()
        self.failed: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        """Keep one record (a record with an ``error`` is also listed as failed)."""
        self.records.append(record)
        self.tally.add(record)
        if record.get("error"):
            self.failed.append({"id": record["id"], "system": record["system"], "error": record["error"]})


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """A progress bar on stderr (rich); in a log file, a plain line every 5% instead.

    Nothing is shown when ``enabled`` is False.
    """

    def __init__(self, total: int, description: str, enabled: bool = True) -> None:
        self.enabled = enabled
        self.total = total
        self.description = description
        self.done = 0
        self.started = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None
        self._console: Any = None
        self._note = ""
        self._next_line = 0

    def __enter__(self) -> Progress:
        if not self.enabled:
            return self
        from rich.console import Console

        self._console = Console(stderr=True)
        if self._console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._progress = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[note]}"),
                console=self._console,
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.description, total=self.total, note="")
        return self

    def note(self, text: str) -> None:
        """Show what is being done now (e.g. "loading conv-26")."""
        self._note = text
        if self._progress is not None:
            self._progress.update(self._task, note=text)

    def advance(self, steps: int = 1) -> None:
        """Count ``steps`` more units of work done."""
        self.done += steps
        if self._progress is not None:
            self._progress.advance(self._task, steps)
        elif self._console is not None and (self.done >= self._next_line or self.done >= self.total):
            self._next_line = self.done + max(1, self.total // 20)
            elapsed = time.perf_counter() - self.started
            print(
                f"{self.description}: {self.done}/{self.total} in {elapsed:.0f} s  {self._note}",
                file=sys.stderr,
                flush=True,
            )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def limited(items: Sequence[T], limit: int | None) -> list[T]:
    """The first ``limit`` items (all when ``limit`` is None)."""
    return list(items) if limit is None else list(items)[: max(0, limit)]


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the platform has none).

    Kept with every result: on a shared machine the timings mean little without it.
    """
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def spread(total: int, count: int | None) -> set[int]:
    """``count`` positions out of ``range(total)``, evenly spaced (all when ``count`` is None).

    Used to answer a sample of the questions: evenly spaced positions reach every
    conversation and, since questions of a kind tend to sit together, most categories.
    """
    if count is None or count >= total:
        return set(range(total))
    return {i * total // count for i in range(count)}


def spread_outside(total: int, taken: set[int], count: int | None) -> set[int]:
    """``count`` positions of ``range(total)`` that are not in ``taken``, evenly spaced over
    the rest (all of the rest when ``count`` is None): a second sample that shares no question
    with the first."""
    rest = [i for i in range(total) if i not in taken]
    return {rest[j] for j in spread(len(rest), count)}

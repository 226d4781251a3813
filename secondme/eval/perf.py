"""``mem eval perf``: how fast secondme is, and how its costs grow with the number of memories.

For each corpus size a fresh home is filled with :func:`secondme.eval.corpus.generate_corpus`
(notes, chat windows, screenshot text, facts, events, secret captions) and measured:

* adding: ``Secondme.add_many`` in batches of :data:`BATCH` (store, embed, index), per batch;
* searching in-process: the same ``perf_queries`` with each system (BM25, vectors, hybrid),
  after one warm-up search;
* searching as a whole process: ``mem search QUERY``, a new process each time;
* answering as a whole process: ``mem ask QUESTION`` with the default model, time to the first
  byte of the answer on stdout and to the end, and its peak RSS;
* ``mem --help`` as a cold process;
* the database and Chroma directory sizes on disk.

Latencies become records (``{"operation", "corpus_size", "latencies_ms"}``, see
:mod:`secondme.eval.report`); the per-size figures that are not latencies (throughput, disk,
memory) go into :attr:`PerfRun.scale` and a table of their own.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from secondme.eval.runner import SYSTEMS, Progress, SharedModels, Workspace, load_average

if TYPE_CHECKING:
    from secondme.eval.report import ReportFiles
    from secondme.service import Secondme

#: Memories per ``add_many`` call while filling a home.
BATCH = 1000


@dataclass
class ProcessRun:
    """One whole ``mem`` process: wall time, time to its first stdout byte, peak RSS, outcome."""

    seconds: float
    first_byte_s: float | None
    peak_rss_mb: float
    returncode: int
    error: str


def mem_command() -> list[str]:
    """How to start ``mem``: the installed script beside this Python, else ``python -m secondme``."""
    script = Path(sys.executable).with_name("mem")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "secondme"]


def run_process(args: Sequence[str], env: dict[str, str], timeout: float = 600) -> ProcessRun:
    """Run ``mem ARGS`` and time it; the peak RSS comes from the kernel's accounting of the child."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*mem_command(), *args], stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, env=env
        )
        assert proc.stdout is not None
        first = proc.stdout.read(1)
        first_at = time.perf_counter() - started if first else None
        proc.stdout.read()
        proc.stdout.close()
        # wait4 rather than wait: it also returns this child's own resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        lines = errors.read().decode("utf-8", "replace").strip().splitlines()
    return ProcessRun(
        seconds=seconds,
        first_byte_s=first_at,
        peak_rss_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        returncode=proc.returncode,
        error=lines[-1] if lines and proc.returncode else "",
    )


def directory_mb(path: Path) -> float:
    """Total size of the files under ``path`` (or of the file itself), in MiB."""
    if path.is_file():
        return path.stat().st_size / 1024**2
    if not path.exists():
        return 0.0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024**2


def own_peak_rss_mb() -> float:
    """The peak RSS of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PerfRun:
    """A finished speed run: latency records, per-size scale figures, and what it depended on."""

    records: list[dict[str, Any]]
    scale: list[dict[str, Any]]
    models: dict[str, str]
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> dict[str, Any]:
        """Latency percentiles per operation and size (recomputed from the records)."""
        from secondme.eval.report import recompute_perf_summary

        return recompute_perf_summary(self.records)

    def write(self, out_dir: str | Path | None = None) -> ReportFiles:
        """Write the JSON, Markdown and PNGs; the JSON gets a top-level ``scale`` list, the Markdown
        the scale table and how it was measured."""
        from secondme.eval.report import write_report

        files = write_report(
            "perf",
            self.records,
            summary=self.summary,
            out_dir=out_dir,
            models=self.models,
            params=self.params,
        )
        # The per-size figures are not latencies, so they live beside the records, not in them.
        payload = json.loads(files.json.read_text(encoding="utf-8"))
        payload["scale"] = self.scale
        files.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
        scale_png = None
        try:
            scale_png = plot_scale(
                self.summary, self.scale, files.json.with_name(files.json.stem + "-scale.png")
            )
        except ImportError:
            pass  # matplotlib is optional: the tables say the same
        with open(files.markdown, "a", encoding="utf-8") as handle:
            handle.write("\n" + scale_markdown(self.scale))
            if scale_png is not None:
                handle.write(f"\n![latency and throughput against corpus size]({scale_png.name})\n")
            handle.write("\n## How this was measured\n\n")
            handle.write("".join(f"- {note}\n" for note in self.notes))
        return files


def plot_scale(summary: dict[str, Any], scale: list[dict[str, Any]], path: Path) -> Path:
    """Three panels against corpus size (log x): search latency (log y), `mem ask`, add rate.

    Search costs milliseconds and answers seconds, so one linear axis would hide the searches.
    Raises ImportError when matplotlib is missing.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(14, 4.6), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    searches, asks, adds = figure.subplots(1, 3)
    series = summary.get("series", {})

    def draw(axes: Any, operation: str, key: str, style: str, color: str, scale_by: float = 1.0) -> None:
        points = sorted(
            (int(size), stats[key] / scale_by)
            for size, stats in series.get(operation, {}).items()
            if stats.get(key) is not None
        )
        if points:
            axes.plot(
                [x for x, _ in points],
                [y for _, y in points],
                style,
                marker="o",
                color=color,
                label=f"{operation} {key.removesuffix('_ms')}",
            )

    operations = ["search bm25", "search vector", "search hybrid", "mem search (process)", "mem --help"]
    for i, operation in enumerate(operations):
        draw(searches, operation, "p50_ms", "-", f"C{i}")
        draw(searches, operation, "p95_ms", "--", f"C{i}")
    searches.axhline(100, color="grey", linewidth=0.8, linestyle=":")
    searches.set_yscale("log")
    searches.set_ylabel("ms (log)")
    searches.set_title("search latency (dotted: 100 ms)")
    for i, operation in enumerate(["mem ask first token", "mem ask total"]):
        draw(asks, operation, "p50_ms", "-", f"C{i + 5}", scale_by=1000)
        draw(asks, operation, "p95_ms", "--", f"C{i + 5}", scale_by=1000)
    asks.set_ylabel("seconds")
    asks.set_title("`mem ask` (whole process)")
    rows = [r for r in scale if r.get("add_per_s")]
    adds.plot([r["corpus_size"] for r in rows], [r["add_per_s"] for r in rows], "-", marker="o", color="C7")
    adds.set_ylabel("memories per second")
    adds.set_title("add_many throughput (store + embed + index)")
    for axes in (searches, asks, adds):
        axes.set_xscale("log")
        axes.set_xlabel("corpus size (memories)")
        axes.grid(True, which="both", alpha=0.3)
        if axes.get_legend_handles_labels()[0]:
            axes.legend(fontsize="x-small")
    figure.savefig(path)
    return path


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def scale_markdown(scale: list[dict[str, Any]]) -> str:
    """The per-size table: throughput, search and ask latency, disk and memory."""
    columns = [
        ("corpus_size", "memories", 0),
        ("add_per_s", "add /s", 0),
        ("search_hybrid_p50_ms", "search p50 ms", 1),
        ("search_hybrid_p95_ms", "search p95 ms", 1),
        ("process_search_p50_ms", "`mem search` p50 ms", 0),
        ("ask_first_token_p50_s", "`mem ask` first token s", 2),
        ("ask_total_p50_s", "`mem ask` total s", 2),
        ("help_p50_ms", "`mem --help` ms", 0),
        ("db_mb", "SQLite MB", 1),
        ("chroma_mb", "Chroma MB", 1),
        ("ask_peak_rss_mb", "`mem ask` peak RSS MB", 0),
        ("search_peak_rss_mb", "`mem search` peak RSS MB", 0),
        ("eval_peak_rss_mb", "eval process peak RSS MB", 0),
    ]
    lines = ["## Scale", "", "| " + " | ".join(title for _, title, _ in columns) + " |"]
    lines.append("|" + "|".join("---:" for _ in columns) + "|")
    for row in scale:
        lines.append("| " + " | ".join(_fmt(row.get(key), digits) for key, _, digits in columns) + " |")
    errors = [f"- {row['corpus_size']:,}: {row['errors']}" for row in scale if row.get("errors")]
    if errors:
        lines += ["", "Errors:", *errors]
    return "\n".join(lines) + "\n"


def fill(app: Secondme, size: int, seed: int, on_batch: Any = None) -> list[float]:
    """Add ``generate_corpus(size, seed)`` to ``app`` in batches; returns each batch's seconds."""
    from secondme.eval.corpus import generate_corpus
    from secondme.memory import NewMemory

    timings: list[float] = []
    batch: list[NewMemory] = []

    def flush() -> None:
        started = time.perf_counter()
        app.add_many(batch)
        timings.append(time.perf_counter() - started)
        if on_batch:
            on_batch(len(batch))
        batch.clear()

    for item in generate_corpus(size, seed=seed):
        batch.append(NewMemory(**item))
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    return timings


def _p(values: list[float], q: float) -> float | None:
    from secondme.eval.metrics import percentile

    return percentile(values, q) if values else None


def run_perf(
    sizes: Sequence[int],
    *,
    queries: int = 50,
    process_runs: int = 10,
    ask_runs: int = 3,
    seed: int = 0,
    progress: bool = True,
) -> PerfRun:
    """Measure every size in ``sizes`` (see the module docstring); ``ask_runs=0`` skips the model."""
    from secondme.eval.corpus import perf_queries

    started = time.perf_counter()
    load_at_start = load_average()
    sizes = sorted(set(sizes))
    records: list[dict[str, Any]] = []
    scale: list[dict[str, Any]] = []
    query_list = perf_queries(seed=seed, n=queries)
    phases = 4
    with Workspace() as workspace:
        models = SharedModels(workspace.settings(), answers=False)
        models.embedder  # noqa: B018 - loaded before the clock starts for the first batch
        with Progress(sum(sizes) + phases * len(sizes), "perf", enabled=progress) as bar:
            for size in sizes:
                with workspace.home(f"perf-{size}", models) as app:
                    home = app.db_path.parent
                    env = {**os.environ, "SECONDME_HOME": str(home)}
                    row: dict[str, Any] = {"corpus_size": size}
                    errors: list[str] = []

                    bar.note(f"{size:,}: adding")
                    batches = fill(app, size, seed, on_batch=bar.advance)
                    row["add_s"] = round(sum(batches), 2)
                    row["add_per_s"] = round(size / sum(batches), 1) if sum(batches) else None
                    records.append(
                        {
                            "operation": f"add_many ({BATCH})",
                            "corpus_size": size,
                            "latencies_ms": [t * 1000 for t in batches],
                        }
                    )

                    bar.note(f"{size:,}: searching in-process")
                    app.search(query_list[0])  # the first search opens the index: not a user's wait
                    for system, mode in SYSTEMS.items():
                        latencies = []
                        for query in query_list:
                            t0 = time.perf_counter()
                            app.search(query, mode=mode)
                            latencies.append((time.perf_counter() - t0) * 1000)
                        records.append(
                            {
                                "operation": f"search {system}",
                                "corpus_size": size,
                                "latencies_ms": latencies,
                            }
                        )
                        row[f"search_{system}_p50_ms"] = round(_p(latencies, 50) or 0, 2)
                        row[f"search_{system}_p95_ms"] = round(_p(latencies, 95) or 0, 2)
                    bar.advance()

                    bar.note(f"{size:,}: `mem search` and `mem --help` processes")
                    searches = [
                        run_process(["search", query_list[i % len(query_list)]], env)
                        for i in range(process_runs)
                    ]
                    helps = [run_process(["--help"], env) for _ in range(process_runs)]
                    for name, runs in (("mem search (process)", searches), ("mem --help", helps)):
                        ok = [r for r in runs if r.returncode == 0]
                        errors += [f"{name}: {r.error}" for r in runs if r.returncode][:1]
                        records.append(
                            {
                                "operation": name,
                                "corpus_size": size,
                                "latencies_ms": [r.seconds * 1000 for r in ok],
                            }
                        )
                    row["process_search_p50_ms"] = _round(_p([r.seconds * 1000 for r in searches], 50))
                    row["help_p50_ms"] = _round(_p([r.seconds * 1000 for r in helps], 50))
                    row["search_peak_rss_mb"] = round(max(r.peak_rss_mb for r in searches), 1)
                    bar.advance()

                    if ask_runs:
                        bar.note(f"{size:,}: `mem ask` processes")
                        asks = [
                            run_process(["ask", query_list[i % len(query_list)]], env)
                            for i in range(ask_runs)
                        ]
                        ok = [r for r in asks if r.returncode == 0]
                        errors += [f"mem ask: {r.error}" for r in asks if r.returncode][:1]
                        firsts = [r.first_byte_s * 1000 for r in ok if r.first_byte_s is not None]
                        records.append(
                            {"operation": "mem ask first token", "corpus_size": size, "latencies_ms": firsts}
                        )
                        records.append(
                            {
                                "operation": "mem ask total",
                                "corpus_size": size,
                                "latencies_ms": [r.seconds * 1000 for r in ok],
                            }
                        )
                        row["ask_first_token_p50_s"] = _round(_p([f / 1000 for f in firsts], 50), 2)
                        row["ask_total_p50_s"] = _round(_p([r.seconds for r in ok], 50), 2)
                        row["ask_peak_rss_mb"] = round(max(r.peak_rss_mb for r in asks), 1)
                    bar.advance()

                    bar.note(f"{size:,}: disk")
                    db = app.db_path
                    row["db_mb"] = round(
                        sum(directory_mb(db.with_name(db.name + suffix)) for suffix in ("", "-wal", "-shm")),
                        2,
                    )
                    row["chroma_mb"] = round(directory_mb(app.chroma_dir), 2)
                    row["eval_peak_rss_mb"] = round(own_peak_rss_mb(), 1)
                    row["load_average"] = load_average()
                    row["errors"] = "; ".join(errors)
                    scale.append(row)
                    bar.advance()
    llm = models.settings.llm
    params = {
        "sizes": sizes,
        "queries": len(query_list),
        "process_runs": process_runs,
        "ask_runs": ask_runs,
        "batch": BATCH,
        "seed": seed,
        "threads": models.threads(),
        "elapsed_s": round(time.perf_counter() - started, 1),
        "load_average": {"start": load_at_start, "end": load_average()},
    }
    notes = [
        "each size is a fresh home filled with generate_corpus(size, seed) through Secondme.add_many "
        f"in batches of {BATCH} (SQLite + FTS5, embedding, Chroma); `add /s` counts the whole of it",
        f"in-process search: {len(query_list)} perf_queries per system after one warm-up search, "
        "default k; the plot's `search *` lines",
        f"whole process: `mem search` and `mem --help` {process_runs} times, `mem ask` {ask_runs} "
        "times with the default model (first token = first byte on stdout); peak RSS from wait4",
        "eval process peak RSS is the benchmark's own high-water mark so far (it grows with the "
        "largest size measured, not only with the current one)",
    ]
    models_used = {"embedder": models.settings.embedder.model}
    if ask_runs:
        models_used["llm"] = llm.model_path or llm.model
    return PerfRun(records=records, scale=scale, models=models_used, params=params, notes=notes)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)

"""Benchmark reports: a JSON file for machines, a Markdown file for people, a PNG of the curves.

A run hands over its per-question *records* and, optionally, the summary it computed while
running.  Quality benchmarks (``locomo``, ``longmemeval``) use one record per question and
system::

    {"id": "conv-26#3", "system": "hybrid", "category": "multi-hop",
     "metrics": {"recall@5": 0.5, "recall@10": 1.0, "f1": 0.4}, ...anything else...}

A metric may be None when it does not apply to that question (no evidence, unscoreable);
averages skip it.  The speed benchmark (``perf``) uses one record per operation and corpus size::

    {"operation": "search:hybrid", "corpus_size": 10000, "latencies_ms": [3.1, 2.9, ...]}

:func:`recompute_summary` and :func:`recompute_perf_summary` rebuild a summary from the records
alone, so a test can check that what a run reported agrees with what its records say.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import secondme
from secondme.errors import InputError
from secondme.eval.datasets import LME_QUESTION_TYPES, LOCOMO_CATEGORIES
from secondme.eval.metrics import mean, percentile
from secondme.textsplit import snippet

BENCH_TITLES = {"locomo": "LoCoMo", "longmemeval": "LongMemEval_S", "perf": "Speed"}
_AT_K = re.compile(r"^(?P<family>.+)@(?P<k>\d+)$")
_KNOWN_CATEGORY_ORDER = [*LOCOMO_CATEGORIES.values(), *LME_QUESTION_TYPES]


@dataclass
class ReportFiles:
    """The files one report wrote; ``png`` is None when the plot was skipped."""

    json: Path
    markdown: Path
    png: Path | None


def default_results_dir() -> Path:
    """``bench/results`` in the source checkout when there is one, else under the current dir."""
    repo = Path(secondme.__file__).resolve().parents[1]
    if (repo / "bench").is_dir():
        return repo / "bench" / "results"
    return Path.cwd() / "bench" / "results"


# --- summaries ----------------------------------------------------------------------------------


def recompute_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Average a quality run's records per system, overall and per category.

    Returns ``{"systems", "metrics", "categories", "overall", "by_category"}`` where
    ``overall[system][metric]`` and ``by_category[category][system][metric]`` are
    ``{"mean": float | None, "n": int}``; ``n`` counts the records where the metric was not
    None.  Systems and metrics keep the order they first appear in; categories follow the
    benchmarks' own order, unknown ones after.
    """
    records = list(records)
    systems: dict[str, None] = {}
    metric_names: dict[str, None] = {}
    categories: dict[str, None] = {}
    for n, record in enumerate(records):
        for key in ("system", "metrics"):
            if key not in record:
                raise InputError(f"benchmark record {n} has no {key!r}")
        systems.setdefault(str(record["system"]), None)
        categories.setdefault(str(record.get("category", "")), None)
        for name in record["metrics"]:
            metric_names.setdefault(str(name), None)

    def cell(selected: list[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
        out = {}
        for name in metric_names:
            values = [r["metrics"].get(name) for r in selected]
            kept = [v for v in values if v is not None]
            out[name] = {"mean": mean(kept), "n": len(kept)}
        return out

    ordered_categories = _order_categories(categories)
    overall = {s: cell([r for r in records if str(r["system"]) == s]) for s in systems}
    by_category = {
        c: {
            s: cell([r for r in records if str(r["system"]) == s and str(r.get("category", "")) == c])
            for s in systems
        }
        for c in ordered_categories
    }
    return {
        "systems": list(systems),
        "metrics": list(metric_names),
        "categories": ordered_categories,
        "overall": overall,
        "by_category": by_category,
    }


def recompute_perf_summary(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Latency percentiles per operation and corpus size, from ``perf`` records.

    Returns ``{"operations", "sizes", "series"}`` with
    ``series[operation][str(size)] = {"n", "mean_ms", "p50_ms", "p95_ms", "p99_ms"}``.
    Records of the same operation and size are pooled.  Sizes are sorted ascending.
    """
    pooled: dict[str, dict[int, list[float]]] = {}
    for n, record in enumerate(records):
        try:
            operation = str(record["operation"])
            size = int(record["corpus_size"])
            latencies = [float(v) for v in record["latencies_ms"]]
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"perf record {n} needs 'operation', 'corpus_size' and a list 'latencies_ms'"
            ) from None
        pooled.setdefault(operation, {}).setdefault(size, []).extend(latencies)
    series: dict[str, dict[str, dict[str, Any]]] = {}
    for operation, by_size in pooled.items():
        series[operation] = {}
        for size in sorted(by_size):
            values = by_size[size]
            series[operation][str(size)] = {
                "n": len(values),
                "mean_ms": mean(values),
                "p50_ms": percentile(values, 50) if values else None,
                "p95_ms": percentile(values, 95) if values else None,
                "p99_ms": percentile(values, 99) if values else None,
            }
    sizes = sorted({size for by_size in pooled.values() for size in by_size})
    return {"operations": list(pooled), "sizes": sizes, "series": series}


def summary_mismatches(
    reported: Mapping[str, Any], recomputed: Mapping[str, Any], *, tolerance: float = 1e-9
) -> list[str]:
    """Where two summaries differ, as readable paths (``overall.hybrid.f1.mean: 0.5 != 0.4``).

    Numbers are compared within ``tolerance`` and lists of names (systems, metrics,
    categories) as sets, since their order only follows the records'; an empty list means
    they agree.
    """
    problems: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in dict.fromkeys([*a, *b]):
                where = f"{path}.{key}" if path else str(key)
                if key not in a or key not in b:
                    problems.append(f"{where}: only in {'reported' if key in a else 'recomputed'}")
                else:
                    walk(a[key], b[key], where)
        elif _is_number(a) and _is_number(b):
            if abs(float(a) - float(b)) > tolerance:
                problems.append(f"{path}: {a} != {b}")
        elif _names(a) and _names(b):
            if sorted(a) != sorted(b):
                problems.append(f"{path}: {sorted(a)!r} != {sorted(b)!r}")
        elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, f"{path}[{i}]")
        elif a != b:
            problems.append(f"{path}: {a!r} != {b!r}")

    walk(reported, recomputed, "")
    return problems


def _names(value: Any) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _order_categories(categories: Iterable[str]) -> list[str]:
    seen = list(categories)
    known = [c for c in _KNOWN_CATEGORY_ORDER if c in seen]
    return known + [c for c in seen if c not in known]


# --- metadata -----------------------------------------------------------------------------------


def run_metadata(
    *,
    models: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What a result depends on: date, commit, machine, Python, models and run parameters."""
    from secondme.models import cpu

    now = now or datetime.now().astimezone()
    return {
        "date": now.isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "secondme_version": secondme.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu.cpu_model(),
        "cpu_count": os.cpu_count(),
        "ram_gib": ram_gib(),
        "llama_cpp": cpu.loaded_build(),
        "models": dict(models or {}),
        "params": dict(params or {}),
    }


def git_commit() -> str | None:
    """The short commit of the source checkout, or None outside git or before a first commit."""
    repo = Path(secondme.__file__).resolve().parents[1]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = done.stdout.strip()
    return commit if done.returncode == 0 and commit else None


def ram_gib() -> float | None:
    """Total memory in GiB, from /proc/meminfo where there is one, else from sysconf."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (AttributeError, ValueError, OSError):
        return None


# --- writing ------------------------------------------------------------------------------------


def write_report(
    bench: str,
    records: Sequence[Mapping[str, Any]],
    *,
    summary: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    models: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
    now: datetime | None = None,
    plot: bool = True,
) -> ReportFiles:
    """Write ``<bench>-<YYYYMMDD-HHMM>.json``, ``.md`` and ``.png`` into ``out_dir``.

    ``summary`` is what the run computed; without one it is recomputed from ``records``
    (:func:`recompute_summary`, or :func:`recompute_perf_summary` when ``bench == "perf"``).
    ``out_dir`` defaults to :func:`default_results_dir`.  When a report of the same minute
    exists, ``-2``, ``-3``... is added to the stamp rather than overwrite it.  The PNG is
    skipped (``png`` is None) when ``plot`` is False or matplotlib is not installed.
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", bench or ""):
        raise InputError(f"bad benchmark name {bench!r}", hint="use letters, digits, - or _")
    records = list(records)
    is_perf = bench == "perf"
    if summary is None:
        summary = recompute_perf_summary(records) if is_perf else recompute_summary(records)
    metadata = run_metadata(models=models, params=params, now=now)
    stamp_time = datetime.fromisoformat(metadata["date"])

    directory = Path(out_dir) if out_dir is not None else default_results_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create results directory {directory}: {exc}") from None
    base = free_base(directory, f"{bench}-{stamp_time:%Y%m%d-%H%M}")
    json_path = directory / f"{base}.json"
    md_path = directory / f"{base}.md"

    payload = {"bench": bench, "metadata": metadata, "summary": summary, "records": records}
    json_path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")

    plot_note = None
    png_path: Path | None = None
    if plot:
        try:
            if is_perf:
                png_path = plot_perf(summary, directory / f"{base}.png")
            else:
                title = BENCH_TITLES.get(bench, bench)
                png_path = plot_quality(summary, directory / f"{base}.png", title=title)
        except ImportError:
            plot_note = "plot skipped: matplotlib is not installed"

    if is_perf:
        markdown = perf_markdown(summary, metadata, png=png_path)
    else:
        markdown = quality_markdown(bench, summary, metadata, png=png_path, records=records)
    if plot_note:
        markdown += f"\n_{plot_note}_\n"
    md_path.write_text(markdown, encoding="utf-8")
    return ReportFiles(json=json_path, markdown=md_path, png=png_path)


def free_base(directory: Path, base: str) -> str:
    """``base``, or ``base-2``, ``base-3`` ...: the first name no report in ``directory`` has."""
    candidate, n = base, 1
    while any((directory / f"{candidate}{ext}").exists() for ext in (".json", ".md", ".png")):
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def _metadata_lines(metadata: Mapping[str, Any]) -> list[str]:
    models = metadata.get("models") or {}
    params = metadata.get("params") or {}
    lines = [
        f"- date: {metadata.get('date')}",
        f"- commit: {metadata.get('git_commit') or 'unknown'}",
        f"- machine: {metadata['cpu'] + ', ' if metadata.get('cpu') else ''}"
        f"{metadata.get('cpu_count')} cores, {metadata.get('ram_gib')} GiB RAM, {metadata.get('platform')}",
        f"- python: {metadata.get('python')}, secondme {metadata.get('secondme_version')}",
    ]
    build = metadata.get("llama_cpp")
    if build:
        features = " ".join(build.get("features") or []) or "no x86 extensions"
        lines.append(f"- llama.cpp: llama-cpp-python {build.get('version')}, CPU build {features}")
    if models:
        lines.append("- models: " + ", ".join(f"{k}={v}" for k, v in models.items()))
    if params:
        lines.append("- parameters: " + ", ".join(f"{k}={v}" for k, v in params.items()))
    return lines


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def quality_markdown(
    bench: str,
    summary: Mapping[str, Any],
    metadata: Mapping[str, Any],
    *,
    png: Path | None = None,
    records: Sequence[Mapping[str, Any]] = (),
) -> str:
    """The Markdown report of a quality run: an overall table, then one table per metric
    with a row per category and a column per system, then where answers were declined
    (:func:`declines`) when ``records`` hold answers."""
    systems = list(summary.get("systems", []))
    metric_names = list(summary.get("metrics", []))
    title = BENCH_TITLES.get(bench, bench)
    lines = [f"# {title} results", "", *_metadata_lines(metadata), ""]
    if png is not None:
        lines += [f"![{title} plots]({png.name})", ""]

    lines += ["## Overall", ""]
    overall = summary.get("overall", {})
    rows = []
    for name in metric_names:
        cells = [overall.get(s, {}).get(name, {}) for s in systems]
        n = max((c.get("n", 0) for c in cells), default=0)
        rows.append([name, str(n), *(_fmt(c.get("mean")) for c in cells)])
    lines += _table(["metric", "n", *systems], rows)

    by_category = summary.get("by_category", {})
    for name in metric_names:
        lines += ["", f"## {name} by category", ""]
        rows = []
        for label, per_system in [("**overall**", overall), *by_category.items()]:
            cells = [per_system.get(s, {}).get(name, {}) for s in systems]
            n = max((c.get("n", 0) for c in cells), default=0)
            rows.append([label, str(n), *(_fmt(c.get("mean")) for c in cells)])
        lines += _table(["category", "n", *systems], rows)
    table = declines(records)
    if table:
        from secondme.answer.pipeline import DECLINE_SOURCES

        lines += [
            "",
            "## Declined answers, by where they were declined",
            "",
            "Answerable questions declined (false abstention) and questions the memories do not "
            "answer declined (abstention), counted by the step that declined them.",
            "",
        ]
        rows = [
            [
                f"{kind}: {category}",
                str(sum(counts.values())),
                *(str(counts.get(s, 0)) for s in DECLINE_SOURCES),
            ]
            for (kind, category), counts in table.items()
        ]
        lines += _table(["declined", "all", *DECLINE_SOURCES], rows)
    drafts = declined_drafts(records)
    if drafts:
        lines += [
            "",
            "## Answerable questions declined after the model had answered",
            "",
            f"{drafts_line(drafts)}  Each with the model's own answer and what it would have scored.",
            "",
        ]
        rows = [
            [
                _fmt(r.get("draft_score")),
                _cell(r.get("question")),
                _cell(r.get("draft")),
                _cell(r.get("gold")),
                str(r.get("declined_by") or "model"),
            ]
            for r in drafts
        ]
        lines += _table(["would have scored", "question", "the model's answer", "gold", "declined by"], rows)
    flags = unsure_answers(records)
    if flags["answers"]:
        lines += [
            "",
            "## Answers flagged unsure",
            "",
            f"{unsure_line(flags)}  Wrong: scored below {RIGHT_ANSWER} (F1 or accuracy), or answered a "
            "question the memories do not answer. Unsure: the model gave its least likely word a "
            "probability below `answer.unsure_below`.",
        ]
    return "\n".join(lines) + "\n"


#: An answer scoring this much or more (F1, or the judge's accuracy) counts as right; so does a
#: declined answer that would have, as one a check lost.
RIGHT_ANSWER = 0.5


def answered_wrong(record: Mapping[str, Any]) -> bool | None:
    """Whether an answer the model gave (not a decline) was wrong: it scored below
    :data:`RIGHT_ANSWER`, or it answered a question the memories do not answer.  None for a
    decline or a record without an answer's score."""
    metrics = record.get("metrics") or {}
    if record.get("abstained"):
        return None
    score = metrics.get("f1", metrics.get("accuracy"))
    if score is None:
        return True if "abstention" in metrics else None
    return bool(score < RIGHT_ANSWER)


def unsure_answers(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Of the answers the model gave (not declined, with a confidence), how many were wrong, how
    many were flagged unsure, and how many flagged ones were wrong."""
    counts = {"answers": 0, "wrong": 0, "flagged": 0, "flagged_wrong": 0}
    for record in records:
        wrong = answered_wrong(record)
        if wrong is None or record.get("confidence") is None:
            continue
        flagged = bool(record.get("unsure"))
        counts["answers"] += 1
        counts["wrong"] += wrong
        counts["flagged"] += flagged
        counts["flagged_wrong"] += flagged and wrong
    return counts


def unsure_line(counts: Mapping[str, int]) -> str:
    """One sentence on :func:`unsure_answers`."""
    flagged, wrong = counts["flagged"], counts["wrong"]
    share = f" ({counts['flagged_wrong'] / flagged:.0%})" if flagged else ""
    return (
        f"{flagged} of {counts['answers']} answers flagged unsure, {counts['flagged_wrong']} of them "
        f"wrong{share}; {counts['flagged_wrong']} of the {wrong} wrong answers flagged."
    )


def declined_drafts(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The answerable questions declined after the model had answered them (the records with a
    ``draft_score``, :func:`secondme.eval.runner.keep_draft_score`), best-scoring first."""
    found = [r for r in records if "draft_score" in r]
    return sorted(found, key=lambda r: -(r["draft_score"] if r["draft_score"] is not None else -1.0))


def drafts_line(drafts: Sequence[Mapping[str, Any]]) -> str:
    """One sentence on :func:`declined_drafts`: how many, and how many would have been right."""
    scores = [float(r["draft_score"]) for r in drafts if r.get("draft_score") is not None]
    right = sum(score >= RIGHT_ANSWER for score in scores)
    mean = f", mean {sum(scores) / len(scores):.3f}" if scores else ""
    return (
        f"{len(drafts)} declined after the model had answered; {right} of them would have scored "
        f"{RIGHT_ANSWER} or more{mean}."
    )


def _cell(value: Any) -> str:
    """A value as the text of one Markdown table cell: one line, its own bars escaped."""
    return snippet(str(value if value is not None else ""), 160).replace("|", "\\|")


def declines(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, int]]:
    """How many answers were declined where, per (kind, category): the records whose false
    abstention (kind "false") or abstention (kind "right") is 1, by their ``declined_by``; an
    answer that reads as a refusal without the answer path flagging it is the model's."""
    table: dict[tuple[str, str], dict[str, int]] = {}
    for record in records:
        metrics = record.get("metrics") or {}
        if metrics.get("false_abstention") == 1.0:
            kind = "false"
        elif metrics.get("abstention") == 1.0:
            kind = "right"
        else:
            continue
        counts = table.setdefault((kind, str(record.get("category"))), {})
        source = str(record.get("declined_by") or "model")
        counts[source] = counts.get(source, 0) + 1
    return dict(sorted(table.items()))


def perf_markdown(summary: Mapping[str, Any], metadata: Mapping[str, Any], *, png: Path | None = None) -> str:
    """The Markdown report of a speed run: p50 and p95 latency per operation and corpus size."""
    operations = list(summary.get("operations", []))
    series = summary.get("series", {})
    lines = ["# Speed results", "", *_metadata_lines(metadata), ""]
    if png is not None:
        lines += [f"![latency plot]({png.name})", ""]
    header = ["corpus size"]
    for op in operations:
        header += [f"{op} p50 ms", f"{op} p95 ms"]
    rows = []
    for size in summary.get("sizes", []):
        row = [f"{int(size):,}"]
        for op in operations:
            stats = series.get(op, {}).get(str(size), {})
            row += [_fmt(stats.get("p50_ms")), _fmt(stats.get("p95_ms"))]
        rows.append(row)
    lines += _table(header, rows)
    return "\n".join(lines) + "\n"


# --- plots --------------------------------------------------------------------------------------


def _figure(width: float, height: float) -> Any:
    # The object API draws without pyplot's global state, so any backend the user configured
    # is left alone and PNGs render headless.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _at_k_families(metric_names: Iterable[str]) -> dict[str, list[tuple[int, str]]]:
    families: dict[str, list[tuple[int, str]]] = {}
    for name in metric_names:
        match = _AT_K.match(name)
        if match:
            families.setdefault(match["family"], []).append((int(match["k"]), name))
    return {family: sorted(points) for family, points in families.items()}


def plot_quality(
    summary: Mapping[str, Any], path: Path, *, title: str = "", bar_metric: str | None = None
) -> Path:
    """Draw recall@k curves per system (left) and per-category bars of one metric (right).

    ``bar_metric`` defaults to the largest-k metric of the first ``@k`` family, else the first
    metric.  Raises ImportError when matplotlib is missing.
    """
    systems = list(summary.get("systems", []))
    metric_names = list(summary.get("metrics", []))
    overall = summary.get("overall", {})
    by_category = summary.get("by_category", {})
    families = _at_k_families(metric_names)
    if bar_metric is None:
        if families:
            bar_metric = next(iter(families.values()))[-1][1]
        elif metric_names:
            bar_metric = metric_names[0]

    figure = _figure(12, 4.8)
    curves, bars = figure.subplots(1, 2)
    styles = ["-", "--", ":", "-."]
    colors = [f"C{i}" for i in range(10)]
    for f, (family, points) in enumerate(families.items()):
        for s, system in enumerate(systems):
            xs = [k for k, _ in points]
            ys = [overall.get(system, {}).get(name, {}).get("mean") for _, name in points]
            kept = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
            if kept:
                curves.plot(
                    [x for x, _ in kept],
                    [y for _, y in kept],
                    styles[f % len(styles)],
                    marker="o",
                    color=colors[s % len(colors)],
                    label=f"{system} {family}",
                )
    all_k = sorted({k for points in families.values() for k, _ in points})
    if all_k:
        curves.set_xticks(all_k)
    curves.set_xlabel("k")
    curves.set_ylabel("score")
    curves.set_ylim(0, 1.02)
    curves.set_title("@k metrics, all questions")
    if families:
        curves.legend(fontsize="small")
    else:
        curves.text(0.5, 0.5, "no @k metrics", ha="center", va="center")

    categories = list(by_category)
    width = 0.8 / max(len(systems), 1)
    for s, system in enumerate(systems):
        heights = [
            by_category[c].get(system, {}).get(bar_metric or "", {}).get("mean") or 0.0 for c in categories
        ]
        positions = [i + (s - (len(systems) - 1) / 2) * width for i in range(len(categories))]
        bars.bar(positions, heights, width, label=system, color=colors[s % len(colors)])
    bars.set_xticks(range(len(categories)), categories, rotation=30, ha="right")
    bars.set_ylim(0, 1.02)
    bars.set_title(f"{bar_metric} by category")
    if systems:
        bars.legend(fontsize="small")
    if title:
        figure.suptitle(title)
    figure.savefig(path)
    return path


def plot_perf(summary: Mapping[str, Any], path: Path) -> Path:
    """Draw latency against corpus size (log x): p50 solid, p95 dashed, one colour per operation.

    Raises ImportError when matplotlib is missing.
    """
    figure = _figure(8, 5)
    axes = figure.subplots()
    series = summary.get("series", {})
    plotted = False
    for i, operation in enumerate(summary.get("operations", [])):
        points = sorted((int(size), stats) for size, stats in series.get(operation, {}).items())
        for key, style in (("p50_ms", "-"), ("p95_ms", "--")):
            kept = [(size, stats[key]) for size, stats in points if stats.get(key) is not None]
            if kept:
                axes.plot(
                    [x for x, _ in kept],
                    [y for _, y in kept],
                    style,
                    marker="o",
                    color=f"C{i % 10}",
                    label=f"{operation} {key.removesuffix('_ms')}",
                )
                plotted = True
    axes.set_xscale("log")
    axes.set_xlabel("corpus size (memories)")
    axes.set_ylabel("latency (ms)")
    axes.set_title("Latency against corpus size")
    axes.grid(True, which="both", alpha=0.3)
    if plotted:
        axes.legend(fontsize="small")
    figure.savefig(path)
    return path

"""``mem eval``: benchmarks of memory quality (LoCoMo, LongMemEval) and of speed and scale."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from secondme.cli.options import JsonOpt
from secondme.cli.output import emit_json
from secondme.errors import InputError

if TYPE_CHECKING:
    from secondme.eval.report import ReportFiles
    from secondme.eval.runner import EvalRun

eval_app = typer.Typer(
    help="Benchmarks: memory quality on LoCoMo and LongMemEval, speed at 1k-100k memories.",
    no_args_is_help=True,
)

PathArg = Annotated[
    Path | None,
    typer.Argument(
        help="The benchmark file (default: the dev split in ../shared/bench, or $SECONDME_BENCH_DIR).",
        show_default=False,
    ),
]
LimitOpt = Annotated[
    int | None, typer.Option("--limit", min=1, help="Only the first N questions (a quick look).")
]
AnswerLimitOpt = Annotated[
    int | None,
    typer.Option(
        "--answer-limit",
        min=0,
        help="Answer only N questions, spread evenly over the run (retrieval still covers all).",
    ),
]
HeldOutOpt = Annotated[
    bool,
    typer.Option(
        "--held-out",
        help="Answer questions outside the default sample, which changes to the answer path were "
        "measured on: figures from questions not looked at.",
    ),
]
FreshOpt = Annotated[
    bool,
    typer.Option(
        "--fresh",
        help="Answer questions outside both the default and the --held-out sample: answer rules "
        "have been read against those two, not against these.",
    ),
]
NoAnswersOpt = Annotated[
    bool, typer.Option("--no-answers", help="Skip the answer model: retrieval metrics only.")
]
OutOpt = Annotated[
    Path | None,
    typer.Option("--out", help="Directory for the JSON, Markdown and PNG report (default: bench/results)."),
]
NoCacheOpt = Annotated[
    bool,
    typer.Option(
        "--no-embedding-cache",
        help="Embed every text afresh instead of reusing vectors from earlier runs.",
    ),
]


def _show(run: EvalRun, files: ReportFiles, json_: bool) -> None:
    mismatches = run.mismatches()
    if mismatches:
        # The report is written either way; the warning says which numbers to distrust.
        print(
            f"warning: the summary disagrees with its records in {len(mismatches)} places: "
            + "; ".join(mismatches[:3]),
            file=sys.stderr,
        )
    paths = {"json": str(files.json), "markdown": str(files.markdown), "png": files.png and str(files.png)}
    if json_:
        emit_json(
            {
                "bench": run.bench,
                "summary": run.summary,
                "params": run.params,
                "models": run.models,
                "files": paths,
            }
        )
        return
    summary = run.summary
    systems = summary["systems"]
    header = f"{'metric':<16}" + "".join(f"{s:>10}" for s in systems)
    typer.echo(header)
    for metric in summary["metrics"]:
        cells = []
        for system in systems:
            mean = summary["overall"][system][metric]["mean"]
            cells.append(f"{'-' if mean is None else f'{mean:.3f}':>10}")
        typer.echo(f"{metric:<16}" + "".join(cells))
    params = run.params
    answered = f"{params.get('answered')} answered"
    if params.get("answer_sample") == "held out":
        answered += " (held out: outside the default sample)"
    elif params.get("answer_sample") == "fresh":
        answered += " (fresh: outside the default and the held-out samples)"
    typer.echo(
        f"\n{params.get('questions')} questions, {answered}, {params.get('failed')} failed, "
        f"{params.get('elapsed_s')} s.  Report: {files.markdown}"
    )
    if params.get("settings"):
        changed = ", ".join(f"{key} = {value!r}" for key, value in params["settings"].items())
        typer.echo(f"Settings not the defaults: {changed}.")
    _show_declines(run.records)
    if run.failed:
        typer.echo(f"{len(run.failed)} failed records are listed in the report.", err=True)


def _show_declines(records: list[dict[str, Any]]) -> None:
    """How many answers were declined, and where (see the report's table); how many were flagged
    unsure, and how many of those were wrong."""
    from collections import Counter

    from secondme.answer.pipeline import DECLINE_SOURCES
    from secondme.eval.report import declined_drafts, declines, drafts_line, unsure_answers, unsure_line

    by_kind: dict[str, Counter[str]] = {"false": Counter(), "right": Counter()}
    for (kind, _category), counts in declines(records).items():
        by_kind[kind].update(counts)
    parts = []
    for name, counts in (("answerable", by_kind["false"]), ("not answerable", by_kind["right"])):
        if counts:
            where = ", ".join(f"{source} {counts[source]}" for source in DECLINE_SOURCES if counts[source])
            parts.append(f"{name} {sum(counts.values())} ({where})")
    if parts:
        typer.echo("Declined: " + "; ".join(parts) + ".")
    drafts = declined_drafts(records)
    if drafts:
        typer.echo(f"Answerable questions: {drafts_line(drafts)}")
    flags = unsure_answers(records)
    if flags["answers"]:
        typer.echo(f"Unsure: {unsure_line(flags)}")


def _check_answers(
    no_answers: bool, answer_limit: int | None, held_out: bool = False, fresh: bool = False
) -> None:
    if no_answers and answer_limit:
        raise InputError("--no-answers and --answer-limit contradict each other", hint="pass one of them")
    if no_answers and held_out:
        raise InputError("--no-answers and --held-out contradict each other", hint="pass one of them")
    if no_answers and fresh:
        raise InputError("--no-answers and --fresh contradict each other", hint="pass one of them")
    if held_out and fresh:
        raise InputError("--held-out and --fresh are two different samples", hint="pass one of them")


@eval_app.command("locomo")
def locomo(
    path: PathArg = None,
    limit: LimitOpt = None,
    no_answers: NoAnswersOpt = False,
    answer_limit: AnswerLimitOpt = None,
    held_out: HeldOutOpt = False,
    fresh: FreshOpt = False,
    out: OutOpt = None,
    no_cache: NoCacheOpt = False,
    json_: JsonOpt = False,
) -> None:
    """LoCoMo: turn-level evidence recall@5/10/20, answer F1 and (false) abstention per category.

    Retrieval covers every question; answers cover 150 of them spread over the split unless
    --answer-limit says otherwise (about 400 prompt tokens each: 4-8 s on two CPU cores).
    --held-out answers others instead, spread over the questions the default sample leaves out;
    --fresh answers questions outside both.
    """
    from secondme.eval.locomo import DEFAULT_ANSWERS, run_locomo

    _check_answers(no_answers, answer_limit, held_out, fresh)
    run = run_locomo(
        path,
        limit=limit,
        answers=not no_answers,
        answer_limit=DEFAULT_ANSWERS if answer_limit is None else answer_limit,
        held_out=held_out,
        fresh=fresh,
        embedding_cache=not no_cache,
        progress=True,
    )
    _show(run, run.write(out), json_)


@eval_app.command("longmemeval")
def longmemeval(
    path: PathArg = None,
    limit: LimitOpt = None,
    no_answers: NoAnswersOpt = False,
    answer_limit: AnswerLimitOpt = None,
    out: OutOpt = None,
    no_cache: NoCacheOpt = False,
    json_: JsonOpt = False,
) -> None:
    """LongMemEval_S: session recall_any/all@k, NDCG@10 and answer accuracy per type, three systems."""
    from secondme.eval.longmemeval import run_longmemeval

    _check_answers(no_answers, answer_limit)
    run = run_longmemeval(
        path,
        limit=limit,
        answers=not no_answers,
        answer_limit=answer_limit,
        embedding_cache=not no_cache,
        progress=True,
    )
    _show(run, run.write(out), json_)


@eval_app.command("recheck")
def recheck(
    report: Annotated[Path, typer.Argument(help="A LoCoMo or LongMemEval report (the .json file).")],
    json_: JsonOpt = False,
) -> None:
    """Recompute a report's numbers from its per-question records; exit 1 if any disagree."""
    from secondme.errors import SecondmeError
    from secondme.eval.recheck import recheck as run_recheck

    summary, mismatches = run_recheck(report)
    if json_:
        emit_json({"report": str(report), "agrees": not mismatches, "mismatches": mismatches})
    elif mismatches:
        typer.echo(f"{report}: {len(mismatches)} numbers disagree with the records:", err=True)
        for line in mismatches:
            typer.echo(f"  {line}", err=True)
    else:
        cells = sum(len(metrics) for metrics in summary["overall"].values())
        typer.echo(f"{report}: every number agrees with its records ({cells} overall cells checked)")
    if mismatches:
        raise SecondmeError(
            f"{len(mismatches)} numbers in {report} disagree with its records",
            hint="the report was edited or written by another version; run the benchmark again",
        )


def _sizes(text: str) -> list[int]:
    sizes = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        scale = 1
        if part.endswith("k"):
            part, scale = part[:-1], 1000
        elif part.endswith("m"):
            part, scale = part[:-1], 1_000_000
        try:
            value = int(float(part) * scale)
        except ValueError:
            raise InputError(
                f"not a corpus size: {part!r}", hint="e.g. --sizes 1000,10000 or 1k,10k"
            ) from None
        if value < 1:
            raise InputError(f"corpus sizes must be positive, got {value}")
        sizes.append(value)
    if not sizes:
        raise InputError("no corpus size given", hint="e.g. --sizes 1000,10000,100000")
    return sorted(set(sizes))


@eval_app.command("perf")
def perf(
    sizes: Annotated[
        str, typer.Option("--sizes", help="Corpus sizes, comma-separated (1k, 10k, 100k accepted).")
    ] = "1000,10000,100000",
    million: Annotated[bool, typer.Option("--million", help="Also measure at 1,000,000 memories.")] = False,
    queries: Annotated[int, typer.Option("--queries", min=1, help="In-process searches per mode.")] = 50,
    process_runs: Annotated[
        int, typer.Option("--process-runs", min=1, help="Whole-process `mem search` and `--help` runs.")
    ] = 10,
    ask_runs: Annotated[
        int, typer.Option("--ask-runs", min=0, help="Whole-process `mem ask` runs (0: skip the model).")
    ] = 3,
    out: OutOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Speed and scale: add throughput, search and ask latency, disk and memory at each corpus size."""
    from secondme.eval.perf import run_perf

    chosen = _sizes(sizes)
    if million and 1_000_000 not in chosen:
        chosen.append(1_000_000)
    run = run_perf(chosen, queries=queries, process_runs=process_runs, ask_runs=ask_runs, progress=True)
    files = run.write(out)
    if json_:
        payload: dict[str, Any] = {
            "bench": "perf",
            "summary": run.summary,
            "scale": run.scale,
            "models": run.models,
            "files": {
                "json": str(files.json),
                "markdown": str(files.markdown),
                "png": files.png and str(files.png),
            },
        }
        emit_json(payload)
        return
    for row in run.scale:
        typer.echo(
            f"{row['corpus_size']:>9,}  add {row['add_per_s']:.0f}/s  "
            f"search p95 {row['search_hybrid_p95_ms']:.1f} ms  db {row['db_mb']:.1f} MB  "
            f"chroma {row['chroma_mb']:.1f} MB"
        )
    typer.echo(f"\nReport: {files.markdown}")


def register(app: typer.Typer) -> None:
    """Add ``mem eval`` to ``app``."""
    app.add_typer(eval_app, name="eval")

"""Benchmark reports: summaries agree with their records, and the three files are written."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import pytest

from secondme.errors import InputError
from secondme.eval.report import (
    recompute_perf_summary,
    recompute_summary,
    run_metadata,
    summary_mismatches,
    write_report,
)

NOW = datetime(2024, 1, 2, 3, 4, 5).astimezone()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _records():
    # Categories arrive out of the benchmark's order; the summary puts them back in it.
    rows = [
        ("q1", "single-hop", {"recall@1": 1.0, "recall@5": 1.0, "f1": 0.5}),
        ("q2", "single-hop", {"recall@1": 0.0, "recall@5": 0.5, "f1": 1.0}),
        ("q3", "multi-hop", {"recall@1": 0.0, "recall@5": 1.0, "f1": 0.0}),
        ("q4", "adversarial", {"recall@1": None, "recall@5": None, "f1": 1.0}),
    ]
    records = []
    for system, shift in (("bm25", 0.0), ("hybrid", 0.25)):
        for qid, category, metrics in rows:
            shifted = {k: (None if v is None else min(1.0, v + shift)) for k, v in metrics.items()}
            records.append({"id": qid, "system": system, "category": category, "metrics": shifted})
    return records


def test_recompute_summary_by_hand():
    summary = recompute_summary(_records())
    assert summary["systems"] == ["bm25", "hybrid"]
    assert summary["metrics"] == ["recall@1", "recall@5", "f1"]
    assert summary["categories"] == ["multi-hop", "single-hop", "adversarial"]
    bm25 = summary["overall"]["bm25"]
    assert bm25["recall@1"] == {"mean": pytest.approx(1 / 3), "n": 3}  # q4 has no evidence
    assert bm25["recall@5"] == {"mean": pytest.approx(2.5 / 3), "n": 3}
    assert bm25["f1"] == {"mean": pytest.approx(2.5 / 4), "n": 4}
    single_hop = summary["by_category"]["single-hop"]
    assert single_hop["bm25"]["f1"] == {"mean": pytest.approx(0.75), "n": 2}
    assert single_hop["hybrid"]["recall@1"] == {"mean": pytest.approx(0.625), "n": 2}
    assert summary["by_category"]["adversarial"]["hybrid"]["recall@5"] == {"mean": None, "n": 0}


def test_recompute_summary_needs_system_and_metrics():
    with pytest.raises(InputError, match="record 1"):
        recompute_summary([{"system": "a", "metrics": {}}, {"metrics": {}}])


def test_summary_mismatches():
    records = _records()
    reported = recompute_summary(records)
    assert summary_mismatches(reported, recompute_summary(list(reversed(records)))) == []
    reported["overall"]["hybrid"]["f1"]["mean"] += 0.01
    [problem] = summary_mismatches(reported, recompute_summary(records))
    assert problem.startswith("overall.hybrid.f1.mean:")
    reported["extra"] = 1
    assert "extra: only in reported" in summary_mismatches(reported, recompute_summary(records))


def test_write_report_writes_json_markdown_and_png(tmp_path):
    records = _records()
    files = write_report(
        "locomo",
        records,
        out_dir=tmp_path,
        models={"embedder": "all-MiniLM-L6-v2"},
        params={"k": 10},
        now=NOW,
    )
    assert files.json == tmp_path / "locomo-20240102-0304.json"
    assert files.markdown == tmp_path / "locomo-20240102-0304.md"
    assert files.png == tmp_path / "locomo-20240102-0304.png"

    payload = json.loads(files.json.read_text())
    assert payload["bench"] == "locomo"
    assert payload["records"] == records
    # The summary written agrees with an independent recomputation from the written records.
    assert summary_mismatches(payload["summary"], recompute_summary(payload["records"])) == []
    metadata = payload["metadata"]
    assert metadata["models"] == {"embedder": "all-MiniLM-L6-v2"}
    assert metadata["params"] == {"k": 10}
    assert metadata["cpu_count"] >= 1
    assert metadata["date"].startswith("2024-01-02T03:04:05")
    assert {"git_commit", "python", "ram_gib", "platform"} <= set(metadata)

    markdown = files.markdown.read_text()
    assert markdown.startswith("# LoCoMo results")
    assert "| metric | n | bm25 | hybrid |" in markdown
    assert "| f1 | 4 | 0.625 | 0.750 |" in markdown
    assert "## recall@5 by category" in markdown
    assert "| category | n | bm25 | hybrid |" in markdown
    assert "| adversarial | 0 | – | – |" in markdown
    assert "embedder=all-MiniLM-L6-v2" in markdown
    assert "![LoCoMo plots](locomo-20240102-0304.png)" in markdown

    assert files.png.read_bytes()[:8] == PNG_MAGIC


def test_write_report_keeps_a_given_summary_and_never_overwrites(tmp_path):
    records = _records()
    given = recompute_summary(records)
    first = write_report("longmemeval", records, summary=given, out_dir=tmp_path, now=NOW, plot=False)
    second = write_report("longmemeval", records, out_dir=tmp_path, now=NOW, plot=False)
    assert first.png is None
    assert second.json.name == "longmemeval-20240102-0304-2.json"
    assert json.loads(first.json.read_text())["summary"] == json.loads(json.dumps(given))
    assert "LongMemEval_S" in second.markdown.read_text()


def test_write_report_without_matplotlib_skips_the_plot(tmp_path, monkeypatch):
    for name in [*list(sys.modules), "matplotlib.figure", "matplotlib.backends.backend_agg"]:
        if name == "matplotlib" or name.startswith("matplotlib."):
            monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    files = write_report("locomo", _records(), out_dir=tmp_path, now=NOW)
    assert files.png is None
    assert "matplotlib is not installed" in files.markdown.read_text()


def test_write_report_rejects_odd_bench_names(tmp_path):
    with pytest.raises(InputError):
        write_report("../escape", _records(), out_dir=tmp_path, now=NOW)


def _perf_records():
    return [
        {"operation": "search:bm25", "corpus_size": 1000, "latencies_ms": [1.0, 2.0, 3.0, 4.0]},
        {"operation": "search:bm25", "corpus_size": 100000, "latencies_ms": [10.0, 30.0]},
        {"operation": "search:hybrid", "corpus_size": 1000, "latencies_ms": [5.0]},
        {"operation": "search:bm25", "corpus_size": 1000, "latencies_ms": [5.0]},
    ]


def test_recompute_perf_summary_by_hand():
    summary = recompute_perf_summary(_perf_records())
    assert summary["operations"] == ["search:bm25", "search:hybrid"]
    assert summary["sizes"] == [1000, 100000]
    small = summary["series"]["search:bm25"]["1000"]  # pooled: 1 2 3 4 5
    assert small["n"] == 5
    assert small["p50_ms"] == 3.0
    assert small["mean_ms"] == 3.0
    assert small["p95_ms"] == pytest.approx(4.8)
    large = summary["series"]["search:bm25"]["100000"]
    assert large["p50_ms"] == 20.0
    assert "100000" not in summary["series"]["search:hybrid"]


def test_recompute_perf_summary_rejects_incomplete_records():
    with pytest.raises(InputError, match="perf record 0"):
        recompute_perf_summary([{"operation": "x", "corpus_size": 10}])


def test_write_perf_report(tmp_path):
    files = write_report("perf", _perf_records(), out_dir=tmp_path, now=NOW)
    assert files.json.name == "perf-20240102-0304.json"
    payload = json.loads(files.json.read_text())
    assert summary_mismatches(payload["summary"], recompute_perf_summary(payload["records"])) == []
    markdown = files.markdown.read_text()
    assert "| corpus size | search:bm25 p50 ms | search:bm25 p95 ms |" in markdown
    assert "| 100,000 | 20.000 | 29.000 | – | – |" in markdown
    assert files.png is not None and files.png.read_bytes()[:8] == PNG_MAGIC


def test_run_metadata_reads_the_machine():
    metadata = run_metadata(now=NOW)
    assert metadata["ram_gib"] is None or metadata["ram_gib"] > 0
    assert metadata["models"] == {} and metadata["params"] == {}
    assert "cpu" in metadata


def test_reports_record_the_llama_cpp_build_that_answered(tmp_path, tiny_llm):
    import llama_cpp

    from secondme.models import cpu

    files = write_report("locomo", _records(), out_dir=tmp_path, now=NOW, plot=False)
    build = json.loads(files.json.read_text())["metadata"]["llama_cpp"]
    assert build["version"] == llama_cpp.__version__
    info = llama_cpp.llama_print_system_info().decode()
    assert build["features"] == cpu.build_features(info)
    if cpu.cpu_flags() is not None:
        assert "AVX" in build["features"] and cpu.missing(build["features"], cpu.cpu_flags() or ()) == []
    line = f"- llama.cpp: llama-cpp-python {llama_cpp.__version__}, CPU build {' '.join(build['features'])}"
    assert line in files.markdown.read_text().splitlines()


def test_importing_reports_does_not_load_matplotlib():
    code = "import sys, secondme.eval.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

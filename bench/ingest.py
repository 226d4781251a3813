"""Ingest and watcher figures on this machine (a benchmark, not a test).

    python bench/ingest.py [--messages 20000] [--notes 500] [--saves 10] [--idle 45] [--out bench/results]

Everything runs in throwaway homes and folders under a temp dir, through the real `mem` command:

- chat throughput: a generated WhatsApp export of ``--messages`` messages, `mem ingest` end to
  end (process start, parse, store, embeddings in batches of 256, vector index), in messages/s;
- notes throughput: ``--notes`` generated Markdown notes in one folder, `mem ingest`, notes/s;
- screenshots: the shared sample page plus two pages rendered with Pillow, OCR seconds per image
  (in-process) and `mem ingest` seconds per image;
- watcher latency: `mem watch` running, a note saved ``--saves`` times with a new word each time;
  the time from the save to the memory being searchable (in the full-text index and its vector
  written), polled from the database every 20 ms;
- watcher idle CPU: the watcher process's utime + stime from /proc over ``--idle`` seconds of
  nothing happening.

Writes ``ingest-<stamp>.json`` and ``.md`` into ``--out``.  The load average before and after is
recorded: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SAMPLE_PAGE = REPO.parent / "shared" / "samples" / "screenshots" / "page_screenshot.png"
MEM = [sys.executable, "-m", "secondme"]

_VOCABULARY = """
the a we you it train dinner tomorrow booked tickets lisbon porto coffee meeting project
deadline friday beach weather rain sun book movie call later okay sure thanks great idea
market bakery bike harbour museum concert flight hotel keys garden recipe soup tonight
weekend monday morning late early ticket table bring wine bread cheese birthday gift
"""
WORDS = _VOCABULARY.split()
PEOPLE = ["Ana", "Rui", "Marta", "Pedro", "Inês"]


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def mem(args: list[str], env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """Run `mem ARGS --json`; returns (seconds, parsed output)."""
    seconds, _cpu, output = mem_timed(args, env)
    return seconds, output


def mem_timed(args: list[str], env: dict[str, str]) -> tuple[float, float, dict[str, Any]]:
    """Run `mem ARGS --json`; returns (wall seconds, CPU seconds of the process, parsed output).

    CPU time says what the work costs whatever else the machine is doing; wall time is what a
    user waits, and grows when other processes want the same cores.
    """
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.run([*MEM, *args, "--json"], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    cpu = _children_cpu() - cpu
    if proc.returncode != 0:
        raise SystemExit(f"mem {' '.join(args)} failed: {proc.stderr[-800:]}")
    return seconds, cpu, json.loads(proc.stdout)


def fresh_env(root: Path, name: str) -> dict[str, str]:
    """The environment for a new, empty home."""
    return {**os.environ, "SECONDME_HOME": str(root / f"home-{name}")}


# -- generated inputs ---------------------------------------------------------------------------


def message_words(rng: random.Random) -> int:
    """Words in one chat message: log-normal, median 6, mean about 8, a few long ones.

    Instant messages are short (studies of WhatsApp and SMS corpora put the mean at 5-10
    words); the figure matters because embedding cost follows the number of tokens.
    """
    return min(80, max(1, round(rng.lognormvariate(1.8, 0.75))))


def whatsapp_export(path: Path, count: int, seed: int = 1) -> None:
    """A WhatsApp (Android) export: conversations of 5-40 messages, hours apart."""
    rng = random.Random(seed)
    moment = datetime(2023, 1, 2, 8, 0)
    lines: list[str] = []
    while len(lines) < count:
        for _ in range(rng.randint(5, 40)):
            moment += timedelta(seconds=rng.randint(10, 180))
            text = " ".join(rng.choice(WORDS) for _ in range(message_words(rng)))
            stamp = f"{moment.day:02d}/{moment.month:02d}/{moment.year % 100:02d}, {moment:%H:%M}"
            lines.append(f"{stamp} - {rng.choice(PEOPLE)}: {text}")
        moment += timedelta(hours=rng.randint(1, 20))
    path.write_text("\n".join(lines[:count]) + "\n", encoding="utf-8")


def markdown_notes(folder: Path, count: int, seed: int = 2) -> None:
    """Notes of one to four sections, 40-400 words, with front matter, tags and wikilinks."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        sections = []
        for s in range(rng.randint(1, 4)):
            body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 100)))
            sections.append(f"## Part {s + 1}\n\n{body} [[note-{rng.randrange(count):04d}]] #topic{s}\n")
        text = f"---\ntitle: Note {i}\ndate: 2024-03-{1 + i % 28:02d}\ntags: [bench]\n---\n\n"
        (folder / f"note-{i:04d}.md").write_text(text + "\n".join(sections), encoding="utf-8")


def rendered_pages(folder: Path) -> list[Path]:
    """Two screenshots of text made with Pillow: a chat-like page and a dense paragraph page."""
    from PIL import Image, ImageDraw, ImageFont

    folder.mkdir(parents=True, exist_ok=True)
    try:
        font = ImageFont.truetype("DejaVuSans.ttf", 20)
    except OSError:
        font = ImageFont.load_default()
    rng = random.Random(3)
    made = []
    for name, lines in [
        ("chat.png", [f"{rng.choice(PEOPLE)}: " + " ".join(rng.sample(WORDS, 8)) for _ in range(20)]),
        ("page.png", [" ".join(rng.sample(WORDS, 12)) for _ in range(36)]),
    ]:
        image = Image.new("RGB", (1280, 60 + 30 * len(lines)), "white")
        draw = ImageDraw.Draw(image)
        for row, line in enumerate(lines):
            draw.text((40, 30 + 30 * row), line, fill="black", font=font)
        path = folder / name
        image.save(path)
        made.append(path)
    return made


# -- the measurements ---------------------------------------------------------------------------


def bench_chats(root: Path, count: int) -> dict[str, Any]:
    folder = root / "chats"
    folder.mkdir()
    export = folder / "WhatsApp Chat with Ana.txt"
    whatsapp_export(export, count)
    seconds, cpu, summary = mem_timed(["ingest", str(export)], fresh_env(root, "chats"))
    words = sum(len(line.split(": ", 1)[-1].split()) for line in export.read_text().splitlines())
    return {
        "messages": count,
        "words_per_message": round(words / count, 1),
        "bytes": export.stat().st_size,
        "memories": summary["memories_added"],
        "seconds": round(seconds, 2),
        "messages_per_s": round(count / seconds, 1),
        "memories_per_s": round(summary["memories_added"] / seconds, 1),
        "cpu_seconds": round(cpu, 2),
        "messages_per_cpu_s": round(count / cpu, 1),
    }


def bench_notes(root: Path, count: int) -> dict[str, Any]:
    folder = root / "notes"
    markdown_notes(folder, count)
    env = fresh_env(root, "notes")
    seconds, cpu, summary = mem_timed(["ingest", str(folder)], env)
    again, unchanged = mem(["ingest", str(folder)], env)
    assert unchanged["unchanged"] == count, unchanged
    return {
        "notes": count,
        "memories": summary["memories_added"],
        "seconds": round(seconds, 2),
        "notes_per_s": round(count / seconds, 1),
        "cpu_seconds": round(cpu, 2),
        "notes_per_cpu_s": round(count / cpu, 1),
        "reingest_unchanged_s": round(again, 2),
    }


def bench_screenshots(root: Path) -> dict[str, Any]:
    from secondme.ingest.sources.screenshots import parse_image

    folder = root / "shots"
    images = rendered_pages(folder)
    if SAMPLE_PAGE.exists():
        shutil.copy(SAMPLE_PAGE, folder / SAMPLE_PAGE.name)
        images.append(folder / SAMPLE_PAGE.name)
    ocr: dict[str, float] = {}
    for image in images:
        started = time.perf_counter()
        result = parse_image(image)
        ocr[image.name] = round(time.perf_counter() - started, 2)
        assert result.drafts, f"no text read from {image}"
    seconds, summary = mem(["ingest", str(folder)], fresh_env(root, "shots"))
    assert summary["added"] == len(images), summary
    return {
        "images": len(images),
        "ocr_s_per_image": ocr,
        "ocr_median_s": round(statistics.median(ocr.values()), 2),
        "mem_ingest_s": round(seconds, 2),
        "mem_ingest_s_per_image": round(seconds / len(images), 2),
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of the whole line; 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_watcher(root: Path, saves: int, idle: float) -> dict[str, Any]:
    folder = root / "watched"
    folder.mkdir()
    env = fresh_env(root, "watch")
    _, started = mem(["watch", "start", str(folder)], env)
    pid = int(started["pid"])
    db = Path(env["SECONDME_HOME"]) / "secondme.db"
    try:
        latencies = []
        for i in range(saves + 1):  # the first save warms the models up; it is not counted
            word = f"zq{i}x{random.randrange(10**6)}"
            note = folder / f"latency-{i}.md"
            saved = time.perf_counter()
            note.write_text(f"# Save {i}\n\nThe password hint mentions {word} today.\n")
            deadline = saved + 60
            while not _searchable(db, word):
                if time.perf_counter() > deadline:
                    raise SystemExit(f"save {i} not searchable after 60 s")
                time.sleep(0.02)
            if i:
                latencies.append(time.perf_counter() - saved)
            time.sleep(0.5)
        time.sleep(3)  # let the last batch finish before measuring idleness
        before, wall = _cpu_seconds(pid), time.perf_counter()
        time.sleep(idle)
        used, wall = _cpu_seconds(pid) - before, time.perf_counter() - wall
    finally:
        subprocess.run([*MEM, "watch", "stop"], env=env, capture_output=True)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    from secondme.config import IngestSettings

    debounce = float(os.environ.get("SECONDME_INGEST_DEBOUNCE_S", IngestSettings().debounce_s))
    return {
        "debounce_s": debounce,
        "saves": saves,
        "latency_s": [round(x, 2) for x in latencies],
        "latency_median_s": round(statistics.median(latencies), 2),
        "latency_max_s": round(max(latencies), 2),
        "idle_seconds": round(wall, 1),
        "idle_cpu_seconds": round(used, 3),
        "idle_cpu_percent": round(100 * used / wall, 3),
    }


def _searchable(db: Path, word: str) -> bool:
    """The memory holding ``word`` is in the full-text index and has its vector."""
    if not db.exists():
        return False
    with contextlib.closing(sqlite3.connect(str(db), timeout=5)) as conn:
        try:
            row = conn.execute(
                "SELECT m.id FROM memories_fts f JOIN memories m ON m.id = f.rowid "
                "JOIN vector_state v ON v.memory_id = m.id WHERE memories_fts MATCH ?",
                (f'"{word}"',),
            ).fetchone()
        except sqlite3.OperationalError:  # tables not created yet, or busy
            return False
    return row is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--notes", type=int, default=500)
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--idle", type=float, default=45.0)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--only", choices=["chats", "notes", "screenshots", "watcher"], action="append")
    parser.add_argument("--render", type=Path, help="only rewrite the Markdown of an earlier JSON result")
    args = parser.parse_args()
    if args.render:
        data = json.loads(args.render.read_text())
        text = render(data["meta"], data["results"])
        args.render.with_suffix(".md").write_text(text)
        print(text)
        return
    parts = args.only or ["chats", "notes", "screenshots", "watcher"]

    root = Path(tempfile.mkdtemp(prefix="secondme-bench-ingest-"))
    load_before = loadavg()
    results: dict[str, Any] = {}
    try:
        if "chats" in parts:
            print(f"chats: {args.messages} WhatsApp messages ...", flush=True)
            results["chats"] = bench_chats(root, args.messages)
        if "notes" in parts:
            print(f"notes: {args.notes} Markdown notes ...", flush=True)
            results["notes"] = bench_notes(root, args.notes)
        if "screenshots" in parts:
            print("screenshots ...", flush=True)
            results["screenshots"] = bench_screenshots(root)
        if "watcher" in parts:
            print(f"watcher: {args.saves} saves, then {args.idle:.0f} s idle ...", flush=True)
            results["watcher"] = bench_watcher(root, args.saves, args.idle)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO
    ).stdout.strip()
    meta = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "commit": commit,
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "embedder": "all-MiniLM-L6-v2 int8 ONNX",
        "ocr": "tesseract (pytesseract), OMP_THREAD_LIMIT=1",
        "loadavg_before": load_before,
        "loadavg_after": loadavg(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    (args.out / f"ingest-{stamp}.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    text = render(meta, results)
    (args.out / f"ingest-{stamp}.md").write_text(text)
    print(text)


def render(meta: dict[str, Any], results: dict[str, Any]) -> str:
    """The Markdown table for the README."""
    lines = [
        f"# Ingest figures {meta['date']} ({meta['commit']}, {meta['cores']} cores, "
        f"load {meta['loadavg_before'][0]:.1f} before / {meta['loadavg_after'][0]:.1f} after)",
        "",
        "| what | measured | target |",
        "|---|---|---|",
    ]
    if "chats" in results:
        c = results["chats"]
        lines.append(
            f"| chat export, end to end (`mem ingest`, {c['messages']:,} WhatsApp messages of "
            f"{c['words_per_message']} words on average -> {c['memories']:,} memories) | "
            f"{c['messages_per_s']:,} messages/s ({c['seconds']} s wall, {c['cpu_seconds']} CPU-s) "
            "| >= 300/s |"
        )
    if "notes" in results:
        n = results["notes"]
        lines.append(
            f"| notes (`mem ingest`, {n['notes']} Markdown notes -> {n['memories']} chunks) | "
            f"{n['notes_per_s']} notes/s ({n['seconds']} s wall, {n['cpu_seconds']} CPU-s); unchanged re-run "
            f"{n['reingest_unchanged_s']} s | |"
        )
    if "screenshots" in results:
        s = results["screenshots"]
        lines.append(
            f"| screenshots ({s['images']} images) | OCR {s['ocr_median_s']} s/image (median); "
            f"`mem ingest` {s['mem_ingest_s_per_image']} s/image | |"
        )
    if "watcher" in results:
        w = results["watcher"]
        lines.append(
            f"| watcher: file saved -> searchable (median of {w['saves']}, debounce {w['debounce_s']} s) "
            f"| {w['latency_median_s']} s (max {w['latency_max_s']} s) | < 3 s |"
        )
        lines.append(f"| watcher idle CPU ({w['idle_seconds']:.0f} s) | {w['idle_cpu_percent']}% | < 1% |")
    notes = [
        "",
        "The load average is the whole machine's: other work shared the two cores while this ran,",
        "so wall times are longer than on an idle machine. CPU-s is the `mem` process's own user +",
        "system time, which other work does not inflate much.",
    ]
    if "chats" in results:
        c = results["chats"]
        notes.append(
            f"Chat ingest costs {1000 * c['cpu_seconds'] / c['messages']:.1f} ms of CPU per message "
            f"({c['messages_per_cpu_s']} messages per CPU-second), nearly all of it computing embeddings."
        )
    if "watcher" in results:
        w = results["watcher"]
        notes.append(
            f"Watcher latency includes the {w['debounce_s']} s debounce (`ingest.debounce_s`); idle CPU "
            f"is {w['idle_cpu_seconds']} s of CPU in {w['idle_seconds']:.0f} s (clock ticks are 10 ms)."
        )
    return "\n".join(lines + notes) + "\n"


if __name__ == "__main__":
    main()

"""How often the secret detector fires on ordinary text (false positives).

Runs :func:`secondme.secrets.find_secrets` over what ingestion would store from the shared chat
samples (parsed by the real chat parsers into memories), the LoCoMo and LongMemEval dev chats
(every turn), the example memories, and this repository's Markdown files parsed as notes.
None of these hold real secrets, so every finding is a false positive; each one is listed with
its kind and its surroundings (the found value masked) so that a person can judge it.

    PYTHONPATH=. python bench/secrets_fp.py [--json bench/results/secrets_fp.json]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def chat_sample_drafts() -> Iterator[tuple[str, Any]]:
    """(where, draft) for every memory the chat samples make."""
    from secondme.ingest.sources.chats import parse_chat

    for path in sorted((SHARED / "samples" / "chats").iterdir()):
        try:
            result = parse_chat(path)
        except Exception as exc:  # a format the parsers refuse is reported, not counted
            print(f"skipped {path.name}: {exc}", file=sys.stderr)
            continue
        for n, draft in enumerate(result.drafts):
            yield f"samples/chats/{path.name}#{n}", draft


def chat_samples() -> Iterator[tuple[str, str]]:
    """(where, text) for every memory the chat samples make."""
    for where, draft in chat_sample_drafts():
        yield where, draft.text


def notes() -> Iterator[tuple[str, str]]:
    """(where, text) for every note memory made of the repository's Markdown files."""
    from secondme.ingest.sources.notes import parse_note

    for path in sorted([*REPO.glob("*.md"), *REPO.glob("docs/**/*.md")]):
        for n, draft in enumerate(parse_note(path).drafts):
            yield f"{path.relative_to(REPO)}#{n}", draft.text


def examples() -> Iterator[tuple[str, str]]:
    """(where, text) for the example memories."""
    for n, line in enumerate((REPO / "examples" / "memories.jsonl").read_text().splitlines()):
        if line.strip():
            yield f"examples/memories.jsonl:{n + 1}", json.loads(line)["text"]


def bench_chats() -> Iterator[tuple[str, str]]:
    """(where, text) for every turn of the LoCoMo and LongMemEval dev sets."""
    from secondme.eval.datasets import load_locomo, load_longmemeval

    for conversation in load_locomo(SHARED / "bench" / "locomo_dev.json"):
        for session in conversation.sessions:
            for turn in session.turns:
                yield f"locomo/{conversation.sample_id}/{turn.dia_id}", turn.text
    seen: set[str] = set()
    for question in load_longmemeval(SHARED / "bench" / "longmemeval_s_dev.json"):
        for session in question.sessions:
            if session.session_id in seen:
                continue
            seen.add(session.session_id)
            for n, turn in enumerate(session.turns):
                yield f"longmemeval/{session.session_id}#{n}", str(turn.get("content", ""))


CORPORA = {
    "chat samples": chat_samples,
    "notes (repository Markdown)": notes,
    "example memories": examples,
    "LoCoMo + LongMemEval dev chats": bench_chats,
}


def measure() -> dict[str, object]:
    """Texts and findings per corpus."""
    from secondme.secrets import find_secrets

    report: dict[str, object] = {}
    for name, corpus in CORPORA.items():
        texts = flagged = 0
        findings: list[dict[str, str]] = []
        for where, text in corpus():
            texts += 1
            found = find_secrets(text)
            if found:
                flagged += 1
            for finding in found:
                before = text[max(0, finding.start - 40) : finding.start].replace("\n", " ")
                after = text[finding.end : finding.end + 20].replace("\n", " ")
                findings.append(
                    {"where": where, "kind": finding.kind, "context": f"{before}<{finding.kind}>{after}"}
                )
        report[name] = {"texts": texts, "flagged": flagged, "findings": findings}
    return report


def main() -> None:
    """Print the counts and every finding; optionally write them as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="Also write the report here.")
    args = parser.parse_args()
    report = measure()
    for name, data in report.items():
        assert isinstance(data, dict)
        print(f"{name}: {data['flagged']} of {data['texts']} texts flagged")
        for finding in data["findings"]:
            print(f"  {finding['where']}: {finding['kind']}: {finding['context']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

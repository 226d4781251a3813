"""How much of ordinary chat the injection defence removes (false positives).

    python bench/benign_neutralise.py [--out bench/results] [--examples 20]

Builds the chat windows that ingestion stores from the LoCoMo and LongMemEval dev chats
(through the same chat pipeline as `mem eval`) and from the shared chat samples, and quotes each
one as the answer prompt would (:func:`secondme.safety.neutralise` at chat trust, with the
window's own speakers).  None of these chats holds an injection, so every window flagged and
every sentence removed is a false positive: the memory the model needed, silently emptied.
The same windows are also measured without their speakers (how the defence behaved before
speakers were known), and the flagged sentences are listed so that a person can judge them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from secrets_fp import chat_sample_drafts  # noqa: E402

from secondme.safety import REMOVED, Trust, neutralise  # noqa: E402


def windows() -> Iterator[tuple[str, str, list[str]]]:
    """(corpus, text, speakers) for every chat window the dev chats and samples make."""
    from secondme.eval.datasets import load_locomo, load_longmemeval
    from secondme.eval.locomo import conversation_messages
    from secondme.eval.longmemeval import haystack_messages
    from secondme.ingest.sources.chats import drafts_from_messages

    for conversation in load_locomo(SHARED / "bench" / "locomo_dev.json"):
        for draft in drafts_from_messages(conversation_messages(conversation), "locomo", "locomo"):
            yield "locomo", draft.text, list(draft.metadata.get("speakers") or [])
    seen: set[str] = set()
    for question in load_longmemeval(SHARED / "bench" / "longmemeval_s_dev.json"):
        for draft in drafts_from_messages(haystack_messages(question), "lme", "lme"):
            if draft.text in seen:  # haystacks share sessions: count each window once
                continue
            seen.add(draft.text)
            yield "longmemeval", draft.text, list(draft.metadata.get("speakers") or [])
    for _, draft in chat_sample_drafts():
        yield "samples", draft.text, list(draft.metadata.get("speakers") or [])


def removed_share(text: str, clean: str) -> float:
    """The share of the window's characters that the defence replaced."""
    kept = len(clean.replace(REMOVED, ""))
    return max(0.0, 1.0 - kept / max(1, len(text)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--examples", type=int, default=20)
    args = parser.parse_args()
    totals: dict[str, dict[str, Any]] = {}
    examples: list[dict[str, str]] = []
    for corpus, text, speakers in windows():
        row = totals.setdefault(
            corpus,
            {
                "windows": 0,
                "chars": 0,
                "flagged": 0,
                "removed_chars": 0.0,
                "flagged_no_speakers": 0,
                "removed_chars_no_speakers": 0.0,
            },
        )
        row["windows"] += 1
        row["chars"] += len(text)
        for suffix, known in (("", speakers), ("_no_speakers", [])):
            clean, flagged = neutralise(text, Trust.CHAT, known)
            row[f"flagged{suffix}"] += int(flagged)
            row[f"removed_chars{suffix}"] += removed_share(text, clean) * len(text)
            if flagged and not suffix and len(examples) < args.examples:
                examples.append({"corpus": corpus, "window": text[:400], "quoted": clean[:400]})
    lines = [
        f"# The injection defence on ordinary chats ({datetime.now():%Y-%m-%d %H:%M})",
        "",
        "Every chat window of the LoCoMo and LongMemEval dev chats and of the shared chat samples, "
        "quoted at chat trust. None holds an injection: everything flagged or removed is a false positive.",
        "",
        "| corpus | windows | flagged | text removed | flagged without speakers | removed without speakers |",
        "|---|---|---|---|---|---|",
    ]
    for corpus, row in totals.items():
        lines.append(
            f"| {corpus} | {row['windows']} | {row['flagged']} ({row['flagged'] / row['windows']:.2%}) | "
            f"{row['removed_chars'] / row['chars']:.2%} | "
            f"{row['flagged_no_speakers']} ({row['flagged_no_speakers'] / row['windows']:.2%}) | "
            f"{row['removed_chars_no_speakers'] / row['chars']:.2%} |"
        )
    lines += ["", f"Flagged windows with speakers known (first {args.examples}):", ""]
    for example in examples:
        lines.append(f"- {example['corpus']}: {json.dumps(example['quoted'])}")
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"benign-neutralise-{stamp}.json").write_text(
        json.dumps({"totals": totals, "examples": examples}, indent=1) + "\n"
    )
    (args.out / f"benign-neutralise-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

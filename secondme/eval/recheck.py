"""``mem eval recheck``: recompute a quality report from its per-question records alone.

A report's summary is tallied while the run goes; this reads the JSON back and derives every
number again from the raw fields each record keeps (the ranked turn or session ids, the gold
evidence, the answer text and the gold answer), with its own code for the retrieval metrics and
LoCoMo's F1 (only the Porter stemmer is shared), then averages them per system and category
and lists every place where the two disagree.

What is recomputed from raw fields with this module's own code: LoCoMo recall@5/10/20 and
answer F1 (categories 1-4); LongMemEval recall_any@5, recall_all@5, recall_any@10 and NDCG@10.
LoCoMo's abstention (category 5) and both benchmarks' false abstention (an answerable question
declined) are recomputed from the answer text with the report's own refusal rule
(:func:`secondme.eval.metrics.is_abstention`).  LongMemEval's answer accuracy (a
containment rule with number words and stems) and the timings are taken as recorded.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from secondme.errors import InputError

_LOCOMO_RETRIEVAL = ("multi-hop", "temporal", "open-domain", "single-hop")


def _distinct(ids: Iterable[str], k: int) -> list[str]:
    out: list[str] = []
    for item in ids:
        if item not in out:
            out.append(item)
        if len(out) == k:
            break
    return out


def _tokens(text: str) -> list[str]:
    from secondme.stemmer import porter_stem

    text = str(text).replace(",", "").lower()
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return [porter_stem(w) for w in text.split() if w not in ("a", "an", "the", "and")]


def _f1(prediction: str, gold: str) -> float:
    pred, ref = _tokens(prediction), _tokens(gold)
    common = sum(min(pred.count(t), ref.count(t)) for t in set(pred) & set(ref))
    if not common:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _locomo_f1(answer: str, gold: str, category: str) -> float:
    from secondme.answer import strip_citations

    answer = strip_citations(answer)
    if category == "multi-hop":
        parts = [p.strip() for p in answer.split(",")]
        golds = [g.strip() for g in str(gold).split(",")]
        return sum(max(_f1(p, g) for p in parts) for g in golds) / len(golds)
    if category == "open-domain":
        gold = str(gold).split(";")[0].strip()
    return _f1(answer, gold)


def _locomo_metrics(record: Mapping[str, Any]) -> dict[str, float | None]:
    metrics = dict(record["metrics"])
    category, evidence = record.get("category"), set(record.get("evidence") or [])
    turns = record.get("retrieved_turns") or []
    for k in (5, 10, 20):
        if category not in _LOCOMO_RETRIEVAL or not evidence:
            metrics[f"recall@{k}"] = None
        elif record.get("error") and not turns:
            metrics[f"recall@{k}"] = 0.0
        else:
            metrics[f"recall@{k}"] = len(evidence & set(_distinct(turns, k))) / len(evidence)
    if "answer" in record and not record.get("error"):
        from secondme.eval.metrics import is_abstention

        declined = 1.0 if is_abstention(record["answer"]) else 0.0
        if category == "adversarial":
            metrics["abstention"] = declined
        else:
            metrics["f1"] = _locomo_f1(record["answer"], record["gold"], str(category))
            if "false_abstention" in metrics:  # reports written before it lack the metric
                metrics["false_abstention"] = declined
    return metrics


def _lme_metrics(record: Mapping[str, Any]) -> dict[str, float | None]:
    metrics = dict(record["metrics"])
    gold = set(record.get("answer_sessions") or [])
    ranked = record.get("retrieved_sessions") or []
    if "false_abstention" in metrics and "answer" in record and not record.get("error"):
        from secondme.eval.metrics import is_abstention

        metrics["false_abstention"] = 1.0 if is_abstention(record["answer"]) else 0.0
    if record.get("abstention_question") or not gold:
        for name in ("recall_any@5", "recall_all@5", "recall_any@10", "ndcg@10"):
            metrics[name] = None
        return metrics
    top5, top10 = set(_distinct(ranked, 5)), _distinct(ranked, 10)
    metrics["recall_any@5"] = 1.0 if gold & top5 else 0.0
    metrics["recall_all@5"] = 1.0 if gold <= top5 else 0.0
    metrics["recall_any@10"] = 1.0 if gold & set(top10) else 0.0
    # LongMemEval's own form: rank 1 weighs 1, rank r >= 2 weighs 1/log2(r).
    weight = [1.0 if r == 1 else 1 / math.log2(r) for r in range(1, 11)]
    dcg = sum(weight[i] for i, s in enumerate(top10) if s in gold)
    ideal = sum(weight[: min(len(gold), 10)])
    metrics["ndcg@10"] = dcg / ideal
    return metrics


def recheck(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """Recompute the report at ``path``: (the recomputed summary, the disagreements)."""
    from secondme.eval.report import recompute_summary, summary_mismatches

    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{file} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict) or "records" not in data or "summary" not in data:
        raise InputError(f"{file} is not a `mem eval` quality report (no records and summary)")
    bench = data.get("bench")
    derive = {"locomo": _locomo_metrics, "longmemeval": _lme_metrics}.get(str(bench))
    if derive is None:
        raise InputError(f"{file}: cannot recheck a {bench!r} report", hint="locomo and longmemeval only")
    records = []
    for n, record in enumerate(data["records"]):
        if not isinstance(record, dict) or "metrics" not in record:
            raise InputError(f"{file}: record {n} has no metrics")
        records.append({**record, "metrics": derive(record)})
    summary = recompute_summary(records)
    return summary, summary_mismatches(data["summary"], summary)

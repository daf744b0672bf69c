"""The shipped model against the TF-IDF baseline, case by case on the test split.

A difference of a point of macro-F1 on 500 cases (40 of them `high` risk) can be noise. For each
head this bench resamples the test cases (paired bootstrap: both systems scored on the same
resample) and reports the difference with a 95% interval and how often the model comes out ahead.
For risk it also compares the two at equal `high` recall on test, since a threshold tuned on dev
lands each system at a different recall, and scores both on the risk supplement: hand-written hard
cases (most of them `high`) that neither was trained on. Writes bench/results/model_vs_baseline.json.
"""

from __future__ import annotations

import json
import time

import numpy as np
from sklearn.metrics import average_precision_score, precision_score, recall_score

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.training.corpus import read_records
from petition_triage.training.data import load_examples

from baseline_tfidf import HEADS, fit_baseline

RESAMPLES = 2000
SUPPLEMENT = REPO_ROOT / "data_samples" / "supplements" / "risk_supplement.jsonl"
# Test recalls of `high` (k of 40 cases) at which the two rankings are compared.
MATCHED_RECALLS = (0.8, 0.85, 0.875, 0.9, 0.925, 0.95)


def macro_f1(y: np.ndarray, predicted: np.ndarray, n_classes: int) -> float:
    """Macro-F1 over the classes present in `y` or `predicted`, as scikit-learn computes it; fast
    enough to run thousands of times."""
    counts = np.bincount(y * n_classes + predicted, minlength=n_classes * n_classes).reshape(n_classes, n_classes)
    tp = np.diag(counts).astype(float)
    support, predicted_count = counts.sum(1), counts.sum(0)
    present = (support + predicted_count) > 0
    f1 = np.divide(2 * tp, support + predicted_count, out=np.zeros(n_classes), where=present)
    return float(f1[present].mean())


def paired_bootstrap(y: np.ndarray, model: np.ndarray, baseline: np.ndarray, n_classes: int,
                     rng: np.random.Generator) -> dict:
    differences = np.empty(RESAMPLES)
    for i in range(RESAMPLES):
        rows = rng.integers(0, len(y), len(y))
        differences[i] = macro_f1(y[rows], model[rows], n_classes) - macro_f1(y[rows], baseline[rows], n_classes)
    low, high = np.percentile(differences, [2.5, 97.5])
    ours, theirs = macro_f1(y, model, n_classes), macro_f1(y, baseline, n_classes)
    return {"model_macro_f1": ours, "baseline_macro_f1": theirs, "difference": ours - theirs,
            "difference_95ci": [float(low), float(high)], "share_of_resamples_model_ahead": float((differences > 0).mean())}


def at_test_recall(y: np.ndarray, others: np.ndarray, high_scores: np.ndarray, high: int, n_classes: int) -> dict:
    """Macro-F1 when the k highest-scoring cases are called `high`, for the smallest k reaching each
    recall; `others` is the decision among the remaining classes."""
    order = np.argsort(-high_scores)
    found = np.cumsum(y[order] == high) / max((y == high).sum(), 1)
    out = {}
    for recall in MATCHED_RECALLS:
        k = int(np.argmax(found >= recall - 1e-9)) + 1
        predicted = others.copy()
        predicted[order[:k]] = high
        out[str(recall)] = {"called_high": k, "macro_f1": round(macro_f1(y, predicted, n_classes), 4)}
    return out


def risk_scores(y: np.ndarray, predicted: np.ndarray, codes: list[str]) -> dict:
    high = codes.index("high")
    return {"macro_f1": macro_f1(y, predicted, len(codes)),
            "high_recall": float(recall_score(y, predicted, labels=[high], average="macro", zero_division=0)),
            "high_precision": float(precision_score(y, predicted, labels=[high], average="macro", zero_division=0)),
            "recall_per_level": dict(zip(codes, recall_score(y, predicted, labels=list(range(len(codes))), average=None,
                                                             zero_division=0).round(4).tolist()))}


def on_supplement(model: OnnxTriageModel, baseline) -> dict:
    rows = read_records(SUPPLEMENT)
    codes = model.labels["risk"]
    y = np.array([codes.index(r["labels"]["risk"]) for r in rows])
    logits = model.logits([r["text"] for r in rows], [r["title"] for r in rows])
    ours = model.decide(logits, urgent_cue_mask([r["text"] for r in rows], [r["title"] for r in rows]))["risk"].predicted
    theirs = np.array([codes.index(label) for label in baseline.decide_risk(rows).at_recall])
    return {"records": len(rows), "levels": {c: int((y == i).sum()) for i, c in enumerate(codes)},
            "model": risk_scores(y, ours, codes), "baseline": risk_scores(y, theirs, codes)}


def main() -> dict:
    started = time.perf_counter()
    model = OnnxTriageModel(SHIPPED_MODEL_DIR)
    examples = load_examples(REPO_ROOT / "data_samples")["test"]
    decided = model.decide(model.logits([e.text for e in examples], [e.title for e in examples]),
                           urgent_cue_mask([e.text for e in examples], [e.title for e in examples]))
    baseline = fit_baseline()
    rng = np.random.default_rng(0)
    results: dict = {"model_version": model.version, "model_train_examples": model.artifact.get("train_examples"),
                     "baseline_train_examples": baseline.train_examples, "test_examples": len(examples),
                     "resamples": RESAMPLES, "heads": {}}
    for head in HEADS:
        codes = model.labels[head]
        y = np.array([codes.index(label) for label in baseline.test_labels[head]])
        ours = decided[head].predicted
        theirs = np.array([codes.index(label) for label in baseline.predicted[head]])
        if head != "risk":
            results["heads"][head] = paired_bootstrap(y, ours, theirs, len(codes), rng)
            continue
        high, probs = codes.index("high"), decided[head].probs
        theirs_at_recall = np.array([codes.index(label) for label in baseline.test_risk.at_recall])
        others = probs.copy()
        others[:, high] = -1.0
        theirs_others = np.array([codes.index(label) for label in baseline.test_risk.without_high])
        results["heads"][head] = {
            "as_served": paired_bootstrap(y, ours, theirs_at_recall, len(codes), rng),
            "argmax": paired_bootstrap(y, probs.argmax(-1), theirs, len(codes), rng),
            "high_average_precision": {"model": float(average_precision_score(y == high, probs[:, high])),
                                       "baseline": float(average_precision_score(y == high, baseline.test_risk.high_scores))},
            "at_equal_test_recall": {"model": at_test_recall(y, others.argmax(-1), probs[:, high], high, len(codes)),
                                     "baseline": at_test_recall(y, theirs_others, baseline.test_risk.high_scores, high,
                                                                len(codes))},
            "risk_supplement": on_supplement(model, baseline),
        }
    results["seconds"] = round(time.perf_counter() - started, 1)
    out = REPO_ROOT / "bench" / "results" / "model_vs_baseline.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

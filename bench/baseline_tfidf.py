"""TF-IDF (character 1-3 grams) + linear SVM per head: the baseline the fine-tuned model must beat.

Trained on data_samples/train.jsonl, scored on data_samples/test.jsonl; writes
bench/results/baseline_tfidf.json. `fit_baseline` is also what bench/model_vs_baseline.py compares
the shipped model against, case by case.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, recall_score
from sklearn.svm import LinearSVC

from petition_triage.config import REPO_ROOT
from petition_triage.model.text_input import submission_text
from petition_triage.training.artifact import HIGH_RISK_RECALL
from petition_triage.training.corpus import read_records

HEADS = ("type", "department", "risk")


@dataclass
class BaselineRun:
    """The baseline's decisions on the test split, label strings per head."""

    test_labels: dict[str, list[str]] = field(default_factory=dict)
    predicted: dict[str, np.ndarray] = field(default_factory=dict)
    # Risk with `high` whenever its score passes the threshold that keeps dev recall at
    # HIGH_RISK_RECALL, as the fine-tuned model's calibration does.
    risk_at_recall: np.ndarray | None = None
    # Test scores of `high`, for ranking measures, and the likelier of the other levels.
    high_scores: np.ndarray | None = None
    risk_without_high: np.ndarray | None = None


def high_at_dev_recall(model: LinearSVC, x_dev, y_dev: list[str], x_test) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Test predictions with the dev-tuned `high` threshold, the test scores of `high` and the
    likelier of the other levels."""
    high = list(model.classes_).index("high")
    dev_scores, test_scores = model.decision_function(x_dev), model.decision_function(x_test)
    positives = np.sort(dev_scores[np.array(y_dev) == "high", high])
    threshold = positives[int(np.floor((1 - HIGH_RISK_RECALL) * len(positives)))]
    others = test_scores.copy()
    others[:, high] = -np.inf
    without_high = model.classes_[others.argmax(axis=1)]
    return np.where(test_scores[:, high] >= threshold, "high", without_high), test_scores[:, high], without_high


def fit_baseline(data: Path = REPO_ROOT / "data_samples") -> BaselineRun:
    train, dev, test = (read_records(data / f"{split}.jsonl") for split in ("train", "dev", "test"))
    text = lambda rows: [submission_text(r["text"], r["title"]) for r in rows]  # noqa: E731
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x_train = vectorizer.fit_transform(text(train))
    x_dev, x_test = vectorizer.transform(text(dev)), vectorizer.transform(text(test))
    run = BaselineRun()
    for head in HEADS:
        model = LinearSVC(C=0.5, class_weight="balanced").fit(x_train, [r["labels"][head] for r in train])
        run.test_labels[head] = [r["labels"][head] for r in test]
        run.predicted[head] = model.predict(x_test)
        if head == "risk":
            run.risk_at_recall, run.high_scores, run.risk_without_high = high_at_dev_recall(
                model, x_dev, [r["labels"][head] for r in dev], x_test)
    return run


def main() -> dict:
    started = time.perf_counter()
    run = fit_baseline()
    seconds = round(time.perf_counter() - started, 2)
    data = REPO_ROOT / "data_samples"
    results: dict = {"train_examples": len(read_records(data / "train.jsonl")),
                     "test_examples": len(run.test_labels["type"]), "heads": {}}
    for head in HEADS:
        y_test, predicted = run.test_labels[head], run.predicted[head]
        scores = {"accuracy": accuracy_score(y_test, predicted),
                  "macro_f1": f1_score(y_test, predicted, average="macro")}
        if head == "risk":
            scores["high_recall"] = recall_score(y_test, predicted, labels=["high"], average="macro")
            scores["macro_f1_at_model_high_recall"] = f1_score(y_test, run.risk_at_recall, average="macro")
            scores["high_recall_at_model_high_recall"] = recall_score(y_test, run.risk_at_recall, labels=["high"],
                                                                      average="macro")
            scores["high_average_precision"] = average_precision_score(np.array(y_test) == "high", run.high_scores)
        results["heads"][head] = scores
    results["seconds"] = seconds
    out = REPO_ROOT / "bench" / "results" / "baseline_tfidf.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

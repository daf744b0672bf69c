"""TF-IDF (character 1-3 grams) + linear SVM per head: the baseline the fine-tuned model must beat.

Trained on data_samples/train.jsonl, scored on data_samples/test.jsonl and, where the corpus has
one, on the shift set written to the real-text profile (shift-dev, shift-test); writes
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
from petition_triage.model.decision import HIGH_RISK_RECALL
from petition_triage.model.risk_cues import raise_on_urgent_cues, urgent_cue_mask
from petition_triage.model.text_input import submission_text
from petition_triage.training.corpus import read_records
from petition_triage.training.data import SHIFT_DIR, SHIFT_SPLITS
from petition_triage.training.metrics import recall_threshold

HEADS = ("type", "department", "risk")


def texts(rows: list[dict]) -> list[str]:
    return [submission_text(r["text"], r["title"]) for r in rows]


@dataclass
class RiskDecision:
    """The baseline's risk calls on some records."""

    # The fine-tuned model's rule: `high` whenever its score passes the threshold fitted on dev for
    # HIGH_RISK_RECALL, or the text names self-harm or violence outside a suggestion (the baseline's
    # own type call); otherwise the likelier of the other levels, `normal` raised to `elevated` by
    # such a cue.
    at_recall: np.ndarray
    high_scores: np.ndarray
    without_high: np.ndarray


@dataclass
class BaselineRun:
    """The fitted baseline and its decisions on the test split, label strings per head."""

    vectorizer: TfidfVectorizer
    train_examples: int = 0
    risk_model: LinearSVC | None = None
    type_model: LinearSVC | None = None
    models: dict[str, LinearSVC] = field(default_factory=dict)
    high_threshold: float = 0.0
    test_labels: dict[str, list[str]] = field(default_factory=dict)
    predicted: dict[str, np.ndarray] = field(default_factory=dict)
    test_risk: RiskDecision | None = None

    def decide_risk(self, rows: list[dict]) -> RiskDecision:
        x = self.vectorizer.transform(texts(rows))
        scores = self.risk_model.decision_function(x)
        codes = list(self.risk_model.classes_)
        high = codes.index("high")
        others = scores.copy()
        others[:, high] = -np.inf
        without_high = others.argmax(axis=1)
        urgent, to_high = self.urgent_cues(rows, x)
        decided = raise_on_urgent_cues(np.where(scores[:, high] >= self.high_threshold, high, without_high), urgent,
                                       codes, to_high)
        return RiskDecision(self.risk_model.classes_[decided], scores[:, high], self.risk_model.classes_[without_high])

    def urgent_cues(self, rows: list[dict], x) -> tuple[np.ndarray, np.ndarray]:
        """Rows naming self-harm or violence, and those of them the raise makes `high` (`x`: the rows'
        TF-IDF features)."""
        urgent = urgent_cue_mask([r["text"] for r in rows], [r["title"] for r in rows])
        suggestion = self.type_model.predict(x) == "suggestion"
        return urgent, urgent & ~suggestion


def fit_baseline(data: Path = REPO_ROOT / "data_samples") -> BaselineRun:
    train, dev, test = (read_records(data / f"{split}.jsonl") for split in ("train", "dev", "test"))
    run = BaselineRun(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2), len(train))
    x_train = run.vectorizer.fit_transform(texts(train))
    x_test = run.vectorizer.transform(texts(test))
    for head in HEADS:
        model = LinearSVC(C=0.5, class_weight="balanced").fit(x_train, [r["labels"][head] for r in train])
        run.models[head] = model
        run.test_labels[head] = [r["labels"][head] for r in test]
        run.predicted[head] = model.predict(x_test)
        if head == "type":
            run.type_model = model
        if head == "risk":
            run.risk_model = model
            codes = list(model.classes_)
            x_dev = run.vectorizer.transform(texts(dev))
            dev_levels = np.array([codes.index(r["labels"]["risk"]) for r in dev])
            run.high_threshold = recall_threshold(model.decision_function(x_dev), dev_levels, codes.index("high"),
                                                  HIGH_RISK_RECALL, already=run.urgent_cues(dev, x_dev)[1],
                                                  ceiling=None)
            run.test_risk = run.decide_risk(test)
    return run


def score_split(run: BaselineRun, rows: list[dict]) -> dict:
    """Accuracy and macro-F1 per head on other records (the shift set), risk as the model's rule decides,
    department top-3 from the SVM's scores."""
    x = run.vectorizer.transform(texts(rows))
    scores: dict = {"examples": len(rows)}
    for head in HEADS:
        truth = [r["labels"][head] for r in rows]
        predicted = run.decide_risk(rows).at_recall if head == "risk" else run.models[head].predict(x)
        scores[head] = {"accuracy": accuracy_score(truth, predicted),
                        "macro_f1": f1_score(truth, predicted, average="macro")}
        if head == "department":
            classes = run.models[head].classes_
            top3 = classes[np.argsort(-run.models[head].decision_function(x), axis=1)[:, :3]]
            scores[head]["top3_accuracy"] = float(np.mean([t in row for t, row in zip(truth, top3)]))
        if head == "risk":
            scores[head]["high_recall"] = recall_score(truth, predicted, labels=["high"], average="macro")
    return scores


def main() -> dict:
    started = time.perf_counter()
    run = fit_baseline()
    seconds = round(time.perf_counter() - started, 2)
    results: dict = {"train_examples": run.train_examples, "test_examples": len(run.test_labels["type"]), "heads": {}}
    for head in HEADS:
        y_test, predicted = run.test_labels[head], run.predicted[head]
        scores = {"accuracy": accuracy_score(y_test, predicted),
                  "macro_f1": f1_score(y_test, predicted, average="macro")}
        if head == "risk":
            scores["high_recall"] = recall_score(y_test, predicted, labels=["high"], average="macro")
            at_recall = run.test_risk.at_recall
            scores["macro_f1_at_model_high_recall"] = f1_score(y_test, at_recall, average="macro")
            scores["high_recall_at_model_high_recall"] = recall_score(y_test, at_recall, labels=["high"], average="macro")
            scores["high_average_precision"] = average_precision_score(np.array(y_test) == "high",
                                                                       run.test_risk.high_scores)
        results["heads"][head] = scores
    results["seconds"] = seconds
    shift = REPO_ROOT / "data_samples" / SHIFT_DIR
    results["shift"] = {split: score_split(run, read_records(shift / f"{stem}.jsonl"))
                        for split, stem in SHIFT_SPLITS.items() if (shift / f"{stem}.jsonl").exists()}
    out = REPO_ROOT / "bench" / "results" / "baseline_tfidf.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

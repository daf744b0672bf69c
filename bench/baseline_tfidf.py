"""TF-IDF (character 1-3 grams) + linear SVM per head: the baseline the fine-tuned model must beat.

Trained on data_samples/train.jsonl, scored on data_samples/test.jsonl; writes
bench/results/baseline_tfidf.json.
"""

from __future__ import annotations

import json
import time

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, recall_score
from sklearn.svm import LinearSVC

from petition_triage.config import REPO_ROOT
from petition_triage.model.text_input import submission_text
from petition_triage.training.corpus import read_records

HEADS = ("type", "department", "risk")


def main() -> dict:
    data = REPO_ROOT / "data_samples"
    train, test = read_records(data / "train.jsonl"), read_records(data / "test.jsonl")
    text = lambda rows: [submission_text(r["text"], r["title"]) for r in rows]  # noqa: E731
    started = time.perf_counter()
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=2)
    x_train, x_test = vectorizer.fit_transform(text(train)), None
    x_test = vectorizer.transform(text(test))
    results: dict = {"train_examples": len(train), "test_examples": len(test), "heads": {}}
    for head in HEADS:
        y_train = [r["labels"][head] for r in train]
        y_test = [r["labels"][head] for r in test]
        model = LinearSVC(C=0.5, class_weight="balanced").fit(x_train, y_train)
        predicted = model.predict(x_test)
        scores = {"accuracy": accuracy_score(y_test, predicted),
                  "macro_f1": f1_score(y_test, predicted, average="macro")}
        if head == "risk":
            scores["high_recall"] = recall_score(y_test, predicted, labels=["high"], average="macro")
        results["heads"][head] = scores
    results["seconds"] = round(time.perf_counter() - started, 2)
    out = REPO_ROOT / "bench" / "results" / "baseline_tfidf.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

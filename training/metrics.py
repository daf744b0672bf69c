"""Scores per head, calibration (temperature scaling, ECE) and abstain thresholds."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from petition_triage.model.decision import sigmoid, softmax
from petition_triage.model.triage_config import MULTI_LABEL_HEAD

from .data import IGNORE

__all__ = ["abstain_threshold", "expected_calibration_error", "fit_temperature", "head_scores", "reason_threshold", "recall_threshold",
           "softmax"]


def head_scores(logits: np.ndarray, targets: np.ndarray, codes: list[str], head: str,
                predictions: np.ndarray | None = None) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1 over the rows that carry a label."""
    if head == MULTI_LABEL_HEAD:
        known = targets[:, 0] != IGNORE
        p = (sigmoid(logits) >= 0.5).astype(int) if predictions is None else predictions
        y, p = targets[known].astype(int), p[known]
        if not known.any():
            return {"n": 0, "macro_f1": 0.0}
        prec, rec, f1, support = precision_recall_fscore_support(y, p, zero_division=0)
        return {"n": int(known.sum()), "macro_f1": float(f1_score(y, p, average="macro", zero_division=0)),
                "micro_f1": float(f1_score(y, p, average="micro", zero_division=0)),
                "per_class": {c: {"precision": float(a), "recall": float(b), "f1": float(d), "support": int(s)}
                              for c, a, b, d, s in zip(codes, prec, rec, f1, support)}}
    known = targets != IGNORE
    if not known.any():
        return {"n": 0, "macro_f1": 0.0, "accuracy": 0.0}
    y = targets[known]
    p = (logits.argmax(axis=-1) if predictions is None else predictions)[known]
    labels = list(range(len(codes)))
    prec, rec, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    present = support > 0
    # Top-3 from the logits: what a dispatcher choosing among the model's three suggestions gets.
    top3 = np.argsort(-logits[known], axis=-1)[:, :3]
    return {
        "n": int(known.sum()),
        "accuracy": float(accuracy_score(y, p)),
        "top3_accuracy": float((top3 == y[:, None]).any(axis=1).mean()),
        # Macro over the classes present in this split, so a split lacking a class is not punished.
        "macro_f1": float(f1[present].mean()),
        "per_class": {c: {"precision": float(a), "recall": float(b), "f1": float(d), "support": int(s)}
                      for c, a, b, d, s in zip(codes, prec, rec, f1, support)},
        "confusion": confusion_matrix(y, p, labels=labels).tolist(),
    }


def expected_calibration_error(probs: np.ndarray, targets: np.ndarray, bins: int = 15) -> float:
    known = targets != IGNORE
    probs, targets = probs[known], targets[known]
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    correct = predicted == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)


def fit_temperature(logits: np.ndarray, targets: np.ndarray) -> float:
    """The temperature minimising dev negative log-likelihood (Guo et al., 2017)."""
    known = targets != IGNORE
    logits, targets = logits[known], targets[known]
    if len(targets) == 0:
        return 1.0

    def nll(log_t: float) -> float:
        probs = softmax(logits, float(np.exp(log_t)))
        return float(-np.log(probs[np.arange(len(targets)), targets] + 1e-12).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(result.x))


def abstain_threshold(probs: np.ndarray, targets: np.ndarray, target_accuracy: float) -> float:
    """The lowest confidence above which dev predictions are at least `target_accuracy` right.

    Cases below it go to a human; if no threshold reaches the target, all but the surest do.
    """
    known = targets != IGNORE
    confidence = probs[known].max(axis=1)
    correct = probs[known].argmax(axis=1) == targets[known]
    order = np.argsort(-confidence)
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(running >= target_accuracy)[0]
    if len(ok) == 0:
        return float(confidence.max()) if len(confidence) else 1.0
    # The largest accepted set whose accuracy still meets the target.
    return float(confidence[order][ok[-1]])


def reason_threshold(logits: np.ndarray, targets: np.ndarray) -> float:
    """The one sigmoid threshold for every reason code that gives the best dev macro-F1."""
    known = targets[:, 0] != IGNORE
    if not known.any():
        return 0.5
    probs, y = sigmoid(logits[known]), targets[known].astype(int)
    grid = np.round(np.arange(0.1, 0.91, 0.05), 2)
    scores = [f1_score(y, (probs >= t).astype(int), average="macro", zero_division=0) for t in grid]
    return float(grid[int(np.argmax(scores))])


def recall_threshold(probs: np.ndarray, targets: np.ndarray, class_index: int, min_recall: float,
                     already: np.ndarray | None = None, ceiling: float | None = 0.5) -> float:
    """The highest probability threshold for one class whose expected recall on new cases is ≥ `min_recall`.

    A threshold placed at the (k+1)-th lowest of m dev scores of the class finds (m - k) / m of them
    on dev but, on average, only (m - k) / (m + 1) of new cases (order statistics): with 41 dev
    `high` cases, the 92% dev recall we used to ask for meant about 90% on new ones. `already` marks
    rows the decision gives that class whatever the threshold (a cue raise): they count as found,
    so the threshold only has to find the rest. `ceiling` caps the threshold (None for scores that
    are not probabilities).
    """
    known = targets != IGNORE
    is_positive = known & (targets == class_index)
    n_positives = int(is_positive.sum())
    found_anyway = is_positive & already if already is not None else np.zeros_like(is_positive)
    rest = np.sort(probs[is_positive & ~found_anyway, class_index])
    m, found = len(rest), int(found_anyway.sum())
    if m == 0:
        return ceiling if ceiling is not None else float("inf")
    misses_allowed = 0
    while misses_allowed + 1 < m and (found + m * (m - misses_allowed - 1) / (m + 1)) / n_positives >= min_recall:
        misses_allowed += 1
    threshold = float(rest[misses_allowed])
    return threshold if ceiling is None else min(ceiling, threshold)

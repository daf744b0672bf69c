"""Turns calibrated head outputs into decisions: labels, top-k, risk level, abstention."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .risk_cues import raise_on_urgent_cues
from .triage_config import MULTI_LABEL_HEAD

MODEL_REASON_THRESHOLD = 0.5
# Recall of `high` on new cases the high-risk threshold aims at (expected, from dev: see
# `training.metrics.recall_threshold`); above 0.9 so that test recall stays at the 0.9 target, not
# higher because every point of recall costs many false alarms on `elevated` cases.
HIGH_RISK_RECALL = 0.92


@dataclass
class Calibration:
    """Fitted on dev data and stored with the model (`calibration.json`)."""

    temperatures: dict[str, float] = field(default_factory=dict)
    abstain_thresholds: dict[str, float] = field(default_factory=dict)
    # The probability of `high` above which a case is high risk, chosen for `high_risk_recall`.
    high_risk_threshold: float = 0.5
    reason_threshold: float = MODEL_REASON_THRESHOLD
    high_risk_recall: float = HIGH_RISK_RECALL

    def to_dict(self) -> dict:
        return {"temperatures": self.temperatures, "abstain_thresholds": self.abstain_thresholds,
                "high_risk_threshold": self.high_risk_threshold, "reason_threshold": self.reason_threshold,
                "high_risk_recall": self.high_risk_recall}

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(**data)


@dataclass
class HeadOutput:
    probs: np.ndarray  # calibrated, rows sum to 1 (sigmoids for reasons)
    predicted: np.ndarray  # class index per row (0/1 per reason for reasons)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def risk_decision(probs: np.ndarray, codes: list[str], high_threshold: float) -> np.ndarray:
    """`high` when its probability passes the recall-tuned threshold, else the likelier of the rest."""
    choice = probs.argmax(axis=-1)
    if "high" in codes:
        high = codes.index("high")
        others = probs.copy()
        others[:, high] = -1.0
        choice = np.where(probs[:, high] >= high_threshold, high, others.argmax(axis=-1))
    return choice


def high_on_cue(urgent: np.ndarray, logits: dict[str, np.ndarray], labels: dict[str, list[str]]) -> np.ndarray:
    """Rows an urgent cue makes `high`: all of them but suggestions (意见建议), which name self-harm or
    violence when they cite other people's cases (家属流露出轻生念头, 医院发生持刀事件), not as a threat."""
    codes = labels.get("type", [])
    if "type" not in logits or "suggestion" not in codes:
        return urgent
    return urgent & (logits["type"].argmax(axis=-1) != codes.index("suggestion"))


def decide(logits: dict[str, np.ndarray], labels: dict[str, list[str]], calibration: Calibration,
           urgent_cues: np.ndarray | None = None) -> dict[str, HeadOutput]:
    """Calibrated probabilities and decisions per head: what serving returns and evaluation scores.

    `urgent_cues` (a bool per row, see `risk_cues.urgent_cue_mask`) marks texts that name self-harm
    or violence: they are `high` (see `high_on_cue`), or at least `elevated`.
    """
    out = {}
    for head, codes in labels.items():
        if head == MULTI_LABEL_HEAD:
            probs = sigmoid(logits[head])
            out[head] = HeadOutput(probs, (probs >= calibration.reason_threshold).astype(np.int64))
            continue
        probs = softmax(logits[head], calibration.temperatures.get(head, 1.0))
        predicted = (risk_decision(probs, codes, calibration.high_risk_threshold) if head == "risk"
                     else probs.argmax(axis=-1))
        if head == "risk" and urgent_cues is not None:
            predicted = raise_on_urgent_cues(predicted, urgent_cues, codes, high_on_cue(urgent_cues, logits, labels))
        out[head] = HeadOutput(probs, predicted)
    return out


def needs_review(decided: dict[str, HeadOutput], calibration: Calibration,
                 urgent_cues: np.ndarray | None = None) -> np.ndarray:
    """Which cases a person must read: any head less confident than its abstain threshold, or a text
    naming self-harm or violence (read whatever the model says). The one rule the service applies
    and evaluation counts."""
    rows = len(next(iter(decided.values())).probs)
    review = np.zeros(rows, dtype=bool) if urgent_cues is None else np.asarray(urgent_cues, dtype=bool).copy()
    for head, threshold in calibration.abstain_thresholds.items():
        if head in decided and head != MULTI_LABEL_HEAD:
            review |= decided[head].probs.max(axis=-1) < threshold
    return review

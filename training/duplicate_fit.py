"""Fits the duplicate scorer of a model on a corpus's labelled duplicate groups and related pairs.

Pairs come from the same candidate stages the service uses (`DuplicateIndex`), so the scorer learns
to tell apart exactly what search will put in front of it. Fitted on the train split, thresholds set
on dev, measured on test: the model card's duplicate figures are on cases the scorer never saw.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from petition_triage.model.inference import EMBEDDING_OUTPUT, OnnxTriageModel
from petition_triage.service.duplicate_index import DuplicateIndex
from petition_triage.service.duplicate_scorer import CLASSES, FEATURES, DuplicateScorer, pair_evidence
from petition_triage.service.duplicate_store import top_labels
from petition_triage.service.fingerprints import Fingerprint, fingerprint, idf_table

from .artifact import write_model_card
from .corpus import read_records

logger = logging.getLogger(__name__)

TARGET_PRECISION = 0.95
FIT_SALT = "duplicate-fit"  # hashes only ever compared within this run


@dataclass
class SplitPairs:
    """Candidate pairs of one split with their features and gold kinds."""

    pairs: list[tuple[int, int]]
    stages: list[list[str]]
    features: np.ndarray
    gold: np.ndarray  # index into CLASSES
    gold_duplicates: set[tuple[int, int]]
    gold_related: set[tuple[int, int]]


def corpus_fingerprints(model: OnnxTriageModel, records: list[dict]) -> list[Fingerprint]:
    outputs = model.logits([r["text"] for r in records], [r.get("title") for r in records])
    decided = model.decide(outputs)
    labels = model.labels
    fps = []
    for i, record in enumerate(records):
        submitter = record.get("submitter") or {}
        metadata = {"phone": submitter.get("phone"), "id_number": submitter.get("id_number"),
                    "name": submitter.get("name")}
        # The same top-3 label probabilities the service stores with a case.
        top = {head: top_labels(dict(zip(labels[head], decided[head].probs[i].tolist())))
               for head in ("type", "department") if head in decided}
        fps.append(fingerprint(record["text"], record.get("title"), outputs[EMBEDDING_OUTPUT][i], metadata, FIT_SALT,
                               top))
    return fps


def gold_links(records: list[dict]) -> tuple[set[tuple[int, int]], set[tuple[int, int]]]:
    """Duplicate pairs (same group) and related pairs (`same_issue`) by record position, a < b."""
    position = {r["id"]: i for i, r in enumerate(records)}
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        if record.get("duplicate_group"):
            groups.setdefault(record["duplicate_group"], []).append(i)
    duplicates = {pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)}
    related = set()
    for i, record in enumerate(records):
        for link in record.get("related") or []:
            j = position.get(link["id"])
            if j is not None and link["kind"] == "same_issue":
                related.add((min(i, j), max(i, j)))
    return duplicates, related - duplicates


def candidate_pairs(fps: list[Fingerprint], records: list[dict], idf: dict[str, float], default_idf: float) -> SplitPairs:
    index = DuplicateIndex()
    for i, fp in enumerate(fps):
        index.add(str(i), fp)
    found: dict[tuple[int, int], set[str]] = {}
    for i, fp in enumerate(fps):
        for row, stages in index.candidates(fp).items():
            if row != i:
                found.setdefault((min(i, row), max(i, row)), set()).update(stages)
    duplicates, related = gold_links(records)
    pairs = sorted(found)
    features = np.array([pair_evidence(fps[a], fps[b], idf, default_idf).features for a, b in pairs])
    gold = np.array([CLASSES.index("duplicate") if p in duplicates else CLASSES.index("related") if p in related
                     else CLASSES.index("none") for p in pairs])
    return SplitPairs(pairs, [sorted(found[p]) for p in pairs], features.reshape(len(pairs), len(FEATURES)), gold,
                      duplicates, related)


def precision_recall(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(predicted & gold)
    return {"precision": hits / len(predicted) if predicted else 1.0, "recall": hits / len(gold) if gold else 1.0,
            "predicted": len(predicted), "gold": len(gold)}


def best_threshold(scores: np.ndarray, positive: np.ndarray, total_positive: int,
                   min_precision: float | None = None) -> float:
    """The threshold with the best F1 (among those reaching `min_precision`, when any does)."""
    best, best_key = 0.5, (-1.0, -1.0)
    for t in np.round(np.arange(0.05, 0.996, 0.01), 3):
        chosen = scores >= t
        hits = int((chosen & positive).sum())
        precision = hits / chosen.sum() if chosen.any() else 1.0
        recall = hits / total_positive if total_positive else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        key = (float(min_precision is None or precision >= min_precision), f1)
        if key > best_key:
            best, best_key = float(t), key
    return best


def fit_scorer(train: SplitPairs, dev: SplitPairs, idf: dict[str, float], default_idf: float,
               seed: int = 0) -> DuplicateScorer:
    classifier = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced", random_state=seed)
    classifier.fit(train.features, train.gold)
    # The class order of sklearn follows the labels seen; map it onto CLASSES.
    coef = np.zeros((len(CLASSES), len(FEATURES)))
    intercept = np.full(len(CLASSES), -30.0)
    for row, label in enumerate(classifier.classes_):
        coef[label], intercept[label] = classifier.coef_[row], classifier.intercept_[row]
    if len(classifier.classes_) == 2:  # binary fit: sklearn gives one row for the positive class
        coef[:], intercept[:] = 0.0, -30.0
        coef[classifier.classes_[1]], intercept[classifier.classes_[1]] = classifier.coef_[0], classifier.intercept_[0]
        intercept[classifier.classes_[0]] = 0.0
    scorer = DuplicateScorer(coef=coef.tolist(), intercept=intercept.tolist(), thresholds={"duplicate": 0.5, "related": 0.5},
                             idf=idf, default_idf=default_idf)
    probabilities = scorer.probabilities(dev.features)
    for kind, gold in (("duplicate", dev.gold_duplicates), ("related", dev.gold_related)):
        positive = dev.gold == CLASSES.index(kind)
        scorer.thresholds[kind] = best_threshold(probabilities[:, CLASSES.index(kind)], positive, len(gold),
                                                 TARGET_PRECISION if kind == "duplicate" else None)
    return scorer


def evaluate_scorer(scorer: DuplicateScorer, split: SplitPairs) -> dict[str, dict[str, float]]:
    """Pairwise precision and recall of each stage alone and of the scorer, on one split."""
    probabilities = scorer.probabilities(split.features) if len(split.pairs) else np.zeros((0, len(CLASSES)))
    judged = [scorer.judge(p) for p in probabilities]
    combined_dup = {p for p, j in zip(split.pairs, judged) if j == "duplicate"}
    combined_rel = {p for p, j in zip(split.pairs, judged) if j == "related"}
    report = {"combined_duplicates": precision_recall(combined_dup, split.gold_duplicates),
              "combined_related": precision_recall(combined_rel, split.gold_related),
              "candidates_recall_duplicates": precision_recall(set(split.pairs), split.gold_duplicates)["recall"]}
    semantic = split.features[:, FEATURES.index("semantic")] if len(split.pairs) else np.zeros(0)
    for stage in ("exact", "lexical", "contact"):
        chosen = {p for p, stages in zip(split.pairs, split.stages) if stage in stages}
        report[f"{stage}_only_duplicates"] = precision_recall(chosen, split.gold_duplicates)
    threshold = scorer.report.get("semantic_threshold", 0.9)
    chosen = {p for p, s in zip(split.pairs, semantic) if s >= threshold}
    report["semantic_only_duplicates"] = precision_recall(chosen, split.gold_duplicates)
    return report


def fit_duplicate_scorer(model_dir: Path, data_dir: Path) -> DuplicateScorer:
    """Fits, thresholds and measures the scorer, and saves it into the model directory."""
    model = OnnxTriageModel(model_dir)
    splits = {name: read_records(data_dir / f"{name}.jsonl") for name in ("train", "dev", "test")
              if (data_dir / f"{name}.jsonl").exists()}
    if "train" not in splits or "dev" not in splits:
        raise ValueError(f"{data_dir} needs train.jsonl and dev.jsonl with duplicate groups and related pairs")
    fps = {name: corpus_fingerprints(model, records) for name, records in splits.items()}
    idf, default_idf = idf_table(fp.terms for fp in fps["train"])
    pairs = {name: candidate_pairs(fps[name], splits[name], idf, default_idf) for name in splits}
    scorer = fit_scorer(pairs["train"], pairs["dev"], idf, default_idf)
    # The semantic stage alone, for comparison: the cosine with the best dev F1.
    dev = pairs["dev"]
    semantic_threshold = best_threshold(dev.features[:, FEATURES.index("semantic")],
                                        dev.gold == CLASSES.index("duplicate"), len(dev.gold_duplicates))
    scorer.report = {"semantic_threshold": semantic_threshold, "fitted_on": str(data_dir),
                     "train_pairs": len(pairs["train"].pairs), "model_version": model.version}
    scorer.report["splits"] = {name: evaluate_scorer(scorer, p) for name, p in pairs.items() if name != "train"}
    scorer.save(model_dir)
    write_model_card(model_dir)
    return scorer

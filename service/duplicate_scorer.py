"""Scores a pair of submissions: duplicate (same person, same matter), related (same public issue,
other people) or neither.

A multinomial logistic regression over a handful of pair features, fitted on the labelled groups and
pairs of a corpus by `petition-triage duplicates fit` and stored with the model it was fitted for
(`duplicate_scorer.json`): the semantic feature is that model's embedding, so the two travel together.
Serving needs NumPy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .fingerprints import Fingerprint, label_overlap, weighted_jaccard

SCORER_NAME = "duplicate_scorer.json"
CLASSES = ("none", "duplicate", "related")
# A word rarer than this (in IDF) is specific to a matter: a place, a company, an estate.
RARE_IDF = 5.0
FEATURES = (
    "semantic", "lexical", "rare_shared", "contact_same", "contact_differs", "name_same", "name_differs",
    "type_overlap", "department_overlap", "follow_up_cue", "other_matter_cue",
    "person_x_semantic", "person_x_lexical", "person_x_rare_shared", "person_x_type_overlap",
    "person_x_department_overlap", "person_x_follow_up_cue", "person_x_other_matter_cue",
)


@dataclass
class PairEvidence:
    """Why two submissions were matched, in the terms a reviewer reads."""

    semantic_similarity: float
    text_similarity: float
    shared_terms: list[str]
    same_contact: bool
    same_name: bool
    features: np.ndarray = field(repr=False)


def pair_evidence(a: Fingerprint, b: Fingerprint, idf: dict[str, float], default_idf: float,
                  semantic: float | None = None) -> PairEvidence:
    """Features of a pair; `semantic` is the embeddings' cosine when the caller has it already."""
    if semantic is None:
        semantic = float(a.embedding @ b.embedding)
    common = set(a.terms).intersection(b.terms)
    lexical = weighted_jaccard(common, a.terms, b.terms, idf, default_idf)
    shared = sorted(common, key=lambda w: (-idf.get(w, default_idf), w))
    rare = min(sum(1 for w in shared if idf.get(w, default_idf) > RARE_IDF), 5) / 5.0
    contact_same = bool(a.contacts & b.contacts)
    contact_differs = bool(a.contacts and b.contacts and not contact_same)
    name_same = bool(a.names & b.names)
    name_differs = bool(a.names and b.names and not name_same)
    type_overlap = label_overlap(a.labels.get("type", {}), b.labels.get("type", {}))
    department_overlap = label_overlap(a.labels.get("department", {}), b.labels.get("department", {}))
    follow_up = float("follow_up" in a.cues | b.cues)
    other_matter = float("other_matter" in a.cues | b.cues)
    person = float(contact_same or name_same)
    features = np.array([
        semantic, lexical, rare, contact_same, contact_differs, name_same, name_differs,
        type_overlap, department_overlap, follow_up, other_matter,
        person * semantic, person * lexical, person * rare, person * type_overlap,
        person * department_overlap, person * follow_up, person * other_matter,
    ], dtype=np.float64)
    return PairEvidence(semantic, lexical, shared[:8], contact_same, name_same, features)


@dataclass
class DuplicateScorer:
    coef: list[list[float]]  # one row per class in CLASSES
    intercept: list[float]
    # Probability of `duplicate` (and of `related`) from which a pair is reported as such.
    thresholds: dict[str, float]
    idf: dict[str, float]
    default_idf: float
    # How the scorer was fitted and how it did on held-out data, for the model card.
    report: dict = field(default_factory=dict)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for rows of pair features (n × len(FEATURES))."""
        z = np.atleast_2d(features) @ np.asarray(self.coef).T + np.asarray(self.intercept)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def judge(self, probabilities: np.ndarray) -> str:
        """`duplicate`, `related` or `none` for one pair's probabilities."""
        p_dup, p_rel = probabilities[CLASSES.index("duplicate")], probabilities[CLASSES.index("related")]
        if p_dup >= self.thresholds["duplicate"]:
            return "duplicate"
        if p_rel >= self.thresholds["related"]:
            return "related"
        return "none"

    def evidence(self, a: Fingerprint, b: Fingerprint, semantic: float | None = None) -> PairEvidence:
        return pair_evidence(a, b, self.idf, self.default_idf, semantic)

    def save(self, directory: Path) -> None:
        (Path(directory) / SCORER_NAME).write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "DuplicateScorer | None":
        path = Path(directory) / SCORER_NAME
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text(encoding="utf-8")))

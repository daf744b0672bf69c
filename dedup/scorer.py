"""Scores a pair of submissions: duplicate (same person, same matter), related (same public issue,
other people) or neither.

A multinomial logistic regression over a handful of pair features, fitted on the labelled groups and
pairs of a corpus by `petition-triage duplicates fit` and stored with the model it was fitted for
(`duplicate_scorer.json`): the semantic feature is that model's embedding, so the two travel together.
Serving needs NumPy only.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from petition_triage.model.model_dir import ModelDirectory
from petition_triage.places import code_relation

from .fingerprints import Fingerprint, label_overlap, weighted_containment, weighted_jaccard

logger = logging.getLogger(__name__)

_DIGIT = re.compile(r"\d")
CLASSES = ("none", "duplicate", "related")
# A link kind kept for hot issues only (see `DuplicateScorer.judge`); the kinds search shows are the others.
ISSUE_LINK = "issue"
# A word rarer than this (in IDF) is specific to a matter: a place, a company, an estate.
RARE_IDF = 5.0
# Time apart is read on a log scale up to a year: a week and a month differ more than a year and two.
TIME_SCALE_DAYS = 365.0
# The features that matter differently when the two submissions come from one person.
_PERSONAL = ("semantic", "lexical", "containment", "rare_shared", "type_overlap", "department_overlap",
             "follow_up_cue", "other_matter_cue", "time_apart", "place_same", "place_differs")
FEATURES = (
    "semantic", "lexical", "containment", "rare_shared", "contact_same", "contact_differs", "name_same",
    "name_differs", "type_overlap", "department_overlap", "follow_up_cue", "other_matter_cue", "time_apart",
    "place_same", "place_differs", "numbers_shared", *(f"person_x_{name}" for name in _PERSONAL),
)
CONTACT_FEATURES = ("contact_same", "contact_differs", "name_same", "name_differs",
                    *(f"person_x_{name}" for name in _PERSONAL))


@dataclass
class PairEvidence:
    """Why two submissions were matched, in the terms a reviewer reads."""

    semantic_similarity: float
    text_similarity: float
    shared_terms: list[str]
    same_contact: bool
    same_name: bool
    features: np.ndarray = field(repr=False)
    containment: float = 0.0
    same_place: bool | None = None  # None: either place unknown, or one contains the other
    days_apart: float | None = None


def pair_evidence(a: Fingerprint, b: Fingerprint, idf: dict[str, float], default_idf: float,
                  semantic: float | None = None) -> PairEvidence:
    """Features of a pair; `semantic` is the embeddings' cosine when the caller has it already."""
    if semantic is None:
        semantic = float(a.embedding @ b.embedding)
    common = set(a.terms).intersection(b.terms)
    lexical = weighted_jaccard(common, a.terms, b.terms, idf, default_idf)
    shared = sorted(common, key=lambda w: (-idf.get(w, default_idf), w))
    contact_same = bool(a.contacts & b.contacts)
    name_same = bool(a.names & b.names)
    place = code_relation(a.place_code, b.place_code)
    days = days_between(a.submitted_at, b.submitted_at)
    values = {
        "semantic": semantic, "lexical": lexical,
        "containment": weighted_containment(common, a.terms, b.terms, idf, default_idf),
        "rare_shared": min(sum(1 for w in shared if idf.get(w, default_idf) > RARE_IDF), 5) / 5.0,
        "contact_same": contact_same, "contact_differs": bool(a.contacts and b.contacts and not contact_same),
        "name_same": name_same, "name_differs": bool(a.names and b.names and not name_same),
        "type_overlap": label_overlap(a.labels.get("type", {}), b.labels.get("type", {})),
        "department_overlap": label_overlap(a.labels.get("department", {}), b.labels.get("department", {})),
        "follow_up_cue": "follow_up" in a.cues | b.cues, "other_matter_cue": "other_matter" in a.cues | b.cues,
        "time_apart": time_apart(days),
        "place_same": place == "same", "place_differs": place == "differs",
        "numbers_shared": numbers_shared(a.terms, b.terms),
    }
    person = float(contact_same or name_same)
    for name in _PERSONAL:
        values[f"person_x_{name}"] = person * float(values[name])
    features = np.array([float(values[name]) for name in FEATURES], dtype=np.float64)
    return PairEvidence(semantic, lexical, shared[:8], contact_same, name_same, features,
                        containment=values["containment"],
                        same_place={"same": True, "differs": False}.get(place), days_apart=days)


def numbers_shared(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """The share of the shorter text's numbers (sums, dates, house numbers) the other has too. One person
    re-telling a matter repeats their own sums and dates; another person on the same issue has others."""
    first, second = {t for t in a if _DIGIT.search(t)}, {t for t in b if _DIGIT.search(t)}
    if not first or not second:
        return 0.0
    return len(first & second) / min(len(first), len(second))


def without_contacts(features: np.ndarray) -> np.ndarray:
    """The same pair features as if neither submission had given a contact or a name: how a web post and
    a hotline call by one person look to search."""
    stripped = np.array(features, dtype=np.float64, copy=True)
    stripped[..., [FEATURES.index(name) for name in CONTACT_FEATURES]] = 0.0
    return stripped


def days_between(a: float | None, b: float | None) -> float | None:
    """Days between two POSIX times; None when either is unknown."""
    return abs(a - b) / 86400.0 if a is not None and b is not None else None


def time_apart(days: float | None) -> float:
    """0 for the same moment, 1 for a year or more apart (log scale); 0 when the time is unknown, which
    only synthetic fingerprints lack: the service stamps every case."""
    if days is None:
        return 0.0
    return min(math.log1p(days) / math.log1p(TIME_SCALE_DAYS), 1.0)


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
    # The pair features the coefficients are for, in order.
    features: list[str] = field(default_factory=lambda: list(FEATURES))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for rows of pair features (n × len(FEATURES))."""
        z = np.atleast_2d(features) @ np.asarray(self.coef).T + np.asarray(self.intercept)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def judge(self, probabilities: np.ndarray, issue_links: bool = False) -> str:
        """`duplicate`, `related` or `none` for one pair's probabilities (`issue` too with `issue_links`).

        `related` reads the probability that the two are about one matter at all (duplicate or related):
        text tells "about the same thing" far better than "by the same person" (on the real-style dev
        pairs without contacts, 0.84 precision at 0.82 recall against at most 0.50 precision for
        `related` alone), and a re-send the duplicate threshold leaves out still belongs to its issue.
        `issue`: the same reading below the related threshold, down to the `issue` threshold (chosen on
        a mix of public issues and unrelated letters): a weaker link, never shown as a match, that only
        hot-issue clustering reads, where a cluster must hang together and one link cannot chain."""
        p_dup, p_rel = probabilities[CLASSES.index("duplicate")], probabilities[CLASSES.index("related")]
        if p_dup >= self.thresholds["duplicate"]:
            return "duplicate"
        if p_dup + p_rel >= self.thresholds["related"]:
            return "related"
        if issue_links and ISSUE_LINK in self.thresholds and p_dup + p_rel >= self.thresholds[ISSUE_LINK]:
            return ISSUE_LINK
        return "none"

    @staticmethod
    def score(probabilities: np.ndarray, kind: str) -> float:
        """The probability behind a judgement: of the kind, or of one matter for an issue link."""
        if kind == ISSUE_LINK:
            return float(probabilities[CLASSES.index("duplicate")] + probabilities[CLASSES.index("related")])
        return float(probabilities[CLASSES.index(kind)])

    def evidence(self, a: Fingerprint, b: Fingerprint, semantic: float | None = None) -> PairEvidence:
        return pair_evidence(a, b, self.idf, self.default_idf, semantic)

    def save(self, directory: Path) -> None:
        ModelDirectory(directory).scorer.write_text(json.dumps(asdict(self), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "DuplicateScorer | None":
        path = ModelDirectory(directory).scorer
        if not path.exists():
            return None
        scorer = cls(**json.loads(path.read_text(encoding="utf-8")))
        widths = {len(row) for row in scorer.coef}
        if list(scorer.features) != list(FEATURES) or widths != {len(FEATURES)}:
            # Fitted by an older release on other pair features: scoring with it would be meaningless.
            logger.warning("%s was fitted on other pair features than this release computes; duplicate search "
                           "stays off until `petition-triage duplicates fit` refits it", path)
            return None
        return scorer

"""What duplicate search compares of a submission: its text reduced for matching, and hashed contacts.

A fingerprint never holds a phone number, an ID number or a name in clear: only salted hashes.
"""

from __future__ import annotations

import hashlib
import math
import re
import sys
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import jieba
import numpy as np
from datasketch import MinHash

from petition_triage.model.decision import HeadOutput
from petition_triage.privacy import contact_hash

CONTACT_FIELDS = ("phone", "mobile", "contact_phone", "id_number", "email", "wechat_openid")
NAME_FIELDS = ("name", "submitter_name", "contact_name")
MINHASH_PERMUTATIONS = 64
MINHASH_SCHEME = "affine32"  # datasketch's default; named so stored signatures stay readable
# Channel boilerplate that says nothing about the matter: "来电人反映", "诉求：" and the like.
_BOILERPLATE = re.compile(r"来电人|来信人|来电|反映|诉求|咨询|请问|您好|你好|领导|尊敬的|谢谢|此致敬礼")
_NOT_WORD = re.compile(r"[\W_]+")
# Phrases that tie a text to an earlier submission of the same matter, or say it is about another one.
MATTER_CUES = {
    "follow_up": re.compile(r"上次|上回|之前|此前|前几天|曾[经于]?|[写打]过|反映过|留过言|问了[两几\d]+次|还是没|仍未|至今|再次|又一次|第[二三四五]次"),
    "other_matter": re.compile(r"另[一外]件事|另外一件|另一个问题|另外一个问题|还有一件事|另一件"),
}

jieba.setLogLevel(60)


def normalise(text: str) -> str:
    """NFKC, lower case, no punctuation or spaces, no channel boilerplate: what an exact copy shares."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NOT_WORD.sub("", _BOILERPLATE.sub("", text))


def char_shingles(text: str, n: int) -> set[str]:
    """The character n-grams of a text without its whitespace (the text itself when shorter than n)."""
    text = re.sub(r"\s+", "", text)
    return {text[i : i + n] for i in range(max(1, len(text) - n + 1))}


def matter_terms(text: str) -> tuple[str, ...]:
    """The distinct words of a text (jieba), two characters or more, without boilerplate and punctuation.

    A sorted tuple of interned strings: at 100,000 cases a set per case would cost ~4 KB, this ~1 KB.
    """
    text = _BOILERPLATE.sub(" ", unicodedata.normalize("NFKC", text).lower())
    return intern_terms(w for w in jieba.lcut(text) if len(w) >= 2 and not _NOT_WORD.fullmatch(w))


def intern_terms(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({sys.intern(w) for w in words}))


def minhash_of(terms: Iterable[str] = (), hashvalues: np.ndarray | None = None) -> MinHash:
    """The MinHash signature of a set of words, or the signature rebuilt from stored values."""
    signature = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=7, scheme=MINHASH_SCHEME, hashvalues=hashvalues)
    if hashvalues is None:
        signature.update_batch([t.encode("utf-8") for t in terms])
    return signature


def person_hashes(metadata: Mapping[str, object], salt: str) -> tuple[frozenset[str], frozenset[str]]:
    """Salted hashes of the contact numbers and of the names given in a submission's metadata."""
    contacts = frozenset(contact_hash(str(metadata[k]), salt) for k in CONTACT_FIELDS if metadata.get(k))
    names = frozenset(contact_hash(_NOT_WORD.sub("", str(metadata[k])), "name:" + salt)
                      for k in NAME_FIELDS if metadata.get(k))
    return contacts, names


def without_person_fields(metadata: Mapping[str, object]) -> dict[str, object]:
    """The metadata less its contact and name fields (which fingerprints keep only as hashes)."""
    return {k: v for k, v in metadata.items() if k not in CONTACT_FIELDS and k not in NAME_FIELDS}


@dataclass
class Fingerprint:
    """A submission as duplicate search sees it."""

    text_hash: str
    terms: tuple[str, ...]  # sorted, distinct
    minhash: np.ndarray | None  # uint32, MINHASH_PERMUTATIONS values; None inside the index
    embedding: np.ndarray | None  # float32, unit length; None inside the index, which keeps a matrix
    contacts: frozenset[str] = field(default_factory=frozenset)
    names: frozenset[str] = field(default_factory=frozenset)
    # The model's top labels with probabilities, e.g. {"department": {"housing": 0.8, ...}}: duplicates
    # share their labels, and soft overlap tolerates a short follow-up the model is unsure of.
    labels: dict[str, dict[str, float]] = field(default_factory=dict)
    cues: frozenset[str] = field(default_factory=frozenset)
    # When the submission arrived (POSIX seconds) and the division code of its place: one person's
    # re-submissions of a matter come within weeks and name the same county; another matter of theirs
    # is often months away or elsewhere.
    submitted_at: float | None = None
    place_code: str | None = None
    # The model version whose encoder made the embedding: embeddings of two models do not compare.
    embedding_model: str = ""


def fingerprint(text: str, title: str | None, embedding: np.ndarray, metadata: Mapping[str, object], salt: str,
                labels: dict[str, dict[str, float]] | None = None, submitted_at: datetime | None = None,
                place_code: str | None = None, embedding_model: str = "") -> Fingerprint:
    full = f"{title or ''} {text}"
    terms = matter_terms(full)
    contacts, names = person_hashes(metadata, salt)
    return Fingerprint(
        text_hash=hashlib.sha256(normalise(full).encode("utf-8")).hexdigest(), terms=terms,
        minhash=minhash_of(terms).hashvalues.astype(np.uint32), embedding=unit_vector(embedding),
        contacts=contacts, names=names, labels=labels or {},
        cues=frozenset(name for name, pattern in MATTER_CUES.items() if pattern.search(full)),
        submitted_at=submitted_at.timestamp() if submitted_at else None,
        place_code=sys.intern(place_code) if place_code else None, embedding_model=sys.intern(embedding_model))


def unit_vector(embedding: np.ndarray) -> np.ndarray:
    """The embedding as float32 of length 1, so that a dot product is the cosine."""
    vector = np.asarray(embedding, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def label_overlap(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """Probability mass two label distributions share (1 for the same sure label, 0 for disjoint)."""
    return sum(min(p, b[label]) for label, p in a.items() if label in b)


def weighted_jaccard(shared: set[str], a: Iterable[str], b: Iterable[str], idf: Mapping[str, float],
                     default_idf: float) -> float:
    """Jaccard with each word weighted by its inverse document frequency: shared rare words count most."""
    total = sum(idf.get(w, default_idf) for w in a) + sum(idf.get(w, default_idf) for w in b)
    common = sum(idf.get(w, default_idf) for w in shared)
    union = total - common
    return common / union if union > 0 else 0.0


def weighted_containment(shared: set[str], a: Iterable[str], b: Iterable[str], idf: Mapping[str, float],
                         default_idf: float) -> float:
    """The share of the shorter text's weighted words that the other text has too: a one-line follow-up
    ("工龄的事档案馆还是不给查") is contained in the long letter it follows, though their Jaccard is small."""
    smaller = min(sum(idf.get(w, default_idf) for w in a), sum(idf.get(w, default_idf) for w in b))
    return sum(idf.get(w, default_idf) for w in shared) / smaller if smaller > 0 else 0.0


def idf_table(documents: Iterable[Iterable[str]], min_df: int = 2) -> tuple[dict[str, float], float]:
    """Smoothed inverse document frequencies, and the value for words seen fewer than `min_df` times."""
    counts: dict[str, int] = {}
    n = 0
    for terms in documents:
        n += 1
        for term in terms:
            counts[term] = counts.get(term, 0) + 1
    table = {w: math.log((n + 1) / (c + 1)) + 1.0 for w, c in counts.items() if c >= min_df}
    return table, math.log((n + 1) / 1.0) + 1.0


def top_labels(probabilities: dict[str, float], k: int = 3) -> dict[str, float]:
    return dict(sorted(probabilities.items(), key=lambda item: -item[1])[:k])


def model_labels(labels: dict[str, list[str]], decided: dict[str, HeadOutput], row: int) -> dict[str, dict[str, float]]:
    """The top type and department labels of one row of a model's decisions, as fingerprints keep them."""
    return {head: top_labels(dict(zip(labels[head], decided[head].probs[row].tolist())))
            for head in ("type", "department") if head in decided}

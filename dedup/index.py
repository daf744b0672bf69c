"""The candidate index of duplicate search, one per process, following the database.

The database is the source of truth; each process holds the fingerprints in memory for speed and,
before every search, the service adds the rows other processes stored since its last look
(`service.duplicate_store.sync_index`, by the rows' sequence numbers). A case re-embedded by
`petition-triage duplicates reindex` comes back as a newer row and replaces the one held. Candidates come from four stages, each cheap at 100,000 cases:

    exact     the normalised text's hash
    lexical   MinHash LSH over the words (datasketch): copies and light edits
    terms     the most rare words in common (an inverted index, IDF-weighted): a re-telling through
              another channel, or another person's letter about the same estate, shares the names of
              its objects, places and sums though the wording and the embedding differ
    semantic  the nearest embeddings (one matrix product)
    contact   the same hashed phone / ID number or name

and every candidate is then scored as a pair (`DuplicateScorer`). Only cases whose embedding comes
from the same model as the query's are candidates: another model's embedding space does not compare,
and the scorer was fitted on its own model's similarities. After a model change, older cases are
found again once `reindex` has re-embedded them.
"""

from __future__ import annotations

import dataclasses
import threading
from array import array
from dataclasses import dataclass

import numpy as np
from datasketch import MinHashLSH

from .fingerprints import MINHASH_PERMUTATIONS, Fingerprint, minhash_of
from .scorer import ISSUE_LINK, DuplicateScorer, PairEvidence

# The candidate stages, by the names matches report them under (the API's evidence lists them too).
STAGES = ("exact", "lexical", "terms", "semantic", "contact")
MATCH_ORDER = ("duplicate", "related", ISSUE_LINK)
SEMANTIC_NEIGHBOURS = 20
TERM_NEIGHBOURS = 20
# A word in more cases than this (小区, 工资, 2025) says little about one matter: its posting list stops
# growing and the terms stage skips it, which bounds both memory and the cost of a search.
TERM_MAX_CASES = 1000
# A common name (王女士) can match thousands of cases; the most recent ones are the likely duplicates.
PERSON_CANDIDATES = 50
LSH_THRESHOLD = 0.5
@dataclass
class Match:
    case_id: str
    kind: str  # "duplicate", "related", or "issue" (kept for hot issues, never shown)
    score: float  # the probability of that kind (`DuplicateScorer.score`)
    stages: list[str]
    evidence: PairEvidence


class DuplicateIndex:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: list[str] = []
        self._fingerprints: list[Fingerprint] = []
        self._embeddings = np.zeros((1024, 0), dtype=np.float32)
        # Per row: which model made the embedding (a small code) and the stored row's sequence number.
        self._model_of = np.zeros(1024, dtype=np.int16)
        self._model_codes: dict[str, int] = {}
        self._seq_of: list[int] = []
        self._row_of: dict[str, int] = {}
        self._by_text: dict[str, list[int]] = {}
        self._by_person: dict[str, list[int]] = {}
        self._by_term: dict[str, array] = {}
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=MINHASH_PERMUTATIONS)
        self._max_seq = 0

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, case_id: str, fingerprint: Fingerprint, seq: int = 0) -> None:
        with self._lock:
            self._add(case_id, fingerprint, seq)

    def _add(self, case_id: str, fp: Fingerprint, seq: int) -> None:
        self._max_seq = max(self._max_seq, seq)
        if case_id in self._row_of:
            row = self._row_of[case_id]
            if seq > self._seq_of[row]:  # re-embedded: same words and contacts, new embedding and labels
                self._set_embedding(row, fp, seq)
                self._fingerprints[row] = dataclasses.replace(fp, embedding=None, minhash=None)
            return
        row = len(self._ids)
        if row == self._embeddings.shape[0]:
            grown = np.zeros((row * 2, self._embeddings.shape[1]), dtype=np.float32)
            grown[:row] = self._embeddings
            self._embeddings = grown
            self._model_of = np.concatenate([self._model_of, np.zeros(row, dtype=np.int16)])
        self._ids.append(case_id)
        self._seq_of.append(seq)
        self._set_embedding(row, fp, seq)
        # The embedding lives in the matrix and the signature in the LSH tables: copies kept per case
        # would cost ~190 MB at 100,000 cases.
        self._fingerprints.append(dataclasses.replace(fp, embedding=None, minhash=None))
        self._row_of[case_id] = row
        self._by_text.setdefault(fp.text_hash, []).append(row)
        for key in fp.contacts | fp.names:
            self._by_person.setdefault(key, []).append(row)
        for term in fp.terms:
            posting = self._by_term.get(term)
            if posting is None:
                posting = self._by_term[term] = array("i")
            if len(posting) <= TERM_MAX_CASES:
                posting.append(row)
        if fp.terms:
            self._lsh.insert(case_id, minhash_of(hashvalues=fp.minhash), check_duplication=False)

    def _set_embedding(self, row: int, fp: Fingerprint, seq: int) -> None:
        # Models differ in width (384 for e5-small, 768 for a base model): rows are zero-padded to the
        # widest seen, and a query reads only its own width.
        width = fp.embedding.shape[0]
        if width > self._embeddings.shape[1]:
            self._embeddings = np.pad(self._embeddings, ((0, 0), (0, width - self._embeddings.shape[1])))
        self._embeddings[row, :width] = fp.embedding
        self._embeddings[row, width:] = 0.0
        self._model_of[row] = self._model_code(fp.embedding_model)
        self._seq_of[row] = seq

    def _model_code(self, model: str) -> int:
        return self._model_codes.setdefault(model, len(self._model_codes))

    def embedded_by(self) -> dict[str, int]:
        """How many cases each model's embeddings cover."""
        counts = np.bincount(self._model_of[:len(self._ids)], minlength=len(self._model_codes))
        return {model: int(counts[code]) for model, code in self._model_codes.items() if counts[code]}

    def not_embedded_by(self, model: str) -> int:
        """How many cases another model embedded: duplicate search skips them until they are re-embedded."""
        return sum(n for other, n in self.embedded_by().items() if other != model)

    @property
    def max_seq(self) -> int:
        """The highest stored sequence number seen."""
        return self._max_seq

    def unseen(self, stored: list[tuple[int, str]]) -> list[str]:
        """Of stored rows (sequence number, case id), the cases this index lacks or holds at an older row;
        the highest sequence number among them is noted as seen."""
        with self._lock:
            self._max_seq = max([self._max_seq, *(seq for seq, _ in stored)])
            return [case_id for seq, case_id in stored
                    if case_id not in self._row_of or seq > self._seq_of[self._row_of[case_id]]]

    def candidates(self, fp: Fingerprint, neighbours: int = SEMANTIC_NEIGHBOURS) -> dict[int, list[str]]:
        """Rows worth scoring (embedded by the query's model), with the stages that proposed each."""
        found: dict[int, list[str]] = {}
        n = len(self._ids)
        code = self._model_codes.get(fp.embedding_model)
        comparable = self._model_of[:n] == code if code is not None else np.zeros(n, dtype=bool)
        for row in self._by_text.get(fp.text_hash, []):
            found.setdefault(row, []).append("exact")
        if fp.terms:
            for case_id in self._lsh.query(minhash_of(hashvalues=fp.minhash)):
                found.setdefault(self._row_of[case_id], []).append("lexical")
        for row in self._rare_term_neighbours(fp.terms, n):
            found.setdefault(row, []).append("terms")
        if comparable.any():
            similarity = np.where(comparable, self._embeddings[:n, :len(fp.embedding)] @ fp.embedding, -np.inf)
            k = min(neighbours, int(comparable.sum()))
            for row in np.argpartition(-similarity, k - 1)[:k]:
                found.setdefault(int(row), []).append("semantic")
        for key in fp.contacts | fp.names:
            for row in self._by_person.get(key, [])[-PERSON_CANDIDATES:]:
                if "contact" not in found.setdefault(row, []):
                    found[row].append("contact")
        return {row: stages for row, stages in found.items() if comparable[row]}

    def _rare_term_neighbours(self, terms: tuple[str, ...], n: int) -> list[int]:
        """The rows sharing the most inverse-document-frequency weight of the query's indexed words."""
        postings = [p for p in (self._by_term.get(t) for t in terms) if p is not None and len(p) <= TERM_MAX_CASES]
        if not postings or n == 0:
            return []
        lengths = np.array([len(p) for p in postings])
        rows = np.concatenate([np.frombuffer(p, dtype=np.int32) for p in postings])
        weight = np.bincount(rows, np.repeat(np.log((n + 1) / (lengths + 1)), lengths), minlength=n)
        k = min(TERM_NEIGHBOURS, int((weight > 0).sum()))
        if k == 0:
            return []
        return [int(row) for row in np.argpartition(-weight, k - 1)[:k] if weight[row] > 0]

    def search(self, fp: Fingerprint, scorer: DuplicateScorer, limit: int = 10,
               exclude: str | None = None, issue_links: bool = False) -> list[Match]:
        """Earlier cases that are duplicates or related, best first; with `issue_links`, weaker
        same-issue links after them (for registering: hot issues read them)."""
        with self._lock:
            proposed = self.candidates(fp)
            rows = [row for row in proposed if self._ids[row] != exclude]
            semantic = self._embeddings[rows, :len(fp.embedding)] @ fp.embedding if rows else []
            evidence = [scorer.evidence(fp, self._fingerprints[row], float(cos)) for row, cos in zip(rows, semantic)]
            ids = [self._ids[row] for row in rows]
        if not rows:
            return []
        probabilities = scorer.probabilities(np.stack([e.features for e in evidence]))
        matches = []
        for case_id, row, ev, p in zip(ids, rows, evidence, probabilities):
            kind = scorer.judge(p, issue_links)
            if kind != "none":
                matches.append(Match(case_id, kind, round(scorer.score(p, kind), 4), proposed[row], ev))
        matches.sort(key=lambda m: (MATCH_ORDER.index(m.kind), -m.score))
        return matches[:limit]


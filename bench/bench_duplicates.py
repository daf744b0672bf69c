"""Duplicate search: precision and recall per stage on the test split, and search latency at 100,000 cases.

Quality: the test split's 500 records are fingerprinted with the model (embedding, labels), every
record is searched against the others, and each stage alone and the fitted scorer are compared with
the labelled duplicate groups and `same_issue` related pairs (pairwise precision and recall).

Scale: the index is padded to `--cases` with synthetic fingerprints made from the corpus's own
(dev records' words resampled, embeddings jittered, fresh contact hashes), then the test records are searched
against it. The same padded set is written to a SQLite database to time start-up loading (`sync`).
Writes bench/results/duplicates.json.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
from latency import percentiles

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.dedup.fingerprints import Fingerprint, intern_terms, minhash_of
from petition_triage.dedup.index import DuplicateIndex
from petition_triage.dedup.scorer import DuplicateScorer
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.service.storage.database import Database, migrate
from petition_triage.service.storage.duplicate_store import sync_index
from petition_triage.service.storage.tables import Case, CaseFingerprint
from petition_triage.training.corpus import read_records
from petition_triage.training.duplicate_fit import candidate_pairs, corpus_fingerprints, evaluate_scorer

OUT = REPO_ROOT / "bench" / "results" / "duplicates.json"


def synthetic(base: list[Fingerprint], n: int, rng: random.Random) -> list[Fingerprint]:
    """Fingerprints shaped like real ones: a real record's words, half kept and topped up with other
    records' words, its embedding jittered, its place, a time near its own, its own contact hash."""
    vocabulary = sorted({w for fp in base for w in fp.terms})
    out = []
    for i in range(n):
        source = base[rng.randrange(len(base))]
        words = [w for w in source.terms if rng.random() < 0.5] + rng.sample(vocabulary, max(5, len(source.terms) // 2))
        terms = intern_terms(words)
        vector = source.embedding + np.random.default_rng(i).normal(0, 0.25 / np.sqrt(len(source.embedding)),
                                                                     len(source.embedding)).astype(np.float32)
        # Filed within a year of the record it copies, about the same place.
        when = source.submitted_at + rng.uniform(-180, 180) * 86400 if source.submitted_at else None
        out.append(Fingerprint(text_hash=f"synthetic-{i}", terms=terms, minhash=minhash_of(terms).hashvalues,
                               embedding=vector / np.linalg.norm(vector), contacts=frozenset({f"contact-{i}"}),
                               names=frozenset(), labels=source.labels, cues=source.cues, submitted_at=when,
                               place_code=source.place_code, embedding_model=source.embedding_model))
    return out


def timed_load(fingerprints: list[Fingerprint], model_version: str) -> dict:
    """Writes the fingerprints to a SQLite database and times a fresh index loading them."""
    with tempfile.TemporaryDirectory() as home:
        database = Database(f"sqlite:///{home}/cases.db")
        migrate(database.engine)
        started = time.perf_counter()
        with database.sessions() as session:
            for start in range(0, len(fingerprints), 5000):
                chunk = fingerprints[start : start + 5000]
                session.add_all(Case(id=f"c{start + i}", channel="web", text="-", meta={}, model_version=model_version,
                                     classification={}) for i in range(len(chunk)))
                session.flush()
                session.add_all(CaseFingerprint.from_fingerprint(f"c{start + i}", fp)
                                for i, fp in enumerate(chunk))
                session.commit()
        written = time.perf_counter() - started
        index = DuplicateIndex()
        started = time.perf_counter()
        with database.sessions() as session:
            loaded = sync_index(index, session)
        result = {"cases": loaded, "write_s": round(written, 1), "load_s": round(time.perf_counter() - started, 1)}
        database.engine.dispose()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--data", default=str(REPO_ROOT / "data_samples"))
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-load", action="store_true", help="skip timing the start-up load from the database")
    args = parser.parse_args()

    model = OnnxTriageModel(args.model)
    scorer = DuplicateScorer.load(Path(args.model))
    if scorer is None:
        raise SystemExit(f"{args.model} has no duplicate scorer: run `petition-triage duplicates fit --model {args.model}`")
    data = Path(args.data)
    padding_source = read_records(data / "dev.jsonl")
    test = read_records(data / "test.jsonl")

    started = time.perf_counter()
    test_fps = corpus_fingerprints(model, test)
    embed_ms = (time.perf_counter() - started) / len(test) * 1000
    quality = evaluate_scorer(scorer, candidate_pairs(test_fps, test, scorer.idf, scorer.default_idf))

    rng = random.Random(0)
    padding = synthetic(corpus_fingerprints(model, padding_source), args.cases - len(test_fps), rng)
    index = DuplicateIndex()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for i, fp in enumerate(padding):
        index.add(f"pad-{i}", fp)
    for i, fp in enumerate(test_fps):
        index.add(f"test-{i}", fp)
    build_s = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    latencies, found, gold_found = [], 0, 0
    positions = {r["id"]: i for i, r in enumerate(test)}
    for i in rng.sample(range(len(test)), min(args.queries, len(test))):
        started = time.perf_counter()
        matches = index.search(test_fps[i], scorer, exclude=f"test-{i}")
        latencies.append(time.perf_counter() - started)
        group = test[i].get("duplicate_group")
        gold = {f"test-{positions[r['id']]}" for r in test if group and r.get("duplicate_group") == group} - {f"test-{i}"}
        dup_ids = {m.case_id for m in matches if m.kind == "duplicate"}
        found += len(dup_ids & gold)
        gold_found += len(gold)

    result = {
        "model": model.version, "test_records": len(test),
        "quality_test_split": quality,
        "targets": {"duplicate_precision": 0.95, "duplicate_recall": 0.90, "search_ms_at_100k": 50},
        "scale": {
            "indexed_cases": len(index), "synthetic_cases": len(padding), "build_s": round(build_s, 1),
            "index_memory_mb": round((rss_after - rss_before) / 1024, 1),
            "search_latency": percentiles(latencies), "queries": len(latencies),
            "duplicate_recall_among_100k": round(found / gold_found, 3) if gold_found else None,
            "embedding_ms_per_text": round(embed_ms, 1),
        },
    }
    if not args.no_load:
        result["scale"]["database_load"] = timed_load(padding + test_fps, model.version)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

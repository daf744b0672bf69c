"""Fits the duplicate scorer of a model on a corpus's labelled duplicate groups and related pairs.

Pairs come from the same candidate stages the service uses (`DuplicateIndex`), so the scorer learns
to tell apart exactly what search will put in front of it. Fitted on the train and dev splits,
thresholds set on out-of-fold probabilities, measured on test: the model card's test figures are
on cases the scorer never saw.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from petition_triage.dedup.components import MIN_SUBMITTERS, components, issue_clusters
from petition_triage.dedup.fingerprints import Fingerprint, char_shingles, fingerprint, idf_table, model_labels
from petition_triage.dedup.index import STAGES, DuplicateIndex
from petition_triage.dedup.scorer import CLASSES, FEATURES, ISSUE_LINK, DuplicateScorer, pair_evidence, without_contacts
from petition_triage.model.inference import EMBEDDING_OUTPUT, OnnxTriageModel
from petition_triage.places import extract_place

from .artifact import write_model_card
from .corpus import read_records
from .data import DUPLICATES_DIR, SHIFT_DIR, SHIFT_SPLITS

logger = logging.getLogger(__name__)

TARGET_PRECISION = 0.95
# `related` feeds hot issues, where a wrong link chains unrelated letters together: its threshold is
# the one with the most recall at this precision (best F1 before, which chained whole provinces).
TARGET_RELATED_PRECISION = 0.80
# Hot issues: the purity every shown cluster must keep on the dev mix, and the lowest threshold tried.
ISSUE_PURITY = 0.95
ISSUE_THRESHOLD_FLOOR = 0.2
FOLDS = 5
# Inverse regularisation strengths (C) tried; the one with the most out-of-fold recall at the target wins.
REGULARISATION = (0.3, 1.0, 3.0, 10.0)
OUT_OF_FOLD = "train+dev (out-of-fold)"
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
    # Pairs whose cases are linked (by gold duplicates or related pairs) share a group, so that
    # cross-validation never scores a pair with a model fitted on its own matter.
    groups: np.ndarray
    records: int  # pairs and groups are positions among this many records


def corpus_fingerprints(model: OnnxTriageModel, records: list[dict]) -> list[Fingerprint]:
    """Fingerprints as the service makes them: the model's embedding and top labels, hashed contacts, the
    place found in the text and the channel's region, and the time of submission."""
    outputs = model.logits([r["text"] for r in records], [r.get("title") for r in records])
    decided = model.decide(outputs)
    fps = []
    for i, record in enumerate(records):
        submitter = record.get("submitter") or {}
        metadata = {"phone": submitter.get("phone"), "id_number": submitter.get("id_number"),
                    "name": submitter.get("name")}
        region = "".join(v for v in (record.get("region") or {}).values() if v) or None
        place = extract_place(f"{record.get('title') or ''}。{record['text']}", region)
        submitted = datetime.fromisoformat(record["submitted_at"]) if record.get("submitted_at") else None
        fps.append(fingerprint(record["text"], record.get("title"), outputs[EMBEDDING_OUTPUT][i], metadata, FIT_SALT,
                               model_labels(model.labels, decided, i), submitted_at=submitted, place_code=place.code,
                               embedding_model=model.version))
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
    component = components(range(len(records)), duplicates | related)
    groups = np.array([component[a] for a, _ in pairs], dtype=np.int64)
    return SplitPairs(pairs, [sorted(found[p]) for p in pairs], features.reshape(len(pairs), len(FEATURES)), gold,
                      duplicates, related, groups, len(records))


def merged_pairs(first: SplitPairs, second: SplitPairs) -> SplitPairs:
    """Two splits' pairs as one, record positions of the second shifted past the first's."""
    shift = first.records
    moved = lambda links: [(a + shift, b + shift) for a, b in links]  # noqa: E731
    return SplitPairs(first.pairs + moved(second.pairs), first.stages + second.stages,
                      np.vstack([first.features, second.features]), np.concatenate([first.gold, second.gold]),
                      first.gold_duplicates | set(moved(second.gold_duplicates)),
                      first.gold_related | set(moved(second.gold_related)),
                      np.concatenate([first.groups, second.groups + shift]), first.records + second.records)


def with_contact_dropout(pairs: SplitPairs) -> SplitPairs:
    """Every pair twice: as given, and as if neither submission had a contact or a name (a web post
    and a hotline call by one person share none). Fitted on both, the scorer cannot learn that a
    duplicate needs a shared contact. The copy keeps its pair's group, so no fold sees one version of a
    pair while scoring the other."""
    stripped = SplitPairs(pairs.pairs, pairs.stages, without_contacts(pairs.features), pairs.gold,
                          pairs.gold_duplicates, pairs.gold_related, pairs.groups, pairs.records)
    merged = merged_pairs(pairs, stripped)
    merged.groups = np.concatenate([pairs.groups, pairs.groups])
    return merged


def precision_recall(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(predicted & gold)
    return {"precision": hits / len(predicted) if predicted else 1.0, "recall": hits / len(gold) if gold else 1.0,
            "predicted": len(predicted), "gold": len(gold)}


# Thresholds tried, with finer steps near 1, where a precision target can put the duplicate threshold.
THRESHOLDS = np.unique(np.round(np.concatenate([np.arange(0.05, 0.996, 0.01), [0.995, 0.998, 0.999]]), 3))


def _operating_points(scores: np.ndarray, positive: np.ndarray, total_positive: int):
    """(threshold, precision, recall, F1) at every threshold tried, lowest threshold first."""
    for t in THRESHOLDS:
        chosen = scores >= t
        hits = int((chosen & positive).sum())
        precision = hits / chosen.sum() if chosen.any() else 1.0
        recall = hits / total_positive if total_positive else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        yield float(t), precision, recall, f1


def best_threshold(scores: np.ndarray, positive: np.ndarray, total_positive: int) -> float:
    """The threshold with the best F1."""
    return max(_operating_points(scores, positive, total_positive), key=lambda point: point[3])[0]


def threshold_at_precision(scores: np.ndarray, positive: np.ndarray, total_positive: int,
                           precision: float) -> tuple[float, float]:
    """The threshold that finds the most positives while keeping `precision`, with the recall it gets;
    the best-F1 threshold (and recall 0) when no threshold keeps it."""
    reaching = [(r, -t, t) for t, p, r, _ in _operating_points(scores, positive, total_positive) if p >= precision]
    if not reaching:
        return best_threshold(scores, positive, total_positive), 0.0
    recall, _, threshold = max(reaching)
    return threshold, recall


def fit_scorer(pairs: SplitPairs, idf: dict[str, float], default_idf: float,
               seed: int = 0) -> tuple[DuplicateScorer, np.ndarray]:
    """Fits on the pairs (train and dev together); the regularisation and the thresholds are chosen on
    out-of-fold probabilities.

    A dev split alone holds some 100 duplicate pairs: thresholds set on it swung with a handful of
    pairs, and its pairs were lost to the fit. Grouped folds keep every matter's pairs in one fold.
    The duplicate threshold is the one with the most recall at TARGET_PRECISION (precision is what
    offices need of an automatic link); the related threshold likewise at TARGET_RELATED_PRECISION.
    Returns the scorer and the out-of-fold probabilities of the pairs.
    """
    duplicate, related = CLASSES.index("duplicate"), CLASSES.index("related")
    candidates = []
    for strength in REGULARISATION:
        out_of_fold = _out_of_fold(pairs, strength, idf, default_idf, seed)
        threshold, recall = threshold_at_precision(out_of_fold[:, duplicate], pairs.gold == duplicate,
                                                   len(pairs.gold_duplicates), TARGET_PRECISION)
        candidates.append((recall, -strength, strength, threshold, out_of_fold))
    _, _, strength, threshold, out_of_fold = max(candidates, key=lambda c: c[:2])
    scorer = _scorer_from(_classifier(strength, seed).fit(pairs.features, pairs.gold), idf, default_idf)
    scorer.thresholds["duplicate"] = threshold
    # `related` is judged on P(duplicate) + P(related) among the pairs not already duplicates: precise
    # when the two are about one matter, by one person or by several.
    rest = out_of_fold[:, duplicate] < threshold
    linked = pairs.gold != CLASSES.index("none")
    scorer.thresholds["related"], _ = threshold_at_precision(
        (out_of_fold[:, duplicate] + out_of_fold[:, related])[rest], linked[rest], int(linked[rest].sum()),
        TARGET_RELATED_PRECISION)
    scorer.report["regularisation_c"] = strength
    return scorer, out_of_fold


def _out_of_fold(pairs: SplitPairs, strength: float, idf: dict[str, float], default_idf: float,
                 seed: int) -> np.ndarray:
    """Each pair's probabilities from a scorer fitted on the folds without its matter."""
    folds = min(FOLDS, len(np.unique(pairs.groups)))
    if folds < 2:  # too few matters to cross-validate: the fitted scorer's own probabilities
        return _scorer_from(_classifier(strength, seed).fit(pairs.features, pairs.gold), idf,
                            default_idf).probabilities(pairs.features)
    out_of_fold = np.zeros((len(pairs.gold), len(CLASSES)))
    for fit_rows, held_rows in GroupKFold(folds).split(pairs.features, pairs.gold, pairs.groups):
        fold = _classifier(strength, seed).fit(pairs.features[fit_rows], pairs.gold[fit_rows])
        out_of_fold[held_rows] = _scorer_from(fold, idf, default_idf).probabilities(pairs.features[held_rows])
    return out_of_fold


def _classifier(strength: float, seed: int) -> LogisticRegression:
    # Unweighted: class weights pushed every probability of `duplicate` towards 1, where thresholds lose
    # their resolution.
    return LogisticRegression(C=strength, max_iter=5000, random_state=seed)


def _scorer_from(classifier: LogisticRegression, idf: dict[str, float], default_idf: float) -> DuplicateScorer:
    """The fitted coefficients laid out in CLASSES order; a class the fit never saw gets no probability."""
    coef = np.zeros((len(CLASSES), len(FEATURES)))
    intercept = np.full(len(CLASSES), -30.0)
    if len(classifier.classes_) == 2:  # binary fit: sklearn gives one row for the positive class
        intercept[classifier.classes_[0]] = 0.0
        coef[classifier.classes_[1]], intercept[classifier.classes_[1]] = classifier.coef_[0], classifier.intercept_[0]
    else:
        for row, label in enumerate(classifier.classes_):
            coef[label], intercept[label] = classifier.coef_[row], classifier.intercept_[row]
    return DuplicateScorer(coef=coef.tolist(), intercept=intercept.tolist(), thresholds={"duplicate": 0.5, "related": 0.5},
                           idf=idf, default_idf=default_idf)


def evaluate_scorer(scorer: DuplicateScorer, split: SplitPairs,
                    probabilities: np.ndarray | None = None) -> dict[str, dict[str, float]]:
    """Pairwise precision and recall of each stage alone and of the scorer, on one split (with the
    scorer's probabilities, or those given, such as out-of-fold ones)."""
    if probabilities is None:
        probabilities = scorer.probabilities(split.features) if len(split.pairs) else np.zeros((0, len(CLASSES)))
    judged = [scorer.judge(p) for p in probabilities]
    combined_dup = {p for p, j in zip(split.pairs, judged) if j == "duplicate"}
    combined_rel = {p for p, j in zip(split.pairs, judged) if j == "related"}
    report = {"combined_duplicates": precision_recall(combined_dup, split.gold_duplicates),
              "combined_related": precision_recall(combined_rel, split.gold_related),
              # Related links between cases of one matter: gold related, or a duplicate judged related.
              "combined_related_same_matter": precision_recall(combined_rel, split.gold_related | split.gold_duplicates),
              "candidates_recall_duplicates": precision_recall(set(split.pairs), split.gold_duplicates)["recall"]}
    semantic = split.features[:, FEATURES.index("semantic")] if len(split.pairs) else np.zeros(0)
    for stage in (s for s in STAGES if s != "semantic"):  # semantic proposes neighbours, judged by a cosine below
        chosen = {p for p, stages in zip(split.pairs, split.stages) if stage in stages}
        report[f"{stage}_only_duplicates"] = precision_recall(chosen, split.gold_duplicates)
    threshold = scorer.report.get("semantic_threshold", 0.9)
    chosen = {p for p, s in zip(split.pairs, semantic) if s >= threshold}
    report["semantic_only_duplicates"] = precision_recall(chosen, split.gold_duplicates)
    return report


REPOST_JACCARD = 0.6  # character 3-gram Jaccard from which a duplicate is a verbatim or near-verbatim re-post


@dataclass
class Corpus:
    """One labelled corpus's splits with their fingerprints."""

    name: str
    records: dict[str, list[dict]]
    fingerprints: dict[str, list[Fingerprint]]


def load_corpus(name: str, directory: Path, model: OnnxTriageModel) -> Corpus:
    records = {split: read_records(directory / f"{split}.jsonl") for split in ("train", "dev", "test")
               if (directory / f"{split}.jsonl").exists()}
    if "train" not in records or "dev" not in records:
        raise ValueError(f"{directory} needs train.jsonl and dev.jsonl with duplicate groups and related pairs")
    return Corpus(name, records, {split: corpus_fingerprints(model, rows) for split, rows in records.items()})


def fit_duplicate_scorer(model_dir: Path, data_dir: Path, contact_dropout: bool = False) -> DuplicateScorer:
    """Fits, thresholds and measures the scorer, and saves it into the model directory.

    Fitted on the train and dev pairs of the corpus and, where `data_dir/duplicates/` holds them, of the
    real-style duplicate families, whose re-sends through other channels mostly share no contact with
    the first submission: there the scorer learns duplicates from text, places and time.

    `contact_dropout`: fit on every pair also with its contacts removed (`with_contact_dropout`). On the
    first corpus alone, whose related pairs are the same issue told by other people, this cost recall with
    contacts (test 0.927 -> 0.833) and found 12.5% of duplicates without them."""
    model = OnnxTriageModel(model_dir)
    corpora = [load_corpus("first corpus", data_dir, model)]
    if (data_dir / DUPLICATES_DIR / "train.jsonl").exists():
        corpora.append(load_corpus("real-style", data_dir / DUPLICATES_DIR, model))
    idf, default_idf = idf_table(fp.terms for corpus in corpora for fp in corpus.fingerprints["train"])
    pairs = {(corpus.name, split): candidate_pairs(corpus.fingerprints[split], corpus.records[split], idf, default_idf)
             for corpus in corpora for split in corpus.records}
    given = functools.reduce(merged_pairs, [pairs[(c.name, split)] for c in corpora for split in ("train", "dev")])
    fit_pairs = with_contact_dropout(given) if contact_dropout else given
    scorer, out_of_fold = fit_scorer(fit_pairs, idf, default_idf)
    # The semantic stage alone, for comparison: the cosine with the best F1 on the fitting pairs.
    semantic_threshold = best_threshold(given.features[:, FEATURES.index("semantic")],
                                        given.gold == CLASSES.index("duplicate"), len(given.gold_duplicates))
    scorer.report |= {"semantic_threshold": semantic_threshold, "fitted_on": str(data_dir),
                      "corpora": [c.name for c in corpora], "fit_pairs": len(given.pairs),
                      "model_version": model.version, "contact_dropout": contact_dropout,
                      "method": "fitted on the train and dev pairs of " + " and ".join(c.name for c in corpora)
                                + (", each also with its contact fields removed" if contact_dropout else "")
                                + f"; regularisation and thresholds from {FOLDS}-fold out-of-fold probabilities, folds "
                                "grouped by matter; the test splits never seen"}
    n = len(given.pairs)
    scorer.report["splits"] = {OUT_OF_FOLD: evaluate_scorer(scorer, given, out_of_fold[:n])}
    if contact_dropout:
        scorer.report["splits"][f"{OUT_OF_FOLD}, contacts removed"] = evaluate_scorer(scorer, given, out_of_fold[n:])
    for corpus in corpora:
        if "test" not in corpus.records:
            continue
        prefix = "" if corpus is corpora[0] else f"{corpus.name} "
        scorer.report["splits"][f"{prefix}test"] = evaluate_scorer(scorer, pairs[(corpus.name, "test")])
        # Searched afresh without contacts: the contact stage then finds no candidates either.
        anonymous = candidate_pairs(without_contact_fields(corpus.fingerprints["test"]), corpus.records["test"], idf,
                                    default_idf)
        scorer.report["splits"][f"{prefix}test, contacts removed"] = evaluate_scorer(scorer, anonymous)
        if corpus is not corpora[0]:
            scorer.report["reposts"] = repost_recall(scorer, anonymous, corpus.records["test"])
            # Hot-issue links: their threshold chosen on the dev families among shift-dev letters,
            # measured on the test families among shift-test letters.
            background = data_dir / SHIFT_DIR
            dev_mix = issue_mix(corpus, "dev", background / f"{SHIFT_SPLITS['shift-dev']}.jsonl", model, idf,
                                default_idf)
            scorer.thresholds[ISSUE_LINK], tried = choose_issue_threshold(scorer, dev_mix)
            scorer.report["hot_issue_thresholds_on_dev"] = tried
            test_mix = issue_mix(corpus, "test", background / f"{SHIFT_SPLITS['shift-test']}.jsonl", model, idf,
                                 default_idf)
            scorer.report["hot_issues"] = hot_issue_mix(scorer, test_mix)
    scorer.save(model_dir)
    write_model_card(model_dir)
    return scorer


def without_contact_fields(fps: list[Fingerprint]) -> list[Fingerprint]:
    return [dataclasses.replace(fp, contacts=frozenset(), names=frozenset()) for fp in fps]


def judged_pairs(scorer: DuplicateScorer, split: SplitPairs,
                 issue_links: bool = False) -> dict[tuple[int, int], tuple[str, float]]:
    """Each candidate pair's kind as the scorer judges it (hot-issue links too with `issue_links`),
    with the probability behind that kind."""
    if not split.pairs:
        return {}
    judged = {}
    for pair, p in zip(split.pairs, scorer.probabilities(split.features)):
        kind = scorer.judge(p, issue_links)
        judged[pair] = (kind, scorer.score(p, kind) if kind != "none" else float(p[CLASSES.index("none")]))
    return judged


def repost_recall(scorer: DuplicateScorer, split: SplitPairs, records: list[dict]) -> dict:
    """Of the gold duplicates that are verbatim or near-verbatim re-posts (character 3-gram Jaccard of
    at least REPOST_JACCARD), the share found as duplicates."""
    shingles = [char_shingles(f"{r.get('title') or ''}{r['text']}", 3) for r in records]
    judged = judged_pairs(scorer, split)
    reposts = [(a, b) for a, b in sorted(split.gold_duplicates)
               if len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b]) >= REPOST_JACCARD]
    found = sum(1 for pair in reposts if judged.get(pair, ("none",))[0] == "duplicate")
    return {"min_jaccard": REPOST_JACCARD, "pairs": len(reposts), "found": found,
            "recall": found / len(reposts) if reposts else 1.0, "contacts": "removed"}


@dataclass
class IssueMix:
    """A realistic mix for hot issues: one split's duplicate families (small public issues told by 1-3
    people, one person's re-sends, other matters about the same objects) among unrelated letters (a
    shift split, where present), with the candidate pairs search proposes among them."""

    records: list[dict]
    issue: list[str]  # the public issue of each record; a letter outside any is an issue of its own
    pairs: SplitPairs
    unrelated_letters: int


def issue_mix(corpus: Corpus, split: str, background: Path, model: OnnxTriageModel, idf: dict[str, float],
              default_idf: float) -> IssueMix:
    records, fps = list(corpus.records[split]), list(corpus.fingerprints[split])
    if background.exists():
        letters = read_records(background)
        records += letters
        fps += corpus_fingerprints(model, letters)
    issue = [r["family"] if r.get("role") in ("first", "duplicate", "related") else r["id"] for r in records]
    return IssueMix(records, issue, candidate_pairs(fps, records, idf, default_idf),
                    len(records) - len(corpus.records[split]))


def hot_issue_mix(scorer: DuplicateScorer, mix: IssueMix) -> dict:
    """Hot issues on the mix, clustered as the service clusters them (duplicate groups as submitters,
    joined by related and hot-issue links). Purity is the share of the members of each shown cluster
    (at least MIN_SUBMITTERS submitters) that belong to its most common public issue."""
    records, issue = mix.records, mix.issue
    judged = judged_pairs(scorer, mix.pairs, issue_links=True)
    unit = components(range(len(records)), [pair for pair, (kind, _) in judged.items() if kind == "duplicate"])
    related = [(unit[a], unit[b], p) for (a, b), (kind, p) in judged.items() if kind in ("related", ISSUE_LINK)]
    clusters = issue_clusters(unit, related)
    shown = [m for m in clusters if len({unit[i] for i in m}) >= MIN_SUBMITTERS]
    majority = [Counter(issue[i] for i in m).most_common(1)[0] for m in shown]
    submitters = Counter()
    for i in range(len(records)):
        if records[i].get("role") in ("first", "related"):
            submitters[issue[i]] += 1
    public = {name for name, n in submitters.items() if n >= MIN_SUBMITTERS}
    return {"records": len(records), "unrelated_letters": mix.unrelated_letters,
            "public_issues_with_3_or_more_submitters": len(public),
            "public_issues_found": len({name for name, _ in majority} & public),
            "clusters_shown": len(shown),
            "purity": sum(n for _, n in majority) / sum(map(len, shown)) if shown else 1.0,
            "largest_cluster_share": max(map(len, clusters)) / len(records),
            "clusters_without_a_majority_issue": sum(1 for m, (_, n) in zip(shown, majority) if n * 2 <= len(m)),
            "issue_threshold": scorer.thresholds.get(ISSUE_LINK)}


def choose_issue_threshold(scorer: DuplicateScorer, mix: IssueMix) -> tuple[float, list[dict]]:
    """The hot-issue link threshold that finds the most public issues on a dev mix while every shown
    cluster stays pure (purity at least ISSUE_PURITY, none without a majority issue); the related
    threshold itself where no lower one does. Returns it with the report at each threshold tried."""
    related = scorer.thresholds["related"]
    tried, best = [], (-1, related)
    below = np.arange(np.floor(related * 20) / 20, ISSUE_THRESHOLD_FLOOR - 1e-9, -0.05)
    for threshold in [related, *(round(float(t), 2) for t in below if t < related)]:
        scorer.thresholds[ISSUE_LINK] = threshold
        report = hot_issue_mix(scorer, mix)
        tried.append(report)
        if report["purity"] >= ISSUE_PURITY and report["clusters_without_a_majority_issue"] == 0:
            best = max(best, (report["public_issues_found"], -threshold))
    del scorer.thresholds[ISSUE_LINK]
    return (-best[1] if best[0] >= 0 else related), tried

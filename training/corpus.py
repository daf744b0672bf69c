"""The labeled corpus format (`data_samples/`): schema, splitting without leakage, validation."""

from __future__ import annotations

import json
import random
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from petition_triage.dedup.components import components
from petition_triage.dedup.fingerprints import char_shingles
from petition_triage.model.taxonomy import Taxonomy, load_taxonomy

from .data import DUPLICATES_DIR, SHIFT_DIR, SHIFT_SPLITS
from .shortcut_audit import AuditBounds, audit, audit_problems, writer_of
from .text_profile import REAL_PROFILE, profile, profile_problems

SPLITS = ("train", "dev", "test")
SPLIT_SHARES = {"train": 0.70, "dev": 0.15, "test": 0.15}
MAX_TEXT_CHARS = 5000  # real letters run past 4,000 characters
Channel = Literal["hotline", "mailbox", "web", "wechat", "letter"]
_FAKE_PHONE = re.compile(r"1[3-9]\d0000\d{4}")
_ANY_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ANY_ID = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


class Region(BaseModel):
    model_config = ConfigDict(extra="forbid")
    province: str | None
    city: str | None
    county: str | None


class Submitter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None
    phone: str | None
    id_number: str | None


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    department: str
    risk: str
    risk_reasons: list[str]

    @model_validator(mode="after")
    def _reasons_match_level(self) -> "Labels":
        if self.risk == "normal" and self.risk_reasons:
            raise ValueError("a normal-risk record carries no reason codes")
        if self.risk != "normal" and not self.risk_reasons:
            raise ValueError(f"a {self.risk}-risk record needs at least one reason code")
        return self


class Related(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    kind: Literal["same_issue", "same_person_other_matter"]


class Record(BaseModel):
    """One submission of the corpus (see data_samples/DATASET_CARD.md)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    channel: Channel
    title: str | None
    text: str = Field(min_length=10, max_length=MAX_TEXT_CHARS)
    submitted_at: datetime
    region: Region
    submitter: Submitter
    labels: Labels
    duplicate_group: str | None
    related: list[Related]
    hard_case: str | None
    # Who wrote the record (stored since corpus v2; older records carry it in their id prefix).
    writer: str | None = None
    # Duplicate families (data_samples/duplicates/, training/duplicate_plan.py): the matter a record
    # is told about and its part in it.
    family: str | None = None
    role: Literal["first", "duplicate", "related", "negative"] | None = None

    @field_validator("text")
    @classmethod
    def _fictional_numbers_only(cls, text: str) -> str:
        for phone in _ANY_PHONE.findall(text):
            if not _FAKE_PHONE.fullmatch(phone):
                raise ValueError(f"phone number {phone} is not of the fictional form 1xx0000xxxx")
        for number in _ANY_ID.findall(text):
            if not number.startswith("630000"):
                raise ValueError(f"ID number {number} is not of the fictional form 630000…")
        return text


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_records(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def linked_components(records: list[dict]) -> list[list[str]]:
    """Ids that must share a split: duplicate groups joined with their related links."""
    ids = {r["id"] for r in records}
    first_of_group: dict[str, str] = {}
    links = []
    for r in records:
        if r.get("duplicate_group"):
            links.append((r["id"], first_of_group.setdefault(r["duplicate_group"], r["id"])))
        links += [(r["id"], link["id"]) for link in r.get("related") or [] if link["id"] in ids]
    component = components([r["id"] for r in records], links)
    groups: dict[str, list[str]] = defaultdict(list)
    for r in records:
        groups[component[r["id"]]].append(r["id"])
    return list(groups.values())


def split_records(records: list[dict], seed: int = 13,
                  shares: dict[str, float] = SPLIT_SHARES) -> dict[str, list[dict]]:
    """About 70/15/15 (or `shares`), stratified, every linked component inside one split.

    Each component goes to the split that is least filled, relative to its share, for the
    component's stratum (department, risk level, linked or single) and overall; the largest
    components are placed first, so duplicate groups spread over all three splits.
    """
    by_id = {r["id"]: r for r in records}
    components = linked_components(records)
    rng = random.Random(seed)
    rng.shuffle(components)
    components.sort(key=len, reverse=True)

    def stratum(component: list[str]) -> tuple:
        first = by_id[component[0]]["labels"]
        return (first["department"], first["risk"], len(component) > 1)

    stratum_total = Counter()
    for component in components:
        stratum_total[stratum(component)] += len(component)
    have: dict[str, Counter] = {s: Counter() for s in shares}
    sizes = Counter()
    out: dict[str, list[dict]] = {s: [] for s in shares}
    for component in components:
        key = stratum(component)

        def fill(split: str) -> float:
            share = shares[split]
            return (have[split][key] / (share * stratum_total[key])
                    + sizes[split] / (share * len(records)))

        split = min(shares, key=fill)
        out[split] += [by_id[i] for i in component]
        have[split][key] += len(component)
        sizes[split] += len(component)
    for split in shares:
        out[split].sort(key=lambda r: r["id"])
    return out


SHIFT_SHARES = {stem: 0.5 for stem in SHIFT_SPLITS.values()}


def extend_splits(existing: dict[str, list[dict]], records: list[dict], seed: int = 13,
                  shares: dict[str, float] = SHIFT_SHARES) -> dict[str, list[dict]]:
    """`records` placed into splits that already exist: a record keeps the split it is in (re-merged
    texts replace their old version there); only records new to every split are split, by `shares`.
    A test split never loses a record to dev when a set grows."""
    where = {r["id"]: name for name, rows in existing.items() for r in rows}
    out = {name: {r["id"]: r for r in existing.get(name, [])} for name in shares}
    new = []
    for r in records:
        if r["id"] in where:
            out[where[r["id"]]][r["id"]] = r
        else:
            new.append(r)
    for name, rows in split_records(new, seed=seed, shares=shares).items() if new else ():
        out[name].update({r["id"]: r for r in rows})
    return {name: sorted(rows.values(), key=lambda r: r["id"]) for name, rows in out.items()}


def cross_split_near_duplicates(splits: dict[str, list[dict]], threshold: float = 0.5) -> list[tuple[str, str, float]]:
    """Pairs of records in different splits whose character 5-gram Jaccard reaches `threshold`."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold * 0.8, num_perm=64)
    shingles = {}
    for split, records in splits.items():
        for r in records:
            key = (split, r["id"])  # an id repeated across splits is reported elsewhere, not a crash here
            s = char_shingles(r["text"], 5)
            m = MinHash(num_perm=64, seed=1)
            m.update_batch([x.encode("utf-8") for x in s])
            if key not in shingles:
                lsh.insert(key, m)
            shingles[key] = (s, m)
    found = []
    for key, (s, m) in shingles.items():
        for other in lsh.query(m):
            if other[1] <= key[1] or other[0] == key[0]:
                continue
            jaccard = len(s & shingles[other][0]) / len(s | shingles[other][0])
            if jaccard >= threshold:
                found.append((key[1], other[1], round(jaccard, 3)))
    return found


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_record(r: dict, taxonomy: Taxonomy) -> tuple[Record | None, list[str]]:
    """One record's schema, label codes and fictional-number forms; the record is None if the schema fails."""
    try:
        record = Record.model_validate(r)
    except ValidationError as exc:
        return None, [f"{r.get('id')}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    errors = []
    for head in ("type", "department", "risk"):
        if getattr(record.labels, head) not in taxonomy.codes(head):
            errors.append(f"{record.id}: unknown {head} {getattr(record.labels, head)!r}")
    unknown = set(record.labels.risk_reasons) - set(taxonomy.reason_codes)
    if unknown:
        errors.append(f"{record.id}: unknown risk reasons {sorted(unknown)}")
    if record.submitter.phone and not _FAKE_PHONE.fullmatch(record.submitter.phone):
        errors.append(f"{record.id}: submitter phone is not of the fictional form 1xx0000xxxx")
    if record.submitter.id_number and not record.submitter.id_number.startswith("630000"):
        errors.append(f"{record.id}: submitter ID number is not of the fictional form 630000…")
    return record, errors


def read_corpus(directory: Path) -> tuple[dict[str, list[dict]], list[str]]:
    """Every split of a corpus folder: train/dev/test, shift-dev/shift-test where `shift/` exists, and
    duplicates-train/-dev/-test where `duplicates/` does."""
    splits: dict[str, list[dict]] = {}
    missing = []
    for split in SPLITS:
        path = directory / f"{split}.jsonl"
        if path.exists():
            splits[split] = read_records(path)
        else:
            missing.append(f"missing split file {path}")
    if (directory / SHIFT_DIR).is_dir():
        for split, stem in SHIFT_SPLITS.items():
            path = directory / SHIFT_DIR / f"{stem}.jsonl"
            if path.exists():
                splits[split] = read_records(path)
            else:
                missing.append(f"missing shift split file {path}")
    for split in SPLITS:
        path = directory / DUPLICATES_DIR / f"{split}.jsonl"
        if path.exists():
            splits[f"{DUPLICATES_DIR}-{split}"] = read_records(path)
    return splits, missing


def written_to_profile(records: list[dict]) -> list[dict]:
    """Records written to the real-text profile from a plan (they store their writer)."""
    return [r for r in records if r.get("writer")]


def validate_corpus(directory: Path, taxonomy: Taxonomy | None = None, minimums: bool = True,
                    audit_bounds: AuditBounds = AuditBounds()) -> ValidationReport:
    """Schema, label values, distributions, duplicate structure, split leakage (shift splits
    included), the shift set's profile against the real one, and the shortcut audit."""
    taxonomy = taxonomy or load_taxonomy()
    report = ValidationReport()
    all_splits, missing = read_corpus(directory)
    report.errors += missing
    splits = {s: rs for s, rs in all_splits.items() if s in SPLITS}
    shift = {s: rs for s, rs in all_splits.items() if s in SHIFT_SPLITS}
    every = [r for rs in all_splits.values() for r in rs]
    records = [r for rs in splits.values() for r in rs]
    ids = Counter(r.get("id") for r in every)
    report.errors += [f"id {i} appears {n} times" for i, n in ids.items() if n > 1]
    for r in every:
        record, errors = check_record(r, taxonomy)
        report.errors += errors
        for link in record.related if record else []:
            if link.id not in ids:
                report.errors.append(f"{record.id}: related id {link.id} is not in the corpus")

    split_of = {r["id"]: s for s, rs in all_splits.items() for r in rs}
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in every:
        if r.get("duplicate_group"):
            groups[r["duplicate_group"]].append(r)
    for g, members in groups.items():
        if not 2 <= len(members) <= 4:
            report.errors.append(f"duplicate group {g} has {len(members)} members (2 to 4)")
        if len({split_of[m["id"]] for m in members}) > 1:
            report.errors.append(f"duplicate group {g} spans splits (leakage)")
        if len({(m["labels"]["type"], m["labels"]["department"]) for m in members}) > 1:
            report.errors.append(f"duplicate group {g} members disagree on type or department")
    related = [(r["id"], link["id"], link["kind"]) for r in every for link in r.get("related") or []]
    for a, b, _ in related:
        if b in split_of and split_of[a] != split_of[b]:
            report.errors.append(f"related pair {a}/{b} spans splits (leakage)")
    for a, b, j in cross_split_near_duplicates(all_splits):
        report.errors.append(f"near-duplicate text across splits: {a} / {b} (5-gram Jaccard {j})")

    n = len(records)
    counts = {head: Counter(r["labels"][head] for r in records) for head in ("type", "department", "risk")}
    reasons = Counter(x for r in records for x in r["labels"]["risk_reasons"])
    lengths = [len(r["text"]) for r in records]
    profiled = written_to_profile(records)
    report.stats = {
        "records": n, "splits": {s: len(rs) for s, rs in all_splits.items()},
        "type": dict(counts["type"]), "department": dict(counts["department"]), "risk": dict(counts["risk"]),
        "risk_reasons": dict(reasons), "channel": dict(Counter(r["channel"] for r in records)),
        "duplicate_groups": len(groups), "related_pairs": len(related),
        "related_kinds": dict(Counter(k for _, _, k in related)),
        "hard_cases": sum(1 for r in records if r.get("hard_case")),
        "length": {"min": min(lengths, default=0), "median": statistics.median(lengths) if lengths else 0,
                   "max": max(lengths, default=0)},
        "qinghai_share": round(sum(1 for r in records if r["region"]["province"] == "青海省") / max(n, 1), 3),
        "written_to_profile": len(profiled),
        "profile": {"real": REAL_PROFILE, "corpus": profile(records), "written_to_profile": profile(profiled),
                    **{s: profile(rs) for s, rs in shift.items()}},
    }
    corpus_writers = {writer_of(r) for r in records}
    for split, rows in shift.items():
        report.stats[split] = {head: dict(Counter(r["labels"][head] for r in rows)) for head in ("type", "department", "risk")}
        report.errors += [f"{split}: {p}" for p in profile_problems(report.stats["profile"][split])]
        report.errors += [f"{split}: writer {w} also wrote training records"
                          for w in sorted({writer_of(r) for r in rows} & corpus_writers)]
    if n and audit_bounds is not None:
        report.stats["shortcut_audit"] = {"corpus": audit(records, audit_bounds)}
        if profiled:
            report.stats["shortcut_audit"]["written_to_profile"] = audit(profiled, audit_bounds)
            report.errors += [f"written to profile: {p}"
                              for p in audit_problems(report.stats["shortcut_audit"]["written_to_profile"], audit_bounds)]
    if minimums and n:
        _check_minimums(report, n, counts, reasons, len(groups), len(related), splits)
    return report


def _check_minimums(report: ValidationReport, n: int, counts: dict, reasons: Counter, n_groups: int,
                    n_related: int, splits: dict[str, list[dict]]) -> None:
    """The corpus targets: the first corpus's, loosened where corpus v2 moves towards the real label mix
    (more demands and more elevated cases, as real messages have) and grows train only."""
    if n < 3000:
        report.errors.append(f"{n} records, fewer than 3,000")
    for dept, c in counts["department"].items():
        if c < 120:
            report.errors.append(f"department {dept}: {c} records, fewer than 120")
    for t, c in counts["type"].items():
        if c / n < 0.15:
            report.errors.append(f"type {t}: {c / n:.1%} of records, under 15%")
    shares = {k: v / n for k, v in counts["risk"].items()}
    for level, (lo, hi) in {"normal": (0.55, 0.82), "elevated": (0.13, 0.35), "high": (0.04, 0.10)}.items():
        if not lo <= shares.get(level, 0) <= hi:
            report.errors.append(f"risk {level}: {shares.get(level, 0):.1%} of records, outside {lo:.0%}–{hi:.0%}")
    for code, c in reasons.items():
        if c < 30:
            report.errors.append(f"risk reason {code}: {c} records, fewer than 30")
    if n_groups < 300:
        report.errors.append(f"{n_groups} duplicate groups, fewer than 300")
    if n_related < 200:
        report.errors.append(f"{n_related} related pairs, fewer than 200")
    # dev and test are the first corpus's fixed splits (every model is compared on them); v2 adds to train.
    for split in ("dev", "test"):
        if len(splits.get(split, [])) < 400:
            report.errors.append(f"split {split}: {len(splits.get(split, []))} records, fewer than 400")
    if len(splits.get("train", [])) / n < SPLIT_SHARES["train"] - 0.03:
        report.errors.append(f"split train: {len(splits.get('train', [])) / n:.1%} of records, under 67%")

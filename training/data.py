"""Reads a trainer's labeled cases (CSV, JSONL or Parquet, through `datasets`) into examples."""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from petition_triage.model.triage_config import MULTI_LABEL_HEAD, SINGLE_LABEL_HEADS
from petition_triage.model.taxonomy import Taxonomy

logger = logging.getLogger(__name__)
IGNORE = -100  # the label index losses and metrics skip

_FORMATS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}
SPLITS = ("train", "dev", "test")
# A data folder's shift set (shift/dev.jsonl, shift/test.jsonl): text written to the real-text profile
# by writers of no training record. shift-dev is the only shift data a choice may look at; shift-test
# is reported, never used. Split name -> file stem inside SHIFT_DIR.
SHIFT_DIR = "shift"
SHIFT_SPLITS = {"shift-dev": "dev", "shift-test": "test"}
# Real-style duplicate families (training/duplicate_plan.py) for fitting and measuring duplicate search
# only: their own train/dev/test files, named "duplicates-<split>" where read with the corpus.
DUPLICATES_DIR = "duplicates"


class DataError(ValueError):
    """A trainer's data cannot be used as given: the message names the file and what to change."""


@dataclass
class ColumnMapping:
    """Which column holds what. Nested JSON fields are addressed with dots (`labels.type`)."""

    text: str = "text"
    title: str | None = "title"
    id: str | None = "id"
    labels: dict[str, str] = field(default_factory=lambda: {
        "type": "labels.type", "department": "labels.department", "risk": "labels.risk",
        "reasons": "labels.risk_reasons",
    })

    def with_overrides(self, text: str | None = None, title: str | None = None,
                       label_cols: list[str] | None = None) -> "ColumnMapping":
        labels = dict(self.labels)
        for item in label_cols or []:
            head, sep, column = item.partition("=")
            if not sep or head not in (*SINGLE_LABEL_HEADS, MULTI_LABEL_HEAD):
                raise DataError(f"--label-col takes HEAD=COLUMN with HEAD one of "
                                 f"{[*SINGLE_LABEL_HEADS, MULTI_LABEL_HEAD]}, got {item!r}")
            labels[head] = column
        return ColumnMapping(text or self.text, self.title if title is None else (title or None), self.id, labels)


@dataclass
class Example:
    id: str
    text: str
    title: str | None
    labels: dict[str, str | None]  # single-label heads; None where the row has no label
    reasons: list[str] | None  # None where the row does not say


def _read_table(path: Path) -> list[dict]:
    from datasets import load_dataset

    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use one of {sorted(_FORMATS)}")
    dataset = load_dataset(kind, data_files=str(path), split="train")
    return list(dataset.flatten())


def _reasons(value) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            value = json.loads(value)
        else:
            value = [v for v in value.replace("|", ",").replace(";", ",").split(",")]
    return [str(v).strip() for v in value if str(v).strip()]


def rows_to_examples(rows: list[dict], mapping: ColumnMapping, source: str = "") -> list[Example]:
    if rows and mapping.text not in rows[0]:
        raise DataError(f"{source}: no text column {mapping.text!r} (columns: {sorted(rows[0])}); use --text-col")
    examples = []
    for n, row in enumerate(rows):
        text = row.get(mapping.text)
        if not isinstance(text, str) or not text.strip():
            logger.warning("%s row %d: empty text, skipped", source, n)
            continue
        labels = {}
        for head in SINGLE_LABEL_HEADS:
            value = row.get(mapping.labels.get(head, ""))
            labels[head] = str(value).strip() if value not in (None, "") else None
        reason_column = mapping.labels.get(MULTI_LABEL_HEAD, "")
        examples.append(Example(
            id=str(row.get(mapping.id)) if mapping.id and row.get(mapping.id) is not None else f"{source}:{n}",
            text=text, title=(row.get(mapping.title) or None) if mapping.title else None,
            labels=labels, reasons=_reasons(row.get(reason_column)) if reason_column in row else None,
        ))
    return examples


def load_examples(path: str | Path, mapping: ColumnMapping | None = None) -> dict[str, list[Example]]:
    """A file gives {"train": ...}; a folder with train/dev/test files gives each split found, and
    "shift-dev"/"shift-test" from its shift/ folder where there is one."""
    mapping = mapping or ColumnMapping()
    path = Path(path)
    if path.is_dir():
        splits = {}
        for split in SPLITS:
            files = [p for p in sorted(path.iterdir()) if p.stem == split and p.suffix.lower() in _FORMATS]
            if files:
                splits[split] = rows_to_examples(_read_table(files[0]), mapping, str(files[0]))
        for split, stem in SHIFT_SPLITS.items():
            files = [p for p in sorted((path / SHIFT_DIR).glob(f"{stem}.*")) if p.suffix.lower() in _FORMATS]
            if files:
                splits[split] = rows_to_examples(_read_table(files[0]), mapping, str(files[0]))
        if "train" not in splits:
            raise DataError(f"{path}: a data folder needs a train file (train.jsonl, train.csv or train.parquet)")
        return splits
    if not path.exists():
        raise FileNotFoundError(f"no such data file: {path}")
    return {"train": rows_to_examples(_read_table(path), mapping, str(path))}


def merge_corrections(examples: list[Example], corrections: list[dict]) -> list[Example]:
    """Reviewer corrections over the base data: the latest correction of a case wins, field by field.

    A correction row carries the case's id, text and title, the corrected labels and
    `corrected_at`; a case not in the base data is added.
    """
    by_id = {e.id: e for e in examples}
    for row in sorted(corrections, key=lambda r: r.get("corrected_at") or ""):
        labels = row.get("labels") or {}
        example = by_id.get(str(row["id"]))
        if example is None:
            example = Example(str(row["id"]), row["text"], row.get("title"), dict.fromkeys(SINGLE_LABEL_HEADS), None)
            by_id[example.id] = example
            examples = [*examples, example]
        for head in SINGLE_LABEL_HEADS:
            if labels.get(head):
                example.labels[head] = labels[head]
        if labels.get("risk_reasons") is not None:
            example.reasons = list(labels["risk_reasons"])
    return examples


def read_corrections(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def label_sets(taxonomy: Taxonomy, examples: list[Example]) -> dict[str, list[str]]:
    """The taxonomy's codes, then any code the data uses that the taxonomy lacks (with a warning)."""
    sets = {head: taxonomy.codes(head) for head in SINGLE_LABEL_HEADS}
    sets[MULTI_LABEL_HEAD] = list(taxonomy.reason_codes)
    for head in SINGLE_LABEL_HEADS:
        unknown = sorted({e.labels[head] for e in examples if e.labels[head]} - set(sets[head]))
        if unknown:
            logger.warning("%s labels not in the taxonomy, added: %s", head, unknown)
            sets[head] += unknown
    unknown = sorted({r for e in examples for r in (e.reasons or [])} - set(sets[MULTI_LABEL_HEAD]))
    if unknown:
        logger.warning("reason codes not in the taxonomy, added: %s", unknown)
        sets[MULTI_LABEL_HEAD] += unknown
    # A head nobody labeled is dropped rather than trained on nothing.
    return {head: codes for head, codes in sets.items() if _has_labels(head, examples)}


def _has_labels(head: str, examples: list[Example]) -> bool:
    if head == MULTI_LABEL_HEAD:
        return any(e.reasons is not None for e in examples)
    return any(e.labels[head] for e in examples)


def label_targets(examples: list[Example], labels: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Class indices per single-label head and 0/1 rows for reasons; -100 where a row has no label."""
    targets: dict[str, np.ndarray] = {}
    for head, codes in labels.items():
        index = {code: i for i, code in enumerate(codes)}
        if head == MULTI_LABEL_HEAD:
            matrix = np.full((len(examples), len(codes)), float(IGNORE), dtype=np.float32)
            for row, e in enumerate(examples):
                if e.reasons is not None:
                    matrix[row] = 0.0
                    matrix[row, [index[r] for r in e.reasons if r in index]] = 1.0
            targets[head] = matrix
        else:
            targets[head] = np.array([index.get(e.labels[head], IGNORE) if e.labels[head] else IGNORE
                                      for e in examples], dtype=np.int64)
    return targets


def dev_examples(splits: dict[str, list[Example]], names: Sequence[str]) -> list[Example] | None:
    """The named splits joined as one dev set; None when the data has none of them (a single file)."""
    found = [name for name in names if name in splits]
    if not found:
        return None
    missing = [name for name in names if name not in splits]
    if missing:
        raise DataError(f"dev split(s) {', '.join(missing)} not in the data (it has {', '.join(sorted(splits))})")
    return [e for name in found for e in splits[name]]


def split_off_dev(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """Stratified by department (or the first labeled head) when the data has no dev file."""
    key = next((h for h in ("department", "type", "risk") if any(e.labels[h] for e in examples)), None)
    groups: dict[str | None, list[Example]] = defaultdict(list)
    for e in examples:
        groups[e.labels[key] if key else None].append(e)
    rng = random.Random(seed)
    train, dev = [], []
    for members in groups.values():
        rng.shuffle(members)
        n_dev = round(len(members) * fraction)
        dev += members[:n_dev]
        train += members[n_dev:]
    if not dev and len(train) > 1 and fraction > 0:
        dev.append(train.pop())
    return train, dev


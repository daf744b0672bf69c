import json
from pathlib import Path

from petition_triage.cli import main
from petition_triage.config import REPO_ROOT
from petition_triage.model.taxonomy import load_taxonomy
from petition_triage.training.corpus import (check_record, cross_split_near_duplicates, read_records, split_records,
                                            validate_corpus, write_records)

DATA = REPO_ROOT / "data_samples"


def test_shipped_corpus_is_valid():
    report = validate_corpus(DATA)
    assert report.ok, report.errors[:20]
    stats = report.stats
    assert stats["records"] >= 3000 and stats["duplicate_groups"] >= 300 and stats["related_pairs"] >= 200
    assert min(stats["department"].values()) >= 120 and len(stats["department"]) == 19


def test_validate_command_exits_zero_on_the_shipped_corpus(capsys):
    assert main(["data", "validate", str(DATA)]) == 0
    assert json.loads(capsys.readouterr().out)["records"] >= 3000


def _small_corpus(tmp_path: Path) -> dict[str, list[dict]]:
    records = read_records(DATA / "train.jsonl")[:60]
    return {"train": records[:40], "dev": records[40:50], "test": records[50:60]}


def test_leakage_of_a_duplicate_group_across_splits_is_reported(tmp_path):
    splits = _small_corpus(tmp_path)
    moved = dict(splits["train"][0], id="copy-1", duplicate_group="g-leak")
    splits["train"][1] = dict(splits["train"][1], duplicate_group="g-leak")
    splits["test"].append(moved)
    for name, rows in splits.items():
        write_records(tmp_path / f"{name}.jsonl", rows)
    report = validate_corpus(tmp_path, minimums=False)
    assert any("g-leak spans splits" in e for e in report.errors)
    # The copied text also shows up as a near-duplicate across splits.
    assert any("near-duplicate text across splits" in e and "copy-1" in e for e in report.errors)


def test_real_looking_numbers_and_bad_labels_are_refused(tmp_path):
    splits = _small_corpus(tmp_path)
    splits["train"][0] = dict(splits["train"][0], text="我的电话是13812345678，请尽快联系我处理小区的问题。")
    labels = dict(splits["train"][1]["labels"], department="mayor_office")
    splits["train"][1] = dict(splits["train"][1], labels=labels)
    for name, rows in splits.items():
        write_records(tmp_path / f"{name}.jsonl", rows)
    errors = validate_corpus(tmp_path, minimums=False).errors
    assert any("13812345678" in e and "fictional" in e for e in errors)
    assert any("unknown department 'mayor_office'" in e for e in errors)


def test_split_keeps_linked_records_together_and_near_the_target_shares():
    records = [r for s in ("train", "dev", "test") for r in read_records(DATA / f"{s}.jsonl")]
    splits = split_records(records)
    where = {r["id"]: s for s, rs in splits.items() for r in rs}
    for r in records:
        for link in r["related"]:
            assert where[r["id"]] == where[link["id"]]
    groups: dict[str, set] = {}
    for r in records:
        if r["duplicate_group"]:
            groups.setdefault(r["duplicate_group"], set()).add(where[r["id"]])
    assert all(len(s) == 1 for s in groups.values())
    assert abs(len(splits["train"]) / len(records) - 0.70) < 0.03


def test_risk_supplement_is_valid_and_far_from_dev_and_test():
    supplement = read_records(DATA / "supplements" / "risk_supplement.jsonl")
    taxonomy = load_taxonomy()
    assert len(supplement) == 200 and sum(r["labels"]["risk"] == "high" for r in supplement) == 120
    assert [e for r in supplement for e in check_record(r, taxonomy)[1]] == []
    corpus_ids = {r["id"] for s in ("train", "dev", "test") for r in read_records(DATA / f"{s}.jsonl")}
    assert not corpus_ids & {r["id"] for r in supplement}
    # Dev and test must stay unseen if a trainer adds the supplement to train.
    splits = {"supplement": supplement, "dev": read_records(DATA / "dev.jsonl"), "test": read_records(DATA / "test.jsonl")}
    assert cross_split_near_duplicates(splits) == []

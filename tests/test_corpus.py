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


# --- writing plans, the shift set's profile and the shortcut audit --------------------------------

from collections import Counter  # noqa: E402

from petition_triage.training.corpus_plan import (REAL_DEPARTMENT_MIX, PlanConfig, draw_plan,  # noqa: E402
                                                  merge_plan)
from petition_triage.training.shortcut_audit import (audit, audit_problems, keyword_accuracy,  # noqa: E402
                                                    largest_writer_shares)
from petition_triage.training.text_profile import profile, profile_problems  # noqa: E402


def test_plan_draws_labels_in_the_real_mix_and_deals_every_department_to_every_writer():
    slots = draw_plan(PlanConfig(records=400, writers=["a", "b", "c", "d"], id_prefix="t", seed=1))
    departments = Counter(s["labels"]["department"] for s in slots)
    total = sum(REAL_DEPARTMENT_MIX.values())
    assert abs(departments["housing"] - 400 * 18 / total) <= 1  # apportioned, not sampled
    assert set(departments) == set(REAL_DEPARTMENT_MIX)
    types = Counter(s["labels"]["type"] for s in slots)
    assert types["demand"] == 304
    for s in slots:
        assert (s["labels"]["risk"] == "normal") == (s["labels"]["risk_reasons"] == [])
        assert s["submitter"]["phone"] is None or s["submitter"]["phone"][3:7] == "0000"
    # Writers take slots in turn: each writes a quarter of every large department.
    by_writer = Counter((s["writer"], s["labels"]["department"]) for s in slots)
    assert all(abs(by_writer[(w, "housing")] - departments["housing"] / 4) <= 6 for w in "abcd")
    named = Counter(s["agency_mention"]["kind"] for s in slots)
    assert 0.30 < (named["responsible"] + named["not_responsible"]) / 400 < 0.46


def test_merge_joins_plan_and_texts_and_refuses_unknown_slots():
    slots = draw_plan(PlanConfig(records=3, writers=["s9"], id_prefix="m", seed=2))
    texts = [{"id": "m-0001", "title": "小区电梯又坏了", "text": "锦华苑3号楼的电梯这个月坏了4次，物业一直拖着不修。"},
             {"id": "m-0404", "title": None, "text": "这一条没有计划里的位置，应当被拒绝。"}]
    records, errors = merge_plan(slots, texts, writer="s9b")
    assert [r["id"] for r in records] == ["m-0001"] and errors == ["text 'm-0404' has no slot in the plan"]
    record = records[0]
    assert record["writer"] == "s9b" and record["labels"] == slots[0]["labels"]
    assert "length_target" not in record and "persona" not in record
    assert check_record(record, load_taxonomy())[1] == []


def _record(i: int, text: str, department: str = "housing", writer: str = "w1", channel: str = "web") -> dict:
    return {"id": f"{writer}-{i:04d}", "writer": writer, "channel": channel, "title": None, "text": text,
            "submitted_at": "2025-05-01T10:00:00+08:00", "region": {"province": None, "city": None, "county": None},
            "submitter": {"name": None, "phone": None, "id_number": None},
            "labels": {"type": "demand", "department": department, "risk": "normal", "risk_reasons": []},
            "duplicate_group": None, "related": [], "hard_case": None}


def test_profile_flags_a_set_that_does_not_look_like_real_text():
    templated = [_record(i, "来电人反映：某小区的物业不管事，要求处理。") for i in range(50)]
    problems = profile_problems(profile(templated))
    assert any("median length" in p for p in problems)
    assert any("digit" in p for p in problems) and any("某" in p for p in problems)
    assert any("opening" in p for p in problems)
    varied = [_record(i, f"{i}号：" + "锦华苑3号楼的电梯坏了，" * (10 + i % 60)) for i in range(200)]
    assert not [p for p in profile_problems(profile(varied)) if "digit" in p or "某" in p or "opening" in p]


def test_audit_finds_keyword_and_writer_shortcuts():
    # Each department named by its agency, each written by its own writer: the first corpus's shortcuts.
    records = [_record(i, f"第{i}次给{agency}写信，请{agency}处理一下我家的事情。", department, writer)
               for department, agency, writer in (("housing", "住建局", "h1"), ("hrss", "人社局", "h2"),
                                                  ("education", "教育局", "h3"))
               for i in range(40)]
    assert keyword_accuracy(records, 3) > 0.9
    assert largest_writer_shares(records)["housing"] == ("h1", 1.0)
    problems = audit_problems(audit(records))
    assert any("keywords" in p for p in problems) and any("writer h1 wrote 100% of housing" in p for p in problems)


def test_validate_checks_the_shift_set_profile_writers_and_leakage(tmp_path):
    splits = _small_corpus(tmp_path)
    for name, rows in splits.items():
        write_records(tmp_path / f"{name}.jsonl", rows)
    (tmp_path / "shift").mkdir()
    leaked = dict(splits["train"][0], id="s1-0001", writer="s1")
    short = [dict(_record(i, "来电人反映：某小区的物业不管事，要求处理。", writer="h1"), id=f"x-{i}") for i in range(20)]
    write_records(tmp_path / "shift" / "dev.jsonl", [leaked, *short[:10]])
    write_records(tmp_path / "shift" / "test.jsonl", short[10:])
    report = validate_corpus(tmp_path, minimums=False)
    assert any("near-duplicate text across splits" in e and "s1-0001" in e for e in report.errors)
    assert any(e.startswith("shift-dev: median length") for e in report.errors)
    assert any("writer h1 also wrote training records" in e for e in report.errors)
    assert report.stats["splits"]["shift-test"] == 10


def test_committed_plans_are_what_their_presets_draw(tmp_path):
    import shutil

    shutil.copy(DATA / "plans" / "v2.jsonl", tmp_path / "v2.jsonl")  # v2b is drawn from v2's concentration
    for name in ("shift", "shift-long", "v2", "v2b", "dup-families", "dup-issues"):
        assert main(["data", "plan", "--preset", name, "--out", str(tmp_path / f"{name}.jsonl")]) == 0
        assert (tmp_path / f"{name}.jsonl").read_text(encoding="utf-8") == \
            (DATA / "plans" / f"{name}.jsonl").read_text(encoding="utf-8"), name


def test_card_section_is_rewritten_between_its_markers(tmp_path):
    from petition_triage.training.corpus_card import END, START, measured_section, rewrite_card

    card = tmp_path / "CARD.md"
    card.write_text("# Card\n\nhand-written text\n", encoding="utf-8")
    records = [_record(i, f"锦华苑{i}号楼的电梯坏了，" * 20, department=d, writer=w)
               for i, (d, w) in enumerate([("housing", "w1"), ("hrss", "w2")] * 10)]
    stats = {"profile": {"real": {}, "corpus": profile(records)}, "shortcut_audit": {"corpus": audit(records)}}
    rewrite_card(card, measured_section(stats, {"v2": records}))
    rewrite_card(card, measured_section(stats, {"v2": records}))
    text = card.read_text(encoding="utf-8")
    assert text.count(START) == 1 and text.count(END) == 1 and "hand-written text" in text
    assert "| w1 | 10 | 0 | 10 |" in text


def test_a_growing_shift_set_keeps_every_record_in_its_split():
    from petition_triage.training.corpus import SHIFT_SHARES, extend_splits

    first = [_record(i, f"锦华苑{i}号楼电梯坏了", writer="s1") for i in range(40)]
    splits = extend_splits({}, first)
    assert {len(rows) for rows in splits.values()} == {20}
    more = [_record(i, f"城西区{i}路公交站牌倒了", writer="s4") for i in range(40, 60)]
    rewritten = dict(splits["test"][0], text="改写过的文本：锦华苑电梯坏了")
    grown = extend_splits(splits, [*first, *more, rewritten])
    for name in SHIFT_SHARES:
        assert {r["id"] for r in splits[name]} <= {r["id"] for r in grown[name]}
    assert sum(len(rows) for rows in grown.values()) == 60
    assert next(r for r in grown["test"] if r["id"] == rewritten["id"])["text"] == rewritten["text"]


def test_duplicate_families_draw_roles_first_and_keep_each_family_in_one_split():
    from petition_triage.training.duplicate_plan import FamilyPlanConfig, draw_families

    slots = draw_families(FamilyPlanConfig(families=60, writers=["d8", "d9"], seed=5))
    families: dict[str, list[dict]] = {}
    for slot in slots:
        families.setdefault(slot["family"], []).append(slot)
    assert len(families) == 60
    for members in families.values():
        first = members[0]
        assert first["role"] == "first" and len({m["split"] for m in members}) == 1
        assert len({m["writer"] for m in members}) == 1  # one writer plays every person of a family
        for dup in (m for m in members if m["role"] == "duplicate"):
            assert dup["labels"] == first["labels"] and dup["submitted_at"] >= first["submitted_at"]
            if dup["contact_mode"] == "none":
                assert not any(dup["submitter"].values())
        for negative in (m for m in members if m["role"] == "negative" and m["same_writer"]):
            assert negative["submitter"] == first["submitter"]  # the same person: contacts must not decide
    assert {s["role"] for s in slots} == {"first", "duplicate", "related", "negative"}
    assert {s["split"] for s in slots} == {"train", "dev", "test"}


def test_merged_families_link_duplicates_and_related_and_copy_verbatim_reposts():
    from petition_triage.training.duplicate_plan import merge_families

    common = {"family": "dp-f001", "split": "test", "writer": "d1", "channel": "web",
              "region": {"province": "河南省", "city": "郑州市", "county": "金水区"},
              "labels": {"type": "demand", "department": "housing", "risk": "normal", "risk_reasons": []},
              "submitter": {"name": None, "phone": None, "id_number": None}, "submitted_at": "2025-05-01T10:00:00+08:00"}
    slots = [{**common, "id": "dp-f001-a", "role": "first"},
             {**common, "id": "dp-f001-d1", "role": "duplicate", "form": "verbatim"},
             {**common, "id": "dp-f001-r1", "role": "related"},
             {**common, "id": "dp-f001-n1", "role": "negative", "same_writer": True},
             {**common, "family": "dp-f002", "id": "dp-f002-a", "role": "first"}]
    texts = {"dp-f001-a": {"title": "锦华苑3号楼电梯坏了", "text": "锦华苑3号楼电梯从8月12日坏到现在，物业说等配件。"},
             "dp-f001-r1": {"title": None, "text": "我也住锦华苑，3号楼电梯停了一个多月，我妈82岁下不了楼。"},
             "dp-f001-n1": {"title": None, "text": "锦华苑地下车库的月租从150涨到260元，没开业主大会。"},
             "dp-f002-a": {"title": None, "text": "一个没有写出任何重复件的家庭不进入数据。"}}
    splits, problems = merge_families(slots, texts)
    assert problems == []
    test = {r["id"]: r for r in splits["test"]}
    assert set(test) == {"dp-f001-a", "dp-f001-d1", "dp-f001-r1", "dp-f001-n1"}
    assert test["dp-f001-d1"]["text"] == test["dp-f001-a"]["text"]
    assert test["dp-f001-a"]["duplicate_group"] == test["dp-f001-d1"]["duplicate_group"] == "dp-f001"
    assert test["dp-f001-r1"]["related"] == [{"id": "dp-f001-a", "kind": "same_issue"}]
    assert test["dp-f001-n1"]["duplicate_group"] is None
    assert test["dp-f001-n1"]["related"] == [{"id": "dp-f001-a", "kind": "same_person_other_matter"}]
    for record in test.values():
        assert check_record(record, load_taxonomy())[1] == [], record["id"]

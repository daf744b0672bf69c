"""The default model that `make run` serves: present, loadable, and sane on plain cases."""

import importlib.util
import json

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.model.inference import OnnxTriageModel

DEFAULT = SHIPPED_MODEL_DIR


def test_shipped_model_is_complete_and_small():
    artifact = json.loads((DEFAULT / "artifact.json").read_text())
    served = DEFAULT / artifact["onnx_file"]
    assert served.exists() and served.stat().st_size < 45_000_000
    metrics = json.loads((DEFAULT / "metrics.json").read_text())
    assert metrics["test"]["department"]["macro_f1"] > 0.8
    assert (DEFAULT / "README.md").read_text().count("macro-F1") >= 1


def test_bench_report_of_the_shipped_model_is_current():
    """bench/results/default_model.json (test figures, abstain rates, training time) must describe the
    model that ships: `make bench` rewrites it, a promotion without it would leave it stale."""
    spec = importlib.util.spec_from_file_location("default_model", REPO_ROOT / "bench" / "default_model.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    committed = json.loads((REPO_ROOT / "bench" / "results" / "default_model.json").read_text(encoding="utf-8"))
    assert committed == bench.report(DEFAULT)


def test_shipped_model_classifies_plain_cases():
    model = OnnxTriageModel(DEFAULT)
    texts = [
        "老板拖欠我们十几个农民工半年的工资，一直不给，要求劳动部门帮我们讨回工资。",
        "请问孩子今年上小学，学区怎么划分？需要准备哪些入学材料？",
        "我母亲在县医院住院，医保报销比例为什么这么低？异地就医结算怎么办理？",
    ]
    decided = model.decide(model.logits(texts))
    departments = [model.labels["department"][i] for i in decided["department"].predicted]
    types = [model.labels["type"][i] for i in decided["type"].predicted]
    assert departments == ["hrss", "education", "medical_security"]
    assert types[1] == "inquiry"


def test_shipped_model_finds_a_reworded_duplicate_across_channels():
    """A letter and the hotline's summary of the same person's matter, from the test split."""
    from petition_triage.dedup.index import DuplicateIndex
    from petition_triage.dedup.scorer import DuplicateScorer
    from petition_triage.training.corpus import read_records
    from petition_triage.training.duplicate_fit import corpus_fingerprints

    records = {r["id"]: r for r in read_records(REPO_ROOT / "data_samples" / "test.jsonl")}
    letter, hotline, unrelated = records["h1-0006"], records["h1-0007"], records["h1-0250"]
    assert letter["duplicate_group"] == hotline["duplicate_group"] and letter["channel"] != hotline["channel"]
    scorer = DuplicateScorer.load(DEFAULT)
    fps = corpus_fingerprints(OnnxTriageModel(DEFAULT), [letter, unrelated, hotline])
    index = DuplicateIndex()
    index.add("letter", fps[0])
    index.add("unrelated", fps[1])
    matches = index.search(fps[2], scorer)
    assert [(m.case_id, m.kind) for m in matches] == [("letter", "duplicate")]
    assert matches[0].evidence.same_name


def test_shipped_model_keeps_one_persons_other_matter_of_the_same_day_apart():
    """One caller, one day: unpaid wages in the morning, a school question in the afternoon; a week later
    the wages again by WeChat. Only the last is a duplicate of the first."""
    from petition_triage.dedup.index import DuplicateIndex
    from petition_triage.dedup.scorer import DuplicateScorer
    from petition_triage.training.duplicate_fit import corpus_fingerprints

    caller = {"name": "马建国", "phone": "13900001111"}
    region = {"province": "青海省", "city": "西宁市", "county": "城东区"}
    records = [
        {"id": "wages", "title": None, "submitted_at": "2026-03-02T09:00:00+08:00", "region": region, "submitter": caller,
         "text": "来电人反映：其在城东区某建筑工地干活，包工头拖欠其与十几名工友三个月工资共计六万余元，多次讨要未果，"
                 "要求劳动监察部门帮助追讨。"},
        {"id": "school", "title": None, "submitted_at": "2026-03-02T15:00:00+08:00", "region": region,
         "submitter": caller, "text": "来电人咨询：其孩子今年九月上小学，户口在城东区，但租房住在城北区，想了解孩子应在"
                                      "哪个学区报名，需要准备哪些材料。"},
        {"id": "wages-again", "title": "工资被拖欠三个月", "submitted_at": "2026-03-09T10:00:00+08:00", "region": {},
         "submitter": caller, "text": "我是马建国，在城东区工地干活，包工头欠我们十几个人三个月的工钱，打了12345也没结果，"
                                      "求领导帮忙要回血汗钱。"},
    ]
    scorer = DuplicateScorer.load(DEFAULT)
    wages, school, again = corpus_fingerprints(OnnxTriageModel(DEFAULT), records)
    index = DuplicateIndex()
    index.add("wages", wages)
    assert index.search(school, scorer) == []
    assert [(m.case_id, m.kind) for m in index.search(again, scorer)] == [("wages", "duplicate")]

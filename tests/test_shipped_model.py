"""The default model that `make run` serves: present, loadable, and sane on plain cases."""

import json

from petition_triage.config import REPO_ROOT
from petition_triage.model.inference import OnnxTriageModel

DEFAULT = REPO_ROOT / "models" / "default"


def test_shipped_model_is_complete_and_small():
    artifact = json.loads((DEFAULT / "artifact.json").read_text())
    served = DEFAULT / artifact["onnx_file"]
    assert served.exists() and served.stat().st_size < 45_000_000
    metrics = json.loads((DEFAULT / "metrics.json").read_text())
    assert metrics["test"]["department"]["macro_f1"] > 0.8
    assert (DEFAULT / "README.md").read_text().count("macro-F1") >= 1


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
    from petition_triage.service.duplicate_index import DuplicateIndex
    from petition_triage.service.duplicate_scorer import DuplicateScorer
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

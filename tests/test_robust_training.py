"""Robust training: augmentations keep labels, the remit head starts as the zero-shot classifier,
LP-FT freezes the encoder first, WiSE-FT interpolates towards the pretrained weights."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch

from petition_triage.cli import main
from petition_triage.config import REPO_ROOT
from petition_triage.model.modeling import TriageConfig, TriageModel, _load_encoder, load_tokenizer
from petition_triage.model.taxonomy import load_taxonomy
from petition_triage.training.agency_names import mask_agency_names, named_departments
from petition_triage.training.args import TrainingArguments
from petition_triage.training.augment import AugmentConfig, add_noise, augment, drop_channel_frames
from petition_triage.training.corpus import read_records, write_records
from petition_triage.training.data import Example
from petition_triage.training.remit_head import init_department_head, remit_passages, zero_shot_scores

DATA = REPO_ROOT / "data_samples"


def test_agency_names_are_found_and_masked():
    text = "我去年找过城西区住建局，又打给区人社局，都说不归他们管。"
    assert named_departments(text) == {"housing", "hrss"}
    masked = mask_agency_names(text)
    assert "住建局" not in masked and "人社局" not in masked and masked.count("相关部门") == 2
    assert named_departments("小区门口的路灯坏了") == set()


@pytest.mark.parametrize("text, kept", [
    ("来电人反映：其为城西区居民，小区电梯坏了，已经三天了。", "其为城西区居民，小区电梯坏了，已经三天了。"),
    ("市民王女士来电称：孩子上学难，学校离家太远了。", "孩子上学难，学校离家太远了。"),
    ("尊敬的厅长：您好！我是一名教师，工资被拖欠三个月。\n此致\n敬礼！\n张三", "我是一名教师，工资被拖欠三个月。"),
    ("建议：在路口加装红绿灯，方便大家出行。", "建议：在路口加装红绿灯，方便大家出行。"),  # content, not a frame
])
def test_channel_frames_are_dropped_and_content_kept(text, kept):
    assert drop_channel_frames(text) == kept


def test_augmentation_changes_text_never_labels():
    example = Example("x", "来电人反映：其在城东区住建局门口反映过三次，小区燃气管道漏气，至今没人管！", "燃气",
                      {"type": "demand", "department": "housing", "risk": "elevated"}, ["repeat"])
    out = augment(example, AugmentConfig(mask_agencies=1.0, drop_frames=1.0, noise=0.0), random.Random(0))
    assert out.labels == example.labels and out.reasons == example.reasons
    assert "住建局" not in out.text and not out.text.startswith("来电人")
    assert augment(example, AugmentConfig(), random.Random(0)) == example
    noisy = add_noise("我在小区住了十年，请尽快处理！谢谢，再见。" * 20, random.Random(1), rate=0.1)
    assert noisy != "我在小区住了十年，请尽快处理！谢谢，再见。" * 20


def test_robust_options_are_validated():
    with pytest.raises(ValueError, match="mask_agencies"):
        TrainingArguments(output_dir="o", mask_agencies=1.5)
    with pytest.raises(ValueError, match="linear_probe_epochs"):
        TrainingArguments(output_dir="o", epochs=2, linear_probe_epochs=2)
    with pytest.raises(ValueError, match="department_head_init"):
        TrainingArguments(output_dir="o", department_head_init="zero")


def test_remit_head_starts_as_the_zero_shot_classifier(tiny_bert_dir):
    taxonomy = load_taxonomy()
    codes = taxonomy.codes("department")
    config = TriageConfig(labels={"department": codes}, base_model=str(tiny_bert_dir), max_length=64,
                          text_prefix="", cue_heads=[])
    model = TriageModel.from_base(str(tiny_bert_dir), config).eval()
    tokenizer = load_tokenizer(tiny_bert_dir)
    texts = ["小区物业不修电梯", "工资拖欠三个月了", "孩子上学的学区划分问题", "医院乱收费"]
    examples = [Example(str(i), text, None, {}, None) for i, text in enumerate(texts)]
    init_department_head(model, tokenizer, taxonomy, examples, seed=0)
    passages = remit_passages(taxonomy, codes)
    assert passages[codes.index("housing")].startswith("passage: 住房和城乡建设厅：物业管理")
    cosine = zero_shot_scores(model.encoder, tokenizer, texts, passages, 64)
    ids = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(ids["input_ids"], ids["attention_mask"])["department"].numpy()
    # Same ranking as the cosine of text and remit: the head begins where the zero-shot classifier is.
    assert (logits.argmax(-1) == cosine.argmax(-1)).all()
    assert np.corrcoef(logits.ravel(), cosine.ravel())[0, 1] > 0.9


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    write_records(out / "train.jsonl", read_records(DATA / "train.jsonl")[:48])
    write_records(out / "dev.jsonl", read_records(DATA / "dev.jsonl")[:16])
    return out


@pytest.fixture(scope="module")
def robust_model(tiny_bert_dir, small_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "robust"
    assert main(["train", "--data", str(small_data), "--out", str(out), "--base-model", str(tiny_bert_dir),
                 "--epochs", "2", "--batch-size", "8", "--max-length", "64", "--mask-agencies", "0.5",
                 "--drop-frames", "0.5", "--noise", "0.3", "--department-head-init", "remits",
                 "--linear-probe-epochs", "1"]) == 0
    return out


def test_lp_ft_keeps_the_encoder_frozen_in_the_probe_epoch(tiny_bert_dir, small_data, tmp_path):
    from petition_triage.training.data import load_examples
    from petition_triage.training.trainer import Trainer

    splits = load_examples(small_data)
    args = TrainingArguments(output_dir=str(tmp_path / "m"), base_model=str(tiny_bert_dir), epochs=1, batch_size=8,
                             max_length=64, linear_probe_epochs=0)
    pretrained = _load_encoder(str(tiny_bert_dir)).state_dict()
    probe = TrainingArguments(**{**args.to_dict(), "epochs": 2, "linear_probe_epochs": 1, "patience": 5})
    seen = []
    Trainer(probe, splits["train"], splits["dev"],
            on_best=lambda r: seen.append((r.best_epoch, {k: v.clone() for k, v in r.model.encoder.state_dict().items()}))
            ).train()
    # Epoch 1 always improves on "no model yet", so its state is seen: the encoder is untouched after the
    # probe epoch, and fine-tuning moves it in the next.
    states = dict(seen)
    assert all(torch.equal(states[1][k], pretrained[k]) for k in pretrained)
    if 2 in states:
        assert not all(torch.equal(states[2][k], pretrained[k]) for k in pretrained)


def test_robust_training_runs_and_records_its_options(robust_model):
    import json

    artifact = json.loads((robust_model / "artifact.json").read_text(encoding="utf-8"))
    assert artifact["training_args"]["department_head_init"] == "remits"
    assert artifact["training_args"]["mask_agencies"] == 0.5


def test_wise_ft_interpolates_the_encoder(robust_model, tiny_bert_dir, tmp_path, capsys):
    for alpha in ("0", "1", "0.5"):
        assert main(["wise-ft", "--model", str(robust_model), "--alpha", alpha, "--out", str(tmp_path / alpha)]) == 0
    assert '"department_head_interpolated": true' in capsys.readouterr().out
    tuned = TriageModel.from_pretrained(robust_model / "pytorch").encoder.state_dict()
    pretrained = _load_encoder(str(tiny_bert_dir)).state_dict()
    at = {a: TriageModel.from_pretrained(tmp_path / a / "pytorch").encoder.state_dict() for a in ("0", "1", "0.5")}
    name = "encoder.layer.0.attention.self.query.weight"
    assert torch.allclose(at["1"][name], tuned[name])
    assert torch.allclose(at["0"][name], pretrained[name])
    assert torch.allclose(at["0.5"][name], (tuned[name] + pretrained[name]) / 2, atol=1e-6)
    assert main(["wise-ft", "--model", str(robust_model), "--alpha", "1.5", "--out", str(tmp_path / "bad")]) == 2
    assert "alpha" in capsys.readouterr().err
    # The interpolated model exports and serves like any trained one.
    assert main(["export", "--model", str(tmp_path / "0.5"), "--no-int8"]) == 0


def test_long_letters_are_read_whole_in_windows(tiny_model_dir):
    from petition_triage.model.inference import OnnxTriageModel, pool_windows
    from petition_triage.model.text_input import MAX_CHUNKS, encode_windows

    model = OnnxTriageModel(tiny_model_dir)
    letter = "我家住在锦华苑3号楼，" * 50
    chunks = encode_windows(model.tokenizer, [letter, "电梯坏了"], 64, "chunks")
    assert len(chunks[0]) > 5 and len(chunks[1]) == 1
    assert all(len(w) <= 64 and w[0] == model.tokenizer.cls_token_id for w in chunks[0])
    # Every token of the letter is read once, in order.
    content = model.tokenizer([letter], add_special_tokens=False, verbose=False)["input_ids"][0]
    assert [t for w in chunks[0] for t in w[1:-1]] == content
    # A very long letter keeps its first windows and its end.
    capped = encode_windows(model.tokenizer, [letter * 5], 64, "chunks")[0]
    assert len(capped) == MAX_CHUNKS and capped[-1][1:-1] == (content * 5)[-62:]

    whole = model.logits([letter, "电梯坏了"], long_texts="chunks")
    cut = model.logits([letter, "电梯坏了"], long_texts="head_tail")
    assert whole["department"].shape == cut["department"].shape == (2, len(model.labels["department"]))
    np.testing.assert_allclose(whole["department"][1], cut["department"][1], atol=1e-4)  # short: the same
    with pytest.raises(ValueError, match="long_texts"):
        model.logits(["x"], long_texts="middle")

    labels = {"risk": ["normal", "elevated", "high"], "department": ["a", "b"], "reasons": ["x", "y"]}
    outputs = {"risk": np.array([[5.0, 0, 0], [0, 1, 3], [9, 0, 0]]), "department": np.array([[1.0, 0], [0, 1], [2, 2]]),
               "reasons": np.array([[-3.0, 1], [2, -1], [0, 0]])}
    pooled = pool_windows(outputs, [2, 1], labels, "chunks")
    np.testing.assert_allclose(pooled["risk"][0], [0, 1, 3])  # the alarming window, not the average
    np.testing.assert_allclose(pooled["department"][0], [0.5, 0.5])
    np.testing.assert_allclose(pooled["reasons"][0], [2, 1])

    # Hybrid: the windows decide the matter, the head+tail window after them the risk and reasons.
    hybrid = pool_windows(outputs, [3], labels, "hybrid")
    np.testing.assert_allclose(hybrid["department"][0], [0.5, 0.5])
    np.testing.assert_allclose(hybrid["risk"][0], [9, 0, 0])
    np.testing.assert_allclose(hybrid["reasons"][0], [0, 0])


def test_hybrid_reading_adds_the_head_tail_window_and_serves_as_evaluated(tiny_model_dir, tmp_path):
    import asyncio
    import shutil

    from petition_triage.model.inference import EMBEDDING_OUTPUT, OnnxTriageModel
    from petition_triage.model.taxonomy import load_taxonomy
    from petition_triage.model.text_input import encode_windows
    from petition_triage.model.triage_config import TriageConfig
    from petition_triage.service.api.schemas import Submission
    from petition_triage.service.predictor import Predictor

    model = OnnxTriageModel(tiny_model_dir)
    letter = "我家住在锦华苑3号楼，楼上天天漏水，" * 40
    chunks = encode_windows(model.tokenizer, [letter, "电梯坏了"], 64, "chunks")
    hybrid = encode_windows(model.tokenizer, [letter, "电梯坏了"], 64, "hybrid")
    head_tail = encode_windows(model.tokenizer, [letter, "电梯坏了"], 64, "head_tail")
    assert hybrid[0] == chunks[0] + head_tail[0] and hybrid[1] == chunks[1] == head_tail[1]

    texts = [letter, "电梯坏了，物业不修，请帮忙"]
    whole = model.logits(texts, long_texts="chunks")
    cut = model.logits(texts, long_texts="head_tail")
    mixed = model.logits(texts, long_texts="hybrid")
    np.testing.assert_allclose(mixed["department"], whole["department"], atol=1e-4)
    np.testing.assert_allclose(mixed["risk"], cut["risk"], atol=1e-4)
    np.testing.assert_allclose(mixed[EMBEDDING_OUTPUT], cut[EMBEDDING_OUTPUT], atol=1e-4)

    # A model directory that reads hybrid is served the same way it is evaluated.
    served_dir = tmp_path / "hybrid"
    shutil.copytree(tiny_model_dir, served_dir)
    config = TriageConfig.load(served_dir)
    config.extra["long_texts"] = "hybrid"
    config.save(served_dir)
    served = OnnxTriageModel(served_dir)
    expected = served.decide(served.logits(texts))
    predictor = Predictor(served_dir, load_taxonomy())
    classified, embeddings = asyncio.run(predictor.classify_and_embed([Submission(text=t) for t in texts]))
    for row, case in enumerate(classified):
        assert case.department.label == served.labels["department"][int(expected["department"].predicted[row])]
        assert case.department.probability == pytest.approx(float(expected["department"].probs[row].max()), abs=1e-3)
    np.testing.assert_allclose(embeddings, cut[EMBEDDING_OUTPUT], atol=1e-4)


def test_evaluation_counts_for_review_exactly_what_the_service_sends(tiny_model_dir):
    """One rule: the published review rate is the share of cases the predictor marks needs_review,
    a text naming self-harm or violence included whatever the model's confidence."""
    import asyncio

    from petition_triage.model.decision import Calibration
    from petition_triage.model.inference import OnnxTriageModel
    from petition_triage.model.risk_cues import urgent_cue_mask
    from petition_triage.model.taxonomy import load_taxonomy
    from petition_triage.service.api.schemas import Submission
    from petition_triage.service.predictor import Predictor
    from petition_triage.training.evaluation import evaluate_logits

    texts = ["电梯坏了三天，物业不修", "他说再不给工资就从楼上跳下去", "请问社保怎么转移",
             "建议在南川河边多装几个路灯", "拆迁款一直不给，我们准备去市政府门口拉横幅", "孩子学校食堂饭菜太差"]
    model = OnnxTriageModel(tiny_model_dir)
    predictor = Predictor(tiny_model_dir, load_taxonomy())
    served = asyncio.run(predictor.classify([Submission(text=t) for t in texts]))
    logits = model.logits(texts)
    targets = {head: np.zeros((len(texts), len(codes)) if head == "reasons" else len(texts), dtype=np.int64)
               for head, codes in model.labels.items()}
    report = evaluate_logits(logits, targets, model.labels, model.calibration, urgent_cue_mask(texts, [None] * len(texts)))
    assert report["needs_review_rate"] == pytest.approx(np.mean([c.needs_review for c in served]))
    assert served[1].needs_review  # names self-harm: read by a person, confident or not
    # With no thresholds at all, only the urgent cue remains a reason to read a case.
    model.calibration = Calibration()
    bare = evaluate_logits(logits, targets, model.labels, model.calibration, urgent_cue_mask(texts, [None] * len(texts)))
    assert bare["needs_review_rate"] == pytest.approx(1 / len(texts))

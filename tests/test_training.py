"""Training, export, evaluation and promotion on a tiny random model and a slice of the corpus."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from petition_triage.cli import main
from petition_triage.config import REPO_ROOT
from petition_triage.model.decision import Calibration, decide
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.model.text_input import head_tail_truncate
from petition_triage.training.args import TrainingArguments
from petition_triage.training.artifact import promote
from petition_triage.training.corpus import read_records, write_records
from petition_triage.training.data import ColumnMapping, Example, merge_corrections
from petition_triage.training.metrics import abstain_threshold, fit_temperature, recall_threshold, softmax
from petition_triage.training.trainer import IGNORE, multitask_loss
from petition_triage.training.workflow import load_training_data

DATA = REPO_ROOT / "data_samples"


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    write_records(out / "train.jsonl", read_records(DATA / "train.jsonl")[:80])
    write_records(out / "dev.jsonl", read_records(DATA / "dev.jsonl")[:24])
    write_records(out / "test.jsonl", read_records(DATA / "test.jsonl")[:24])
    return out


@pytest.fixture(scope="module")
def extra_train(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extra") / "supplement.jsonl"
    write_records(path, read_records(DATA / "supplements" / "risk_supplement.jsonl")[:10])
    return path


@pytest.fixture(scope="module")
def trained_model(tiny_bert_dir, small_data, extra_train, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("models") / "m1"
    assert main(["train", "--data", str(small_data), "--extra-train", str(extra_train), "--out", str(out),
                 "--base-model", str(tiny_bert_dir), "--epochs", "2", "--batch-size", "8", "--max-length", "64"]) == 0
    return out


def test_train_writes_a_versioned_model_directory(trained_model):
    for name in ("triage_config.json", "calibration.json", "labels.json", "artifact.json", "README.md",
                 "tokenizer.json", "pytorch/heads.safetensors"):
        assert (trained_model / name).exists(), name
    labels = json.loads((trained_model / "labels.json").read_text())
    assert set(labels) == {"type", "department", "risk", "reasons"} and len(labels["department"]) == 19
    artifact = json.loads((trained_model / "artifact.json").read_text())
    assert artifact["seed"] == 42 and len(artifact["data_hash"]) == 16 and artifact["training_history"]
    # The extra file went to train only: dev is the folder's own.
    assert artifact["train_examples"] == 80 + 10 and artifact["dev_examples"] == 24
    assert artifact["extra_train"] and artifact["extra_train"][0].endswith("supplement.jsonl")
    assert "supplement.jsonl` (train only)" in (trained_model / "README.md").read_text()


def test_extra_training_file_reusing_an_id_is_refused_with_the_id(small_data, tmp_path, capsys):
    clash = tmp_path / "clash.jsonl"
    write_records(clash, read_records(small_data / "train.jsonl")[:2])
    assert main(["train", "--data", str(small_data), "--extra-train", str(clash), "--out", str(tmp_path / "m")]) == 2
    error = capsys.readouterr().err
    assert "ids already in the training data" in error and read_records(clash)[0]["id"] in error
    assert not (tmp_path / "m").exists()


def test_export_evaluate_and_promote(trained_model, small_data, tmp_path):
    assert main(["export", "--model", str(trained_model)]) == 0
    summary = json.loads((trained_model / "export_report.json").read_text())
    assert max(summary["fp32"]["max_abs_diff_vs_pytorch"].values()) < 1e-3
    assert (trained_model / summary["chosen"]).exists()
    assert "int8-per-channel" in summary  # the gate was applied, whichever way it went
    # Calibrated on the graph that serves, whichever was kept.
    assert json.loads((trained_model / "artifact.json").read_text())["calibrated_on"]["onnx_file"] == summary["chosen"]

    assert main(["evaluate", "--model", str(trained_model), "--data", str(small_data)]) == 0
    report_dir = trained_model / "evaluation" / "test"
    report = json.loads((report_dir / "report.json").read_text())
    assert report["examples"] == 24 and 0 <= report["department"]["macro_f1"] <= 1
    assert "ece_before" in report["type"] and "ece_after" in report["type"]
    assert report["risk"]["per_class"]["high"]["support"] == 4
    assert 0 < report["risk"]["high_average_precision"] <= 1
    assert (report_dir / "confusion_department.png").stat().st_size > 1000
    assert "Confusion matrix" in (report_dir / "report.md").read_text()
    assert "test" in json.loads((trained_model / "metrics.json").read_text())

    target = tmp_path / "default"
    ok, _ = promote(trained_model, target)
    assert ok and (target / summary["chosen"]).exists() and not (target / "pytorch").exists()

    worse = tmp_path / "worse"
    shutil.copytree(trained_model, worse)
    metrics = json.loads((worse / "metrics.json").read_text())
    metrics["test"]["department"]["macro_f1"] -= 0.5
    (worse / "metrics.json").write_text(json.dumps(metrics))
    ok, message = promote(worse, target)
    assert not ok and "worse than the current model" in message
    # A tolerance lets a head be that much lower, no more.
    ok, message = promote(worse, target, tolerance=0.01)
    assert not ok and "by more than 0.010" in message
    metrics["test"]["department"]["macro_f1"] += 0.495
    (worse / "metrics.json").write_text(json.dumps(metrics))
    assert not promote(worse, target)[0]
    ok, _ = promote(worse, target, tolerance=0.01)
    assert ok
    promote(trained_model, target)

    # Real-style text gates too: as good on test but worse on shift-dev is refused; shift-test is never read.
    for model_dir, department in ((target, 0.8), (worse, 0.6)):
        metrics = json.loads((model_dir / "metrics.json").read_text())
        metrics["test"] = json.loads((trained_model / "metrics.json").read_text())["test"]
        metrics["shift-dev"] = {"department": {"macro_f1": department}}
        metrics["shift-test"] = {"department": {"macro_f1": 1.0 - department}}
        (model_dir / "metrics.json").write_text(json.dumps(metrics))
    ok, message = promote(worse, target)
    assert not ok and "on shift-dev: department 0.600 < 0.800" in message
    ok, _ = promote(worse, target, splits=("test",))
    assert ok


def test_export_tries_only_the_int8_variants_named(trained_model, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(trained_model, copy)
    assert main(["export", "--model", str(copy), "--int8-variant", "int8-blockwise-weights"]) == 0
    summary = json.loads((copy / "export_report.json").read_text())
    assert "int8-blockwise-weights" in summary and "int8-per-channel" not in summary
    assert summary["chosen"] in ("model.onnx", "model.int8-blockwise-weights.onnx")
    assert main(["export", "--model", str(copy), "--int8-variant", "int4"]) == 2
    assert "unknown int8 variant(s) ['int4']" in capsys.readouterr().err


def test_calibrate_refits_on_the_served_graph(trained_model, small_data, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(trained_model, copy)
    assert main(["export", "--model", str(copy), "--no-int8"]) == 0
    (copy / "calibration.json").write_text(json.dumps(Calibration().to_dict()))  # as if fitted under another rule
    assert main(["calibrate", "--model", str(copy)]) == 0
    refitted = json.loads((copy / "calibration.json").read_text())
    assert set(refitted["temperatures"]) == {"type", "department", "risk"}
    assert refitted["temperatures"] != Calibration().temperatures
    calibrated_on = json.loads((copy / "artifact.json").read_text())["calibrated_on"]
    assert calibrated_on == {"data": str(small_data), "split": "dev", "examples": 24, "onnx_file": "model.onnx"}
    assert "calibration (temperatures and thresholds) fitted on" in (copy / "README.md").read_text()
    assert refitted["high_risk_recall"] == 0.92
    # Another recall target is kept by a later export; an impossible one is refused by the parser.
    assert main(["calibrate", "--model", str(copy), "--high-recall", "0.99"]) == 0
    stricter = json.loads((copy / "calibration.json").read_text())
    assert stricter["high_risk_recall"] == 0.99 and stricter["high_risk_threshold"] <= refitted["high_risk_threshold"]
    assert main(["export", "--model", str(copy), "--no-int8"]) == 0
    assert json.loads((copy / "calibration.json").read_text())["high_risk_recall"] == 0.99
    with pytest.raises(SystemExit):
        main(["calibrate", "--model", str(copy), "--high-recall", "1.5"])
    only_train = tmp_path / "only-train.jsonl"
    write_records(only_train, read_records(small_data / "train.jsonl")[:5])
    assert main(["calibrate", "--model", str(copy), "--data", str(only_train)]) == 2
    assert "has no dev split to calibrate on" in capsys.readouterr().err
    # How long texts are read is set on the model, kept by the directory and reported.
    capsys.readouterr()
    assert main(["calibrate", "--model", str(copy), "--long-texts", "hybrid"]) == 0
    assert json.loads(capsys.readouterr().out)["long_texts"] == "hybrid"
    assert json.loads((copy / "triage_config.json").read_text())["extra"]["long_texts"] == "hybrid"
    with pytest.raises(SystemExit):
        main(["calibrate", "--model", str(copy), "--long-texts", "middle"])


def test_dev_joins_the_named_splits_for_calibration(trained_model, small_data, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(small_data, data)
    (data / "shift").mkdir()
    write_records(data / "shift" / "dev.jsonl", read_records(DATA / "shift" / "dev.jsonl")[:10])
    copy = tmp_path / "copy"
    shutil.copytree(trained_model, copy)
    assert main(["export", "--model", str(copy), "--no-int8"]) == 0
    assert main(["calibrate", "--model", str(copy), "--data", str(data), "--dev-splits", "dev,shift-dev"]) == 0
    calibrated_on = json.loads((copy / "artifact.json").read_text())["calibrated_on"]
    assert (calibrated_on["split"], calibrated_on["examples"]) == ("dev+shift-dev", 34)
    # A split the data lacks is named, not silently dropped.
    assert main(["calibrate", "--model", str(copy), "--data", str(small_data), "--dev-splits", "dev,shift-dev"]) == 2
    assert "dev split(s) shift-dev not in the data" in capsys.readouterr().err
    train, dev, _ = load_training_data(str(data), ColumnMapping(), None, 0.1, 0, dev_splits=("dev", "shift-dev"))
    assert len(dev) == 34 and len(train) == 80


def test_trainer_file_with_own_columns_and_only_some_labels(tiny_bert_dir, tmp_path):
    rows = read_records(DATA / "train.jsonl")[:40]
    path = tmp_path / "cases.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["编号", "内容", "部门"])
        for r in rows:
            writer.writerow([r["id"], r["text"], r["labels"]["department"]])
    out = tmp_path / "m"
    assert main(["train", "--data", str(path), "--out", str(out), "--base-model", str(tiny_bert_dir), "--epochs", "1",
                 "--batch-size", "8", "--max-length", "48", "--text-col", "内容", "--title-col", "",
                 "--label-col", "department=部门", "--label-col", "type=none", "--label-col", "risk=none",
                 "--label-col", "reasons=none"]) == 0
    labels = json.loads((out / "labels.json").read_text())
    assert list(labels) == ["department"]


def test_custom_taxonomy_with_seven_departments(tiny_bert_dir, tmp_path):
    default = json.loads((REPO_ROOT / "model" / "taxonomy" / "default.json").read_text())
    codes = ["d1", "d2", "d3", "d4", "d5", "d6", "d7"]
    default["departments"] = [{"code": c, "name_zh": c} for c in codes]
    taxonomy = tmp_path / "taxonomy.json"
    taxonomy.write_text(json.dumps(default))
    rows = read_records(DATA / "train.jsonl")[:35]
    for i, r in enumerate(rows):
        r["labels"] = dict(r["labels"], department=codes[i % 7])
    write_records(tmp_path / "train.jsonl", rows)
    out = tmp_path / "m"
    assert main(["train", "--data", str(tmp_path / "train.jsonl"), "--out", str(out), "--taxonomy", str(taxonomy),
                 "--base-model", str(tiny_bert_dir), "--epochs", "1", "--max-length", "48"]) == 0
    assert json.loads((out / "labels.json").read_text())["department"] == codes


def test_loss_ignores_rows_without_a_label():
    torch.manual_seed(0)
    outputs = {"embedding": torch.zeros(4, 2), "type": torch.randn(4, 3), "department": torch.randn(4, 5)}
    with_unlabeled = {"type": torch.tensor([0, IGNORE, 2, IGNORE]), "department": torch.full((4,), IGNORE)}
    only_labeled = {"type": torch.tensor([0, 2])}
    expected = multitask_loss({"embedding": outputs["embedding"][:2], "type": outputs["type"][[0, 2]]}, only_labeled, {})
    assert torch.isclose(multitask_loss(outputs, with_unlabeled, {}), expected)


def test_corrections_override_labels_latest_wins():
    base = [Example("a", "文本一", None, {"type": "demand", "department": "housing", "risk": "normal"}, [])]
    corrections = [
        {"id": "a", "text": "文本一", "labels": {"department": "ecology"}, "corrected_at": "2026-01-02T00:00:00"},
        {"id": "a", "text": "文本一", "labels": {"department": "emergency"}, "corrected_at": "2026-01-03T00:00:00"},
        {"id": "b", "text": "文本二", "labels": {"type": "inquiry"}, "corrected_at": "2026-01-01T00:00:00"},
    ]
    merged = {e.id: e for e in merge_corrections(base, list(reversed(corrections)))}
    assert merged["a"].labels == {"type": "demand", "department": "emergency", "risk": "normal"}
    assert merged["b"].labels["type"] == "inquiry" and merged["b"].labels["department"] is None


def test_head_tail_truncation_keeps_both_ends():
    ids = list(range(100))
    cut = head_tail_truncate(ids, 40)
    assert len(cut) == 40 and cut[0] == 0 and cut[-1] == 99 and cut[:15] == list(range(15))
    assert head_tail_truncate(ids[:10], 40) == ids[:10]


def test_temperature_scaling_softens_overconfident_logits():
    rng = np.random.default_rng(0)
    targets = rng.integers(0, 3, 500)
    logits = rng.normal(size=(500, 3))
    logits[np.arange(500), targets] += 1.0
    t = fit_temperature(logits * 8, targets)  # eight times too confident
    assert 4 < t < 16


def test_abstain_and_recall_thresholds():
    probs = softmax(np.array([[4.0, 0, 0], [3.0, 0, 0], [0.2, 0, 0.1], [0, 0.3, 0.2]]))
    targets = np.array([0, 0, 2, 1])
    threshold = abstain_threshold(probs, targets, 0.99)
    # Sorted by confidence the rows are 0, 1, 3 (all right), then 2 (wrong): the cut falls before row 2.
    assert probs[2].max() < threshold <= probs[3].max() < probs[1].max()
    high = recall_threshold(probs, np.array([2, 2, 2, 2]), 2, 0.75)
    assert (probs[:, 2] >= high).mean() >= 0.75


def test_risk_decision_raises_cases_that_name_self_harm_or_violence():
    # Four rows the model calls normal; evaluation passes the texts exactly as serving does.
    logits = {"risk": np.array([[4.0, 0.0, -4.0]] * 4)}
    labels = {"risk": ["normal", "elevated", "high"]}
    texts = ["工资拖了两年，我真的不想活了", "小区路灯坏了，请尽快维修", "他扬言报复社会", "群里都气炸了，食堂的菜太贵"]
    without = decide(logits, labels, Calibration())["risk"].predicted
    with_cues = decide(logits, labels, Calibration(), urgent_cue_mask(texts, [None] * 4))["risk"].predicted
    assert without.tolist() == [0, 0, 0, 0]
    assert with_cues.tolist() == [2, 0, 2, 0]
    # A suggestion that cites other people's cases is raised to elevated only.
    typed = {**logits, "type": np.array([[3.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 3.0, 0.0], [3.0, 0.0, 0.0]])}
    typed_labels = {**labels, "type": ["demand", "suggestion", "inquiry"]}
    assert decide(typed, typed_labels, Calibration(), urgent_cue_mask(texts, [None] * 4))["risk"].predicted.tolist() \
        == [2, 0, 1, 0]
    # A high call stays high: the raise never lowers a level.
    high = decide({"risk": np.array([[-4.0, 0.0, 4.0]])}, labels, Calibration(),
                  urgent_cue_mask(["我不想活了"], [None]))["risk"].predicted
    assert high.tolist() == [2]


def test_urgent_cues_cover_plain_ways_of_saying_self_harm_and_violence():
    # The guide's cues widened to how callers say them (each seen on `high` cases in train), and
    # look-alikes that are not threats.
    urgent = ["逼急了就从楼上跳下去", "我真的扛不住了 想死", "有时候真想一了百了", "疼得受不了，让我死了算了",
              "扬言不复婚就一起死", "不给说法就跟他拼了", "再不办谁拦我捅谁", "被对方持刀捅伤腹部"]
    not_urgent = ["我们拼了命干了一年活，工资一分没拿到", "记者把这件事捅到了网上", "孩子想死你们了，过年回家吧",
                  "这下可捅了马蜂窝", "小伙子二话不说跳下去救人",
                  "群里都气炸了，食堂的菜太贵"]
    assert urgent_cue_mask(urgent, [None] * len(urgent)).all()
    assert not urgent_cue_mask(not_urgent, [None] * len(not_urgent)).any()


def test_high_threshold_counts_the_cases_a_cue_raise_finds():
    probs = np.array([[0.1, 0.45, 0.45], [0.3, 0.3, 0.4], [0.4, 0.3, 0.3], [0.8, 0.1, 0.1], [0.9, 0.05, 0.05]])
    targets = np.array([2, 2, 2, 2, 0])
    # Letting the lowest of 4 high cases go finds 3/5 of new ones on average (order statistics).
    assert recall_threshold(probs, targets, 2, 0.6) == pytest.approx(0.3)
    assert recall_threshold(probs, targets, 2, 0.75) == pytest.approx(0.1)  # 3/4 on dev, but 3/5 expected
    # A cue finds the lowest-scored one, so the threshold may let the next-lowest go instead.
    assert recall_threshold(probs, targets, 2, 0.6, already=np.array([0, 0, 0, 1, 0], dtype=bool)) == pytest.approx(0.4)
    assert recall_threshold(probs, targets, 2, 0.6, already=np.array([1, 1, 1, 1, 0], dtype=bool)) == 0.5


def test_training_arguments_are_validated():
    with pytest.raises(ValueError, match="max_length must be between 8 and 512, got 4"):
        TrainingArguments(output_dir="x", max_length=4)
    with pytest.raises(ValueError, match="bf16 must be auto, on or off"):
        TrainingArguments(output_dir="x", bf16="maybe")
    with pytest.raises(ValueError, match="device must be auto, cpu or cuda"):
        TrainingArguments(output_dir="x", device="tpu")


def test_device_auto_falls_back_to_the_cpu_and_a_missing_gpu_is_a_clear_error(monkeypatch):
    from petition_triage.training.trainer import resolve_device, use_bf16

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type == "cpu"
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ValueError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    assert use_bf16("on", torch.device("cpu")) and not use_bf16("off", torch.device("cuda"))


def test_train_without_a_gpu_asked_for_cuda_exits_with_a_message(tiny_bert_dir, small_data, tmp_path, monkeypatch,
                                                                 capsys):
    from petition_triage.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert main(["train", "--data", str(small_data), "--out", str(tmp_path / "m"), "--base-model", str(tiny_bert_dir),
                 "--epochs", "1", "--device", "cuda"]) == 2
    assert "sees no CUDA GPU" in capsys.readouterr().err


def test_train_command_defaults_are_the_training_arguments_defaults():
    from petition_triage.cli import build_parser

    parsed = build_parser().parse_args(["train", "--data", "d", "--out", "o"])
    defaults = TrainingArguments(output_dir="o")
    for name in ("epochs", "batch_size", "learning_rate", "head_learning_rate", "max_length", "patience", "seed",
                 "bf16", "device", "threads", "mask_agencies", "drop_frames", "noise", "department_head_init",
                 "linear_probe_epochs"):
        assert getattr(parsed, name) == getattr(defaults, name), name
    assert tuple(parsed.cue_heads.split(",")) == defaults.cue_heads
    assert tuple(parsed.dev_splits.split(",")) == defaults.dev_splits


def test_cue_heads_read_max_pooled_tokens_and_old_configs_still_load(trained_model, tmp_path):
    from petition_triage.model.model_dir import CONFIG_NAME
    from petition_triage.model.modeling import TriageModel, max_pool
    from petition_triage.model.triage_config import TriageConfig

    model = TriageModel.from_pretrained(trained_model / "pytorch")
    assert model.config.cue_heads == ["risk", "reasons"]
    hidden = model.encoder.config.hidden_size
    assert model.heads["risk_classifier"].in_features == 2 * hidden
    assert model.heads["type_classifier"].in_features == hidden
    # A cue in one token survives max pooling however long the text; padding never wins.
    states = torch.zeros(1, 4, 2)
    states[0, 1, 0], states[0, 3, 1] = 5.0, 9.0
    assert max_pool(states, torch.tensor([[1, 1, 1, 0]])).tolist() == [[5.0, 0.0]]
    legacy = json.loads((trained_model / CONFIG_NAME).read_text())
    legacy.pop("cue_heads")
    (tmp_path / CONFIG_NAME).write_text(json.dumps(legacy))
    assert TriageConfig.load(tmp_path).cue_heads == []


def test_rare_reason_codes_get_a_larger_positive_weight():
    from petition_triage.training.trainer import positive_weights

    targets = np.array([[1, 0], [1, 0], [1, 1], [0, 0], [IGNORE, IGNORE]], dtype=np.float32)
    weights = positive_weights(targets).numpy()
    assert weights[1] > weights[0] >= 1.0
    assert np.isclose(weights[1], np.sqrt(3.0))


def test_model_card_shows_test_and_shift_test_side_by_side():
    from petition_triage.training.artifact import side_by_side

    report = lambda accuracy: {"examples": 400, "department": {"accuracy": accuracy, "macro_f1": accuracy - 0.01,  # noqa: E731
                                                               "top3_accuracy": 0.95},
                               "risk": {"accuracy": 0.8, "macro_f1": 0.7, "per_class": {"high": {"recall": 0.9,
                                                                                                 "precision": 0.5}}},
                               "needs_review_rate": 0.3}
    labels = {"department": ["a"], "risk": ["normal", "high"], "reasons": ["x"]}
    assert side_by_side({"test": report(0.88)}, labels) == []
    lines = side_by_side({"test": report(0.88), "shift-test": report(0.71)}, labels)
    assert "| department accuracy | 0.880 | 0.710 |" in lines
    assert "| department top-3 accuracy | 0.950 | 0.950 |" in lines
    assert any(line.startswith("| sent to review | 0.300") for line in lines)


def test_confusion_plot_draws_chinese_labels_or_says_it_cannot(tmp_path, caplog):
    import warnings

    from petition_triage.training.evaluation import cjk_font, save_confusion_png

    codes = ["城乡建设", "教育", "其他"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        save_confusion_png([[3, 1, 0], [0, 4, 1], [1, 0, 2]], codes, "测试", tmp_path / "c.png")
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert (tmp_path / "c.png").stat().st_size > 1000
    if cjk_font() is not None:
        assert missing == [], "a Chinese font is installed but the labels fell back to boxes"
    else:
        assert "no font with Chinese glyphs" in caplog.text

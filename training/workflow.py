"""The jobs behind `train`, `export` and `evaluate`: each ends with a summary a person can read."""

from __future__ import annotations

import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from petition_triage.model.decision import Calibration
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.model.keyword_evidence import build_keyword_table, save_keyword_table
from petition_triage.model.model_dir import ModelDirectory
from petition_triage.model.modeling import TriageModel, load_tokenizer
from petition_triage.model.onnx_export import export_onnx, max_abs_difference, quantize_int8, quantize_weight_only_int8
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.model.text_input import LONG_TEXT_MODES, encode_batch, submission_text
from petition_triage.model.triage_config import TriageConfig

from .args import TrainingArguments
from .artifact import (HEADS_GATED, PYTORCH_DIR, command_line, data_hash, fit_calibration, read_json, record_metrics,
                       save_trained, update_artifact, write_json, write_model_card)
from .data import (ColumnMapping, DataError, Example, dev_examples, label_targets, load_examples, merge_corrections,
                   read_corrections, split_off_dev)
from .evaluation import evaluate_logits, evaluate_model_dir, write_reports
from .trainer import Trainer, resolve_device

logger = logging.getLogger(__name__)
INT8_MAX_DROP = 0.005  # macro-F1, per head, against fp32 on dev
# In order of preference; the first that keeps quality is served. Per-channel int8 runs fastest
# where the CPU has VNNI; block-wise weight-only int8 keeps activations in fp32.
INT8_VARIANTS = {
    "int8-per-channel": lambda src, dst: quantize_int8(src, dst),
    "int8-blockwise-weights": quantize_weight_only_int8,
    "int8-ffn-output-fp32": lambda src, dst: quantize_int8(src, dst, exclude_ffn_output=True),
}


def load_training_data(data: str, mapping: ColumnMapping, corrections: str | None, dev_fraction: float,
                       seed: int, extra_train: tuple[str, ...] = (), dev_splits: tuple[str, ...] = ("dev",),
                       ) -> tuple[list[Example], list[Example], list[Example]]:
    """Train, dev and test examples; `extra_train` files are added to train only, so dev and test stay fixed.
    Dev is the `dev_splits` of a data folder joined, or a share of train where the data has none."""
    splits = load_examples(data, mapping)
    train = splits["train"]
    for path in extra_train:
        extra = load_examples(path, mapping)["train"]
        refuse_known_ids(train, extra, path)
        train = train + extra
    if corrections:
        train = merge_corrections(train, read_corrections(corrections))
    dev = dev_examples(splits, dev_splits)
    if dev is None:
        train, dev = split_off_dev(train, dev_fraction, seed)
    return train, dev, splits.get("test", [])


def refuse_known_ids(base: list[Example], extra: list[Example], source: str) -> None:
    """An extra file that reuses an id of the data would train on the same case twice: refused whole."""
    known = {e.id for e in base if e.id}
    clashes = sorted(e.id for e in extra if e.id in known)
    if clashes:
        raise DataError(f"{source}: ids already in the training data: {', '.join(clashes[:5])}"
                        + (f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""))


def train_command(args: TrainingArguments, data: str, mapping: ColumnMapping, corrections: str | None,
                  extra_train: tuple[str, ...] = ()) -> dict:
    train, dev, _ = load_training_data(data, mapping, corrections, args.dev_fraction, args.seed, extra_train,
                                       args.dev_splits)
    out = Path(args.output_dir)
    sources = [Path(data), *map(Path, extra_train)] + ([Path(corrections)] if corrections else [])
    provenance = {"data": data, "extra_train": list(extra_train), "corrections": corrections,
                  "data_hash": data_hash(sources),
                  "command": command_line(), "seed": args.seed, "training_args": args.to_dict(),
                  "machine": f"{platform.machine()}, {_cpu_name()}{_gpu_name(args.device)}",
                  "train_examples": len(train), "dev_examples": len(dev)}

    dev_cues = urgent_cue_mask([e.text for e in dev], [e.title for e in dev])

    def save(result) -> dict:
        labels = result.model.config.labels
        calibration = fit_calibration(result.dev_logits, label_targets(dev, labels), labels, dev_cues)
        save_trained(out, result, calibration, {"base_model": result.model.config.base_model, **provenance})
        write_model_card(out)
        return calibration.to_dict()

    result = Trainer(args, train, dev, on_best=save).train()
    calibration = save(result)
    return {"output_dir": str(out), "best_epoch": result.best_epoch, "seconds": round(result.seconds, 1),
            "dev": result.history[result.best_epoch - 1], "calibration": calibration}


def _gpu_name(device: str) -> str:
    """', GPU name' when training runs on a CUDA GPU, else ''."""
    import torch

    resolved = resolve_device(device)
    return f", {torch.cuda.get_device_name(resolved)}" if resolved.type == "cuda" else ""


def _cpu_name() -> str:
    name = platform.processor() or "unknown CPU"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        name = next((l.split(":", 1)[1].strip() for l in lines if l.startswith("model name")), name)
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def check_int8_variants(variants: tuple[str, ...]) -> None:
    unknown = [v for v in variants if v not in INT8_VARIANTS]
    if unknown:
        raise ValueError(f"unknown int8 variant(s) {unknown}; choose from {list(INT8_VARIANTS)}")


def export_command(model_dir: Path, dev_data: str | None, mapping: ColumnMapping, int8: bool = True,
                   variants: tuple[str, ...] = tuple(INT8_VARIANTS)) -> dict:
    """fp32 ONNX checked against PyTorch; int8 kept only if every head's dev macro-F1 drops ≤ 0.5 points.

    `variants` names the int8 variants to try, in order (default: all of `INT8_VARIANTS`). The steps:
    export fp32 and check it, calibrate it on the dev data training used, try the int8 variants against
    it, then record what serves."""
    check_int8_variants(variants)
    files = ModelDirectory(model_dir)
    model = TriageModel.from_pretrained(model_dir / PYTORCH_DIR)
    artifact = read_json(files.artifact)
    train_data = artifact.get("data")
    training_splits = load_examples(train_data, mapping) if train_data and Path(train_data).exists() else {}
    dev_splits = trained_dev_splits(artifact)
    dev = dev_examples(load_examples(dev_data, mapping) if dev_data else training_splits, dev_splits) or []
    diff = _export_fp32(model, load_tokenizer(model_dir / PYTORCH_DIR), files.fp32_onnx, dev)
    update_artifact(model_dir, onnx_file=files.fp32_onnx.name)
    if "train" in training_splits:
        save_keyword_table(build_keyword_table(training_splits["train"], model.config.labels), model_dir)
    summary: dict = {"fp32": {"file": files.fp32_onnx.name, "bytes": files.fp32_onnx.stat().st_size,
                              "max_abs_diff_vs_pytorch": diff}}
    chosen, decision, calibration = files.fp32_onnx.name, "fp32 (int8 not tried)", None
    if dev:
        devset = _DevSet(model_dir, dev, _high_risk_recall(model_dir))
        logits = devset.logits(files.fp32_onnx.name)
        calibration = devset.fit_calibration(logits)
        reference = devset.evaluate(logits, calibration)
        if int8:
            summary["fp32"]["dev_macro_f1"] = {h: reference[h]["macro_f1"] for h in HEADS_GATED if h in reference}
            chosen, decision, calibration = _choose_int8(files, devset, reference, calibration, variants, summary)
    update_artifact(model_dir, onnx_file=chosen, quantization={"decision": decision, **summary})
    if calibration is not None:
        save_calibration(model_dir, calibration, dev_data or train_data, len(dev), chosen, dev_splits)
    write_json(files.export_report, {"chosen": chosen, "decision": decision, **summary})
    write_model_card(model_dir)
    return {"chosen": chosen, "decision": decision, **summary}


def _export_fp32(model: TriageModel, tokenizer, fp32: Path, dev: list[Example]) -> dict[str, float]:
    """Writes the fp32 graph and returns its largest difference from PyTorch per output (RuntimeError
    above 1e-3)."""
    export_onnx(model, fp32, tokenizer.pad_token_id)
    sample = [submission_text(e.text, e.title, model.config.text_prefix) for e in dev[:16]] or ["测试文本"]
    diff = max_abs_difference(model, fp32, encode_batch(tokenizer, sample, model.config.max_length),
                              tokenizer.pad_token_id)
    if max(diff.values()) > 1e-3:
        raise RuntimeError(f"ONNX outputs differ from PyTorch by up to {max(diff.values()):.2e}: {diff}")
    return diff


@dataclass
class _DevSet:
    """The dev data training used, as the exported graphs read it."""

    model_dir: Path
    examples: list[Example]
    # A recall target chosen with `calibrate --high-recall` outlives a re-export.
    high_recall: float

    def __post_init__(self) -> None:
        self.texts = [e.text for e in self.examples]
        self.titles = [e.title for e in self.examples]
        self.cues = urgent_cue_mask(self.texts, self.titles)
        self.labels = TriageConfig.load(self.model_dir).labels
        self.targets = label_targets(self.examples, self.labels)

    def logits(self, onnx_file: str) -> dict[str, np.ndarray]:
        return OnnxTriageModel(self.model_dir, onnx_file=onnx_file).logits(self.texts, self.titles)

    def fit_calibration(self, logits: dict[str, np.ndarray]) -> Calibration:
        """A graph is calibrated on its own dev logits."""
        return fit_calibration(logits, self.targets, self.labels, self.cues, self.high_recall)

    def evaluate(self, logits: dict[str, np.ndarray], calibration: Calibration) -> dict:
        return evaluate_logits(logits, self.targets, self.labels, calibration, self.cues)


def _choose_int8(files: ModelDirectory, devset: _DevSet, reference: dict, calibration: Calibration,
                 variants: tuple[str, ...], summary: dict) -> tuple[str, str, Calibration]:
    """The first int8 variant whose dev macro-F1 drops ≤ INT8_MAX_DROP on every head, with its own
    calibration, else fp32 with `calibration`; each tried variant's sizes and drops go into `summary`."""
    for name in variants:
        path = files.onnx(name)
        INT8_VARIANTS[name](files.fp32_onnx, path)
        logits = devset.logits(path.name)
        report = devset.evaluate(logits, calibration)
        drops = {h: reference[h]["macro_f1"] - report[h]["macro_f1"] for h in HEADS_GATED if h in report}
        summary[name] = {"file": path.name, "bytes": path.stat().st_size, "dev_macro_f1_drop": drops}
        if max(drops.values()) <= INT8_MAX_DROP:
            _remove_stale_int8(files, keep=path.name)
            # The int8 graph's probabilities differ a little from fp32's, and the `high` threshold sits
            # where few dev cases lie: the graph that serves is calibrated on its own logits.
            return (path.name, f"{name}: dev macro-F1 drop ≤ {INT8_MAX_DROP * 100:.1f} points on every head",
                    devset.fit_calibration(logits))
        path.unlink()
    _remove_stale_int8(files, keep=None)
    return files.fp32_onnx.name, "fp32: no int8 variant stayed within 0.5 macro-F1 points on dev", calibration


def _remove_stale_int8(files: ModelDirectory, keep: str | None) -> None:
    for stale in files.path.glob("model.int8*.onnx"):  # left by an earlier export
        if stale.name != keep:
            stale.unlink()


def _high_risk_recall(model_dir: Path) -> float:
    """The expected `high` recall the model's threshold aims at (the default where none is stored)."""
    return Calibration.from_dict(read_json(ModelDirectory(model_dir).calibration)).high_risk_recall


def trained_dev_splits(artifact: dict) -> tuple[str, ...]:
    """The splits a model was trained with as dev; export and calibration use the same."""
    return tuple((artifact.get("training_args") or {}).get("dev_splits") or ("dev",))


def calibrate_command(model_dir: Path, data: str | None, mapping: ColumnMapping,
                      high_recall: float | None = None, dev_splits: tuple[str, ...] | None = None,
                      long_texts: str | None = None) -> dict:
    """Refits `calibration.json` on a dev split with the graph the model directory serves: after a
    change to the decision rule, to fit the quantized graph rather than the fp32 one export used, or
    to aim the `high` threshold at another expected recall (`high_recall`; default: the model's).
    `dev_splits`: the splits to fit on (default: those the model was trained with as dev).
    `long_texts`: first set how the model reads texts longer than one window (`LONG_TEXT_MODES`);
    serving and evaluation follow the model directory, so the calibration is fitted on that reading."""
    if long_texts is not None:
        if long_texts not in LONG_TEXT_MODES:
            raise DataError(f"long_texts must be one of {', '.join(LONG_TEXT_MODES)}, got {long_texts!r}")
        config = TriageConfig.load(model_dir)
        config.extra["long_texts"] = long_texts
        config.save(model_dir)
    artifact = read_json(ModelDirectory(model_dir).artifact)
    dev_splits = dev_splits or trained_dev_splits(artifact)
    source = data or artifact.get("data")
    if not source or not Path(source).exists():
        raise DataError(f"no dev data: give --data (the model's training data {source!r} is not here)")
    dev = dev_examples(load_examples(source, mapping), dev_splits)
    if not dev:
        raise DataError(f"{source} has no dev split to calibrate on")
    before = read_json(ModelDirectory(model_dir).calibration)
    calibration = refit_calibration(model_dir, dev, source, high_recall, dev_splits)
    write_model_card(model_dir)
    return {"before": before, "after": calibration.to_dict(), "dev_examples": len(dev),
            "long_texts": TriageConfig.load(model_dir).extra.get("long_texts", "head_tail")}


def refit_calibration(model_dir: Path, dev: list[Example], source: str, high_recall: float | None = None,
                      dev_splits: tuple[str, ...] = ("dev",)) -> Calibration:
    """Fits `calibration.json` on dev logits of the graph the directory serves and records where."""
    served = OnnxTriageModel(model_dir)
    texts, titles = [e.text for e in dev], [e.title for e in dev]
    calibration = fit_calibration(served.logits(texts, titles), label_targets(dev, served.labels), served.labels,
                                  urgent_cue_mask(texts, titles),
                                  high_recall if high_recall is not None else _high_risk_recall(model_dir))
    save_calibration(model_dir, calibration, source, len(dev), served.onnx_file, dev_splits)
    return calibration


def save_calibration(model_dir: Path, calibration: Calibration, source: str, dev_examples: int, onnx_file: str,
                     dev_splits: tuple[str, ...] = ("dev",)) -> None:
    """Writes `calibration.json` and records in the artifact the dev data and graph it was fitted on."""
    write_json(ModelDirectory(model_dir).calibration, calibration.to_dict())
    update_artifact(model_dir, calibrated_on={"data": str(source), "split": "+".join(dev_splits), "examples": dev_examples,
                                              "onnx_file": onnx_file})


def evaluate_command(model_dir: Path, data: str, mapping: ColumnMapping, split: str, out: Path | None,
                     name: str | None) -> dict:
    splits = load_examples(data, mapping)
    if split not in splits:
        raise ValueError(f"{data} has no {split!r} split (found {sorted(splits)})")
    examples = splits[split]
    report = evaluate_model_dir(model_dir, examples)
    # The quantized kernels round differently on different CPUs and onnxruntime builds.
    report["measured_on"] = f"{_cpu_name()}, onnxruntime {ort.__version__}"
    labels = read_json(ModelDirectory(model_dir).labels)
    name = name or split
    out = out or model_dir / "evaluation" / name
    write_reports(report, labels, out, f"evaluation on {name} ({len(examples)} examples)")
    record_metrics(model_dir, name, report)
    return report


def summarise(report: dict, heads: list[str]) -> str:
    rows = [f"{h:<12} accuracy {report[h].get('accuracy', float('nan')):.3f}  macro-F1 {report[h]['macro_f1']:.3f}"
            for h in heads if h in report]
    return "\n".join(rows)


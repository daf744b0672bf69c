"""The shipped default model's report: test macro-F1 per head, the abstain rate at its thresholds, its
training time and machine, and its size on disk. Read from shipped/default (its artifact.json and the
test metrics `make model` measured), written to bench/results/default_model.json."""

from __future__ import annotations

import json
from pathlib import Path

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.model.model_dir import SHIPPED_FILES, ModelDirectory

MODEL_DIR = SHIPPED_MODEL_DIR
HEADS = ("type", "department", "risk")


def served_bytes(model_dir: Path, onnx_file: str) -> int:
    """The files `promote` ships: what serving the model needs."""
    return sum((model_dir / name).stat().st_size for name in (*SHIPPED_FILES, onnx_file) if (model_dir / name).exists())


def report(model_dir: Path = MODEL_DIR) -> dict:
    files = ModelDirectory(model_dir)
    artifact = json.loads(files.artifact.read_text(encoding="utf-8"))
    metrics = json.loads(files.metrics.read_text(encoding="utf-8"))
    test = metrics["test"]
    heads = {}
    for head in HEADS:
        s = test[head]
        heads[head] = {key: s.get(key) for key in ("accuracy", "macro_f1", "abstain_threshold", "abstain_rate",
                                                   "accuracy_when_not_abstaining")}
    heads["risk"]["high_recall"] = test["risk"]["per_class"]["high"]["recall"]
    heads["reasons"] = {"macro_f1": test["reasons"]["macro_f1"]}
    args = artifact["training_args"]
    result = {
        "version": artifact["version"], "served_file": artifact["onnx_file"], "base_model": artifact["base_model"],
        "test": {"examples": test["examples"], "heads": heads, "needs_review_rate": test["needs_review_rate"],
                 "measured_on": test.get("measured_on")},
        "training": {"seconds": artifact["training_seconds"], "minutes": round(artifact["training_seconds"] / 60, 1),
                     "machine": artifact["machine"], "epochs": args["epochs"], "best_epoch": artifact["best_epoch"],
                     "seed": artifact["seed"], "bf16": args["bf16"], "train_examples": artifact["train_examples"],
                     "command": artifact["command"]},
        "size": {"served_mb": round(served_bytes(model_dir, artifact["onnx_file"]) / 1e6, 1),
                 "onnx_mb": round((model_dir / artifact["onnx_file"]).stat().st_size / 1e6, 1)},
    }
    shift = metrics.get("shift-test")
    if shift:  # text written to the profile of real messages, beside test
        result["shift_test"] = {
            "examples": shift["examples"], "needs_review_rate": shift["needs_review_rate"],
            "department_accuracy": shift["department"]["accuracy"],
            "department_top3_accuracy": shift["department"].get("top3_accuracy"),
            "type_macro_f1": shift["type"]["macro_f1"], "risk_macro_f1": shift["risk"]["macro_f1"],
            "high_recall": shift["risk"]["per_class"]["high"]["recall"],
            "high_precision": shift["risk"]["per_class"]["high"]["precision"]}
    return result


def main() -> dict:
    result = report()
    (REPO_ROOT / "bench" / "results" / "default_model.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2, ensure_ascii=False))

"""The model directory: the one place that names the files a trained model keeps.

Training writes them, export adds the ONNX graphs, calibration and evaluation rewrite theirs, the
service reads them; every one of those goes through `ModelDirectory` instead of spelling a file name.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_NAME = "triage_config.json"
ARTIFACT_NAME = "artifact.json"
CALIBRATION_NAME = "calibration.json"
LABELS_NAME = "labels.json"
KEYWORDS_NAME = "keywords.json"
METRICS_NAME = "metrics.json"
SCORER_NAME = "duplicate_scorer.json"
CARD_NAME = "README.md"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
FP32_ONNX_NAME = "model.onnx"
EVALUATION_DIR = "evaluation"
EXPORT_REPORT_NAME = "export_report.json"
# What `promote` copies into the served folder besides the served ONNX file.
SHIPPED_FILES = (KEYWORDS_NAME, SCORER_NAME, CONFIG_NAME, CALIBRATION_NAME, LABELS_NAME, ARTIFACT_NAME, METRICS_NAME,
                 CARD_NAME, *TOKENIZER_FILES)


class ModelDirectory:
    """A trained model's folder and the path of each file in it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    @property
    def config(self) -> Path:
        return self.path / CONFIG_NAME

    @property
    def artifact(self) -> Path:
        return self.path / ARTIFACT_NAME

    @property
    def calibration(self) -> Path:
        return self.path / CALIBRATION_NAME

    @property
    def labels(self) -> Path:
        return self.path / LABELS_NAME

    @property
    def keywords(self) -> Path:
        return self.path / KEYWORDS_NAME

    @property
    def metrics(self) -> Path:
        return self.path / METRICS_NAME

    @property
    def scorer(self) -> Path:
        return self.path / SCORER_NAME

    @property
    def card(self) -> Path:
        return self.path / CARD_NAME

    @property
    def tokenizer(self) -> Path:
        return self.path / TOKENIZER_FILES[0]

    @property
    def tokenizer_config(self) -> Path:
        return self.path / TOKENIZER_FILES[1]

    @property
    def fp32_onnx(self) -> Path:
        return self.path / FP32_ONNX_NAME

    def onnx(self, variant: str) -> Path:
        """An exported graph other than fp32: `model.<variant>.onnx` (e.g. int8-blockwise-weights)."""
        return self.path / f"model.{variant}.onnx"

    @property
    def export_report(self) -> Path:
        return self.path / EXPORT_REPORT_NAME

    @property
    def evaluation(self) -> Path:
        return self.path / EVALUATION_DIR

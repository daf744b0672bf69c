"""Runs a model directory with onnxruntime: what the service and the evaluation use.

No PyTorch here: the service must never import it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .decision import Calibration, calibrated_probs, risk_decision
from .triage_config import MULTI_LABEL_HEAD, TriageConfig
from .serving_tokenizer import ServingTokenizer
from .text_input import encode_batch, submission_text

ARTIFACT_NAME = "artifact.json"


@dataclass
class HeadOutput:
    probs: np.ndarray  # calibrated, rows sum to 1 (sigmoids for reasons)
    predicted: np.ndarray  # class index per row


class OnnxTriageModel:
    """A model directory: ONNX graph, tokenizer, labels, calibration."""

    def __init__(self, directory: str | Path, onnx_file: str | None = None, threads: int = 0) -> None:
        self.directory = Path(directory)
        self.config = TriageConfig.load(self.directory)
        artifact = json.loads((self.directory / ARTIFACT_NAME).read_text(encoding="utf-8"))
        self.artifact = artifact
        self.onnx_file = onnx_file or artifact["onnx_file"]
        self.calibration = Calibration.from_dict(
            json.loads((self.directory / "calibration.json").read_text(encoding="utf-8")))
        self.tokenizer = ServingTokenizer(self.directory)
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.directory / self.onnx_file), options,
                                            providers=["CPUExecutionProvider"])
        self.output_names = [o.name for o in self.session.get_outputs()]

    @property
    def labels(self) -> dict[str, list[str]]:
        return self.config.labels

    @property
    def version(self) -> str:
        return self.artifact.get("version", self.directory.name)

    def encode(self, texts: list[str], titles: list[str | None] | None = None) -> list[list[int]]:
        titles = titles or [None] * len(texts)
        joined = [submission_text(t, title, self.config.text_prefix) for t, title in zip(texts, titles)]
        return encode_batch(self.tokenizer, joined, self.config.max_length)

    def run_ids(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """Raw outputs (logits and embedding) for token ids; pads to the longest row."""
        width = max(len(x) for x in ids)
        input_ids = np.full((len(ids), width), self.tokenizer.pad_token_id, dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for row, x in enumerate(ids):
            input_ids[row, : len(x)] = x
            mask[row, : len(x)] = 1
        values = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return dict(zip(self.output_names, values))

    def logits(self, texts: list[str], titles: list[str | None] | None = None, batch_size: int = 32) -> dict[str, np.ndarray]:
        """Logits for many texts, batched by similar length (padding wastes most of a mixed batch)."""
        ids = self.encode(texts, titles)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        parts: dict[str, list[np.ndarray]] = {}
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            for name, value in self.run_ids([ids[i] for i in chunk]).items():
                parts.setdefault(name, []).append(value)
        inverse = np.argsort(order)
        return {name: np.concatenate(values)[inverse] for name, values in parts.items()}

    def decide(self, logits: dict[str, np.ndarray]) -> dict[str, HeadOutput]:
        cal = self.calibration
        out = {}
        for head, codes in self.labels.items():
            if head == MULTI_LABEL_HEAD:
                probs = 1.0 / (1.0 + np.exp(-logits[head]))
                out[head] = HeadOutput(probs, (probs >= cal.reason_threshold).astype(np.int64))
                continue
            probs = calibrated_probs(logits[head], cal.temperatures.get(head, 1.0))
            predicted = (risk_decision(probs, codes, cal.high_risk_threshold) if head == "risk"
                         else probs.argmax(axis=-1))
            out[head] = HeadOutput(probs, predicted)
        return out

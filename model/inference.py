"""Runs a model directory with onnxruntime: what the service and the evaluation use.

No PyTorch here: the service must never import it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .decision import Calibration, HeadOutput, decide
from .triage_config import TriageConfig
from .serving_tokenizer import ServingTokenizer
from .text_input import encode_batch, pad_batch, submission_text

ARTIFACT_NAME = "artifact.json"
EMBEDDING_OUTPUT = "pooled_embedding"


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
        input_ids, mask = pad_batch(ids, self.tokenizer.pad_token_id)
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

    def decide(self, logits: dict[str, np.ndarray], urgent_cues: np.ndarray | None = None) -> dict[str, HeadOutput]:
        return decide(logits, self.labels, self.calibration, urgent_cues)

"""Runs a model directory with onnxruntime: what the service and the evaluation use.

No PyTorch here: the service must never import it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort

from .decision import Calibration, HeadOutput, decide
from .model_dir import ModelDirectory
from .serving_tokenizer import ServingTokenizer
from .text_input import LONG_TEXT_MODES, encode_batch, encode_windows, pad_batch, submission_text
from .triage_config import TriageConfig

EMBEDDING_OUTPUT = "pooled_embedding"


class OnnxTriageModel:
    """A model directory: ONNX graph, tokenizer, labels, calibration."""

    def __init__(self, directory: str | Path, onnx_file: str | None = None, threads: int = 0) -> None:
        self.directory = Path(directory)
        self.config = TriageConfig.load(self.directory)
        files = ModelDirectory(self.directory)
        artifact = json.loads(files.artifact.read_text(encoding="utf-8"))
        self.artifact = artifact
        self.onnx_file = onnx_file or artifact["onnx_file"]
        self.calibration = Calibration.from_dict(
            json.loads(files.calibration.read_text(encoding="utf-8")))
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

    def joined(self, texts: list[str], titles: list[str | None] | None = None) -> list[str]:
        """Title, body and the model's prefix as the model reads them."""
        titles = titles or [None] * len(texts)
        return [submission_text(t, title, self.config.text_prefix) for t, title in zip(texts, titles)]

    def encode(self, texts: list[str], titles: list[str | None] | None = None) -> list[list[int]]:
        return encode_batch(self.tokenizer, self.joined(texts, titles), self.config.max_length)

    def run_ids(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """Raw outputs (logits and embedding) for token ids; pads to the longest row."""
        input_ids, mask = pad_batch(ids, self.tokenizer.pad_token_id)
        values = self.session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return dict(zip(self.output_names, values))

    @property
    def long_texts(self) -> str:
        """How this model reads a text longer than one window (see `text_input.LONG_TEXT_MODES`)."""
        return self.config.extra.get("long_texts", "head_tail")

    def windows(self, texts: list[str], titles: list[str | None] | None = None,
                long_texts: str | None = None) -> tuple[list[list[int]], list[int]]:
        """The token windows to run, flat, and how many consecutive ones belong to each text
        (`pool_windows` turns their outputs back into one row per text)."""
        per_text = encode_windows(self.tokenizer, self.joined(texts, titles), self.config.max_length,
                                  long_texts or self.long_texts)
        return [w for windows in per_text for w in windows], [len(windows) for windows in per_text]

    def pool(self, outputs: dict[str, np.ndarray], windows: list[int],
             long_texts: str | None = None) -> dict[str, np.ndarray]:
        return pool_windows(outputs, windows, self.labels, long_texts or self.long_texts)

    def logits(self, texts: list[str], titles: list[str | None] | None = None, batch_size: int = 32,
               long_texts: str | None = None) -> dict[str, np.ndarray]:
        """Logits for many texts, batched by similar length (padding wastes most of a mixed batch).

        `long_texts`: how a text longer than one window is read (default: the model's own way)."""
        ids, windows = self.windows(texts, titles, long_texts)
        return self.pool(self._run_all(ids, batch_size), windows, long_texts)

    def _run_all(self, ids: list[list[int]], batch_size: int) -> dict[str, np.ndarray]:
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


# What hybrid reading takes from a long text's head+tail window rather than from its whole: risk
# pooled over windows raises false alarms (the least-normal paragraph decides), and the duplicate
# scorer was fitted on head+tail embeddings.
HEAD_TAIL_OUTPUTS = ("risk", "reasons", EMBEDDING_OUTPUT)


def pool_windows(outputs: dict[str, np.ndarray], windows: list[int], labels: dict[str, list[str]],
                 mode: str) -> dict[str, np.ndarray]:
    """One row per text from its windows' rows (`windows[i]` consecutive rows for text i, as
    `encode_windows` made them); a text read in one window keeps its row."""
    if mode not in LONG_TEXT_MODES:
        raise ValueError(f"long_texts must be one of {', '.join(LONG_TEXT_MODES)}, got {mode!r}")
    if all(n == 1 for n in windows):
        return outputs
    ends = np.cumsum(windows)
    pooled: dict[str, np.ndarray] = {}
    for name, values in outputs.items():
        rows = []
        for start, end in zip(ends - windows, ends):
            if end - start == 1:
                rows.append(values[start])
            elif mode == "hybrid" and name in HEAD_TAIL_OUTPUTS:
                rows.append(values[end - 1])
            else:
                rows.append(_pool_chunk_rows(name, values[start : end - 1 if mode == "hybrid" else end], labels))
        pooled[name] = np.stack(rows)
    return pooled


def _pool_chunk_rows(name: str, rows: np.ndarray, labels: dict[str, list[str]]) -> np.ndarray:
    """A long text's windows as one row: type and department logits averaged (the matter is the whole
    letter's), risk from the window that is least `normal` and reason logits at their maximum (a
    threat in one paragraph is a threat), the embedding averaged."""
    if name == "risk" and "normal" in labels.get("risk", []):
        return rows[np.argmin(_normal_margin(rows, labels["risk"].index("normal")))]
    if name == "reasons":
        return rows.max(axis=0)
    return rows.mean(axis=0)


def _normal_margin(logits: np.ndarray, normal: int) -> np.ndarray:
    """How much more likely `normal` is than the likeliest other level, per window."""
    others = np.delete(logits, normal, axis=1).max(axis=1)
    return logits[:, normal] - others

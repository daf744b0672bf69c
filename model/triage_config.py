"""The saved description of a model: its heads' label sets and how its input is built.

Kept apart from the PyTorch model so that serving (onnxruntime only) never imports torch.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .model_dir import ModelDirectory

SINGLE_LABEL_HEADS = ("type", "department", "risk")
MULTI_LABEL_HEAD = "reasons"


@dataclass
class TriageConfig:
    """What a saved model needs to be rebuilt and fed exactly as in training."""

    labels: dict[str, list[str]]  # head -> class codes, in output order
    base_model: str = ""
    max_length: int = 256
    text_prefix: str = ""
    dropout: float = 0.1
    # Heads that read max- beside mean-pooled tokens: risk cues (扬言, 跳楼, 集体) are a few
    # tokens in a long letter, and a mean over 200 tokens washes them out.
    cue_heads: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def heads(self) -> list[str]:
        return list(self.labels)

    def save(self, directory: Path) -> None:
        ModelDirectory(directory).config.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> "TriageConfig":
        return cls(**json.loads(ModelDirectory(directory).config.read_text(encoding="utf-8")))

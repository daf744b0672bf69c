"""One encoder, one classification head per task: a single forward pass gives every head.

Heads: `type`, `department` and `risk` (softmax), and `reasons` (independent sigmoids over the
risk reason codes). The label sets live in the model's config, so a deployment with its own
taxonomy trains and serves without code changes.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer

from .triage_config import MULTI_LABEL_HEAD, SINGLE_LABEL_HEADS, TriageConfig

__all__ = ["MULTI_LABEL_HEAD", "SINGLE_LABEL_HEADS", "TriageConfig", "TriageModel", "load_tokenizer", "max_pool", "mean_pool"]

HEADS_NAME = "heads.safetensors"
ENCODER_DIR = "encoder"


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def max_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    # A finite fill (not -inf) keeps bf16 and the ONNX graph free of inf arithmetic.
    masked = hidden.masked_fill(attention_mask.unsqueeze(-1) == 0, -1e4)
    return masked.max(dim=1).values


def _load_encoder(name_or_path: str) -> nn.Module:
    try:
        return AutoModel.from_pretrained(name_or_path, add_pooling_layer=False)
    except TypeError:  # encoders without a pooler option
        return AutoModel.from_pretrained(name_or_path)


class TriageModel(nn.Module):
    def __init__(self, encoder: nn.Module, config: TriageConfig) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = config
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(config.dropout)
        # Keys get a suffix: nn.ModuleDict refuses "type", a Module attribute.
        self.heads = nn.ModuleDict({
            f"{head}_classifier": nn.Linear(hidden * (2 if head in config.cue_heads else 1), len(codes))
            for head, codes in config.labels.items()})

    @classmethod
    def from_base(cls, base_model: str, config: TriageConfig) -> "TriageModel":
        return cls(_load_encoder(base_model), config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(hidden, attention_mask)
        dropped = self.dropout(pooled)
        cue_features = None
        if self.config.cue_heads:
            cue_features = self.dropout(torch.cat([pooled, max_pool(hidden, attention_mask)], dim=-1))
        outputs = {head: self.heads[f"{head}_classifier"](cue_features if head in self.config.cue_heads else dropped)
                   for head in self.config.labels}
        outputs["embedding"] = pooled
        return outputs

    def save_pretrained(self, directory: str | Path, tokenizer=None) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.encoder.save_pretrained(directory / ENCODER_DIR)
        save_file({k: v.contiguous() for k, v in self.heads.state_dict().items()}, str(directory / HEADS_NAME))
        self.config.save(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "TriageModel":
        directory = Path(directory)
        config = TriageConfig.load(directory)
        model = cls(_load_encoder(str(directory / ENCODER_DIR)), config)
        model.heads.load_state_dict(load_file(str(directory / HEADS_NAME)))
        model.eval()
        return model


def load_tokenizer(directory: str | Path):
    return AutoTokenizer.from_pretrained(str(directory))


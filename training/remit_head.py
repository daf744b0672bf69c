"""A department head from the encoder's own knowledge: each department's remit embedded as an e5
`passage:`, the submission as a `query:`, cosine similarity as the score.

Alone it is a zero-shot classifier (no petition seen); as the starting weights of the fine-tuned
department head it begins from what the pretrained encoder knows about each remit instead of from
noise (the LP-FT recipe: linear probe first, then fine-tune, holds up better out of distribution
than plain fine-tuning; Kumar et al. 2022).
"""

from __future__ import annotations

import random

import numpy as np
import torch

from petition_triage.model.modeling import TriageModel, mean_pool
from petition_triage.model.taxonomy import Taxonomy
from petition_triage.model.text_input import encode_batch, pad_batch, submission_text

from .data import Example

PASSAGE_PREFIX = "passage: "
# Cosines of e5 embeddings are compressed (most pairs above 0.8): a low temperature spreads them.
TEMPERATURE = 0.02
NORM_SAMPLE = 64  # training texts whose pooled-feature norm scales the head


def remit_passages(taxonomy: Taxonomy, codes: list[str]) -> list[str]:
    """One passage per department code: its Chinese name and remit as the taxonomy describes them."""
    by_code = {label.code: label for label in taxonomy.departments}
    passages = []
    for code in codes:
        label = by_code.get(code)
        passages.append(PASSAGE_PREFIX + (f"{label.name_zh}：{label.description}" if label else code))
    return passages


@torch.no_grad()
def embed(encoder: torch.nn.Module, tokenizer, texts: list[str], max_length: int, batch_size: int = 32,
          normalise: bool = True) -> torch.Tensor:
    """Mean-pooled last hidden states of `texts` (already prefixed), L2-normalised by default."""
    encoder.eval()
    device = next(encoder.parameters()).device
    rows = []
    ids = encode_batch(tokenizer, texts, max_length)
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        input_ids, mask = pad_batch([ids[i] for i in chunk], tokenizer.pad_token_id)
        input_ids, mask = torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device)
        hidden = encoder(input_ids=input_ids, attention_mask=mask).last_hidden_state
        rows.append(mean_pool(hidden, mask).float().cpu())
    pooled = torch.cat(rows)[torch.from_numpy(np.argsort(order))]
    return torch.nn.functional.normalize(pooled, dim=-1) if normalise else pooled


def zero_shot_scores(encoder: torch.nn.Module, tokenizer, queries: list[str], passages: list[str],
                     max_length: int) -> np.ndarray:
    """Cosine similarity of every query (prefixed `query: `) to every remit passage."""
    q = embed(encoder, tokenizer, queries, max_length)
    p = embed(encoder, tokenizer, passages, max_length)
    return (q @ p.T).numpy()


def init_department_head(model: TriageModel, tokenizer, taxonomy: Taxonomy, examples: list[Example],
                         seed: int) -> None:
    """Department head weights set to the remit embeddings, so its first logits are the zero-shot
    classifier's: `cos(text, remit) / TEMPERATURE`, with the head reading unnormalised mean-pooled
    features, scaled by their typical norm on a sample of `examples` (drawn with `seed`, so WiSE-FT
    rebuilds the same head from the same training data)."""
    sample = random.Random(seed).sample(examples, min(NORM_SAMPLE, len(examples)))
    sample_queries = [submission_text(e.text, e.title, model.config.text_prefix) for e in sample] or [
        model.config.text_prefix]
    head = model.heads["department_classifier"]
    codes = model.config.labels["department"]
    remits = embed(model.encoder, tokenizer, remit_passages(taxonomy, codes), model.config.max_length)
    norms = embed(model.encoder, tokenizer, sample_queries, model.config.max_length, normalise=False).norm(dim=-1)
    weight = remits / (TEMPERATURE * float(norms.mean()))
    with torch.no_grad():
        head.weight.zero_()
        head.weight[:, : weight.shape[1]] = weight.to(head.weight.dtype)
        head.bias.zero_()

"""How a submission becomes model input, identically in training and serving."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# e5 was trained with these prefixes; "query: " suits classification of a short text.
E5_PREFIX = "query: "


def submission_text(text: str, title: str | None = None, prefix: str = "") -> str:
    """Title and body as one string: the title often names the matter most clearly."""
    title = (title or "").strip()
    body = text.strip()
    return f"{prefix}{title}。{body}" if title else f"{prefix}{body}"


def head_tail_truncate(ids: Sequence[int], max_content: int, head_fraction: float = 0.375) -> list[int]:
    """Keeps the opening and the end of a long text.

    Letters state the matter at the start and the request at the end; the middle is background.
    """
    ids = list(ids)
    if len(ids) <= max_content:
        return ids
    head = int(max_content * head_fraction)
    tail = max_content - head
    return ids[:head] + ids[-tail:]


def _content_ids(tokenizer, texts: Sequence[str]) -> list[list[int]]:
    # verbose=False: the full length is wanted here, the cut comes after.
    return tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]


def encode_batch(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """`[CLS] ids [SEP]` (`<s> ids </s>` for XLM-R vocabularies), long texts cut head+tail.

    Every BERT-family tokenizer names its two framing tokens cls and sep.
    """
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    return [[first, *head_tail_truncate(ids, max_length - 2), last] for ids in _content_ids(tokenizer, texts)]


MAX_CHUNKS = 16  # about 4,000 tokens: longer letters keep their first 15 windows and their last

# How a text longer than one window is read (a model's `triage_config` extra `long_texts`):
# head_tail: its head and tail only; chunks: whole, in consecutive windows; hybrid: the windows
# and, after them, its head+tail (pooled by `model.inference.pool_windows`).
LONG_TEXT_MODES = ("head_tail", "chunks", "hybrid")


def _chunks(ids: list[int], width: int) -> list[list[int]]:
    windows = [ids[i : i + width] for i in range(0, max(len(ids), 1), width)]
    if len(windows) > MAX_CHUNKS:
        windows = windows[: MAX_CHUNKS - 1] + [ids[-width:]]
    return windows


def encode_windows(tokenizer, texts: Sequence[str], max_length: int, mode: str) -> list[list[list[int]]]:
    """The framed token windows the model reads for each text: one for a text that fits, or for
    every text in head_tail mode; a long text's consecutive windows in chunks mode, followed by
    its head+tail cut in hybrid mode."""
    if mode not in LONG_TEXT_MODES:
        raise ValueError(f"long_texts must be one of {', '.join(LONG_TEXT_MODES)}, got {mode!r}")
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    width = max_length - 2
    out = []
    for ids in _content_ids(tokenizer, texts):
        if mode == "head_tail" or len(ids) <= width:
            windows = [head_tail_truncate(ids, width)]
        else:
            windows = _chunks(ids, width)
            if mode == "hybrid":
                windows.append(head_tail_truncate(ids, width))
        out.append([[first, *w, last] for w in windows])
    return out


def pad_batch(ids: Sequence[Sequence[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """`input_ids` and `attention_mask` (int64), padded on the right to the longest row."""
    width = max(len(x) for x in ids)
    input_ids = np.full((len(ids), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = x
        mask[row, : len(x)] = 1
    return input_ids, mask

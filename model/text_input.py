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


def encode_batch(tokenizer, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """`[CLS] ids [SEP]` (`<s> ids </s>` for XLM-R vocabularies), long texts cut head+tail.

    Every BERT-family tokenizer names its two framing tokens cls and sep.
    """
    # verbose=False: the full length is wanted here, the cut comes next.
    content = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    return [[first, *head_tail_truncate(ids, max_length - 2), last] for ids in content]


MAX_CHUNKS = 16  # about 4,000 tokens: longer letters keep their first 15 windows and their last


def encode_chunks(tokenizer, texts: Sequence[str], max_length: int) -> list[list[list[int]]]:
    """Each text as consecutive windows of `max_length` tokens (framed like `encode_batch`), so a long
    letter is read whole instead of head and tail only; a text that fits is one window."""
    content = tokenizer(list(texts), add_special_tokens=False, verbose=False)["input_ids"]
    first, last = tokenizer.cls_token_id, tokenizer.sep_token_id
    width = max_length - 2
    out = []
    for ids in content:
        windows = [ids[i : i + width] for i in range(0, max(len(ids), 1), width)]
        if len(windows) > MAX_CHUNKS:
            windows = windows[: MAX_CHUNKS - 1] + [ids[-width:]]
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

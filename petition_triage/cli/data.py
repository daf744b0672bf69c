"""`petition-triage data`: validate, split, plan, merge and describe the labelled corpus."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from petition_triage.config import REPO_ROOT
from petition_triage.training.duplicate_plan import PRESETS as DUPLICATE_PRESETS


def _data_validate(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus import validate_corpus

    report = validate_corpus(Path(args.dir), minimums=not args.no_minimums)
    print(json.dumps(report.stats, indent=2, ensure_ascii=False))
    for error in report.errors:
        print("ERROR:", error, file=sys.stderr)
    print(f"{len(report.errors)} problems" if report.errors else "corpus is valid", file=sys.stderr)
    return 0 if report.ok else 1


def _data_split(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus import read_records, split_records, write_records

    records = [r for path in sorted(Path(args.source).glob("*.jsonl")) for r in read_records(path)]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for split, rows in split_records(records, seed=args.seed).items():
        write_records(out / f"{split}.jsonl", rows)
        print(f"{split}: {len(rows)} records")
    return 0


def _data_card(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus import read_corpus, validate_corpus, written_to_profile
    from petition_triage.training.corpus_card import measured_section, rewrite_card

    directory = Path(args.dir)
    report = validate_corpus(directory)
    splits, _ = read_corpus(directory)
    main_records = [r for s in ("train", "dev", "test") for r in splits.get(s, [])]
    shift = [r for s in ("shift-dev", "shift-test") for r in splits.get(s, [])]
    tables = {"corpus v2 (train)": written_to_profile(main_records), "the whole corpus": main_records}
    if shift:
        tables["shift set"] = shift
    rewrite_card(directory / "DATASET_CARD.md", measured_section(report.stats, tables))
    print(f"rewrote the measured section of {directory / 'DATASET_CARD.md'}")
    return 0


def _data_plan(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus_plan import draw_plan, preset, write_plan

    out = Path(args.out)
    if args.preset in DUPLICATE_PRESETS:
        from petition_triage.training.duplicate_plan import draw_families, families_preset

        slots = draw_families(families_preset(args.preset))
    else:
        slots = draw_plan(preset(args.preset, out.parent))
    write_plan(out, slots)
    print(f"{len(slots)} slots drawn into {out}")
    return 0


def _data_merge_families(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus import read_records, write_records
    from petition_triage.training.duplicate_plan import merge_families

    texts = {t["id"]: t for path in args.texts for t in read_records(Path(path))}
    splits, problems = merge_families([slot for plan in args.plan for slot in read_records(Path(plan))], texts)
    for problem in problems:
        print("ERROR:", problem, file=sys.stderr)
    if problems:
        return 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for split, records in splits.items():
        write_records(out / f"{split}.jsonl", records)
        print(f"{split}: {len(records)} records, {len({r['family'] for r in records})} families")
    return 0


def _data_merge(args: argparse.Namespace) -> int:
    from petition_triage.training.corpus import read_records, write_records
    from petition_triage.training.corpus_plan import merge_plan

    slots = read_records(Path(args.plan))
    records, errors = [], []
    for path in map(Path, args.texts):
        merged, problems = merge_plan(slots, read_records(path), writer=path.stem)
        records += merged
        errors += [f"{path}: {p}" for p in problems]
    for error in errors:
        print("ERROR:", error, file=sys.stderr)
    if errors:
        return 1
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if args.shift_split:
        from petition_triage.training.corpus import SHIFT_SHARES, extend_splits

        existing = {name: read_records(out / f"{name}.jsonl") for name in SHIFT_SHARES
                    if (out / f"{name}.jsonl").exists()}
        out.mkdir(parents=True, exist_ok=True)
        for split, rows in extend_splits(existing, records, seed=args.seed).items():
            write_records(out / f"{split}.jsonl", rows)
            print(f"shift-{split}: {len(rows)} records")
    else:
        write_records(out, records)
        print(f"{len(records)} records written to {out}")
    return 0


def register(commands) -> None:
    data = commands.add_parser("data", help="the labeled corpus").add_subparsers(dest="action", required=True)
    validate = data.add_parser("validate", help="check schema, labels, distributions and split leakage")
    validate.add_argument("dir", nargs="?", default=str(REPO_ROOT / "data_samples"))
    validate.add_argument("--no-minimums", action="store_true", help="skip the shipped corpus's size targets")
    validate.set_defaults(handler=_data_validate)
    split = data.add_parser("split", help="split JSONL records 70/15/15, linked records kept together")
    split.add_argument("source", help="folder of JSONL files")
    split.add_argument("--out", required=True)
    split.add_argument("--seed", type=int, default=13)
    split.set_defaults(handler=_data_split)
    card = data.add_parser("card", help="rewrite DATASET_CARD.md's measured section (profile, audit, writers)")
    card.add_argument("dir", nargs="?", default=str(REPO_ROOT / "data_samples"))
    card.set_defaults(handler=_data_card)
    plan = data.add_parser("plan", help="draw the labels and writing conditions of records before writing them")
    plan.add_argument("--out", required=True, help="plan JSONL to write")
    plan.add_argument("--preset", required=True, choices=["shift", "shift-long", "v2", "v2b", *DUPLICATE_PRESETS],
                      help="which committed plan to draw (training/corpus_plan.py: preset; dup-*: "
                           "training/duplicate_plan.py)")
    plan.set_defaults(handler=_data_plan)
    families = data.add_parser("merge-families",
                               help="join a dup-families plan and its texts into train/dev/test duplicate pairs")
    families.add_argument("--plan", required=True, action="append", help="plan JSONL (repeatable)")
    families.add_argument("texts", nargs="+", help="JSONL files of written texts ({id, title, text} per line)")
    families.add_argument("--out", required=True, help="folder for train.jsonl, dev.jsonl and test.jsonl")
    families.set_defaults(handler=_data_merge_families)
    merge = data.add_parser("merge", help="join a plan and the texts written for it into corpus records")
    merge.add_argument("--plan", required=True)
    merge.add_argument("texts", nargs="+", help="JSONL files of written texts, one per writer, named WRITER.jsonl")
    merge.add_argument("--out", required=True, help="JSONL file, or a folder with --shift-split")
    merge.add_argument("--shift-split", action="store_true",
                       help="split 50/50 into shift-dev and shift-test; records already split keep their split")
    merge.add_argument("--seed", type=int, default=13)
    merge.set_defaults(handler=_data_merge)

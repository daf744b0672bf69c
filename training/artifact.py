"""The versioned model directory: calibration, export, model card and gated promotion.

Layout of a model directory:
    pytorch/             the fine-tuned PyTorch model (for export and retraining; not shipped)
    model.onnx           all heads in one graph (fp32); model.int8.onnx when it passed its gate
    tokenizer files      tokenizer.json, tokenizer_config.json
    triage_config.json   labels, max length, text prefix
    calibration.json     temperatures, abstain thresholds, the high-risk threshold
    labels.json          the label sets, for readers
    keywords.json        per-label keyword weights, for explaining predictions
    artifact.json        version, which ONNX file to serve, provenance
    metrics.json         scores per data split
    README.md            the model card
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from petition_triage.model.decision import HIGH_RISK_RECALL, Calibration, high_on_cue, softmax
from petition_triage.model.model_dir import SHIPPED_FILES, ModelDirectory
from petition_triage.model.triage_config import MULTI_LABEL_HEAD

from .metrics import IGNORE, abstain_threshold, fit_temperature, reason_threshold, recall_threshold

PYTORCH_DIR = "pytorch"
# Accuracy a head must reach on the cases it does not send to a human.
TARGET_ACCURACY = {"type": 0.95, "department": 0.92, "risk": 0.92}
HEADS_GATED = ("type", "department", "risk")


def data_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file():
                digest.update(file.name.encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def fit_calibration(dev_logits: dict[str, np.ndarray], dev_targets: dict[str, np.ndarray],
                    labels: dict[str, list[str]], urgent_cues: np.ndarray | None = None,
                    high_recall: float = HIGH_RISK_RECALL) -> Calibration:
    """Temperatures, abstain thresholds and the `high` threshold, fitted on dev.

    `urgent_cues` (see `risk_cues.urgent_cue_mask`): the cases the cue raise makes `high` count as
    found when the `high` threshold is chosen, as serving will find them. `high_recall`: the expected
    recall of `high` on new cases the threshold aims at.
    """
    calibration = Calibration(high_risk_recall=high_recall)
    raised = high_on_cue(urgent_cues, dev_logits, labels) if urgent_cues is not None else None
    for head, codes in labels.items():
        if head == MULTI_LABEL_HEAD:
            calibration.reason_threshold = reason_threshold(dev_logits[head], dev_targets[head])
            continue
        if not (dev_targets[head] != IGNORE).any():
            continue
        t = fit_temperature(dev_logits[head], dev_targets[head])
        calibration.temperatures[head] = t
        probs = softmax(dev_logits[head], t)
        calibration.abstain_thresholds[head] = abstain_threshold(probs, dev_targets[head], TARGET_ACCURACY.get(head, 0.9))
        if head == "risk" and "high" in codes:
            calibration.high_risk_threshold = recall_threshold(probs, dev_targets[head], codes.index("high"),
                                                               high_recall, raised)
    return calibration


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def save_trained(out_dir: Path, result, calibration: Calibration, provenance: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    result.model.save_pretrained(out_dir / PYTORCH_DIR, tokenizer=result.tokenizer)
    result.model.config.save(out_dir)
    result.tokenizer.save_pretrained(out_dir)
    files = ModelDirectory(out_dir)
    write_json(files.calibration, calibration.to_dict())
    write_json(files.labels, result.model.config.labels)
    version = provenance.get("version") or datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    write_json(files.artifact, {"version": version, "onnx_file": None, **provenance,
                                "training_history": result.history, "best_epoch": result.best_epoch,
                                "training_seconds": round(result.seconds, 1)})


def update_artifact(out_dir: Path, **fields) -> dict:
    path = ModelDirectory(out_dir).artifact
    artifact = read_json(path)
    artifact.update(fields)
    write_json(path, artifact)
    return artifact


def record_metrics(out_dir: Path, name: str, report: dict) -> None:
    path = ModelDirectory(out_dir).metrics
    metrics = read_json(path)
    metrics[name] = {
        head: {k: v for k, v in scores.items() if k not in ("confusion",)} if isinstance(scores, dict) else scores
        for head, scores in report.items()
    }
    write_json(path, metrics)
    write_model_card(out_dir)


def write_model_card(out_dir: Path) -> None:
    files = ModelDirectory(out_dir)
    artifact, metrics, labels = read_json(files.artifact), read_json(files.metrics), read_json(files.labels)
    lines = [
        f"# petition-triage model {artifact.get('version', '')}", "",
        "Classifies a Chinese petition (信访) or hotline submission: request type, responsible department, "
        "escalation risk level and risk reason codes, from one encoder forward pass.", "",
        "## Provenance", "",
        f"- base model: `{artifact.get('base_model')}`",
        f"- training data: `{artifact.get('data')}`"
        + "".join(f" + `{path}` (train only)" for path in artifact.get("extra_train") or [])
        + f" (sha256 prefix `{artifact.get('data_hash')}`)",
        f"- command: `{artifact.get('command')}`",
        f"- seed: {artifact.get('seed')}; best epoch {artifact.get('best_epoch')}; "
        f"training time {artifact.get('training_seconds')} s on {artifact.get('machine', 'this machine')}",
        f"- served file: `{artifact.get('onnx_file')}`; quantization: {artifact.get('quantization', {}).get('decision', 'n/a')}",
        *([f"- calibration (temperatures and thresholds) fitted on `{c['data']}` {c['split']} ({c['examples']} "
           f"records) with the served file `{c['onnx_file']}`"] if (c := artifact.get("calibrated_on")) else []),
        "", "## Labels", "",
    ]
    lines += [f"- {head}: {', '.join(codes)}" for head, codes in labels.items()]
    lines += ["", "## Metrics", "", "Measured on data the model never saw in training (the dev split chose the "
              "epoch, temperatures and thresholds; the test split is used for nothing else).", ""]
    lines += side_by_side(metrics, labels)
    for name, report in metrics.items():
        lines += [f"### {name}", "", "| head | accuracy | macro-F1 | ECE (after temperature) | abstain rate |",
                  "|---|---|---|---|---|"]
        for head in labels:
            s = report.get(head, {})
            f = lambda k: "–" if s.get(k) is None else f"{s[k]:.3f}"  # noqa: E731
            lines.append(f"| {head} | {f('accuracy')} | {f('macro_f1')} | {f('ece_after')} | {f('abstain_rate')} |")
        if "risk" in report and "high" in report["risk"].get("per_class", {}):
            lines.append(f"\nRecall of `high` risk: {report['risk']['per_class']['high']['recall']:.3f}; "
                         f"cases sent to review: {report.get('needs_review_rate', 0):.1%}.")
        if report.get("measured_on"):
            lines.append(f"\nMeasured on {report['measured_on']}, file `{report.get('onnx_file')}`.")
        lines.append("")
    scorer_report = read_json(files.scorer).get("report", {})
    duplicates = scorer_report.get("splits", {})
    if duplicates:
        lines += ["## Duplicate search", "", "The duplicate scorer (`duplicate_scorer.json`) was fitted on the train "
                  "and dev splits' duplicate groups and related pairs (" + " and ".join(
                      scorer_report.get("corpora", ["first corpus"])) + "), its regularisation and thresholds "
                  "chosen on out-of-fold probabilities (folds grouped by matter); the test splits were never seen. "
                  "'Contacts removed': searched afresh with every phone, ID number and name taken away. "
                  "Pairwise figures:", "",
                  "| split | duplicates precision | duplicates recall | related precision | related recall |",
                  "|---|---|---|---|---|"]
        for name, r in duplicates.items():
            d, rel = r["combined_duplicates"], r["combined_related"]
            lines.append(f"| {name} | {d['precision']:.3f} | {d['recall']:.3f} | {rel['precision']:.3f} | "
                         f"{rel['recall']:.3f} |")
        lines.append("")
        reposts, hot = scorer_report.get("reposts"), scorer_report.get("hot_issues")
        if reposts:
            lines += [f"Verbatim and near-verbatim re-posts (character 3-gram Jaccard ≥ {reposts['min_jaccard']}, "
                      f"contacts removed): {reposts['found']} of {reposts['pairs']} found as duplicates.", ""]
        if hot:
            lines += [f"Hot issues on a realistic mix ({hot['records']} records, {hot['unrelated_letters']} of them "
                      f"unrelated letters): {hot['clusters_shown']} clusters shown, purity {hot['purity']:.3f}, "
                      f"largest cluster {hot['largest_cluster_share']:.1%} of all records, "
                      f"{hot['clusters_without_a_majority_issue']} without a majority issue.", ""]
    lines += [
        "## Intended use", "",
        "Triage support for petition and hotline intake staff: it proposes a routing and flags cases to look at first. "
        "A person decides; low-confidence cases are marked `needs_review`.", "",
        "## Limitations", "",
        "- Trained on a fictional, hand-written corpus (`data_samples/`), mostly set in Qinghai; real intake "
        "data differs in vocabulary, length and label mix. Retrain on your own labeled cases.",
        "- Risk describes a case, never a person; it must not be used to score or profile petitioners.",
        "- Texts longer than the model's window keep their head and tail; the middle is not read.",
        "",
    ]
    (out_dir / "README.md").write_text("\n".join(lines), encoding="utf-8")


SIDE_BY_SIDE = ("test", "shift-test")


def side_by_side(metrics: dict, labels: dict) -> list[str]:
    """Test and shift-test in one table: the gap between our own writing and real-style text."""
    shown = [name for name in SIDE_BY_SIDE if name in metrics]
    if len(shown) < 2:
        return []
    nan = float("nan")
    rows = [(f"{head} {measure}", lambda r, h=head, m=key: r.get(h, {}).get(m, nan))
            for head in labels if head != "reasons" for measure, key in (("accuracy", "accuracy"),
                                                                         ("macro-F1", "macro_f1"))]
    rows.insert(rows.index(next(r for r in rows if r[0] == "department macro-F1")) + 1,
                ("department top-3 accuracy", lambda r: r.get("department", {}).get("top3_accuracy", nan)))
    rows += [("`high` recall", lambda r: r.get("risk", {}).get("per_class", {}).get("high", {}).get("recall", nan)),
             ("`high` precision", lambda r: r.get("risk", {}).get("per_class", {}).get("high", {}).get("precision", nan)),
             ("sent to review", lambda r: r.get("needs_review_rate", nan))]
    lines = ["### Our own writing and real-style text, side by side", "",
             "`test`: the first corpus's test split. `shift-test`: records written to the profile of real citizen "
             "messages (length, digits, named objects, noise, agencies named as real writers name them) by writers "
             "of no training record, never used for a choice.", "",
             "| | " + " | ".join(f"{name} ({metrics[name].get('examples', '?')})" for name in shown) + " |",
             "|---|" + "---|" * len(shown)]
    lines += [f"| {label} | " + " | ".join(f"{get(metrics[name]):.3f}" for name in shown) + " |" for label, get in rows]
    return lines + [""]




# The promotion gate: not worse on our own test split, nor on real-style text where both models were
# measured on it (shift-dev: a gate is a choice, so never shift-test).
GATE_SPLITS = ("test", "shift-dev")


def promote(candidate: Path, target: Path, splits: tuple[str, ...] = GATE_SPLITS,
            force: bool = False, tolerance: float = 0.0) -> tuple[bool, str]:
    """Copies a model into `target` only if it is not worse than the one there on each gate split both
    have metrics for; the candidate needs metrics on the first. `tolerance`: how much lower (macro-F1,
    0.01 = one point) a head may be, for a candidate that trades a little on one split for much on
    another (the real-text issue allows one point on the old test split)."""
    candidate_metrics = read_json(ModelDirectory(candidate).metrics)
    if not candidate_metrics.get(splits[0]):
        return False, f"{candidate} has no {splits[0]!r} metrics: run `petition-triage evaluate` first"
    current_metrics = read_json(ModelDirectory(target).metrics) if target.exists() else {}
    for split in splits:
        new, old = candidate_metrics.get(split), current_metrics.get(split)
        if not new or not old or force:
            continue
        worse = [h for h in HEADS_GATED
                 if h in old and new.get(h, {}).get("macro_f1", 0) < old[h]["macro_f1"] - tolerance - 1e-9]
        if worse:
            detail = ", ".join(f"{h} {new[h]['macro_f1']:.3f} < {old[h]['macro_f1']:.3f}" for h in worse)
            detail += f" (by more than {tolerance:.3f})" if tolerance else ""
            return False, f"not promoted: worse than the current model on {split}: {detail}"
    artifact = read_json(ModelDirectory(candidate).artifact)
    if not artifact.get("onnx_file"):
        return False, f"{candidate} has no ONNX export: run `petition-triage export` first"
    staging = target.with_name(target.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (*SHIPPED_FILES, artifact["onnx_file"]):
        if (candidate / name).exists():
            shutil.copy2(candidate / name, staging / name)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return True, f"promoted {candidate} to {target}"


def command_line() -> str:
    return "petition-triage " + " ".join(sys.argv[1:])

"""`petition-triage evaluate`: per-head scores, confusion matrices and calibration of a model."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from petition_triage.model.decision import decide, needs_review, softmax
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.model.risk_cues import urgent_cue_mask
from petition_triage.model.triage_config import MULTI_LABEL_HEAD

from .data import Example, label_targets
from .metrics import IGNORE, expected_calibration_error, head_scores

logger = logging.getLogger(__name__)


def evaluate_logits(logits: dict[str, np.ndarray], targets: dict[str, np.ndarray], labels: dict[str, list[str]],
                    calibration, urgent_cues: np.ndarray | None = None) -> dict:
    """Scores of the model's decisions (calibrated, risk threshold and cue raise applied, as served)
    and calibration error."""
    report: dict = {}
    decided = decide(logits, labels, calibration, urgent_cues)
    for head, codes in labels.items():
        if head == MULTI_LABEL_HEAD:
            report[head] = head_scores(logits[head], targets[head], codes, head, predictions=decided[head].predicted)
            report[head]["threshold"] = calibration.reason_threshold
            continue
        probs, predicted = decided[head].probs, decided[head].predicted
        scores = head_scores(logits[head], targets[head], codes, head, predictions=predicted)
        scores["ece_before"] = expected_calibration_error(softmax(logits[head]), targets[head])
        known = targets[head] != IGNORE
        if head == "risk" and "high" in codes:
            # The same head without the recall-tuned `high` threshold, for comparison with plain classifiers.
            argmax = head_scores(logits[head], targets[head], codes, head)
            scores["macro_f1_argmax"] = argmax["macro_f1"]
            scores["high_recall_argmax"] = argmax["per_class"]["high"]["recall"]
            # How well the head ranks `high` cases at all, whatever threshold: comparable across models.
            high = codes.index("high")
            scores["high_average_precision"] = float(average_precision_score(targets[head][known] == high,
                                                                             probs[known, high]))
        scores["ece_after"] = expected_calibration_error(probs, targets[head])
        scores["temperature"] = calibration.temperatures.get(head, 1.0)
        threshold = calibration.abstain_thresholds.get(head)
        if threshold is not None and known.any():
            confident = probs[known].max(-1) >= threshold
            scores["abstain_threshold"] = threshold
            scores["abstain_rate"] = float(1.0 - confident.mean())
            kept = predicted[known][confident] == targets[head][known][confident]
            scores["accuracy_when_not_abstaining"] = float(kept.mean()) if kept.size else None
        report[head] = scores
    # As served: low confidence on any head, or a text naming self-harm or violence.
    report["needs_review_rate"] = float(needs_review(decided, calibration, urgent_cues).mean())
    return report


def evaluate_model_dir(model_dir: Path, examples: list[Example], onnx_file: str | None = None,
                       long_texts: str | None = None) -> dict:
    model = OnnxTriageModel(model_dir, onnx_file=onnx_file)
    logits = model.logits([e.text for e in examples], [e.title for e in examples], long_texts=long_texts)
    report = evaluate_logits(logits, label_targets(examples, model.labels), model.labels, model.calibration,
                             urgent_cue_mask([e.text for e in examples], [e.title for e in examples]))
    report["examples"] = len(examples)
    report["onnx_file"] = model.onnx_file
    return report


def markdown_report(report: dict, labels: dict[str, list[str]], title: str) -> str:
    lines = [f"# {title}", "", f"{report.get('examples', '?')} examples, model file `{report.get('onnx_file', '')}`.", "",
             "| head | accuracy | macro-F1 | ECE before | ECE after | temperature | abstain rate |",
             "|---|---|---|---|---|---|---|"]
    fmt = lambda v: "–" if v is None else f"{v:.3f}"  # noqa: E731
    for head in labels:
        s = report[head]
        lines.append(f"| {head} | {fmt(s.get('accuracy'))} | {fmt(s.get('macro_f1'))} | {fmt(s.get('ece_before'))} | "
                     f"{fmt(s.get('ece_after'))} | {fmt(s.get('temperature'))} | {fmt(s.get('abstain_rate'))} |")
    lines += ["", f"Cases sent to review (any head below its threshold): {report['needs_review_rate']:.1%}", ""]
    for head, codes in labels.items():
        s = report[head]
        lines += [f"## {head}", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
        for code in codes:
            c = s["per_class"][code]
            lines.append(f"| {code} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['support']} |")
        if "confusion" in s:
            lines += ["", "Confusion matrix (rows: true, columns: predicted):", "", "```",
                      confusion_text(s["confusion"], codes), "```"]
        lines.append("")
    return "\n".join(lines)


def confusion_text(matrix: list[list[int]], codes: list[str]) -> str:
    width = max(len(c) for c in codes)
    header = " " * (width + 1) + " ".join(f"{i:>4}" for i in range(len(codes)))
    rows = [f"{code:>{width}} " + " ".join(f"{v:>4}" for v in row) for code, row in zip(codes, matrix)]
    legend = "columns: " + ", ".join(f"{i}={c}" for i, c in enumerate(codes))
    return "\n".join([header, *rows, legend])


# Fonts with Chinese glyphs, most common on Linux first; matplotlib's default (DejaVu Sans) has none.
CJK_FONTS = ("WenQuanYi Micro Hei", "WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC",
             "Droid Sans Fallback", "AR PL UMing CN", "SimHei", "Microsoft YaHei", "PingFang SC")


def cjk_font() -> str | None:
    """An installed font family that draws Chinese, or None."""
    from matplotlib import font_manager

    def known() -> str | None:
        installed = {f.name for f in font_manager.fontManager.ttflist}
        return next((name for name in CJK_FONTS if name in installed), None)

    if known() is None:
        # matplotlib's font cache may predate the font's installation: look on disk once.
        for path in font_manager.findSystemFonts():
            if any(tag in Path(path).name.lower() for tag in ("wqy", "cjk", "droidsansfallback", "uming", "simhei")):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
    return known()


def save_confusion_png(matrix: list[list[int]], codes: list[str], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font is None and any(not (c + title).isascii() for c in codes):
        logger.warning("no font with Chinese glyphs is installed: %s draws its labels as empty boxes "
                       "(install one, e.g. Debian's fonts-wqy-microhei)", path.name)
    with plt.rc_context({"font.sans-serif": [font, "DejaVu Sans"]} if font else {}):
        _draw_confusion(plt, np.array(matrix), codes, title, path)


def _draw_confusion(plt, data: np.ndarray, codes: list[str], title: str, path: Path) -> None:
    size = max(4.0, 0.45 * len(codes) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(codes)), codes, rotation=90)
    ax.set_yticks(range(len(codes)), codes)
    for i in range(len(codes)):
        for j in range(len(codes)):
            if data[i, j]:
                ax.text(j, i, str(data[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] > data.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_reports(report: dict, labels: dict[str, list[str]], out_dir: Path, title: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    (out_dir / "report.md").write_text(markdown_report(report, labels, title), encoding="utf-8")
    for head, codes in labels.items():
        if "confusion" in report[head]:
            save_confusion_png(report[head]["confusion"], codes, f"{title}: {head}", out_dir / f"confusion_{head}.png")

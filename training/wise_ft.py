"""WiSE-FT: a model whose weights lie between the pretrained encoder and the fine-tuned one.

`alpha` = 1 is the fine-tuned model, 0 the pretrained encoder. Fine-tuning on a narrow corpus wears
away what the encoder knew; an interpolated model often holds up better on text unlike the training
data at little cost on text like it (Wortsman et al. 2022). The encoder is interpolated; a
department head that started from the remits is interpolated with the zero-shot remit head of the
pretrained encoder; the other heads, which have no zero-shot counterpart, are kept. Choose `alpha`
on shift-dev, then `export` the result (it re-fits calibration on dev).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from petition_triage.model.base_model import resolve_base_model
from petition_triage.model.model_dir import CARD_NAME, EVALUATION_DIR, METRICS_NAME, SCORER_NAME, ModelDirectory
from petition_triage.model.modeling import TriageModel, _load_encoder, load_tokenizer
from petition_triage.model.taxonomy import load_taxonomy

from .artifact import PYTORCH_DIR, read_json, update_artifact
from .data import load_examples
from .remit_head import init_department_head

# Files an exported model adds: the interpolated model must be exported afresh.
_NOT_COPIED = ("*.onnx", EVALUATION_DIR, METRICS_NAME, SCORER_NAME, CARD_NAME)


def interpolate(finetuned: dict[str, torch.Tensor], pretrained: dict[str, torch.Tensor], alpha: float) -> dict:
    """alpha·finetuned + (1−alpha)·pretrained for every floating tensor both share; the rest as fine-tuned."""
    mixed = {}
    for name, value in finetuned.items():
        base = pretrained.get(name)
        if base is not None and base.shape == value.shape and value.is_floating_point():
            mixed[name] = alpha * value + (1 - alpha) * base.to(value.dtype)
        else:
            mixed[name] = value
    return mixed


def wise_ft(model_dir: Path, alpha: float, out: Path) -> dict:
    if not 0 <= alpha <= 1:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if not (model_dir / PYTORCH_DIR).is_dir():
        raise FileNotFoundError(f"{model_dir} has no {PYTORCH_DIR}/ weights (a trained model directory is needed)")
    if out.exists():
        raise FileExistsError(f"{out} exists; choose a new directory")
    shutil.copytree(model_dir, out, ignore=shutil.ignore_patterns(*_NOT_COPIED))
    model = TriageModel.from_pretrained(out / PYTORCH_DIR)
    base = resolve_base_model(model.config.base_model)
    pretrained = _load_encoder(base)
    model.encoder.load_state_dict(interpolate(model.encoder.state_dict(), pretrained.state_dict(), alpha))
    artifact = read_json(ModelDirectory(model_dir).artifact)
    training_args = artifact.get("training_args") or {}
    head_mixed = False
    if training_args.get("department_head_init") == "remits" and "department" in model.config.labels:
        zero_shot = TriageModel(pretrained, model.config)
        tokenizer = load_tokenizer(base)
        examples = load_examples(artifact["data"])["train"] if artifact.get("data") else []
        init_department_head(zero_shot, tokenizer, load_taxonomy(training_args.get("taxonomy")), examples,
                             training_args.get("seed", 0))
        head = model.heads["department_classifier"]
        head.load_state_dict(interpolate(head.state_dict(), zero_shot.heads["department_classifier"].state_dict(), alpha))
        head_mixed = True
    model.save_pretrained(out / PYTORCH_DIR)
    update_artifact(out, onnx_file=None, wise_ft={"alpha": alpha, "from": str(model_dir),
                                                  "department_head_interpolated": head_mixed})
    return {"output_dir": str(out), "alpha": alpha, "department_head_interpolated": head_mixed}

"""The fine-tuning loop: plain data flow, masked multi-task loss, early stopping on dev macro-F1."""

from __future__ import annotations

import copy
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from torch import nn

from petition_triage.config import get_settings
from petition_triage.model.base_model import resolve_base_model
from petition_triage.model.modeling import MULTI_LABEL_HEAD, TriageConfig, TriageModel, load_tokenizer
from petition_triage.model.taxonomy import load_taxonomy
from petition_triage.model.text_input import E5_PREFIX, encode_batch, pad_batch, submission_text

from .args import TrainingArguments
from .augment import AugmentConfig, augment
from .data import Example, label_sets, label_targets
from .metrics import IGNORE, head_scores

logger = logging.getLogger(__name__)


def cpu_has_fast_bf16() -> bool:
    """AMX or AVX-512 BF16: where bfloat16 matmuls beat float32 on a CPU."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def resolve_device(name: str) -> torch.device:
    """`auto` trains on a CUDA GPU where PyTorch sees one, else on the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but this PyTorch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def use_bf16(setting: str, device: torch.device) -> bool:
    """bfloat16 autocast: "auto" takes it where the hardware runs it faster than float32."""
    if setting != "auto":
        return setting == "on"
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return cpu_has_fast_bf16()


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@dataclass
class EncodedSet:
    """Token ids and label indices of a split (labels -100 where a row lacks that label)."""

    input_ids: list[list[int]]
    targets: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.input_ids)


def encode_examples(examples: list[Example], tokenizer, config: TriageConfig) -> EncodedSet:
    texts = [submission_text(e.text, e.title, config.text_prefix) for e in examples]
    ids = encode_batch(tokenizer, texts, config.max_length)
    return EncodedSet(ids, label_targets(examples, config.labels))


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Batches of similar length (little padding) in random order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(ids: list[list[int]], pad_id: int,
            device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    input_ids, mask = pad_batch(ids, pad_id)
    return torch.from_numpy(input_ids).to(device), torch.from_numpy(mask).to(device)


def multitask_loss(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                   class_weights: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum of the heads' losses, each over the rows that carry its label.

    `class_weights[MULTI_LABEL_HEAD]`, when given, is the per-code positive weight of the sigmoids.
    """
    total = outputs["embedding"].new_zeros(())
    for head, target in targets.items():
        logits = outputs[head].float()
        if head == MULTI_LABEL_HEAD:
            known = target[:, 0] != IGNORE
            if known.any():
                total = total + nn.functional.binary_cross_entropy_with_logits(
                    logits[known], target[known], pos_weight=class_weights.get(head))
        elif (target != IGNORE).any():
            total = total + nn.functional.cross_entropy(logits, target, weight=class_weights.get(head),
                                                        ignore_index=IGNORE)
    return total


def balanced_weights(target: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse square-root frequency: rare classes (high risk) count more without swamping the rest."""
    counts = np.bincount(target[target != IGNORE], minlength=n_classes).astype(np.float64)
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def positive_weights(target: np.ndarray) -> torch.Tensor:
    """Square root of the negative/positive ratio per reason code: without it, codes on 2-5% of
    cases are learned as 'never' (test macro-F1 0.09 before)."""
    known = target[target[:, 0] != IGNORE]
    positives = known.sum(axis=0)
    ratio = (len(known) - positives) / np.maximum(positives, 1.0)
    return torch.tensor(np.sqrt(np.clip(ratio, 1.0, 100.0)), dtype=torch.float32)


@torch.no_grad()
def predict_logits(model: TriageModel, encoded: EncodedSet, pad_id: int, batch_size: int = 64,
                   bf16: bool = False) -> dict[str, np.ndarray]:
    model.eval()
    device = next(model.parameters()).device
    order = sorted(range(len(encoded)), key=lambda i: len(encoded.input_ids[i]))
    collected: dict[str, list[np.ndarray]] = {head: [] for head in model.config.heads}
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        input_ids, mask = collate([encoded.input_ids[i] for i in chunk], pad_id, device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(input_ids, mask)
        for head in collected:
            collected[head].append(outputs[head].float().cpu().numpy())
    inverse = np.argsort(order)
    return {head: np.concatenate(parts)[inverse] for head, parts in collected.items()}


@dataclass
class TrainResult:
    model: TriageModel
    tokenizer: object
    dev_logits: dict[str, np.ndarray]
    history: list[dict]
    best_epoch: int
    seconds: float


class Trainer:
    """Fine-tunes; `on_best(result)` is called after every epoch that improves the dev score, so an
    interrupted run still leaves its best model behind."""

    def __init__(self, args: TrainingArguments, train: list[Example], dev: list[Example],
                 on_best: Callable[["TrainResult"], None] | None = None) -> None:
        if not train:
            raise ValueError("no training examples")
        if not dev:
            raise ValueError("no dev examples: give a dev file or a dev_fraction above 0")
        self.args = args
        self.train_examples, self.dev_examples = train, dev
        self.on_best = on_best

    def train(self) -> TrainResult:
        """Builds the model, then epochs of training, each scored on dev; keeps the best epoch's weights."""
        args = self.args
        set_seed(args.seed)
        device = resolve_device(args.device)
        if args.threads:
            torch.set_num_threads(args.threads)
        model, tokenizer, config = self._build_model(device)
        labels = config.labels
        augmentation = AugmentConfig(args.mask_agencies, args.drop_frames, args.noise)
        train_set = encode_examples(self.train_examples, tokenizer, config)
        dev_set = encode_examples(self.dev_examples, tokenizer, config)
        pad_id = tokenizer.pad_token_id
        bf16 = use_bf16(args.bf16, device)
        logger.info("training on %s%s", device, " with bfloat16 autocast" if bf16 else "")
        weights = class_weights(train_set, labels, device)
        rng = random.Random(args.seed)
        total_steps = math.ceil(len(train_set) / args.batch_size) * args.epochs
        optimizer, scheduler = self._optimizer(model, total_steps)

        history, best_score, best_state, best_epoch, stale = [], -1.0, None, 0, 0
        best_dev_logits: dict[str, np.ndarray] = {}
        started = time.perf_counter()
        progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                            TextColumn("loss {task.fields[loss]:.3f}"), TimeElapsedColumn(), TimeRemainingColumn())
        with progress:
            task = progress.add_task("training", total=total_steps, loss=0.0)
            for epoch in range(1, args.epochs + 1):
                # LP-FT: the first epochs train the heads on the pretrained features alone.
                model.encoder.requires_grad_(epoch > args.linear_probe_epochs)
                if augmentation.active:  # drawn anew each epoch
                    train_set = encode_examples([augment(e, augmentation, rng) for e in self.train_examples],
                                                tokenizer, config)

                def advance(loss: float, epoch: int = epoch) -> None:
                    progress.update(task, advance=1, loss=loss, description=f"epoch {epoch}/{args.epochs}")

                loss = run_epoch(model, train_set, pad_id, weights, optimizer, scheduler, rng, bf16,
                                 args.batch_size, advance)
                dev_logits = predict_logits(model, dev_set, pad_id, bf16=bf16)
                scores = {head: head_scores(dev_logits[head], dev_set.targets[head], labels[head], head)
                          for head in labels}
                dev_score = float(np.mean([s["macro_f1"] for s in scores.values()]))
                history.append({"epoch": epoch, "train_loss": loss, "dev_macro_f1_mean": dev_score,
                                **{f"dev_{h}_macro_f1": s["macro_f1"] for h, s in scores.items()}})
                progress.console.print(f"epoch {epoch}: loss {loss:.4f}, dev macro-F1 "
                                       + ", ".join(f"{h} {s['macro_f1']:.3f}" for h, s in scores.items()))
                if dev_score > best_score:
                    best_score, best_epoch, stale = dev_score, epoch, 0
                    best_state = copy.deepcopy(model.state_dict())
                    best_dev_logits = dev_logits
                    if self.on_best is not None:
                        model.eval()
                        self.on_best(TrainResult(model, tokenizer, dev_logits, list(history), epoch,
                                                 time.perf_counter() - started))
                else:
                    stale += 1
                    if stale >= args.patience:
                        progress.console.print(f"no better dev score for {stale} epochs: stopping early")
                        break
        model.load_state_dict(best_state)
        model.to("cpu").eval()  # export and evaluation run on the CPU, as serving does
        return TrainResult(model, tokenizer, best_dev_logits, history, best_epoch, time.perf_counter() - started)

    def _build_model(self, device: torch.device) -> tuple[TriageModel, object, TriageConfig]:
        """The encoder with fresh heads for the labels of the data (department head from the remits
        where asked), on `device`."""
        args = self.args
        base_name = args.base_model or get_settings().base_model  # recorded as named, not as a cache path
        base = resolve_base_model(base_name)
        prefix = args.text_prefix
        if prefix is None:
            prefix = E5_PREFIX if "e5" in base_name.lower() else ""
        labels = label_sets(load_taxonomy(args.taxonomy), self.train_examples + self.dev_examples)
        config = TriageConfig(labels=labels, base_model=base_name, max_length=args.max_length, text_prefix=prefix,
                              cue_heads=[h for h in args.cue_heads if h in labels])
        tokenizer = load_tokenizer(base)
        model = TriageModel.from_base(base, config).to(device)
        if args.department_head_init == "remits" and "department" in labels:
            from .remit_head import init_department_head

            init_department_head(model, tokenizer, load_taxonomy(args.taxonomy), self.train_examples, args.seed)
        return model, tokenizer, config

    def _optimizer(self, model: TriageModel, total_steps: int):
        """AdamW with the heads at their own rate; linear warm-up, then linear decay to zero."""
        args = self.args
        warmup = max(1, int(total_steps * args.warmup_ratio))
        optimizer = torch.optim.AdamW([
            {"params": model.encoder.parameters(), "lr": args.learning_rate},
            {"params": model.heads.parameters(), "lr": args.head_learning_rate},
        ], weight_decay=args.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup))))
        return optimizer, scheduler


def class_weights(train_set: EncodedSet, labels: dict[str, list[str]], device: torch.device) -> dict[str, torch.Tensor]:
    """Per head: balanced class weights, or for the reason codes the positive weight of each sigmoid."""
    weights = {head: balanced_weights(train_set.targets[head], len(codes))
               for head, codes in labels.items() if head != MULTI_LABEL_HEAD}
    if MULTI_LABEL_HEAD in labels:
        weights[MULTI_LABEL_HEAD] = positive_weights(train_set.targets[MULTI_LABEL_HEAD])
    return {head: w.to(device) for head, w in weights.items()}


def run_epoch(model: TriageModel, train_set: EncodedSet, pad_id: int, weights: dict[str, torch.Tensor], optimizer,
              scheduler, rng: random.Random, bf16: bool, batch_size: int,
              on_step: Callable[[float], None]) -> float:
    """One pass over the training set in length-grouped batches; returns the mean loss."""
    model.train()
    device = next(model.parameters()).device
    lengths = [len(x) for x in train_set.input_ids]
    running = []
    for batch in length_grouped_batches(lengths, batch_size, rng):
        input_ids, mask = collate([train_set.input_ids[i] for i in batch], pad_id, device)
        targets = {h: torch.from_numpy(t[batch]).to(device) for h, t in train_set.targets.items()}
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            outputs = model(input_ids, mask)
        loss = multitask_loss(outputs, targets, weights)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        running.append(loss.item())
        on_step(float(np.mean(running[-20:])))
    return float(np.mean(running))

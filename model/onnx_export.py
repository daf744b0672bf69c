"""ONNX export of a trained model (all heads in one graph) and its int8 variant."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .inference import EMBEDDING_OUTPUT
from .modeling import TriageModel
from .text_input import pad_batch

logger = logging.getLogger(__name__)
OPSET = 18


class _OnnxWrapper(nn.Module):
    """Named outputs in a fixed order: one logits tensor per head, then the pooled embedding."""

    def __init__(self, model: TriageModel) -> None:
        super().__init__()
        self.model = model
        self.heads = list(model.config.heads)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = self.model(input_ids, attention_mask)
        return (*(outputs[head] for head in self.heads), outputs["embedding"])


def output_names(model: TriageModel) -> list[str]:
    # "embedding" would clash with a node name inside the encoder graph.
    return [*model.config.heads, EMBEDDING_OUTPUT]


def export_onnx(model: TriageModel, path: Path, pad_id: int) -> list[str]:
    """Writes the fp32 graph with dynamic batch and sequence axes; returns its output names."""
    model.eval()
    wrapper = _OnnxWrapper(model).eval()
    dummy_ids = torch.full((2, 16), pad_id, dtype=torch.long)
    dummy_ids[:, :12] = 5
    dummy_mask = (dummy_ids != pad_id).long()
    batch, sequence = torch.export.Dim("batch"), torch.export.Dim("sequence", max=512)
    names = output_names(model)
    # The TorchScript exporter traced transformers 5's attention-mask code wrongly (outputs off by
    # 0.2 on a tiny model); the torch.export-based exporter matches PyTorch to 1e-6.
    with torch.no_grad():
        program = torch.onnx.export(
            wrapper, (dummy_ids, dummy_mask), input_names=["input_ids", "attention_mask"], output_names=names,
            dynamic_shapes=({0: batch, 1: sequence}, {0: batch, 1: sequence}), opset_version=OPSET, dynamo=True,
        )
    program.save(str(path), external_data=False)
    return names


def shrinking_matmuls(path: Path) -> list[str]:
    """MatMul nodes whose weight maps a wider input to a narrower output.

    Those are the feed-forward output layers (1536 -> 384) and the classifier heads: the layers
    where int8 rounding costs the most accuracy on this backbone (shared/docs/MEASURED_FACTS.md).
    """
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    shapes = {init.name: list(init.dims) for init in graph.initializer}
    names = []
    for node in graph.node:
        if node.op_type == "MatMul":
            weight = shapes.get(node.input[1])
            if weight and len(weight) == 2 and weight[0] > weight[1]:
                names.append(node.name)
    return names


def quantize_int8(source: Path, target: Path, exclude_ffn_output: bool = False) -> None:
    """Dynamic int8 with per-channel weights; optionally keeps the shrinking layers in fp32."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    excluded = shrinking_matmuls(source) if exclude_ffn_output else []
    quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul", "Gather"], nodes_to_exclude=excluded)


def quantize_weight_only_int8(source: Path, target: Path, block_size: int = 32) -> None:
    """Block-wise int8 weights (MatMulNBits, one scale per 32 values) and int8 embeddings.

    Finer scales than per-channel dynamic quantization keep the rounding error small; the size
    is the same (about a quarter of fp32).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, accuracy_level=4, bits=8)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), bits=8, block_size=block_size, is_symmetric=True,
                                     accuracy_level=4, algo_config=config)
    quantizer.process()
    staging = target.with_suffix(".matmul.onnx")
    onnx.save(quantizer.model.model, str(staging))
    try:
        quantize_dynamic(str(staging), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["Gather"])
    finally:
        staging.unlink(missing_ok=True)


def max_abs_difference(model: TriageModel, onnx_path: Path, ids: list[list[int]], pad_id: int) -> dict[str, float]:
    """Largest |ONNX - PyTorch| per output on real inputs: the export check."""
    import onnxruntime as ort

    input_ids, mask = pad_batch(ids, pad_id)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    got = dict(zip(names, session.run(None, {"input_ids": input_ids, "attention_mask": mask})))
    with torch.no_grad():
        expected = model(torch.from_numpy(input_ids), torch.from_numpy(mask))
    expected = {**expected, EMBEDDING_OUTPUT: expected["embedding"]}
    return {name: float(np.abs(got[name] - expected[name].numpy()).max()) for name in names}

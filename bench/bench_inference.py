"""Inference speed and quality: the served ONNX model against a plain transformers/PyTorch forward.

The baseline is what a plain `transformers` pipeline does with this model: the same tokenizer and
encoder in PyTorch fp32, called per request. Both run on the same test texts in the same process;
the result goes to bench/results/inference.json.

    python bench/bench_inference.py --model shipped/default --pytorch runs/default/pytorch
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import time
from pathlib import Path

import numpy as np
from latency import percentiles

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.model.inference import OnnxTriageModel
from petition_triage.model.model_dir import ModelDirectory
from petition_triage.training.corpus import read_records


def macro_f1(predicted: list[str], truth: list[str]) -> float:
    from sklearn.metrics import f1_score

    # Over the classes present in the sample, as `evaluate` does.
    return float(f1_score(truth, predicted, labels=sorted(set(truth)), average="macro"))


def time_calls(fn, items, repeat_batches):
    latencies = []
    started = time.perf_counter()
    outputs = []
    for chunk in repeat_batches(items):
        t0 = time.perf_counter()
        outputs.append(fn(chunk))
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    return total, latencies, outputs


def bench_onnx(model: OnnxTriageModel, texts, titles, truth, batch: int) -> dict:
    labels = model.labels["department"]

    def run(chunk):
        logits = model.logits([texts[i] for i in chunk], [titles[i] for i in chunk], batch_size=batch)
        return model.decide(logits)["department"].predicted

    chunks = lambda idx: [idx[i : i + batch] for i in range(0, len(idx), batch)]  # noqa: E731
    if batch > 1:  # a batch of similar lengths, as the micro-batcher builds them
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    else:
        order = list(range(len(texts)))
    total, latencies, outputs = time_calls(run, order, chunks)
    predicted = np.empty(len(texts), dtype=object)
    for chunk, out in zip(chunks(order), outputs):
        for i, p in zip(chunk, out):
            predicted[i] = labels[p]
    return {"texts_per_s": round(len(texts) / total, 2), **percentiles(latencies),
            "department_macro_f1": round(macro_f1(list(predicted), truth), 4)}


def bench_pytorch(pytorch_dir: Path, texts, titles, truth, batch: int) -> dict:
    import torch

    from petition_triage.model.decision import Calibration, softmax
    from petition_triage.model.modeling import TriageModel, load_tokenizer
    from petition_triage.model.text_input import submission_text

    torch.set_num_threads(os.cpu_count() or 1)
    model = TriageModel.from_pretrained(pytorch_dir)
    tokenizer = load_tokenizer(pytorch_dir)
    calibration = Calibration.from_dict(json.loads(ModelDirectory(pytorch_dir.parent).calibration.read_text()))
    labels = model.config.labels["department"]
    joined = [submission_text(t, ti, model.config.text_prefix) for t, ti in zip(texts, titles)]

    def run(chunk):
        # A pipeline tokenizes with truncation to the model's window and pads the batch.
        enc = tokenizer([joined[i] for i in chunk], truncation=True, max_length=model.config.max_length,
                        padding=True, return_tensors="pt")
        with torch.no_grad():
            logits = model(enc["input_ids"], enc["attention_mask"])["department"].numpy()
        return softmax(logits, calibration.temperatures.get("department", 1.0)).argmax(-1)

    chunks = lambda idx: [idx[i : i + batch] for i in range(0, len(idx), batch)]  # noqa: E731
    order = list(range(len(texts)))
    total, latencies, outputs = time_calls(run, order, chunks)
    predicted = [labels[p] for out in outputs for p in out]
    return {"texts_per_s": round(len(texts) / total, 2), **percentiles(latencies),
            "department_macro_f1": round(macro_f1(predicted, truth), 4)}


def bench_microbatched(model: OnnxTriageModel, texts, titles, concurrency: int, max_batch: int, wait_ms: float) -> dict:
    """Throughput of the service's predictor path with `concurrency` callers at once (no HTTP)."""
    from petition_triage.service.batching import MicroBatcher

    async def scenario():
        batcher = MicroBatcher(model.run_ids, max_batch=max_batch, max_wait_ms=wait_ms)
        latencies = []
        queue = list(range(len(texts)))

        async def client():
            while queue:
                i = queue.pop()
                t0 = time.perf_counter()
                await batcher.submit(model.encode([texts[i]], [titles[i]]))
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        total = time.perf_counter() - started
        await batcher.stop()
        return total, latencies

    total, latencies = asyncio.run(scenario())
    return {"concurrency": concurrency, "texts_per_s": round(len(texts) / total, 2), **percentiles(latencies)}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--pytorch", default=str(REPO_ROOT / "runs" / "default" / "pytorch"))
    parser.add_argument("--limit", type=int, default=150, help="test texts to time")
    args = parser.parse_args()

    records = read_records(REPO_ROOT / "data_samples" / "test.jsonl")
    records = random.Random(0).sample(records, min(args.limit, len(records)))  # every department, not one writer's
    texts, titles = [r["text"] for r in records], [r["title"] for r in records]
    truth = [r["labels"]["department"] for r in records]
    model = OnnxTriageModel(args.model)
    results: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores", "texts": len(texts),
                     "model": model.version, "onnx_file": model.onnx_file, "engines": {}}
    engines = results["engines"]
    pytorch_dir = Path(args.pytorch)
    if pytorch_dir.exists():
        engines["pytorch_fp32_batch1"] = bench_pytorch(pytorch_dir, texts, titles, truth, 1)
        engines["pytorch_fp32_batch16"] = bench_pytorch(pytorch_dir, texts, titles, truth, 16)
    else:
        results["note"] = f"no PyTorch checkpoint at {pytorch_dir}: run `make model` for the baseline"
    engines["onnx_batch1"] = bench_onnx(model, texts, titles, truth, 1)
    engines["onnx_batch16_length_grouped"] = bench_onnx(model, texts, titles, truth, 16)
    for concurrency in (1, 8, 32):
        engines[f"service_predictor_c{concurrency}"] = bench_microbatched(model, texts, titles, concurrency, 16, 5.0)
    if "pytorch_fp32_batch1" in engines:
        base = engines["pytorch_fp32_batch1"]["texts_per_s"]
        results["throughput_ratio_vs_pipeline_batch1"] = {
            name: round(e["texts_per_s"] / base, 2) for name, e in engines.items()}
        results["macro_f1_loss_points"] = round(
            100 * (engines["pytorch_fp32_batch1"]["department_macro_f1"] - engines["onnx_batch1"]["department_macro_f1"]), 2)
    out = REPO_ROOT / "bench" / "results" / "inference.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

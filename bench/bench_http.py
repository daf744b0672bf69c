"""HTTP throughput and latency of the running service at 1, 8 and 32 concurrent clients.

Starts `petition-triage serve` on a free loopback port with a throw-away home (SQLite), creates an
intake key, sends test-split texts to /v1/classify from N concurrent asyncio clients for a fixed
number of requests, and writes bench/results/http.json. Bounded: each level sends at most
`--requests` requests and stops after `--seconds`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time

import httpx
from latency import percentiles
from serving import rss_mb, served

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.training.corpus import read_records


async def load(url: str, key: str, texts: list[str], concurrency: int, requests: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = 0
    sent = 0
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client:
        async def worker(n: int) -> None:
            nonlocal errors, sent
            while sent < requests and time.perf_counter() < deadline:
                text = texts[sent % len(texts)]
                sent += 1
                t0 = time.perf_counter()
                response = await client.post("/v1/classify", json={"text": text})
                latencies.append(time.perf_counter() - t0)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {"concurrency": concurrency, "requests": len(latencies), "errors": errors,
            "requests_per_s": round(len(latencies) / elapsed, 2), **percentiles(latencies)}


def main() -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    texts = [r["text"] for r in read_records(REPO_ROOT / "data_samples" / "test.jsonl")]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PETITION_TRIAGE_HOME": home, "PETITION_TRIAGE_MODEL_DIR": args.model,
               "PETITION_TRIAGE_LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_URL", None)
        with served(env, "bench") as (url, key, pid):
            asyncio.run(load(url, key, texts, 4, 20, 30))  # warm-up
            levels = [asyncio.run(load(url, key, texts, c, args.requests, args.seconds)) for c in (1, 8, 32)]
            memory = rss_mb(pid)
    results = {"model": args.model, "levels": levels, "service_rss_mb": memory}
    out = REPO_ROOT / "bench" / "results" / "http.json"
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

"""Soak: the service held at capacity for several minutes against PostgreSQL.

Starts `petition-triage serve` on a throw-away PostgreSQL database, runs `--clients` closed-loop
asyncio clients (each sends its next request as soon as the last is answered, so the service is
saturated) for `--seconds`: by default 70% `POST /v1/classify`, 30% `POST /v1/cases` (classification,
duplicate search and storage); `--store-share 0` classifies only, to tell memory held by stored cases
(the duplicate index grows with them) from a leak. Records errors, latency per 30-second window and the service's memory every
15 seconds. Writes bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
from latency import percentiles
from serving import rss_mb, served, throwaway_postgres

from petition_triage.config import REPO_ROOT, SHIPPED_MODEL_DIR
from petition_triage.training.corpus import read_records

DATABASE = "pt_bench_soak"


async def soak(url: str, key: str, texts: list[str], clients: int, seconds: float, pid: int,
               store_share: float = 0.3) -> dict:
    samples: list[tuple[float, float, int]] = []  # (time since start, latency, status)
    memory: list[tuple[int, float]] = []
    started = time.perf_counter()
    deadline = started + seconds

    async def client(n: int) -> None:
        i = n
        async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=60) as http:
            while time.perf_counter() < deadline:
                text = texts[i % len(texts)]
                store = i % 10 < round(store_share * 10)
                i += clients
                t0 = time.perf_counter()
                try:
                    response = await (http.post("/v1/cases", json={"text": text, "channel": "web"}) if store
                                      else http.post("/v1/classify", json={"text": text}))
                    status = response.status_code
                except httpx.HTTPError:
                    status = 0
                samples.append((t0 - started, time.perf_counter() - t0, status))

    async def watch_memory() -> None:
        while time.perf_counter() < deadline:
            memory.append((round(time.perf_counter() - started), rss_mb(pid)))
            await asyncio.sleep(15)

    await asyncio.gather(watch_memory(), *(client(n) for n in range(clients)))
    windows = []
    for start in range(0, int(seconds), 30):
        window = [s for s in samples if start <= s[0] < start + 30]
        if window:
            windows.append({"from_s": start, "requests": len(window), "requests_per_s": round(len(window) / 30, 2),
                            "errors": sum(1 for s in window if s[2] not in (200, 201)),
                            **percentiles([s[1] for s in window])})
    return {"clients": clients, "seconds": seconds, "requests": len(samples),
            "errors": sum(1 for s in samples if s[2] not in (200, 201)), "windows": windows, "rss_mb": memory,
            "rss_growth_mb": round(memory[-1][1] - memory[1][1], 1) if len(memory) > 2 else None}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL_DIR))
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=240)
    parser.add_argument("--store-share", type=float, default=0.3, help="share of requests that register a case")
    parser.add_argument("--out", default=str(REPO_ROOT / "bench" / "results" / "soak.json"))
    args = parser.parse_args()
    texts = [r["text"] for r in read_records(REPO_ROOT / "data_samples" / "test.jsonl")]
    with throwaway_postgres(DATABASE) as database_url, tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "PETITION_TRIAGE_HOME": home, "PETITION_TRIAGE_MODEL_DIR": args.model,
               "PETITION_TRIAGE_LOG_LEVEL": "WARNING", "DATABASE_URL": database_url}
        with served(env, "soak") as (url, key, pid):
            result = asyncio.run(soak(url, key, texts, args.clients, args.seconds, pid, args.store_share))
    result["model"], result["store_share"] = args.model, args.store_share
    Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))

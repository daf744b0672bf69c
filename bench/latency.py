"""Latency percentiles, the one way every benchmark reports them (nearest rank, in milliseconds)."""

from __future__ import annotations


def percentiles(latencies: list[float]) -> dict:
    """p50, p95 and p99 of latencies given in seconds."""
    ms = sorted(x * 1000 for x in latencies)
    pick = lambda q: round(ms[min(len(ms) - 1, int(q * len(ms)))], 2)  # noqa: E731
    return {"p50_ms": pick(0.50), "p95_ms": pick(0.95), "p99_ms": pick(0.99)}

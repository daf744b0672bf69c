import asyncio
import time

import numpy as np
import pytest

from petition_triage.service.batching import MicroBatcher


def _echo_run(calls: list[int]):
    def run(ids: list[list[int]]) -> dict[str, np.ndarray]:
        calls.append(len(ids))
        time.sleep(0.02)  # a model run takes time; requests pile up meanwhile
        return {"first": np.array([[row[0]] for row in ids]), "length": np.array([len(row) for row in ids])}

    return run


def test_concurrent_requests_are_coalesced_and_answered_in_order():
    calls: list[int] = []

    async def scenario():
        batcher = MicroBatcher(_echo_run(calls), max_batch=8, max_wait_ms=10)
        requests = [[[i] * (1 + i % 5)] for i in range(20)]
        results = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.stop()
        return requests, results

    requests, results = asyncio.run(scenario())
    for request, result in zip(requests, results):
        assert result["first"][0, 0] == request[0][0] and result["length"][0] == len(request[0])
    assert sum(calls) == 20 and len(calls) <= 5 and max(calls) <= 8


def test_a_failing_run_fails_its_callers_and_the_batcher_goes_on():
    state = {"fail": True}

    def run(ids):
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("model exploded")
        return {"n": np.array([len(x) for x in ids])}

    async def scenario():
        batcher = MicroBatcher(run, max_batch=4, max_wait_ms=1)
        with pytest.raises(RuntimeError, match="model exploded"):
            await batcher.submit([[1, 2]])
        ok = await batcher.submit([[1, 2, 3]])
        await batcher.stop()
        return ok

    assert asyncio.run(scenario())["n"].tolist() == [3]
